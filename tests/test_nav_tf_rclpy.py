"""Where ROS 2 is installed (marker ``ros``): the rclpy side of goal transforms is tf2_ros
(:class:`sim2real_ros.tf.Tf2RosLookup`), fed by /tf and /tf_static from our DDS transport, and it
agrees with the DDS side's buffer on the same hand-computed transforms. Skipped here (no rclpy)."""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros


@pytest.fixture
def rclpy_env(dds_env, monkeypatch):
    rclpy = pytest.importorskip("rclpy")
    pytest.importorskip("tf2_ros")
    monkeypatch.setenv("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")
    rclpy.init()
    yield rclpy
    rclpy.try_shutdown()


def test_tf2_ros_and_the_dds_buffer_agree_on_map_to_odom(rclpy_env):
    from sim2real_ros.convert import fill_header, set_yaw
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.ros import RclpyTransport
    from sim2real_ros.tf import TF_QOS, TF_STATIC_QOS, BufferLookup, Tf2RosLookup, make_lookup
    from sim2real_runtime.tf_buffer import TransformError

    ros, dds = RclpyTransport("tf_ros_side"), DdsTransport("tf_dds_side")
    warnings: list[str] = []
    lookup = make_lookup(ros, ros.subscribe, lambda k, t: warnings.append(t), 10.0)
    assert isinstance(lookup, Tf2RosLookup)
    mirror = BufferLookup(dds.subscribe, ros.now_s, lambda k, t: warnings.append(t), 10.0)
    tf_pub = dds.publisher("/tf", "tf2_msgs/msg/TFMessage", TF_QOS)
    static_pub = dds.publisher("/tf_static", "tf2_msgs/msg/TFMessage", TF_STATIC_QOS)

    def tf(parent, child, t_s, x, y, yaw):
        ts = dds.msg("geometry_msgs/msg/TransformStamped")()
        fill_header(ts.header, t_s, parent)
        ts.child_frame_id = child
        ts.transform.translation.x, ts.transform.translation.y = x, y
        set_yaw(ts.transform.rotation, yaw)
        return dds.msg("tf2_msgs/msg/TFMessage")(transforms=[ts])

    with pytest.raises(TransformError):
        lookup.lookup("odom", "map")
    static_pub.publish(tf("odom", "dock", 0.0, 1.0, 0.0, math.pi))
    end = time.monotonic() + 15.0
    got = None
    while time.monotonic() < end and got is None:
        tf_pub.publish(tf("map", "odom", ros.now_s(), 2.0, 1.0, math.pi / 2))
        for t in (ros, dds):
            t.spin_once(0.02)
        with contextlib.suppress(TransformError):
            got = lookup.lookup("odom", "map"), lookup.lookup("odom", "dock")
    assert got is not None, "no transform reached tf2_ros"
    # Map (2, 7) is odom (6, 0); dock (2, 0) is odom (-1, 0): by hand, as in test_nav_tf.py.
    np.testing.assert_allclose(got[0].apply(np.array([2.0, 7.0])), [6.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(got[1].apply(np.array([2.0, 0.0])), [-1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(
        mirror.lookup("odom", "map").apply(np.array([2.0, 7.0])), [6.0, 0.0], atol=1e-6
    )
    ros.close()
    dds.close()
