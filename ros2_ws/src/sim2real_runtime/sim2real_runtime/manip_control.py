"""Running an arm policy: the contract's terms, and the safety layer between the policy and
ros2_control.

:class:`ManipSafety` is batched and shared: the training environment integrates every action
through it, and the node runs the same code on one arm, so the policy learns with the limits it
meets on the robot. Whatever the policy or the inputs do, the joint position target that leaves
is finite, inside the joint limits (with a margin), moves no faster than the velocity limit
allows, stays within ``max_lead_rad`` of the measured position, and keeps the tool centre point
inside the workspace box.

:class:`ManipController` turns joint states + object pose + target into (joint targets, gripper)
with the very terms training used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .contract import PolicyContract, check_control_rate, check_domain, close
from .errors import ContractMismatchError
from .joint_targets import JointTargetController, JointTargetLimits
from .kinematics import SerialChain
from .manip_terms import GripperAction, JointDeltaAction, with_tcp
from .policy import OnnxPolicy


@dataclass(frozen=True)
class ManipSafetyConfig:
    """Limits applied to every joint target, whatever the policy says."""

    joint_margin_rad: float = 0.05
    """Targets stay this far inside the joint position limits (rad)."""
    max_velocity_fraction: float = 0.5
    """Target change per step at most this fraction of the velocity limit times the period (1)."""
    max_lead_rad: float = 0.25
    """Targets stay within this distance of the measured position (rad): a blocked arm does not
    wind up a target it would jump to when released."""
    workspace_min_m: tuple[float, float, float] = (0.15, -0.6, 0.012)
    """Lower corner of the box the tool centre point must stay in, base frame (m). The lowest z
    keeps the finger tips (1.2 cm below the TCP) off the table top at z = 0."""
    workspace_max_m: tuple[float, float, float] = (0.85, 0.6, 0.75)
    """Upper corner of the workspace box, base frame (m)."""


class ManipSafety(JointTargetLimits):
    """Integrates joint deltas into position targets inside the limits (batched, [B, n]).

    Args:
        chain: the arm's kinematics (joint limits, velocity limits, the TCP for the workspace).
        control_rate_hz: policy rate; the per-step velocity budget is ``limit / rate``.
        cfg: limits.
    """

    def __init__(self, chain: SerialChain, control_rate_hz: float, cfg: ManipSafetyConfig) -> None:
        self.chain = chain
        self.cfg = cfg
        super().__init__(
            chain.lower + cfg.joint_margin_rad,
            chain.upper - cfg.joint_margin_rad,
            chain.velocity_limits * cfg.max_velocity_fraction / control_rate_hz,
        )
        self.box_min = np.asarray(cfg.workspace_min_m)
        self.box_max = np.asarray(cfg.workspace_max_m)

    def box_violation_m(self, tcp_pos: np.ndarray) -> np.ndarray:
        """How far [B] (m) each TCP position [B, 3] lies outside the workspace box (0 inside)."""
        below = np.maximum(self.box_min - tcp_pos, 0.0)
        above = np.maximum(tcp_pos - self.box_max, 0.0)
        return np.linalg.norm(below + above, axis=1)

    def step(
        self, q_meas: np.ndarray, target: np.ndarray, delta_rad: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The next targets [B, n] from measured positions, previous targets and requested deltas
        (all [B, n], rad), and a bool [B]: True where the workspace box held the target back.

        Non-finite deltas count as zero; rows whose measured positions are not finite keep their
        previous target (the caller must start from a finite one, e.g. the first valid measurement).
        """
        target = np.asarray(target, dtype=np.float64)
        new, q_ok = self.integrate(q_meas, target, delta_rad, self.cfg.max_lead_rad)
        # The workspace: a target whose TCP leaves the box (or goes further out) is refused.
        viol_new = self.box_violation_m(self.chain.forward(new)[0])
        viol_old = self.box_violation_m(self.chain.forward(target)[0])
        held = (viol_new > 1e-9) & (viol_new > viol_old - 1e-9)
        new = np.where((held | ~q_ok)[:, None], target, new)
        return new, held


def check_manip_compatible(
    contract: PolicyContract,
    chain: Any,
    source: str,
    control_rate_hz: float | None = None,
    tolerance_m: float = 1e-3,
) -> None:
    """Refuse to drive an arm (a :class:`~sim2real_runtime.kinematics.SerialChain`, e.g. parsed
    from the robot's URDF) with a policy trained on another one.

    Joint names and order must equal the contract's; every joint origin must agree within
    ``tolerance_m`` (m, or rad for the rotations), axes and the tool transform likewise; the arm's
    limits must not be narrower than the contract's (the policy was trained to use that range);
    and the control rate must match when given.

    Raises:
        ContractMismatchError: naming the first mismatching contract field.
    """
    check_domain(contract, "manip", source)
    if tuple(contract.joint_names) != tuple(chain.joint_names):
        raise ContractMismatchError(
            source, "joint_names", list(contract.joint_names), list(chain.joint_names)
        )
    trained = contract.robot.get("kinematics")
    if trained is None:
        raise ContractMismatchError(source, "robot.kinematics", None, "an arm contract")
    have = chain.to_dict()
    for key in ("tool_xyz_m", "tool_rpy_rad"):
        if not close(trained[key], have[key], tolerance_m):
            raise ContractMismatchError(source, f"robot.kinematics.{key}", trained[key], have[key])
    for i, (tj, hj) in enumerate(zip(trained["joints"], have["joints"], strict=True)):
        for key in ("origin_xyz_m", "origin_rpy_rad", "axis"):
            if not close(tj[key], hj[key], tolerance_m):
                raise ContractMismatchError(source, f"robot.kinematics.joints[{i}].{key}", tj[key], hj[key])
        if hj["lower"] > tj["lower"] + 1e-6 or hj["upper"] < tj["upper"] - 1e-6:
            raise ContractMismatchError(
                source, f"robot.kinematics.joints[{i}] limits",
                [tj["lower"], tj["upper"]], [hj["lower"], hj["upper"]],
            )  # fmt: skip
        if hj["velocity_limit"] < tj["velocity_limit"] - 1e-6:
            raise ContractMismatchError(
                source,
                f"robot.kinematics.joints[{i}].velocity_limit",
                tj["velocity_limit"],
                hj["velocity_limit"],
            )
    check_control_rate(contract, control_rate_hz, source)


class ManipController(JointTargetController):
    """Arm policy + the contract's terms + the safety layer, for one arm.

    Raises :class:`~sim2real_runtime.errors.ContractMismatchError` at construction if the arm
    (its kinematic chain, e.g. parsed from its URDF) differs from the one the policy was trained on.
    """

    def __init__(
        self,
        policy: OnnxPolicy,
        chain: SerialChain,
        safety: ManipSafetyConfig,
        control_rate_hz: float | None = None,
    ) -> None:
        check_manip_compatible(policy.contract, chain, str(policy.path), control_rate_hz)
        super().__init__(policy)
        self.chain = chain
        self.joint_term: JointDeltaAction = self.action_terms[0]
        self.gripper_term: GripperAction = self.action_terms[1]
        self.safety = ManipSafety(chain, self.control_rate_hz, safety)
        self.reset()

    def step(self, signals: dict[str, np.ndarray]) -> tuple[np.ndarray, bool, bool]:
        """One control step -> (joint targets [n] (rad), gripper closed, held by the workspace).

        ``signals`` holds single-row arrays (B = 1) as described in :mod:`manip_terms` except
        ``tcp_*`` and ``prev_action``, which the controller adds.
        """
        q = np.asarray(signals["joint_pos"], dtype=np.float64)
        self.start_from(q)
        return self._apply(q, self.infer(with_tcp(signals, self.chain)))

    def act(self, action: np.ndarray, signals: dict[str, np.ndarray]) -> tuple[np.ndarray, bool, bool]:
        """Run an action [n + 1] given from outside the policy (a teleop command mapped into the
        action space) through the same action terms and safety layer -> as :meth:`step`; it is
        the next observation's previous action, as the policy's is."""
        q = np.asarray(signals["joint_pos"], dtype=np.float64)
        self.start_from(q)
        return self._apply(q, self.act_from_outside(with_tcp(dict(signals), self.chain), action))

    def _apply(self, q: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, bool, bool]:
        n = len(self.chain.joints)
        assert self.target is not None
        self.target, held = self.safety.step(q, self.target, self.joint_term.delta(action[:, :n]))
        closed = bool(self.gripper_term.closed(action[:, n:])[0])
        return self.target[0].copy(), closed, bool(held[0])
