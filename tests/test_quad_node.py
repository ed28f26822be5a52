"""The quad_policy node's logic, driven through its callbacks on a real DDS transport, with the
test's clock (watchdog behaviour is exact). The policy is a tiny but real trained-and-exported one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from conftest import clocked_transport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quad_policy.node import QuadNode
from quad_policy.params import params_from_mapping, read_params_file
from sim2real_ros import msgs, px4
from sim2real_ros.transport import fill_stamp
from sim2real_runtime.rotations import quat_to_matrix
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, load_vehicle

CF = load_vehicle("crazyflie_2_1")


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("quad_policy_test")
    yield t
    t.close()


def make_node(transport, policy, **overrides):
    """A node whose autopilot has matched; the Crazyflie's thrust-unlock stream is one tick long
    unless ``cf_unlock_s`` is given (its own tests give it)."""
    params, errors = params_from_mapping(
        {"policy_path": str(policy), "cf_unlock_s": 0.005, **overrides}, "test"
    )
    node = QuadNode(transport, params, errors)
    sent = []
    for name in ("cmd_pub", "rates_pub"):
        if hasattr(node, name):
            getattr(node, name).publish = sent.append
            getattr(node, name).subscriber_count = lambda: 1  # the autopilot has matched
    node.sent = sent
    return node


def odom(
    pos=(0.0, 0.0, 1.0),
    quat=(1.0, 0.0, 0.0, 0.0),
    vel_body=(0.0, 0.0, 0.0),
    rates=(0.0, 0.0, 0.0),
    frame="world",
):
    m = msgs.Odometry()
    m.header.frame_id = frame
    p, q = m.pose.pose.position, m.pose.pose.orientation
    p.x, p.y, p.z = pos
    q.w, q.x, q.y, q.z = quat
    tw = m.twist.twist
    tw.linear.x, tw.linear.y, tw.linear.z = vel_body
    tw.angular.x, tw.angular.y, tw.angular.z = rates
    return m


def pose_ref(x, y, z, frame="world"):
    m = msgs.PoseStamped()
    m.header.frame_id = frame
    m.pose.position.x, m.pose.position.y, m.pose.position.z = x, y, z
    m.pose.orientation.w = 1.0
    return m


def run(node, clock, seconds, rate_hz=200.0, **odom_kw):
    for _ in range(int(round(seconds * rate_hz))):
        clock.t += 1.0 / rate_hz
        if odom_kw is not None:
            node.on_odometry(odom(**odom_kw))
        node.on_tick()


def cf_command(node, twist):
    """(thrust N, rates) a stock Crazyflie makes of the Twist: battery compensation makes its
    thrust linear in the legacy command (the vehicle file's curves), rates as the firmware reads them."""
    _, rates = px4.cmd_vel_legacy_command(twist, 4 * CF.motor_max_thrust_n, node.p.cf_backend)
    return px4.cmd_vel_legacy_thrust_u16(twist) / 65535.0 * 4 * CF.motor_max_thrust_n, rates


def test_crazyflie_waits_for_odometry_then_holds_where_it_is(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy)
    c = transport.clock
    c.t += 0.5
    node.on_tick()
    assert node.state.startswith("waiting: /cf231/odom") and node.sent == []
    run(node, c, 0.2, pos=(0.3, -0.2, 1.1))
    assert node.state == "holding"
    assert np.allclose(node.hold_point, [0.3, -0.2, 1.1])
    # The firmware's thrust lock is released by a zero-thrust setpoint, then one command per tick.
    assert px4.cmd_vel_legacy_thrust_u16(node.sent[0]) == 0
    assert len(node.sent) == 40
    thrust, rates = cf_command(node, node.sent[-1])
    # Crazyswarm2 clips the legacy thrust at 60000/65535; the battery-compensated firmware's thrust is
    # linear in it (0.9155 of full), above the 0.9 asked for: the 0.9 limit stands.
    assert node.safety.high[0] * CF.mass_kg == pytest.approx(0.9 * 4 * CF.motor_max_thrust_n)
    assert 0 < thrust <= node.safety.high[0] * CF.mass_kg + 1e-6
    assert np.all(np.abs(rates) <= np.asarray(node.safety.high[1:]) + 1e-6)


def test_no_flight_before_the_autopilot_subscribes(transport, tiny_quad_policy):
    """The Crazyflie's thrust unlock is sent only after the command topic matched."""
    node = make_node(transport, tiny_quad_policy)
    node.cmd_pub.subscriber_count = lambda: 0
    run(node, transport.clock, 0.1)
    assert node.state == "waiting: no subscriber on /cf231/cmd_vel_legacy" and node.sent == []
    node.cmd_pub.subscriber_count = lambda: 1
    run(node, transport.clock, 0.02)
    assert node.state == "holding" and px4.cmd_vel_legacy_thrust_u16(node.sent[0]) == 0


def test_thrust_unlock_is_a_stream_of_zero_thrust_setpoints_before_take_off(transport, tiny_quad_policy):
    """One unlock sent the moment the command topic matched can be lost (the server's reader may
    not have matched yet; CI lost one and the vehicle never left its start): the node streams
    zero thrust for cf_unlock_s, starting over if the server goes away, and only then flies."""
    node = make_node(transport, tiny_quad_policy, cf_unlock_s=0.25)
    c = transport.clock
    run(node, c, 0.1)  # 20 ticks
    assert node.state == "waiting: thrust unlock (zero thrust on /cf231/cmd_vel_legacy)"
    assert [px4.cmd_vel_legacy_thrust_u16(m) for m in node.sent] == [0] * 20
    node.cmd_pub.subscriber_count = lambda: 0  # the server went away: the stream starts over
    run(node, c, 0.05)
    assert node.state == "waiting: no subscriber on /cf231/cmd_vel_legacy" and len(node.sent) == 20
    node.cmd_pub.subscriber_count = lambda: 1
    run(node, c, 0.245)  # 49 ticks: still under 0.25 s since the server came back
    assert not node.engaged and len(node.sent) == 69
    assert {px4.cmd_vel_legacy_thrust_u16(m) for m in node.sent} == {0}
    run(node, c, 0.1)
    assert node.engaged and node.state == "holding"
    thrusts = [px4.cmd_vel_legacy_thrust_u16(m) for m in node.sent[69:]]
    assert thrusts[0] == 0 and min(thrusts[2:]) > 0  # at most one more unlock tick, then flight


def test_policy_runs_at_its_contract_rate_inside_the_200hz_loop(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy)
    calls = []
    step = node.controller.step
    node.controller.step = lambda *a: calls.append(transport.clock.t) or step(*a)
    run(node, transport.clock, 1.0)
    rate = node.controller.control_rate_hz
    assert len(calls) == pytest.approx(rate, abs=1)
    assert np.allclose(np.diff(calls), 1.0 / rate, atol=1e-6)


def test_stale_odometry_descends_then_cuts_thrust(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy, land_cutoff_s=1.0)
    c = transport.clock
    run(node, c, 0.2)
    for _ in range(40):  # 0.2 s without odometry (timeout 0.1 s)
        c.t += 0.005
        node.on_tick()
    assert node.state.startswith("descending: /cf231/odom stale")
    thrust, rates = cf_command(node, node.sent[-1])
    assert thrust == pytest.approx(0.85 * STANDARD_GRAVITY_MPS2 * CF.mass_kg, rel=0.02)
    assert np.allclose(rates, 0.0, atol=0.01)  # no attitude to level against: hold rates at zero
    for _ in range(220):
        c.t += 0.005
        node.on_tick()
    assert node.state.startswith("stopped: motors cut after 1 s descending (/cf231/odom stale)")
    assert px4.cmd_vel_legacy_thrust_u16(node.sent[-1]) == 0


def test_nan_odometry_is_refused_and_never_reaches_the_command(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy)
    c = transport.clock
    run(node, c, 0.2)
    run(node, c, 0.2, pos=(math.nan, 0.0, 1.0))
    assert node.state.startswith("descending: /cf231/odom non-finite odometry")
    for tw in node.sent:
        assert all(math.isfinite(v) for v in (tw.linear.x, tw.linear.y, tw.linear.z, tw.angular.z))


def test_geofence_breach_descends_and_references_are_fenced(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy, geofence_max_m=[1.0, 1.0, 2.0])
    c = transport.clock
    node.on_reference_pose(pose_ref(5.0, 0.0, 1.0))  # outside the fence: clamped to 0.7 m
    run(node, c, 0.1)
    obs = node.controller.last_obs[0]
    sl = node.controller.observation.slices()["position_error"]
    assert obs[sl][0] == pytest.approx(0.7, abs=1e-5)  # body x = world x at zero yaw
    run(node, c, 0.1, pos=(1.5, 0.0, 1.0))
    assert node.state.startswith("descending: outside the geofence")


def test_tilt_beyond_the_limit_is_levelled(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy, max_tilt_deg=30.0)
    a = math.radians(50.0)  # rolled 50 deg to the left (about +x)
    run(node, transport.clock, 0.2, quat=(math.cos(a / 2), math.sin(a / 2), 0.0, 0.0))
    assert node.safety_events.get("tilt", 0) > 0
    _, rates = cf_command(node, node.sent[-1])
    assert rates[0] < -1.0  # roll back to the right


def test_reference_in_another_frame_or_unstamped_path_is_refused(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy)
    node.on_reference_pose(pose_ref(1.0, 0.0, 1.0, frame="map"))
    assert node.reference is None
    path = msgs.Path()
    path.header.frame_id = "world"
    path.poses = [pose_ref(0.0, 0.0, 1.0), pose_ref(1.0, 0.0, 1.0)]  # both stamped 0
    node.on_reference_path(path)
    assert node.reference is None
    for i, ps in enumerate(path.poses):
        fill_stamp(ps.header.stamp, 100.0 + i)
    node.on_reference_path(path)
    assert node.reference is not None and node.reference.end_s == pytest.approx(101.0)


def test_finished_path_holds_its_last_point(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy)
    c = transport.clock
    path = msgs.Path()
    path.header.frame_id = "world"
    path.poses = [pose_ref(0.0, 0.0, 1.0), pose_ref(0.5, 0.0, 1.0)]
    fill_stamp(path.poses[0].header.stamp, c.t)
    fill_stamp(path.poses[1].header.stamp, c.t + 0.5)
    node.on_reference_path(path)
    run(node, c, 0.3)
    assert node.state == "flying"
    run(node, c, 0.4)
    assert node.state == "holding" and np.allclose(node.hold_point, [0.5, 0.0, 1.0])


def test_aggressiveness_is_a_run_time_parameter(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy, aggressiveness=0.2)
    run(node, transport.clock, 0.1)
    sl = node.controller.observation.slices()["aggressiveness"]
    assert node.controller.last_obs[0, sl][0] == pytest.approx(0.2)
    assert node.set_aggressiveness(0.9) is None
    run(node, transport.clock, 0.1)
    assert node.controller.last_obs[0, sl][0] == pytest.approx(0.9)
    assert "in [0, 1]" in node.set_aggressiveness(1.5)
    assert node.aggressiveness == 0.9


def test_bad_parameters_leave_the_node_up_in_error_and_silent(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy, interface="ardupilot", max_tilt_deg=120.0)
    run(node, transport.clock, 0.1)
    assert node.state.startswith("error: bad parameter")
    node2 = make_node(transport, tiny_quad_policy, vehicle="no_such_vehicle")
    run(node2, transport.clock, 0.1)
    assert node2.state.startswith("error: cannot load the policy") and node2.sent == []


def test_vehicle_outside_the_training_envelope_is_refused_unless_allowed(
    transport, tiny_quad_policy, tmp_path
):
    strong = tmp_path / "strong.yaml"
    strong.write_text(
        "name: strong\nmass_kg: 0.02\narm_length_m: 0.046\ninertia_kgm2: [1.7e-5, 1.7e-5, 2.9e-5]\n"
        "motor_max_thrust_n: 0.14\ntorque_to_thrust_m: 0.0074\nmotor_time_constant_s: 0.05\n"
        + yaml.safe_dump({"flight_controller": CF.as_dict()["flight_controller"]})
    )  # thrust-to-weight 2.85: above the envelope the policy was trained across
    node = make_node(transport, tiny_quad_policy, vehicle=str(strong))
    assert "training_envelope.thrust_to_weight" in node.state and "2.855 (strong)" in node.state
    node = make_node(transport, tiny_quad_policy, vehicle=str(strong), allow_outside_envelope=True)
    assert node.fault is None


def test_px4_streams_heartbeat_while_waiting_and_hands_over_on_stale_odometry(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy, interface="px4")
    beats = []
    node.mode_pub.publish = beats.append
    c = transport.clock
    status = msgs.VehicleStatus()
    sample = msgs.VehicleOdometry()
    sample.pose_frame = px4.POSE_FRAME_NED
    sample.velocity_frame = px4.VELOCITY_FRAME_NED
    sample.position = [0.0, 0.0, -1.0]  # 1 m up
    sample.q = [1.0, 0.0, 0.0, 0.0]
    for _ in range(20):
        c.t += 0.005
        node.on_px4_odometry(sample)
        node.on_px4_status(status)
        node.on_tick()
    assert node.state == "waiting: not armed"
    assert len(beats) == 20 and all(b.body_rate and not b.position for b in beats)
    level = node.sent[-1]
    assert level.thrust_body[2] == pytest.approx(
        -STANDARD_GRAVITY_MPS2 * CF.mass_kg / (4 * CF.motor_max_thrust_n)
    )
    status.arming_state = msgs.VehicleStatus.ARMING_STATE_ARMED
    status.nav_state = msgs.VehicleStatus.NAVIGATION_STATE_OFFBOARD
    for _ in range(20):
        c.t += 0.005
        node.on_px4_odometry(sample)
        node.on_px4_status(status)
        node.on_tick()
    assert node.state == "holding" and np.allclose(node.hold_point, [0.0, 0.0, 1.0])
    n = len(beats)
    for _ in range(40):  # odometry stops
        c.t += 0.005
        node.on_tick()
    assert node.state.startswith("failsafe:")
    assert len(beats) < n + 25  # the stream stopped once odometry went stale (0.1 s)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pos=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=3, max_size=3),
    quat=st.lists(st.one_of(st.floats(-2, 2, width=32), st.just(math.nan)), min_size=4, max_size=4),
    vel=st.lists(st.one_of(st.floats(-1e6, 1e6, width=32), st.just(math.nan)), min_size=3, max_size=3),
    ref=st.lists(st.floats(-1e3, 1e3, width=32), min_size=3, max_size=3),
    agg=st.floats(0, 1),
)
def test_any_input_gives_a_finite_command_within_limits(
    transport, tiny_quad_policy, pos, quat, vel, ref, agg
):
    node = make_node(transport, tiny_quad_policy, aggressiveness=agg)
    node.on_reference_pose(pose_ref(*ref))
    c = transport.clock
    for _ in range(6):
        c.t += 0.005
        node.on_odometry(odom(pos=(0.0, 0.0, 1.0)))
        node.on_tick()
        c.t += 0.005
        node.on_odometry(odom(pos=tuple(pos), quat=tuple(quat), vel_body=tuple(vel), rates=tuple(vel)))
        node.on_tick()
    full = 4 * CF.motor_max_thrust_n
    for tw in node.sent:
        thrust, rates = cf_command(node, tw)
        assert 0.0 <= thrust <= 0.9 * full + 1e-6
        assert np.all(np.isfinite(rates)) and np.all(np.abs(rates) <= np.asarray(node.safety.high[1:]) + 1e-6)


def test_observation_equals_the_training_environment(transport, tiny_quad_policy, tiny_quad_run):
    """DESIGN's one-pipeline test: a training-env state, sent as the ROS messages a Crazyflie stack
    publishes, gives the node exactly the observation the environment computed."""
    import copy
    import json

    from sim2real.quad.env import QuadEnv
    from sim2real.quad.train import config_from_dict

    run_dir, _ = tiny_quad_run
    cfg = config_from_dict(json.loads((run_dir / "config.json").read_text()))
    env = QuadEnv(cfg.task, CF, 8, seed=3)
    for _ in range(5):
        env.apply(np.random.default_rng(0).uniform(-0.3, 0.3, (8, 4)))
    node = make_node(transport, tiny_quad_policy, geofence_min_m=[-50, -50, -50], geofence_max_m=[50, 50, 50])
    c = transport.clock
    for i in range(8):
        s = env.sim
        rot = quat_to_matrix(s.quat[i])
        t0 = c.t
        # the reference the env follows, as a stamped path on the node's clock
        ts = t0 + np.arange(0, 1.0, 0.02)
        pts = env.ref.position(env.ref_t[:, None] + (ts - t0)[None])[i]
        path = msgs.Path()
        path.header.frame_id = "world"
        path.poses = []
        for t, p in zip(ts, pts, strict=True):
            ps = pose_ref(*p)
            fill_stamp(ps.header.stamp, t)
            path.poses.append(ps)
        node.on_reference_path(path)
        node.engaged = True
        node._ref_seen = None  # another vehicle each time: not a reference jump to follow slowly
        node.hold_point = s.pos[i].copy()
        node.controller.prev_action = env.prev_action[i : i + 1].copy()
        node.aggressiveness = float(env.aggressiveness[i])
        node.on_odometry(odom(tuple(s.pos[i]), tuple(s.quat[i]), tuple(rot.T @ s.vel[i]), tuple(s.omega[i])))
        if env.integral is not None:  # the same integral state as the env's vehicle i
            node.controller.integral.value = env.integral.value[i : i + 1].copy()
        node.scheduler.reset()  # the next tick is a policy step
        node.on_tick()
        sig = env.signals(noisy=False)
        if env.integral is not None:  # the node integrated this step's error as the env does
            integ = copy.deepcopy(env.integral)
            sig["position_error_integral"] = integ.update(sig["ref_position"] - sig["position"], env.dt)
        want = env.observation(sig)[i]
        np.testing.assert_allclose(node.controller.last_obs[0], want, atol=2e-5)


def test_shipped_parameter_files_are_valid(tiny_quad_policy):
    from conftest import REPO

    for name in ("crazyflie.yaml", "px4_x500.yaml"):
        values = read_params_file(REPO / "ros2_ws/src/quad_policy/config" / name)
        _, errors = params_from_mapping({**values, "policy_path": str(tiny_quad_policy)}, name)
        assert errors == [], name


# ------------------------------------------------------------------ after a cut-off: stay off
#
# A Crazyflie whose motors were cut (land_cutoff_s after descending) and a PX4 vehicle whose
# offboard stream stopped in flight stay off whatever odometry, references, arming and mode say,
# until the operator engages and releases the e-stop.


def tick(node, clock, odom_msg=None, n=1, dt=0.005):
    for _ in range(n):
        clock.t += dt
        if odom_msg is not None:
            node.on_odometry(odom_msg)
        node.on_tick()


def thrusts(msgs_):
    return [px4.cmd_vel_legacy_thrust_u16(m) for m in msgs_]


CF_CUTS = {
    # how the descent starts (each tick's odometry while it lasts, and a set-up step)
    "stale_odometry": (None, None),
    "nan_odometry": (odom(pos=(math.nan, 0.0, 1.0)), None),
    "odometry_other_frame": (odom(frame="map"), None),
    "geofence": (odom(pos=(0.0, 0.0, 3.0)), None),
    "estop": (odom(), lambda node: node.on_estop(msgs.Bool(data=True))),
}


@pytest.mark.parametrize("cut", list(CF_CUTS))
def test_crazyflie_motors_stay_off_after_a_cutoff_until_the_estop_is_cycled(transport, tiny_quad_policy, cut):
    node = make_node(transport, tiny_quad_policy, land_cutoff_s=0.5)
    c = transport.clock
    tick(node, c, odom(), 40)
    assert node.state == "holding"
    during, setup = CF_CUTS[cut]
    if setup:
        setup(node)
    tick(node, c, during, 160)  # 0.8 s: descend, then cut
    assert node.state.startswith("stopped: motors cut after 0.5 s descending"), node.state
    assert node.state.endswith("re-enable: /estop true, then false")
    # Everything comes back (odometry, a reference, for the e-stop cut only the release is missing):
    # the motors stay off.
    n = len(node.sent)
    node.on_reference_pose(pose_ref(0.0, 0.0, 1.0))
    tick(node, c, odom(), 200)
    assert node.state.startswith("stopped: motors cut") and not node.engaged
    assert len(node.sent) > n and set(thrusts(node.sent[n:])) == {0}
    if cut != "estop":
        node.on_estop(msgs.Bool(data=False))  # a release without an engage does not count
        tick(node, c, odom(), 20)
        assert node.state.startswith("stopped: motors cut")
        node.on_estop(msgs.Bool(data=True))
        tick(node, c, odom(), 40)
        assert node.state.startswith("stopped: motors cut") and set(thrusts(node.sent[n:])) == {0}
    n = len(node.sent)
    node.on_estop(msgs.Bool(data=False))
    tick(node, c, odom(), 20)
    assert node.state == "flying" and node.engaged
    # re-engaged as at take-off: the thrust unlock first, the hold point where it is now
    assert thrusts(node.sent[n:])[0] == 0 and max(thrusts(node.sent[n:])) > 0


def test_crazyflie_does_not_spin_up_on_the_ground_before_take_off(transport, tiny_quad_policy):
    """An e-stop or a position outside the fence before take-off (or after a re-enable) sends no
    descend setpoint: the vehicle is not flying."""
    node = make_node(transport, tiny_quad_policy)
    node.cmd_pub.subscriber_count = lambda: 0  # not engaged yet
    c = transport.clock
    node.on_estop(msgs.Bool(data=True))
    tick(node, c, odom(pos=(0.0, 0.0, 0.0)), 20)
    tick(node, c, odom(pos=(5.0, 0.0, 0.0)), 20)
    assert node.sent == [] and node.state.startswith("waiting:")


def px4_sample(z_up=1.0):
    m = msgs.VehicleOdometry()
    m.pose_frame = px4.POSE_FRAME_NED
    m.velocity_frame = px4.VELOCITY_FRAME_NED
    m.position = [0.0, 0.0, -z_up]
    m.q = [1.0, 0.0, 0.0, 0.0]
    return m


def px4_status(armed=True, offboard=True):
    s = msgs.VehicleStatus()
    if armed:
        s.arming_state = msgs.VehicleStatus.ARMING_STATE_ARMED
    if offboard:
        s.nav_state = msgs.VehicleStatus.NAVIGATION_STATE_OFFBOARD
    return s


def px4_ticks(node, clock, n, odometry=True, status=None):
    for _ in range(n):
        clock.t += 0.005
        if odometry:
            node.on_px4_odometry(px4_sample())
        if status is not None:
            node.on_px4_status(status)
        node.on_tick()


@pytest.mark.parametrize("before", ["flying", "estop_descent", "geofence_descent"])
def test_px4_stream_stays_off_after_a_failsafe_until_the_estop_is_cycled(transport, tiny_quad_policy, before):
    node = make_node(transport, tiny_quad_policy, interface="px4")
    beats = []
    node.mode_pub.publish = beats.append
    c = transport.clock
    px4_ticks(node, c, 20, status=px4_status())
    assert node.state == "holding"
    if before == "estop_descent":
        node.on_estop(msgs.Bool(data=True))
        px4_ticks(node, c, 10)
        assert node.state == "descending: e-stop"
    elif before == "geofence_descent":
        for _ in range(10):
            c.t += 0.005
            far = px4_sample()
            far.position = [0.0, 9.0, -1.0]
            node.on_px4_odometry(far)
            node.on_tick()
        assert node.state.startswith("descending: outside the geofence")
    px4_ticks(node, c, 40, odometry=False)  # odometry lost in flight: PX4's failsafe takes over
    assert node.state.startswith("failsafe: /fmu/out/vehicle_odometry stale")
    n_beats, n_sent = len(beats), len(node.sent)
    # Odometry returns and PX4 still says armed and offboard: the stream stays off.
    px4_ticks(node, c, 100, status=px4_status())
    assert node.state == (
        "stopped: offboard stream stopped after lost odometry (/fmu/out/vehicle_odometry stale); "
        "re-enable: /estop true, then false"
    )
    assert len(beats) <= n_beats + 20 and len(node.sent) <= n_sent + 20  # stopped within 0.1 s
    n_beats = len(beats)
    if before != "estop_descent":
        node.on_estop(msgs.Bool(data=True))
    px4_ticks(node, c, 40, status=px4_status())
    assert node.state.startswith("stopped: offboard stream stopped") and len(beats) == n_beats
    node.on_estop(msgs.Bool(data=False))
    px4_ticks(node, c, 20, status=px4_status())
    assert node.state == "holding" and len(beats) > n_beats


def test_px4_does_not_latch_before_flight(transport, tiny_quad_policy):
    """Odometry lost while waiting on the ground (never engaged) is not a cut-off."""
    node = make_node(transport, tiny_quad_policy, interface="px4")
    node.mode_pub.publish = lambda m: None
    c = transport.clock
    px4_ticks(node, c, 20, status=px4_status(armed=False))
    px4_ticks(node, c, 40, odometry=False)
    assert node.state.startswith("waiting:") and node.cut is None
    px4_ticks(node, c, 20, status=px4_status())
    assert node.state == "holding"


def test_aggressiveness_over_the_dds_parameter_topic_while_flying(transport, tiny_quad_policy):
    """Probe: NaN, infinities and out-of-range values published on the DDS parameter topic while
    flying are refused (the running value stays); a valid one is applied from the next policy step;
    the commands stay finite and in limits throughout."""
    import time

    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.transport import DEFAULT

    node = make_node(transport, tiny_quad_policy, aggressiveness=0.3)
    c = transport.clock
    node.on_reference_pose(pose_ref(0.5, 0.0, 1.2))
    tick(node, c, odom(), 40)
    assert node.state == "flying"
    operator = DdsTransport("operator")
    try:
        pub = operator.publisher(
            f"/{transport.name}/set_parameter/aggressiveness", "std_msgs/msg/Float64", DEFAULT
        )
        f64 = operator.msg("std_msgs/msg/Float64")
        deadline = time.monotonic() + 5.0
        while pub.subscriber_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        for value, want in [
            (math.nan, 0.3), (math.inf, 0.3), (-math.inf, 0.3), (1.5, 0.3), (-0.1, 0.3), (1e308, 0.3),
            (0.9, 0.9), (0.0, 0.0), (1.0, 1.0),
        ]:  # fmt: skip
            pub.publish(f64(data=value))
            deadline = time.monotonic() + 2.0
            while node.aggressiveness != want and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.05)  # a refused value had time to arrive (and must not have applied)
            assert node.aggressiveness == want, (value, node.aggressiveness)
            tick(node, c, odom(), 10)
            sl = node.controller.observation.slices()["aggressiveness"]
            assert node.controller.last_obs[0, sl][0] == pytest.approx(want)
    finally:
        operator.close()
    assert node.state == "flying"
    for tw in node.sent:
        thrust, rates = cf_command(node, tw)
        assert math.isfinite(thrust) and 0.0 <= thrust <= node.safety.high[0] * CF.mass_kg + 1e-6
        assert np.all(np.abs(rates) <= np.asarray(node.safety.high[1:]) + 1e-6)


def test_crazyflie_odometry_stamped_long_ago_is_stale_by_its_stamp(transport, tiny_quad_policy):
    """Odometry arriving on time but stamped 1000 s before the node clock is not flown on: the
    vehicle descends as for stale odometry. Odometry stamped by the clock again, before
    land_cutoff_s (no cut-off, so no e-stop cycle is needed), resumes control."""
    node = make_node(transport, tiny_quad_policy)
    c = transport.clock
    run(node, c, 0.2)
    assert node.state in ("holding", "flying"), node.state
    for _ in range(20):
        c.t += 0.005
        m = odom()
        m.header.stamp.sec = int(c.t - 1000.0)
        node.on_odometry(m)
        node.on_tick()
    assert node.state.startswith("descending: /cf231/odom"), node.state
    assert "stamped" in node.state, node.state
    for _ in range(40):  # stamps that agree with the clock again, well before the cut-off
        c.t += 0.005
        m = odom()
        m.header.stamp.sec, m.header.stamp.nanosec = int(c.t), round((c.t % 1) * 1e9)
        node.on_odometry(m)
        node.on_tick()
    assert node.state in ("holding", "flying"), node.state


def test_a_reference_jump_of_metres_is_followed_at_the_speed_limit(transport, tiny_quad_policy):
    """A new hold point 3 m away: the reference the policy sees moves at most
    max_reference_speed_mps x the control period per policy step, and the node says so once."""
    node = make_node(transport, tiny_quad_policy, max_reference_speed_mps=1.5)
    c = transport.clock
    run(node, c, 0.2, pos=(0.0, 0.0, 1.0))
    assert node.state == "holding"
    start = node._ref_seen.copy()
    warnings = []
    node.log.error = warnings.append  # the node's throttled warnings log at error level
    node.on_reference_pose(pose_ref(1.5, -1.0, 2.0))  # inside the fence, 2.3 m away
    seen = [start]
    for _ in range(20):
        run(node, c, 0.02, pos=(0.0, 0.0, 1.0))
        seen.append(node._ref_seen.copy())
    steps = np.linalg.norm(np.diff(np.array(seen), axis=0), axis=1)
    period = 1.0 / node.controller.control_rate_hz
    assert steps.max() <= 1.5 * period + 1e-9 and steps.max() > 0.9 * 1.5 * period
    assert sum("max_reference_speed_mps" in w for w in warnings) == 1
    cmd = node.sent[-1]
    assert np.all(np.isfinite([cmd.linear.x, cmd.linear.y, cmd.linear.z, cmd.angular.z]))


def test_bad_reference_speed_and_px4_version_parameters_are_named(transport, tiny_quad_policy):
    node = make_node(transport, tiny_quad_policy, max_reference_speed_mps=0.0)
    assert "max_reference_speed_mps" in node.state and node.fault
    node = make_node(transport, tiny_quad_policy, px4_version="1.14")
    assert "px4_version" in node.state and node.fault


def test_px4_auto_version_reads_a_version_4_status(transport, tiny_quad_policy):
    """PX4 1.18 publishes VehicleStatus version 4 on vehicle_status_v4: with px4_version auto the
    node takes it (armed + offboard) and says which version arrived."""
    node = make_node(transport, tiny_quad_policy, interface="px4")
    status = msgs.VehicleStatusV4(arming_state=2, nav_state=14)
    node.on_px4_status(status, 4)
    assert node.armed and node.offboard and node.px4_status_version == 4
    node.on_px4_status(msgs.VehicleStatusV1(arming_state=1, nav_state=14), 1)
    assert not node.armed and node.px4_status_version == 1
