"""Goals and paths in any frame /tf connects to the odometry frame (issue 16), through the node's
callbacks on a real DDS transport with a test clock."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import REPO, clocked_transport

from nav_policy.node import NavPolicyNode
from nav_policy.params import params_from_mapping
from sim2real_ros import msgs
from sim2real_ros.convert import make_odom, make_scan, set_yaw
from sim2real_ros.transport import fill_stamp

POLICY = REPO / "policies" / "nav_jackal"


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("nav_tf_test")
    yield t
    t.close()


def make_node(transport, **overrides):
    params, errors = params_from_mapping({"policy_path": str(POLICY), **overrides}, "test")
    return NavPolicyNode(transport, params, errors)


def goal_msg(x, y, frame="map"):
    m = msgs.PoseStamped()
    m.header.frame_id = frame
    m.pose.position.x, m.pose.position.y = x, y
    set_yaw(m.pose.orientation, 0.0)
    return m


def drive(node, jackal, clock, steps=4, dt=0.025, x=0.0, y=0.0, yaw=0.0):
    for _ in range(steps):
        clock.t += dt
        node.on_odom(make_odom(msgs.Odometry, np.array([x, y, yaw]), np.zeros(2), clock.t))
        ranges = np.full(jackal.lidar.num_beams, 8.0, dtype=np.float32)
        node.on_scan(make_scan(msgs.LaserScan, ranges, clock.t, jackal.lidar))


def test_map_goal_before_the_first_odometry_is_not_read_in_the_odometry_frame(transport, jackal):
    """The bug: a goal sent before the first odometry message was accepted whatever its frame and
    read in the odometry frame. Without a map -> odom transform the node must not drive."""
    node = make_node(transport)
    node.on_goal(goal_msg(5.0, 0.0, frame="map"))  # before any odometry
    drive(node, jackal, transport.clock, 8)
    assert np.array_equal(node.last_cmd, [0.0, 0.0])
    assert node.state.startswith("stopped:") and "'map'" in node.state and "'odom'" in node.state


def tf_msg(parent, child, t_s, x, y, yaw):
    ts = msgs.TransformStamped()
    fill_stamp(ts.header.stamp, t_s)
    ts.header.frame_id, ts.child_frame_id = parent, child
    ts.transform.translation.x, ts.transform.translation.y = x, y
    set_yaw(ts.transform.rotation, yaw)
    return msgs.TFMessage(transforms=[ts])


def path_msg(points, frame="map"):
    m = msgs.Path()
    m.header.frame_id = frame
    for x, y in points:
        ps = goal_msg(x, y, frame)
        m.poses.append(ps)
    return m


def test_map_goal_is_accepted_when_the_transform_arrives_and_follows_map_to_odom(transport, jackal):
    node = make_node(transport)
    clock = transport.clock
    node.on_goal(goal_msg(2.0, 7.0, frame="map"))  # before any odometry or transform
    drive(node, jackal, clock, 4)
    assert np.array_equal(node.last_cmd, [0.0, 0.0]) and "frame 'map' does not exist" in node.state
    # map -> odom: (2, 1), 90 deg. Map (2, 7) is odom (6, 0), by hand.
    node.tf.on_tf(tf_msg("map", "odom", clock.t, 2.0, 1.0, math.pi / 2), "/tf")
    drive(node, jackal, clock, 8)
    np.testing.assert_allclose(node.goal, [6.0, 0.0], atol=1e-9)
    assert node.state == "driving" and node.last_cmd[0] > 0.05
    # Localisation corrects map -> odom to (3, 1): the goal moves in odom to (6, 1).
    node.tf.on_tf(tf_msg("map", "odom", clock.t, 3.0, 1.0, math.pi / 2), "/tf")
    drive(node, jackal, clock, 1)
    np.testing.assert_allclose(node.goal, [6.0, 1.0], atol=1e-9)
    # Reached where the map says: robot at odom (6, 1) is map (2, 7).
    drive(node, jackal, clock, 1, x=6.0, y=1.0)
    assert node.state == "goal_reached" and np.array_equal(node.last_cmd, [0.0, 0.0])


def test_goal_through_a_static_chain_and_an_empty_frame_is_the_odometry_frame(transport, jackal):
    node = make_node(transport)
    clock = transport.clock
    node.tf.on_tf(tf_msg("odom", "dock", 0.0, 1.0, 0.0, math.pi), "/tf_static")
    drive(node, jackal, clock, 2)
    node.on_goal(goal_msg(2.0, 0.0, frame="dock"))  # 2 m along dock's x, which points along -x
    drive(node, jackal, clock, 2)
    np.testing.assert_allclose(node.goal, [-1.0, 0.0], atol=1e-9)
    node.on_goal(goal_msg(4.0, 0.5, frame=""))
    drive(node, jackal, clock, 2)
    np.testing.assert_allclose(node.goal, [4.0, 0.5])
    assert node.state == "driving"


def test_path_is_followed_with_a_lookahead_point(transport, jackal):
    node = make_node(transport, lookahead_m=2.0)
    clock = transport.clock
    node.tf.on_tf(tf_msg("map", "odom", clock.t, 10.0, 0.0, 0.0), "/tf")
    node.on_path(path_msg([(10.0 + 0.5 * k, 0.0) for k in range(21)]))  # map x 10..20
    drive(node, jackal, clock, 4)
    np.testing.assert_allclose(node.local_goal, [2.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(node.goal, [10.0, 0.0], atol=1e-9)
    drive(node, jackal, clock, 1, x=4.0, y=0.3)
    np.testing.assert_allclose(node.local_goal, [6.0, 0.0], atol=1e-9)
    assert node.state == "driving" and node.last_cmd[0] > 0.0
    steps = []
    inner = node.controller.step
    node.controller.step = lambda *a, **k: (steps.append(np.array(a[3])), inner(*a, **k))[1]
    drive(node, jackal, clock, 8, x=4.0, y=0.3)
    np.testing.assert_allclose(steps[-1], [6.0, 0.0], atol=1e-9)  # the policy's goal


def test_a_replan_to_the_same_end_keeps_the_policy_state(transport, jackal):
    node = make_node(transport)
    clock = transport.clock
    node.tf.on_tf(tf_msg("map", "odom", clock.t, 0.0, 0.0, 0.0), "/tf")
    node.on_path(path_msg([(0.5 * k, 0.0) for k in range(21)]))
    drive(node, jackal, clock, 12)
    resets = []
    node.controller.reset = lambda: resets.append(1)
    cmd = node.last_cmd.copy()
    node.on_path(path_msg([(0.5 * k, 0.1 * k) for k in range(1, 21)] + [(10.0, 0.1)]))  # same end
    assert not resets and node.last_cmd[0] >= cmd[0] - 1e-9 and node.state == "driving"
    node.on_path(path_msg([(0.0, 0.5 * k) for k in range(21)]))  # another end: a new plan
    assert resets == [1]


def _recovers(node, jackal, clock):
    """After bad input the node is up: a good goal in odom makes it drive."""
    node.on_goal(goal_msg(5.0, 0.0, frame="odom"))
    drive(node, jackal, clock, 8)
    return node.state == "driving" and node.last_cmd[0] > 0.0


def _driving_to_map_goal(node, jackal, clock):
    node.tf.on_tf(tf_msg("map", "odom", clock.t, 0.0, 0.0, 0.0), "/tf")
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, clock, 8)
    assert node.state == "driving" and node.last_cmd[0] > 0.0


@pytest.mark.parametrize(
    "bad, state, log",
    [
        (
            lambda n, c: n.on_goal(goal_msg(math.nan, 1.0)),
            "stopped: /goal_pose refused (non-finite",
            "/goal_pose",
        ),
        (
            lambda n, c: n.on_path(path_msg([])),
            "stopped: /plan refused (empty path)",
            "/plan: refused: empty path",
        ),
        (
            lambda n, c: n.on_path(path_msg([(1.0, 0.0), (2.0, math.inf)])),
            "stopped: /plan refused (pose 1 of 2 has a non-finite position",
            "/plan",
        ),
        (
            lambda n, c: n.on_path(path_msg([(1.0, 0.0)], frame="nowhere")),
            "stopped: /plan frame 'nowhere': no transform to 'odom' (frame 'nowhere' does not exist",
            "holding at zero",
        ),
        (  # a loop on /tf: odom -> map while map -> odom exists
            lambda n, c: n.tf.on_tf(tf_msg("odom", "map", c.t, 0.0, 0.0, 0.0), "/tf"),
            "stopped: /goal_pose frame 'map': no transform to 'odom' (the transform tree has a loop",
            "loop",
        ),
        (  # localisation stops publishing: the newest map -> odom ages past the 10 s history
            lambda n, c: setattr(c, "t", c.t + 10.5),
            "stopped: /goal_pose frame 'map': no transform to 'odom' (the newest transform",
            "older than the history",
        ),
    ],
    ids=["nan_goal", "empty_path", "nan_path", "path_frame_without_tf", "tf_loop", "tf_older_than_history"],
)
def test_bad_input_logs_stops_and_the_node_stays_up(transport, jackal, caplog, bad, state, log):
    node = make_node(transport)
    clock = transport.clock
    _driving_to_map_goal(node, jackal, clock)
    caplog.clear()
    bad(node, clock)
    drive(node, jackal, clock, 4)
    assert node.state.startswith(state), node.state
    assert np.array_equal(node.last_cmd, [0.0, 0.0])
    assert any(log in r.getMessage() and r.levelname == "ERROR" for r in caplog.records), caplog.text
    node.tf.buffer.clear()
    assert _recovers(node, jackal, clock)


def test_transform_older_than_the_history_is_refused_with_a_log_line(transport, jackal, caplog):
    node = make_node(transport)
    transport.clock.t = 100.0
    node.tf.on_tf(tf_msg("map", "odom", 80.0, 0.0, 0.0, 0.0), "/tf")
    assert (
        "/tf: refused a transform: transform 'map' -> 'odom' stamped 80.000 s is older than the history"
        in caplog.text
    )
    assert node.tf.buffer.frames() == set()
