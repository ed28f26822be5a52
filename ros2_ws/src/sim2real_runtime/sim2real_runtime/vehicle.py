"""Quadrotor description: mass, geometry, inertia and motors of an X-configuration vehicle.

One YAML file per vehicle (``sim_assets/<vehicle>/vehicle.yaml``, or any path), in the format of
``shared/benchmarks/quad/crazyflie_2_1.yaml``. Any such file works without code changes: the
simulator, the training randomisation and the ROS 2 node read the numbers from here.

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

from .config_files import asset_file, build_config, read_yaml
from .errors import ConfigError

STANDARD_GRAVITY_MPS2 = 9.80665
POSITIVE_FIELDS = (
    "mass_kg",
    "arm_length_m",
    "inertia_kgm2",
    "motor_max_thrust_n",
    "torque_to_thrust_m",
    "motor_time_constant_s",
)
"""Fields that must be > 0 (every number of a vehicle file)."""


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
    source: str = ""
    """File the configuration was read from (for error messages)."""

    @property
    def thrust_to_weight(self) -> float:
        """Total full-command thrust over weight (> 1 or the vehicle cannot fly)."""
        return 4.0 * self.motor_max_thrust_n / (self.mass_kg * STANDARD_GRAVITY_MPS2)

    @property
    def hover_command(self) -> float:
        """Motor command in [0, 1] at which the four rotors carry the weight."""
        return math.sqrt(1.0 / self.thrust_to_weight)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for the contract and YAML), without the ``source`` field."""
        d = dataclasses.asdict(self)
        d.pop("source")
        d["inertia_kgm2"] = list(self.inertia_kgm2)
        return d


def vehicle_from_dict(data: Any, source: str = "<dict>") -> VehicleConfig:
    """Validate and build a :class:`VehicleConfig` from a parsed YAML mapping.

    Raises:
        ConfigError: naming the file and field (missing, unknown, not a positive number, an inertia
            that is not 3 numbers or violates the triangle inequality, too little thrust to fly).
    """
    cfg = build_config(VehicleConfig, data, source, positive=POSITIVE_FIELDS)
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


def load_vehicle(name_or_path: str | Path) -> VehicleConfig:
    """Load a vehicle by name (``sim_assets/<name>/vehicle.yaml``) or from a YAML file path.

    Raises:
        ConfigError: unknown vehicle name, unreadable file, or a malformed field (named).
    """
    p = asset_file(name_or_path, "vehicle.yaml", "vehicle")
    return vehicle_from_dict(read_yaml(p), str(p))
