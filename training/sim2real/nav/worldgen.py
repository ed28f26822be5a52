"""BARN-style benchmark worlds: cellular-automaton obstacle fields with a guaranteed path.

The generator follows BARN (Perille et al. 2020, "Benchmarking Metric Ground Navigation"; the
jackal-map-creation generator) and the layout of the converted BARN worlds in
``../shared/benchmarks/barn``:

- a field of 30 x 30 cells of 0.15 m; every occupied cell is a cylinder of radius 0.075 m at the
  cell centre. The field spans x in [-4.5, 0] m and y in [5.1, 9.6] m. Its two outer columns are
  walls (BARN fills the CA's first and last row, which become the side walls);
- below it a 33-row (4.95 m) walled corridor with a bottom wall at y = 0.075 m; the robot starts
  in it at (-2.25, 3.0) facing +y; the goal (-2.25, 13.0) lies 3.4 m beyond the open top of the
  field, 10 m from the start;
- random fill with probability ``p``, then ``n`` smoothing iterations of BARN's rule: a cell with
  >= 5 occupied neighbours (of 8) becomes occupied, one with <= 1 becomes free, otherwise it keeps
  its state. Neighbours beyond the side walls count as occupied, beyond the field's ends as free;
- a world is kept only when a path exists for the robot: A* (8-connected, no corner cutting) over
  the cells the robot's centre may occupy: cells no point of which is closer than the robot's
  half-width plus the cylinder radius to an occupied cell's centre (so the robot's inscribed disk
  stays clear wherever its centre is in a free cell; for the Jackal this is BARN's 5 x 5-cell
  robot less its corners). Otherwise it is redrawn from the next sub-seed. Candidates are drawn
  in batches and screened by one connected-component labelling before the (Python) A*;
- ``ref_path_length`` = start -> centre of the start cell -> A* cell centres -> centre of the goal
  cell -> goal, in metres (BARN's definition: start -> A* cells -> goal). It is the shortest such
  path; BARN's own A* limits turns to 45 degrees and avoids wall-hugging cells, so its lengths in
  the shared worlds are about 0.5 m longer on average.

Grids are row-major with row 0 at the lowest y (as in :mod:`sim2real.nav.scenario`); column 0 is
the lowest x.
"""

from __future__ import annotations

import heapq
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from .scenario import OccupancyGrid, Scenario, write_nav2_map, write_scenario

CELL_M = 0.15
"""Edge of one obstacle cell (m), BARN's cylinder diameter."""
OBSTACLE_RADIUS_M = 0.075
"""Radius of BARN's cylinders (m)."""
FIELD_COLS = 30
"""Cells across the field (x), including the two side-wall columns."""
FIELD_ROWS = 30
"""Cells along the field (y)."""
CORRIDOR_ROWS = 33
"""Free rows between the bottom wall (row 0) and the field (rows 34..63)."""
FIELD_ROW0 = 1 + CORRIDOR_ROWS
"""Grid row of the field's first (lowest) row."""
X0_M = -4.5
"""x of the left edge of grid column 0 (m); the field spans [X0_M, X0_M + 30 * CELL_M]."""
START_POSE = (-2.25, 3.0, 1.57)
"""BARN's start pose x (m), y (m), yaw (rad) (BARN writes 1.57, not pi/2)."""
GOAL_XY = (-2.25, 13.0)
"""BARN's goal x, y (m)."""
GOAL_TOLERANCE_M = 1.0
TIME_LIMIT_S = 100.0
MAP_RESOLUTION_M = 0.05
"""Resolution of the written Nav2 maps (m/cell), as BARN's converted maps."""
MAP_ORIGIN_XY_M = (-5.0, -0.5)
"""Lower-left corner of the written Nav2 maps (m), as BARN's converted maps."""
MAP_SHAPE = (290, 110)
"""Rows (y), columns (x) of the written Nav2 maps: 14.5 m x 5.5 m, as BARN's converted maps."""
FILL_RANGE = (0.15, 0.30)
"""Fill probability at difficulty 0 and 1: BARN's 300 worlds use 0.15 ... 0.30."""
SMOOTH_RANGE = (2, 4)
"""Smoothing iterations at difficulty 0 and 1: BARN's 300 worlds use 2 ... 4."""
TRAIN_RADIUS_RANGE_M = (0.06, 0.09)
"""Domain-randomised radius range of field cylinders in training worlds (m)."""
BATCH = 64
"""Candidate worlds drawn (and checked) at once; part of what a seed means."""
MAX_BATCHES = 1000

GRID_ROWS = 92
"""Rows of the planning grid (to y = 13.8 m): beyond every goal, the field's top being open."""
_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class WorldParams:
    """Cellular-automaton parameters for one difficulty."""

    fill_prob: float
    """Probability that an interior field cell starts occupied."""
    smooth_iters: int
    """Number of smoothing iterations."""


def params_for_difficulty(difficulty: float) -> WorldParams:
    """Map difficulty in [0, 1] to BARN's parameter ranges (fill 0.15..0.30, 2..4 iterations).

    Both rise together. More fill means more cylinders; more smoothing (BARN's rule) merges them
    into clumps and walls, which is what lets dense fields still have a path. Field cylinders per
    world, measured: about 46 at difficulty 0, 116 at 0.5 and 208 at 1 (the shared BARN worlds
    have 25 ... 209, median 104).
    """
    if not 0.0 <= difficulty <= 1.0 or not math.isfinite(difficulty):
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty!r}")
    fill = FILL_RANGE[0] + (FILL_RANGE[1] - FILL_RANGE[0]) * difficulty
    iters = round(SMOOTH_RANGE[0] + (SMOOTH_RANGE[1] - SMOOTH_RANGE[0]) * difficulty)
    return WorldParams(fill, iters)


# ----------------------------------------------------------------------------- cellular automaton


def cellular_fields(rng: np.random.Generator, params: WorldParams, count: int) -> np.ndarray:
    """``count`` BARN obstacle fields: bool [count, FIELD_ROWS, FIELD_COLS], row 0 nearest the start.

    Columns 0 and FIELD_COLS-1 are the side walls.
    """
    field = rng.random((count, FIELD_ROWS, FIELD_COLS)) < params.fill_prob
    field[:, :, 0] = field[:, :, -1] = True
    # Beyond the field's ends (rows) nothing; beyond the side walls (columns) BARN counts occupied
    # cells, corners included: a padded copy with those borders, refilled every iteration.
    p = np.zeros((count, FIELD_ROWS + 2, FIELD_COLS + 2), dtype=np.uint8)
    p[:, :, 0] = p[:, :, -1] = 1
    for _ in range(params.smooth_iters):
        p[:, 1:-1, 1:-1] = field
        rows = p[:, :-2] + p[:, 1:-1] + p[:, 2:]
        n = rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:] - p[:, 1:-1, 1:-1]
        # Both rules read the previous generation (BARN smooths into a copy).
        field = (n >= 5) | (field & (n > 1))
    return field


def world_cells(fields: np.ndarray) -> np.ndarray:
    """Whole worlds' occupied cells from fields [..., FIELD_ROWS, FIELD_COLS].

    Returns bool [..., GRID_ROWS, FIELD_COLS]: row 0 the bottom wall, the corridor's side walls,
    the field at rows FIELD_ROW0 .. FIELD_ROW0+29 and free rows above it up to beyond the goal.
    """
    occ = np.zeros((*fields.shape[:-2], GRID_ROWS, FIELD_COLS), dtype=bool)
    occ[..., 0, :] = True
    occ[..., : FIELD_ROW0 + FIELD_ROWS, 0] = True
    occ[..., : FIELD_ROW0 + FIELD_ROWS, -1] = True
    occ[..., FIELD_ROW0 : FIELD_ROW0 + FIELD_ROWS, :] |= fields
    return occ


def cell_center(row: int | np.ndarray, col: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map-frame centre (x, y) of grid cell(s) (m)."""
    return X0_M + (np.asarray(col) + 0.5) * CELL_M, (np.asarray(row) + 0.5) * CELL_M


def cell_of(xy: np.ndarray) -> np.ndarray:
    """Grid cells (row, col) [..., 2] containing map points xy [..., 2] (m).

    A point on a cell edge goes to the upper cell (BARN's start x = -2.25 m lies on one).
    """
    xy = np.asarray(xy, dtype=float)
    rc = np.stack([xy[..., 1] / CELL_M, (xy[..., 0] - X0_M) / CELL_M], axis=-1)
    return np.floor(rc + 1e-9).astype(int)


def inflation_kernel(clearance_m: float) -> np.ndarray:
    """Cells whose centre region may not hold the robot's centre next to an occupied cell.

    bool [2k+1, 2k+1]: offset (dr, dc) is blocked when *some* point of that cell lies closer than
    ``clearance_m`` (robot half-width + cylinder radius) to the obstacle's centre, so that the
    robot's centre may be anywhere in a free cell. For the Jackal (0.215 + 0.075 m) this is BARN's
    5 x 5 cell robot without its four corners.
    """
    k = math.ceil(clearance_m / CELL_M + 0.5)
    d = np.maximum(np.abs(np.arange(-k, k + 1)) - 0.5, 0.0) * CELL_M
    return d[:, None] ** 2 + d[None, :] ** 2 < clearance_m**2


def _shifted_or(out: np.ndarray, src: np.ndarray, dr: int, dc: int) -> None:
    """out[..., r, c] |= src[..., r - dr, c - dc] where both are inside the last two axes."""
    h, w = src.shape[-2:]
    out[..., max(dr, 0) : h + min(dr, 0), max(dc, 0) : w + min(dc, 0)] |= src[
        ..., max(-dr, 0) : h + min(-dr, 0), max(-dc, 0) : w + min(-dc, 0)
    ]


def inflate(occupied: np.ndarray, clearance_m: float) -> np.ndarray:
    """Occupied cells [..., H, W] dilated by :func:`inflation_kernel` in the last two axes."""
    kernel = inflation_kernel(clearance_m)
    k = kernel.shape[0] // 2
    # Each kernel row is one centred run of cells, so dilate along columns by every run half-width
    # needed (incrementally), then take the union of those, shifted by the row offsets.
    half = kernel.sum(axis=1) // 2
    cols = [occupied.copy()]
    for wdt in range(1, int(half.max()) + 1):
        nxt = cols[-1].copy()
        _shifted_or(nxt, occupied, 0, wdt)
        _shifted_or(nxt, occupied, 0, -wdt)
        cols.append(nxt)
    out = np.zeros_like(occupied)
    for i, wdt in enumerate(half):
        if kernel[i].any():
            _shifted_or(out, cols[int(wdt)], i - k, 0)
    return out


# ------------------------------------------------------------------------------------------ A*


def a_star_length(occupied: np.ndarray, start_rc: tuple[int, int], goal_rc: tuple[int, int]) -> float | None:
    """Shortest 8-connected path length between two cells, in cells (diagonal step = sqrt 2).

    ``occupied`` is bool [H, W]; a diagonal step may not squeeze between two occupied orthogonal
    neighbours (as BARN's A*). Returns None when start or goal is occupied or no path exists.
    """
    occ = np.asarray(occupied, dtype=bool)
    if occ.ndim != 2:
        raise ValueError(f"occupied must be 2-D, got shape {occ.shape}")
    h, w = occ.shape
    for name, (r, c) in (("start_rc", start_rc), ("goal_rc", goal_rc)):
        if not (0 <= r < h and 0 <= c < w):
            raise ValueError(f"{name} {(r, c)} is outside the {h} x {w} grid")
    sr, sc = int(start_rc[0]), int(start_rc[1])
    gr, gc = int(goal_rc[0]), int(goal_rc[1])
    if occ[sr, sc] or occ[gr, gc]:
        return None
    # A blocked border ring removes all bounds checks; indices are flat in the padded grid.
    wp = w + 2
    free = np.pad(~occ, 1, constant_values=False).ravel().tolist()
    rr, cc = np.divmod(np.arange((h + 2) * wp), wp)
    dr, dc = np.abs(rr - (gr + 1)), np.abs(cc - (gc + 1))
    # Octile distance: exact on an empty grid, so admissible and consistent.
    heur = ((dr + dc) + (_SQRT2 - 2.0) * np.minimum(dr, dc)).tolist()
    start, goal = (sr + 1) * wp + sc + 1, (gr + 1) * wp + gc + 1
    straight = [(1, 0, 0), (-1, 0, 0), (wp, 0, 0), (-wp, 0, 0)]
    # A diagonal step needs at least one of its two orthogonal neighbours free (no corner cut).
    diagonal = [(1 + wp, 1, wp), (1 - wp, 1, -wp), (-1 + wp, -1, wp), (-1 - wp, -1, -wp)]
    g_cost = [math.inf] * len(free)
    g_cost[start] = 0.0
    closed = bytearray(len(free))
    # Among equal f, pop the deepest node first (-g): on open ground this expands little more
    # than the path itself instead of the whole diamond of equal-f cells.
    heap = [(heur[start], -0.0, start)]
    while heap:
        _, neg_g, i = heapq.heappop(heap)
        if closed[i]:
            continue
        g = -neg_g
        if i == goal:
            return g
        closed[i] = 1
        for moves, step in ((straight, 1.0), (diagonal, _SQRT2)):
            ng = g + step
            for off, o1, o2 in moves:
                j = i + off
                if not free[j] or closed[j] or (o1 and not (free[i + o1] or free[i + o2])):
                    continue
                if ng < g_cost[j]:
                    g_cost[j] = ng
                    heapq.heappush(heap, (ng + heur[j], -ng, j))
    return None


# ------------------------------------------------------------------------------------- worlds


_FOUR = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)
_FOUR_BATCH = np.stack([np.zeros_like(_FOUR), _FOUR, np.zeros_like(_FOUR)])
"""4-connectivity within each world of a batch, none across worlds."""


def _connected(cspace: np.ndarray, s_rc: np.ndarray, g_rc: np.ndarray) -> np.ndarray:
    """Per world of a batch: are its start and goal cells 4-connected through free cells?

    Without corner cutting, A* reaches exactly the start's 4-connected component (a diagonal step
    needs a free orthogonal neighbour to go through), so this predicts A* success. One C-speed
    labelling of the batch replaces a pure-Python A* per rejected draw. Rows that are the same in
    every world (corridor, space above the field) are labelled once, and only the band of rows
    that differ is labelled per world.

    Args:
        cspace: bool [B, H, W], True where the robot's centre may not be.
        s_rc, g_rc: start and goal cells [B, 2] (row, col); starts below goals.
    """
    n = len(cspace)
    idx = np.arange(n)
    free = ~cspace
    differs = np.nonzero((free.any(axis=0) != free.all(axis=0)).any(axis=1))[0]
    if len(differs):
        lo, hi = int(differs[0]) - 1, int(differs[-1]) + 1
        if lo >= 0 and hi < free.shape[1] and (s_rc[:, 0] <= lo).all() and (g_rc[:, 0] >= hi).all():
            below, _ = ndimage.label(free[0, : lo + 1], structure=_FOUR)
            above, _ = ndimage.label(free[0, hi:], structure=_FOUR)
            low_ids, high_ids = np.unique(below[-1]), np.unique(above[0])
            low_ids, high_ids = low_ids[low_ids > 0], high_ids[high_ids > 0]
            # One component of each shared part meets the band: then a world connects iff one of
            # its band components touches both edge rows (else fall through to full labelling).
            if len(low_ids) == 1 and len(high_ids) == 1:
                band, _ = ndimage.label(free[:, lo : hi + 1], structure=_FOUR_BATCH)
                bottom, top = band[:, 0], band[:, -1]
                common = np.intersect1d(bottom[bottom > 0], top[top > 0])
                ok = np.isin(bottom, common).any(axis=1)
                ok &= below[s_rc[:, 0], s_rc[:, 1]] == low_ids[0]
                ok &= above[g_rc[:, 0] - hi, g_rc[:, 1]] == high_ids[0]
                return ok
    labels, _ = ndimage.label(free, structure=_FOUR_BATCH)
    lab_s, lab_g = labels[idx, s_rc[:, 0], s_rc[:, 1]], labels[idx, g_rc[:, 0], g_rc[:, 1]]
    return (lab_s > 0) & (lab_s == lab_g)


def _first_passable(
    occ: np.ndarray, clearance_m: float, start_xy: np.ndarray, goal_xy: np.ndarray
) -> tuple[int, float] | None:
    """The first of a batch of worlds the robot can cross, and its reference path length (m).

    Args:
        occ: occupied cells, bool [B, GRID_ROWS, FIELD_COLS].
        clearance_m: robot half-width plus the largest cylinder radius (m).
        start_xy, goal_xy: per-world start and goal positions [B, 2] (m).
    """
    cspace = inflate(occ, clearance_m)
    s_rc, g_rc = cell_of(start_xy), cell_of(goal_xy)
    if not all(((rc >= 0) & (rc < cspace.shape[1:])).all() for rc in (s_rc, g_rc)):
        raise ValueError("start and goal must lie inside the planning grid")
    for b in np.nonzero(_connected(cspace, s_rc, g_rc))[0]:
        s_cell, g_cell = (int(s_rc[b, 0]), int(s_rc[b, 1])), (int(g_rc[b, 0]), int(g_rc[b, 1]))
        cells = a_star_length(cspace[b], s_cell, g_cell)
        if cells is None:  # cannot happen (same connectivity); kept as a guard
            continue
        sx, sy = cell_center(*s_cell)
        gx, gy = cell_center(*g_cell)
        length = (
            math.hypot(float(sx) - start_xy[b, 0], float(sy) - start_xy[b, 1])
            + cells * CELL_M
            + math.hypot(goal_xy[b, 0] - float(gx), goal_xy[b, 1] - float(gy))
        )
        return b, length
    return None


def _circles(occupied: np.ndarray) -> np.ndarray:
    """Cylinders [K, 3] of radius 0.075 m at the occupied cells' centres, by row then column."""
    r, c = np.nonzero(occupied)
    x, y = cell_center(r, c)
    # Rounded to the 4 decimals write_scenario keeps, so written files load back equal.
    return np.round(np.stack([x, y, np.full(len(r), OBSTACLE_RADIUS_M)], axis=1), 4)


def generate_world(seed: int, difficulty: float, robot_width_m: float = 0.43) -> Scenario:
    """One BARN-layout benchmark world; the same arguments always give the same world.

    Args:
        seed: non-negative integer; candidate batch ``k`` is drawn from ``default_rng([seed, k])``
            and the first candidate with a path is kept.
        difficulty: in [0, 1], see :func:`params_for_difficulty`.
        robot_width_m: width of the robot the path must admit (m); the Jackal's by default.

    Returns:
        A scenario with BARN's start, goal, tolerance (1 m) and time limit (100 s), the cylinders
        (radius 0.075 m at occupied cell centres) and ``ref_path_length_m``; no map (``grid`` is
        None; :func:`write_benchmark` writes one).
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not robot_width_m > 0:
        raise ValueError(f"robot_width_m must be > 0, got {robot_width_m}")
    params = params_for_difficulty(difficulty)
    start = np.tile(START_POSE[:2], (BATCH, 1))
    goal = np.tile(GOAL_XY, (BATCH, 1))
    for k in range(MAX_BATCHES):
        occ = world_cells(cellular_fields(np.random.default_rng([seed, k]), params, BATCH))
        found = _first_passable(occ, 0.5 * robot_width_m + OBSTACLE_RADIUS_M, start, goal)
        if found is not None:
            b, ref = found
            return Scenario(
                name=f"gen_s{seed}",
                start=START_POSE,
                goal=GOAL_XY,
                goal_tolerance_m=GOAL_TOLERANCE_M,
                time_limit_s=TIME_LIMIT_S,
                ref_path_length_m=round(ref, 4),
                circles=_circles(occ[b]),
                source=f"worldgen seed={seed} batch={k} candidate={b} difficulty={difficulty} "
                f"fill={params.fill_prob:.4f} smooth={params.smooth_iters}",
            )
    raise RuntimeError(f"no world with a path in {MAX_BATCHES * BATCH} draws (difficulty {difficulty})")


def generate_training_world(
    rng: np.random.Generator, difficulty: float, robot_width_m: float = 0.43
) -> Scenario:
    """A domain-randomised world from the same generator, for training.

    Besides the obstacle field (drawn from ``rng``), the start (x +-0.75 m, y 2..4 m, yaw
    +-0.5 rad about BARN's), the goal (x +-1 m, y 12..13.5 m) and the field cylinders' radii
    (``TRAIN_RADIUS_RANGE_M``; walls keep 0.075 m so they stay closed) are randomised. The path
    check inflates by the largest possible radius, so every world is passable whatever radii were
    drawn. Coordinates are not rounded.
    """
    if not robot_width_m > 0:
        raise ValueError(f"robot_width_m must be > 0, got {robot_width_m}")
    params = params_for_difficulty(difficulty)
    clearance = 0.5 * robot_width_m + max(TRAIN_RADIUS_RANGE_M[1], OBSTACLE_RADIUS_M)
    for _ in range(MAX_BATCHES):
        fields = cellular_fields(rng, params, BATCH)
        occ = world_cells(fields)
        start = np.stack(
            [
                START_POSE[0] + rng.uniform(-0.75, 0.75, BATCH),
                rng.uniform(2.0, 4.0, BATCH),
                START_POSE[2] + rng.uniform(-0.5, 0.5, BATCH),
            ],
            axis=1,
        )
        goal = np.stack([GOAL_XY[0] + rng.uniform(-1.0, 1.0, BATCH), rng.uniform(12.0, 13.5, BATCH)], axis=1)
        found = _first_passable(occ, clearance, start[:, :2], goal)
        if found is None:
            continue
        b, ref = found
        radii = np.full(occ.shape[1:], OBSTACLE_RADIUS_M)
        inner = np.zeros(occ.shape[1:], dtype=bool)
        inner[FIELD_ROW0 : FIELD_ROW0 + FIELD_ROWS, 1:-1] = fields[b, :, 1:-1]
        radii[inner] = rng.uniform(*TRAIN_RADIUS_RANGE_M, size=int(inner.sum()))
        r, c = np.nonzero(occ[b])
        x, y = cell_center(r, c)
        return Scenario(
            name="train",
            start=(float(start[b, 0]), float(start[b, 1]), float(start[b, 2])),
            goal=(float(goal[b, 0]), float(goal[b, 1])),
            goal_tolerance_m=GOAL_TOLERANCE_M,
            time_limit_s=TIME_LIMIT_S,
            ref_path_length_m=ref,
            circles=np.stack([x, y, radii[r, c]], axis=1),
            source=f"worldgen training difficulty={difficulty}",
        )
    raise RuntimeError(f"no world with a path in {MAX_BATCHES * BATCH} draws (difficulty {difficulty})")


# ------------------------------------------------------------------------------------ writing


def rasterize_circles(
    circles: np.ndarray,
    origin_xy_m: tuple[float, float] = MAP_ORIGIN_XY_M,
    shape: tuple[int, int] = MAP_SHAPE,
    resolution_m: float = MAP_RESOLUTION_M,
) -> OccupancyGrid:
    """Cylinders [N, 3] on a fixed grid; a cell is occupied when its centre lies in a cylinder.

    The same rule as :func:`sim2real.nav.scenario.rasterize`, on BARN's map frame by default.
    """
    h, w = shape
    occ = np.zeros(shape, dtype=bool)
    cx = origin_xy_m[0] + (np.arange(w) + 0.5) * resolution_m
    cy = origin_xy_m[1] + (np.arange(h) + 0.5) * resolution_m
    for x, y, r in circles:
        c0, c1 = np.searchsorted(cx, [x - r, x + r])
        r0, r1 = np.searchsorted(cy, [y - r, y + r])
        occ[r0:r1, c0:c1] |= (cx[None, c0:c1] - x) ** 2 + (cy[r0:r1, None] - y) ** 2 <= r * r + 1e-12
    return OccupancyGrid(occ, resolution_m, origin_xy_m)


def world_seed(seed: int, index: int) -> int:
    """The seed of world ``index`` of a benchmark drawn with ``seed`` (stable across runs)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint32)[0])


def write_benchmark(
    out_dir: Path,
    count: int,
    seed: int,
    difficulties: Sequence[float] | None = None,
    robot_width_m: float = 0.43,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``count`` worlds as ``world_NNN.scenario.yaml`` + ``world_NNN.yaml`` + ``world_NNN.pgm``.

    The same arguments always give byte-identical files. Everything is written into a temporary
    folder beside ``out_dir`` that is renamed into place at the end, so ``out_dir`` never holds a
    half-written benchmark.

    Args:
        out_dir: target folder; must not exist unless ``overwrite`` (then it is replaced whole).
        count: number of worlds (>= 1).
        seed: benchmark seed (>= 0); world ``i`` uses :func:`world_seed` (seed, i).
        difficulties: one per world in [0, 1]; by default evenly from 0 to 1, so that, as in
            BARN, index 0 is the easiest.
        robot_width_m: robot width the guaranteed path must admit (m).

    Returns:
        The scenario files, in world order (paths inside ``out_dir``).
    """
    out_dir = Path(out_dir)
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if difficulties is None:
        difficulties = [0.0] if count == 1 else [i / (count - 1) for i in range(count)]
    if len(difficulties) != count:
        raise ValueError(f"got {len(difficulties)} difficulties for {count} worlds")
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists (pass overwrite=True to replace it)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    names = []
    try:
        for i, diff in enumerate(difficulties):
            ws = world_seed(seed, i)
            world = generate_world(ws, float(diff), robot_width_m)
            params = params_for_difficulty(float(diff))
            stem = f"world_{i:03d}"
            world = Scenario(
                name=f"gen_{i:03d}",
                start=world.start,
                goal=world.goal,
                goal_tolerance_m=world.goal_tolerance_m,
                time_limit_s=world.time_limit_s,
                ref_path_length_m=world.ref_path_length_m,
                circles=world.circles,
            )
            header = (
                f"BARN-style world {i} from sim2real.nav.worldgen: benchmark seed {seed}, world seed {ws},\n"
                f"difficulty {float(diff):.4f} (fill {params.fill_prob:.4f}, {params.smooth_iters} smoothing "
                f"iterations), path checked for a {robot_width_m} m wide robot."
            )
            write_scenario(tmp / f"{stem}.scenario.yaml", world, f"{stem}.yaml", header=header)
            write_nav2_map(tmp / f"{stem}.yaml", rasterize_circles(world.circles))
            names.append(f"{stem}.scenario.yaml")
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a benchmark folder should be readable
        if out_dir.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
            os.replace(out_dir, trash / out_dir.name)
            os.replace(tmp, out_dir)
            shutil.rmtree(trash)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out_dir / n for n in names]
