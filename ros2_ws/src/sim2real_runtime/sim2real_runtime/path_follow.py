"""Following a global plan with a local planner: the lookahead point on the path is the local
planner's goal, the path's last point the final goal.

One module for the node (a ``nav_msgs/Path`` such as Nav2's ``/plan``, or a single goal pose, which
is a path of one point) and for ``sim2real eval nav --global-planner astar``, so both drive the
same way.

The robot's progress along the path is an arc length that only moves forward: each step the robot
is projected onto the path segments from the current progress to ``search_m`` ahead of it (so a
path that passes near itself, a corridor walked out and back, does not make it jump ahead). A
robot farther than ``rejoin_m`` from those segments has strayed (past a doorway, down the wrong
side of a wall): its progress holds, and its goal is the progress point, to rejoin the path where
it left it, instead of a point the path reaches beyond a wall. Otherwise
the goal is the point ``lookahead_m`` further along the path (clipped at its end), pulled back
along the path where the path turns away from the straight line to it: the goal is the farthest
point within the lookahead whose chord from the robot's projection on the path stays within
``max_deviation_m`` of every path point before it (but at least ``min_lookahead_m`` ahead). A
planned path keeps clear of walls, so a goal near its chord is in the robot's line of sight; a
goal round a corner, behind the wall the path turns around, would make a local planner drive
into that wall.

Finally (:meth:`PathFollower.step`), a local goal closer to the robot than ``min_goal_distance_m``
that is not the final goal is pushed out along the line from the robot through it to that
distance: a point-goal policy is trained to reach goals and stop there (the shipped one slows and
dithers a metre or so from its goal), while a local goal is a direction to keep driving in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_LOOKAHEAD_M = 3.0
"""Lookahead distance along the path (m): inside the nav policy's goal range (5 m clip) and its
lidar range (4 m clip), so the policy sees the local goal and what lies before it."""

CANDIDATE_STEP_M = 0.1
"""Spacing of the local-goal candidates along the path (m)."""


@dataclass(frozen=True)
class PathFollowConfig:
    """How far ahead the local goal lies, and how far ahead the robot is searched on the path."""

    lookahead_m: float = DEFAULT_LOOKAHEAD_M
    """Arc length from the robot's projection to the local goal (m)."""
    search_m: float = 5.0
    """Arc length ahead of the current progress in which the robot is projected (m)."""
    max_deviation_m: float = 0.3
    """Largest distance of the path from the chord (robot's projection -> local goal) (m)."""
    min_lookahead_m: float = 1.0
    """The local goal is never pulled back closer than this along the path (m)."""
    rejoin_m: float = 1.0
    """Farther than this from the path ahead (m), the robot first drives back to its progress point."""
    min_goal_distance_m: float = 2.0
    """A local goal (not the final one) is at least this far from the robot (m), see the module doc."""

    def __post_init__(self) -> None:
        if not (self.lookahead_m > 0 and self.search_m > 0 and self.max_deviation_m > 0):
            raise ValueError(
                "lookahead_m, search_m and max_deviation_m must be > 0, got "
                f"{self.lookahead_m}, {self.search_m}, {self.max_deviation_m}"
            )


class PathFollower:
    """A path [N, 2] (m, one frame) and the robot's progress along it.

    Args:
        points_xy: the path's points [N, 2], N >= 1, finite (a single goal is a path of one point).
        config: lookahead and search distances.

    Raises:
        ValueError: an empty or non-finite path (the message names the first bad point).
    """

    def __init__(self, points_xy: np.ndarray, config: PathFollowConfig = PathFollowConfig()) -> None:
        p = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
        if len(p) == 0:
            raise ValueError("empty path")
        bad = np.flatnonzero(~np.isfinite(p).all(axis=1))
        if len(bad):
            raise ValueError(f"path point {int(bad[0])} is not finite: {p[bad[0]].tolist()}")
        keep = np.concatenate([[True], np.hypot(*np.diff(p, axis=0).T) > 1e-9])  # repeated points
        self.points = p[keep]
        seg = np.hypot(*np.diff(self.points, axis=0).T) if len(self.points) > 1 else np.zeros(0)
        self.cum_m = np.concatenate([[0.0], np.cumsum(seg)])
        """Arc length at each point [N] (m)."""
        self.cfg = config
        self.progress_m = 0.0
        """Arc length of the robot's projection on the path (m), never decreasing."""
        self.offset_m = 0.0
        """The robot's distance from the path ahead at the last :meth:`update` (m)."""

    @property
    def length_m(self) -> float:
        return float(self.cum_m[-1])

    @property
    def final(self) -> np.ndarray:
        """The final goal [2] (m): the path's last point."""
        return self.points[-1]

    def point_at(self, s_m: float) -> np.ndarray:
        """The point [2] at arc length ``s_m`` (clipped to the path)."""
        if len(self.points) == 1:
            return self.points[0].copy()
        s = min(max(s_m, 0.0), self.length_m)
        return np.array([np.interp(s, self.cum_m, self.points[:, k]) for k in (0, 1)])

    def update(self, xy: np.ndarray) -> float:
        """Advance the progress with the robot at ``xy`` [2]; returns its distance to the path (m)."""
        xy = np.asarray(xy, dtype=np.float64)
        if len(self.points) == 1:
            self.offset_m = 0.0  # a single goal: nothing to stray from
            return float(np.hypot(*(xy - self.points[0])))
        s0 = self.progress_m
        # The segments lo..hi-1 (at least one: at the path's end, the last one).
        lo = min(max(int(np.searchsorted(self.cum_m, s0, side="right")) - 1, 0), len(self.points) - 2)
        hi = min(int(np.searchsorted(self.cum_m, s0 + self.cfg.search_m, side="right")), len(self.points) - 1)
        a, b = self.points[lo:hi], self.points[lo + 1 : hi + 1]
        d = b - a
        L2 = np.einsum("ij,ij->i", d, d)
        f = np.clip(np.einsum("ij,ij->i", xy - a, d) / L2, 0.0, 1.0)
        proj = a + f[:, None] * d
        dist = np.hypot(*(xy - proj).T)
        k = int(np.argmin(dist))
        self.offset_m = float(dist[k])
        if self.offset_m <= self.cfg.rejoin_m:
            self.progress_m = max(s0, float(self.cum_m[lo + k] + f[k] * math.sqrt(L2[k])))
        return self.offset_m

    def lookahead(self, xy: np.ndarray) -> np.ndarray:
        """The local goal [2] (m) for the robot at ``xy`` [2]: ``lookahead_m`` ahead of the
        progress (or the final goal), pulled back to stay in sight along the path (module doc)."""
        cfg = self.cfg
        s0, s1 = self.progress_m, min(self.progress_m + cfg.lookahead_m, self.length_m)
        if self.offset_m > cfg.rejoin_m:
            return self.point_at(s0)
        if len(self.points) == 1 or s1 <= s0:
            return self.point_at(s1)
        # Candidates: the path's points inside (s0, s1], and points every CANDIDATE_STEP_M.
        inner = self.cum_m[(self.cum_m > s0) & (self.cum_m < s1)]
        s_c = np.unique(np.concatenate([inner, np.arange(s0, s1, CANDIDATE_STEP_M)[1:], [s1]]))
        pts = np.stack([np.interp(s_c, self.cum_m, self.points[:, k]) for k in (0, 1)], axis=1)
        # Chords from the robot's projection on the path: they measure how the path bends ahead,
        # not how far the robot has strayed from it (the projection is where it rejoins).
        d = pts - self.point_at(s0)  # chords [K, 2]
        norm = np.maximum(np.hypot(*d.T), 1e-9)
        # dev[j, i]: distance of candidate i from chord j (only i < j matters).
        cross = np.abs(d[:, None, 0] * d[None, :, 1] - d[:, None, 1] * d[None, :, 0]) / norm[:, None]
        along = (d[:, None, :] * d[None, :, :]).sum(-1) / norm[:, None]
        beyond = np.maximum(np.maximum(-along, along - norm[:, None]), 0.0)  # past the chord's ends
        dev = np.hypot(cross, beyond)
        dev = np.where(np.tri(len(pts), k=-1, dtype=bool), dev, 0.0).max(axis=1)
        ok = (dev <= cfg.max_deviation_m) | (s_c <= s0 + cfg.min_lookahead_m)
        bad = np.flatnonzero(~ok)
        j = (int(bad[0]) - 1) if len(bad) else len(pts) - 1
        if j < 0:
            return self.point_at(min(s0 + cfg.min_lookahead_m, s1))
        return pts[j].copy()

    def remaining_m(self, xy: np.ndarray) -> float:
        """Distance left (m): from ``xy`` to the path's progress point, then along the path."""
        here = self.point_at(self.progress_m)
        return float(np.hypot(*(np.asarray(xy, dtype=np.float64) - here))) + self.length_m - self.progress_m

    def step(self, xy: np.ndarray) -> np.ndarray:
        """:meth:`update` with the robot at ``xy`` [2], then the local goal [2]: the
        :meth:`lookahead` point, pushed out to ``min_goal_distance_m`` unless it is the final goal."""
        xy = np.asarray(xy, dtype=np.float64)
        self.update(xy)
        goal = self.lookahead(xy)
        d = goal - xy
        dist = float(np.hypot(*d))
        if dist < self.cfg.min_goal_distance_m and not np.array_equal(goal, self.final) and dist > 1e-6:
            goal = xy + d * (self.cfg.min_goal_distance_m / dist)
        return goal
