#!/usr/bin/env python3
"""LEAP Hand joint states for hand_policy: ask the LEAP driver's ``leap_position`` service at up
to ``rate_hz`` and publish the answers on ``/joint_states`` (sensor_msgs/JointState) by joint name,
in the simulation's order and zero (:class:`sim2real_runtime.hand_driver.LeapPositionPoller`).

Run next to LEAP_Hand_API's ``ros2_module`` driver (``ros2 run leap_hand leaphand_node.py``):

    python3 hardware/leap_hand/leap_joint_states.py --ros-args -p rate_hz:=50.0

Needs ROS 2 (rclpy) and the driver's ``leap_hand`` service types; written against LEAP_Hand_API's
``ros2_module`` (``LeapPosition.srv``: empty request, ``float64[] position``) but NOT run here (no
ROS 2 on the project's machines). The conversion it relies on is tested in tests/test_hand_node.py.
"""

from __future__ import annotations

import sys

try:
    import rclpy
    from leap_hand.srv import LeapPosition  # LEAP_Hand_API ros2_module
    from rclpy.node import Node
    from sensor_msgs.msg import JointState
except ImportError as exc:  # pragma: no cover - needs ROS 2 and the LEAP driver's package
    sys.exit(f"leap_joint_states needs ROS 2 and LEAP_Hand_API's leap_hand package: {exc}")

from sim2real_runtime.hand_driver import LeapPositionPoller
from sim2real_runtime.hand_model import load_hand


class LeapJointStates(Node):
    def __init__(self) -> None:
        super().__init__("leap_joint_states")
        hand_file = self.declare_parameter("hand", "leap_hand").value
        rate = float(self.declare_parameter("rate_hz", 50.0).value)
        service = self.declare_parameter("service", "leap_position").value
        self.poller = LeapPositionPoller(load_hand(hand_file), rate_hz=rate)
        self.client = self.create_client(LeapPosition, service)
        self.pub = self.create_publisher(JointState, "joint_states", 10)
        self.create_timer(0.002, self.tick)  # the poller paces; the timer only checks often
        self.get_logger().info(f"polling {service} at up to {rate:g} Hz -> /joint_states (simulation zero)")

    def tick(self) -> None:
        now = self.get_clock().now().nanoseconds * 1e-9
        if not self.client.service_is_ready() or not self.poller.should_request(now):
            return
        self.client.call_async(LeapPosition.Request()).add_done_callback(self.answered)

    def answered(self, future) -> None:
        js = self.poller.on_response(future.result().position)
        if js is None:
            self.get_logger().error(f"refused: {self.poller.last_error}")
            return
        msg = JointState()
        sec = int(js.stamp_s)
        msg.header.stamp.sec, msg.header.stamp.nanosec = sec, int((js.stamp_s - sec) * 1e9)
        msg.name, msg.position = list(js.names), list(js.positions)
        self.pub.publish(msg)


def main() -> None:
    rclpy.init()
    node = LeapJointStates()
    try:
        rclpy.spin(node)
    finally:
        node.destroy_node()
        rclpy.shutdown()


if __name__ == "__main__":
    main()
