"""Quadrotor observation and action terms (CTBR), in ROS conventions (world ENU, body FLU).

Signals (batched, leading dimension B) the terms read:

- ``position``: float [B, 3], world position (m) (nav_msgs/Odometry pose.position).
- ``quat_wxyz``: float [B, 4], body-to-world attitude (w, x, y, z) (Odometry pose.orientation).
- ``velocity``: float [B, 3], world-frame linear velocity (m/s).
- ``body_rates``: float [B, 3], body-frame angular velocity (rad/s) (Odometry twist.angular).
- ``ref_position``: float [B, 3], the reference position now (m).
- ``ref_lookahead``: float [B, K, 3], the reference at K future times (m).
- ``prev_action``: float [B, 4], the previous normalised action (the shared ``previous_action``).

The action is collective thrust and body rates (CTBR), what PX4 offboard (VehicleRatesSetpoint)
and a Crazyflie in rate mode accept. Thrust is mass-normalised, a collective acceleration (m/s^2)
along body z: the deployment node multiplies by the vehicle file's mass and converts to the
autopilot's units, so one policy serves vehicles of different mass.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .rotations import quat_to_matrix
from .terms import ActionTerm, ObsTerm, TermSpec


def _clip(x: np.ndarray, limit: float) -> np.ndarray:
    return np.minimum(np.maximum(x, -limit), limit)


class PositionError(ObsTerm):
    """Reference minus position, world frame, each axis clipped to ``clip_m``: float [B, 3] (m)."""

    kind = "position_error"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        err = np.asarray(signals["ref_position"]) - np.asarray(signals["position"])
        return _clip(err, float(self.spec.params["clip_m"])).astype(np.float32)


class AttitudeMatrix(ObsTerm):
    """Body-to-world rotation matrix, row-major: float [B, 9] (1). Continuous, unlike Euler angles."""

    kind = "attitude_matrix"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        q = np.asarray(signals["quat_wxyz"], dtype=np.float64)
        q = q / np.linalg.norm(q, axis=-1, keepdims=True)
        return quat_to_matrix(q).reshape(len(q), 9).astype(np.float32)


class LinearVelocity(ObsTerm):
    """World-frame linear velocity, each axis clipped to ``clip_mps``: float [B, 3] (m/s)."""

    kind = "linear_velocity"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        return _clip(np.asarray(signals["velocity"]), float(self.spec.params["clip_mps"])).astype(np.float32)


class BodyRates(ObsTerm):
    """Body-frame angular velocity, each axis clipped to ``clip_radps``: float [B, 3] (rad/s)."""

    kind = "body_rates"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        return _clip(np.asarray(signals["body_rates"]), float(self.spec.params["clip_radps"])).astype(
            np.float32
        )


class ReferenceLookahead(ObsTerm):
    """The reference at ``num_points`` future times relative to the current position, world frame,
    clipped to ``clip_m``: float [B, 3 * num_points] (m). params: num_points, horizon_s (the
    spacing the reference publisher must use: points at horizon_s * (i + 1) / num_points)."""

    kind = "reference_lookahead"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        ahead = np.asarray(signals["ref_lookahead"])
        k = int(self.spec.params["num_points"])
        if ahead.shape[-2:] != (k, 3):
            raise ValueError(f"reference lookahead has shape {ahead.shape[1:]}, the policy expects ({k}, 3)")
        rel = ahead - np.asarray(signals["position"])[:, None, :]
        return _clip(rel, float(self.spec.params["clip_m"])).reshape(len(rel), 3 * k).astype(np.float32)


class CtbrAction(ActionTerm):
    """Normalised action [B, 4] in [-1, 1] -> (collective acceleration (m/s^2), body rates p, q, r
    (rad/s, FLU)) [B, 4].

    ``accel = hover_accel_mps2 + accel_scale_mps2 * a[0]``, clipped to ``accel_range_mps2``;
    ``rates = max_rates_radps * a[1:]``. A non-finite action gives the hold command (hover
    acceleration, zero rates): for a quadrotor "stop" means hold, not zero thrust.

    spec params: ``hover_accel_mps2``, ``accel_scale_mps2``, ``accel_range_mps2`` [2],
    ``max_rates_radps`` [3].
    """

    kind = "ctbr"

    def __init__(self, spec: TermSpec) -> None:
        super().__init__(spec)
        p = spec.params
        self.hover = float(p["hover_accel_mps2"])
        self.scale = float(p["accel_scale_mps2"])
        self.accel_lo, self.accel_hi = (float(v) for v in p["accel_range_mps2"])
        self.max_rates = np.asarray(p["max_rates_radps"], dtype=np.float64)
        if not self.accel_lo <= self.hover <= self.accel_hi:
            raise ValueError(
                f"hover_accel_mps2 {self.hover} outside accel_range_mps2 {p['accel_range_mps2']}"
            )
        self.hold = np.array([self.hover, 0.0, 0.0, 0.0])

    @property
    def low(self) -> np.ndarray:
        """Lower command limits [4] (m/s^2, rad/s)."""
        return np.array([self.accel_lo, *(-self.max_rates)])

    @property
    def high(self) -> np.ndarray:
        """Upper command limits [4] (m/s^2, rad/s)."""
        return np.array([self.accel_hi, *self.max_rates])

    def __call__(self, action: np.ndarray) -> np.ndarray:
        a = np.asarray(action, dtype=np.float64)
        ok = np.isfinite(a).all(axis=1, keepdims=True)
        a = np.minimum(np.maximum(np.where(np.isfinite(a), a, 0.0), -1.0), 1.0)
        accel = np.minimum(np.maximum(self.hover + self.scale * a[:, :1], self.accel_lo), self.accel_hi)
        cmd = np.concatenate([accel, self.max_rates * a[:, 1:]], axis=1)
        return np.where(ok, cmd, self.hold)
