"""Scenario and Nav2 map loading: BARN's real files, round trips, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim2real.nav.scenario import (
    OccupancyGrid,
    find_scenarios,
    load_nav2_map,
    load_scenario,
    rasterize,
    write_nav2_map,
)
from sim2real.nav.worldgen import write_benchmark
from sim2real_runtime.errors import ConfigError
from sim2real_runtime.robot import load_robot


def test_barn_scenario_loads(barn_dir):
    s = load_scenario(barn_dir / "world_001.scenario.yaml")
    assert s.name == "barn_001"
    assert s.start == (-2.25, 3.0, 1.57) and s.goal == (-2.25, 13.0)
    assert s.circles.shape[1] == 3 and len(s.circles) > 100
    assert s.grid is not None and s.grid.resolution_m == 0.05
    # The map is the rasterisation of the cylinders: same occupied cells.
    g = rasterize(s)
    assert g.occupied.sum() == s.grid.occupied.sum()


def test_barn_score_by_hand(barn_dir):
    s = load_scenario(barn_dir / "world_001.scenario.yaml")
    t_opt = 12.4312 / 2
    assert s.barn_score(True, 1.0) == pytest.approx(0.5)  # clipped at 2 T_opt
    assert s.barn_score(True, 4 * t_opt) == pytest.approx(0.25)
    assert s.barn_score(True, 100.0) == pytest.approx(1 / 8)
    assert s.barn_score(False, 10.0) == 0.0


def test_all_barn_files_load(barn_dir):
    files = find_scenarios(barn_dir)
    assert len(files) == 250
    for f in files:  # every start and goal lies in its map, clear of obstacles (issue 12, defect 4)
        load_scenario(f, robot_radius_m=JACKAL_RADIUS_M)


JACKAL_RADIUS_M = float(np.hypot(0.508, 0.43) / 2)


def _world_text(start, goal, obstacles, tol=0.5, map_file=None):
    def f(v):
        return f"{float(v):.6f}"  # YAML 1.1 reads 1e-05 as a string

    lines = [f"start: [{f(start[0])}, {f(start[1])}, 0.0]", f"goal: [{f(goal[0])}, {f(goal[1])}]"]
    lines += [f"goal_tolerance: {f(tol)}", "obstacles:"]
    lines += [f"  - [{f(x)}, {f(y)}, {f(r)}]" for x, y, r in obstacles]
    if map_file:
        lines.append(f"map: {map_file}")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    obstacles=st.lists(
        st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(0.05, 2.0)), min_size=1, max_size=6
    ),
    which=st.integers(0, 5),
    frac=st.floats(0.0, 0.95),
    angle=st.floats(0, 6.28),
    key=st.sampled_from(["start", "goal"]),
)
def test_a_start_or_goal_inside_an_obstacle_is_refused(tmp_path, obstacles, which, frac, angle, key):
    """Generated worlds: the start or the goal placed inside one of the cylinders is refused on
    load, naming the file and the field, whatever the goal tolerance (issue 12, defect 4)."""
    x, y, r = obstacles[which % len(obstacles)]
    inside = (float(x + frac * r * np.cos(angle)), float(y + frac * r * np.sin(angle)))
    far = (100.0, 100.0)
    start, goal = (inside, far) if key == "start" else (far, inside)
    p = write(tmp_path / "w.scenario.yaml", _world_text(start, goal, obstacles, tol=3.0))
    with pytest.raises(ConfigError) as err:
        load_scenario(p)
    assert err.value.field == key and str(p) in str(err.value)


@pytest.mark.parametrize("key", ["start", "goal"])
@pytest.mark.parametrize("where", [(-1.5, 1.0), (1.0, -0.2), (3.2, 1.0), (1.0, 2.5), (1e9, 0.0)])
def test_a_start_or_goal_outside_the_map_is_refused(tmp_path, key, where):
    g = OccupancyGrid(np.zeros((20, 30), dtype=bool), 0.1, (0.0, 0.0))  # x in [0, 3), y in [0, 2)
    write_nav2_map(tmp_path / "m.yaml", g)
    inside = (1.5, 1.0)
    start, goal = (where, inside) if key == "start" else (inside, where)
    p = write(
        tmp_path / "w.scenario.yaml",
        _world_text(start, goal, [], map_file="m.yaml").replace("obstacles:\n", ""),
    )
    with pytest.raises(ConfigError, match="outside the map") as err:
        load_scenario(p)
    assert err.value.field == key


def test_a_goal_in_an_occupied_map_cell_is_refused_and_the_robot_radius_counts(tmp_path):
    occ = np.zeros((20, 30), dtype=bool)
    occ[10, 15] = True  # the cell x in [1.5, 1.6), y in [1.0, 1.1)
    write_nav2_map(tmp_path / "m.yaml", OccupancyGrid(occ, 0.1, (0.0, 0.0)))
    p = write(
        tmp_path / "w.scenario.yaml",
        _world_text((0.3, 0.3), (1.55, 1.05), [], 0.3, "m.yaml").replace("obstacles:\n", ""),
    )
    with pytest.raises(ConfigError, match="inside an obstacle") as err:
        load_scenario(p)
    assert err.value.field == "goal"
    # 0.2 m from the cell, tolerance 0.3 m: reachable for a point robot, not for one of radius 0.6 m
    write(p, _world_text((0.3, 0.3), (1.55, 1.3), [], 0.3, "m.yaml").replace("obstacles:\n", ""))
    load_scenario(p)
    with pytest.raises(ConfigError, match="no point within goal_tolerance") as err:
        load_scenario(p, robot_radius_m=0.6)
    assert err.value.field == "goal"
    # the start's clearance (0.3 m below the cell) must exceed the robot's radius
    write(p, _world_text((1.55, 0.7), (1.55, 1.3), [], 0.3, "m.yaml").replace("obstacles:\n", ""))
    load_scenario(p, robot_radius_m=0.25)
    with pytest.raises(ConfigError, match="does not fit") as err:
        load_scenario(p, robot_radius_m=0.45)
    assert err.value.field == "start"


def test_generated_worlds_load(tmp_path):
    files = write_benchmark(tmp_path / "w", 50, 2026)
    for f in files:
        load_scenario(f, robot_radius_m=JACKAL_RADIUS_M)


def test_nav2_map_round_trip(tmp_path):
    occ = np.zeros((20, 30), dtype=bool)
    occ[5, 7] = occ[0, 0] = occ[19, 29] = True
    g = OccupancyGrid(occ, 0.1, (-1.0, 2.0))
    write_nav2_map(tmp_path / "m.yaml", g)
    back = load_nav2_map(tmp_path / "m.yaml")
    np.testing.assert_array_equal(back.occupied, occ)
    assert back.resolution_m == 0.1 and back.origin_xy_m == (-1.0, 2.0)


def write(p, text):
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("goal: [1, 2]\nobstacles: [[0, 0, 0.1]]\n", "start"),
        ("start: [0, 0, 0]\ngoal: [1]\nobstacles: [[0, 0, 0.1]]\n", "goal"),
        ("start: [0, 0, 0]\ngoal: [1, 2]\nobstacles: [[0, 0]]\n", "obstacles[0]"),
        ("start: [0, 0, 0]\ngoal: [1, 2]\nobstacles: [[0, 0, -1]]\n", "obstacles[0][2]"),
        ("start: [0, 0, 0]\ngoal: [1, 2]\nobstacles: [[0, .nan, 1]]\n", "obstacles[0][1]"),
        ("start: [0, 0, 0]\ngoal: [1, 2]\ntime_limit: -3\nobstacles: [[0, 0, 1]]\n", "time_limit"),
        ("start: [0, 0, 0]\ngoal: [1, 2]\n", "obstacles"),
        ("start: [0, 0, 0]\ngoal: [1, 2]\nmap: nothere.yaml\n", "map"),
        ("start: [0, 0, 0\n", "<yaml>"),
    ],
)
def test_bad_scenario_names_file_and_field(tmp_path, text, field):
    p = write(tmp_path / "bad.scenario.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_scenario(p)
    assert err.value.field == field and str(p) in str(err.value)


@pytest.mark.parametrize(
    ("yaml_text", "pgm", "field"),
    [
        ("image: m.pgm\nresolution: 0.05\norigin: [0, 0, 0]\n", b"P5\n2 2\n255\n\x00", "<pgm data>"),
        ("image: m.pgm\nresolution: -1\norigin: [0, 0, 0]\n", b"P5\n1 1\n255\n\x00", "resolution"),
        ("image: m.pgm\nresolution: 0.05\norigin: [0, 0]\n", b"P5\n1 1\n255\n\x00", "origin"),
        (
            "image: m.pgm\nresolution: 0.05\norigin: [0, 0, 0]\n",
            b"P6\n1 1\n255\n\x00\x00\x00",
            "<pgm header>",
        ),
        ("image: other.pgm\nresolution: 0.05\norigin: [0, 0, 0]\n", b"P5\n1 1\n255\n\x00", "image"),
    ],
)
def test_bad_map_names_file_and_field(tmp_path, yaml_text, pgm, field):
    (tmp_path / "m.pgm").write_bytes(pgm)
    p = write(tmp_path / "m.yaml", yaml_text)
    with pytest.raises(ConfigError) as err:
        load_nav2_map(p)
    assert err.value.field == field


def test_unknown_robot_is_named():
    with pytest.raises(ConfigError, match=r"unknown robot.*jackal"):
        load_robot("no_such_robot")


def test_bad_robot_field_is_named(tmp_path):
    p = tmp_path / "r.yaml"
    base = Path(load_robot("jackal").source).read_text()
    p.write_text(base.replace("num_beams: 720", "num_beams: many"))
    with pytest.raises(ConfigError, match=r"lidar\.num_beams"):
        load_robot(p)
    p.write_text(base.replace("mass_kg: 17.0", "mass_kg: -3"))
    with pytest.raises(ConfigError, match="mass_kg"):
        load_robot(p)
    p.write_text(base + "colour: red\n")
    with pytest.raises(ConfigError, match="colour"):
        load_robot(p)
