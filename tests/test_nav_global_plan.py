"""The A* global planner, the large rooms worlds, and ``eval nav --global-planner astar``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sim2real.nav.evaluate import ControllerSpec, _worker_run, global_plan, run_episode
from sim2real.nav.planner import PlanningError, costmap, path_length_m, plan_path
from sim2real.nav.rooms import RoomsParams, generate_rooms_world, write_rooms_set
from sim2real.nav.scenario import (
    OccupancyGrid,
    Scenario,
    check_reachable,
    clearance_m,
    load_scenario,
    write_nav2_map,
    write_scenario,
)

RES = 0.05


def world(occ: np.ndarray, start, goal, name="w") -> Scenario:
    grid = OccupancyGrid(occ, RES, (0.0, 0.0))
    return Scenario(name, start, goal, 0.5, 60.0, None, grid=grid)


def box(occ, x0, y0, x1, y1):
    occ[round(y0 / RES) : round(y1 / RES), round(x0 / RES) : round(x1 / RES)] = True


def walled(size_m=10.0):
    n = round(size_m / RES)
    occ = np.zeros((n, n), dtype=bool)
    box(occ, 0, 0, size_m, 0.2)
    box(occ, 0, size_m - 0.2, size_m, size_m)
    box(occ, 0, 0, 0.2, size_m)
    box(occ, size_m - 0.2, 0, size_m, size_m)
    return occ


def test_path_goes_through_the_doorway_clear_of_the_walls():
    occ = walled()
    box(occ, 4.9, 0, 5.1, 10)  # a wall at x = 5 with a 1 m doorway at y in [7, 8]
    occ[round(7 / RES) : round(8 / RES), round(4.9 / RES) : round(5.1 / RES)] = False
    sc = world(occ, (2.0, 2.0, 0.0), (8.0, 2.0))
    path = plan_path(sc, 0.215)
    np.testing.assert_allclose(path[0], [2.0, 2.0])
    np.testing.assert_allclose(path[-1], [8.0, 2.0])
    at_wall = path[np.abs(path[:, 0] - 5.0) < 0.1]
    assert len(at_wall) and np.all((at_wall[:, 1] > 7.0) & (at_wall[:, 1] < 8.0))
    # Every point keeps the inscribed radius from the walls (cell centres: within half a cell).
    assert min(clearance_m(sc, x, y) for x, y in path) >= 0.215 - RES
    # No shorter than the straight lines through the doorway: 2 * hypot(3, 5.5) = 12.53 m.
    assert path_length_m(path) > 2 * math.hypot(3.0, 5.5)


def test_inflation_cost_keeps_the_path_in_the_middle_of_a_corridor():
    occ = walled(12.0)
    box(occ, 0, 5.0, 12, 5.2)  # a 2 m corridor between y = 5.2 and 7.2
    box(occ, 0, 7.2, 12, 7.4)
    sc = world(occ, (1.0, 6.2, 0.0), (11.0, 6.2))
    path = plan_path(sc, 0.215)
    assert np.all(np.abs(path[:, 1] - 6.2) < 0.15)


def test_no_path_is_an_error_naming_the_scenario():
    occ = walled()
    box(occ, 4.9, 0, 5.1, 10)
    with pytest.raises(PlanningError, match="closed: no path from the start to the goal"):
        plan_path(world(occ, (2.0, 2.0, 0.0), (8.0, 2.0), name="closed"), 0.215)
    # A doorway narrower than the robot is closed too.
    occ[round(7 / RES) : round(7.35 / RES), round(4.9 / RES) : round(5.1 / RES)] = False
    with pytest.raises(PlanningError):
        plan_path(world(occ, (2.0, 2.0, 0.0), (8.0, 2.0)), 0.215)


def test_costmap_lethal_band_is_the_inscribed_radius():
    occ = np.zeros((100, 100), dtype=bool)
    occ[50, 50] = True
    cm = costmap(world(occ, (0.5, 0.5, 0.0), (4.5, 4.5)), 0.3)
    lethal_r = np.hypot(*(cm.center(np.argwhere(cm.lethal)) - cm.center(np.argwhere(cm.grid.occupied))).T)
    assert lethal_r.max() < 0.3 + cm.grid.resolution_m


def test_rooms_world_is_reproducible_large_and_passable(tmp_path):
    small = RoomsParams(size_m=20.0, rooms=2, min_goal_distance_m=10.0)
    a, path_a = generate_rooms_world(3, small)
    b, _ = generate_rooms_world(3, small)
    assert np.array_equal(a.grid.occupied, b.grid.occupied) and a.start == b.start and a.goal == b.goal
    assert a.grid.shape == (400, 400) and math.dist(a.start[:2], a.goal) >= 10.0
    assert a.ref_path_length_m == pytest.approx(path_length_m(path_a), abs=1e-3)
    assert a.time_limit_s == max(60.0, round(2.5 * a.ref_path_length_m))
    (p,) = write_rooms_set(tmp_path, 1, 0, small)
    sc = load_scenario(p, 0.333)  # the Jackal's footprint radius: start and goal fit
    check_reachable(sc, 0.333)
    assert sc.grid.shape == (400, 400) and sc.ref_path_length_m > 10.0


def test_following_the_plan_reaches_a_goal_behind_a_wall(jackal):
    """A goal behind a wall, through a doorway at the far end: the policy on its own heads for the
    goal and stays at the wall; following the A* path it goes round, through the doorway."""
    import dataclasses

    from sim2real.nav.evaluate import make_controller, make_sim

    occ = walled(12.0)
    box(occ, 5.9, 0, 6.1, 12)
    occ[round(10 / RES) : round(11.2 / RES), round(5.9 / RES) : round(6.1 / RES)] = False
    grid = OccupancyGrid(occ, RES, (0, 0))
    sc = Scenario("behind_wall", (3.0, 2.0, 0.0), (9.0, 2.0), 0.5, 40.0, None, grid=grid)
    sim = make_sim("kinematic", jackal, 10.0)
    spec = ControllerSpec("policy", "jackal", "policies/nav_jackal", global_planner="astar")
    step, obj = make_controller(spec, jackal, 10.0)
    plan = global_plan("astar", sc, jackal)
    planned = run_episode(sim, sc, step, obj, 1, spec.label, 0, plan=plan)
    assert planned.success and len(planned.plan) > 2
    assert planned.path_length_m > 2 * math.hypot(3.0, 8.6)  # the way round, through the doorway
    alone = run_episode(sim, dataclasses.replace(sc, time_limit_s=10.0), step, obj, 1, "policy", 0)
    assert not alone.success and max(x for x, _ in alone.trajectory) < 6.0  # never past the wall


def test_policy_spec_label_and_worker_run_with_a_planner(tmp_path):
    occ = walled(6.0)
    box(occ, 2.9, 0, 3.1, 4.0)
    sc = Scenario("tiny", (1.5, 1.5, 0.0), (4.5, 1.5), 0.5, 3.0, None, grid=OccupancyGrid(occ, RES, (0, 0)))
    p = tmp_path / "tiny.scenario.yaml"
    write_nav2_map(tmp_path / "tiny.yaml", sc.grid)
    write_scenario(p, sc, "tiny.yaml")
    spec = ControllerSpec("policy", "jackal", "policies/nav_jackal", global_planner="astar")
    assert spec.label == "policy:nav_jackal+astar"
    r = _worker_run(spec, "kinematic", 10.0, str(p), 0)
    assert r.controller == "policy:nav_jackal+astar" and len(r.plan) > 2
    np.testing.assert_allclose(r.plan[0], load_scenario(p).start[:2], atol=1e-3)


def _write(tmp_path, sc: Scenario):
    p = tmp_path / f"{sc.name}.scenario.yaml"
    write_nav2_map(tmp_path / f"{sc.name}.yaml", sc.grid)
    write_scenario(p, sc, f"{sc.name}.yaml")
    return p


def test_cli_global_planner_writes_the_plan_and_refuses_a_world_without_a_path(tmp_path, capsys):
    from sim2real.cli import main

    occ = walled(6.0)
    box(occ, 2.9, 0, 3.1, 4.0)
    ok = _write(
        tmp_path,
        Scenario("tiny", (1.5, 1.5, 0.0), (4.5, 1.5), 0.5, 2.0, None, grid=OccupancyGrid(occ, RES, (0, 0))),
    )
    out = tmp_path / "e.json"
    args = [
        "eval",
        "nav",
        "--policy",
        "policies/nav_jackal",
        "--global-planner",
        "astar",
        "--sim",
        "kinematic",
    ]
    assert main([*args, "--scenarios", str(ok), "--workers", "1", "--out", str(out)]) == 0
    ep = json.loads(out.read_text())["episodes"][0]
    # the shipped policy's contract asks for the DWA fallback: eval runs it and says so
    assert ep["controller"] == "policy:nav_jackal+dwa_fallback+astar" and len(ep["plan"]) > 2
    closed = occ.copy()
    box(closed, 2.9, 0, 3.1, 6.0)
    bad = tmp_path / "bad"
    bad.mkdir()
    p = _write(
        bad,
        Scenario(
            "closed", (1.5, 1.5, 0.0), (4.5, 1.5), 0.5, 2.0, None, grid=OccupancyGrid(closed, RES, (0, 0))
        ),
    )
    assert main([*args, "--scenarios", str(p), "--out", str(tmp_path / "x.json")]) == 2
    assert "closed: no path from the start to the goal" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
