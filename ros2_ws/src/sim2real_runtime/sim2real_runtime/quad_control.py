"""Running a quadrotor policy on a vehicle: the contract's terms, and the safety layer between the
policy and the flight controller.

:class:`QuadController` turns odometry + reference + the user's aggressiveness into a CTBR command
with the very terms training used. :class:`QuadSafety` stands after it: whatever the policy or the
inputs do, the command that leaves is finite and inside the vehicle's thrust and rate limits, and
the vehicle is levelled when it tilts past the limit or leaves the geofence.

Commands are (collective acceleration (m/s^2), body rates p, q, r (rad/s, FLU)); the autopilot
interface multiplies the acceleration by the vehicle file's mass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .contract import PolicyContract, check_control_rate, check_domain
from .controller import PolicyController
from .errors import ContractMismatchError
from .policy import OnnxPolicy
from .quad_terms import ErrorIntegral, limit_tilt, max_tilt_rad, with_rotation
from .rotations import quat_to_matrix
from .vehicle import STANDARD_GRAVITY_MPS2, VehicleConfig


@dataclass(frozen=True)
class QuadSafetyConfig:
    """Limits the node enforces whatever the policy says."""

    max_tilt_deg: float = 45.0
    """Beyond this tilt the command is replaced by a levelling one (deg)."""
    max_thrust_fraction: float = 0.9
    """Largest collective thrust as a fraction of the vehicle's full thrust (1)."""
    min_accel_mps2: float = 2.0
    """Smallest collective acceleration commanded in flight (m/s^2): keeps rate authority."""
    max_rates_radps: tuple[float, float, float] = (4.0, 4.0, 1.5)
    """Body-rate limits (rad/s)."""
    geofence_min_m: tuple[float, float, float] = (-2.0, -2.0, 0.0)
    """Lower corner of the allowed box, world ENU (m)."""
    geofence_max_m: tuple[float, float, float] = (2.0, 2.0, 2.5)
    """Upper corner of the allowed box, world ENU (m)."""
    geofence_margin_m: float = 0.3
    """References are kept this far inside the box (m)."""
    level_gain_per_s: float = 5.0
    """Tilt error to body rate when levelling (rad/s per rad)."""
    descend_accel_fraction: float = 0.85
    """Collective acceleration while descending (landing), as a fraction of gravity (1)."""


class QuadSafety:
    """The last stage before the autopilot: finite, limited, levelled when needed.

    Args:
        vehicle: the vehicle file (its thrust caps the collective acceleration).
        cfg: limits.
    """

    def __init__(self, vehicle: VehicleConfig, cfg: QuadSafetyConfig) -> None:
        self.cfg = cfg
        self.vehicle = vehicle
        full = 4.0 * vehicle.motor_max_thrust_n / vehicle.mass_kg
        hi = cfg.max_thrust_fraction * full
        if not hi > STANDARD_GRAVITY_MPS2:
            raise ValueError(
                f"max_thrust_fraction {cfg.max_thrust_fraction} of {vehicle.name}'s thrust cannot hover "
                f"({hi:.2f} m/s^2 <= g)"
            )
        self.low = np.array([cfg.min_accel_mps2, *(-np.asarray(cfg.max_rates_radps))])
        self.high = np.array([hi, *cfg.max_rates_radps])
        self.max_tilt_rad = math.radians(cfg.max_tilt_deg)
        self.fence_lo = np.asarray(cfg.geofence_min_m, dtype=np.float64)
        self.fence_hi = np.asarray(cfg.geofence_max_m, dtype=np.float64)

    def clamp(self, cmd: np.ndarray) -> np.ndarray:
        """``cmd`` [4] inside the limits; a non-finite entry makes the whole command a hold."""
        c = np.asarray(cmd, dtype=np.float64)
        if not np.all(np.isfinite(c)):
            c = np.array([STANDARD_GRAVITY_MPS2, 0.0, 0.0, 0.0])
        return np.minimum(np.maximum(c, self.low), self.high)

    def level(self, quat_wxyz: np.ndarray | None, accel_mps2: float = STANDARD_GRAVITY_MPS2) -> np.ndarray:
        """A command that levels the vehicle (zero yaw rate) at collective ``accel_mps2``
        (compensated for tilt, so the vertical acceleration stays near ``accel - g``). Without a
        finite attitude: zero rates."""
        rates = np.zeros(3)
        if quat_wxyz is not None and np.all(np.isfinite(quat_wxyz)):
            q = np.asarray(quat_wxyz, dtype=np.float64)
            rot = quat_to_matrix(q / np.linalg.norm(q))
            z_body = rot[:, 2]
            # Rotate body z towards world z: axis z_body x e_z, expressed in the body frame.
            err_world = np.cross(z_body, [0.0, 0.0, 1.0])
            rates = self.cfg.level_gain_per_s * (rot.T @ err_world)
            rates[2] = 0.0
            accel_mps2 = accel_mps2 / max(z_body[2], 0.5)
        return self.clamp(np.array([accel_mps2, *rates]))

    def descend(self, quat_wxyz: np.ndarray | None) -> np.ndarray:
        """Level and sink slowly (the landing command when position is unknown or outside the fence)."""
        return self.level(quat_wxyz, self.cfg.descend_accel_fraction * STANDARD_GRAVITY_MPS2)

    def tilt_rad(self, quat_wxyz: np.ndarray) -> float:
        q = np.asarray(quat_wxyz, dtype=np.float64)
        z = quat_to_matrix(q / np.linalg.norm(q))[2, 2]
        return math.acos(min(max(z, -1.0), 1.0))

    def inside_fence(self, position_m: np.ndarray) -> bool:
        p = np.asarray(position_m)
        return bool(np.all(p >= self.fence_lo) and np.all(p <= self.fence_hi))

    def fence_reference(self, points_m: np.ndarray) -> np.ndarray:
        """Reference points [..., 3] moved inside the fence (less the margin)."""
        m = self.cfg.geofence_margin_m
        return np.minimum(np.maximum(points_m, self.fence_lo + m), self.fence_hi - m)

    def __call__(
        self, cmd: np.ndarray, quat_wxyz: np.ndarray, position_m: np.ndarray
    ) -> tuple[np.ndarray, str]:
        """The command to send for the policy's ``cmd`` [4] in the state (attitude, position), and
        what the safety layer did: ``""`` (passed, clamped), ``"tilt"``, ``"geofence"``."""
        if not self.inside_fence(position_m):
            return self.descend(quat_wxyz), "geofence"
        if self.tilt_rad(quat_wxyz) > self.max_tilt_rad:
            return self.level(quat_wxyz), "tilt"
        return self.clamp(cmd), ""


def quad_training_envelope(
    vehicle: Mapping[str, Any],
    mass_scale: tuple[float, float],
    thrust_scale: tuple[float, float],
    motor_time_constant_s: tuple[float, float],
) -> dict[str, list[float]]:
    """The vehicle properties a quadrotor policy was trained across (stored in the contract's
    ``robot.training_envelope``): thrust-to-weight and motor time constant ranges. The mass-
    normalised CTBR action and the inertia-scaled rate loop make the rest scale-free."""
    tw = 4.0 * vehicle["motor_max_thrust_n"] / (vehicle["mass_kg"] * 9.80665)
    return {
        "thrust_to_weight": [tw * thrust_scale[0] / mass_scale[1], tw * thrust_scale[1] / mass_scale[0]],
        "motor_time_constant_s": list(motor_time_constant_s),
    }


def check_quad_compatible(
    contract: PolicyContract,
    vehicle: Any,
    source: str,
    control_rate_hz: float | None = None,
    allow_outside_envelope: bool = False,
) -> None:
    """Refuse to fly ``vehicle`` (a VehicleConfig) with a policy that was not trained for it.

    The vehicle's thrust-to-weight and motor time constant must lie inside the contract's
    ``robot.training_envelope`` (unless ``allow_outside_envelope``), and the control rate must match.

    Raises:
        ContractMismatchError: naming the first mismatching contract field.
    """
    check_domain(contract, "quad", source)
    env = contract.robot.get("training_envelope")
    if env is None:
        raise ContractMismatchError(source, "robot.training_envelope", None, "a quadrotor contract")
    if not allow_outside_envelope:
        for key, have in (
            ("thrust_to_weight", vehicle.thrust_to_weight),
            ("motor_time_constant_s", vehicle.motor_time_constant_s),
        ):
            lo, hi = env[key]
            if not lo - 1e-9 <= have <= hi + 1e-9:
                raise ContractMismatchError(
                    source,
                    f"robot.training_envelope.{key}",
                    f"[{lo:.4g}, {hi:.4g}]",
                    f"{have:.4g} ({vehicle.name})",
                )
    check_control_rate(contract, control_rate_hz, source)


class QuadController(PolicyController):
    """Quadrotor policy + the contract's observation and action terms, for one vehicle.

    Raises :class:`~sim2real_runtime.errors.ContractMismatchError` at construction if the vehicle
    lies outside what the policy was trained across (see ``check_quad_compatible``).
    """

    def __init__(
        self,
        policy: OnnxPolicy,
        vehicle: VehicleConfig,
        control_rate_hz: float | None = None,
        allow_outside_envelope: bool = False,
    ) -> None:
        check_quad_compatible(
            policy.contract, vehicle, str(policy.path), control_rate_hz, allow_outside_envelope
        )
        super().__init__(policy)
        self.vehicle = vehicle
        self.action_term = self.action_terms[0]
        look = next(s for s in policy.contract.observation if s.kind == "reference_lookahead")
        self.lookahead_points = int(look.params["num_points"])
        self.lookahead_horizon_s = float(look.params["horizon_s"])
        agg = next((s for s in policy.contract.observation if s.kind == "user_input"), None)
        rng = agg.params.get("tilt_range_deg") if agg is not None else None
        self.tilt_range_deg: tuple[float, float] | None = (float(rng[0]), float(rng[1])) if rng else None
        """The tilt limit at aggressiveness 0 and 1 (deg) the contract promises (the limiter)."""
        self.integral = ErrorIntegral.for_terms(policy.contract.observation, 1)
        """The position error's integral, when the policy observes it (``position_error_integral``)."""

    def reset(self) -> None:
        """Forget the previous action and the error's integral (call when control (re)starts)."""
        super().reset()
        if self.integral is not None:
            self.integral.reset()

    def step(
        self,
        position_m: np.ndarray,
        quat_wxyz: np.ndarray,
        velocity_mps: np.ndarray,
        body_rates_radps: np.ndarray,
        ref_position_m: np.ndarray,
        ref_lookahead_m: np.ndarray,
        aggressiveness: float,
    ) -> np.ndarray:
        """One control step -> CTBR command [4] (collective acceleration m/s^2, body rates rad/s).

        Shapes: position, velocity, rates [3]; quaternion [4] (w, x, y, z) body FLU to world ENU;
        reference [3] now and [K, 3] at the contract's lookahead times.
        """
        signals = {
            "position": np.asarray(position_m, dtype=np.float64)[None],
            "quat_wxyz": np.asarray(quat_wxyz, dtype=np.float64)[None],
            "velocity": np.asarray(velocity_mps, dtype=np.float64)[None],
            "body_rates": np.asarray(body_rates_radps, dtype=np.float64)[None],
            "ref_position": np.asarray(ref_position_m, dtype=np.float64)[None],
            "ref_lookahead": np.asarray(ref_lookahead_m, dtype=np.float64)[None],
            "aggressiveness": np.array([[aggressiveness]], dtype=np.float64),
        }
        signals = with_rotation(signals)
        if self.integral is not None:  # once per control step, before the observation (as trained)
            err = signals["ref_position"] - signals["position"]
            signals["position_error_integral"] = self.integral.update(err, 1.0 / self.control_rate_hz)
        cmd = self.action_term(self.infer(signals))
        if self.tilt_range_deg is not None:  # the tilt the aggressiveness stands for, as trained
            limit = max_tilt_rad(aggressiveness, self.tilt_range_deg)[None]
            cmd = limit_tilt(cmd, signals["rotation"], limit, signals["body_rates"])
        return cmd[0]
