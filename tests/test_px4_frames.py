"""Frames, commands and QoS of sim2real_ros.px4 against hand-computed values and rotation matrices."""

from __future__ import annotations

import gc
import math
import time

import numpy as np
import pytest

from sim2real_ros import msgs, px4
from sim2real_ros.dds import DdsTransport
from sim2real_ros.transport import DEFAULT
from sim2real_runtime.rotations import quat_to_matrix

S = math.sqrt(0.5)
P_ENU_NED = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
D_FRD_FLU = np.diag([1.0, -1.0, -1.0])


def quat_axis_angle(axis, angle):
    axis = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    return np.concatenate([[math.cos(angle / 2)], math.sin(angle / 2) * axis])


def euler_zyx(q):
    """(roll, pitch, yaw) (rad) of a (w, x, y, z) quaternion, aerospace ZYX order."""
    w, x, y, z = q
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return roll, pitch, yaw


def same_rotation(a, b, atol=1e-12):
    return np.allclose(a, b, atol=atol) or np.allclose(a, -np.asarray(b), atol=atol)


def random_quats(n, seed=0):
    q = np.random.default_rng(seed).normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


# --------------------------------------------------------------------------- vectors


def test_enu_ned_hand_values_and_round_trip():
    np.testing.assert_array_equal(px4.enu_to_ned([1.0, 2.0, 3.0]), [2.0, 1.0, -3.0])
    np.testing.assert_array_equal(px4.ned_to_enu([2.0, 1.0, -3.0]), [1.0, 2.0, 3.0])
    # East in ENU is +y of NED; up is -z of NED.
    np.testing.assert_array_equal(px4.enu_to_ned([1.0, 0.0, 0.0]), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(px4.enu_to_ned([0.0, 0.0, 1.0]), [0.0, 0.0, -1.0])
    v = np.random.default_rng(1).normal(size=(7, 3))
    np.testing.assert_array_equal(px4.ned_to_enu(px4.enu_to_ned(v)), v)
    assert px4.enu_to_ned(v).shape == (7, 3)


def test_flu_frd_hand_values_and_round_trip():
    np.testing.assert_array_equal(px4.flu_to_frd([1.0, 2.0, 3.0]), [1.0, -2.0, -3.0])
    np.testing.assert_array_equal(px4.frd_to_flu([1.0, -2.0, -3.0]), [1.0, 2.0, 3.0])
    v = np.random.default_rng(2).normal(size=(5, 3))
    np.testing.assert_array_equal(px4.frd_to_flu(px4.flu_to_frd(v)), v)


# --------------------------------------------------------------------------- attitude


def test_facing_east_is_yaw_plus_90_in_ned():
    # Identity in ENU/FLU: nose east. NED yaw is measured from north, clockwise seen from above.
    q = px4.quat_enu_flu_to_ned_frd([1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(q, [S, 0.0, 0.0, S], atol=1e-15)
    np.testing.assert_allclose(euler_zyx(q), [0.0, 0.0, math.pi / 2], atol=1e-12)
    # Facing north (ENU yaw +90 deg) is NED yaw 0; facing west (ENU yaw 180) is NED yaw -90.
    north = px4.quat_enu_flu_to_ned_frd(quat_axis_angle([0, 0, 1], math.pi / 2))
    np.testing.assert_allclose(north, [1.0, 0.0, 0.0, 0.0], atol=1e-12)
    west = px4.quat_enu_flu_to_ned_frd(quat_axis_angle([0, 0, 1], math.pi))
    np.testing.assert_allclose(euler_zyx(west), [0.0, 0.0, -math.pi / 2], atol=1e-12)


def test_roll_right_and_nose_up_keep_their_meaning():
    phi = 0.3
    # Roll right (right side down) is +phi about x in FLU and +phi about x in FRD.
    q_enu = quat_axis_angle([1, 0, 0], phi)
    left_axis_world = quat_to_matrix(q_enu)[:, 1]
    assert left_axis_world[2] > 0  # the left side went up: a roll to the right
    roll, pitch, yaw = euler_zyx(px4.quat_enu_flu_to_ned_frd(q_enu))
    np.testing.assert_allclose([roll, pitch, yaw], [phi, 0.0, math.pi / 2], atol=1e-12)
    # Nose up is a negative rotation about FLU y (left) and positive pitch in FRD.
    q_up = quat_axis_angle([0, 1, 0], -phi)
    assert quat_to_matrix(q_up)[2, 0] > 0  # the nose points up
    roll, pitch, yaw = euler_zyx(px4.quat_enu_flu_to_ned_frd(q_up))
    np.testing.assert_allclose([roll, pitch, yaw], [0.0, phi, math.pi / 2], atol=1e-12)


def test_random_rotations_against_matrices():
    q_enu = random_quats(200)
    q_ned = px4.quat_enu_flu_to_ned_frd(q_enu)
    # R_enu_flu = P_ENU_NED @ R_ned_frd @ D_FRD_FLU, with P and D the axis maps.
    expected = P_ENU_NED @ quat_to_matrix(q_ned) @ D_FRD_FLU
    np.testing.assert_allclose(quat_to_matrix(q_enu), expected, atol=1e-12)
    # A body vector maps the same way whichever path it takes.
    v_flu = np.random.default_rng(3).normal(size=(200, 3))
    via_ned = px4.ned_to_enu(np.einsum("nij,nj->ni", quat_to_matrix(q_ned), px4.flu_to_frd(v_flu)))
    np.testing.assert_allclose(via_ned, np.einsum("nij,nj->ni", quat_to_matrix(q_enu), v_flu), atol=1e-12)


def test_round_trips_and_sign():
    q = random_quats(100, seed=4)
    back = px4.quat_ned_frd_to_enu_flu(px4.quat_enu_flu_to_ned_frd(q))
    for a, b in zip(q, back):
        assert same_rotation(a, b)
    assert np.all(back[:, 0] >= 0.0)
    assert px4.quat_ned_frd_to_enu_flu(q).shape == (100, 4)


def test_nan_attitude_passes_through_as_nan():
    # PX4 marks an invalid attitude with q[0] = NaN only.
    out = px4.quat_ned_frd_to_enu_flu([math.nan, 0.0, 0.0, 0.0])
    assert np.all(np.isnan(out))
    batch = px4.quat_ned_frd_to_enu_flu([[math.nan, 0, 0, 0], [1.0, 0, 0, 0]])
    assert np.all(np.isnan(batch[0])) and np.all(np.isfinite(batch[1]))


# --------------------------------------------------------------------------- odometry


def odometry(**kw):
    m = msgs.VehicleOdometry(pose_frame=msgs.POSE_FRAME_NED, velocity_frame=msgs.VELOCITY_FRAME_NED)
    m.q = [1.0, 0.0, 0.0, 0.0]
    for k, v in kw.items():
        setattr(m, k, v)
    return m


def test_odometry_state_hand_values():
    m = odometry(
        timestamp=2_000_000,
        timestamp_sample=1_500_000,
        position=[1.0, 2.0, -3.0],  # 1 m north, 2 m east, 3 m up
        velocity=[0.5, -0.25, 1.0],  # north, west, descending
        angular_velocity=[0.1, 0.2, 0.3],  # FRD
    )
    pos, quat, vel, rates, stamp = px4.px4_odometry_state(msgs.VehicleOdometry.deserialize(m.serialize()))
    np.testing.assert_allclose(pos, [2.0, 1.0, 3.0])
    np.testing.assert_allclose(vel, [-0.25, 0.5, -1.0])
    np.testing.assert_allclose(rates, [0.1, -0.2, -0.3], rtol=1e-6)
    # q = identity in NED/FRD: facing north = ENU yaw +90 deg.
    assert same_rotation(quat, quat_axis_angle([0, 0, 1], math.pi / 2))
    assert stamp == 1.5


def test_odometry_state_refuses_other_frames_naming_the_field():
    with pytest.raises(ValueError, match="pose_frame"):
        px4.px4_odometry_state(odometry(pose_frame=msgs.POSE_FRAME_FRD))
    with pytest.raises(ValueError, match="velocity_frame"):
        px4.px4_odometry_state(odometry(velocity_frame=msgs.VELOCITY_FRAME_BODY_FRD))


def test_odometry_state_nan_fields_pass_through():
    m = odometry(position=[math.nan] * 3, q=[math.nan, 0.0, 0.0, 0.0], velocity=[0.0, 1.0, 0.0])
    pos, quat, vel, _, _ = px4.px4_odometry_state(m)
    assert np.all(np.isnan(pos)) and np.all(np.isnan(quat))
    np.testing.assert_allclose(vel, [1.0, 0.0, 0.0])


def test_module_constants_match_msgs():
    assert px4.POSE_FRAME_NED == msgs.POSE_FRAME_NED
    assert px4.VELOCITY_FRAME_NED == msgs.VELOCITY_FRAME_NED


# --------------------------------------------------------------------------- PX4 commands


def test_rates_setpoint_hand_values():
    m = px4.rates_setpoint(0.15, [0.1, 0.2, 0.3], 0.6, timestamp_us=1_234_567)
    assert m.timestamp == 1_234_567
    np.testing.assert_allclose([m.roll, m.pitch, m.yaw], [0.1, -0.2, -0.3])
    np.testing.assert_allclose(m.thrust_body, [0.0, 0.0, -0.25])
    assert px4.rates_setpoint(2.0, [0, 0, 0], 0.6).thrust_body[2] == -1.0
    zero = px4.rates_setpoint(-1.0, [0, 0, 0], 0.6)
    assert zero.thrust_body[2] == 0.0 and math.copysign(1.0, zero.thrust_body[2]) == 1.0
    back = msgs.VehicleRatesSetpoint.deserialize(m.serialize())
    assert back.thrust_body[2] == pytest.approx(-0.25)


def test_rates_setpoint_round_trip():
    rng = np.random.default_rng(5)
    for _ in range(50):
        thrust, rates = rng.uniform(0, 0.6), rng.normal(0, 3, 3)
        wire = msgs.VehicleRatesSetpoint.deserialize(px4.rates_setpoint(thrust, rates, 0.6).serialize())
        t2, r2 = px4.rates_setpoint_command(wire, 0.6)
        assert t2 == pytest.approx(thrust, abs=1e-7)
        np.testing.assert_allclose(r2, rates, rtol=1e-6, atol=1e-6)  # float32 on the wire


def test_commands_refuse_nan():
    for bad in ([math.nan, 0, 0], [0, math.inf, 0]):
        with pytest.raises(ValueError):
            px4.rates_setpoint(0.3, bad, 0.6)
        with pytest.raises(ValueError):
            px4.cmd_vel_legacy(0.3, bad, 0.6)
    with pytest.raises(ValueError):
        px4.rates_setpoint(math.nan, [0, 0, 0], 0.6)
    nan_msg = msgs.VehicleRatesSetpoint(roll=math.nan, thrust_body=[0.0, 0.0, -0.5])
    _, rates = px4.rates_setpoint_command(nan_msg, 0.6)
    assert math.isnan(rates[0])


def test_offboard_heartbeat_selects_body_rates_only():
    m = px4.offboard_mode_body_rate(42)
    assert m.timestamp == 42 and m.body_rate
    assert not (m.position or m.velocity or m.acceleration or m.attitude)
    assert not (m.thrust_and_torque or m.direct_actuator)


# --------------------------------------------------------------------------- Crazyflie


def test_cmd_vel_legacy_hand_values():
    deg = math.radians
    m = px4.cmd_vel_legacy(0.15, [deg(10), deg(20), deg(30)], 0.6)  # a quarter of full thrust
    assert m.linear.z == 32768.0  # 65535 * sqrt(0.25) = 32767.5, rounded
    assert (m.linear.x, m.linear.y, m.angular.z) == pytest.approx((20.0, 10.0, -30.0))
    assert (m.angular.x, m.angular.y) == (0.0, 0.0)
    cflib = px4.cmd_vel_legacy(0.15, [deg(10), deg(20), deg(30)], 0.6, backend="cflib")
    assert (cflib.linear.x, cflib.linear.y, cflib.angular.z) == pytest.approx((-20.0, 10.0, -30.0))
    assert px4.cmd_vel_legacy(0.6, [0, 0, 0], 0.6).linear.z == 60000.0  # the servers' clip
    assert px4.cmd_vel_legacy(-1.0, [0, 0, 0], 0.6).linear.z == 0.0
    with pytest.raises(ValueError, match="backend"):
        px4.cmd_vel_legacy(0.1, [0, 0, 0], 0.6, backend="sim")


def wire_to_body_rates(twist, backend):
    """The chain as read in the sources, step by step (deg/s): server -> radio -> firmware."""
    roll, pitch, yawrate = twist.linear.y, -twist.linear.x, twist.angular.z  # both servers
    wire = (roll, pitch if backend == "cpp" else -pitch, yawrate)  # cflib packs -pitch
    rate_sp = (wire[0], wire[1], -wire[2])  # crtp_commander_rpyt.c, rate mode: yaw inverted
    # controller_pid.c: the rate loop drives (gyro.x, -gyro.y, gyro.z) to rate_sp; gyro is FLU.
    return np.radians([rate_sp[0], -rate_sp[1], rate_sp[2]])


@pytest.mark.parametrize("backend", px4.CF_BACKENDS)
def test_cmd_vel_legacy_signs_through_server_and_firmware(backend):
    rates = np.array([0.3, -0.7, 1.1])
    m = px4.cmd_vel_legacy(0.2, rates, 0.6, backend=backend)
    np.testing.assert_allclose(wire_to_body_rates(m, backend), rates)
    np.testing.assert_allclose(px4.cmd_vel_legacy_command(m, 0.6, backend)[1], rates)


def test_cmd_vel_legacy_thrust_round_trip_and_firmware_cuts():
    full = 0.6
    for thrust in np.linspace(0.01, (60000 / 65535) ** 2 * full, 40):
        m = msgs.Twist.deserialize(px4.cmd_vel_legacy(thrust, [0, 0, 0], full).serialize())
        back, _ = px4.cmd_vel_legacy_command(m, full)
        assert back == pytest.approx(thrust, rel=2e-4)  # one uint16 step
    # Full thrust is clipped at 60000: 83.8 % of the full thrust.
    back, _ = px4.cmd_vel_legacy_command(px4.cmd_vel_legacy(full, [0, 0, 0], full), full)
    assert back == pytest.approx(full * (60000 / 65535) ** 2)
    # Below MIN_THRUST (1000) the firmware gives 0; the server truncates fractions.
    tiny = msgs.Twist()
    tiny.linear.z = 999.9
    assert px4.cmd_vel_legacy_thrust_u16(tiny) == 0
    assert px4.cmd_vel_legacy_command(tiny, full)[0] == 0.0
    tiny.linear.z = 1000.7
    assert px4.cmd_vel_legacy_thrust_u16(tiny) == 1000
    tiny.linear.z = 1e9
    assert px4.cmd_vel_legacy_thrust_u16(tiny) == 60000


# --------------------------------------------------------------------------- QoS


def test_px4_qos_profiles_match_as_on_the_vehicle(dds_env):
    # PX4's /fmu/out writers: best effort + transient local. The companion profile of px4_ros_com
    # matches them; a ROS 2 default (reliable) reader does not. PX4's /fmu/in readers (best effort,
    # volatile) take the companion's transient-local writers.
    fmu = DdsTransport("fmu")
    client = DdsTransport("client")
    out = fmu.publisher("/fmu/out/vehicle_status", "px4_msgs/msg/VehicleStatus", px4.FMU_OUT_QOS)
    got_client, got_default, got_fmu = [], [], []
    client.subscribe(
        "/fmu/out/vehicle_status", "px4_msgs/msg/VehicleStatus", px4.PX4_CLIENT_QOS, got_client.append
    )
    other = DdsTransport("default_reader")
    other.subscribe("/fmu/out/vehicle_status", "px4_msgs/msg/VehicleStatus", DEFAULT, got_default.append)
    fmu.subscribe(
        "/fmu/in/offboard_control_mode", "px4_msgs/msg/OffboardControlMode", px4.FMU_IN_QOS, got_fmu.append
    )
    inp = client.publisher(
        "/fmu/in/offboard_control_mode", "px4_msgs/msg/OffboardControlMode", px4.PX4_CLIENT_QOS
    )
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10 and not (len(got_client) >= 5 and len(got_fmu) >= 5):
        out.publish(msgs.VehicleStatus(nav_state=msgs.NAVIGATION_STATE_OFFBOARD))
        inp.publish(px4.offboard_mode_body_rate(1))
        time.sleep(0.02)
    assert len(got_client) >= 5 and got_client[-1].nav_state == 14
    assert len(got_fmu) >= 5 and got_fmu[-1].body_rate
    assert got_default == []
    for t in (fmu, client, other):
        t.close()
    gc.collect()  # free the DDS entities now, not inside another test's listener callback
