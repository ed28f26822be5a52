"""The LEAP driver's side of the hand: its answers turned into joint states by name, and the pacing
of its position service.

LEAP_Hand_API's ROS 2 node (``leaphand_node.py``) takes targets on ``cmd_leap``
(sensor_msgs/JointState, 16 positions in motor-id order, radians with the open hand at pi) and
answers positions through services (``leap_position``: ``float64[] position``, same order and
zero) instead of publishing a joint state stream. :class:`LeapPositionPoller` decides when to ask
(one request in flight at a time, at most ``rate_hz``) and turns each answer into the
simulation-order, simulation-zero JointState the policy node reads by name
(:meth:`LeapPositionPoller.on_response`). The rclpy wrapper is ``hardware/leap_hand/
leap_joint_states.py``; everything here is plain numpy so that it is tested without ROS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hand_model import HandDescription


@dataclass(frozen=True)
class DriverJointState:
    """One answer of the driver, ready to publish: names and positions (rad) in the simulation's
    order and zero, and the time the request was sent (s), the best stamp the driver allows."""

    names: tuple[str, ...]
    positions: tuple[float, ...]
    stamp_s: float


class LeapPositionPoller:
    """Paces ``leap_position`` requests and converts the answers.

    Args:
        hand: the hand description (joint names, the driver's order and zero).
        rate_hz: the most requests per second; a slower driver sets the real rate (a request is
            sent only when the previous one was answered or timed out).
        timeout_s: a request unanswered this long is given up (the next one is sent).
    """

    def __init__(self, hand: HandDescription, rate_hz: float = 50.0, timeout_s: float = 0.1) -> None:
        if not rate_hz > 0 or not timeout_s > 0:
            raise ValueError(f"rate_hz and timeout_s must be > 0, got {rate_hz}, {timeout_s}")
        self.hand = hand
        self.period_s = 1.0 / rate_hz
        self.timeout_s = timeout_s
        self.sent_s: float | None = None
        self.last_sent_s = -np.inf
        self.answered = self.refused = self.timed_out = 0
        self.last_error: str | None = None

    def should_request(self, now_s: float) -> bool:
        """Whether to send a request now (and if so, it is booked as sent)."""
        if self.sent_s is not None:
            if now_s - self.sent_s < self.timeout_s:
                return False
            self.timed_out += 1
            self.sent_s = None
        if now_s - self.last_sent_s < self.period_s * 0.999:
            return False
        self.sent_s = self.last_sent_s = now_s
        return True

    def on_response(self, position: list[float] | tuple[float, ...]) -> DriverJointState | None:
        """The answer to the request in flight -> the joint state to publish, or None when it is
        refused (wrong length, non-finite; :attr:`last_error` names the motor id)."""
        stamp = self.sent_s if self.sent_s is not None else self.last_sent_s
        self.sent_s = None
        p = np.asarray(list(position), dtype=np.float64)
        n = len(self.hand.joint_names)
        if p.shape != (n,):
            return self._refuse(
                f"leap_position answered {p.size} positions, expected {n} (motor ids 0-{n - 1})"
            )
        bad = np.nonzero(~np.isfinite(p))[0]
        if len(bad):
            k = int(bad[0])
            return self._refuse(f"leap_position: motor {k} ({self.hand.hardware_joint_order[k]}) is {p[k]}")
        self.answered += 1
        q = self.hand.from_hardware(p)
        return DriverJointState(self.hand.joint_names, tuple(float(v) for v in q), float(stamp))

    def _refuse(self, why: str) -> None:
        self.refused += 1
        self.last_error = why
        return None
