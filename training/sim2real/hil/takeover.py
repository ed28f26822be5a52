"""A scripted human who watches the arm's policy and takes over when it goes wrong (HIL benchmarks
and tests): the arm's scripted operator (:class:`~sim2real.manip.scripted_human.ScriptedArmOperator`,
the expert seen through the node's topics and driven through a human hand) as a
:class:`~sim2real_runtime.teleop.TeleopSource` that is engaged only while correcting.

The operator follows the episode every control step (its hand keeps deciding, so its reaction
delay and hand noise are those of :mod:`sim2real.human_factors`) and judges the policy's tool:

- a *leg* of the expert's path is the straight segment from where the tool was when the leg began
  to where the expert steers it now (:attr:`ScriptedHuman.goal_m`); a new leg begins at the start,
  after a hand-back, and when the expert's goal jumps by more than ``leg_jump_m`` in one step (the
  cube grasped, dropped, released);
- the tool *strays* when it is farther than ``tube_radius_m`` from that segment;
- the tool *stalls* when, over the last ``stall_window_s``, it came less than ``stall_progress_m``
  closer to the expert's goal while farther than ``near_goal_m`` from it;
- the task *stalls* when, over the last ``task_window_s``, the cube (as perceived) came less than
  ``task_progress_m`` closer to the target while not at it (a policy hovering over the cube without
  grasping it: the tool is near the expert's goal, but the yaw or the gripper is wrong). The
  scripted expert finishes in 2.6 s (median), so 3 s without progress is a stall.

Having noticed either, the operator takes over ``reaction_delay_s`` later (a person notices, then
grabs the device), drives for at least ``min_control_s`` and hands back once the tool is back
inside half the tube and closing in on the goal, or a new leg began (the phase it fixed is done),
or after ``max_control_s``. Nothing privileged is read: the signals are what the node's topics
carry.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sim2real_runtime.teleop import TeleopCommand

from ..manip.scripted_human import SIGNALS, HumanConfig, ScriptedArmOperator


@dataclass(frozen=True)
class TakeoverConfig:
    """When the scripted human intervenes (distances in m, times in s)."""

    tube_radius_m: float = 0.05
    stall_window_s: float = 2.0
    stall_progress_m: float = 0.01
    near_goal_m: float = 0.025
    leg_jump_m: float = 0.03
    task_window_s: float = 3.0
    task_progress_m: float = 0.01
    at_target_m: float = 0.03
    reaction_delay_s: float = 0.3
    """From noticing to taking over."""
    min_control_s: float = 1.0
    max_control_s: float = 4.0
    grace_s: float = 0.5
    """After a hand-back the policy is not judged for this long."""


def segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance (m) from point ``p`` [3] to the segment ``a``-``b`` [3]."""
    ab = b - a
    L2 = float(ab @ ab)
    s = 0.0 if L2 < 1e-12 else float(np.clip((p - a) @ ab / L2, 0.0, 1.0))
    return float(np.linalg.norm(p - (a + s * ab)))


class TakeoverOperator:
    """The scripted arm operator, engaged only while correcting (see the module).

    Attributes:
        takeovers: times it took over since :meth:`reset`. engaged: in control now.
        why: why it took over last (``strayed 6.1 cm from the expert's path``, ``stalled``...).
    """

    name = "scripted takeover operator (expert's tube and stall check, reaction delay, hand noise)"

    def __init__(
        self,
        operator: ScriptedArmOperator,
        control_rate_hz: float,
        cfg: TakeoverConfig | None = None,
    ) -> None:
        self.op = operator
        self.cfg = cfg or TakeoverConfig()
        self.dt_s = 1.0 / control_rate_hz
        self.reset()

    @classmethod
    def for_arm(
        cls,
        chain: object,
        max_delta_rad: np.ndarray,
        control_rate_hz: float,
        cfg: TakeoverConfig | None = None,
        human: HumanConfig | None = None,
        seed: int = 0,
    ) -> TakeoverOperator:
        return cls(
            ScriptedArmOperator(chain, max_delta_rad, control_rate_hz, human, seed), control_rate_hz, cfg
        )

    def reset(self, half_size_m: float | None = None) -> None:
        """A new episode (the operator's cube-size estimate as :meth:`ScriptedArmOperator.reset`)."""
        if hasattr(self, "op"):
            self.op.reset(half_size_m)
        self.takeovers = 0
        self.engaged = False
        self.why = ""
        self._anchor: np.ndarray | None = None
        self._goal: np.ndarray | None = None
        self._dist: deque[float] = deque(maxlen=max(2, round(self.cfg.stall_window_s / self.dt_s) + 1))
        self._task: deque[float] = deque(maxlen=max(2, round(self.cfg.task_window_s / self.dt_s) + 1))
        self._noticed_s: float | None = None
        self._since_s = 0.0
        self._grace_until_s = -np.inf
        self._new_leg = False

    def _judge(self, now_s: float, tcp: np.ndarray, goal: np.ndarray, cube_to_target_m: float) -> str | None:
        c = self.cfg
        self._task.append(cube_to_target_m)
        if self._goal is None or np.linalg.norm(goal - self._goal) > c.leg_jump_m:
            self._anchor = tcp.copy()
            self._dist.clear()
            self._new_leg = True
        self._goal = goal.copy()
        dist = float(np.linalg.norm(goal - tcp))
        self._dist.append(dist)
        off = segment_distance(tcp, self._anchor, goal)  # type: ignore[arg-type]
        if off > c.tube_radius_m:
            return f"strayed {100 * off:.1f} cm from the expert's path"
        full = len(self._dist) == self._dist.maxlen
        if full and dist > c.near_goal_m and self._dist[0] - dist < c.stall_progress_m:
            return f"stalled ({100 * (self._dist[0] - dist):.1f} cm closer in {c.stall_window_s:g} s)"
        task = self._task
        if len(task) == task.maxlen and task[-1] > c.at_target_m and task[0] - task[-1] < c.task_progress_m:
            return (
                f"no progress (the cube {100 * (task[0] - task[-1]):.1f} cm closer in {c.task_window_s:g} s)"
            )
        return None

    def command(self, now_s: float, signals: Mapping[str, np.ndarray]) -> TeleopCommand | None:
        """Engaged while correcting, else a released command (the policy drives)."""
        if not signals or any(k not in signals for k in SIGNALS):
            return None
        cmd = self.op.command(now_s, signals)  # the hand keeps deciding while watching
        h = self.op.human
        tcp, goal = h.tcp_m[0], h.goal_m[0]
        to_target = float(np.linalg.norm(signals["object_pos"][0] - signals["target_pos"][0]))
        c = self.cfg
        if self.engaged:
            self._new_leg = False
            problem = self._judge(now_s, tcp, goal, to_target)
            held = now_s - self._since_s
            back = problem is None and (
                segment_distance(tcp, self._anchor, goal) < c.tube_radius_m / 2  # type: ignore[arg-type]
                and len(self._dist) > 1
                and self._dist[-1] <= self._dist[-2] + 1e-4
            )
            if held >= c.max_control_s or (held >= c.min_control_s and (back or self._new_leg)):
                self.engaged = False
                self._anchor, self._goal = tcp.copy(), goal.copy()  # a new leg from here
                self._dist.clear()
                self._task.clear()
                self._grace_until_s = now_s + c.grace_s
        elif now_s >= self._grace_until_s:
            problem = self._judge(now_s, tcp, goal, to_target)
            if problem is None:
                self._noticed_s = None
            elif self._noticed_s is None:
                self._noticed_s, self.why = now_s, problem
            if self._noticed_s is not None and now_s - self._noticed_s >= c.reaction_delay_s - 1e-9:
                self.engaged, self._since_s, self._noticed_s = True, now_s, None
                self.takeovers += 1
        else:
            self._goal = goal.copy()
        if cmd is None:
            return None
        return TeleopCommand(self.engaged, cmd.twist, cmd.gripper_closed, stamp_s=now_s)

    def close(self) -> None:
        """Nothing to release."""
