"""Quadrotor description: mass, geometry, inertia and motors of an X-configuration vehicle.

One YAML file per vehicle (``sim_assets/<vehicle>/vehicle.yaml``, or any path): the airframe
(mass, geometry, inertia, motors, as in ``shared/benchmarks/quad/crazyflie_2_1.yaml``) and, in
``flight_controller``, what the vehicle's autopilot really runs between a CTBR command and the
motors (:class:`FlightControllerConfig`: the firmware's body-rate PID with its own gains and units,
its mixer scaling, the thrust model it assumes, the motors' real thrust curve, battery sag,
odometry latency, rotor drag). Any such file works without code changes: the simulator, the
training randomisation and the ROS 2 node read the numbers from here.

Conventions (ROS, REP-103): body frame FLU (x forward, y left, z up); the four rotors sit on the
diagonals at ``arm_length_m`` from the centre of mass; per-rotor thrust is
``motor_max_thrust_n * command**2`` for a command in [0, 1], reached through a first-order lag of
``motor_time_constant_s``; each rotor's drag torque about z is ``torque_to_thrust_m`` times its
thrust.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config_files import asset_file, build_config, read_yaml
from .errors import ConfigError

STANDARD_GRAVITY_MPS2 = 9.80665
RATE_ERROR_UNITS = {"rad/s": 1.0, "deg/s": 180.0 / math.pi}
"""Units a firmware's rate PID reads its error in, and the factor from rad/s."""

POSITIVE_FIELDS = (
    "mass_kg",
    "arm_length_m",
    "inertia_kgm2",
    "motor_max_thrust_n",
    "torque_to_thrust_m",
    "motor_time_constant_s",
    "rate_p",
    "rate_k",
    "rate_d_cutoff_hz",
    "max_rates_dps",
    "mixer_per_output",
)
"""Fields that must be > 0."""
SIGNED_FIELDS = ("thrust_curve", "firmware_thrust_curve")
"""Fields whose entries may be negative (a polynomial's coefficients; monotonicity is checked)."""


@dataclass(frozen=True)
class FlightControllerConfig:
    """The autopilot between a CTBR command and the motors, as its firmware runs it.

    Per physics step (the simulators run it at their physics rate):

    1. rate PID per axis (roll, pitch, yaw) on ``e = (setpoint - measured) * unit`` with ``unit``
       from :data:`RATE_ERROR_UNITS`: ``out = k * (p e + I + d D)``, ``I += k_i e dt`` clamped to
       +-``rate_integrator_limit`` (the I term's own output), ``D`` the derivative of the measured
       rate (sign: opposing it), low-passed at ``rate_d_cutoff_hz``; setpoints clamped to
       ``max_rates_dps``;
    2. mixer: each motor's thrust fraction (of ``motor_max_thrust_n``) = the collective setpoint +
       ``mixer_per_output`` x the outputs with the rotor's sign; a motor above 1 lowers all four
       by the excess (PX4's desaturation without airmode, the Crazyflie's powerDistributionCap),
       then each is clipped to [0, 1];
    3. the firmware turns a thrust fraction into a motor output u in [0, 1] by inverting the model
       it assumes, ``firmware_thrust_curve`` (PX4: THR_MDL_FAC f -> [0, 1 - f, f]);
    4. the motor output lags by ``motor_time_constant_s``; the rotor then gives
       ``motor_max_thrust_n * thrust_curve(u)``, the REAL curve (thrust over full thrust against
       motor output: a0 + a1 u + a2 u^2), reduced by battery sag: the available fraction is
       ``1 - battery_sag_fraction * load`` (load: the mean thrust fraction); it scales the thrust
       (no compensation) or caps it (``battery_compensated``: the firmware raises the command as
       the voltage drops until it runs out of headroom).

    Around the vehicle: odometry arrives ``odometry_latency_s`` late, and rotor drag pulls
    ``rotor_drag_per_s`` x the velocity across the rotor discs (m/s^2 per m/s).
    """

    firmware: str
    """Which autopilot the numbers come from (``px4``, ``crazyflie``), for people and logs."""
    rate_error_unit: str
    """Unit of the rate error the PID reads: ``rad/s`` (PX4) or ``deg/s`` (Crazyflie)."""
    rate_p: tuple[float, float, float]
    """Proportional gains, roll, pitch, yaw (output per unit of error)."""
    rate_i: tuple[float, float, float]
    """Integral gains (output per unit of error times second)."""
    rate_d: tuple[float, float, float]
    """Derivative gains (output per unit of error per second)."""
    rate_k: tuple[float, float, float]
    """Overall gain on P, I and D (PX4's MC_*RATE_K; 1 for a parallel-form PID, the Crazyflie's)."""
    rate_integrator_limit: tuple[float, float, float]
    """Clamp of the integral term's output (output units)."""
    rate_d_cutoff_hz: float
    """Low-pass cutoff of the derivative term (Hz)."""
    max_rates_dps: tuple[float, float, float]
    """Largest rate setpoint the firmware accepts (deg/s); larger ones are clamped."""
    mixer_per_output: tuple[float, float, float]
    """Change of each motor's thrust fraction per unit of rate-loop output: roll, pitch, yaw."""
    thrust_curve: tuple[float, float, float]
    """The motors' real thrust over full thrust against motor output u: [a0, a1, a2]."""
    firmware_thrust_curve: tuple[float, float, float]
    """The thrust model the firmware inverts: [b0, b1, b2]."""
    battery_sag_fraction: float
    """Loss of available thrust at full load from battery sag (0..0.5)."""
    battery_compensated: bool
    """The firmware compensates the battery voltage (sag then only caps the thrust)."""
    odometry_latency_s: float
    """Delay of the odometry the policy reads (estimator + transport) (s)."""
    rotor_drag_per_s: float
    """Drag acceleration per m/s of velocity across the rotor discs (1/s)."""

    @property
    def error_scale(self) -> float:
        """Factor from rad/s to the PID's error unit."""
        return RATE_ERROR_UNITS[self.rate_error_unit]


def curve_value(curve: tuple[float, float, float], u: float | np.ndarray) -> float | np.ndarray:
    """a0 + a1 u + a2 u^2 of a thrust curve [a0, a1, a2]."""
    a0, a1, a2 = curve
    return a0 + a1 * u + a2 * u * u


def curve_inverse(curve: tuple[float, float, float], f: float | np.ndarray) -> float | np.ndarray:
    """The u in [0, 1] with ``curve_value(curve, u) == f`` (f clipped to the curve's range)."""
    a0, a1, a2 = curve
    f = np.clip(f, a0, a0 + a1 + a2)
    if abs(a2) < 1e-12:
        u = (f - a0) / a1
    else:
        u = (-a1 + np.sqrt(np.maximum(a1 * a1 + 4.0 * a2 * (f - a0), 0.0))) / (2.0 * a2)
    return np.clip(u, 0.0, 1.0)


def _check_curve(source: str, field: str, curve: tuple[float, float, float]) -> None:
    a0, a1, a2 = curve
    if a0 < 0:
        raise ConfigError(source, f"{field}[0]", f"thrust at zero output must be >= 0, got {a0}")
    if abs(a0 + a1 + a2 - 1.0) > 1e-3:
        raise ConfigError(
            source, field, f"{list(curve)} must give 1 (full thrust) at output 1, gives {a0 + a1 + a2:.4g}"
        )
    # The derivative a1 + 2 a2 u is linear in u: positive at both ends means positive throughout.
    if not (a1 >= 0 and a1 + 2 * a2 > 0):
        raise ConfigError(
            source,
            field,
            f"{list(curve)} is not monotonic on [0, 1] (slope {a1:.4g} at 0, {a1 + 2 * a2:.4g} at 1)",
        )


def check_flight_controller(
    fc: FlightControllerConfig, source: str, prefix: str = "flight_controller."
) -> None:
    """The rules a reader's types cannot say: known unit, monotonic curves, ranges.

    Raises:
        ConfigError: naming the field.
    """
    if fc.rate_error_unit not in RATE_ERROR_UNITS:
        raise ConfigError(
            source,
            f"{prefix}rate_error_unit",
            f"{fc.rate_error_unit!r}; known: {', '.join(RATE_ERROR_UNITS)}",
        )
    _check_curve(source, f"{prefix}thrust_curve", fc.thrust_curve)
    _check_curve(source, f"{prefix}firmware_thrust_curve", fc.firmware_thrust_curve)
    if not fc.battery_sag_fraction < 0.5:
        raise ConfigError(
            source, f"{prefix}battery_sag_fraction", f"must be < 0.5, got {fc.battery_sag_fraction}"
        )
    if not fc.odometry_latency_s <= 0.1:
        raise ConfigError(
            source, f"{prefix}odometry_latency_s", f"must be <= 0.1 s, got {fc.odometry_latency_s}"
        )


@dataclass(frozen=True)
class VehicleConfig:
    """An X-configuration quadrotor."""

    name: str
    """Vehicle name, written into the policy contract and checked at deployment."""
    mass_kg: float
    """Take-off mass (kg)."""
    arm_length_m: float
    """Distance from the centre of mass to each rotor centre (m)."""
    inertia_kgm2: tuple[float, float, float]
    """Principal moments of inertia [Ixx, Iyy, Izz] about the body axes (kg m^2)."""
    motor_max_thrust_n: float
    """Thrust of one rotor at full command (N); thrust grows with the command squared."""
    torque_to_thrust_m: float
    """Rotor drag torque per newton of thrust (m), the yaw control authority."""
    motor_time_constant_s: float
    """Time constant of the first-order motor response (s)."""
    flight_controller: FlightControllerConfig
    """The autopilot's rate loop, mixer and thrust model, the motors' curve, sag, latency, drag."""
    source: str = ""
    """File the configuration was read from (for error messages)."""

    @property
    def thrust_to_weight(self) -> float:
        """Total full-command thrust over weight (> 1 or the vehicle cannot fly)."""
        return 4.0 * self.motor_max_thrust_n / (self.mass_kg * STANDARD_GRAVITY_MPS2)

    @property
    def hover_command(self) -> float:
        """Motor output in [0, 1] at which the four rotors carry the weight (real curve, no sag)."""
        return float(curve_inverse(self.flight_controller.thrust_curve, 1.0 / self.thrust_to_weight))

    def collective_setpoint(self, thrust_n: float | np.ndarray) -> float | np.ndarray:
        """The normalised collective thrust setpoint in [0, 1] to send the autopilot for a total
        thrust (N), through what this file says: the motor output that gives the thrust on the real
        curve, expressed in the firmware's own thrust model (so the firmware's inversion lands on
        that output). Battery sag is not known here; the policy closes that loop."""
        fc = self.flight_controller
        frac = np.clip(np.asarray(thrust_n, dtype=np.float64) / (4.0 * self.motor_max_thrust_n), 0.0, 1.0)
        u = curve_inverse(fc.thrust_curve, frac)
        out = np.clip(curve_value(fc.firmware_thrust_curve, u), 0.0, 1.0)
        out = np.where(frac <= fc.thrust_curve[0], 0.0, out)  # below idle thrust: motors off
        return float(out) if np.ndim(out) == 0 else out

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for the contract and YAML), without the ``source`` field."""
        d = dataclasses.asdict(self)
        d.pop("source")
        d["inertia_kgm2"] = list(self.inertia_kgm2)
        d["flight_controller"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in d["flight_controller"].items()
        }
        return d


def vehicle_from_dict(data: Any, source: str = "<dict>") -> VehicleConfig:
    """Validate and build a :class:`VehicleConfig` from a parsed YAML mapping.

    Raises:
        ConfigError: naming the file and field (missing, unknown, not a positive number, an inertia
            that is not 3 numbers or violates the triangle inequality, too little thrust to fly).
    """
    try:
        cfg = build_config(
            VehicleConfig,
            data,
            source,
            nested={"flight_controller": FlightControllerConfig},
            signed=SIGNED_FIELDS,
            positive=POSITIVE_FIELDS,
        )
    except ConfigError as exc:
        if exc.field == "flight_controller" and "missing" in exc.message:
            raise ConfigError(
                source,
                "flight_controller",
                "missing: the autopilot's rate gains, mixer and thrust curves "
                "(see sim_assets/*/vehicle.yaml); "
                "an airframe-only file can borrow a known vehicle's with "
                "load_vehicle(path, flight_controller_from=NAME)",
            ) from exc
        raise
    check_flight_controller(cfg.flight_controller, source)
    ixx, iyy, izz = cfg.inertia_kgm2
    # Principal moments of a real body satisfy the triangle inequality; a typo usually does not.
    if ixx + iyy < izz or iyy + izz < ixx or izz + ixx < iyy:
        raise ConfigError(
            source, "inertia_kgm2", f"{list(cfg.inertia_kgm2)} violates Ixx + Iyy >= Izz (and permutations)"
        )
    if cfg.thrust_to_weight <= 1.0:
        raise ConfigError(
            source,
            "motor_max_thrust_n",
            f"4 x {cfg.motor_max_thrust_n} N cannot lift mass_kg {cfg.mass_kg} kg "
            f"(thrust-to-weight {cfg.thrust_to_weight:.2f})",
        )
    return dataclasses.replace(cfg, source=source)


def load_vehicle(name_or_path: str | Path, flight_controller_from: str | Path | None = None) -> VehicleConfig:
    """Load a vehicle by name (``sim_assets/<name>/vehicle.yaml``) or from a YAML file path.

    ``flight_controller_from``: a vehicle whose ``flight_controller`` block completes a file that
    has none (an airframe-only file, e.g. ``shared/benchmarks/quad/crazyflie_2_1.yaml``); asked
    for explicitly, never guessed. A file with its own block keeps it.

    Raises:
        ConfigError: unknown vehicle name, unreadable file, or a malformed field (named).
    """
    p = asset_file(name_or_path, "vehicle.yaml", "vehicle")
    data = read_yaml(p)
    if flight_controller_from is not None and isinstance(data, dict) and "flight_controller" not in data:
        data = {
            **data,
            "flight_controller": load_vehicle(flight_controller_from).as_dict()["flight_controller"],
        }
    return vehicle_from_dict(data, str(p))
