"""The nav_policy node's logic, driven through its callbacks on a real DDS transport.

Messages are the DDS transport's ROS 2 types (checked byte for byte against ROS 2 in
test_ros_msgs.py); time is driven by the test so watchdog behaviour is exact.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import REPO, clocked_transport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nav_policy.node import NavPolicyNode
from nav_policy.params import params_from_mapping, read_params_file
from sim2real_ros import msgs
from sim2real_ros.convert import make_odom, make_scan, set_yaw
from sim2real_ros.transport import fill_stamp

POLICY = REPO / "policies" / "nav_jackal"


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("nav_policy_test")
    yield t
    t.close()


def make_node(transport, **overrides):
    values = {"policy_path": str(POLICY), **overrides}
    params, errors = params_from_mapping(values, "test")
    return NavPolicyNode(transport, params, errors)


def scan_msg(jackal, t_s, ranges=None):
    r = np.full(jackal.lidar.num_beams, 8.0, dtype=np.float32) if ranges is None else ranges
    return make_scan(msgs.LaserScan, r, t_s, jackal.lidar)


def odom_msg(x=0.0, y=0.0, yaw=0.0, v=0.0, w=0.0, t_s=0.0):
    return make_odom(msgs.Odometry, np.array([x, y, yaw]), np.array([v, w]), t_s)


def goal_msg(x, y, frame="odom"):
    m = msgs.PoseStamped()
    m.header.frame_id = frame
    m.pose.position.x, m.pose.position.y = x, y
    set_yaw(m.pose.orientation, 0.0)
    return m


def drive(node, jackal, clock, steps=10, dt=0.025, **odom):
    """Feed odometry and scans at the lidar's 40 Hz for ``steps`` scans."""
    for _ in range(steps):
        clock.t += dt
        node.on_odom(odom_msg(t_s=clock.t, **odom))
        node.on_scan(scan_msg(jackal, clock.t))


def test_idle_until_goal_then_drives_within_limits(transport, jackal):
    node = make_node(transport)
    assert node.state == "idle" and np.array_equal(node.last_cmd, [0.0, 0.0])
    drive(node, jackal, transport.clock, 4)
    assert node.state == "idle" and np.array_equal(node.last_cmd, [0.0, 0.0])
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, transport.clock, 20)
    assert node.state == "driving"
    assert 0.1 < node.last_cmd[0] <= jackal.max_linear_speed_mps
    # Acceleration-limited: after 0.5 s at 4 m/s^2 the speed is at most 2 m/s.
    assert node.last_cmd[0] <= 4.0 * 0.5 + 1e-9


def test_stamped_command_carries_the_scan_stamp(transport, jackal):
    node = make_node(transport, cmd_vel_stamped=True)
    got = []
    node.cmd_pub.publish = got.append  # read what the node hands to its publisher
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, transport.clock, 6)
    last = got[-1]
    assert isinstance(last, msgs.TwistStamped) and last.header.frame_id == "base_link"
    assert last.header.stamp.sec + 1e-9 * last.header.stamp.nanosec == pytest.approx(
        transport.clock.t, abs=1e-6
    )
    assert last.twist.linear.x == pytest.approx(node.last_cmd[0])
    node.on_estop(msgs.Bool(data=True))  # a stop is stamped with the node clock
    transport.clock.t += 1.0
    node.on_tick()
    assert got[-1].twist.linear.x == 0.0
    assert got[-1].header.stamp.sec == int(transport.clock.t)


@pytest.mark.parametrize("scan_rate_hz", [40.0, 20.0, 15.0, 10.0])
def test_policy_runs_at_its_contract_rate_whatever_the_scan_rate(transport, jackal, scan_rate_hz):
    node = make_node(transport)
    node.on_goal(goal_msg(50.0, 0.0))
    steps = []
    inner = node.controller.step
    node.controller.step = lambda *a, **k: (steps.append(node.scan_stamp_s), inner(*a, **k))[1]
    drive(node, jackal, transport.clock, int(4.0 * scan_rate_hz), dt=1.0 / scan_rate_hz)
    assert len(steps) == pytest.approx(40, abs=1)  # 4 s at 10 Hz
    gaps = np.diff(steps)
    assert np.mean(gaps) == pytest.approx(0.1, abs=0.005)
    if scan_rate_hz % 10 == 0:  # scans at a multiple of the policy rate: exactly every 0.1 s
        np.testing.assert_allclose(gaps, 0.1, atol=1e-6)
    else:  # otherwise on the first scan at or after each due time: within one scan period of it
        assert np.all(np.abs(gaps - 0.1) <= 1.0 / scan_rate_hz + 1e-6)


def test_goal_reached_stops(transport, jackal):
    node = make_node(transport, goal_tolerance_m=0.5)
    drive(node, jackal, transport.clock, 2)
    node.on_goal(goal_msg(0.3, 0.0))
    assert node.state == "goal_reached" and np.array_equal(node.last_cmd, [0.0, 0.0])
    drive(node, jackal, transport.clock, 5)
    assert node.state == "goal_reached" and np.array_equal(node.last_cmd, [0.0, 0.0])


def test_watchdog_zero_within_one_period_of_timeout(transport, jackal):
    node = make_node(transport, scan_timeout_s=0.25, loop_rate_hz=50.0)
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, transport.clock, 20)
    assert node.last_cmd[0] > 0.1
    last_scan = transport.clock.t
    # Odometry keeps coming, scans stop: ticks every 20 ms.
    while transport.clock.t - last_scan <= 0.25:
        transport.clock.t += 0.02
        node.on_odom(odom_msg(t_s=transport.clock.t))
        node.on_tick()
        if transport.clock.t - last_scan <= 0.25:
            assert node.last_cmd[0] > 0.0  # not yet stale: heartbeat holds the command
    assert np.array_equal(node.last_cmd, [0.0, 0.0])
    assert transport.clock.t - last_scan <= 0.25 + 0.02
    assert node.state == "stopped: /scan stale"
    drive(node, jackal, transport.clock, 10)  # scans return: it drives again
    assert node.state == "driving" and node.last_cmd[0] > 0.0


def test_wrong_length_scan_and_nan_odometry_stop_and_recover(transport, jackal):
    node = make_node(transport)
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, transport.clock, 10)
    assert node.last_cmd[0] > 0.0
    node.on_scan(make_scan(msgs.LaserScan, np.ones(360, np.float32), transport.clock.t, jackal.lidar))
    assert np.array_equal(node.last_cmd, [0.0, 0.0])
    assert node.state.startswith("stopped: /scan invalid (360 beams, the robot's lidar has 720)")
    drive(node, jackal, transport.clock, 10)
    assert node.state == "driving"
    node.on_odom(odom_msg(x=math.nan))
    assert np.array_equal(node.last_cmd, [0.0, 0.0])
    assert node.state.startswith("stopped: /odom invalid (non-finite pose")
    drive(node, jackal, transport.clock, 3)
    assert node.state == "driving"


def test_scan_of_another_lidar_geometry_is_refused(transport, jackal):
    import dataclasses

    node = make_node(transport)
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, transport.clock, 3)
    other = dataclasses.replace(jackal.lidar, fov_rad=math.pi)  # 720 beams over 180 degrees
    node.on_scan(make_scan(msgs.LaserScan, np.ones(720, np.float32), transport.clock.t, other))
    assert np.array_equal(node.last_cmd, [0.0, 0.0]) and "angle_min" in node.state


def test_estop_is_immediate_and_latched(transport, jackal):
    node = make_node(transport)
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, transport.clock, 10)
    node.on_estop(msgs.Bool(data=True))
    assert np.array_equal(node.last_cmd, [0.0, 0.0]) and node.state == "stopped: e-stop"
    drive(node, jackal, transport.clock, 5)
    node.on_tick()
    assert np.array_equal(node.last_cmd, [0.0, 0.0])
    node.on_estop(msgs.Bool(data=False))
    drive(node, jackal, transport.clock, 5)
    assert node.state == "driving" and node.last_cmd[0] > 0.0


def test_collision_guard_caps_speed_from_raw_scan(transport, jackal):
    node = make_node(transport)
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, transport.clock, 30)
    assert node.last_cmd[0] > 0.3
    # A wall 0.17 m ahead of the laser: 0.12 + 0.17 - 0.254 = 0.036 m from the front edge, inside
    # the guard's 0.05 m margin: the guard stops the base at once, whatever the policy asks.
    ranges = np.full(720, 8.0, dtype=np.float32)
    ang = jackal.lidar.beam_angles_rad()
    ahead = np.abs(ang) < 0.3
    ranges[ahead] = 0.17 / np.cos(ang[ahead])
    transport.clock.t += 0.025
    node.on_scan(scan_msg(jackal, transport.clock.t, ranges))
    assert node.last_cmd[0] == pytest.approx(0.0, abs=1e-9)


def test_wrong_type_on_an_input_is_named_in_the_state(transport, jackal):
    node = make_node(transport)
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, transport.clock, 5)
    transport.publisher_types = lambda topic: {"std_msgs/msg/String"} if topic == "/scan" else set()
    node.check_types()
    transport.clock.t += 0.3  # no LaserScan arrives: the String publisher is all there is
    node.on_odom(odom_msg(t_s=transport.clock.t))
    node.on_tick()
    assert np.array_equal(node.last_cmd, [0.0, 0.0])
    assert node.state == (
        "stopped: /scan is published as std_msgs/msg/String; this node reads sensor_msgs/msg/LaserScan"
    )


def test_goal_in_a_frame_without_transform_holds_and_a_non_finite_goal_is_refused(transport, jackal):
    node = make_node(transport)
    drive(node, jackal, transport.clock, 2)
    node.on_goal(goal_msg(5.0, 0.0, frame="map"))  # nothing on /tf: hold at zero (test_nav_tf.py)
    drive(node, jackal, transport.clock, 4)
    assert node.state.startswith("stopped: /goal_pose frame 'map': no transform to 'odom'")
    assert np.array_equal(node.last_cmd, [0.0, 0.0])
    node.on_goal(goal_msg(math.inf, 0.0))
    drive(node, jackal, transport.clock, 2)
    assert node.plan is None and node.state == "stopped: /goal_pose refused (non-finite position (inf, 0.0))"
    assert np.array_equal(node.last_cmd, [0.0, 0.0])


def test_policy_that_fails_to_load_keeps_node_up_with_zero(transport, jackal, tmp_path):
    bad = tmp_path / "policy.onnx"
    bad.write_bytes(b"not an onnx file")
    node = make_node(transport, policy_path=str(bad))
    assert (
        node.state.startswith("error: cannot load the policy") and "not a loadable ONNX model" in node.state
    )
    node.on_goal(goal_msg(5.0, 0.0))
    drive(node, jackal, transport.clock, 5)
    node.on_tick()
    assert np.array_equal(node.last_cmd, [0.0, 0.0]) and node.published > 5


def test_unknown_parameter_and_excess_limit_are_errors(transport, jackal):
    node = make_node(transport, max_sped_mps=1.0)
    assert node.state.startswith("error: bad parameter max_sped_mps")
    drive(node, jackal, transport.clock, 3)
    assert np.array_equal(node.last_cmd, [0.0, 0.0])
    node2 = make_node(transport, max_linear_speed_mps=3.0)  # the Jackal's limit is 2 m/s
    assert node2.state.startswith("error: cannot load the policy: parameter max_linear_speed_mps=3.0")
    _, errors = params_from_mapping({"policy_path": "x", "goal_tolerance_m": "far"}, "f.yaml")
    assert "f.yaml: field 'goal_tolerance_m': expected a number" in str(errors[0])


def test_params_file_of_the_package_is_complete(jackal):
    values = read_params_file(REPO / "ros2_ws/src/nav_policy/config/jackal.yaml")
    params, errors = params_from_mapping({**values, "policy_path": str(POLICY)}, "jackal.yaml")
    assert errors == []
    assert params.robot == "jackal" and params.scan_topic == "/scan"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fill=st.floats(allow_nan=True, allow_infinity=True, width=32),
    spots=st.lists(
        st.tuples(st.integers(0, 719), st.floats(allow_nan=True, allow_infinity=True, width=32)), max_size=40
    ),
    pose=st.tuples(*[st.floats(-1e6, 1e6)] * 3),
    twist=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
)
def test_property_any_input_gives_finite_in_limit_command(transport, jackal, fill, spots, pose, twist):
    ranges = np.full(720, fill, dtype=np.float32)
    for i, r in spots:
        ranges[i] = r
    node = getattr(transport, "_prop_node", None)
    if node is None:
        node = transport._prop_node = make_node(transport)
        node.on_odom(odom_msg())
        node.on_goal(goal_msg(5.0, 3.0))
    transport.clock.t += 0.1
    node.on_odom(odom_msg(*pose, *twist, t_s=transport.clock.t))
    node.on_scan(scan_msg(jackal, transport.clock.t, ranges))
    node.on_tick()
    c = node.last_cmd
    assert np.all(np.isfinite(c))
    assert -2.0 <= c[0] <= 2.0 and -4.0 <= c[1] <= 4.0


def test_node_observation_equals_training_env_observation(transport, jackal):
    """DESIGN.md's one-pipeline test: a training-env state, sent as the ROS messages the robot would
    publish (through the DDS serializer), gives the node the observation training produced."""
    import torch

    from sim2real.nav.config import NavTaskConfig
    from sim2real.nav.env import NavEnv
    from sim2real.nav.kinematic_sim import WorldBank
    from sim2real.nav.worldgen import generate_training_world

    rng = np.random.default_rng(3)
    worlds = [generate_training_world(rng, d) for d in (0.3, 0.8)]
    env = NavEnv(NavTaskConfig(), jackal, WorldBank(worlds, jackal, 0.15), num_envs=4, seed=1)
    # Odometry noise is drawn anew at every read: without it, the state below is the one observed.
    env.sim.params["twist_noise_std"][:] = 0.0
    for _ in range(15):
        obs, *_ = env.step(torch.rand(4, 2) * 2 - 1)
    expected = obs["policy"].numpy()
    node = make_node(transport)
    # An odometry frame that is not the map frame: the observation must not depend on it.
    ox, oy, oyaw = 1.5, -2.0, 0.7
    c, s = math.cos(oyaw), math.sin(oyaw)

    def to_odom(x, y):
        dx, dy = x - ox, y - oy
        return c * dx + s * dy, -s * dx + c * dy

    for i in range(4):
        x, y, yaw = env.sim.pose[i]
        v, w = env.sim.measured_twist()[i]
        t = transport.clock.t = transport.clock.t + 1.0
        od = msgs.Odometry.deserialize(odom_msg(*to_odom(x, y), yaw - oyaw, v, w, t_s=t).serialize())
        goal = msgs.PoseStamped.deserialize(goal_msg(*to_odom(*env.goal[i])).serialize())
        scan = make_scan(msgs.LaserScan, env._scan[i], t, jackal.lidar)
        fill_stamp(scan.header.stamp, t)
        scan = msgs.LaserScan.deserialize(scan.serialize())
        node.on_odom(od)
        node.on_goal(goal)
        node.controller.prev_action = env.prev_action[i : i + 1].copy()
        node.on_scan(scan)
        np.testing.assert_allclose(node.controller.last_obs[0], expected[i], rtol=0, atol=2e-5)
