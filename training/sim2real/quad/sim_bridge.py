"""The quadrotor MuJoCo sim bridge: what a flight controller's ROS 2 side would publish, over DDS.

It flies one vehicle file (``vehicle.yaml``) in :class:`~sim2real.quad.mujoco_quad.QuadSim` on
simulated time, publishes ``/clock`` (rosgraph_msgs/Clock) and odometry, and obeys CTBR commands
(collective thrust and body rates), holding the last command as a flight controller does. Two
interfaces, chosen by :attr:`BridgeConfig.interface`; frames, units and sign conventions are those
of :mod:`sim2real_ros.px4` (sources cited there).

``"px4"``: PX4 v1.15 over its uXRCE-DDS bridge, QoS as PX4 sets it.

- publishes ``/fmu/out/vehicle_odometry`` (px4_msgs/VehicleOdometry: NED position and velocity,
  q body FRD -> NED, body rates FRD, µs timestamps of simulated time) and
  ``/fmu/out/vehicle_status`` (arming_state ARMED; nav_state, below);
- subscribes ``/fmu/in/offboard_control_mode`` and ``/fmu/in/vehicle_rates_setpoint``.
- nav_state is OFFBOARD while an OffboardControlMode selecting body rates (body_rate True,
  position/velocity/acceleration/attitude False, as PX4 takes the highest level set) arrived within
  ``offboard_timeout_s`` of simulated time; the latest VehicleRatesSetpoint is applied only then.
  Otherwise nav_state is ``failsafe_nav_state`` (AUTO_LOITER, "Hold") and the bridge flies a level
  hover as a stand-in for PX4's own failsafe/hold controller: body rates that level the vehicle,
  zero yaw rate, the vehicle's weight as thrust (divided by the tilt's cosine, with a little
  vertical-speed damping). It holds neither position nor altitude exactly; PX4 would.
- Simplified: always armed, no VEHICLE_CMD_DO_SET_MODE / ARM needed (the real vehicle needs both,
  as px4_ros_com's offboard example sends), and OFFBOARD comes back as soon as the heartbeat does.
  PX4's own timeout is COM_OF_LOSS_T (1 s by default); the default here is 0.5 s.

``"crazyflie"``: a Crazyflie behind Crazyswarm2, in rate mode (flightmode.stabModeRoll =
stabModePitch = 0, see :func:`sim2real_ros.px4.cmd_vel_legacy`).

- publishes ``/<cf_name>/odom`` (nav_msgs/Odometry, frame_id ``world`` as Crazyswarm2's default
  reference frame, child ``<cf_name>``): ENU pose, twist in the body (FLU) frame, linear m/s and
  angular rad/s, stamped at publication (as the servers stamp on reception). That is REP-105 and
  the layout of the cflib server's odometry (kalman.statePX..: body-frame velocity), except that
  cflib publishes the gyro in deg/s and the cpp server publishes frame_id ``<cf_name>``, world-frame
  velocity and no angular rates: on the real vehicle, check which one runs;
- subscribes ``/<cf_name>/cmd_vel_legacy`` (geometry_msgs/Twist, reliable as the servers read it).
- The firmware's legacy decoder: thrust below 1000 is 0, thrust is locked at 0 until a command with
  thrust 0 arrives (``cf_thrust_lock``), the command watchdog (supervisor.c): a setpoint older than
  0.5 s levels the vehicle (roll and pitch angle 0, yaw rate 0, thrust kept); older than 2 s stops
  the motors and locks them (the supervisor's Locked state needs a reboot: here, :meth:`reset`).
- Until the first command with thrust the vehicle is held still at its start pose (a hand launch):
  the deploy node may take seconds to come up.

Both: odometry at ``odom_rate_hz`` with Gaussian noise on position and velocity, published
``odom_latency_s`` after capture; a non-finite command is refused (logged, the last good one kept);
the vehicle counts as crashed (and stays where it is) below 0.02 m after take-off or tilted more
than 90 deg. Paced to ``real_time_factor`` times the wall clock (0: as fast as it can).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim2real_ros import px4
from sim2real_ros.convert import fill_header
from sim2real_ros.msgs import (
    ARMING_STATE_ARMED,
    NAVIGATION_STATE_AUTO_LOITER,
    NAVIGATION_STATE_OFFBOARD,
    VEHICLE_TYPE_ROTARY_WING,
)
from sim2real_ros.transport import DEFAULT, QoS, Transport, fill_stamp, run_paced
from sim2real_runtime.rotations import quat_to_matrix
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, VehicleConfig

from .mujoco_quad import QuadSim, QuadState

CLOCK_QOS = QoS(reliable=True, depth=1)
"""/clock as the nav bridge publishes it: reliable, keep last 1."""

MAV_TYPE_QUADROTOR = 2

CF_WDT_LEVEL_S = 0.5
"""Crazyflie firmware COMMANDER_WDT_TIMEOUT_STABILIZE (supervisor.c): level out."""
CF_WDT_STOP_S = 2.0
"""Crazyflie firmware COMMANDER_WDT_TIMEOUT_SHUTDOWN (supervisor.c): stop the motors."""
CRASH_ALTITUDE_M = 0.02


@dataclass(frozen=True)
class BridgeConfig:
    """Interface, rates, delays, noise and failsafe behaviour of the simulated flight controller."""

    interface: str = "px4"
    """``"px4"`` (uXRCE-DDS topics) or ``"crazyflie"`` (Crazyswarm2 topics)."""
    physics_rate_hz: float = 500.0
    """MuJoCo, motor and rate-loop rate (Hz); publishing rates round to whole steps."""
    odom_rate_hz: float = 100.0
    """Odometry rate (Hz); PX4's bridge rate-limits vehicle_odometry to 100 Hz."""
    px4_status_version: int = 0
    """px4: the VehicleStatus version published, as a PX4 release would (0: 1.15 on
    ``vehicle_status``; 1: 1.16/1.17 and 4: 1.18 on ``vehicle_status_v<N>``, their layouts)."""
    status_rate_hz: float = 5.0
    """px4: vehicle_status rate (Hz), also published at once on every nav_state change."""
    clock_rate_hz: float = 250.0
    """/clock rate (Hz)."""
    odom_latency_s: float = 0.005
    """Delay between an odometry sample (its ``timestamp_sample``) and its publication (s)."""
    position_noise_std_m: float = 0.002
    """Standard deviation of the Gaussian noise on published positions (m), per axis."""
    velocity_noise_std_mps: float = 0.01
    """Standard deviation of the Gaussian noise on published velocities (m/s), per axis."""
    max_total_thrust_n: float = 0.0
    """Thrust at full throttle (N) that normalised / uint16 thrust scales to; 0 = 4 x the vehicle
    file's motor_max_thrust_n."""
    offboard_timeout_s: float = 0.5
    """px4: OFFBOARD lasts this long (simulated s) after the last body-rate heartbeat."""
    px4_namespace: str = ""
    """px4: prefix of the /fmu topics (``/px4_1`` for ``/px4_1/fmu/...``), as PX4's client namespace."""
    failsafe_nav_state: int = NAVIGATION_STATE_AUTO_LOITER
    """px4: nav_state outside OFFBOARD (AUTO_LOITER = 4, or POSCTL = 2); the bridge flies a level
    hover in either."""
    cf_name: str = "cf231"
    """crazyflie: the Crazyswarm2 name (topic prefix and odometry child frame)."""
    cf_backend: str = "cpp"
    """crazyflie: the Crazyswarm2 server whose pitch sign to apply (``"cpp"`` or ``"cflib"``)."""
    cf_thrust_lock: bool = True
    """crazyflie: thrust stays 0 until a command with thrust 0 arrives, as the firmware does."""
    level_gain_per_s: float = 5.0
    """Body rate (rad/s) per unit of tilt (sine) with which the failsafe / level-out levels."""
    start_position_m: tuple[float, float, float] = (0.0, 0.0, 1.0)
    """Start position (m, ENU); the vehicle starts level, at rest, motors at the hover command."""
    real_time_factor: float = 1.0
    """Simulated seconds per wall-clock second; 0 = as fast as possible."""


def _steps(physics_rate_hz: float, rate_hz: float) -> float:
    if not rate_hz > 0:
        raise ValueError(f"publishing rates must be > 0 Hz, got {rate_hz}")
    return physics_rate_hz / rate_hz


def reference_window(transport: Transport, reference: Any, now_s: float, start_s: float) -> Any:
    """A nav_msgs/Path of the next 2.5 s of ``reference`` (frame ``world``): 51 poses 50 ms apart
    stamped from ``now_s``, the reference's time being ``stamp - start_s`` (held at 0 before it
    starts). Linear interpolation between the poses is within 0.2 mm of a figure-eight."""
    path_cls, pose_cls = transport.msg("nav_msgs/msg/Path"), transport.msg("geometry_msgs/msg/PoseStamped")
    msg = path_cls()
    msg.header.frame_id = "world"
    fill_stamp(msg.header.stamp, now_s)
    poses = []
    for k in range(51):
        t = now_s + 0.05 * k
        p = reference.position(np.array([max(t - start_s, 0.0)]))[0]
        ps = pose_cls()
        ps.header.frame_id = "world"
        fill_stamp(ps.header.stamp, t)
        ps.pose.position.x, ps.pose.position.y, ps.pose.position.z = (float(v) for v in p)
        ps.pose.orientation.w = 1.0
        poses.append(ps)
    msg.poses = poses
    return msg


def level_rates(quat_wxyz: np.ndarray, gain_per_s: float) -> np.ndarray:
    """Body rates [3] (rad/s, FLU) that turn the body's z axis towards world up, zero yaw rate:
    ``gain * (z_body x up_body)`` with ``up_body`` = world up in body coordinates."""
    up = quat_to_matrix(quat_wxyz)[2]  # third row of R (body -> world) = world z in body axes
    return gain_per_s * np.array([-up[1], up[0], 0.0])


class QuadSimBridge:
    """One simulated quadrotor publishing and subscribing through ``transport``.

    Args:
        transport: normally a :class:`~sim2real_ros.dds.DdsTransport`.
        vehicle: the vehicle to fly.
        config: interface, rates, delays, noise.
    """

    def __init__(
        self, transport: Transport, vehicle: VehicleConfig, config: BridgeConfig = BridgeConfig()
    ) -> None:
        if config.interface not in ("px4", "crazyflie"):
            raise ValueError(f"BridgeConfig.interface must be 'px4' or 'crazyflie', got {config.interface!r}")
        if config.cf_backend not in px4.CF_BACKENDS:
            raise ValueError(f"BridgeConfig.cf_backend must be one of {px4.CF_BACKENDS}")
        self.t = transport
        self.vehicle = vehicle
        self.cfg = config
        self.sim = QuadSim(vehicle, physics_rate_hz=config.physics_rate_hz)
        self.dt = 1.0 / config.physics_rate_hz
        self.weight_n = vehicle.mass_kg * STANDARD_GRAVITY_MPS2
        self.max_thrust_n = config.max_total_thrust_n or 4.0 * vehicle.motor_max_thrust_n
        self.odom_steps = _steps(config.physics_rate_hz, config.odom_rate_hz)
        self.status_steps = _steps(config.physics_rate_hz, config.status_rate_hz)
        self.clock_steps = _steps(config.physics_rate_hz, config.clock_rate_hz)
        self.odom_delay_steps = round(config.odom_latency_s * config.physics_rate_hz)
        self.px4 = config.interface == "px4"
        self.clock_s = 0.0  # simulated time, continuous across reset() calls
        self.commands_received = 0
        self.commands_refused = 0
        self.heartbeats_received = 0
        self._warned_mode = False
        self._pending: deque[tuple[int, Any]] = deque()
        self._cls = {n: transport.msg(n) for n in ("rosgraph_msgs/msg/Clock",)}
        self.pub_clock = transport.publisher("/clock", "rosgraph_msgs/msg/Clock", CLOCK_QOS)
        fmu = config.px4_namespace.rstrip("/") + "/fmu"
        if self.px4:
            self._status_type = px4.vehicle_status_type(config.px4_status_version)
            for n in ("px4_msgs/msg/VehicleOdometry", self._status_type):
                self._cls[n] = transport.msg(n)
            self.pub_odom = transport.publisher(
                f"{fmu}/out/vehicle_odometry", "px4_msgs/msg/VehicleOdometry", px4.FMU_OUT_QOS
            )
            self.pub_status = transport.publisher(
                px4.vehicle_status_topic(config.px4_namespace, config.px4_status_version),
                self._status_type,
                px4.FMU_OUT_QOS,
            )
        else:
            self._cls["nav_msgs/msg/Odometry"] = transport.msg("nav_msgs/msg/Odometry")
            self.pub_odom = transport.publisher(f"/{config.cf_name}/odom", "nav_msgs/msg/Odometry", DEFAULT)
        self.reset()
        # Last: a transport may deliver from its own thread as soon as the subscription exists.
        if self.px4:
            transport.subscribe(
                f"{fmu}/in/offboard_control_mode",
                "px4_msgs/msg/OffboardControlMode",
                px4.FMU_IN_QOS,
                self._on_offboard_mode,
            )
            transport.subscribe(
                f"{fmu}/in/vehicle_rates_setpoint",
                "px4_msgs/msg/VehicleRatesSetpoint",
                px4.FMU_IN_QOS,
                self._on_rates_setpoint,
            )
        else:
            topic = f"/{config.cf_name}/cmd_vel_legacy"
            transport.subscribe(topic, "geometry_msgs/msg/Twist", DEFAULT, self._on_cmd_vel_legacy)

    # ----------------------------------------------------------------------------- episodes

    def reset(self, position_m: tuple[float, float, float] | None = None, seed: int = 0) -> None:
        """Level, at rest, at ``position_m`` (default the config's start), motors at hover; commands,
        offboard state and the Crazyflie's watchdog and thrust lock start afresh."""
        pos = self.cfg.start_position_m if position_m is None else position_m
        self.state: QuadState = self.sim.reset(np.asarray(pos, dtype=np.float64), hover=True)
        self._offset_s = self.clock_s
        self._k = 0
        self._n_odom = self._n_status = self._n_clock = 0
        self._rng = np.random.default_rng(seed)
        self._pending.clear()
        # The command: (thrust N, rates FLU rad/s, simulated time received); one tuple, swapped whole
        # (callbacks may run on the transport's thread).
        self._cmd: tuple[float, np.ndarray, float] | None = None
        self._offboard_s = -math.inf  # time of the last body-rate heartbeat
        self._nav_state = self.cfg.failsafe_nav_state
        self._nav_state_s = self.clock_s
        self._thrust_unlocked = not self.cfg.cf_thrust_lock
        self._held = not self.px4  # crazyflie: held at the start pose until a command with thrust
        self._motors_stopped = False
        self._airborne = pos[2] > CRASH_ALTITUDE_M
        self._crashed = False
        self._warned_lock = False
        self._publish_clock()
        self._capture_odom()
        self._flush_odom(force=True)
        if self.px4:
            self._publish_status()

    def status(self) -> dict[str, Any]:
        """Simulated time (s), position (m, ENU), crashed, and the flight controller's mode."""
        s = self.state
        return {
            "time_s": round(self.clock_s, 6),
            "position_m": [float(x) for x in s.position_m],
            "crashed": self._crashed,
            "mode": self.mode(),
            "commands_received": self.commands_received,
            "commands_refused": self.commands_refused,
        }

    def mode(self) -> str:
        """px4: ``"offboard"`` or ``"failsafe"``; crazyflie: ``"held"``, ``"flying"``,
        ``"level_out"`` or ``"stopped"``."""
        if self.px4:
            return "offboard" if self._in_offboard() else "failsafe"
        if self._motors_stopped:
            return "stopped"
        if self._held:
            return "held"
        cmd = self._cmd
        if cmd is not None and self.clock_s - cmd[2] > CF_WDT_LEVEL_S:
            return "level_out"
        return "flying"

    @property
    def nav_state(self) -> int:
        """px4: the nav_state the bridge reports (OFFBOARD or ``failsafe_nav_state``)."""
        return NAVIGATION_STATE_OFFBOARD if self._in_offboard() else self.cfg.failsafe_nav_state

    # ----------------------------------------------------------------------------- stepping

    def advance(self) -> None:
        """One physics step with the command in force, then whatever is due for publication."""
        k = self._k + 1
        self._k = k
        self.clock_s = self._offset_s + k * self.dt
        setpoint, rates = self._command_in_force()
        if not (self._crashed or self._held):
            # The wire's normalised thrust is what the firmware gets: its own thrust model and the
            # vehicle's motors (the vehicle file) turn it into thrust.
            self.state = self.sim.step_setpoint(setpoint, rates, self.dt)
            self._check_crash()
        if k >= round((self._n_odom + 1) * self.odom_steps):
            self._n_odom += 1
            self._capture_odom()
        self._flush_odom()
        if k >= round((self._n_clock + 1) * self.clock_steps):
            self._n_clock += 1
            self._publish_clock()
        if self.px4:
            due = k >= round((self._n_status + 1) * self.status_steps)
            if due:
                self._n_status += 1
            nav = self.nav_state
            if nav != self._nav_state:
                self._nav_state, self._nav_state_s = nav, self.clock_s
                if nav == NAVIGATION_STATE_OFFBOARD:
                    self.t.log.info("nav_state OFFBOARD: applying VehicleRatesSetpoint")
                else:
                    self.t.log.warning(f"offboard heartbeat lost: nav_state {nav}, level hover")
                due = True
            if due:
                self._publish_status()

    def run(self, until: Callable[[], bool], real_time_factor: float | None = None) -> None:
        """Step and publish until ``until()`` is true, paced to the real-time factor."""
        rtf = self.cfg.real_time_factor if real_time_factor is None else real_time_factor
        run_paced(self.t, self.advance, lambda: self.clock_s, until, rtf)

    def _in_offboard(self) -> bool:
        return self.clock_s - self._offboard_s <= self.cfg.offboard_timeout_s

    def _command_in_force(self) -> tuple[float, np.ndarray]:
        cmd = self._cmd
        if self.px4:
            if self._in_offboard() and cmd is not None:
                return cmd[0], cmd[1]
            return self._failsafe_hover()
        if self._motors_stopped or self._held or cmd is None:
            return 0.0, np.zeros(3)
        age = self.clock_s - cmd[2]  # the watchdog acts in flight (the supervisor's Flying state)
        if age > CF_WDT_STOP_S:
            self._motors_stopped = True
            self.t.log.error(
                f"no cmd_vel_legacy for {age:.2f} s: motors stopped and locked (firmware supervisor)"
            )
            return 0.0, np.zeros(3)
        if age > CF_WDT_LEVEL_S:  # level out, thrust kept ("Keep Z as it is")
            return cmd[0], level_rates(self.state.quat_wxyz, self.cfg.level_gain_per_s)
        return cmd[0], cmd[1]

    def _failsafe_hover(self) -> tuple[float, np.ndarray]:
        s = self.state
        cos_tilt = max(quat_to_matrix(s.quat_wxyz)[2, 2], 0.5)
        thrust = self.vehicle.mass_kg * (STANDARD_GRAVITY_MPS2 - 2.0 * s.velocity_mps[2]) / cos_tilt
        thrust = min(max(thrust, 0.0), self.max_thrust_n)
        return self.vehicle.collective_setpoint(thrust), level_rates(s.quat_wxyz, self.cfg.level_gain_per_s)

    def _check_crash(self) -> None:
        s = self.state
        z = float(s.position_m[2])
        if z > CRASH_ALTITUDE_M:
            self._airborne = True
        tilted = quat_to_matrix(s.quat_wxyz)[2, 2] < 0.0
        if (self._airborne and z < CRASH_ALTITUDE_M) or tilted or not np.all(np.isfinite(s.position_m)):
            self._crashed = True
            self.t.log.error(f"crashed at t={self.clock_s:.3f} s, position {np.round(s.position_m, 3)}")

    # ----------------------------------------------------------------------------- commands

    def _refuse(self, what: str) -> None:
        self.commands_refused += 1
        n = self.commands_refused
        if n == 1 or n % 100 == 0:
            self.t.log.error(f"refused non-finite {what} ({n} so far); keeping the last good command")

    def _on_offboard_mode(self, msg: Any) -> None:
        higher = msg.position or msg.velocity or msg.acceleration or msg.attitude
        if msg.body_rate and not higher:
            self._offboard_s = self.clock_s
            self.heartbeats_received += 1
        elif not self._warned_mode:
            self._warned_mode = True
            self.t.log.warning(
                "OffboardControlMode does not select body rates (body_rate True and position, velocity, "
                "acceleration, attitude False): only body-rate offboard control is simulated"
            )

    def _on_rates_setpoint(self, msg: Any) -> None:
        try:
            thrust, rates = px4.rates_setpoint_command(msg, self.max_thrust_n)
        except Exception:  # a malformed message must not take the bridge down
            thrust, rates = math.nan, np.zeros(3)
        if not (math.isfinite(thrust) and np.all(np.isfinite(rates))):
            self._refuse("VehicleRatesSetpoint")
            return
        self._cmd = (thrust / self.max_thrust_n, rates, self.clock_s)  # the normalised setpoint
        self.commands_received += 1

    def _on_cmd_vel_legacy(self, msg: Any) -> None:
        try:
            values = (msg.linear.x, msg.linear.y, msg.linear.z, msg.angular.z)
            finite = all(math.isfinite(float(v)) for v in values)
            if finite:
                thrust, rates = px4.cmd_vel_legacy_command(msg, self.max_thrust_n, self.cfg.cf_backend)
                raw = int(min(max(float(msg.linear.z), 0.0), px4.CF_MAX_THRUST_U16))  # the server's
        except Exception:
            finite = False
        if not finite:
            self._refuse("cmd_vel_legacy")
            return
        self.commands_received += 1
        if self._motors_stopped:
            return  # locked until reset, as the firmware's supervisor
        if raw == 0:
            self._thrust_unlocked = True  # crtp_commander_rpyt.c: a packet with thrust 0 unlocks
        if not self._thrust_unlocked:
            if not self._warned_lock and thrust > 0.0:
                self._warned_lock = True
                self.t.log.warning("thrust locked: send one cmd_vel_legacy with linear.z = 0 first")
            thrust = 0.0
        if thrust > 0.0:
            self._held = False
        # The firmware's legacy thrust after the cuts, as a fraction of full command (battery
        # compensation makes it linear in thrust; the vehicle file's curves say so).
        self._cmd = (
            px4.cmd_vel_legacy_thrust_u16(msg) / 65535.0 if thrust > 0.0 else 0.0,
            rates,
            self.clock_s,
        )

    # ----------------------------------------------------------------------------- messages

    def _publish_clock(self) -> None:
        msg = self._cls["rosgraph_msgs/msg/Clock"]()
        fill_stamp(msg.clock, self.clock_s)
        self.pub_clock.publish(msg)

    def _noisy(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.state
        pos = s.position_m + self._rng.normal(0.0, 1.0, 3) * self.cfg.position_noise_std_m
        vel = s.velocity_mps + self._rng.normal(0.0, 1.0, 3) * self.cfg.velocity_noise_std_mps
        return pos, vel

    def _capture_odom(self) -> None:
        s = self.state
        pos, vel = self._noisy()
        if self.px4:
            msg = self._cls["px4_msgs/msg/VehicleOdometry"]()
            msg.timestamp_sample = round(self.clock_s * 1e6)
            msg.pose_frame = px4.POSE_FRAME_NED
            msg.position = [float(x) for x in px4.enu_to_ned(pos)]
            msg.q = [float(x) for x in px4.quat_enu_flu_to_ned_frd(s.quat_wxyz)]
            msg.velocity_frame = px4.VELOCITY_FRAME_NED
            msg.velocity = [float(x) for x in px4.enu_to_ned(vel)]
            msg.angular_velocity = [float(x) for x in px4.flu_to_frd(s.body_rates_radps)]
            msg.position_variance = [self.cfg.position_noise_std_m**2] * 3
            msg.velocity_variance = [self.cfg.velocity_noise_std_mps**2] * 3
        else:
            msg = self._cls["nav_msgs/msg/Odometry"]()
            msg.child_frame_id = self.cfg.cf_name
            p, q = msg.pose.pose.position, msg.pose.pose.orientation
            p.x, p.y, p.z = (float(x) for x in pos)
            q.w, q.x, q.y, q.z = (float(x) for x in s.quat_wxyz)
            v_body = quat_to_matrix(s.quat_wxyz).T @ vel
            tw = msg.twist.twist
            tw.linear.x, tw.linear.y, tw.linear.z = (float(x) for x in v_body)
            tw.angular.x, tw.angular.y, tw.angular.z = (float(x) for x in s.body_rates_radps)
        self._pending.append((self._k + self.odom_delay_steps, msg))

    def _flush_odom(self, force: bool = False) -> None:
        q = self._pending
        while q and (force or q[0][0] <= self._k):
            msg = q.popleft()[1]
            if self.px4:
                msg.timestamp = round(self.clock_s * 1e6)
            else:
                fill_header(msg.header, self.clock_s, "world")
            self.pub_odom.publish(msg)

    def _publish_status(self) -> None:
        msg = self._cls[self._status_type]()
        now_us = round(self.clock_s * 1e6)
        msg.timestamp = now_us
        msg.armed_time = round(self._offset_s * 1e6)
        msg.takeoff_time = round(self._offset_s * 1e6)
        msg.arming_state = ARMING_STATE_ARMED
        msg.nav_state = msg.nav_state_user_intention = self._nav_state
        msg.nav_state_timestamp = round(self._nav_state_s * 1e6)
        msg.failsafe = self._nav_state != NAVIGATION_STATE_OFFBOARD and self._offboard_s > -math.inf
        msg.vehicle_type = VEHICLE_TYPE_ROTARY_WING
        msg.system_type = MAV_TYPE_QUADROTOR
        msg.system_id = msg.component_id = 1
        msg.safety_off = msg.power_input_valid = msg.pre_flight_checks_pass = True
        self.pub_status.publish(msg)
