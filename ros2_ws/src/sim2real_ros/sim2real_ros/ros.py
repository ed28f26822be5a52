"""The ``rclpy`` transport: what ``ros2 launch`` uses on a robot.

Import-guarded: importing this module without ROS 2 sourced raises ImportError, and nothing else in
the project imports it unless asked to (``transport: rclpy``). Verified only where ROS 2 is
installed (tests marked ``ros``); see the README's support table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.action import ActionClient, ActionServer
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosidl_runtime_py.utilities import get_action, get_message

from .transport import QoS


def ros_qos(qos: QoS) -> QoSProfile:
    return QoSProfile(
        reliability=ReliabilityPolicy.RELIABLE if qos.reliable else ReliabilityPolicy.BEST_EFFORT,
        history=HistoryPolicy.KEEP_LAST,
        depth=qos.depth,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if qos.transient_local else DurabilityPolicy.VOLATILE,
    )


class RclpyTransport:
    """One rclpy node.

    Args:
        name: node name.
        use_sim_time: the node clock follows ``/clock`` (the ``use_sim_time`` parameter).
        node: an existing node to wrap instead of creating one (its parameters are read by the
            caller through :meth:`parameters`).
    """

    def __init__(self, name: str, use_sim_time: bool = False, node: Node | None = None) -> None:
        if not rclpy.ok():
            rclpy.init()
        if node is None:
            node = Node(name, automatically_declare_parameters_from_overrides=True)
        self.node = node
        if use_sim_time and not node.has_parameter("use_sim_time"):
            node.declare_parameter("use_sim_time", True)
        elif use_sim_time:
            node.set_parameters([Parameter("use_sim_time", value=True)])
        self.name = node.get_name()
        self.log = node.get_logger()
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._keep: list[Any] = []  # publishers, subscriptions, timers: rclpy needs references held

    def parameters(self) -> dict[str, Any]:
        """Every parameter given to the node (launch file / params file / command line), by name."""
        return {
            name: p.value
            for name, p in self.node.get_parameters_by_prefix("").items()
            if name != "use_sim_time"
        }

    def watch_parameter(self, name: str, callback: Callable[[float], str | None]) -> None:
        from rcl_interfaces.msg import SetParametersResult

        def on_set(params: list[Parameter]) -> SetParametersResult:
            for p in params:
                if p.name == name:
                    why = callback(p.value)
                    if why is not None:
                        return SetParametersResult(successful=False, reason=why)
            return SetParametersResult(successful=True)

        self.node.add_on_set_parameters_callback(on_set)

    def msg(self, ros_type: str) -> type:
        # rosidl_generator_py's ``pkg.action`` module exports the action class and its services'
        # messages, not ``<Action>_Goal``/``_Result``/``_Feedback``: those are the action's
        # ``Goal``/``Result``/``Feedback`` attributes.
        # "<type>#v<N>" names a px4_msgs layout for our DDS classes; the installed px4_msgs has one
        # layout (the one of the PX4 it was built for), so rclpy uses the plain type.
        ros_type = ros_type.split("#", 1)[0]
        pkg, kind, name = ros_type.split("/") if ros_type.count("/") == 2 else ("", "", "")
        if kind == "action":
            for part in ("Goal", "Result", "Feedback"):
                if name.endswith("_" + part):
                    return getattr(get_action(f"{pkg}/action/{name[: -len(part) - 1]}"), part)
        return get_message(ros_type)

    def action_client(self, name: str, action_type: str) -> _ActionClient:
        client = _ActionClient(self.node, name, action_type)
        self._keep.append(client)
        return client

    def action_server(self, name: str, action_type: str, execute: Callable[[Any], Any]) -> ActionServer:
        action = get_action(action_type)
        log = self.log

        def execute_callback(goal_handle: Any) -> Any:
            try:
                result = execute(goal_handle.request)
            except Exception as e:  # abort the goal, keep the node
                log.error(f"action {name}: execute raised {e!r}")
                goal_handle.abort()
                return action.Result()
            goal_handle.succeed()
            return action.Result() if result is None else result

        server = ActionServer(self.node, action, name, execute_callback)
        self._keep.append(server)
        return server

    def publisher(self, topic: str, ros_type: str, qos: QoS) -> _Publisher:
        pub = self.node.create_publisher(self.msg(ros_type), topic, ros_qos(qos))
        self._keep.append(pub)
        return _Publisher(pub)

    def subscribe(self, topic: str, ros_type: str, qos: QoS, callback: Callable[[Any], None]) -> None:
        self._keep.append(self.node.create_subscription(self.msg(ros_type), topic, callback, ros_qos(qos)))

    def timer(self, period_s: float, callback: Callable[[], None]) -> None:
        # A steady-clock timer keeps firing when /clock stops (the watchdog relies on it).
        self._keep.append(self.node.create_timer(period_s, callback, clock=self._steady))

    def publisher_types(self, topic: str) -> set[str]:
        own = self.name
        return {
            info.topic_type for info in self.node.get_publishers_info_by_topic(topic) if info.node_name != own
        }

    def now_s(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def monotonic_s(self) -> float:
        return time.monotonic()

    def spin_once(self, timeout_s: float) -> None:
        rclpy.spin_once(self.node, timeout_sec=timeout_s)

    def close(self) -> None:
        self.node.destroy_node()


class _Publisher:
    """rclpy's Publisher behind :class:`sim2real_ros.transport.Publisher`."""

    def __init__(self, pub: Any) -> None:
        self.pub = pub

    def publish(self, msg: Any) -> None:
        self.pub.publish(msg)

    def subscriber_count(self) -> int:
        return self.pub.get_subscription_count()


class _ActionClient:
    """rclpy's ActionClient behind :class:`sim2real_ros.transport.ActionClient`."""

    def __init__(self, node: Node, name: str, action_type: str) -> None:
        self.name = name
        self.log = node.get_logger()
        self._client = ActionClient(node, get_action(action_type), name)

    def server_ready(self) -> bool:
        return self._client.server_is_ready()

    def send_goal(self, goal: Any, on_result: Callable[[int, Any], None] | None = None) -> bool:
        if not self._client.server_is_ready():
            self.log.warning(f"action server {self.name} is not ready: goal dropped")
            return False

        def on_response(future: Any) -> None:
            handle = future.result()
            if not handle.accepted:
                self.log.warning(f"action server {self.name} rejected a goal")
            elif on_result is not None:
                handle.get_result_async().add_done_callback(
                    lambda f: on_result(f.result().status, f.result().result)
                )

        self._client.send_goal_async(goal).add_done_callback(on_response)
        return True
