"""Frames, commands and QoS for flight controllers: PX4 (uXRCE-DDS) and the Crazyflie (Crazyswarm2).

Our side follows REP-103 (world ENU, body FLU, quaternions (w, x, y, z) body -> world, as
:mod:`sim2real_runtime.rotations`); PX4 uses world NED and body FRD. Everything here is numpy
(no rclpy, no MuJoCo); functions on vectors and quaternions take ``[..., 3]`` / ``[..., 4]`` arrays and
return float64 arrays of the same shape. Non-finite inputs pass through as NaN: PX4 marks invalid
odometry fields with NaN, and the caller decides what a NaN means.

Message builders take the message class as ``cls`` (from :meth:`Transport.msg`, so they work with
rclpy's classes too); by default they use :mod:`sim2real_ros.msgs`.

Sources (read, not copied):

- px4_msgs: PX4/px4_msgs branch release/1.15, commit a1045ec4feb6d709bdecaf3895f1d5b43a5dabb8,
  ``msg/VehicleOdometry.msg`` (q: FRD body -> reference frame, angular velocity in body FRD),
  ``msg/VehicleRatesSetpoint.msg`` (rates in FRD, ``thrust_body`` normalised, z = -throttle).
- PX4's QoS: PX4/PX4-Autopilot ``src/modules/uxrce_dds_client/utilities.hpp`` (create_data_writer,
  create_data_reader) and ``dds_topics.h.em`` (reader depth = 2 x uORB queue length), the same values
  in PX4's user guide (``docs/en/middleware/uxrce_dds.md``, "PX4 ROS 2 QoS Settings"); the
  companion-side profile of PX4/px4_ros_com ``src/examples/offboard_py/offboard_control.py``.
- Crazyflie: IMRCLab/crazyswarm2 commit f6154e2d51791a41e6f320c1ee166f782be02a20
  (``crazyflie/src/crazyflie_server.cpp`` cmd_vel_legacy_changed, ``crazyflie_server_py/
  crazyflie_server_py/crazyflie_server.py`` _cmd_vel_legacy_changed), whoenig/crazyflie_cpp main
  72996dc8080af4efcace3d65810a0a42ccac9541 (``src/Crazyflie.cpp`` sendSetpoint,
  ``include/crazyflie_cpp/crtp.h`` crtpSetpointRequest), bitcraze/crazyflie-lib-python
  0417fba4c4e579710c6df5d6d73dacd46f420a45 (``cflib/crazyflie/commander.py`` send_setpoint),
  bitcraze/crazyflie-firmware 2a18fc299d7b48cf094d26c38a79f33dec64b5d7
  (``src/modules/src/crtp_commander_rpyt.c``, ``src/modules/src/controller/controller_pid.c``,
  ``src/modules/src/supervisor.c``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim2real_runtime.rotations import quat_mul

from .transport import QoS

# --------------------------------------------------------------------------- frames

_ENU_NED = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
"""Maps NED coordinates to ENU ones (and back: it is its own inverse)."""
_FLU_FRD = np.array([1.0, -1.0, -1.0])
"""Maps FRD body coordinates to FLU ones (and back), component-wise."""
_S = math.sqrt(0.5)
Q_ENU_NED = np.array([0.0, _S, _S, 0.0])
"""(w, x, y, z) of the rotation taking NED vectors to ENU: 180 deg about (1, 1, 0)/sqrt(2)."""
Q_FRD_FLU = np.array([0.0, 1.0, 0.0, 0.0])
"""(w, x, y, z) of the rotation taking FLU vectors to FRD: 180 deg about x."""


def enu_to_ned(v: np.ndarray) -> np.ndarray:
    """World vectors [..., 3] (positions m, velocities m/s) ENU -> NED: (y, x, -z)."""
    return np.asarray(v, dtype=np.float64) @ _ENU_NED.T


def ned_to_enu(v: np.ndarray) -> np.ndarray:
    """World vectors [..., 3] NED -> ENU: (y, x, -z)."""
    return np.asarray(v, dtype=np.float64) @ _ENU_NED.T


def flu_to_frd(v: np.ndarray) -> np.ndarray:
    """Body vectors [..., 3] (velocities, body rates rad/s, forces) FLU -> FRD: (x, -y, -z)."""
    return np.asarray(v, dtype=np.float64) * _FLU_FRD


def frd_to_flu(v: np.ndarray) -> np.ndarray:
    """Body vectors [..., 3] FRD -> FLU: (x, -y, -z)."""
    return np.asarray(v, dtype=np.float64) * _FLU_FRD


def _sandwich(left: np.ndarray, q: np.ndarray, right: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    out = quat_mul(quat_mul(np.broadcast_to(left, q.shape), q), np.broadcast_to(right, q.shape))
    # One sign for a rotation (w >= 0), and NaN everywhere when any input component is NaN (PX4
    # marks an invalid attitude with q[0] = NaN only, which the products would not all carry).
    out = np.where(out[..., :1] < 0.0, -out, out)
    return np.where(np.all(np.isfinite(q), axis=-1, keepdims=True), out, np.nan)


def quat_ned_frd_to_enu_flu(q_ned_frd: np.ndarray) -> np.ndarray:
    """Attitude [..., 4] (w, x, y, z) body FRD -> NED (PX4's ``VehicleOdometry.q``) -> body FLU ->
    ENU (ours): ``q_enu_flu = Q_ENU_NED * q_ned_frd * Q_FRD_FLU``. Result has w >= 0."""
    return _sandwich(Q_ENU_NED, q_ned_frd, Q_FRD_FLU)


def quat_enu_flu_to_ned_frd(q_enu_flu: np.ndarray) -> np.ndarray:
    """Attitude [..., 4] (w, x, y, z) body FLU -> ENU -> body FRD -> NED (the inverse of
    :func:`quat_ned_frd_to_enu_flu`). Result has w >= 0."""
    # Both fixed rotations are 180 deg turns, their own inverses (up to the sign of q).
    return _sandwich(Q_ENU_NED, q_enu_flu, Q_FRD_FLU)


# --------------------------------------------------------------------------- PX4

POSE_FRAME_NED = 1
"""VehicleOdometry.POSE_FRAME_NED (px4_msgs release/1.15)."""
VELOCITY_FRAME_NED = 1
"""VehicleOdometry.VELOCITY_FRAME_NED (px4_msgs release/1.15)."""

FMU_OUT_QOS = QoS(reliable=False, depth=1, transient_local=True)
"""How PX4's uXRCE-DDS client writes ``/fmu/out/*``: BEST_EFFORT, TRANSIENT_LOCAL, KEEP_LAST (PX4
asks for depth 0, which the agent passes on; a DDS history needs >= 1, so 1 here). A ROS 2 default
(reliable) reader never matches it."""
FMU_IN_QOS = QoS(reliable=False, depth=2, transient_local=False)
"""How PX4's client reads ``/fmu/in/*``: BEST_EFFORT, VOLATILE, KEEP_LAST 2 x the uORB queue length
(1 for offboard_control_mode and vehicle_rates_setpoint, which define no ORB_QUEUE_LENGTH). Any
writer matches it."""
PX4_CLIENT_QOS = QoS(reliable=False, depth=1, transient_local=True)
"""A companion computer's profile for both directions, as px4_ros_com's offboard example: BEST_EFFORT,
TRANSIENT_LOCAL, KEEP_LAST 1. Matches FMU_OUT_QOS writers (subscribing) and FMU_IN_QOS readers
(publishing)."""


PX4_RELEASES = {"1.15": 0, "1.16": 1, "1.17": 1, "1.18": 4}
"""PX4 release -> the VehicleStatus MESSAGE_VERSION it publishes (px4_msgs release/<x> branches;
1.15 is unversioned, i.e. 0). The other types we use keep version 0 and their topic names."""
VEHICLE_STATUS_VERSIONS = (0, 1, 4)


def vehicle_status_version(px4_version: str) -> int | None:
    """The VehicleStatus version of a PX4 release (``"1.15"``, ``"1.16"``...); ``"auto"`` -> None
    (listen to every known version and use the one that arrives).

    Raises:
        ValueError: an unknown release, naming the known ones.
    """
    if px4_version == "auto":
        return None
    if px4_version not in PX4_RELEASES:
        raise ValueError(f"px4_version {px4_version!r}: expected 'auto' or one of {', '.join(PX4_RELEASES)}")
    return PX4_RELEASES[px4_version]


def vehicle_status_topic(namespace: str, version: int) -> str:
    """PX4's VehicleStatus topic: ``<ns>/fmu/out/vehicle_status``, with ``_v<N>`` for a version
    N > 0 (PX4's uXRCE-DDS client names a versioned topic so from 1.16 on)."""
    suffix = f"_v{version}" if version > 0 else ""
    return f"{namespace.rstrip('/')}/fmu/out/vehicle_status{suffix}"


def vehicle_status_type(version: int) -> str:
    """The type name to subscribe with: ``px4_msgs/msg/VehicleStatus``, tagged ``#v<N>`` for a
    version N > 0 (the DDS transport's class of that layout; rclpy drops the tag)."""
    if version not in VEHICLE_STATUS_VERSIONS:
        raise ValueError(f"VehicleStatus version {version}: known {VEHICLE_STATUS_VERSIONS}")
    return "px4_msgs/msg/VehicleStatus" + (f"#v{version}" if version > 0 else "")


def px4_odometry_state(msg: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """``px4_msgs/VehicleOdometry`` (NED / FRD) -> our frames (ENU / FLU).

    Returns:
        position_enu [3] (m), quat_wxyz_enu_flu [4] (body FLU -> ENU), velocity_enu [3] (m/s),
        body_rates_flu [3] (rad/s), stamp_s: ``timestamp_sample`` (the estimate's time; µs on PX4's
        clock, which the uXRCE-DDS time sync offsets to the agent's) in seconds. NaN fields stay
        NaN (a NaN ``q[0]`` makes the whole attitude NaN).

    Raises:
        ValueError: ``pose_frame`` or ``velocity_frame`` is not NED (1), naming the field; PX4 also
            publishes FRD (arbitrary heading) and body-frame velocities, which need another mapping.
    """
    if msg.pose_frame != POSE_FRAME_NED:
        raise ValueError(
            f"VehicleOdometry.pose_frame is {msg.pose_frame}; only POSE_FRAME_NED ({POSE_FRAME_NED}) "
            "is supported"
        )
    if msg.velocity_frame != VELOCITY_FRAME_NED:
        raise ValueError(
            f"VehicleOdometry.velocity_frame is {msg.velocity_frame}; only VELOCITY_FRAME_NED "
            f"({VELOCITY_FRAME_NED}) is supported"
        )
    position = ned_to_enu(np.asarray(msg.position, dtype=np.float64))
    quat = quat_ned_frd_to_enu_flu(np.asarray(msg.q, dtype=np.float64))
    velocity = ned_to_enu(np.asarray(msg.velocity, dtype=np.float64))
    rates = frd_to_flu(np.asarray(msg.angular_velocity, dtype=np.float64))
    return position, quat, velocity, rates, int(msg.timestamp_sample) * 1e-6


def _msgs_class(name: str) -> type:
    from . import msgs  # lazily: the rclpy transport brings its own classes

    return getattr(msgs, name)


def _finite_command(thrust_n: float, rates: np.ndarray, max_total_thrust_n: float) -> None:
    if not (math.isfinite(thrust_n) and np.all(np.isfinite(rates)) and rates.shape == (3,)):
        raise ValueError(f"non-finite or malformed CTBR command ({thrust_n}, {rates})")
    if not max_total_thrust_n > 0:
        raise ValueError(f"max_total_thrust_n must be > 0, got {max_total_thrust_n}")


def rates_setpoint(
    thrust_n: float,
    rates_flu: np.ndarray,
    max_total_thrust_n: float,
    timestamp_us: int = 0,
    cls: type | None = None,
    setpoint: float | None = None,
) -> Any:
    """A CTBR command as ``px4_msgs/VehicleRatesSetpoint`` for ``/fmu/in/vehicle_rates_setpoint``.

    Args:
        thrust_n: collective thrust (N).
        rates_flu: [3] body rates (rad/s) about FLU axes (p, q, r).
        max_total_thrust_n: the vehicle's total thrust at full throttle (N).
        timestamp_us: ``timestamp`` (µs).
        cls: the message class (default :class:`sim2real_ros.msgs.VehicleRatesSetpoint`).
        setpoint: the normalised thrust to send instead of ``thrust_n / max_total_thrust_n``: what
            the vehicle file says gives ``thrust_n`` through PX4's THR_MDL_FAC model and the real
            motors (:meth:`sim2real_runtime.vehicle.VehicleConfig.collective_setpoint`).

    Rates go out in FRD: roll = p, pitch = -q, yaw = -r. Thrust goes out normalised,
    ``thrust_body = [0, 0, -thrust_n / max_total_thrust_n]`` clipped to [-1, 0]. That assumes PX4's
    thrust curve is calibrated so normalised thrust is linear in thrust (THR_MDL_FAC set for the
    motors, e.g. 1 for thrust proportional to command squared, as our vehicle model has).

    Raises:
        ValueError: a non-finite command (the safety layer must stop NaN before here).
    """
    rates = np.asarray(rates_flu, dtype=np.float64)
    _finite_command(thrust_n, rates, max_total_thrust_n)
    msg = (cls or _msgs_class("VehicleRatesSetpoint"))()
    msg.timestamp = int(timestamp_us)
    frd = flu_to_frd(rates)
    msg.roll, msg.pitch, msg.yaw = float(frd[0]), float(frd[1]), float(frd[2])
    raw = thrust_n / max_total_thrust_n if setpoint is None else setpoint
    if not math.isfinite(raw):
        raise ValueError(f"non-finite thrust setpoint {raw}")
    throttle = float(np.clip(raw, 0.0, 1.0))
    msg.thrust_body = [0.0, 0.0, -throttle if throttle > 0.0 else 0.0]  # no -0.0 on the wire
    return msg


def rates_setpoint_command(msg: Any, max_total_thrust_n: float) -> tuple[float, np.ndarray]:
    """The inverse of :func:`rates_setpoint`, as a simulated PX4 applies it.

    Returns:
        thrust_n: ``-thrust_body[2] * max_total_thrust_n`` (N), clipped to [0, max_total_thrust_n];
        rates_flu: [3] (rad/s). Non-finite fields come back non-finite (the caller refuses them).
    """
    thrust = -float(msg.thrust_body[2]) * max_total_thrust_n
    if math.isfinite(thrust):
        thrust = min(max(thrust, 0.0), max_total_thrust_n)
    return thrust, frd_to_flu(np.array([msg.roll, msg.pitch, msg.yaw], dtype=np.float64))


def offboard_mode_body_rate(timestamp_us: int, cls: type | None = None) -> Any:
    """The offboard heartbeat for body-rate control: ``OffboardControlMode`` with ``body_rate`` True
    and every other flag False. PX4 leaves offboard when it stops for COM_OF_LOSS_T (1 s default)."""
    msg = (cls or _msgs_class("OffboardControlMode"))()
    msg.timestamp = int(timestamp_us)
    msg.position = msg.velocity = msg.acceleration = msg.attitude = False
    msg.thrust_and_torque = msg.direct_actuator = False
    msg.body_rate = True
    return msg


# --------------------------------------------------------------------------- Crazyflie

CF_MAX_THRUST_U16 = 60000
"""The largest thrust either Crazyswarm2 server passes on (both clip ``linear.z`` to [0, 60000]),
and the firmware's MAX_THRUST for the legacy setpoint (crtp_commander_rpyt.c)."""
CF_MIN_THRUST_U16 = 1000
"""Below this the firmware's legacy decoder sets thrust to 0 (MIN_THRUST, crtp_commander_rpyt.c)."""
CF_BACKENDS = ("cpp", "cflib")


def _pitch_sign(backend: str) -> float:
    if backend not in CF_BACKENDS:
        raise ValueError(f"Crazyswarm2 backend must be one of {CF_BACKENDS}, got {backend!r}")
    return 1.0 if backend == "cpp" else -1.0


def cmd_vel_legacy(
    thrust_n: float,
    rates_flu: np.ndarray,
    max_total_thrust_n: float,
    backend: str = "cpp",
    cls: type | None = None,
    setpoint: float | None = None,
) -> Any:
    """A CTBR command as the ``geometry_msgs/Twist`` of Crazyswarm2's ``/<cf>/cmd_vel_legacy``.

    Args:
        thrust_n: collective thrust (N).
        rates_flu: [3] body rates (rad/s) about FLU axes (p, q, r).
        max_total_thrust_n: total thrust at full motor command (N): 4 x motor_max_thrust_n.
        backend: the Crazyswarm2 server: ``"cpp"`` (crazyflie_server.cpp, the launch default) or
            ``"cflib"`` (crazyflie_server.py). They send the pitch with opposite signs (below).
        cls: the message class (default :class:`sim2real_ros.msgs.Twist`).
        setpoint: the normalised thrust (fraction of 65535) to send instead of the default
            ``sqrt(thrust_n / max_total_thrust_n)``. The stock Crazyflie compensates the battery
            voltage so that thrust is LINEAR in the command (motorsCompensateBatteryVoltage), which
            the vehicle file's curves say: pass
            :meth:`sim2real_runtime.vehicle.VehicleConfig.collective_setpoint` (the node does).

    The chain, read in the sources named in the module docstring:

    1. Crazyswarm2 (both servers): roll = ``linear.y``, pitch = ``-linear.x``, yawrate =
       ``angular.z``, thrust = ``linear.z`` clipped to [0, 60000] and truncated to uint16; then
       ``sendSetpoint(roll, pitch, yawrate, thrust)`` (crazyflie_cpp: pitch unchanged on the wire)
       or cflib ``send_setpoint`` (packs ``-pitch``: the pitch on the wire flips).
    2. Firmware, legacy RPYT decoder (crtp_commander_rpyt.c): values in deg and deg/s; with
       ``flightmode.stabModeRoll = 0`` and ``flightmode.stabModePitch = 0`` (rate mode; the default
       1 is angle mode) ``attitudeRate.roll = roll``, ``attitudeRate.pitch = pitch``; the yaw rate is
       inverted, ``attitudeRate.yaw = -yaw`` (stabModeYaw 0 = rate is the default). Thrust below
       1000 is 0, above 60000 is 60000, and all thrust is 0 until one packet with thrust 0
       unlocks it.
    3. Firmware PID rate loop (controller_pid.c) tracks ``(gyro.x, -gyro.y, gyro.z)``, gyro in the
       FLU body frame (deg/s).

    Hence, in deg/s: ``linear.y = p``, ``angular.z = -r``, ``linear.x = q`` (cpp) or ``-q``
    (cflib). Thrust: per-rotor thrust = motor_max_thrust_n * cmd**2 with cmd = PWM / 65535, so
    ``linear.z = round(65535 * sqrt(thrust_n / max_total_thrust_n))``, clipped to [0, 60000]
    (anything above is clipped by the server anyway: 60000 is 83.8 % of the full thrust).

    The Crazyflie must run the PID controller with ``flightmode.stabModeRoll = 0`` and
    ``flightmode.stabModePitch = 0``; in the default angle mode the same numbers are angles.

    Raises:
        ValueError: a non-finite command or an unknown backend.
    """
    rates = np.asarray(rates_flu, dtype=np.float64)
    _finite_command(thrust_n, rates, max_total_thrust_n)
    sign = _pitch_sign(backend)
    deg = np.degrees(rates)
    if setpoint is None:
        u16 = round(65535.0 * math.sqrt(min(max(thrust_n / max_total_thrust_n, 0.0), 1.0)))
    else:
        if not math.isfinite(setpoint):
            raise ValueError(f"non-finite thrust setpoint {setpoint}")
        u16 = round(65535.0 * min(max(setpoint, 0.0), 1.0))
    msg = (cls or _msgs_class("Twist"))()
    msg.linear.x = float(sign * deg[1])
    msg.linear.y = float(deg[0])
    msg.linear.z = float(min(u16, CF_MAX_THRUST_U16))
    msg.angular.x = msg.angular.y = 0.0
    msg.angular.z = float(-deg[2])
    return msg


def cmd_vel_legacy_thrust_u16(twist: Any) -> int:
    """The legacy thrust the firmware uses for a ``cmd_vel_legacy`` Twist: the server's clip to
    [0, 60000] and truncation, then the firmware's MIN_THRUST cut (below 1000 -> 0). A non-finite
    ``linear.z`` gives 0 here; callers refuse non-finite commands before."""
    z = float(twist.linear.z)
    if not math.isfinite(z):
        return 0
    u16 = int(min(max(z, 0.0), float(CF_MAX_THRUST_U16)))
    return 0 if u16 < CF_MIN_THRUST_U16 else u16


def cmd_vel_legacy_command(
    twist: Any, max_total_thrust_n: float, backend: str = "cpp"
) -> tuple[float, np.ndarray]:
    """The inverse of :func:`cmd_vel_legacy`, as server + firmware apply it.

    Returns:
        thrust_n: ``max_total_thrust_n * (u16 / 65535)**2`` (N) with u16 from
        :func:`cmd_vel_legacy_thrust_u16`; rates_flu: [3] (rad/s). Non-finite rate fields come back
        non-finite (the caller refuses them; check ``twist.linear.z`` yourself too).
    """
    sign = _pitch_sign(backend)
    u16 = cmd_vel_legacy_thrust_u16(twist)
    thrust = max_total_thrust_n * (u16 / 65535.0) ** 2
    rates_deg = np.array([twist.linear.y, sign * twist.linear.x, -twist.angular.z], dtype=np.float64)
    return thrust, np.radians(rates_deg)
