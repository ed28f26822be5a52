"""Running a hand policy: the safety layer between the policy and the hand's servos, the
compatibility check, and the controller.

:class:`HandSafety` is batched and shared: the training environment integrates every action
through it and the node runs the same code on one hand. Whatever the policy or the inputs do, the
joint target that leaves is finite, inside the joint limits (with a margin), changes by at most
``max_speed_radps / control_rate_hz`` per control step, and, in the current-safe mode, stays
within ``max_lead_rad`` of the measured joints (a finger pressing on the cube cannot wind up a
target that would drive its servo to its current limit, or jump when released).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .contract import PolicyContract, check_control_rate, check_domain, close
from .errors import ContractMismatchError
from .hand_model import HandDescription
from .hand_terms import JointOffsetAction
from .joint_targets import JointTargetController, JointTargetLimits
from .manip_terms import JointDeltaAction
from .policy import OnnxPolicy

DOMAIN = "hand"


@dataclass(frozen=True)
class HandSafetyConfig:
    """Limits applied to every joint target, whatever the policy says."""

    joint_margin_rad: float = 0.02
    """Targets stay this far inside the joint limits (rad)."""
    max_speed_radps: float = 4.0
    """Largest target speed, every joint (rad/s; under half the LEAP's XC330 no-load speed): the
    per-step change limit is this over the control rate (0.2 rad at 20 Hz), which is also the
    action's full scale."""
    max_lead_rad: float = 0.6
    """Current-safe mode: targets stay within this distance of the measured joints (rad)."""
    current_safe: bool = True
    """Whether the lead limit applies (off: only limits and the per-step change)."""


class HandSafety(JointTargetLimits):
    """Integrates joint deltas into position targets inside the limits (batched, [B, n]).

    Args:
        lower, upper: joint limits [n] (rad).
        cfg: the limits.
        control_rate_hz: the policy rate (the per-step change is ``max_speed_radps / rate``).
    """

    def __init__(
        self, lower: np.ndarray, upper: np.ndarray, cfg: HandSafetyConfig, control_rate_hz: float
    ) -> None:
        self.cfg = cfg
        lo = np.asarray(lower, dtype=np.float64) + cfg.joint_margin_rad
        hi = np.asarray(upper, dtype=np.float64) - cfg.joint_margin_rad
        super().__init__(lo, hi, np.full(lo.shape, cfg.max_speed_radps / control_rate_hz))

    def step(self, q_meas: np.ndarray, target: np.ndarray, delta_rad: np.ndarray) -> np.ndarray:
        """The next targets [B, n] from measured joints, previous targets and requested deltas
        (all [B, n], rad). Non-finite deltas count as zero; rows with a non-finite measurement
        keep their previous target (which must be finite, e.g. :meth:`initial_target`)."""
        lead = self.cfg.max_lead_rad if self.cfg.current_safe else None
        new, q_ok = self.integrate(q_meas, target, delta_rad, lead)
        return np.where(q_ok[..., None], new, target)


def check_hand_compatible(
    contract: PolicyContract,
    hand: HandDescription,
    source: str,
    control_rate_hz: float | None = None,
    **_: Any,
) -> None:
    """Refuse to drive ``hand`` with a policy trained for another hand or another joint order.

    The contract's ``joint_names`` must equal the hand's, in order (a policy trained on the
    simulation's order never drives a hand listed in the driver's order, and the reverse); the
    driver mapping (``robot.hardware``) must be the hand's; the hand's limits must not be narrower
    than the contract's; the control rate must match when given.

    Raises:
        ContractMismatchError: naming the first mismatching contract field.
    """
    check_domain(contract, DOMAIN, source)
    if tuple(contract.joint_names) != hand.joint_names:
        raise ContractMismatchError(source, "joint_names", list(contract.joint_names), list(hand.joint_names))
    have = hand.as_dict()
    hw = contract.robot.get("hardware") or {}
    if list(hw.get("joint_order", [])) != have["hardware"]["joint_order"]:
        raise ContractMismatchError(
            source, "robot.hardware.joint_order", hw.get("joint_order"), have["hardware"]["joint_order"]
        )
    off = hw.get("zero_offset_rad")
    if not isinstance(off, int | float) or not math.isclose(off, hand.hardware_zero_offset_rad, abs_tol=1e-6):
        raise ContractMismatchError(
            source, "robot.hardware.zero_offset_rad", off, hand.hardware_zero_offset_rad
        )
    joints = contract.robot.get("joints") or {}
    for key, mine, narrower in (
        ("lower", hand.lower, lambda h, t: h > t + 1e-6),
        ("upper", hand.upper, lambda h, t: h < t - 1e-6),
    ):
        trained = joints.get(key, [])
        if len(trained) != len(mine) or any(narrower(h, t) for h, t in zip(mine, trained, strict=False)):
            raise ContractMismatchError(source, f"robot.joints.{key}", trained, [float(v) for v in mine])
    if not close(joints.get("velocity_limit", []), hand.velocity_limits, 1e-6):
        raise ContractMismatchError(
            source, "robot.joints.velocity_limit", joints.get("velocity_limit"), list(hand.velocity_limits)
        )
    check_control_rate(contract, control_rate_hz, source)


class HandController(JointTargetController):
    """Hand policy + the contract's terms + :class:`HandSafety`, for one hand.

    Raises :class:`~sim2real_runtime.errors.ContractMismatchError` at construction when the hand
    differs from the one the policy was trained for (joint names and order, driver mapping,
    limits, rate).
    """

    def __init__(
        self,
        policy: OnnxPolicy,
        hand: HandDescription,
        safety: HandSafetyConfig | None = None,
        control_rate_hz: float | None = None,
    ) -> None:
        check_hand_compatible(policy.contract, hand, str(policy.path), control_rate_hz)
        super().__init__(policy)
        self.hand = hand
        self.joint_term: JointDeltaAction | JointOffsetAction = self.action_terms[0]
        trained = policy.contract.robot.get("safety") or {}
        cfg = safety or HandSafetyConfig(**trained)
        self.safety = HandSafety(hand.lower, hand.upper, cfg, self.control_rate_hz)
        self.reset()

    def step(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        """One control step -> joint targets [n] (rad, simulation order and zero).

        ``signals``: single-row arrays as in :mod:`sim2real_runtime.hand_terms`, without
        ``joint_target`` and ``prev_action`` (the controller adds them)."""
        q = np.asarray(signals["joint_pos"], dtype=np.float64)
        prev = self.start_from(q)
        signals["joint_target"] = prev.copy()
        action = self.infer(signals)
        self.target = self.safety.step(q, prev, self.joint_term.target_change(action, prev))
        return self.target[0].copy()
