"""Following a global plan with a local planner: the lookahead point on the path is the local
planner's goal, the path's last point the final goal.

One module for the node (a ``nav_msgs/Path`` such as Nav2's ``/plan``, or a single goal pose, which
is a path of one point) and for ``sim2real eval nav --global-planner astar``, so both drive the
same way.

The robot's progress along the path is an arc length that only moves forward: each step the robot
is projected onto the path segments from the current progress to ``search_m`` ahead of it (so a
path that passes near itself, a corridor walked out and back, does not make it jump ahead), and
the goal is the point ``lookahead_m`` further along the path (clipped at its end).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_LOOKAHEAD_M = 3.0
"""Lookahead distance along the path (m): inside the nav policy's goal range (5 m clip) and its
lidar range (4 m clip), so the policy sees the local goal and what lies before it."""


@dataclass(frozen=True)
class PathFollowConfig:
    """How far ahead the local goal lies, and how far ahead the robot is searched on the path."""

    lookahead_m: float = DEFAULT_LOOKAHEAD_M
    """Arc length from the robot's projection to the local goal (m)."""
    search_m: float = 5.0
    """Arc length ahead of the current progress in which the robot is projected (m)."""

    def __post_init__(self) -> None:
        if not (self.lookahead_m > 0 and self.search_m > 0):
            raise ValueError(f"lookahead_m and search_m must be > 0, got {self.lookahead_m}, {self.search_m}")


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
            return float(np.hypot(*(xy - self.points[0])))
        s0 = self.progress_m
        lo = max(int(np.searchsorted(self.cum_m, s0, side="right")) - 1, 0)
        hi = min(int(np.searchsorted(self.cum_m, s0 + self.cfg.search_m, side="right")), len(self.points) - 1)
        a, b = self.points[lo:hi], self.points[lo + 1 : hi + 1]
        d = b - a
        L2 = np.einsum("ij,ij->i", d, d)
        f = np.clip(np.einsum("ij,ij->i", xy - a, d) / L2, 0.0, 1.0)
        proj = a + f[:, None] * d
        dist = np.hypot(*(xy - proj).T)
        k = int(np.argmin(dist))
        self.progress_m = max(s0, float(self.cum_m[lo + k] + f[k] * math.sqrt(L2[k])))
        return float(dist[k])

    def lookahead(self) -> np.ndarray:
        """The local goal [2] (m): ``lookahead_m`` ahead of the progress, or the final goal."""
        return self.point_at(self.progress_m + self.cfg.lookahead_m)

    def remaining_m(self, xy: np.ndarray) -> float:
        """Distance left (m): from ``xy`` to the path's progress point, then along the path."""
        here = self.point_at(self.progress_m)
        return float(np.hypot(*(np.asarray(xy, dtype=np.float64) - here))) + self.length_m - self.progress_m

    def step(self, xy: np.ndarray) -> np.ndarray:
        """:meth:`update` with the robot at ``xy`` [2], then the local goal [2]."""
        self.update(xy)
        return self.lookahead()
