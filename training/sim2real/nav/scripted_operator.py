"""A scripted human teleoperator for the ground robot: steers toward the goal around what the lidar
shows, through a human hand.

What it sees is what the nav node's signals carry: the scan (``scan_ranges``), the odometry pose
and twist, and the goal; no map and no simulator state. It decides with the stack's own Dynamic
Window Approach planner (:class:`~sim2real_runtime.dwa.DWAPlanner`: toward the goal, around obstacles
in the scan), at a cruise speed below the robot's limit, as a careful operator drives. What it
commands is the nav teleop command, a body twist (vx, wz) in base_link, passed through
:class:`~sim2real.human_factors.Hand` (reaction delay, hand noise on vx and wz, hesitations) and
mapped into the policy's action space by the domain's teleop mapping
(:class:`~sim2real_runtime.teleop.mapping.NavTeleop`), as a gamepad's twist would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim2real_runtime.dwa import DWAConfig, DWAPlanner
from sim2real_runtime.robot import RobotConfig
from sim2real_runtime.teleop import TeleopCommand

from ..human_factors import Hand, HumanFactors

NAV_AXES = np.array([True, False, False, False, False, True])
"""The body twist's used axes: vx and wz."""

SIGNALS = ("scan_ranges", "pose", "twist", "goal_xy")
"""The nav node's signals the operator steers by."""


@dataclass(frozen=True)
class NavOperatorConfig(HumanFactors):
    """The nav operator: the shared human factors with a driver's noise levels, and its speed."""

    noise_std_mps: float = 0.03
    noise_std_radps: float = 0.08
    cruise_speed_mps: float = 0.8
    """The operator's top speed (m/s), capped by the robot's."""


class ScriptedNavOperator:
    """A :class:`~sim2real_runtime.teleop.TeleopSource` for one ground robot (always engaged).

    Args:
        robot: the robot (footprint, limits, lidar) the operator watches.
        control_rate_hz: the rate :meth:`command` is called at (Hz).
        cfg: the operator's imperfections and speed.
        seed: seeds the hand noise and hesitations.
    """

    name = "scripted nav operator (DWA with reaction delay and hand noise)"

    def __init__(
        self, robot: RobotConfig, control_rate_hz: float, cfg: NavOperatorConfig | None = None, seed: int = 0
    ) -> None:
        self.cfg = cfg or NavOperatorConfig()
        self.planner = DWAPlanner(robot, DWAConfig(max_speed_mps=self.cfg.cruise_speed_mps), control_rate_hz)
        self.hand = Hand(self.cfg, control_rate_hz, np.random.default_rng(seed), NAV_AXES)
        self.reset()

    def reset(self) -> None:
        """A new episode: the planner's recovery state and the hand's queue are cleared."""
        self.planner.reset()
        self.hand.reset(1)

    def decide(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        """The twist [6] the operator decides on now (before the hand): DWA's (v, 0, 0, 0, 0, w)."""
        v, w = self.planner.compute(
            np.asarray(signals["pose"], dtype=float).reshape(3),
            np.asarray(signals["twist"], dtype=float).reshape(2),
            np.asarray(signals["goal_xy"], dtype=float).reshape(2),
            np.asarray(signals["scan_ranges"]).reshape(-1),
        )
        return np.array([v, 0.0, 0.0, 0.0, 0.0, w])

    def command(self, now_s: float, signals: Mapping[str, np.ndarray]) -> TeleopCommand | None:
        """The body twist issued this control step; None before the node has its inputs."""
        if not signals or any(k not in signals for k in SIGNALS):
            return None
        twist, _ = self.hand(self.decide(signals)[None])
        return TeleopCommand(engaged=True, twist=twist[0], stamp_s=now_s)

    def close(self) -> None:
        """Nothing to release."""


def scripted_operator(node: Any, seed: int = 0, cfg: NavOperatorConfig | None = None) -> ScriptedNavOperator:
    """The scripted operator for a running nav node (``sim2real record nav --teleop scripted``):
    the robot of its controller, at its policy's control rate."""
    ctrl = node.controller
    return ScriptedNavOperator(ctrl.robot, float(ctrl.policy.contract.control_rate_hz), cfg, seed)
