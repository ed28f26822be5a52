"""Quadrotor observation and action terms (CTBR), in ROS conventions (world ENU, body FLU).

Signals (batched, leading dimension B) the terms read:

- ``position``: float [B, 3], world position (m) (nav_msgs/Odometry pose.position).
- ``quat_wxyz``: float [B, 4], body-to-world attitude (w, x, y, z) (Odometry pose.orientation).
- ``velocity``: float [B, 3], world-frame linear velocity (m/s).
- ``body_rates``: float [B, 3], body-frame angular velocity (rad/s) (Odometry twist.angular).
- ``ref_position``: float [B, 3], the reference position now (m).
- ``ref_lookahead``: float [B, K, 3], the reference at K future times (m).
- ``prev_action``: float [B, 4], the previous normalised action (the shared ``previous_action``).
- ``aggressiveness``: float [B, 1], the user's aggressiveness in [0, 1] (a ROS parameter on the
  robot); the policy's FiLM layers read it.

The action is collective thrust and body rates (CTBR), what PX4 offboard (VehicleRatesSetpoint)
and a Crazyflie in rate mode accept. Thrust is mass-normalised, a collective acceleration (m/s^2)
along body z: the deployment node multiplies by the vehicle file's mass and converts to the
autopilot's units, so one policy serves vehicles of different mass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .rotations import quat_to_matrix
from .terms import ActionTerm, ObsTerm, PreviousAction, TermSpec
from .vehicle import STANDARD_GRAVITY_MPS2


def _clip(x: np.ndarray, limit: float) -> np.ndarray:
    return np.minimum(np.maximum(x, -limit), limit)


FRAMES = ("world ENU", "body FLU")
"""Frames a vector term can report in (its ``frame`` parameter)."""


def _in_frame(v: np.ndarray, signals: Mapping[str, np.ndarray], frame: str) -> np.ndarray:
    """World vectors v [B, 3] or [B, K, 3] expressed in ``frame``: unchanged for ``world ENU``;
    rotated into the body by the transposed attitude for ``body FLU`` (what makes the policy
    heading-invariant: the same error looks the same whichever way the vehicle points)."""
    if frame == "world ENU":
        return v
    if frame != "body FLU":
        raise ValueError(f"unknown frame {frame!r}; known: {FRAMES}")
    rot = attitude(signals)
    if v.ndim == 2:
        return np.einsum("bji,bj->bi", rot, v)
    return np.einsum("bji,bkj->bki", rot, v)


class FramedTerm(ObsTerm):
    """A vector term that reports in ``params["frame"]`` (one of :data:`FRAMES`). The frame is
    required and checked when the term is built (from a contract): a missing frame must not
    silently mean another frame than the policy was trained in."""

    def __init__(self, spec: TermSpec) -> None:
        super().__init__(spec)
        frame = spec.params.get("frame")
        if frame not in FRAMES:
            raise ValueError(f"term {spec.name!r}: params.frame must be one of {FRAMES}, got {frame!r}")
        self.frame: str = frame


def attitude(signals: Mapping[str, np.ndarray]) -> np.ndarray:
    """The body-to-world rotation [B, 3, 3] of ``signals["quat_wxyz"]`` (normalised), or
    ``signals["rotation"]`` when the caller computed it once for all terms (see
    :func:`with_rotation`)."""
    if "rotation" in signals:
        return np.asarray(signals["rotation"])
    q = np.asarray(signals["quat_wxyz"], dtype=np.float64)
    return quat_to_matrix(q / np.linalg.norm(q, axis=-1, keepdims=True))


def with_rotation(signals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``signals`` plus ``rotation`` [B, 3, 3], so that the terms share one conversion."""
    signals["rotation"] = attitude({"quat_wxyz": signals["quat_wxyz"]})
    return signals


class PositionError(FramedTerm):
    """Reference minus position in ``params["frame"]``, each axis clipped to ``clip_m``: float
    [B, 3] (m)."""

    kind = "position_error"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        err = np.asarray(signals["ref_position"]) - np.asarray(signals["position"])
        err = _in_frame(err, signals, self.frame)
        return _clip(err, float(self.spec.params["clip_m"])).astype(np.float32)


class AttitudeMatrix(ObsTerm):
    """Body-to-world rotation matrix, row-major: float [B, 9] (1). Continuous, unlike Euler angles."""

    kind = "attitude_matrix"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        rot = attitude(signals)
        return rot.reshape(len(rot), 9).astype(np.float32)


class LinearVelocity(FramedTerm):
    """Linear velocity (given in the world frame) in ``params["frame"]``, each axis clipped to
    ``clip_mps``: float [B, 3] (m/s)."""

    kind = "linear_velocity"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        v = _in_frame(np.asarray(signals["velocity"]), signals, self.frame)
        return _clip(v, float(self.spec.params["clip_mps"])).astype(np.float32)


class BodyRates(ObsTerm):
    """Body-frame angular velocity, each axis clipped to ``clip_radps``: float [B, 3] (rad/s)."""

    kind = "body_rates"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        return _clip(np.asarray(signals["body_rates"]), float(self.spec.params["clip_radps"])).astype(
            np.float32
        )


class ReferenceLookahead(FramedTerm):
    """The reference at ``num_points`` future times relative to the current position, in
    ``params["frame"]``, clipped to ``clip_m``: float [B, 3 * num_points] (m). params:
    num_points, horizon_s (the points lie at now + horizon_s * (i + 1) / num_points)."""

    kind = "reference_lookahead"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        ahead = np.asarray(signals["ref_lookahead"])
        k = int(self.spec.params["num_points"])
        if ahead.shape[-2:] != (k, 3):
            raise ValueError(f"reference lookahead has shape {ahead.shape[1:]}, the policy expects ({k}, 3)")
        rel = ahead - np.asarray(signals["position"])[:, None, :]
        rel = _in_frame(rel, signals, self.frame)
        return _clip(rel, float(self.spec.params["clip_m"])).reshape(len(rel), 3 * k).astype(np.float32)


class ReferenceFeedforward(FramedTerm):
    """The reference's velocity minus the vehicle's, and the reference's acceleration, in
    ``params["frame"]``: float [B, 6] (m/s, m/s^2), clipped to ``clip_mps`` / ``clip_mps2``.

    Both come from the reference now and the first two lookahead points (``spacing_s`` apart:
    ``horizon_s / num_points`` of the lookahead term) by second-order finite differences, so the
    node needs no extra input. This is the feed-forward a PD controller gets from the reference's
    derivatives; without it a policy must infer the velocity from positions and lags behind.
    """

    kind = "reference_feedforward"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        p = self.spec.params
        dt = float(p["spacing_s"])
        p0 = np.asarray(signals["ref_position"])
        ahead = np.asarray(signals["ref_lookahead"])
        if ahead.ndim != 3 or ahead.shape[1] < 2:
            raise ValueError(
                f"reference_feedforward needs >= 2 lookahead points, got shape {ahead.shape[1:]}"
            )
        p1, p2 = ahead[:, 0], ahead[:, 1]
        v_ref = (-3.0 * p0 + 4.0 * p1 - p2) / (2.0 * dt)
        a_ref = (p0 - 2.0 * p1 + p2) / dt**2
        dv = _in_frame(v_ref - np.asarray(signals["velocity"]), signals, self.frame)
        acc = _in_frame(a_ref, signals, self.frame)
        return np.concatenate(
            [_clip(dv, float(p["clip_mps"])), _clip(acc, float(p["clip_mps2"]))], axis=1
        ).astype(np.float32)


class PositionErrorIntegral(FramedTerm):
    """The leaky integral of the position error (reference minus position), in ``params["frame"]``,
    each axis clipped to ``clip_ms``: float [B, 3] (m s). It is what a PID's integrator holds: the
    steady error a wind, a battery sag or a thrust curve off the nominal leaves behind, which no
    instantaneous observation reveals. The state is kept by :class:`ErrorIntegral` (the runtime's
    controller and the training environment each hold one) and read as the signal
    ``position_error_integral`` (world frame).

    params: ``frame``, ``time_constant_s`` (the leak: a constant error e reads e * tau once
    settled), ``clip_ms`` (anti-windup).
    """

    kind = "position_error_integral"

    def __init__(self, spec: TermSpec) -> None:
        super().__init__(spec)
        self.time_constant_s = float(spec.params["time_constant_s"])
        self.clip_ms = float(spec.params["clip_ms"])
        if not (self.time_constant_s > 0.0 and self.clip_ms > 0.0):
            raise ValueError(f"term {spec.name!r}: time_constant_s and clip_ms must be > 0")

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        v = _in_frame(np.asarray(signals["position_error_integral"]), signals, self.frame)
        return _clip(v, self.clip_ms).astype(np.float32)


class ErrorIntegral:
    """The state behind :class:`PositionErrorIntegral`: ``value`` [B, 3] (m s, world frame),
    updated once per control step before the observation,
    ``value <- clip(value * exp(-dt / tau) + error * dt, +-clip_ms)``; non-finite errors add
    nothing (a NaN position never poisons the state)."""

    def __init__(self, num: int, time_constant_s: float, clip_ms: float) -> None:
        self.time_constant_s = float(time_constant_s)
        self.clip_ms = float(clip_ms)
        self.value = np.zeros((num, 3))

    @classmethod
    def for_terms(cls, specs: Sequence[TermSpec], num: int) -> ErrorIntegral | None:
        """The integrator a policy's observation needs (None when it has no such term)."""
        spec = next((s for s in specs if s.kind == PositionErrorIntegral.kind), None)
        if spec is None:
            return None
        term = PositionErrorIntegral(spec)
        return cls(num, term.time_constant_s, term.clip_ms)

    def reset(self, ids: np.ndarray | None = None) -> None:
        """Zero the state of rows ``ids`` (all when None): a new episode or a restart of control."""
        if ids is None:
            self.value[:] = 0.0
        else:
            self.value[ids] = 0.0

    def update(self, error_m: np.ndarray, dt_s: float) -> np.ndarray:
        """Integrate the world-frame error [B, 3] (m) over ``dt_s``; returns the state [B, 3]."""
        e = np.where(np.isfinite(error_m), error_m, 0.0)
        self.value = _clip(self.value * np.exp(-dt_s / self.time_constant_s) + e * dt_s, self.clip_ms)
        return self.value


class UserInput(ObsTerm):
    """A user-set scalar (``params["signal"]``), clipped to [``low``, ``high``]: float [B, 1]. A
    non-finite value reads as ``default``. On the robot it is a run-time ROS parameter."""

    kind = "user_input"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        p = self.spec.params
        v = np.asarray(signals[p["signal"]], dtype=np.float64).reshape(-1, 1)
        v = np.where(np.isfinite(v), v, float(p["default"]))
        return np.minimum(np.maximum(v, float(p["low"])), float(p["high"])).astype(np.float32)


def max_tilt_rad(aggressiveness: np.ndarray | float, tilt_range_deg: tuple[float, float]) -> np.ndarray:
    """The tilt limit (rad) an aggressiveness in [0, 1] stands for: linear in ``tilt_range_deg``.
    Values outside [0, 1] are clamped; a non-finite one reads as 0 (the gentlest)."""
    a = np.asarray(aggressiveness, dtype=np.float64)
    a = np.clip(np.where(np.isfinite(a), a, 0.0), 0.0, 1.0)
    lo, hi = tilt_range_deg
    return np.radians(lo + (hi - lo) * a)


TILT_LIMIT_BAND_RAD = np.radians(10.0)
"""Within this much of the tilt limit the limiter caps the rate at which the tilt grows."""
TILT_LIMIT_GAIN_PER_S = 5.0
"""The largest tilt rate towards the limit per radian of margin left (rad/s per rad): the tilt
approaches the limit like a first-order lag of 0.2 s, and is driven back beyond it."""


TILT_LOOKAHEAD_S = 0.1
"""The limiter judges the tilt this far ahead at the measured tilt rate (s): the rate loop, motors
and latency (~0.1 s on a Crazyflie) carry the vehicle on after a command changes."""


def limit_tilt(
    cmd: np.ndarray, rotation: np.ndarray, limit_rad: np.ndarray, body_rates: np.ndarray | None = None
) -> np.ndarray:
    """CTBR commands [B, 4] whose roll/pitch rates tilt the vehicle towards ``limit_rad`` [B] (rad)
    no faster than ``TILT_LIMIT_GAIN_PER_S x (limit - tilt)`` once within ``TILT_LIMIT_BAND_RAD``
    of it (beyond the limit that rate is negative: the vehicle is tilted back). Only the component
    of the body rates that changes the tilt is touched; yaw rate and thrust pass. The aggressiveness
    sets ``limit_rad`` (:func:`max_tilt_rad`), so it sets the tilt the vehicle reaches whatever the
    policy says. ``rotation`` [B, 3, 3] body to world.

    The tilt rate of body rates (p, q): with ``a = R^T e_z`` (world up in the body),
    ``d tilt / dt = (p a_y - q a_x) / sin(tilt)``, i.e. the rates along the unit vector
    ``u = (a_y, -a_x) / sin(tilt)``. With the measured ``body_rates`` [B, 3] (rad/s) the tilt is
    judged ``TILT_LOOKAHEAD_S`` ahead at the measured tilt rate.
    """
    a = rotation[:, 2, :]  # world z in body coordinates (row 2 of R)
    tilt = np.arccos(np.clip(a[:, 2], -1.0, 1.0))
    sin_tilt = np.maximum(np.hypot(a[:, 0], a[:, 1]), 1e-6)
    u = np.stack([a[:, 1], -a[:, 0]], axis=1) / sin_tilt[:, None]
    if body_rates is not None:
        measured = np.einsum("bi,bi->b", u, np.nan_to_num(np.asarray(body_rates)[:, :2]))
        tilt = tilt + TILT_LOOKAHEAD_S * np.maximum(measured, 0.0)
    near = tilt > limit_rad - TILT_LIMIT_BAND_RAD
    if not np.any(near):
        return cmd
    out = np.array(cmd, dtype=np.float64, copy=True)
    rate = np.einsum("bi,bi->b", u, out[:, 1:3])
    cap = TILT_LIMIT_GAIN_PER_S * (limit_rad - tilt)
    excess = np.where(near, np.maximum(rate - cap, 0.0), 0.0)
    out[:, 1:3] -= excess[:, None] * u
    return out


def quad_specs(
    lookahead_points: int,
    lookahead_horizon_s: float,
    position_clip_m: float,
    velocity_clip_mps: float,
    rates_clip_radps: float,
    accel_scale_mps2: float,
    accel_range_mps2: tuple[float, float],
    max_rates_radps: tuple[float, float, float],
    tilt_range_deg: tuple[float, float],
    frame: str = "body FLU",
    fine_clip_m: float = 0.1,
    integral_time_constant_s: float = 2.0,
    integral_clip_ms: float = 0.3,
) -> tuple[list[TermSpec], TermSpec]:
    """Observation term specs and the CTBR action spec of the quadrotor policy.

    The last observation entry is the user's aggressiveness (the FiLM input); ``tilt_range_deg``
    is the tilt limit it maps to (0 -> first, 1 -> second), which training enforces by reward.
    ``frame`` is the frame of the position error, velocity and lookahead vectors; the position
    error appears twice, clipped to ``position_clip_m`` and to ``fine_clip_m``; its leaky integral
    (``integral_time_constant_s``, ``integral_clip_ms``) gives the policy a PID's integral action.
    """
    if frame not in FRAMES:
        raise ValueError(f"unknown frame {frame!r}; known: {FRAMES}")
    odom = "odometry (nav_msgs/msg/Odometry or px4_msgs/msg/VehicleOdometry converted to ENU/FLU)"
    ref = "reference (geometry_msgs/msg/PoseStamped or nav_msgs/msg/Path with stamps)"
    obs = [
        TermSpec("position_error", PositionError.kind, 3, "m", f"{ref} minus {odom} position",
                 {"clip_m": position_clip_m, "frame": frame}),
        # The same error clipped to a few centimetres: after normalisation a 5 cm error is a large
        # input here, which is what lets the policy hold position to the centimetre.
        TermSpec("position_error_fine", PositionError.kind, 3, "m", f"{ref} minus {odom} position",
                 {"clip_m": fine_clip_m, "frame": frame}),
        TermSpec("attitude", AttitudeMatrix.kind, 9, "1", f"{odom} orientation",
                 {"layout": "row-major body(FLU)-to-world(ENU) rotation matrix"}),
        TermSpec("linear_velocity", LinearVelocity.kind, 3, "m/s", f"{odom} linear velocity",
                 {"clip_mps": velocity_clip_mps, "frame": frame}),
        TermSpec("body_rates", BodyRates.kind, 3, "rad/s", f"{odom} angular velocity",
                 {"clip_radps": rates_clip_radps, "frame": "body FLU"}),
        TermSpec("previous_action", PreviousAction.kind, 4, "1", "the previous output, clipped", {}),
        TermSpec("reference_lookahead", ReferenceLookahead.kind, 3 * lookahead_points, "m",
                 f"{ref} at future times, minus the position",
                 {"num_points": lookahead_points, "horizon_s": lookahead_horizon_s,
                  "clip_m": position_clip_m, "frame": frame}),
        TermSpec("reference_feedforward", ReferenceFeedforward.kind, 6, "m/s, m/s^2",
                 f"{ref} velocity minus {odom} velocity, and the reference acceleration "
                 "(finite differences of the reference now and the first two lookahead points)",
                 {"spacing_s": lookahead_horizon_s / lookahead_points, "clip_mps": velocity_clip_mps,
                  "clip_mps2": 10.0, "frame": frame}),
        TermSpec("position_error_integral", PositionErrorIntegral.kind, 3, "m s",
                 f"leaky integral of the {ref} minus {odom} position, kept by the controller",
                 {"frame": frame, "time_constant_s": integral_time_constant_s,
                  "clip_ms": integral_clip_ms}),
        TermSpec("aggressiveness", UserInput.kind, 1, "1", "ROS parameter 'aggressiveness'",
                 {"signal": "aggressiveness", "low": 0.0, "high": 1.0, "default": 0.5,
                  "meaning": "tilt limit linear in tilt_range_deg", "tilt_range_deg": list(tilt_range_deg)}),
    ]  # fmt: skip
    action = TermSpec(
        "ctbr",
        CtbrAction.kind,
        4,
        "m/s^2, rad/s, rad/s, rad/s",
        "collective thrust (mass-normalised) and body rates (FLU)",
        {
            "layout": ["collective_accel", "roll_rate", "pitch_rate", "yaw_rate"],
            "hover_accel_mps2": STANDARD_GRAVITY_MPS2,
            "accel_scale_mps2": accel_scale_mps2,
            "accel_range_mps2": list(accel_range_mps2),
            "max_rates_radps": list(max_rates_radps),
        },
    )
    return obs, action


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
