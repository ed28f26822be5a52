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
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosidl_runtime_py.utilities import get_message

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
        return get_message(ros_type)

    def publisher(self, topic: str, ros_type: str, qos: QoS) -> Any:
        pub = self.node.create_publisher(self.msg(ros_type), topic, ros_qos(qos))
        self._keep.append(pub)
        return pub

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
