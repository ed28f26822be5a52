"""Real pub/sub between processes over Cyclone DDS on loopback, with ROS 2 wire conventions."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from sim2real_ros.dds import DdsTransport, loopback_config
from sim2real_ros.transport import DEFAULT, SENSOR_DATA, QoS

TS = get_typestore(Stores.ROS2_JAZZY)

PUBLISHER = """
import sys, time
import numpy as np
from sim2real_ros.dds import DdsTransport
from sim2real_ros.transport import SENSOR_DATA
t = DdsTransport("pub")
pub = t.publisher("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA)
M = t.msg("sensor_msgs/msg/LaserScan")
frame = sys.argv[1]
for i in range(int(sys.argv[2])):
    m = M(angle_min=-2.0, angle_increment=0.01, range_max=30.0,
          ranges=(np.arange(720, dtype=np.float32) * 0.01 + i).tolist(), intensities=[1.0, 2.0])
    m.header.frame_id = frame
    m.header.stamp.sec = i
    pub.publish(m)
    time.sleep(0.02)
"""


def start_publisher(env, frame, count=150):
    return subprocess.Popen([sys.executable, "-c", PUBLISHER, frame, str(count)], env=env)


def collect(transport, seconds, stop=lambda: False):
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and not stop():
        transport.spin_once(0.05)


def test_pub_sub_between_processes_types_and_bytes(dds_env):
    sub = DdsTransport("sub")
    got = []
    sub.subscribe("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA, got.append)
    # A second network on the same domain id with another discovery tag must stay invisible.
    other_env = {**dds_env, "CYCLONEDDS_URI": loopback_config("another-test")}
    pubs = [start_publisher(dds_env, "laser"), start_publisher(other_env, "intruder")]
    try:
        collect(sub, 20.0, stop=lambda: len(got) >= 20)
        types = sub.publisher_types("/scan")
    finally:
        for p in pubs:
            p.wait(timeout=30)
    assert len(got) >= 20
    assert {m.header.frame_id for m in got} == {"laser"}
    assert types == {"sensor_msgs/msg/LaserScan"}
    m = got[-1]
    i = m.header.stamp.sec
    np.testing.assert_array_equal(
        np.asarray(m.ranges, np.float32), np.arange(720, dtype=np.float32) * 0.01 + i
    )
    # The received sample is byte-identical to ROS 2's serialization of the same message.
    T = TS.types
    ref = T["sensor_msgs/msg/LaserScan"](
        header=T["std_msgs/msg/Header"](
            stamp=T["builtin_interfaces/msg/Time"](sec=i, nanosec=0), frame_id="laser"
        ),
        angle_min=-2.0,
        angle_max=0.0,
        angle_increment=0.01,
        time_increment=0.0,
        scan_time=0.0,
        range_min=0.0,
        range_max=30.0,
        ranges=np.arange(720, dtype=np.float32) * 0.01 + i,
        intensities=np.array([1.0, 2.0], np.float32),
    )
    assert m.serialize() == bytes(TS.serialize_cdr(ref, "sensor_msgs/msg/LaserScan"))
    sub.close()


def test_reliable_reader_does_not_match_best_effort_writer(dds_env):
    # The reason the node reads /scan best effort: a reliable reader silently gets nothing.
    sub = DdsTransport("sub")
    reliable, best_effort = [], []
    sub.subscribe("/scan", "sensor_msgs/msg/LaserScan", QoS(reliable=True, depth=5), reliable.append)
    pub = start_publisher(dds_env, "laser", count=100)
    try:
        other = DdsTransport("sub2")  # same process: a second participant with a best-effort reader
        other.subscribe("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA, best_effort.append)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20 and len(best_effort) < 10:
            sub.spin_once(0.02)
            other.spin_once(0.02)
    finally:
        pub.wait(timeout=30)
    assert len(best_effort) >= 10
    assert reliable == []
    sub.close()
    other.close()


def test_wrong_type_on_a_topic_is_seen_in_discovery(dds_env):
    a = DdsTransport("a")
    b = DdsTransport("b")
    a.publisher("/scan", "std_msgs/msg/String", DEFAULT)
    t0 = time.monotonic()
    types: set[str] = set()
    while time.monotonic() - t0 < 10 and not types:
        b.spin_once(0.05)
        types = b.publisher_types("/scan")
    assert types == {"std_msgs/msg/String"}
    assert a.publisher_types("/scan") == set()  # a participant's own writers are not reported
    a.close()
    b.close()


def test_unknown_message_type_is_named(dds_env):
    t = DdsTransport("x")
    with pytest.raises(KeyError, match="sensor_msgs/msg/Imu"):
        t.publisher("/imu", "sensor_msgs/msg/Imu", SENSOR_DATA)
    t.close()
