"""Where ROS 2 is installed (marker ``ros``): the rclpy transport, and interoperation between our DDS
transport and a real ROS 2 node on rmw_cyclonedds_cpp. Skipped here (no rclpy)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from conftest import REPO

pytestmark = pytest.mark.ros

POLICY = REPO / "policies" / "nav_jackal"


@pytest.fixture
def rclpy_env(dds_env, monkeypatch):
    rclpy = pytest.importorskip("rclpy")
    monkeypatch.setenv("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")
    rclpy.init()
    yield rclpy
    rclpy.try_shutdown()


def _spin_until(transports, cond, timeout_s=10.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and not cond():
        for t in transports:
            t.spin_once(0.01)
    return cond()


def test_dds_scan_reaches_an_rclpy_subscriber_and_back(rclpy_env):
    """A LaserScan from our Cyclone DDS adapter arrives in a ROS 2 node intact, and a Twist from the
    ROS 2 node arrives in ours: the two speak the same wire protocol."""
    from sim2real_ros.convert import make_scan
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.ros import RclpyTransport
    from sim2real_ros.transport import DEFAULT, SENSOR_DATA
    from sim2real_runtime.robot import load_robot

    lidar = load_robot("jackal").lidar
    ros, dds = RclpyTransport("ros_side"), DdsTransport("dds_side")
    got_scan, got_twist = [], []
    ros.subscribe("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA, got_scan.append)
    dds.subscribe("/cmd_vel", "geometry_msgs/msg/Twist", DEFAULT, got_twist.append)
    scan_pub = dds.publisher("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA)
    twist_pub = ros.publisher("/cmd_vel", "geometry_msgs/msg/Twist", DEFAULT)
    ranges = np.linspace(0.2, 9.0, lidar.num_beams, dtype=np.float32)

    def exchange():
        scan_pub.publish(make_scan(dds.msg("sensor_msgs/msg/LaserScan"), ranges, 12.5, lidar))
        tw = ros.msg("geometry_msgs/msg/Twist")()
        tw.linear.x = 0.5
        twist_pub.publish(tw)
        return bool(got_scan) and bool(got_twist)

    assert _spin_until([ros, dds], exchange, 15.0)
    np.testing.assert_array_equal(np.asarray(got_scan[-1].ranges, np.float32), ranges)
    assert got_scan[-1].header.stamp.sec == 12 and got_twist[-1].linear.x == 0.5
    assert ros.publisher_types("/scan") == {"sensor_msgs/msg/LaserScan"}
    ros.close()
    dds.close()


def test_nav_node_on_rclpy_drives_towards_a_goal(rclpy_env):
    from nav_policy.node import NavPolicyNode
    from nav_policy.params import params_from_mapping
    from sim2real_ros.convert import fill_header, make_odom, make_scan
    from sim2real_ros.ros import RclpyTransport
    from sim2real_ros.transport import DEFAULT, SENSOR_DATA
    from sim2real_runtime.robot import load_robot

    lidar = load_robot("jackal").lidar
    node_t = RclpyTransport("nav_policy")
    params, errors = params_from_mapping({"policy_path": str(POLICY)}, "test")
    node = NavPolicyNode(node_t, params, errors)
    feeder = RclpyTransport("feeder")
    cmds = []
    feeder.subscribe("/cmd_vel", "geometry_msgs/msg/Twist", DEFAULT, cmds.append)
    scan_pub = feeder.publisher("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA)
    odom_pub = feeder.publisher("/odom", "nav_msgs/msg/Odometry", SENSOR_DATA)
    goal_pub = feeder.publisher("/goal_pose", "geometry_msgs/msg/PoseStamped", DEFAULT)
    goal = feeder.msg("geometry_msgs/msg/PoseStamped")()
    fill_header(goal.header, 0.0, "odom")
    goal.pose.position.x = 5.0
    sent = [False]

    def step():
        now = time.time()
        odom_pub.publish(make_odom(feeder.msg("nav_msgs/msg/Odometry"), np.zeros(3), np.zeros(2), now))
        scan_pub.publish(make_scan(feeder.msg("sensor_msgs/msg/LaserScan"), np.full(720, 8.0), now, lidar))
        if not sent[0] and node.pose is not None:
            goal_pub.publish(goal)
            sent[0] = True
        return any(c.linear.x > 0.1 for c in cmds)

    assert _spin_until([feeder, node_t], step, 20.0), f"state: {node.state}"
    assert node.state == "driving"
    assert os.environ["RMW_IMPLEMENTATION"] == "rmw_cyclonedds_cpp"
    node_t.close()
    feeder.close()
