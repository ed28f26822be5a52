"""Numba kernels of the fast simulator: lidar ray casting, footprint collision, geodesic distance.

All kernels work on a stack of occupancy grids ``grids`` uint8 [n_worlds, H, W] (row 0 = lowest y,
padded with free cells to a common shape) with per-world origins ``origins`` float64 [n_worlds, 2]
(m) and one cell size ``res`` (m). Batched over robots with ``prange`` so both cores are used.
"""

from __future__ import annotations

import heapq
import math

import numba as nb
import numpy as np


@nb.njit(cache=True, fastmath=True)
def _cast(grid, ox, oy, res, x, y, ang, max_range):
    """Distance (m) along a ray from (x, y) at angle ``ang`` to the first occupied cell.

    Amanatides-Woo grid traversal: visits exactly the cells the ray crosses, in order."""
    h, w = grid.shape
    dx = math.cos(ang)
    dy = math.sin(ang)
    gx = (x - ox) / res
    gy = (y - oy) / res
    cx = int(math.floor(gx))
    cy = int(math.floor(gy))
    if 0 <= cx < w and 0 <= cy < h and grid[cy, cx]:
        return 0.0
    step_x = 1 if dx > 0 else -1
    step_y = 1 if dy > 0 else -1
    inv_dx = 1.0 / abs(dx) if dx != 0.0 else 1e30
    inv_dy = 1.0 / abs(dy) if dy != 0.0 else 1e30
    t_max_x = ((cx + 1 - gx) if dx > 0 else (gx - cx)) * inv_dx
    t_max_y = ((cy + 1 - gy) if dy > 0 else (gy - cy)) * inv_dy
    t_limit = max_range / res
    t = 0.0
    while t <= t_limit:
        if t_max_x < t_max_y:
            cx += step_x
            t = t_max_x
            t_max_x += inv_dx
        else:
            cy += step_y
            t = t_max_y
            t_max_y += inv_dy
        if cx < 0 or cy < 0 or cx >= w or cy >= h:
            # Outside the grid there is nothing: the ray leaves the world.
            if (
                (cx < 0 and step_x < 0)
                or (cx >= w and step_x > 0)
                or (cy < 0 and step_y < 0)
                or (cy >= h and step_y > 0)
            ):
                return np.inf
            continue
        if grid[cy, cx]:
            return t * res if t <= t_limit else np.inf
    return np.inf


def _raycast(grids, world_idx, origins, res, lidar_pose, angles, max_range, out):
    b_n = lidar_pose.shape[0]
    n = angles.shape[0]
    for b in nb.prange(b_n):
        g = grids[world_idx[b]]
        ox = origins[world_idx[b], 0]
        oy = origins[world_idx[b], 1]
        x = lidar_pose[b, 0]
        y = lidar_pose[b, 1]
        th = lidar_pose[b, 2]
        for i in range(n):
            out[b, i] = _cast(g, ox, oy, res, x, y, th + angles[i], max_range)


def _footprint_collides(grids, world_idx, origins, res, pose, half_length, half_width, out):
    """A cell counts when its centre lies within the footprint grown by half a cell, which never
    misses a cell the rectangle touches and over-reports by at most half a cell.
    """
    b_n = pose.shape[0]
    hl = half_length + 0.5 * res
    hw = half_width + 0.5 * res
    rad = math.sqrt(hl * hl + hw * hw)
    for b in nb.prange(b_n):
        g = grids[world_idx[b]]
        h, w = g.shape
        ox = origins[world_idx[b], 0]
        oy = origins[world_idx[b], 1]
        x = pose[b, 0]
        y = pose[b, 1]
        c = math.cos(pose[b, 2])
        s = math.sin(pose[b, 2])
        c0 = max(int(math.floor((x - rad - ox) / res)), 0)
        c1 = min(int(math.floor((x + rad - ox) / res)), w - 1)
        r0 = max(int(math.floor((y - rad - oy) / res)), 0)
        r1 = min(int(math.floor((y + rad - oy) / res)), h - 1)
        hit = False
        for r in range(r0, r1 + 1):
            if hit:
                break
            py = oy + (r + 0.5) * res - y
            for cc in range(c0, c1 + 1):
                if g[r, cc]:
                    px = ox + (cc + 0.5) * res - x
                    lx = c * px + s * py
                    ly = -s * px + c * py
                    if abs(lx) <= hl and abs(ly) <= hw:
                        hit = True
                        break
        out[b] = hit


# Each batched kernel is compiled twice: threaded for training batches, and serial for one robot,
# where waking a thread pool costs more than the work (milliseconds when the other core is busy).
_raycast_par = nb.njit(parallel=True, cache=True, fastmath=True)(_raycast)
_raycast_ser = nb.njit(cache=True, fastmath=True)(_raycast)
_footprint_par = nb.njit(parallel=True, cache=True)(_footprint_collides)
_footprint_ser = nb.njit(cache=True)(_footprint_collides)
_PARALLEL_MIN_BATCH = 16


def raycast(grids, world_idx, origins, res, lidar_pose, angles, max_range, out) -> None:
    """Fill ``out`` float32 [B, n_beams] with ranges (m, +inf = no return within ``max_range``).

    ``lidar_pose`` float64 [B, 3]: lidar origin x, y (m) and heading (rad); ``angles`` [n_beams] in
    the lidar frame (rad).
    """
    fn = _raycast_par if len(lidar_pose) >= _PARALLEL_MIN_BATCH else _raycast_ser
    fn(grids, world_idx, origins, res, lidar_pose, angles, max_range, out)


def footprint_collides(grids, world_idx, origins, res, pose, half_length, half_width, out) -> None:
    """``out`` bool [B]: does the rectangle (centred on ``pose`` [B, 3]) overlap an occupied cell?"""
    fn = _footprint_par if len(pose) >= _PARALLEL_MIN_BATCH else _footprint_ser
    fn(grids, world_idx, origins, res, pose, half_length, half_width, out)


@nb.njit(cache=True)
def geodesic_distance(free, goal_r, goal_c, res):
    """Shortest 8-connected path length (m) from every free cell to the goal cell; inf if unreachable.

    ``free`` bool [H, W]. Dijkstra with a binary heap; the cost of a diagonal move is sqrt(2) cells.
    """
    h, w = free.shape
    dist = np.full((h, w), np.inf)
    if not (0 <= goal_r < h and 0 <= goal_c < w):
        return dist
    dist[goal_r, goal_c] = 0.0
    heap = [(0.0, np.int64(goal_r * w + goal_c))]
    diag = math.sqrt(2.0) * res
    while heap:
        d, idx = heapq.heappop(heap)
        r = idx // w
        c = idx % w
        if d > dist[r, c]:
            continue
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == 0 and dc == 0:
                    continue
                rr = r + dr
                cc = c + dc
                if rr < 0 or cc < 0 or rr >= h or cc >= w or not free[rr, cc]:
                    continue
                if dr != 0 and dc != 0 and not (free[r + dr, c] and free[r, c + dc]):
                    continue  # no corner cutting between two occupied cells
                nd = d + (diag if dr != 0 and dc != 0 else res)
                if nd < dist[rr, cc]:
                    dist[rr, cc] = nd
                    heapq.heappush(heap, (nd, np.int64(rr * w + cc)))
    return dist
