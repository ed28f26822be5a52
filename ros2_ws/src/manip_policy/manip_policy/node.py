"""The arm (manipulation) policy node: its I/O adapter on :class:`sim2real_ros.policy_node.PolicyNode`
(which owns loading, the state topic, the schedule, the watchdog, the e-stop and the final check).

Inputs: ``/joint_states`` (sensor_msgs/JointState from ros2_control's joint_state_broadcaster,
matched by joint name: other joints are ignored, the finger joints may arrive in messages of their
own), the object pose from perception and the target (geometry_msgs/PoseStamped, both in the arm's
base frame ``panda_link0``; the node transforms nothing and refuses other frames), and an e-stop.

Outputs: joint position targets to a ros2_control arm controller (``forward``:
std_msgs/Float64MultiArray on ``/<arm_controller>/commands``; ``trajectory``:
trajectory_msgs/JointTrajectory with one point one control period ahead on
``/<arm_controller>/joint_trajectory``), and the gripper (``forward``: Float64MultiArray
``[width / 2]`` on ``/<gripper_controller>/commands``; ``action``: control_msgs/action/GripperCommand,
``position = width / 2``, sent when the command changes). See :mod:`manip_policy.params`.

A steady-clock loop at ``loop_rate_hz`` checks the watchdog and the e-stop; the policy runs at the
contract's rate on the node clock (so also at any simulation speed), through
:class:`sim2real_runtime.manip_control.ManipController` (the contract's terms and the same
:class:`~sim2real_runtime.manip_control.ManipSafety` training used: joint limits with a margin,
velocity budget, lead over the measured position, workspace box).

Modes, reported on ``state_topic`` (latched):

- ``waiting: <why>``: before control starts (no joint states, no object pose, no target, no
  subscriber on the command topic). A hold command is sent once the joint positions are known.
- ``running``: the policy drives the arm.
- ``holding: <why>``: an input went stale, invalid or into another frame, or joint names are
  missing: the last safe target is sent again (the measured position before any); the gripper
  keeps its last command. When the inputs are good again (or the e-stop is released), control
  resumes from the last target sent, not from the measurement: an arm lags its target by up to
  ``max_lead_rad``, and the first new target stays inside the per-period velocity budget.
- ``stopped: estop``: the same hold until ``/estop`` says False.
- ``error: <why>``: the policy, URDF or parameters could not be loaded or do not match; nothing is
  commanded.

Every command leaves through :meth:`ManipNode._send`, which checks once more that it is finite and
inside the joint limits; no NaN is ever published.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from sim2real_ros import node_main
from sim2real_ros.convert import pose_in_frame
from sim2real_ros.joint_target_node import JointTargetNode
from sim2real_ros.teleop_arbiter import HOLD, HUMAN
from sim2real_ros.transport import DEFAULT, SENSOR_DATA
from sim2real_runtime.kinematics import SerialChain
from sim2real_runtime.manip_control import ManipController, ManipSafetyConfig
from sim2real_runtime.manip_terms import yaw_of_quat
from sim2real_runtime.policy import OnnxPolicy

from .params import ManipNodeParams

JOINT_STATE = "sensor_msgs/msg/JointState"
POSE_STAMPED = "geometry_msgs/msg/PoseStamped"
FLOAT64_ARRAY = "std_msgs/msg/Float64MultiArray"
TRAJECTORY = "trajectory_msgs/msg/JointTrajectory"
TRAJECTORY_POINT = "trajectory_msgs/msg/JointTrajectoryPoint"
GRIPPER_COMMAND = "control_msgs/action/GripperCommand"
GRIPPER_GOAL = "control_msgs/action/GripperCommand_Goal"


def _uses(controller: ManipController, signal: str) -> bool:
    """Whether any observation term of the contract reads ``signal``."""
    return any(signal in (s.params.get(k) for k in ("frm", "to", "of")) for s in controller.observation.specs)


class ManipNode(JointTargetNode):
    """The arm I/O adapter on :class:`sim2real_ros.joint_target_node.JointTargetNode` (the hold
    mode): joint states, object and target poses in, joint targets and gripper commands out.
    Construct it with a transport and parameters; it never raises on bad input."""

    DOMAIN = "manip"
    PARAMS = ManipNodeParams
    p: ManipNodeParams

    # ----------------------------------------------------------------------------- set-up

    def load_description(self) -> SerialChain:
        p = self.p
        return self.domain.load_description(p.urdf_path, p.base_frame, p.tip_link)

    def make_controller(
        self, policy: OnnxPolicy, description: SerialChain, control_rate_hz: float | None
    ) -> ManipController:
        # the node's safety parameters carry ManipSafetyConfig's field names
        cfg = ManipSafetyConfig(**{f.name: getattr(self.p, f.name) for f in fields(ManipSafetyConfig)})
        return self.domain.controller(policy, description, cfg, control_rate_hz)

    def loaded_message(self, policy: OnnxPolicy) -> str:
        p, chain, s = self.p, self.description, self.controller.safety
        return (
            f"loaded {policy.path} for {p.urdf_path.name} ({len(chain.joints)} joints, "
            f"{p.base_frame} -> {p.tip_link}): policy at {self.controller.control_rate_hz:g} Hz, "
            f"{p.command_interface} commands on /{p.arm_controller.strip('/')}, gripper "
            f"{p.gripper_interface}; per-step target change <= "
            f"{np.array2string(s.max_step_rad, precision=3)} rad, lead <= {p.max_lead_rad:g} rad"
        )

    def watchdog_timeouts(self) -> dict[str, float]:
        p, c = self.p, self.controller
        # Which inputs the watchdog guards depends on the contract: a reach policy reads no object.
        self.needs_object = c is not None and (_uses(c, "object_pos") or _uses(c, "object_quat"))
        timeouts = {"joint_states": p.watchdog_timeout_s, "finger_joints": p.watchdog_timeout_s}
        if self.needs_object:
            timeouts["object_pose"] = p.watchdog_timeout_s
        return timeouts

    def setup_io(self) -> None:
        p, t, c = self.p, self.t, self.controller
        self.chain: SerialChain | None = self.description
        self.arm_joints: tuple[str, ...] = self.chain.joint_names if self.chain else ()
        self.finger_joints = p.finger_joint_names
        self.open_width_m = float(c.gripper_term.spec.params["open_width_m"]) if c else 0.08
        # Latest valid inputs (arm order), and why the latest message of each was refused.
        self.q: np.ndarray | None = None
        self.qd: np.ndarray | None = None
        self.width_m: float | None = None
        self.object_pos = np.zeros(3)
        self.object_quat = np.array([1.0, 0.0, 0.0, 0.0])
        self.target_pos: np.ndarray | None = None
        self.target_yaw = 0.0
        self.faults: dict[str, str | None] = {
            "joint_states": None,
            "finger_joints": None,
            "object_pose": None,
        }
        self.target_fault: str | None = None
        self.engaged = False  # the policy is in control (its previous action resets on (re)engagement)
        self.ever_engaged = False
        self.last_target: np.ndarray | None = None  # last joint targets sent (rad)
        self.gripper_closed: bool | None = None  # last gripper command (None: none yet)
        self.gripper_goal_sent: bool | None = None  # action: the command of the last goal sent
        self.safety_events: dict[str, int] = {}
        arm = "/" + p.arm_controller.strip("/")
        if p.command_interface == "forward":
            self.cmd_topic = f"{arm}/commands"
            self.arm_pub = t.publisher(self.cmd_topic, FLOAT64_ARRAY, DEFAULT)
        else:
            self.cmd_topic = f"{arm}/joint_trajectory"
            self.arm_pub = t.publisher(self.cmd_topic, TRAJECTORY, DEFAULT)
            self._traj_cls = t.msg(TRAJECTORY)
            self._point_cls = t.msg(TRAJECTORY_POINT)
        self._array_cls = t.msg(FLOAT64_ARRAY)
        self.gripper_pub: Any = None
        self.gripper_client: Any = None
        if p.gripper_interface == "forward":
            self.gripper_topic = "/" + p.gripper_controller.strip("/") + "/commands"
            self.gripper_pub = t.publisher(self.gripper_topic, FLOAT64_ARRAY, DEFAULT)
        else:
            self.gripper_topic = p.gripper_action_name
            self._goal_cls = t.msg(GRIPPER_GOAL)
            self.gripper_client = t.action_client(self.gripper_topic, GRIPPER_COMMAND)

    def initial_state(self) -> str:
        return "waiting: no joint states"

    def subscribe_inputs(self) -> None:
        p = self.p
        self.subscribe(p.joint_states_topic, JOINT_STATE, SENSOR_DATA, self.on_joint_states)
        self.subscribe(p.object_pose_topic, POSE_STAMPED, DEFAULT, self.on_object_pose)
        self.subscribe(p.target_pose_topic, POSE_STAMPED, DEFAULT, self.on_target_pose)

    # ----------------------------------------------------------------------------- inputs

    def _refuse(self, key: str, why: str) -> None:
        self.faults[key] = why
        self.watchdog.invalidate(key)
        topic = self.p.object_pose_topic if key == "object_pose" else self.p.joint_states_topic
        self._warn(key, f"{topic}: refused: {why}; holding")

    def on_joint_states(self, msg: Any) -> None:
        names = list(msg.name)
        pos, vel = list(msg.position), list(msg.velocity)
        index = {n: i for i, n in enumerate(names)}
        arm_idx = [index.get(n) for n in self.arm_joints]
        finger_idx = [index.get(n) for n in self.finger_joints]
        has_arm = any(i is not None for i in arm_idx)
        has_finger = any(i is not None for i in finger_idx)
        if not (has_arm or has_finger):
            self._warn("js_other", f"{self.p.joint_states_topic}: ignored a message with none of the arm's "
                       f"or fingers' joints (names: {', '.join(names) or 'none'})")  # fmt: skip
            return
        if len(pos) != len(names):
            why = f"{len(pos)} positions for {len(names)} names"
            for key, has in (("joint_states", has_arm), ("finger_joints", has_finger)):
                if has:
                    self._refuse(key, why)
            return
        stamp = msg.header.stamp
        if has_arm:
            self._store_arm(names, arm_idx, pos, vel, stamp)
        if has_finger:
            missing = [n for n, i in zip(self.finger_joints, finger_idx) if i is None]
            if missing:
                self._refuse("finger_joints", f"missing finger joint {', '.join(missing)}")
            else:
                w = float(pos[finger_idx[0]]) + float(pos[finger_idx[1]])
                if not np.isfinite(w):
                    self._refuse("finger_joints", "non-finite finger joint position")
                elif (why := self.feed_input("finger_joints", stamp)) is not None:
                    self._refuse("finger_joints", why)
                else:
                    self.width_m = w
                    self.faults["finger_joints"] = None

    def _store_arm(
        self, names: list[str], arm_idx: list[int | None], pos: list, vel: list, stamp: Any
    ) -> None:
        missing = [n for n, i in zip(self.arm_joints, arm_idx) if i is None]
        if missing:
            self._refuse("joint_states", f"missing arm joints {', '.join(missing)}")
            return
        idx = [i for i in arm_idx if i is not None]
        q = np.array([pos[i] for i in idx], dtype=np.float64)
        if len(vel) != len(names):
            self._refuse(
                "joint_states", f"{len(vel)} velocities for {len(names)} names (velocities are observed)"
            )
            return
        qd = np.array([vel[i] for i in idx], dtype=np.float64)
        bad = [n for n, v in zip(self.arm_joints, q) if not np.isfinite(v)]
        if bad:
            self._refuse("joint_states", f"non-finite position of {', '.join(bad)}")
            return
        bad = [n for n, v in zip(self.arm_joints, qd) if not np.isfinite(v)]
        if bad:
            self._refuse("joint_states", f"non-finite velocity of {', '.join(bad)}")
            return
        why = self.feed_input("joint_states", stamp)  # too old or ahead by its stamp: refused
        if why is not None:
            self._refuse("joint_states", why)
            return
        self.q, self.qd = q, qd
        self.faults["joint_states"] = None

    def on_object_pose(self, msg: Any) -> None:
        got = pose_in_frame(msg, self.p.base_frame, "object pose")
        if isinstance(got, str):
            if self.needs_object:
                self._refuse("object_pose", got)
            return
        if self.needs_object and (why := self.feed_input("object_pose", msg.header.stamp)) is not None:
            self._refuse("object_pose", why)
            return
        self.object_pos, self.object_quat = got
        self.faults["object_pose"] = None

    def on_target_pose(self, msg: Any) -> None:
        got = pose_in_frame(msg, self.p.base_frame, "target")
        if isinstance(got, str):
            self.target_fault = got
            self._warn("target", f"{self.p.target_pose_topic}: refused: {got}; holding")
            return
        pos, quat = got
        self.target_fault = None
        new = self.target_pos is None or not np.allclose(pos, self.target_pos)
        self.target_pos = pos
        self.target_yaw = float(yaw_of_quat(quat[None])[0])
        if new:
            self.log.info(
                f"target ({pos[0]:.3f}, {pos[1]:.3f}, {pos[2]:.3f}) m, yaw {self.target_yaw:.2f} rad"
            )

    # ----------------------------------------------------------------------------- control

    def _why_not(self, now_mono: float) -> str | None:
        """Why the policy must not drive now (None: it may)."""
        p = self.p
        stale = set(self.watchdog.stale(now_mono))
        if self.faults["joint_states"] or "joint_states" in stale:
            why = self.faults["joint_states"] or ("stale" if self.q is not None else "no arm joint states")
            return f"{p.joint_states_topic} {why}"
        if self.faults["finger_joints"] or "finger_joints" in stale:
            why = self.faults["finger_joints"] or (
                "stale" if self.width_m is not None else f"no {' / '.join(self.finger_joints)}"
            )
            return f"{p.joint_states_topic} fingers {why}"
        if self.needs_object and (self.faults["object_pose"] or "object_pose" in stale):
            seen = self.watchdog.last_s.get("object_pose") is not None
            why = self.faults["object_pose"] or ("stale" if seen else "no object pose")
            return f"{p.object_pose_topic} {why}"
        if self.target_fault:
            return f"{p.target_pose_topic} {self.target_fault}"
        if self.target_pos is None:
            return f"no target on {p.target_pose_topic}"
        if not self.ever_engaged and not self.command_matched(self.arm_pub):
            return f"no subscriber on {self.cmd_topic}"
        return None

    def _signals(self) -> dict[str, np.ndarray]:
        assert self.q is not None and self.qd is not None and self.width_m is not None
        assert self.target_pos is not None
        return {
            "joint_pos": self.q[None].copy(),
            "joint_vel": self.qd[None].copy(),
            "gripper_width": np.array([[self.width_m]]),
            "object_pos": self.object_pos[None].copy(),
            "object_quat": self.object_quat[None].copy(),
            "target_pos": self.target_pos[None].copy(),
            "target_yaw": np.array([[self.target_yaw]]),
        }

    def _policy_step(self) -> None:
        assert self.controller is not None
        # Teleop beside the policy: the human's tool twist, mapped into joint deltas, runs through
        # the same safety layer; a hold sends the last target again.
        decision = self.teleop_decide(self._signals())
        if decision.source == HOLD:
            self._hold()
            return
        try:
            if decision.source == HUMAN:
                targets, closed, held = self.controller.act(decision.action, self._signals())
            else:
                targets, closed, held = self.controller.step(self._signals())
        except Exception as exc:  # onnxruntime or shape errors: hold, say why, stay up
            self._warn("policy", f"policy step failed: {type(exc).__name__}: {exc}; holding")
            self._hold()
            return
        if held:
            self.safety_events["workspace"] = self.safety_events.get("workspace", 0) + 1
            self._warn("workspace", "safety layer: the workspace box held the target back")
        self._send(targets, closed)

    def _send_hold(self, target: np.ndarray) -> None:
        """A hold: the joint target again; the gripper keeps its last command."""
        self._send(target, self.gripper_closed)

    # On exit no more commands (no send_safe_stop): ros2_control's position controllers hold the
    # last one.

    # ----------------------------------------------------------------------------- output

    def _send(self, targets: np.ndarray, closed: bool | None) -> None:
        """Publish joint targets (rad, contract order) and the gripper command. The limits are
        checked once more here: nothing else stands between this and the arm."""
        assert self.controller is not None
        s = self.controller.safety
        c = np.asarray(targets, dtype=np.float64)
        if not self.final_check(c, s.lower, s.upper, tol=1e-9):  # then the last safe targets
            if self.last_target is None:
                return
            c = self.last_target
        values = [float(v) for v in c]
        if self.p.command_interface == "forward":
            self.arm_pub.publish(self._array_cls(data=values))
        else:
            msg = self._traj_cls()
            msg.joint_names = list(self.arm_joints)  # header stamp zero: start now
            point = self._point_cls()
            point.positions = values
            period_ns = round(1e9 / self.controller.control_rate_hz)
            point.time_from_start.sec, point.time_from_start.nanosec = divmod(period_ns, 1_000_000_000)
            msg.points = [point]
            self.arm_pub.publish(msg)
        self.last_target = c.copy()
        self.published += 1
        if closed is not None:
            self._send_gripper(bool(closed))

    def _send_gripper(self, closed: bool) -> None:
        self.gripper_closed = closed
        half_width_m = 0.0 if closed else 0.5 * self.open_width_m
        if self.gripper_pub is not None:
            self.gripper_pub.publish(self._array_cls(data=[half_width_m]))
            return
        if self.gripper_goal_sent == closed:
            return
        goal = self._goal_cls()
        goal.command.position = half_width_m
        goal.command.max_effort = float(self.p.gripper_max_effort_n)
        if self.gripper_client.send_goal(goal):
            self.gripper_goal_sent = closed
        else:
            self._warn("gripper", f"{self.gripper_topic}: gripper action server not ready; will resend")


# --------------------------------------------------------------------------------- entry points

NODE = ManipNode
run_dds, main = node_main.entry_points(
    node_main.spec_for(NODE, "Run the arm policy node (ros2_control joint position targets + gripper).")
)

if __name__ == "__main__":
    import sys

    sys.exit(main())
