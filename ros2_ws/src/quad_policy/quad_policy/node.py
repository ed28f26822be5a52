"""The quadrotor policy node: its I/O adapter on :class:`sim2real_ros.policy_node.PolicyNode`
(which owns loading, the state topic, the schedule, the watchdog, the e-stop and the final check).

Inputs: odometry (nav_msgs/Odometry in ENU/FLU, or px4_msgs/VehicleOdometry in NED/FRD,
converted), a reference (geometry_msgs/PoseStamped to hold, or a nav_msgs/Path whose pose stamps
say when each point is due), an e-stop, PX4's VehicleStatus (arming and mode), and the run-time
parameter ``aggressiveness``.

A steady-clock timer at ``loop_rate_hz`` (200 Hz) runs everything: the watchdog, the policy at
its contract's rate (scheduled on the node clock, so it also runs at any simulation speed), the
safety layer (:class:`sim2real_runtime.quad_control.QuadSafety`) and the setpoint stream.

Modes, reported on ``state_topic`` (latched):

- ``waiting: <why>``: no odometry yet, not armed, not in offboard, no policy step yet. PX4: the
  heartbeat and a level hover setpoint stream (PX4 only enters offboard over a live stream); the
  node never arms or switches mode itself. Crazyflie: nothing is sent.
- ``flying``: following the reference. ``holding``: no reference (or it ended): the policy holds
  the position where control started or the last reference point.
- ``descending: <why>``: e-stop, geofence breach, NaN or stale odometry (crazyflie: level, sink,
  and zero thrust after ``land_cutoff_s``).
- ``failsafe: <why>`` (px4): stale or invalid odometry: the offboard stream stops, so PX4's own
  failsafe (its estimator, COM_OF_LOSS_T, COM_OBL_RC_ACT) takes over.
- ``stopped: <why>; re-enable: /estop true, then false``: after a cut-off (crazyflie: motors cut
  after ``land_cutoff_s`` descending; px4: the offboard stream stopped in flight) the node stays
  off, whatever odometry, arming or mode say, until the operator engages and releases the e-stop
  (crazyflie: zero thrust is streamed; px4: nothing is sent).
- ``error: <why>``: the policy or vehicle could not be loaded; nothing is commanded.

Every command leaves through :meth:`QuadNode._send`, which checks once more that it is finite and
inside the limits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim2real_ros import node_main, px4
from sim2real_ros.policy_node import PolicyNode
from sim2real_ros.teleop_arbiter import HUMAN
from sim2real_ros.transport import DEFAULT, SENSOR_DATA, stamp_to_s
from sim2real_runtime.policy import OnnxPolicy
from sim2real_runtime.quad_control import QuadController, QuadSafety, QuadSafetyConfig
from sim2real_runtime.quad_reference import SampledReference, lookahead_times
from sim2real_runtime.rotations import quat_to_matrix
from sim2real_runtime.teleop.mapping import QuadTeleop
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, VehicleConfig, curve_inverse, curve_value

from .params import QuadNodeParams

ODOM = "nav_msgs/msg/Odometry"
PX4_ODOM = "px4_msgs/msg/VehicleOdometry"
PX4_STATUS = "px4_msgs/msg/VehicleStatus"
OFFBOARD_MODE = "px4_msgs/msg/OffboardControlMode"
RATES_SETPOINT = "px4_msgs/msg/VehicleRatesSetpoint"
POSE_STAMPED = "geometry_msgs/msg/PoseStamped"
PATH = "nav_msgs/msg/Path"
TWIST = "geometry_msgs/msg/Twist"


def _quat_wxyz(q: Any) -> np.ndarray:
    return np.array([q.w, q.x, q.y, q.z], dtype=np.float64)


class QuadNode(PolicyNode):
    """The quadrotor I/O adapter on :class:`sim2real_ros.policy_node.PolicyNode`: odometry,
    references and (PX4) vehicle status in, CTBR setpoints out, and the descent and failsafe
    modes. Construct it with a transport and parameters; it never raises on bad input."""

    DOMAIN = "quad"
    PARAMS = QuadNodeParams
    ALARM_PREFIXES = ("descending", "failsafe", "stopped", "error")
    ESTOP_ACTION = ": descending"
    p: QuadNodeParams

    # ----------------------------------------------------------------------------- set-up

    def load_description(self) -> VehicleConfig:
        return self.domain.load_description(self.p.vehicle)

    def make_controller(
        self, policy: OnnxPolicy, description: VehicleConfig, control_rate_hz: float | None
    ) -> QuadController:
        p = self.p
        fraction = p.max_thrust_fraction
        if p.interface == "crazyflie":
            # Crazyswarm2 and the firmware clip the legacy thrust at 60000 of 65535: above that
            # a command would be cut silently, so the limit says so instead.
            # (the thrust that setpoint gives, through the vehicle file's thrust model and curve).
            fc = description.flight_controller
            top = curve_value(
                fc.thrust_curve, curve_inverse(fc.firmware_thrust_curve, px4.CF_MAX_THRUST_U16 / 65535.0)
            )
            fraction = min(fraction, float(top))
        controller = self.domain.controller(
            policy, description, control_rate_hz, allow_outside_envelope=p.allow_outside_envelope
        )
        cfg = QuadSafetyConfig(
            max_tilt_deg=p.max_tilt_deg,
            max_thrust_fraction=fraction,
            geofence_min_m=p.geofence_min_m,
            geofence_max_m=p.geofence_max_m,
            max_rates_radps=tuple(controller.action_term.high[1:]),
        )
        self.safety = self.domain.safety(description, cfg)
        return controller

    def loaded_message(self, policy: OnnxPolicy) -> str:
        p, v = self.p, self.description
        return (
            f"loaded {policy.path} for {v.name} ({p.interface}): policy at "
            f"{self.controller.control_rate_hz:g} Hz, commands at {p.loop_rate_hz:g} Hz, "
            f"thrust <= {self.safety.high[0] * v.mass_kg:.3g} N, tilt <= {p.max_tilt_deg:g} deg"
        )

    def watchdog_timeouts(self) -> dict[str, float]:
        return {"odom": self.p.odom_timeout_s}

    def setup_io(self) -> None:
        p, t = self.p, self.t
        self.vehicle: VehicleConfig | None = self.description
        if self.controller is None:
            self.safety: QuadSafety | None = None
        self.aggressiveness = p.aggressiveness
        # Latest odometry in ENU/FLU: position, attitude (w, x, y, z), velocity, body rates.
        self.odom: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.odom_fault: str | None = None
        self.reference: SampledReference | None = None
        self.hold_point: np.ndarray | None = None
        # The operator's nudge of the reference (m, world ENU; teleop): it persists after the
        # operator releases, until a new reference arrives or control (re)engages.
        self.ref_offset = np.zeros(3)
        self._ref_seen: np.ndarray | None = None  # the reference the policy saw last (m)
        self._ref_limited = False
        self.armed = p.interface != "px4"  # the Crazyflie path has no arming state to read
        self.offboard = p.interface != "px4"
        self.engaged = False  # the policy is flying (reset on every (re)engagement)
        self._unlock_since_s: float | None = None  # crazyflie: the thrust unlock stream began (steady)
        self.target = np.array([STANDARD_GRAVITY_MPS2, 0.0, 0.0, 0.0])
        self.descend_since_s: float | None = None
        # Why the motors were cut (crazyflie) or the offboard stream stopped (px4) in flight; the
        # node stays off until the operator cycles the e-stop (engaged, then released).
        self.cut: str | None = None
        self._estop_prev = False
        self.descent_in_flight = False  # descending (e-stop, geofence) from flight, not the ground
        self.last_cmd: np.ndarray | None = None  # last (accel, rates) sent, for tests
        self.safety_events: dict[str, int] = {}
        if p.interface == "px4":
            ns = p.px4_namespace.rstrip("/")
            self._mode_cls = t.msg(OFFBOARD_MODE)
            self._rates_cls = t.msg(RATES_SETPOINT)
            self.mode_pub = t.publisher(
                f"{ns}/fmu/in/offboard_control_mode", OFFBOARD_MODE, px4.PX4_CLIENT_QOS
            )
            self.cmd_topic = f"{ns}/fmu/in/vehicle_rates_setpoint"
            self.rates_pub = self.command_pub = t.publisher(
                self.cmd_topic, RATES_SETPOINT, px4.PX4_CLIENT_QOS
            )
            self.odom_topic = p.odom_topic or f"{ns}/fmu/out/vehicle_odometry"
        else:
            self._twist_cls = t.msg(TWIST)
            self.cmd_topic = f"/{p.cf_name}/cmd_vel_legacy"
            self.cmd_pub = self.command_pub = t.publisher(self.cmd_topic, TWIST, DEFAULT)
            self.odom_topic = p.odom_topic or f"/{p.cf_name}/odom"

    def initial_state(self) -> str:
        return "waiting: no odometry"

    def subscribe_inputs(self) -> None:
        p = self.p
        if p.interface == "px4":
            ns = p.px4_namespace.rstrip("/")
            self.subscribe(self.odom_topic, PX4_ODOM, px4.PX4_CLIENT_QOS, self.on_px4_odometry)
            # PX4 >= 1.16 versions VehicleStatus (topic vehicle_status_v<N>, another layout): the
            # release given, or every known version with ``auto`` (the one PX4 publishes arrives).
            wanted = px4.vehicle_status_version(p.px4_version)
            for version in px4.VEHICLE_STATUS_VERSIONS if wanted is None else (wanted,):
                self.subscribe(
                    px4.vehicle_status_topic(ns, version),
                    px4.vehicle_status_type(version),
                    px4.PX4_CLIENT_QOS,
                    lambda msg, v=version: self.on_px4_status(msg, v),
                )
        else:
            self.subscribe(self.odom_topic, ODOM, SENSOR_DATA, self.on_odometry)
        self.subscribe(p.reference_pose_topic, POSE_STAMPED, DEFAULT, self.on_reference_pose)
        self.subscribe(p.reference_path_topic, PATH, DEFAULT, self.on_reference_path)
        self.t.watch_parameter("aggressiveness", self.set_aggressiveness)

    def on_estop_changed(self) -> None:
        released = self._estop_prev and not self.estop
        self._estop_prev = self.estop
        if released and self.cut is not None:
            self.log.info(f"{self.p.estop_topic}: released after '{self.cut}': control may engage again")
            self.cut = None
            self.engaged = False
            self.descend_since_s = None

    @property
    def reenable_hint(self) -> str:
        return f"re-enable: {self.p.estop_topic} true, then false"

    def set_aggressiveness(self, value: float) -> str | None:
        """The run-time parameter: None if accepted, else why not."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            return f"aggressiveness must be a number in [0, 1], got {value!r}"
        self.aggressiveness = float(value)
        return None

    # ----------------------------------------------------------------------------- inputs

    def _store_odometry(
        self, pos: np.ndarray, quat: np.ndarray, vel: np.ndarray, rates: np.ndarray, stamp: Any = None
    ) -> None:
        """Keep valid odometry; ``stamp`` (header stamp) is judged against the node clock. PX4's
        odometry carries PX4's own clock (µs since boot), so it is judged by arrival only."""
        if not all(np.all(np.isfinite(v)) for v in (pos, quat, vel, rates)) or not np.linalg.norm(quat) > 0.5:
            self.odom_fault = "non-finite odometry"
            self.watchdog.invalidate("odom")
            self._warn("odom", f"{self.odom_topic}: refused odometry with non-finite or zero fields")
            return
        why = self.feed_input("odom", stamp)
        if why is not None:
            self.odom_fault = why
            self.watchdog.invalidate("odom")
            self._warn("odom", f"{self.odom_topic}: refused: {why}")
            return
        self.odom_fault = None
        self.odom = (pos, quat / np.linalg.norm(quat), vel, rates)

    def on_odometry(self, msg: Any) -> None:
        frame = msg.header.frame_id
        if frame and frame != self.p.world_frame:
            self.odom_fault = f"odometry in frame '{frame}', expected '{self.p.world_frame}'"
            self.watchdog.invalidate("odom")
            self._warn("odom", f"{self.odom_topic}: refused: {self.odom_fault}")
            return
        pose, tw = msg.pose.pose, msg.twist.twist
        pos = np.array([pose.position.x, pose.position.y, pose.position.z])
        quat = _quat_wxyz(pose.orientation)
        # REP-105: Odometry's twist is in the child (body) frame; the policy wants world velocity.
        v_body = np.array([tw.linear.x, tw.linear.y, tw.linear.z])
        rot = quat_to_matrix(quat / max(np.linalg.norm(quat), 1e-9))
        vel = rot @ v_body
        rates = np.array([tw.angular.x, tw.angular.y, tw.angular.z])
        self._store_odometry(pos, quat, vel, rates, msg.header.stamp)

    def on_px4_odometry(self, msg: Any) -> None:
        try:
            pos, quat, vel, rates, _ = px4.px4_odometry_state(msg)
        except ValueError as exc:
            self.odom_fault = str(exc)
            self.watchdog.invalidate("odom")
            self._warn("odom", f"{self.odom_topic}: refused: {exc}")
            return
        self._store_odometry(pos, quat, vel, rates)

    def on_px4_status(self, msg: Any, version: int = 0) -> None:
        if getattr(self, "px4_status_version", None) != version:
            self.px4_status_version = version
            """The VehicleStatus version that arrived (0: PX4 1.15, 1: 1.16/1.17, 4: 1.18)."""
            self.log.info(
                f"PX4 VehicleStatus version {version} on "
                f"{px4.vehicle_status_topic(self.p.px4_namespace, version)}"
            )
        # The constants live on the message class (px4_msgs' and ours alike; unchanged by version).
        self.armed = msg.arming_state == type(msg).ARMING_STATE_ARMED
        self.offboard = msg.nav_state == type(msg).NAVIGATION_STATE_OFFBOARD

    def _frame_ok(self, frame: str, topic: str) -> bool:
        if frame and frame != self.p.world_frame:
            self._warn(
                "reference",
                f"{topic}: refused a reference in frame '{frame}': expected '{self.p.world_frame}'",
            )
            return False
        return True

    def on_reference_pose(self, msg: Any) -> None:
        pt = np.array([msg.pose.position.x, msg.pose.position.y, msg.pose.position.z])
        if not self._frame_ok(msg.header.frame_id, self.p.reference_pose_topic):
            return
        if not np.all(np.isfinite(pt)):
            self._warn("reference", f"{self.p.reference_pose_topic}: refused a non-finite reference {pt}")
            return
        self.reference = SampledReference(np.array([0.0]), pt[None])
        self.ref_offset = np.zeros(3)
        self.log.info(f"reference: hold ({pt[0]:.2f}, {pt[1]:.2f}, {pt[2]:.2f})")

    def on_reference_path(self, msg: Any) -> None:
        topic = self.p.reference_path_topic
        if not self._frame_ok(msg.header.frame_id, topic):
            return
        if len(msg.poses) == 0:
            self._warn("reference", f"{topic}: refused an empty path")
            return
        times = np.array([stamp_to_s(ps.header.stamp) for ps in msg.poses])
        pts = np.array([[ps.pose.position.x, ps.pose.position.y, ps.pose.position.z] for ps in msg.poses])
        try:
            self.reference = SampledReference(times, pts)
            self.ref_offset = np.zeros(3)
        except ValueError as exc:
            self._warn(
                "reference",
                f"{topic}: refused a path: {exc} (each pose's header.stamp is the time it is due)",
            )
            return
        self.log.info(f"reference: path of {len(pts)} points until t = {times[-1]:.2f} s")

    # ----------------------------------------------------------------------------- control

    def on_tick(self) -> None:
        """The command loop (steady clock, ``loop_rate_hz``)."""
        if self.fault or self.safety is None or self.controller is None:
            self._set_state("error: " + (self.fault or "not loaded"))
            return
        now = self.t.now_s()
        stale = self.watchdog.stale(self.t.monotonic_s())
        if self.odom is None and not stale:
            stale = ["odom"]
        odom_bad = bool(stale) or self.odom is None
        why = f"{self.odom_topic} {self.odom_fault or 'stale'}"
        # PX4 in flight (the policy flying it, or an e-stop / geofence descent): without odometry
        # the stream stops for good, so PX4's failsafe lands it (a descent must not turn into the
        # idle hover setpoint stream).
        airborne = self.engaged or self.descent_in_flight
        if odom_bad and airborne and self.p.interface == "px4":
            self.cut = f"offboard stream stopped after lost odometry ({why})"
            self.engaged = False
        if self.cut is not None:
            self._stay_off(why if odom_bad else None)
            return
        if odom_bad:
            if not self.engaged:
                self._set_state(f"waiting: {why}")
                self._send_idle()
            else:
                self._descend(now, why, attitude=None)
            return
        pos, quat, vel, rates = self.odom
        if self.estop:
            self._descend(now, "e-stop", quat)
            return
        if not self.safety.inside_fence(pos):
            self._descend(now, f"outside the geofence at ({pos[0]:.2f}, {pos[1]:.2f}, {pos[2]:.2f})", quat)
            return
        self.descend_since_s = None
        self.descent_in_flight = False
        if not (self.armed and self.offboard):
            self.engaged = False
            self._set_state("waiting: " + ("not armed" if not self.armed else "not in offboard mode"))
            self._send_idle()
            return
        if not self.engaged and not self.command_matched(self.command_pub):
            # Reliable but volatile: what is sent before the autopilot's subscription has matched
            # is lost, and a Crazyflie's thrust-unlock setpoint must not be.
            self._set_state(f"waiting: no subscriber on {self.cmd_topic}")
            self._unlock_since_s = None
            self._send_idle()
            return
        if not self.engaged and self.p.interface == "crazyflie":
            # The firmware ignores thrust until one setpoint with zero thrust has arrived
            # (crtp_commander_rpyt.c). Reliable delivery does not save a lone one: the server's
            # reader may not have matched this writer yet when it is sent (CI lost one so, and
            # the vehicle never took off). A stream of them, cf_unlock_s long, gets through.
            mono = self.t.monotonic_s()
            if self._unlock_since_s is None:
                self._unlock_since_s = mono
            if mono - self._unlock_since_s < self.p.cf_unlock_s:
                self._set_state(f"waiting: thrust unlock (zero thrust on {self.cmd_topic})")
                self._send(np.zeros(4), allow_zero_thrust=True)
                return
        if not self.engaged:  # (re)engage: hold here until a reference says otherwise
            self.engaged = True
            self._unlock_since_s = None
            self.controller.reset()
            self.hold_point = pos.copy()
            self.ref_offset = np.zeros(3)
            self._ref_seen = None
            self.scheduler.reset()
        if self.scheduler.due(now):
            self.target = self._policy_step(now, pos, quat, vel, rates)
        cmd, why = self.safety(self.target, quat, pos)
        if why:
            self.safety_events[why] = self.safety_events.get(why, 0) + 1
            self._warn("safety", f"safety layer: {why}")
        self._send(cmd)

    def _policy_step(
        self, now: float, pos: np.ndarray, quat: np.ndarray, vel: np.ndarray, rates: np.ndarray
    ) -> np.ndarray:
        assert self.controller is not None and self.safety is not None
        c = self.controller
        ref = self.reference
        if ref is None or (len(ref.times_s) > 1 and now > ref.end_s):
            if ref is not None:  # a finished path: hold its end
                self.hold_point = ref.positions_m[-1].copy()
                self.reference = None
            ref_now = self.hold_point
            ahead = np.repeat(ref_now[None], c.lookahead_points, axis=0)
            self._set_state("holding")
        else:
            ref_now = ref.position(np.array(now))
            ahead = ref.position(lookahead_times(now, c.lookahead_points, c.lookahead_horizon_s))
            self._set_state("flying")
        # Teleop beside the policy: the operator nudges the reference (a velocity integrated over
        # the control period) and the policy flies it; a hold freezes the nudge.
        decision = self.teleop_decide(
            {"position": pos[None], "quat_wxyz": quat[None], "velocity": vel[None],
             "body_rates": rates[None], "ref_position": np.asarray(ref_now, dtype=np.float64)[None]}
        )  # fmt: skip
        if decision.source == HUMAN and decision.command is not None:
            nudged = QuadTeleop.nudge(ref_now + self.ref_offset, decision.command, 1.0 / c.control_rate_hz)
            self.ref_offset = self.safety.fence_reference(nudged) - ref_now
        ref_now = self.safety.fence_reference(ref_now + self.ref_offset)
        ahead = self.safety.fence_reference(ahead + self.ref_offset)
        ref_now, ahead = self._limit_reference_speed(ref_now, ahead, 1.0 / c.control_rate_hz)
        try:
            return np.asarray(
                c.step(pos, quat, vel, rates, ref_now, ahead, self.aggressiveness), dtype=np.float64
            )
        except Exception as exc:  # onnxruntime or shape errors: level, say why, stay up
            self._warn("policy", f"policy step failed: {type(exc).__name__}: {exc}")
            return self.safety.level(quat)

    def _limit_reference_speed(
        self, ref_now: np.ndarray, ahead: np.ndarray, dt: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """A reference that jumps (a new hold point metres away, a path starting elsewhere) is
        followed at ``max_reference_speed_mps``: the reference the policy sees moves at most that
        far per control period, the lookahead shifted with it. Said once per jump."""
        prev = self._ref_seen
        if prev is not None and self.engaged:
            step = ref_now - prev
            dist = float(np.linalg.norm(step))
            limit = self.p.max_reference_speed_mps * dt
            if dist > limit:
                if not self._ref_limited:
                    self._warn(
                        "reference",
                        f"reference moved {dist:.2f} m in one control period: followed at "
                        f"max_reference_speed_mps {self.p.max_reference_speed_mps:g} m/s",
                    )
                self._ref_limited = True
                shift = prev + step * (limit / dist) - ref_now
                ref_now, ahead = ref_now + shift, ahead + shift
            else:
                self._ref_limited = False
        self._ref_seen = None if not self.engaged else np.array(ref_now, dtype=np.float64)
        return ref_now, ahead

    def _descend(self, now: float, why: str, attitude: np.ndarray | None) -> None:
        assert self.safety is not None
        if self.p.interface == "crazyflie" and not (self.engaged or self.descent_in_flight):
            # Not flying (before take-off, or after a cut-off and re-enable): nothing to descend,
            # and a descend setpoint would spin up the motors of a vehicle on the ground.
            self._set_state(f"waiting: {why}")
            return
        self.descent_in_flight = self.descent_in_flight or self.engaged
        if self.descend_since_s is None:
            self.descend_since_s = now
        self.engaged = self.engaged and self.p.interface != "px4"
        if self.p.interface == "crazyflie" and now - self.descend_since_s > self.p.land_cutoff_s:
            self.cut = f"motors cut after {self.p.land_cutoff_s:g} s descending ({why})"
            self.engaged = False
            self._stay_off(None)
            return
        self._set_state(f"descending: {why}")
        self._send(self.safety.descend(attitude))

    def _stay_off(self, odom_why: str | None) -> None:
        """After a cut-off: a Crazyflie gets zero thrust, PX4 no offboard stream (its failsafe
        lands and disarms), whatever the inputs say, until the operator cycles the e-stop."""
        assert self.cut is not None
        if self.p.interface == "px4" and odom_why is not None:
            self._set_state(
                f"failsafe: {odom_why}; offboard stream stopped, PX4 failsafe in charge; {self.reenable_hint}"
            )
        else:
            self._set_state(f"stopped: {self.cut}; {self.reenable_hint}")
        if self.p.interface == "crazyflie":
            self._send(np.zeros(4), allow_zero_thrust=True)

    def send_safe_stop(self) -> None:
        """On exit: PX4 gets no more setpoints (its failsafe takes over within COM_OF_LOSS_T);
        a Crazyflie gets a last level descend command and its commander watchdog does the rest."""
        if self.p.interface == "crazyflie" and self.safety is not None and self.engaged:
            self._send(self.safety.descend(None))

    # ----------------------------------------------------------------------------- output

    def _send_idle(self) -> None:
        """Not flying: PX4 gets its heartbeat and a level hover setpoint (needed to enter offboard);
        a Crazyflie gets nothing."""
        if self.p.interface == "px4" and self.safety is not None:
            self._send(self.safety.level(None))

    def _send(self, cmd: np.ndarray, allow_zero_thrust: bool = False) -> None:
        """Publish (collective accel, rates) through the autopilot interface. The limits are
        checked once more here: nothing else stands between this and the motors."""
        assert self.safety is not None and self.vehicle is not None
        lo, hi = self.safety.low.copy(), self.safety.high
        if allow_zero_thrust:
            lo[0] = 0.0
        c = np.asarray(cmd, dtype=np.float64)
        if not self.final_check(c, lo, hi):
            c = self.safety.level(None)
        thrust_n = float(c[0]) * self.vehicle.mass_kg
        full = 4.0 * self.vehicle.motor_max_thrust_n
        # the autopilot's normalised thrust for it, through the vehicle file's thrust model and curve
        setpoint = float(self.vehicle.collective_setpoint(thrust_n))
        if self.p.interface == "px4":
            stamp_us = int(self.t.now_s() * 1e6)
            self.mode_pub.publish(px4.offboard_mode_body_rate(stamp_us, cls=self._mode_cls))
            self.rates_pub.publish(
                px4.rates_setpoint(thrust_n, c[1:], full, stamp_us, cls=self._rates_cls, setpoint=setpoint)
            )
        else:
            self.cmd_pub.publish(
                px4.cmd_vel_legacy(
                    thrust_n, c[1:], full, self.p.cf_backend, cls=self._twist_cls, setpoint=setpoint
                )
            )
        self.last_cmd = c
        self.published += 1


# --------------------------------------------------------------------------------- entry points

NODE = QuadNode
run_dds, main = node_main.entry_points(
    node_main.spec_for(NODE, "Run the quadrotor policy node (PX4 offboard or Crazyswarm2).")
)

if __name__ == "__main__":
    import sys

    sys.exit(main())
