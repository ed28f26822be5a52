"""DWA fallback for a navigation policy: the policy drives, the classical planner catches it.

Two failure modes of the learned planner on BARN worlds (issue 16, ``benchmarks/RESULTS.md``):
it clips obstacles while turning (the collision guard checks only the straight corridor ahead),
and it stops in front of a gap it cannot fit through and stays there until the time limit (the
policy is deterministic and memoryless, so the same scan gives the same stop forever).
:class:`DwaFallback` wraps the policy's command with the Dynamic Window Approach planner
(:class:`~sim2real_runtime.dwa.DWAPlanner`, the baseline's own code):

- **arc check**: the policy's (v, w), held for ``check_time_s``, must be admissible as DWA
  judges its own samples (no scan point enters the footprint inflated by DWA's ``clearance_m``,
  exact arc geometry); if it is not, DWA's command is sent for this step instead;
- **take-over when stuck**: when the robot has moved less than ``stall_radius_m`` in the last
  ``stall_window_s``, DWA drives (with its own recoveries: spin, back up) for at least
  ``takeover_min_s`` and until the robot is ``takeover_release_m`` from where it got stuck, or
  ``takeover_max_s`` have passed; then the policy drives again.

Every command either came through the policy's action term and guard, or is one of DWA's
admissible commands (within the robot's limits and dynamic window). Obstacles are only what the
lidar sees now, as for the policy.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .dwa import DWAConfig, DWAPlanner
from .robot import RobotConfig


@dataclass(frozen=True)
class FallbackConfig:
    """When DWA overrides or takes over from the policy (units in the names)."""

    check_time_s: float = 1.0
    """The policy's command, held this long, must be admissible (s)."""
    stall_window_s: float = 2.0
    """Stuck: moved less than ``stall_radius_m`` over this long (s)."""
    stall_radius_m: float = 0.1
    """See ``stall_window_s`` (m)."""
    takeover_min_s: float = 2.0
    """Once stuck, DWA drives at least this long (s) ..."""
    takeover_release_m: float = 1.0
    """... and until the robot is this far from where it got stuck (m) ..."""
    takeover_max_s: float = 10.0
    """... or at most this long (s)."""


class DwaFallback:
    """The policy's command checked (and when stuck, replaced) by DWA; one per robot.

    Args:
        robot: the robot (footprint, limits, lidar).
        control_rate_hz: rate of :meth:`step` calls (Hz).
        cfg: when DWA steps in.
        dwa: the DWA planner's tuning (the baseline's defaults).
    """

    def __init__(
        self,
        robot: RobotConfig,
        control_rate_hz: float,
        cfg: FallbackConfig | None = None,
        dwa: DWAConfig | None = None,
    ) -> None:
        self.cfg = cfg or FallbackConfig()
        self.planner = DWAPlanner(robot, dwa or DWAConfig(), control_rate_hz)
        self.dt_s = 1.0 / control_rate_hz
        self._window = max(1, round(self.cfg.stall_window_s * control_rate_hz))
        self.reset()

    def reset(self) -> None:
        """Forget the stall history and any take-over (call at every new goal)."""
        self.planner.reset()
        self._trail: deque[np.ndarray] = deque(maxlen=self._window + 1)
        self._takeover_xy: np.ndarray | None = None
        self._takeover_steps = 0
        self.source = "policy"
        """Who made the last command: ``policy``, ``arc`` (DWA, the policy's arc was not
        admissible) or ``takeover`` (DWA, the robot was stuck)."""
        self.counts = {"policy": 0, "arc": 0, "takeover": 0}
        """Commands by source since :meth:`reset`."""

    def admissible(self, cmd: np.ndarray, ranges_m: np.ndarray) -> bool:
        """Whether (v, w) held for ``check_time_s`` keeps every scan point out of DWA's inflated
        footprint (a standing robot always is)."""
        v, w = float(cmd[0]), float(cmd[1])
        if abs(v) < 1e-6 and abs(w) < 1e-6:
            return True
        pts = self.planner.scan_points(ranges_m)
        ok, _ = self.planner._check(np.array([v]), np.array([w]), self.cfg.check_time_s, pts)
        return bool(ok[0])

    def step(
        self,
        policy_cmd: Callable[[], np.ndarray],
        ranges_m: np.ndarray,
        pose: np.ndarray,
        twist: np.ndarray,
        goal_xy: np.ndarray,
    ) -> np.ndarray:
        """The command (v, w) [2] for this step.

        ``policy_cmd()`` computes the policy's (guarded) command; it is not called while DWA has
        taken over. Arguments as for DWA: raw scan [num_beams], pose [3] and goal [2] in one frame,
        twist [2]."""
        pose = np.asarray(pose, dtype=np.float64)
        self._trail.append(pose[:2].copy())
        if self._takeover_xy is not None:
            self._takeover_steps += 1
            t = self._takeover_steps * self.dt_s
            away = math.dist(pose[:2], self._takeover_xy)
            if (t >= self.cfg.takeover_min_s and away >= self.cfg.takeover_release_m) or (
                t >= self.cfg.takeover_max_s
            ):
                self._takeover_xy = None
                self._trail.clear()
            else:
                return self._dwa("takeover", pose, twist, goal_xy, ranges_m)
        stuck = (
            len(self._trail) > self._window
            and math.dist(self._trail[-1], self._trail[0]) < self.cfg.stall_radius_m
        )
        if stuck:
            self._takeover_xy, self._takeover_steps = pose[:2].copy(), 0
            self.planner.reset()
            return self._dwa("takeover", pose, twist, goal_xy, ranges_m)
        cmd = np.asarray(policy_cmd(), dtype=np.float64)
        if not self.admissible(cmd, ranges_m):
            return self._dwa("arc", pose, twist, goal_xy, ranges_m)
        self.source = "policy"
        self.counts["policy"] += 1
        return cmd

    def _dwa(self, source: str, pose, twist, goal_xy, ranges_m) -> np.ndarray:
        self.source = source
        self.counts[source] += 1
        v, w = self.planner.compute(pose, np.asarray(twist, dtype=np.float64), np.asarray(goal_xy), ranges_m)
        return np.array([v, w])
