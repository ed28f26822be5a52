"""Scenario and Nav2 map loading: BARN's real files, round trips, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim2real.nav.scenario import (
    OccupancyGrid,
    find_scenarios,
    load_nav2_map,
    load_scenario,
    rasterize,
    write_nav2_map,
)
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
    for f in files[::25]:
        load_scenario(f)


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
