"""The navigation policy node: its I/O adapter on :class:`sim2real_ros.policy_node.PolicyNode`
(which owns loading, the state topic, the schedule, the watchdog, the e-stop and the final check).

Data flow: every LaserScan runs the control step at once (the scan is the freshest observation,
so scan-in to command-out latency is the node's own compute time). The policy is evaluated on the
scans at its contract's rate (decided from the scan stamps, so it works at any simulation speed)
and its command is held between policy steps; every scan also refreshes the collision guard's
speed cap. A steady-clock timer at ``loop_rate_hz`` runs the watchdog and republishes the held
command, so a base controller with a command timeout keeps moving, and a stale input gives a zero
command within one timer period.

Every published command goes through :class:`sim2real_runtime.safety.SafetyFilter`: finite,
inside the velocity limits, acceleration-limited. Stops (e-stop, watchdog, faults, goal reached)
are immediate zeros.

Inputs: a scan that does not fit the robot's lidar, or that cannot be trusted (too many invalid
beams, or none measured: :func:`sim2real_runtime.nav_terms.scan_fault`, the lidar conventions of
REP-117 as the runtime reads them everywhere), is refused: ``stopped: /scan invalid (<why>)``.
A scan or odometry message stamped too long before the node clock (its timeout plus
``clock_offset_tolerance_s``) is ``stale (<why>)``, one stamped ahead of it ``invalid (<why>)``.

Goals and plans: a PoseStamped on ``goal_topic`` or a nav_msgs/Path on ``path_topic`` (Nav2's
``/plan``), in any frame that ``/tf`` and ``/tf_static`` connect to the odometry frame (an empty
frame_id is the odometry frame). Both become one plan (:class:`sim2real_runtime.path_follow.PathFollower`,
a goal being a path of one point) kept in its own frame; every control step looks up the latest
transform to the odometry frame (tf2_ros on rclpy, :class:`sim2real_runtime.tf_buffer.TfBuffer` on
DDS), so a goal in ``map`` follows map -> odom as localisation corrects it. The policy's goal is
the lookahead point on the plan, the plan's last point the final goal. While no transform is
available (none yet, no path between the frames, a loop in /tf, the newest older than
``tf_cache_time_s``) the robot holds at zero in ``stopped: <topic> frame '<f>': <why>`` and drives
as soon as one arrives. A goal or path that cannot be used (non-finite, empty, poses in several
frames) is refused: the previous plan is dropped, ``stopped: <topic> refused (<why>)``, zero.

States on ``state_topic``: ``idle`` (no goal), ``driving``, ``goal_reached``, ``blocked`` (no
progress for ``blocked_timeout_s``; still driving), ``stopped: <why>`` (e-stop, stale or invalid
input) and ``error: <why>`` (the policy, robot or parameters could not be loaded: the node stays up
and publishes zeros).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from sim2real_ros import node_main
from sim2real_ros.convert import make_twist, odom_state, scan_mismatch, scan_ranges
from sim2real_ros.policy_node import PolicyNode
from sim2real_ros.teleop_arbiter import HOLD, HUMAN
from sim2real_ros.tf import make_lookup
from sim2real_ros.transport import DEFAULT, SENSOR_DATA, stamp_to_s
from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.nav_control import NavController, contract_wants_fallback
from sim2real_runtime.nav_terms import scan_fault
from sim2real_runtime.path_follow import PathFollowConfig, PathFollower
from sim2real_runtime.policy import OnnxPolicy
from sim2real_runtime.robot import RobotConfig
from sim2real_runtime.safety import CollisionGuard, SafetyFilter
from sim2real_runtime.tf_buffer import Transform, TransformError

from .params import NavNodeParams

SCAN = "sensor_msgs/msg/LaserScan"
ODOM = "nav_msgs/msg/Odometry"
POSE_STAMPED = "geometry_msgs/msg/PoseStamped"
PATH = "nav_msgs/msg/Path"
TWIST = "geometry_msgs/msg/Twist"
TWIST_STAMPED = "geometry_msgs/msg/TwistStamped"

PROGRESS_M = 0.1
"""Getting this much closer to the goal counts as progress (blocked detection)."""


def limits_of(params: NavNodeParams, robot: RobotConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low [2], high [2], max_rate_per_s [2]) for (v, w): the parameters, or the robot's where 0.

    Raises:
        Sim2RealError: a parameter asks for more than the robot file allows.
    """

    def pick(param: str, robot_value: float) -> float:
        v = getattr(params, param)
        if v > robot_value + 1e-9:
            raise Sim2RealError(
                f"parameter {param}={v} exceeds the robot's limit {robot_value} ({robot.name})"
            )
        return v if v > 0 else robot_value

    v_max = pick("max_linear_speed_mps", robot.max_linear_speed_mps)
    v_rev = pick("max_reverse_speed_mps", -robot.min_linear_speed_mps)
    w_max = pick("max_angular_speed_radps", robot.max_angular_speed_radps)
    a_v = pick("max_linear_accel_mps2", robot.max_linear_accel_mps2)
    a_w = pick("max_angular_accel_radps2", robot.max_angular_accel_radps2)
    return np.array([-v_rev, -w_max]), np.array([v_max, w_max]), np.array([a_v, a_w])


class NavPolicyNode(PolicyNode):
    """The navigation I/O adapter on :class:`sim2real_ros.policy_node.PolicyNode`: scans,
    odometry and goals in, (v, w) out. Construct it with a transport and parameters; it never
    raises on bad input.

    Args:
        transport: rclpy or DDS transport.
        params: the parameters (possibly partial, see ``param_errors``).
        param_errors: errors met while reading the parameters; any puts the node in ``error``.
    """

    DOMAIN = "nav"
    PARAMS = NavNodeParams
    ALARM_PREFIXES = ("stopped", "error", "blocked")
    SCHEDULE_ON_NODE_CLOCK = False  # the policy runs on the scans' stamps
    p: NavNodeParams

    # ----------------------------------------------------------------------------- set-up

    def load_description(self) -> RobotConfig:
        return self.domain.load_description(self.p.robot)

    def make_controller(
        self, policy: OnnxPolicy, description: RobotConfig, control_rate_hz: float | None
    ) -> NavController:
        """The controller, with the runtime's DWA fallback when the ``fallback`` parameter or the
        policy's contract (``action.cmd_vel.params.dwa_fallback``) asks for it.

        A contract that asks wins over ``fallback: false``, neither refused nor merely warned about:
        a bool ROS 2 parameter has no "unset", so refusing ``false`` would refuse the default, and a
        policy selected and measured with the fallback is not the policy its card describes without
        it. The load message says which asked (``DWA fallback on (the contract's dwa_fallback)``)."""
        p = self.p
        self.guard = None
        low, high, rate = limits_of(p, description)
        self.filter = SafetyFilter(low, high, rate)
        wanted = contract_wants_fallback(policy.contract)
        self.fallback_reason = (
            "off" if not (p.fallback or wanted) else "on (the contract's dwa_fallback)" if wanted else "on"
        )
        controller = self.domain.controller(
            policy, description, control_rate_hz, collision_guard=p.collision_guard,
            fallback=p.fallback or wanted,
        )  # fmt: skip
        if p.collision_guard:
            self.guard = CollisionGuard(description, 1.0 / controller.control_rate_hz)
        return controller

    def loaded_message(self, policy: OnnxPolicy) -> str:
        lo, hi = self.filter.low, self.filter.high
        guard = "on" if self.guard else "off"
        return (
            f"loaded {policy.path} for {self.description.name}: policy at "
            f"{self.controller.control_rate_hz:g} Hz, limits v [{lo[0]:g}, {hi[0]:g}] m/s, "
            f"w +-{hi[1]:g} rad/s, collision guard {guard}, DWA fallback {self.fallback_reason}"
        )

    def watchdog_timeouts(self) -> dict[str, float]:
        return {"scan": self.p.scan_timeout_s, "odom": self.p.odom_timeout_s}

    def setup_io(self) -> None:
        p = self.p
        self.robot: RobotConfig | None = self.description
        if self.controller is None:  # zero limits until a policy is loaded: only stops leave
            self.filter = SafetyFilter(np.zeros(2), np.zeros(2), np.zeros(2))
            self.guard: CollisionGuard | None = None
        self.scan: np.ndarray | None = None
        self.scan_stamp_s: float | None = None
        self.pose: np.ndarray | None = None
        self.twist: np.ndarray | None = None
        self.odom_frame: str | None = None
        self.plan: PathFollower | None = None  # the goal or path, in its own frame
        self.plan_frame = ""  # its frame ("": the odometry frame)
        self.plan_topic = ""  # where it came from (for messages)
        self.goal_fault: str | None = None  # why the last goal or path was refused
        self.goal: np.ndarray | None = None  # the final goal in the odometry frame (last step)
        self.local_goal: np.ndarray | None = None  # the policy's goal in the odometry frame
        self.input_fault: dict[str, str] = {}  # topic -> why its last message was refused
        self.target = np.zeros(2)  # the policy's latest command (held between policy steps)
        self.target_stamp_s: float | None = None  # stamp of the scan that last refreshed it
        self.cap = np.array([np.inf, np.inf])  # the collision guard's latest upper bounds
        self.best_dist = math.inf
        self.progress_time_s = 0.0
        self.last_cmd = np.zeros(2)
        self.cmd_type = TWIST_STAMPED if p.cmd_vel_stamped else TWIST
        self._cmd_cls = self.t.msg(self.cmd_type)
        self.cmd_pub = self.t.publisher(p.cmd_vel_topic, self.cmd_type, DEFAULT)

    def initial_state(self) -> str:
        return "idle"

    def on_started(self) -> None:
        self._publish_stop()

    def subscribe_inputs(self) -> None:
        p = self.p
        self.subscribe(p.scan_topic, SCAN, SENSOR_DATA, self.on_scan)
        self.subscribe(p.odom_topic, ODOM, SENSOR_DATA, self.on_odom)
        self.subscribe(p.goal_topic, POSE_STAMPED, DEFAULT, self.on_goal)
        self.subscribe(p.path_topic, PATH, DEFAULT, self.on_path)
        self.tf = make_lookup(self.t, self.subscribe, self._warn, p.tf_cache_time_s)

    # ----------------------------------------------------------------------------- callbacks

    def on_scan(self, msg: Any) -> None:
        """A scan is refused (state ``stopped: /scan invalid (<why>)``, a zero command) when it
        does not fit the robot's lidar (beams, angles) or cannot be trusted
        (:func:`sim2real_runtime.nav_terms.scan_fault`: too many invalid beams, or none measured),
        and as ``stale`` when its stamp is too old for the node clock (``clock_offset_tolerance_s``)."""
        topic = self.p.scan_topic
        ranges = None
        if self.robot is not None:
            why = scan_mismatch(msg, self.robot.lidar)
            if why is None:
                ranges = scan_ranges(msg)
                why = scan_fault(ranges, self.robot.lidar)
            if why is not None:
                self._refuse(topic, "scan", why)
                return
        why = self.feed_input("scan", msg.header.stamp)
        if why is not None:
            self._refuse(topic, "scan", why, stamp=True)
            return
        self.input_fault.pop(topic, None)
        self.scan = scan_ranges(msg) if ranges is None else ranges
        self.scan_stamp_s = stamp_to_s(msg.header.stamp)
        self.control()

    def on_odom(self, msg: Any) -> None:
        pose, twist = odom_state(msg)
        if not (np.all(np.isfinite(pose)) and np.all(np.isfinite(twist))):
            self._refuse(self.p.odom_topic, "odom", f"non-finite pose {pose} or twist {twist}")
            return
        why = self.feed_input("odom", msg.header.stamp)
        if why is not None:
            self._refuse(self.p.odom_topic, "odom", why, stamp=True)
            return
        self.input_fault.pop(self.p.odom_topic, None)
        self.pose, self.twist = pose, twist
        self.odom_frame = msg.header.frame_id

    def on_goal(self, msg: Any) -> None:
        """A PoseStamped goal: a plan of one point in its frame (see the module doc)."""
        x, y = msg.pose.position.x, msg.pose.position.y
        if not (math.isfinite(x) and math.isfinite(y)):
            self._refuse_plan(self.p.goal_topic, f"non-finite position ({x}, {y})")
            return
        self._set_plan(self.p.goal_topic, msg.header.frame_id, np.array([[x, y]]))

    def on_path(self, msg: Any) -> None:
        """A nav_msgs/Path: followed with the lookahead point as the policy's goal."""
        topic, frame = self.p.path_topic, msg.header.frame_id
        if len(msg.poses) == 0:
            self._refuse_plan(topic, "empty path")
            return
        xy = np.array([(ps.pose.position.x, ps.pose.position.y) for ps in msg.poses], dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
        if len(bad):
            self._refuse_plan(
                topic, f"pose {int(bad[0])} of {len(xy)} has a non-finite position {xy[bad[0]].tolist()}"
            )
            return
        for i, ps in enumerate(msg.poses):  # Nav2 stamps every pose in the path's frame
            f = ps.header.frame_id
            if f and f != frame:
                self._refuse_plan(topic, f"pose {i} is in frame '{f}', the path in '{frame}'")
                return
        self._set_plan(topic, frame, xy)

    def _set_plan(self, topic: str, frame: str, xy: np.ndarray) -> None:
        """A new plan; a replan (Nav2 republishes /plan about once a second) to the same end, in the
        same frame, keeps the policy's state, schedule, command and progress timer: the robot
        drives on smoothly. Any other plan starts afresh, as a new goal."""
        old = self.plan
        replan = (
            old is not None
            and frame == self.plan_frame
            and float(np.hypot(*(old.final - xy[-1]))) <= self.p.goal_tolerance_m
        )
        self.plan = PathFollower(xy, PathFollowConfig(lookahead_m=self.p.lookahead_m))
        self.plan_frame, self.plan_topic = frame, topic
        self.goal_fault = None
        if replan:
            self.control()
            return
        self.best_dist = math.inf
        self.progress_time_s = self.t.now_s()
        self.scheduler.reset()
        self.target = np.zeros(2)
        if self.controller is not None:
            self.controller.reset()
        end = self.plan.final
        what = "goal" if len(xy) == 1 else f"path of {len(xy)} poses ({self.plan.length_m:.1f} m) to"
        self.log.info(
            f"{topic}: new {what} ({end[0]:.2f}, {end[1]:.2f}) in '{frame or self.odom_frame or 'odom'}'"
        )
        self.control()

    def _refuse_plan(self, topic: str, why: str) -> None:
        """Drop the plan: a goal or path that cannot be used stops the robot until the next one."""
        self.plan = self.goal = self.local_goal = None
        self.goal_fault = f"{topic} refused ({why})"
        self._warn("goal", f"{topic}: refused: {why}; the robot stops until the next goal")
        self._set_state(self._stop_reason() or "stopped")
        self._publish_stop()

    def plan_to_odom(self) -> Transform:
        """``T_odom_plan`` now: identity in the odometry frame, else the latest /tf lookup.

        Raises:
            TransformError: naming the frames (no odometry yet, no transform, a loop, too old).
        """
        frame, odom = self.plan_frame, self.odom_frame
        if odom is None:
            raise TransformError("no odometry yet: the odometry frame is unknown")
        if not frame or frame == odom:
            return Transform.identity()
        return self.tf.lookup(odom, frame)

    def on_estop_changed(self) -> None:
        if self.estop:
            self._publish_stop()
        self._set_state(self._stop_reason() or self._driving_state())

    def on_tick(self) -> None:
        """Watchdog and heartbeat (steady clock, ``loop_rate_hz``)."""
        why = self._stop_reason()
        if why is not None:
            self._set_state(why)
            self._publish_stop()
        else:
            self._publish(self.filter(self.target, self.t.now_s(), self.cap), self.target_stamp_s)

    # ----------------------------------------------------------------------------- control

    def _stop_reason(self) -> str | None:
        """Why the robot must stand still now, or None if it may drive."""
        if self.fault:
            return "error: " + self.fault
        if self.estop:
            return "stopped: e-stop"
        if self.plan is None:
            if self.goal_fault is not None:
                return "stopped: " + self.goal_fault
            return None if self.state == "goal_reached" else "idle"
        stale = self.watchdog.stale(self.t.monotonic_s())
        if stale:
            topics = {"scan": self.p.scan_topic, "odom": self.p.odom_topic}
            # Say why an input is missing where we know: a refused message, another message type.
            parts = [
                self.type_fault.get(topics[s]) or f"{topics[s]} {self.input_fault.get(topics[s], 'stale')}"
                for s in stale
            ]
            return "stopped: " + "; ".join(parts)
        return None

    def _driving_state(self) -> str:
        if self.plan is None:
            return "goal_reached" if self.state == "goal_reached" else "idle"
        return self.state if self.state in ("driving", "blocked") else "driving"

    def control(self) -> None:
        """One control step on the latest scan: policy (when due), guard, safety filter, publish."""
        why = self._stop_reason()
        if why is not None or self.plan is None:
            if why is not None:
                self._set_state(why)
            self._publish_stop()
            return
        assert self.controller is not None and self.pose is not None and self.scan is not None
        now = self.t.now_s()
        try:
            t_odom_plan = self.plan_to_odom()
        except TransformError as exc:  # hold at zero; drive as soon as a transform arrives
            where = f"{self.plan_topic} frame '{self.plan_frame}'"
            self._warn("tf", f"{where}: no transform to '{self.odom_frame}': {exc}; holding at zero")
            self._set_state(f"stopped: {where}: no transform to '{self.odom_frame}' ({exc})")
            self._publish_stop()
            return
        plan = self.plan
        here = t_odom_plan.inverse().apply(self.pose[:2])  # the robot in the plan's frame
        self.local_goal = t_odom_plan.apply(plan.step(here))
        self.goal = t_odom_plan.apply(plan.final)
        if float(np.hypot(*(self.goal - self.pose[:2]))) <= self.p.goal_tolerance_m:
            self.plan = self.goal = self.local_goal = None
            self._set_state("goal_reached")
            self._publish_stop()
            return
        dist = plan.remaining_m(here)
        if dist < self.best_dist - PROGRESS_M:
            self.best_dist = dist
            self.progress_time_s = now
        blocked = now - self.progress_time_s > self.p.blocked_timeout_s
        self._set_state("blocked" if blocked else "driving")

        stamp = self.scan_stamp_s
        policy_step = self.scheduler.due(stamp)
        if policy_step:
            # Teleop beside the policy: the human's twist, mapped into the action space, runs
            # through the same action term, guard and filter; a hold is an immediate stop.
            decision = self.teleop_decide(
                {"scan_ranges": self.scan[None], "pose": self.pose[None], "twist": self.twist[None],
                 "goal_xy": self.local_goal[None]}
            )  # fmt: skip
            if decision.source == HOLD:
                self.controller.prev_cmd = np.zeros((1, 2))
                self._publish_stop()
                return
            try:
                c, args = self.controller, (self.scan, self.pose, self.twist, self.local_goal)
                cmd = (
                    c.act(decision.action, *args)
                    if decision.source == HUMAN
                    else c.step(*args, scan_checked=True)
                )
                self.target = np.asarray(cmd, dtype=np.float64)
            except Exception as exc:  # onnxruntime or shape errors: stop, say why, stay up
                self._warn("policy", f"policy step failed: {type(exc).__name__}: {exc}")
                self.target = np.zeros(2)
                policy_step = False  # its guard cap is not this scan's
        if self.guard is not None:
            # The controller's guard has just read this scan on a policy step; reuse its cap.
            cap = self.controller.last_cap if policy_step else None
            if cap is None:
                cap = self.guard.max_speed(self.scan[None])
            self.cap = np.array([cap[0], np.inf])
        self.target_stamp_s = stamp
        self._publish(self.filter(self.target, now, self.cap), stamp)

    def send_safe_stop(self) -> None:
        """Leave the robot standing: a last zero command."""
        self.plan = self.goal = self.local_goal = None
        self._publish_stop()

    # ----------------------------------------------------------------------------- output

    def _publish(self, cmd: np.ndarray, stamp_s: float | None = None) -> None:
        """Publish ``cmd`` (v, w). A TwistStamped carries ``stamp_s``, the stamp of the scan the
        command was computed from (so a base controller's command timeout also catches a stalled
        perception pipeline), or the node clock for stops."""
        if not self.final_check(cmd, self.filter.low, self.filter.high):
            cmd = self.filter.stop(self.t.now_s())
        self.last_cmd = cmd
        stamp = self.t.now_s() if stamp_s is None else stamp_s
        self.cmd_pub.publish(make_twist(self._cmd_cls, cmd[0], cmd[1], stamp, self.p.base_frame))
        self.published += 1

    def _publish_stop(self) -> None:
        self.target = np.zeros(2)
        self.target_stamp_s = None
        self._publish(self.filter.stop(self.t.now_s()))

    def _refuse(self, topic: str, key: str, why: str, stamp: bool = False) -> None:
        """Refuse a message of ``topic``: its input counts as missing until a good one arrives.
        ``stamp``: refused by its stamp (``stale`` when too old, ``invalid`` when ahead)."""
        stale = stamp and " before the node clock" in why
        self.input_fault[topic] = f"{'stale' if stale else 'invalid'} ({why})"
        self.watchdog.invalidate(key)
        self._warn(key, f"{topic}: refused a message: {why}")
        self._set_state(self._stop_reason() or "stopped")
        self._publish_stop()


# --------------------------------------------------------------------------------- entry points

NODE = NavPolicyNode
run_dds, main = node_main.entry_points(node_main.spec_for(NODE, "Run the navigation policy node."))

if __name__ == "__main__":
    sys.exit(main())
