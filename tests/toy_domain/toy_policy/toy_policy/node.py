"""The toy policy node: the rail cart's I/O adapter on :class:`sim2real_ros.policy_node.PolicyNode`
(which owns loading, the state topic, the schedule, the watchdog, the e-stop and the final check).

Inputs: ``/joint_states`` (sensor_msgs/JointState: the rail joint's position and velocity), the goal
(std_msgs/Float64, m on the rail) and the e-stop. Output: ``[force]`` (std_msgs/Float64MultiArray,
N) to a ros2_control effort controller. A steady-clock loop at ``loop_rate_hz`` checks the
watchdog, runs the policy when due (the contract's rate, node clock) and sends the command; any
stop sends zero force.

States on ``state_topic``: ``waiting: no goal``, ``running``, ``stopped: <why>`` (e-stop, stale or
invalid joint states) and ``error: <why>`` (the policy, cart or parameters could not be loaded or
do not fit: the node stays up and sends zero force).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from sim2real_ros import node_main
from sim2real_ros.policy_node import PolicyNode
from sim2real_ros.transport import DEFAULT, SENSOR_DATA
from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.policy import OnnxPolicy

from .params import ToyNodeParams

JOINT_STATE = "sensor_msgs/msg/JointState"
FLOAT64 = "std_msgs/msg/Float64"
FLOAT64_ARRAY = "std_msgs/msg/Float64MultiArray"


class ToyPolicyNode(PolicyNode):
    """Joint states and goals in, force out."""

    DOMAIN = "toy"
    PARAMS = ToyNodeParams
    p: ToyNodeParams

    # ----------------------------------------------------------------------------- set-up

    def load_description(self) -> Any:
        return self.domain.load_description(self.p.cart)

    def make_controller(self, policy: OnnxPolicy, description: Any, control_rate_hz: float | None) -> Any:
        if self.p.max_force_n > description.max_force_n + 1e-9:
            raise Sim2RealError(
                f"parameter max_force_n={self.p.max_force_n:g} exceeds the cart's limit "
                f"{description.max_force_n:g} ({description.name})"
            )
        return self.domain.controller(policy, description, control_rate_hz)

    def loaded_message(self, policy: OnnxPolicy) -> str:
        limit = self.p.max_force_n or self.description.max_force_n
        return (
            f"loaded {policy.path} for {self.description.name}: policy at "
            f"{self.controller.control_rate_hz:g} Hz, force +-{limit:g} N"
        )

    def watchdog_timeouts(self) -> dict[str, float]:
        return {"joint_states": self.p.joint_state_timeout_s}

    def setup_io(self) -> None:
        p = self.p
        limit = 0.0  # only zero force leaves until a policy is loaded
        if self.controller is not None:
            limit = p.max_force_n or self.description.max_force_n
        self.low, self.high = np.array([-limit]), np.array([limit])
        self.position: float | None = None
        self.velocity: float | None = None
        self.goal: float | None = None
        self.input_fault: str | None = None
        self.target = np.zeros(1)
        self._cmd_cls = self.t.msg(FLOAT64_ARRAY)
        self.cmd_pub = self.t.publisher(p.command_topic, FLOAT64_ARRAY, DEFAULT)

    def initial_state(self) -> str:
        return "waiting: no goal"

    def subscribe_inputs(self) -> None:
        self.subscribe(self.p.joint_states_topic, JOINT_STATE, SENSOR_DATA, self.on_joint_states)
        self.subscribe(self.p.goal_topic, FLOAT64, DEFAULT, self.on_goal)

    # ----------------------------------------------------------------------------- callbacks

    def on_joint_states(self, msg: Any) -> None:
        names = list(msg.name)
        j = self.p.joint_name
        if j not in names:
            return self._refuse(f"no joint {j!r} in {names}")
        i = names.index(j)
        x = float(msg.position[i]) if len(msg.position) > i else math.nan
        v = float(msg.velocity[i]) if len(msg.velocity) > i else math.nan
        if not (math.isfinite(x) and math.isfinite(v)):
            return self._refuse(f"non-finite position {x} or velocity {v}")
        self.input_fault = None
        self.position, self.velocity = x, v
        self.watchdog.feed("joint_states", self.t.monotonic_s())

    def on_goal(self, msg: Any) -> None:
        g = float(msg.data)
        h = self.description.rail_half_length_m if self.description is not None else 0.0
        if not (math.isfinite(g) and abs(g) <= h):
            self._warn("goal", f"{self.p.goal_topic}: refused goal {g} (the rail is +-{h:g} m)")
            return
        self.goal = g
        self.scheduler.reset()
        if self.controller is not None:
            self.controller.reset()

    def on_estop_changed(self) -> None:
        if self.estop:
            self._stop(self._stop_reason() or "stopped: e-stop")

    def on_tick(self) -> None:
        why = self._stop_reason()
        if why is not None:
            self._stop(why)
            return
        self._set_state("running")
        if self.scheduler.due(self.t.now_s()):
            try:
                self.target = np.asarray(
                    self.controller.step(self.position, self.velocity, self.goal), dtype=np.float64
                )
            except Exception as exc:  # onnxruntime or shape errors: stop, say why, stay up
                self._warn("policy", f"policy step failed: {type(exc).__name__}: {exc}")
                self.target = np.zeros(1)
        self._publish(np.clip(self.target, self.low, self.high))

    def send_safe_stop(self) -> None:
        self.goal = None
        self._publish(np.zeros(1))

    # ----------------------------------------------------------------------------- helpers

    def _stop_reason(self) -> str | None:
        if self.fault:
            return "error: " + self.fault
        if self.estop:
            return "stopped: e-stop"
        if self.watchdog.stale(self.t.monotonic_s()):
            topic = self.p.joint_states_topic
            why = f"invalid ({self.input_fault})" if self.input_fault else "stale"
            return "stopped: " + (self.type_fault.get(topic) or f"{topic} {why}")
        if self.goal is None:
            return "waiting: no goal"
        return None

    def _stop(self, why: str) -> None:
        self._set_state(why)
        self.target = np.zeros(1)
        self._publish(self.target)

    def _refuse(self, why: str) -> None:
        self.input_fault = why
        self.watchdog.invalidate("joint_states")
        self._warn("joint_states", f"{self.p.joint_states_topic}: refused a message: {why}")

    def _publish(self, cmd: np.ndarray) -> None:
        if not self.final_check(cmd, self.low, self.high):
            cmd = np.zeros(1)
        self.cmd_pub.publish(self._cmd_cls(data=[float(c) for c in cmd]))
        self.published += 1


# --------------------------------------------------------------------------------- entry points

NODE = ToyPolicyNode
run_dds, main = node_main.entry_points(node_main.spec_for(NODE, "Run the toy (rail cart) policy node."))

if __name__ == "__main__":
    sys.exit(main())
