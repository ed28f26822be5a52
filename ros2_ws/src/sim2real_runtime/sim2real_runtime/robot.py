"""Differential-drive robot description: footprint, wheels, limits and the 2-D lidar.

One YAML file per robot (``sim_assets/<robot>/robot.yaml``) is the single source of these numbers:
the URDF is generated from it, the MuJoCo model is built from it, the training environment, the
DWA baseline and the ROS 2 node read it. A TurtleBot-class robot is another YAML file, not code.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config_files import asset_file, build_config, read_yaml
from .errors import ConfigError


@dataclass(frozen=True)
class LidarConfig:
    """A planar scanning lidar, as sensor_msgs/LaserScan describes it.

    Beam ``i`` points at ``angle_min_rad + i * angle_increment_rad`` in the lidar frame (REP-103:
    x forward, y left, counter-clockwise positive). The first beam is the right-most one.
    """

    num_beams: int
    """Number of beams per scan (720 for a Hokuyo UST-10 as configured on BARN's Jackal)."""
    fov_rad: float
    """Angular field of view, first to last beam inclusive spread over ``num_beams`` beams (rad)."""
    range_min_m: float
    """Shortest range the lidar measures (m); a shorter reading (or -inf) is an object too close to
    measure (REP-117), an obstacle at ``range_min_m``."""
    range_max_m: float
    """Longest range the lidar measures (m); +inf is 'no return', a finite reading above this is
    invalid (see :func:`sim2real_runtime.nav_terms.scan_fault`)."""
    rate_hz: float
    """Scan publication rate (Hz)."""
    mount_x_m: float
    """Lidar origin ahead of the base_link origin (m)."""
    mount_z_m: float
    """Lidar origin above the ground (m)."""
    range_noise_std_m: float = 0.01
    """Standard deviation of Gaussian range noise of the real sensor (m)."""
    max_invalid_fraction: float = 0.05
    """Largest fraction of a scan's beams that may be invalid (NaN, or a finite range above
    ``range_max_m``) before the whole scan is refused (the node stops: ``/scan invalid``). The
    conventions are :func:`sim2real_runtime.nav_terms.scan_fault`'s; 0.05 allows the odd dazzled
    beam and refuses a lidar that reports errors for a sector or more."""
    allow_open_space: bool = False
    """Whether a scan in which no beam returns (all +inf, nothing else) may be driven on as open
    space. False (the default) refuses it like a blinded lidar: a lidar whose laser has failed
    reports exactly that, and indoors something is always in range. True is for open fields where
    nothing may lie within ``range_max_m``; a scan of invalid or too-close readings is refused
    either way."""

    @property
    def angle_min_rad(self) -> float:
        """Angle of beam 0 (rad), symmetric about the x axis."""
        return -self.fov_rad / 2.0

    @property
    def angle_increment_rad(self) -> float:
        """Angle between consecutive beams (rad), as LaserScan.angle_increment."""
        return self.fov_rad / (self.num_beams - 1)

    def beam_angles_rad(self) -> Any:
        """Beam angles in the lidar frame, shape [num_beams] (rad)."""
        import numpy as np

        return self.angle_min_rad + np.arange(self.num_beams) * self.angle_increment_rad


@dataclass(frozen=True)
class RobotConfig:
    """A differential-drive base with a rectangular footprint centred on base_link."""

    name: str
    """Robot name, written into the policy contract and checked at deployment."""
    footprint_length_m: float
    """Footprint extent along x (m)."""
    footprint_width_m: float
    """Footprint extent along y (m)."""
    body_height_m: float
    """Height of the chassis box (m)."""
    mass_kg: float
    """Total mass (kg)."""
    wheel_radius_m: float
    """Drive wheel radius (m)."""
    wheel_separation_m: float
    """Distance between the left and right drive wheel contact points (m)."""
    max_linear_speed_mps: float
    """Highest forward speed the base accepts (m/s)."""
    min_linear_speed_mps: float
    """Lowest (most negative, i.e. fastest reverse) speed the base accepts (m/s)."""
    max_angular_speed_radps: float
    """Highest yaw rate magnitude (rad/s)."""
    max_linear_accel_mps2: float
    """Linear acceleration limit (m/s^2)."""
    max_angular_accel_radps2: float
    """Yaw acceleration limit (rad/s^2)."""
    lidar: LidarConfig
    """The 2-D lidar."""
    source: str = ""
    """File the configuration was read from (for error messages)."""

    @property
    def footprint_radius_m(self) -> float:
        """Radius of the circle around the footprint's centre that holds the footprint (m)."""
        return 0.5 * math.hypot(self.footprint_length_m, self.footprint_width_m)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for the contract and YAML), without the ``source`` field."""
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


_POSITIVE = (
    "footprint_length_m",
    "footprint_width_m",
    "body_height_m",
    "mass_kg",
    "wheel_radius_m",
    "wheel_separation_m",
    "max_linear_speed_mps",
    "max_angular_speed_radps",
    "max_linear_accel_mps2",
    "max_angular_accel_radps2",
    "rate_hz",
)
"""Fields that must be > 0 (refused with one message for zero and negative alike)."""


def _check(cfg: RobotConfig, source: str) -> None:
    if cfg.min_linear_speed_mps > 0:
        raise ConfigError(source, "min_linear_speed_mps", "must be <= 0 (0 means no reverse)")
    lid = cfg.lidar
    if not 0 < lid.fov_rad <= 2 * math.pi:
        raise ConfigError(source, "lidar.fov_rad", f"must be in (0, 2*pi], got {lid.fov_rad!r}")
    if not 0 <= lid.range_min_m < lid.range_max_m:
        raise ConfigError(source, "lidar.range_max_m", "must be greater than lidar.range_min_m")
    if not 0 <= lid.max_invalid_fraction < 1:
        raise ConfigError(
            source, "lidar.max_invalid_fraction", f"must be in [0, 1), got {lid.max_invalid_fraction!r}"
        )


def robot_from_dict(data: Any, source: str = "<dict>") -> RobotConfig:
    """Validate and build a :class:`RobotConfig` from a parsed YAML mapping."""
    cfg = build_config(
        RobotConfig,
        data,
        source,
        nested={"lidar": LidarConfig},
        signed=("min_linear_speed_mps", "mount_x_m"),
        min_int=2,
        positive=_POSITIVE,
    )
    _check(cfg, source)
    return dataclasses.replace(cfg, source=source)


def load_robot(name_or_path: str | Path) -> RobotConfig:
    """Load a robot by name (``sim_assets/<name>/robot.yaml``) or from a YAML file path.

    Raises:
        ConfigError: unknown robot name, unreadable file, or a malformed field (named).
    """
    p = asset_file(name_or_path, "robot.yaml", "robot")
    return robot_from_dict(read_yaml(p), str(p))
