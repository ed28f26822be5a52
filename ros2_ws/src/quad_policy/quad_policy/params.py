"""The quad_policy node's parameters: one frozen dataclass, read from ROS 2 parameters or a
``--params-file`` YAML in the ROS 2 format (``quad_policy: {ros__parameters: {...}}``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim2real_ros import node_params
from sim2real_ros.px4 import PX4_RELEASES
from sim2real_runtime.errors import ConfigError

INTERFACES = ("px4", "crazyflie")


@dataclass(frozen=True)
class QuadNodeParams(node_params.NodeParams):
    """Parameters of the quad_policy node (ROS 2 parameter names are the field names); the common
    ones (policy_path, estop_topic, state_topic, loop_rate_hz, control_rate_hz, use_sim_time) are
    :class:`sim2real_ros.node_params.NodeParams`'. ``loop_rate_hz`` (200 Hz) is the command loop:
    watchdog, safety and setpoint stream; the policy runs inside it at its contract's rate."""

    POSITIVE = (
        "odom_timeout_s",
        "land_cutoff_s",
        "cf_unlock_s",
        "max_tilt_deg",
        "max_thrust_fraction",
        "max_reference_speed_mps",
    )
    vehicle: str = "crazyflie_2_1"
    """Vehicle name under ``sim_assets/`` or a path to a ``vehicle.yaml`` (mass and thrust convert
    the policy's mass-normalised thrust)."""
    interface: str = "crazyflie"
    """``px4``: px4_msgs VehicleOdometry in, OffboardControlMode + VehicleRatesSetpoint out (NED/FRD
    converted), VehicleStatus for arming and mode. ``crazyflie``: nav_msgs/Odometry in (ENU/FLU),
    Crazyswarm2 ``cmd_vel_legacy`` out (the Crazyflie must be in rate mode, see sim2real_ros.px4)."""
    odom_topic: str = ""
    """Odometry input; empty: ``/fmu/out/vehicle_odometry`` (px4) or ``/<cf_name>/odom``."""
    cf_name: str = "cf231"
    """Crazyswarm2 robot name (topics ``/<cf_name>/...``)."""
    cf_backend: str = "cpp"
    """Crazyswarm2 server, ``cpp`` or ``cflib``: they disagree on the sign of the pitch field."""
    px4_namespace: str = ""
    """Prefix of the PX4 topics (multi-vehicle setups use e.g. ``/px4_1``)."""
    px4_version: str = "auto"
    """PX4 release (``1.15``, ``1.16``, ``1.17``, ``1.18``) or ``auto``: PX4 >= 1.16 publishes
    VehicleStatus version 1 (1.16, 1.17) or 4 (1.18) on ``/fmu/out/vehicle_status_v<N>``; ``auto``
    listens on every known status topic and uses the one that arrives."""
    world_frame: str = "world"
    """Frame of the odometry (ENU) and of references; references in other frames are refused.
    For PX4 the node's world frame is PX4's local frame turned to ENU."""
    reference_pose_topic: str = "/reference_pose"
    """geometry_msgs/PoseStamped: hold this position."""
    reference_path_topic: str = "/reference_path"
    """nav_msgs/Path: follow it; each pose's header.stamp says when the vehicle should be there
    (node clock); the path's end is held."""
    state_topic: str = "/quad_policy/state"
    """std_msgs/String state output (latched)."""
    aggressiveness: float = 0.5
    """The policy's user input in [0, 1] (tilt limit / smoothness trade-off); settable at run time
    (``ros2 param set``; on the DDS transport, std_msgs/Float64 on ``<state_topic>/../aggressiveness``)."""
    loop_rate_hz: float = 200.0
    """Command loop (Hz, steady clock): watchdog, safety and setpoint stream (PX4 wants a stream
    well above 2 Hz; the e-stop makes the vehicle level and descend)."""
    odom_timeout_s: float = 0.1
    """Odometry older than this (host steady clock) -> the vehicle descends (crazyflie) or the node
    stops the offboard stream so PX4's failsafe takes over (px4)."""
    land_cutoff_s: float = 5.0
    """crazyflie: after this long descending without odometry, thrust goes to zero."""
    cf_unlock_s: float = 0.25
    """crazyflie: zero-thrust setpoints are streamed this long (s, steady clock) before the policy
    takes off. The firmware ignores thrust until one arrives, and the node's view that the server
    has matched comes before the server's own: a single unlock sent at the match can be lost."""
    max_tilt_deg: float = 45.0
    """Tilt beyond which the command levels the vehicle (deg)."""
    max_thrust_fraction: float = 0.9
    """Collective thrust limit as a fraction of the vehicle's full thrust."""
    max_reference_speed_mps: float = 2.0
    """A reference that moves faster (a jump of metres) is followed at this speed (m/s)."""
    geofence_min_m: tuple[float, float, float] = (-2.0, -2.0, 0.0)
    """Lower corner of the allowed box in the world frame (m)."""
    geofence_max_m: tuple[float, float, float] = (2.0, 2.0, 2.5)
    """Upper corner of the allowed box in the world frame (m)."""
    allow_outside_envelope: bool = False
    """Fly a vehicle outside the thrust-to-weight / motor range the policy was trained across."""

    def check(self, source: str) -> list[ConfigError]:
        errors = []
        if self.interface not in INTERFACES:
            errors.append(
                ConfigError(source, "interface", f"expected one of {INTERFACES}, got {self.interface!r}")
            )
        if self.px4_version != "auto" and self.px4_version not in PX4_RELEASES:
            errors.append(
                ConfigError(
                    source,
                    "px4_version",
                    f"expected 'auto' or one of {', '.join(PX4_RELEASES)}, got {self.px4_version!r}",
                )
            )
        if not 0.0 <= self.aggressiveness <= 1.0:
            errors.append(
                ConfigError(source, "aggressiveness", f"must be in [0, 1], got {self.aggressiveness}")
            )
        if not self.max_thrust_fraction <= 1.0:
            errors.append(
                ConfigError(source, "max_thrust_fraction", f"must be <= 1, got {self.max_thrust_fraction}")
            )
        if not self.max_tilt_deg < 90.0:
            errors.append(ConfigError(source, "max_tilt_deg", f"must be < 90, got {self.max_tilt_deg}"))
        for name in ("geofence_min_m", "geofence_max_m"):
            if not all(math.isfinite(v) for v in getattr(self, name)):
                errors.append(ConfigError(source, name, f"must be finite, got {getattr(self, name)}"))
        if any(lo >= hi for lo, hi in zip(self.geofence_min_m, self.geofence_max_m, strict=True)):
            errors.append(
                ConfigError(
                    source,
                    "geofence_max_m",
                    f"{self.geofence_max_m} not above geofence_min_m {self.geofence_min_m}",
                )
            )
        return errors


params_from_mapping, read_params_file = node_params.readers(QuadNodeParams, "quad_policy")
