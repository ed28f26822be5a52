"""BARN-style world generator: determinism, guaranteed paths, A*, files that load back."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from sim2real.nav import worldgen as wg
from sim2real.nav.scenario import Scenario, load_scenario, rasterize

JACKAL_WIDTH_M = 0.43


# --------------------------------------------------------------------------- independent helpers


def _dijkstra_cells(occupied: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> float | None:
    """Shortest path (cells) by scipy's Dijkstra: 8-connected, no squeezing between two blocked
    orthogonal neighbours. Built independently of worldgen's A*."""
    h, w = occupied.shape
    free = ~occupied
    rows, cols, costs = [], [], []
    for r in range(h):
        for c in range(w):
            if not free[r, c]:
                continue
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    nr, nc = r + dr, c + dc
                    if (dr or dc) and 0 <= nr < h and 0 <= nc < w and free[nr, nc]:
                        if dr and dc and not (free[r, nc] or free[nr, c]):
                            continue
                        rows.append(r * w + c)
                        cols.append(nr * w + nc)
                        costs.append(math.sqrt(2.0) if dr and dc else 1.0)
    if not (free[start] and free[goal]):
        return None
    graph = csr_matrix((costs, (rows, cols)), shape=(h * w, h * w))
    d = dijkstra(graph, indices=start[0] * w + start[1])[goal[0] * w + goal[1]]
    return None if np.isinf(d) else float(d)


def _grid_from_circles(circles: np.ndarray) -> np.ndarray:
    """The planning grid's occupied cells recovered from cylinder centres."""
    col = np.round((circles[:, 0] - wg.X0_M) / wg.CELL_M - 0.5).astype(int)
    row = np.round(circles[:, 1] / wg.CELL_M - 0.5).astype(int)
    np.testing.assert_allclose(wg.X0_M + (col + 0.5) * wg.CELL_M, circles[:, 0], atol=1e-9)
    np.testing.assert_allclose((row + 0.5) * wg.CELL_M, circles[:, 1], atol=1e-9)
    occ = np.zeros((wg.GRID_ROWS, wg.FIELD_COLS), dtype=bool)
    occ[row, col] = True
    return occ


def _brute_force_cspace(circles: np.ndarray, clearance_m: float) -> np.ndarray:
    """Cells the robot's centre may not be in: some point of the cell (a 0.15 m square) is closer
    than ``clearance_m`` to a cylinder centre. Point-to-square distance, no kernel."""
    rows, cols = np.mgrid[0 : wg.GRID_ROWS, 0 : wg.FIELD_COLS]
    x0 = wg.X0_M + cols * wg.CELL_M
    y0 = rows * wg.CELL_M
    blocked = np.zeros(rows.shape, dtype=bool)
    for cx, cy, _ in circles:
        dx = np.maximum(np.maximum(x0 - cx, cx - (x0 + wg.CELL_M)), 0.0)
        dy = np.maximum(np.maximum(y0 - cy, cy - (y0 + wg.CELL_M)), 0.0)
        blocked |= dx * dx + dy * dy < clearance_m**2
    return blocked


def _smooth_reference(field: np.ndarray) -> np.ndarray:
    """One smoothing iteration written as BARN's generator loops (out-of-range columns, i.e.
    beyond the side walls, count as occupied; out-of-range rows as free)."""
    rows, cols = field.shape
    new = field.copy()
    for r in range(rows):
        for c in range(cols):
            n = 0
            for i in range(r - 1, r + 2):
                for j in range(c - 1, c + 2):
                    if (i, j) == (r, c):
                        continue
                    if 0 <= i < rows and 0 <= j < cols:
                        n += int(field[i, j])
                    elif j < 0 or j >= cols:
                        n += 1
            if n >= 5:
                new[r, c] = True
            elif n <= 1:
                new[r, c] = False
    return new


# ------------------------------------------------------------------------------------------ A*


def test_a_star_hand_computed_lengths() -> None:
    empty = np.zeros((5, 5), dtype=bool)
    assert wg.a_star_length(empty, (0, 0), (0, 4)) == pytest.approx(4.0)
    assert wg.a_star_length(empty, (0, 0), (4, 4)) == pytest.approx(4 * math.sqrt(2))
    assert wg.a_star_length(empty, (0, 0), (1, 3)) == pytest.approx(2 + math.sqrt(2))
    assert wg.a_star_length(empty, (2, 2), (2, 2)) == 0.0
    wall = empty.copy()
    wall[:, 2] = True
    assert wg.a_star_length(wall, (0, 0), (0, 4)) is None
    # A gap at the bottom: down two diagonals, through, and back up.
    wall[4, 2] = False
    assert wg.a_star_length(wall, (2, 0), (2, 4)) == pytest.approx(4 * math.sqrt(2))
    assert wg.a_star_length(wall, (0, 2), (0, 0)) is None  # start occupied


def test_a_star_does_not_cut_corners() -> None:
    grid = np.array([[False, True], [True, False]])
    assert wg.a_star_length(grid, (0, 0), (1, 1)) is None
    grid[1, 0] = False  # one orthogonal neighbour free: the diagonal step is allowed
    assert wg.a_star_length(grid, (0, 0), (1, 1)) == pytest.approx(math.sqrt(2))


def test_a_star_rejects_cells_outside_the_grid() -> None:
    with pytest.raises(ValueError, match="outside"):
        wg.a_star_length(np.zeros((3, 3), dtype=bool), (0, 0), (3, 0))


def test_a_star_matches_dijkstra_on_random_grids() -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        occ = rng.random((12, 9)) < rng.uniform(0.1, 0.45)
        start = (int(rng.integers(12)), int(rng.integers(9)))
        goal = (int(rng.integers(12)), int(rng.integers(9)))
        expected = _dijkstra_cells(occ, start, goal)
        got = wg.a_star_length(occ, start, goal)
        if expected is None:
            assert got is None
        else:
            assert got == pytest.approx(expected, abs=1e-9)


# --------------------------------------------------------------------------------- generator


def test_cellular_automaton_follows_barns_rule() -> None:
    params = wg.WorldParams(fill_prob=0.3, smooth_iters=3)
    fields = wg.cellular_fields(np.random.default_rng(11), params, 3)
    raw = np.random.default_rng(11).random((3, wg.FIELD_ROWS, wg.FIELD_COLS)) < params.fill_prob
    for b in range(3):
        expected = raw[b].copy()
        expected[:, 0] = expected[:, -1] = True
        for _ in range(params.smooth_iters):
            expected = _smooth_reference(expected)
        np.testing.assert_array_equal(fields[b], expected)
        assert fields[b][:, 0].all() and fields[b][:, -1].all()


def test_inflation_matches_brute_force_clearance() -> None:
    rng = np.random.default_rng(3)
    occ = np.zeros((wg.GRID_ROWS, wg.FIELD_COLS), dtype=bool)
    occ[rng.integers(0, wg.GRID_ROWS, 40), rng.integers(0, wg.FIELD_COLS, 40)] = True
    circles = np.array(
        [[*np.ravel(wg.cell_center(r, c)), wg.OBSTACLE_RADIUS_M] for r, c in zip(*np.nonzero(occ))]
    )
    for clearance in (0.29, 0.164, 0.35):
        np.testing.assert_array_equal(wg.inflate(occ, clearance), _brute_force_cspace(circles, clearance))


@pytest.mark.parametrize("difficulty", [0.0, 0.3, 0.6, 1.0])
def test_every_world_has_a_path_of_the_reference_length(difficulty: float) -> None:
    for seed in range(3):
        world = wg.generate_world(seed, difficulty)
        assert world.start == wg.START_POSE and world.goal == wg.GOAL_XY
        assert world.goal_tolerance_m == 1.0 and world.time_limit_s == 100.0
        assert np.all(world.circles[:, 2] == 0.075)
        occ = _grid_from_circles(world.circles)
        cspace = _brute_force_cspace(world.circles, JACKAL_WIDTH_M / 2 + wg.OBSTACLE_RADIUS_M)
        s_rc, g_rc = (20, 15), (86, 15)  # cells holding BARN's start (-2.25, 3) and goal (-2.25, 13)
        cells = _dijkstra_cells(cspace, s_rc, g_rc)
        assert cells is not None, f"no path in world seed={seed} difficulty={difficulty}"
        ends = math.hypot(-2.25 - (-2.175), 3.0 - 3.075) + math.hypot(-2.175 + 2.25, 12.975 - 13.0)
        assert world.ref_path_length_m == pytest.approx(cells * wg.CELL_M + ends, abs=1e-4)
        assert world.ref_path_length_m >= math.dist(world.start[:2], world.goal)
        # BARN's layout: bottom wall, two side walls up to the field's top, nothing above.
        assert occ[0].all() and occ[:64, 0].all() and occ[:64, -1].all()
        assert not occ[1:34, 1:-1].any() and not occ[64:].any()


def test_same_seed_same_world_and_seeds_differ() -> None:
    a, b = wg.generate_world(5, 0.5), wg.generate_world(5, 0.5)
    np.testing.assert_array_equal(a.circles, b.circles)
    assert a.ref_path_length_m == b.ref_path_length_m
    assert not np.array_equal(a.circles, wg.generate_world(6, 0.5).circles)


def test_harder_worlds_have_more_obstacles() -> None:
    easy = [len(wg.generate_world(s, 0.0).circles) for s in range(8)]
    hard = [len(wg.generate_world(s, 1.0).circles) for s in range(8)]
    assert np.mean(easy) < np.mean(hard)
    assert wg.params_for_difficulty(0.0) == wg.WorldParams(0.15, 2)
    assert wg.params_for_difficulty(1.0) == wg.WorldParams(0.30, 4)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="difficulty"):
            wg.params_for_difficulty(bad)


def test_a_wider_robot_gets_wider_paths() -> None:
    width = 0.9
    world = wg.generate_world(2, 0.4, robot_width_m=width)
    cspace = _brute_force_cspace(world.circles, width / 2 + wg.OBSTACLE_RADIUS_M)
    assert _dijkstra_cells(cspace, (20, 15), (86, 15)) is not None


def test_generation_is_fast() -> None:
    t0 = time.perf_counter()
    for seed in range(10):
        wg.generate_world(100 + seed, seed / 9)
    per_world = (time.perf_counter() - t0) / 10
    assert per_world < 0.05, f"{per_world * 1e3:.1f} ms per world"


def test_training_worlds_are_randomised_and_passable() -> None:
    rng = np.random.default_rng(0)
    worlds = [wg.generate_training_world(rng, d) for d in (0.0, 0.5, 1.0, 1.0)]
    for world in worlds:
        assert -3.0 <= world.start[0] <= -1.5 and 2.0 <= world.start[1] <= 4.0
        assert abs(world.start[2] - 1.57) <= 0.5
        assert -3.25 <= world.goal[0] <= -1.25 and 12.0 <= world.goal[1] <= 13.5
        radii = world.circles[:, 2]
        assert radii.min() >= 0.06 and radii.max() <= 0.09
        walls = (world.circles[:, 1] < 0.1) | (np.abs(world.circles[:, 0] + 2.25) > 2.1)
        assert np.all(radii[walls] == 0.075)
        assert len(np.unique(radii)) > 10
        cspace = _brute_force_cspace(world.circles, JACKAL_WIDTH_M / 2 + world.circles[:, 2].max())
        s_rc = tuple(wg.cell_of(np.array(world.start[:2])))
        g_rc = tuple(wg.cell_of(np.array(world.goal)))
        cells = _dijkstra_cells(cspace, s_rc, g_rc)
        assert cells is not None
        assert world.ref_path_length_m >= math.dist(world.start[:2], world.goal)
    again = wg.generate_training_world(np.random.default_rng(0), 0.0)
    np.testing.assert_array_equal(again.circles, worlds[0].circles)
    assert again.start == worlds[0].start


# ------------------------------------------------------------------------------------ writing


def _read_all(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_benchmark_files_are_byte_identical(tmp_path: Path) -> None:
    a = wg.write_benchmark(tmp_path / "a", count=4, seed=3)
    wg.write_benchmark(tmp_path / "b", count=4, seed=3)
    assert [p.name for p in a] == [f"world_{i:03d}.scenario.yaml" for i in range(4)]
    files_a, files_b = _read_all(tmp_path / "a"), _read_all(tmp_path / "b")
    assert len(files_a) == 12
    assert files_a == files_b
    c = wg.write_benchmark(tmp_path / "c", count=4, seed=4)
    assert _read_all(c[0].parent) != files_a


def test_written_files_load_back(tmp_path: Path) -> None:
    difficulties = [0.0, 0.7, 1.0]
    paths = wg.write_benchmark(tmp_path / "bench", count=3, seed=9, difficulties=difficulties)
    for i, path in enumerate(paths):
        loaded = load_scenario(path)
        expected = wg.generate_world(wg.world_seed(9, i), difficulties[i])
        np.testing.assert_array_equal(loaded.circles, expected.circles)
        assert loaded.ref_path_length_m == expected.ref_path_length_m
        assert loaded.start == expected.start and loaded.goal == expected.goal
        assert loaded.goal_tolerance_m == 1.0 and loaded.time_limit_s == 100.0
        grid = loaded.grid
        assert grid is not None
        assert grid.shape == wg.MAP_SHAPE and grid.origin_xy_m == wg.MAP_ORIGIN_XY_M
        assert grid.resolution_m == 0.05
        # The map is exactly the project's own rasterisation of the circles.
        ras = rasterize(dataclasses.replace(loaded, grid=None), resolution_m=0.05, margin_m=0.0)
        ox = round((ras.origin_xy_m[0] - grid.origin_xy_m[0]) / 0.05)
        oy = round((ras.origin_xy_m[1] - grid.origin_xy_m[1]) / 0.05)
        embedded = np.zeros_like(grid.occupied)
        h, w = ras.shape
        embedded[oy : oy + h, ox : ox + w] = ras.occupied
        np.testing.assert_array_equal(grid.occupied, embedded)
        # Every 0.15 m cylinder covers 3 x 3 map cells.
        assert grid.occupied.sum() == 9 * len(loaded.circles)


def test_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing_map(yaml_path: Path, grid: object) -> None:
        calls.append(yaml_path)
        if len(calls) == 2:
            raise OSError("disk full")
        real_write(yaml_path, grid)

    real_write = wg.write_nav2_map
    monkeypatch.setattr(wg, "write_nav2_map", failing_map)
    with pytest.raises(OSError, match="disk full"):
        wg.write_benchmark(tmp_path / "out", count=3, seed=1)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_is_kept_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    wg.write_benchmark(out, count=3, seed=1)
    with pytest.raises(FileExistsError):
        wg.write_benchmark(out, count=2, seed=2)
    assert len(list(out.iterdir())) == 9
    wg.write_benchmark(out, count=2, seed=2, overwrite=True)
    assert sorted(p.name for p in out.iterdir())[0] == "world_000.pgm"
    assert len(list(out.iterdir())) == 6
    assert [p.name for p in tmp_path.iterdir()] == ["bench"]


def test_generated_scenario_is_a_scenario() -> None:
    world = wg.generate_world(0, 0.2)
    assert isinstance(world, Scenario) and world.grid is None
    assert world.barn_score(True, 1.0) == pytest.approx(0.5)


def test_layout_matches_the_shared_barn_worlds(barn_dir: Path, tmp_path: Path) -> None:
    """Same frame, walls, start, goal and map geometry as the converted BARN worlds."""
    barn = load_scenario(sorted(barn_dir.glob("world_*.scenario.yaml"))[0])
    ours = load_scenario(wg.write_benchmark(tmp_path / "b", count=1, seed=0)[0])
    assert ours.start == barn.start and ours.goal == barn.goal
    assert ours.goal_tolerance_m == barn.goal_tolerance_m and ours.time_limit_s == barn.time_limit_s
    assert barn.grid is not None and ours.grid is not None
    assert ours.grid.shape == barn.grid.shape and ours.grid.origin_xy_m == barn.grid.origin_xy_m
    assert ours.grid.resolution_m == barn.grid.resolution_m

    def walls(circles: np.ndarray) -> set[tuple[int, int]]:
        occ = _grid_from_circles(circles)
        keep = np.zeros_like(occ)
        keep[0] = True
        keep[:, [0, -1]] = True
        r, c = np.nonzero(occ & keep)
        return set(zip(r.tolist(), c.tolist(), strict=True))

    assert walls(ours.circles) == walls(barn.circles)
    # BARN's obstacles lie on the same 0.15 m lattice, in the same field rows, with the same radius.
    barn_occ = _grid_from_circles(barn.circles)
    assert not barn_occ[1:34, 1:-1].any() and not barn_occ[64:].any()
    assert set(barn.circles[:, 2]) == {0.075}
