"""The dexterous hand policy node: its I/O adapter on :class:`sim2real_ros.policy_node.PolicyNode`
(which owns loading, the state topic, the schedule, the watchdog, the e-stop and the final check).

Inputs: ``/joint_states`` (sensor_msgs/JointState in the simulation's zero, matched by joint name;
the LEAP driver answers positions through services, and ``hardware/leap_hand`` turns them into
this stream), the cube pose and the goal orientation (geometry_msgs/PoseStamped in the palm frame;
read when the contract observes them), and an e-stop.

Outputs (``command_interface``): ``leap``: sensor_msgs/JointState on ``/cmd_leap`` with the 16
targets in the LEAP driver's order and zero (:meth:`HandDescription.to_hardware`); ``forward``:
std_msgs/Float64MultiArray on ``/<controller>/commands`` in the contract's order and zero.

Every target comes from :class:`sim2real_runtime.hand_control.HandController` (the contract's
terms and the training's :class:`~sim2real_runtime.hand_control.HandSafety`: joint limits with a
margin, a per-step change limit, the current-safe lead limit) and is checked once more before it
leaves. Modes on ``state_topic``: ``waiting: <why>``, ``running``, ``holding: <why>`` (an input
stale, missing a joint, non-finite, outside its limits, in another frame: the last target is sent
again), ``stopped: estop``, ``error: <why>`` (policy, hand file or parameters refused).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim2real_ros import node_main
from sim2real_ros.convert import pose_in_frame
from sim2real_ros.joint_target_node import JointTargetNode
from sim2real_ros.transport import DEFAULT, SENSOR_DATA
from sim2real_runtime.errors import ContractMismatchError
from sim2real_runtime.hand_control import HandController, HandSafetyConfig
from sim2real_runtime.hand_model import HandDescription
from sim2real_runtime.policy import OnnxPolicy

from .params import HandNodeParams

JOINT_STATE = "sensor_msgs/msg/JointState"
POSE_STAMPED = "geometry_msgs/msg/PoseStamped"
FLOAT64_ARRAY = "std_msgs/msg/Float64MultiArray"


def _reads(controller: HandController, kind: str) -> bool:
    return any(s.kind == kind for s in controller.observation.specs)


class HandNode(JointTargetNode):
    """The hand I/O adapter. Construct it with a transport and parameters; it never raises on
    bad input."""

    DOMAIN = "hand"
    PARAMS = HandNodeParams
    p: HandNodeParams

    # ----------------------------------------------------------------------------- set-up

    def load_description(self) -> HandDescription:
        return self.domain.load_description(self.p.hand_path)

    def make_controller(
        self, policy: OnnxPolicy, hand: HandDescription, control_rate_hz: float | None
    ) -> Any:
        p = self.p
        cfg = HandSafetyConfig(p.joint_margin_rad, p.max_speed_radps, p.max_lead_rad, p.current_safe)
        controller = self.domain.controller(policy, hand, cfg, control_rate_hz)  # domain, joints, rate...
        # a faster target than the policy was trained with: steps it never saw
        trained = float(policy.contract.robot["safety"]["max_speed_radps"])
        if p.max_speed_radps > trained + 1e-9:
            raise ContractMismatchError(
                str(policy.path), "robot.safety.max_speed_radps", trained, p.max_speed_radps
            )
        return controller

    def loaded_message(self, policy: OnnxPolicy) -> str:
        p, s = self.p, self.controller.safety
        out = (
            p.leap_command_topic if p.command_interface == "leap" else f"/{p.controller.strip('/')}/commands"
        )
        return (
            f"loaded {policy.path} for {self.description.name} "
            f"({len(self.description.joint_names)} joints): policy at "
            f"{self.controller.control_rate_hz:g} Hz, {p.command_interface} commands on {out}; per-step "
            f"change <= {s.max_step_rad[0]:g} rad, lead <= {s.cfg.max_lead_rad:g} rad"
            f"{'' if s.cfg.current_safe else ' (current-safe mode off)'}"
        )

    def watchdog_timeouts(self) -> dict[str, float]:
        c, t = self.controller, self.p.watchdog_timeout_s
        self.needs_cube = c is not None and (_reads(c, "object_position") or _reads(c, "object_orientation"))
        self.needs_goal = c is not None and _reads(c, "orientation_error")
        out = {"joint_states": t}
        if self.needs_cube or self.needs_goal:
            out["cube_pose"] = t
        return out

    def setup_io(self) -> None:
        p, t = self.p, self.t
        hand: HandDescription | None = self.description
        self.joints: tuple[str, ...] = hand.joint_names if hand else ()
        if hand is not None:
            self.lower, self.upper = hand.lower, hand.upper
        self.q: np.ndarray | None = None
        self.cube_pos = np.zeros(3)
        self.cube_quat = np.array([1.0, 0.0, 0.0, 0.0])
        self.goal_quat: np.ndarray | None = None
        self.faults: dict[str, str | None] = {"joint_states": None, "cube_pose": None, "goal": None}
        self.engaged = self.ever_engaged = False
        self.last_target: np.ndarray | None = None
        if p.command_interface == "leap":
            self.cmd_topic = p.leap_command_topic
            self.cmd_pub = t.publisher(self.cmd_topic, JOINT_STATE, DEFAULT)
            self._js_cls = t.msg(JOINT_STATE)
        else:
            self.cmd_topic = f"/{p.controller.strip('/')}/commands"
            self.cmd_pub = t.publisher(self.cmd_topic, FLOAT64_ARRAY, DEFAULT)
            self._array_cls = t.msg(FLOAT64_ARRAY)

    def initial_state(self) -> str:
        return "waiting: no joint states"

    def subscribe_inputs(self) -> None:
        p = self.p
        self.subscribe(p.joint_states_topic, JOINT_STATE, SENSOR_DATA, self.on_joint_states)
        self.subscribe(p.cube_pose_topic, POSE_STAMPED, SENSOR_DATA, self.on_cube_pose)
        self.subscribe(p.goal_topic, POSE_STAMPED, DEFAULT, self.on_goal)

    # ----------------------------------------------------------------------------- inputs

    def _refuse(self, key: str, topic: str, why: str) -> None:
        self.faults[key] = why
        if key in self.watchdog.timeouts_s:
            self.watchdog.invalidate(key)
        self._warn(key, f"{topic}: refused: {why}; holding")

    def joint_fault(self, msg: Any) -> tuple[np.ndarray | None, str | None]:
        """(positions in contract order, None) or (None, why the message is refused)."""
        names, pos = list(msg.name), list(msg.position)
        if not names:
            return None, (
                f"{len(pos)} positions without joint names: joints are matched by name (the "
                "LEAP driver's order is not the contract's; publish through hardware/leap_hand)"
            )
        if len(pos) != len(names):
            return None, f"{len(pos)} positions for {len(names)} names"
        index = {n: i for i, n in enumerate(names)}
        missing = [n for n in self.joints if n not in index]
        if missing:
            return None, f"missing joint {', '.join(missing)} (got {', '.join(names)})"
        q = np.array([pos[index[n]] for n in self.joints], dtype=np.float64)
        bad = [n for n, v in zip(self.joints, q, strict=True) if not np.isfinite(v)]
        if bad:
            return None, f"non-finite position of {', '.join(bad)}"
        tol = self.p.joint_limit_tolerance_rad
        out = [
            f"{n} = {v:.3f} rad outside [{lo:.3f}, {hi:.3f}]"
            for n, v, lo, hi in zip(self.joints, q, self.lower, self.upper, strict=True)
            if v < lo - tol or v > hi + tol
        ]
        if out:
            hint = " (the driver's zero, pi away? joint states must be in the simulation's zero)"
            return None, f"{out[0]}{hint if len(out) > 3 else ''}"
        return q, None

    def on_joint_states(self, msg: Any) -> None:
        if self.controller is None:
            return
        q, why = self.joint_fault(msg)
        if why is None:
            why = self.feed_input("joint_states", msg.header.stamp)
        if why is not None:
            self._refuse("joint_states", self.p.joint_states_topic, why)
            return
        self.q = q
        self.faults["joint_states"] = None

    def on_cube_pose(self, msg: Any) -> None:
        if not (getattr(self, "needs_cube", False) or getattr(self, "needs_goal", False)):
            return
        got = pose_in_frame(msg, self.p.palm_frame, "cube pose")
        why = got if isinstance(got, str) else self.feed_input("cube_pose", msg.header.stamp)
        if why is not None:
            self._refuse("cube_pose", self.p.cube_pose_topic, why)
            return
        self.cube_pos, self.cube_quat = got
        self.faults["cube_pose"] = None

    def on_goal(self, msg: Any) -> None:
        got = pose_in_frame(msg, self.p.palm_frame, "goal")
        if isinstance(got, str):
            self.faults["goal"] = got
            self._warn("goal", f"{self.p.goal_topic}: refused: {got}; holding")
            return
        self.faults["goal"] = None
        self.goal_quat = got[1]

    # ----------------------------------------------------------------------------- control

    def _why_not(self, now_mono: float) -> str | None:
        p = self.p
        stale = set(self.watchdog.stale(now_mono))
        if self.faults["joint_states"] or "joint_states" in stale:
            why = self.faults["joint_states"] or ("stale" if self.q is not None else "no joint states")
            return f"{p.joint_states_topic} {why}"
        if (self.needs_cube or self.needs_goal) and (self.faults["cube_pose"] or "cube_pose" in stale):
            seen = self.watchdog.last_s.get("cube_pose") is not None
            return f"{p.cube_pose_topic} {self.faults['cube_pose'] or ('stale' if seen else 'no cube pose')}"
        if self.needs_goal and (self.faults["goal"] or self.goal_quat is None):
            return f"{p.goal_topic} {self.faults['goal'] or 'no goal'}"
        if not self.ever_engaged and not self.command_matched(self.cmd_pub):
            return f"no subscriber on {self.cmd_topic}"
        return None

    def _policy_step(self) -> None:
        assert self.q is not None
        signals = {
            "joint_pos": self.q[None].copy(),
            "object_pos": self.cube_pos[None].copy(),
            "object_quat": self.cube_quat[None].copy(),
            "goal_quat": (self.goal_quat if self.goal_quat is not None else self.cube_quat)[None].copy(),
        }
        try:
            target = self.controller.step(signals)
        except Exception as exc:  # onnxruntime or shape errors: hold, say why, stay up
            self._warn("policy", f"policy step failed: {type(exc).__name__}: {exc}; holding")
            self._hold()
            return
        self._send(target)

    def _send_hold(self, target: np.ndarray) -> None:
        self._send(target)

    def send_safe_stop(self) -> None:
        if self.controller is not None and self.last_target is not None:
            self._send(self.last_target)

    # ----------------------------------------------------------------------------- output

    def _send(self, target: np.ndarray) -> None:
        """Publish targets (rad, contract order and zero), converted for the chosen interface.
        The limits are checked once more here: nothing else stands between this and the hand."""
        s = self.controller.safety
        c = np.asarray(target, dtype=np.float64)
        if not self.final_check(c, s.lower, s.upper, tol=1e-9):
            if self.last_target is None:
                return
            c = self.last_target
        if self.p.command_interface == "leap":
            hand: HandDescription = self.description
            msg = self._js_cls()
            msg.name = list(hand.hardware_joint_order)
            msg.position = [float(v) for v in hand.to_hardware(c)]
            self.cmd_pub.publish(msg)
        else:
            self.cmd_pub.publish(self._array_cls(data=[float(v) for v in c]))
        self.last_target = c.copy()
        self.published += 1


# --------------------------------------------------------------------------------- entry points

NODE = HandNode
run_dds, main = node_main.entry_points(
    node_main.spec_for(
        NODE, "Run the dexterous hand policy node (LEAP driver or ros2_control position targets)."
    )
)

if __name__ == "__main__":
    import sys

    sys.exit(main())
