"""A global planner for ``sim2real eval nav --global-planner astar``: A* on the scenario's world
(its Nav2 occupancy grid and cylinders, :func:`sim2real.nav.scenario.rasterize`), with the robot's
footprint inflated, as Nav2's planner server plans on its global costmap.

The costmap (Nav2's inflation layer, simplified): a cell whose centre lies closer than the robot's
inscribed radius (half its footprint's width: where every heading collides, Nav2's
INSCRIBED_INFLATED_OBSTACLE, which its planners treat as lethal) to an occupied cell's centre is
lethal; within ``inflation_m`` beyond that the
cost rises quadratically towards the wall (``cost_scale``), so the path keeps to the middle of
corridors and doorways, where a local planner has room. A* on 8 neighbours, no corner cutting,
octile heuristic (admissible: every step costs at least its length).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sim2real_runtime.errors import Sim2RealError

from .scenario import OccupancyGrid, Scenario, rasterize

_SQRT2 = math.sqrt(2.0)


class PlanningError(Sim2RealError):
    """No path: the message names the scenario and why."""


@dataclass(frozen=True)
class PlannerConfig:
    resolution_m: float = 0.1
    """Planning grid cell (m)."""
    inflation_m: float = 0.6
    """Width of the cost gradient beyond the lethal radius (m)."""
    cost_scale: float = 4.0
    """Extra cost per metre of a cell at the lethal radius (1 = as much as its length)."""


@dataclass(frozen=True)
class Costmap:
    """The planning grid: ``lethal`` bool [H, W], ``cost`` float [H, W] (>= 1 per metre)."""

    grid: OccupancyGrid
    lethal: np.ndarray
    cost: np.ndarray

    def cell(self, xy: np.ndarray) -> tuple[int, int]:
        g = self.grid
        c = int((xy[0] - g.origin_xy_m[0]) // g.resolution_m)
        r = int((xy[1] - g.origin_xy_m[1]) // g.resolution_m)
        return r, c

    def center(self, rc: np.ndarray) -> np.ndarray:
        """Cell centres [N, 2] (m) of cells [N, 2] (row, col)."""
        g = self.grid
        rc = np.asarray(rc, dtype=np.float64)
        return np.stack(
            [
                g.origin_xy_m[0] + (rc[:, 1] + 0.5) * g.resolution_m,
                g.origin_xy_m[1] + (rc[:, 0] + 0.5) * g.resolution_m,
            ],
            axis=1,
        )


def costmap(scenario: Scenario, inscribed_radius_m: float, cfg: PlannerConfig = PlannerConfig()) -> Costmap:
    """The scenario's world as a costmap for a robot of footprint radius ``inscribed_radius_m``."""
    # Rasterised finer (the map's own cells where it has a map) and pooled: a planning cell is
    # occupied when any part of it is, so a one-cell wall of the map cannot slip between centres.
    fine_m = min(cfg.resolution_m / 2, scenario.grid.resolution_m if scenario.grid else math.inf)
    k = max(round(cfg.resolution_m / fine_m), 1)
    fine = rasterize(scenario, cfg.resolution_m / k, margin_m=1.0)
    h, w = fine.shape[0] // k, fine.shape[1] // k
    pooled = fine.occupied[: h * k, : w * k].reshape(h, k, w, k).any(axis=(1, 3))
    grid = OccupancyGrid(pooled, fine.resolution_m * k, fine.origin_xy_m)
    if grid.occupied.any():
        clearance = ndimage.distance_transform_edt(~grid.occupied) * cfg.resolution_m
    else:
        clearance = np.full(grid.shape, np.inf)
    lethal = clearance < inscribed_radius_m + 0.5 * cfg.resolution_m
    near = np.clip(1.0 - (clearance - inscribed_radius_m) / cfg.inflation_m, 0.0, 1.0)
    cost = 1.0 + cfg.cost_scale * near**2
    return Costmap(grid, lethal, cost)


def astar(
    lethal: np.ndarray, cost: np.ndarray, start_rc: tuple[int, int], goal_rc: tuple[int, int]
) -> list[int] | None:
    """Cheapest 8-connected path between two cells: flat indices into the grid, start to goal.

    A step costs its length (cells) times the mean cost of its two cells; a diagonal step may not
    cut between two lethal orthogonal neighbours. None when no path exists.
    """
    w = lethal.shape[1]
    wp = w + 2
    free = np.pad(~lethal, 1, constant_values=False).ravel().tolist()
    c = np.pad(cost, 1, constant_values=np.inf).ravel().tolist()
    start, goal = (start_rc[0] + 1) * wp + start_rc[1] + 1, (goal_rc[0] + 1) * wp + goal_rc[1] + 1
    free[start] = free[goal] = True  # the ends themselves may touch the inflation (checked by caller)
    gr, gc = divmod(goal, wp)
    straight = [(1, 1.0, 0, 0), (-1, 1.0, 0, 0), (wp, 1.0, 0, 0), (-wp, 1.0, 0, 0)]
    diagonal = [(1 + wp, _SQRT2, 1, wp), (1 - wp, _SQRT2, 1, -wp), (-1 + wp, _SQRT2, -1, wp)]
    moves = [*straight, *diagonal, (-1 - wp, _SQRT2, -1, -wp)]
    g_cost = {start: 0.0}
    parent = {start: -1}
    closed = bytearray(len(free))
    heap = [(0.0, 0.0, start)]
    while heap:
        _, g, i = heapq.heappop(heap)
        if closed[i]:
            continue
        if i == goal:
            out = []
            while i != -1:
                r, col = divmod(i, wp)
                out.append((r - 1) * w + col - 1)
                i = parent[i]
            return out[::-1]
        closed[i] = 1
        ci = c[i]
        for off, length, o1, o2 in moves:
            j = i + off
            if not free[j] or closed[j] or (o1 and not (free[i + o1] and free[i + o2])):
                continue
            ng = g + length * 0.5 * (ci + c[j])
            if ng < g_cost.get(j, math.inf):
                g_cost[j] = ng
                parent[j] = i
                jr, jc = divmod(j, wp)
                dr, dc = abs(jr - gr), abs(jc - gc)
                heapq.heappush(heap, (ng + dr + dc + (_SQRT2 - 2.0) * min(dr, dc), ng, j))
    return None


def plan_path(
    scenario: Scenario, inscribed_radius_m: float, cfg: PlannerConfig = PlannerConfig()
) -> np.ndarray:
    """A* from the scenario's start to its goal on its inflated map: points [N, 2] (m), map
    frame, from the start position to the goal.

    Raises:
        PlanningError: the start or goal is outside the grid, or no path exists.
    """
    cm = costmap(scenario, inscribed_radius_m, cfg)
    h, w = cm.lethal.shape
    start, goal = np.asarray(scenario.start[:2]), np.asarray(scenario.goal)
    s_rc, g_rc = cm.cell(start), cm.cell(goal)
    for name, (r, c) in (("start", s_rc), ("goal", g_rc)):
        if not (0 <= r < h and 0 <= c < w):
            raise PlanningError(f"{scenario.name}: {name} lies outside the planning grid")
    if cm.lethal[g_rc]:  # the nearest free cell within the goal tolerance
        rr, cc = np.nonzero(~cm.lethal)
        d = np.hypot(*(cm.center(np.stack([rr, cc], 1)) - goal).T)
        k = int(np.argmin(d))
        if d[k] > scenario.goal_tolerance_m:
            raise PlanningError(f"{scenario.name}: no free cell within the goal tolerance")
        g_rc = (int(rr[k]), int(cc[k]))
    cells = astar(cm.lethal, cm.cost, s_rc, g_rc)
    if cells is None:
        raise PlanningError(
            f"{scenario.name}: no path from the start to the goal (inscribed radius {inscribed_radius_m:g} m)"
        )
    rc = np.stack(np.divmod(np.asarray(cells), w), axis=1)
    pts = cm.center(rc)
    return np.concatenate([start[None], pts[1:-1], goal[None]]) if len(pts) > 2 else np.stack([start, goal])


def path_length_m(points: np.ndarray) -> float:
    """Length of a polyline [N, 2] (m)."""
    return float(np.hypot(*np.diff(np.asarray(points), axis=0).T).sum()) if len(points) > 1 else 0.0
