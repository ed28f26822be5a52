"""The quadrotor sim bridge over real DDS: a client transport in this process publishes the commands a
deploy node would (PX4 offboard CTBR or Crazyswarm2 cmd_vel_legacy) and reads the odometry back.

The bridge is stepped by hand here; after every command the test waits until the bridge has it, so
simulated time never runs ahead of the commands and the results do not depend on the machine's speed.
"""

from __future__ import annotations

import gc
import math
import time

import numpy as np
import pytest
from conftest import SHARED

from sim2real.quad.sim_bridge import BridgeConfig, QuadSimBridge
from sim2real_ros import msgs, px4
from sim2real_ros.dds import DdsTransport
from sim2real_ros.transport import CLOCK, DEFAULT, stamp_to_s
from sim2real_runtime.rotations import quat_to_matrix
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, load_vehicle

VEHICLE_FILE = SHARED / "benchmarks" / "quad" / "crazyflie_2_1.yaml"


@pytest.fixture(scope="module")
def vehicle():
    if not VEHICLE_FILE.is_file():
        pytest.skip(f"{VEHICLE_FILE} is not present")
    return load_vehicle(VEHICLE_FILE, flight_controller_from="crazyflie_2_1")


def wait_for(cond, what, timeout_s=10.0):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.0002)


def euler_zyx(q):
    w, x, y, z = q
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    return roll, pitch


class Harness:
    """A bridge and a client on one isolated DDS domain; ``fly`` steps with commands at 50 Hz."""

    def __init__(self, vehicle, **cfg):
        self.cfg = BridgeConfig(real_time_factor=0.0, **cfg)
        self.bridge_t = DdsTransport("quad_bridge")
        self.bridge = QuadSimBridge(self.bridge_t, vehicle, self.cfg)
        self.client = DdsTransport("client")
        self.vehicle = vehicle
        self.weight_n = vehicle.mass_kg * STANDARD_GRAVITY_MPS2
        self.max_thrust_n = self.bridge.max_thrust_n
        self.odom, self.status, self.clock = [], [], []
        self.client.subscribe("/clock", "rosgraph_msgs/msg/Clock", CLOCK, self.clock.append)
        if self.cfg.interface == "px4":
            qos = px4.PX4_CLIENT_QOS
            c = self.client
            c.subscribe("/fmu/out/vehicle_odometry", "px4_msgs/msg/VehicleOdometry", qos, self.odom.append)
            c.subscribe("/fmu/out/vehicle_status", "px4_msgs/msg/VehicleStatus", qos, self.status.append)
            self.pub_mode = c.publisher(
                "/fmu/in/offboard_control_mode", "px4_msgs/msg/OffboardControlMode", qos
            )
            self.pub_cmd = c.publisher(
                "/fmu/in/vehicle_rates_setpoint", "px4_msgs/msg/VehicleRatesSetpoint", qos
            )
        else:
            name = self.cfg.cf_name
            self.client.subscribe(f"/{name}/odom", "nav_msgs/msg/Odometry", DEFAULT, self.odom.append)
            self.pub_cmd = self.client.publisher(
                f"/{name}/cmd_vel_legacy", "geometry_msgs/msg/Twist", DEFAULT
            )

    def close(self):
        self.client.close()
        self.bridge_t.close()
        # Free the DDS entities now: collected later, inside a listener callback of another
        # participant of this process, Cyclone's delete would wait on that callback (a deadlock).
        gc.collect()

    def send(self, thrust_n, rates_flu, heartbeat=True, msg=None):
        """Publish one command (and the heartbeat) and wait until the bridge has it."""
        b = self.bridge
        n_cmd, n_hb, n_bad = b.commands_received, b.heartbeats_received, b.commands_refused
        now_us = round(b.clock_s * 1e6)
        if self.cfg.interface == "px4":
            if heartbeat:
                self.pub_mode.publish(px4.offboard_mode_body_rate(now_us))
                wait_for(lambda: b.heartbeats_received > n_hb, "the heartbeat")
            if msg is None:  # the setpoint as the node sends it: through the vehicle file's curves
                sp = self.vehicle.collective_setpoint(thrust_n)
                msg = px4.rates_setpoint(thrust_n, rates_flu, self.max_thrust_n, now_us, setpoint=sp)
        elif msg is None:
            sp = self.vehicle.collective_setpoint(thrust_n)
            msg = px4.cmd_vel_legacy(thrust_n, rates_flu, self.max_thrust_n, self.cfg.cf_backend, setpoint=sp)
        self.pub_cmd.publish(msg)
        wait_for(lambda: b.commands_received > n_cmd or b.commands_refused > n_bad, "the command")

    def fly(self, duration_s, thrust_n=None, rates_flu=(0.0, 0.0, 0.0), heartbeat=True, period_s=0.02):
        thrust = self.weight_n if thrust_n is None else thrust_n
        steps = round(period_s / self.bridge.dt)
        for _ in range(round(duration_s / period_s)):
            self.send(thrust, rates_flu, heartbeat)
            self.idle(steps)

    def idle(self, steps):
        for _ in range(steps):
            self.bridge.advance()

    def latest_odom(self):
        """The last odometry message, once the one published at the bridge's latest step is in."""
        t_last = self.bridge.clock_s - 1.0 / self.cfg.odom_rate_hz - self.cfg.odom_latency_s - 1e-6
        if self.cfg.interface == "px4":
            wait_for(lambda: self.odom and self.odom[-1].timestamp * 1e-6 >= t_last, "odometry")
        else:
            wait_for(lambda: self.odom and stamp_to_s(self.odom[-1].header.stamp) >= t_last, "odometry")
        return self.odom[-1]

    def odom_state(self, m=None):
        """(position_enu, quat_wxyz_enu_flu, velocity_enu) of an odometry message, through the same
        conversions a deploy node uses."""
        m = m or self.latest_odom()
        if self.cfg.interface == "px4":
            pos, q, vel, _, _ = px4.px4_odometry_state(m)
            return pos, q, vel
        p, o, v = m.pose.pose.position, m.pose.pose.orientation, m.twist.twist.linear
        q = np.array([o.w, o.x, o.y, o.z])
        return np.array([p.x, p.y, p.z]), q, quat_to_matrix(q) @ np.array([v.x, v.y, v.z])


@pytest.fixture
def harness(dds_env, vehicle):
    made = []

    def make(**cfg):
        h = Harness(vehicle, **cfg)
        made.append(h)
        if cfg.get("interface") == "crazyflie":
            h.send(0.0, (0.0, 0.0, 0.0))  # unlock the thrust, as the firmware needs
        return h

    yield make
    for h in made:
        h.close()


INTERFACES = [
    {"interface": "px4"},
    {"interface": "crazyflie", "cf_backend": "cpp"},
    {"interface": "crazyflie", "cf_backend": "cflib"},
]
IDS = ["px4", "crazyflie-cpp", "crazyflie-cflib"]


@pytest.mark.parametrize("cfg", INTERFACES[:2], ids=IDS[:2])
def test_hover_command_holds_altitude(harness, cfg):
    h = harness(**cfg)
    h.fly(2.0)
    b = h.bridge
    assert b.status()["time_s"] == pytest.approx(2.0, abs=0.03)
    assert abs(b.state.position_m[2] - 1.0) < 0.03
    pos, q, _ = h.odom_state()
    assert abs(pos[2] - 1.0) < 0.03
    assert quat_to_matrix(q)[2, 2] > math.cos(math.radians(2))  # level
    assert not b.status()["crashed"]
    wait_for(lambda: h.clock and stamp_to_s(h.clock[-1].clock) > 1.9, "/clock")
    if cfg["interface"] == "px4":
        assert b.status()["mode"] == "offboard"
        wait_for(lambda: h.status and h.status[-1].nav_state == msgs.NAVIGATION_STATE_OFFBOARD, "status")
        assert h.status[-1].arming_state == msgs.ARMING_STATE_ARMED
        m = h.latest_odom()
        assert (m.pose_frame, m.velocity_frame) == (msgs.POSE_FRAME_NED, msgs.VELOCITY_FRAME_NED)
        assert m.position[2] == pytest.approx(-1.0, abs=0.03)  # NED: 1 m up is z = -1
    else:
        m = h.latest_odom()
        assert (m.header.frame_id, m.child_frame_id) == ("world", "cf231")
        assert b.status()["mode"] == "flying"


@pytest.mark.parametrize("cfg", INTERFACES, ids=IDS)
@pytest.mark.parametrize("axis", ["roll", "pitch"])
def test_rate_command_sign_in_published_odometry(harness, cfg, axis):
    # +1 rad/s about FLU x (roll right) or FLU y (nose down) for 0.2 s, then level rates: the
    # published attitude and the drift it causes pin every frame conversion end to end.
    h = harness(**cfg)
    h.fly(0.1)
    rates = (1.0, 0.0, 0.0) if axis == "roll" else (0.0, 1.0, 0.0)
    h.fly(0.2, rates_flu=rates)
    h.fly(0.4)
    m = h.latest_odom()
    _, q, vel = h.odom_state(m)
    roll, pitch = euler_zyx(q)  # FLU/ENU angles: roll +x, pitch +y (nose down)
    if axis == "roll":
        assert 0.1 < roll < 0.25 and abs(pitch) < 0.02
        assert vel[1] < -0.2  # leaning right while facing east: drifting south (-y ENU)
    else:
        assert 0.1 < pitch < 0.25 and abs(roll) < 0.02
        assert vel[0] > 0.2  # nose down while facing east: moving east (+x ENU)
    if cfg["interface"] == "px4":  # the raw NED / FRD numbers on the wire
        roll_frd, pitch_frd = euler_zyx(m.q)
        if axis == "roll":
            assert roll_frd > 0.1 and m.velocity[0] < -0.2  # right wing down; drifting south
        else:
            assert pitch_frd < -0.1 and m.velocity[1] > 0.2  # nose down; moving east


def test_offboard_heartbeat_loss_levels_the_vehicle(harness):
    h = harness(interface="px4")
    b = h.bridge
    h.fly(0.3)
    assert b.nav_state == msgs.NAVIGATION_STATE_OFFBOARD
    # Setpoints keep coming (a rolling command), the heartbeat stops: still OFFBOARD for 0.5 s.
    h.fly(0.4, rates_flu=(0.5, 0.0, 0.0), heartbeat=False)
    assert b.nav_state == msgs.NAVIGATION_STATE_OFFBOARD
    assert quat_to_matrix(b.state.quat_wxyz)[2, 2] < math.cos(0.1)  # it did roll
    h.fly(1.6, rates_flu=(0.5, 0.0, 0.0), heartbeat=False)
    assert b.nav_state == msgs.NAVIGATION_STATE_AUTO_LOITER and b.status()["mode"] == "failsafe"
    wait_for(lambda: h.status and h.status[-1].nav_state == msgs.NAVIGATION_STATE_AUTO_LOITER, "status")
    assert h.status[-1].failsafe and h.status[-1].arming_state == msgs.ARMING_STATE_ARMED
    _, q, vel = h.odom_state()
    assert quat_to_matrix(q)[2, 2] > math.cos(math.radians(2))  # level again
    assert abs(b.state.position_m[2] - 1.0) < 0.15 and abs(vel[2]) < 0.1  # and hovering
    # The heartbeat returns: OFFBOARD again, the setpoints apply again.
    h.fly(0.1, rates_flu=(0.5, 0.0, 0.0))
    assert b.nav_state == msgs.NAVIGATION_STATE_OFFBOARD
    assert b.state.body_rates_radps[0] > 0.1


@pytest.mark.parametrize("cfg", INTERFACES[:2], ids=IDS[:2])
def test_non_finite_command_is_refused(harness, cfg):
    h = harness(**cfg)
    b = h.bridge
    h.fly(0.2)
    if cfg["interface"] == "px4":
        bad = [msgs.VehicleRatesSetpoint(roll=math.nan, thrust_body=[0.0, 0.0, -0.5])]
        bad.append(msgs.VehicleRatesSetpoint(thrust_body=[0.0, 0.0, math.inf]))
    else:
        bad = [
            msgs.Twist(linear=msgs.Vector3(0.0, math.nan, 40000.0)),
            msgs.Twist(linear=msgs.Vector3(z=math.inf)),
        ]
    for m in bad:
        h.send(0.0, None, msg=m)
        h.idle(10)
    assert b.commands_refused == 2
    h.idle(200)  # the last good command (hover) still in force
    h.fly(0.5)
    assert abs(b.state.position_m[2] - 1.0) < 0.03
    assert not b.status()["crashed"]


def test_crazyflie_watchdog_levels_then_stops_the_motors(harness):
    # crazyflie-firmware supervisor.c: setpoint older than 0.5 s -> level out (thrust kept),
    # older than 2 s -> motors stopped and locked.
    h = harness(interface="crazyflie")
    b = h.bridge
    h.fly(0.2)
    h.fly(0.2, rates_flu=(1.0, 0.0, 0.0))
    h.fly(0.02)  # the last command: hover thrust, zero rates
    h.idle(round(0.45 / b.dt))
    assert b.mode() == "flying"
    assert quat_to_matrix(b.state.quat_wxyz)[2, 2] < math.cos(0.1)  # still banked
    h.idle(round(1.0 / b.dt))
    assert b.mode() == "level_out"
    assert quat_to_matrix(b.state.quat_wxyz)[2, 2] > math.cos(math.radians(2))
    assert b.state.position_m[2] > 0.8  # thrust kept
    h.idle(round(0.6 / b.dt))
    assert b.mode() == "stopped"
    h.send(h.weight_n, (0.0, 0.0, 0.0))  # too late: locked
    h.idle(round(1.0 / b.dt))
    st = b.status()
    assert st["crashed"] and st["position_m"][2] < 0.02


def test_crazyflie_thrust_is_locked_until_a_zero_thrust_command(dds_env, vehicle):
    h = Harness(vehicle, interface="crazyflie")
    try:
        b = h.bridge
        h.fly(0.3)  # thrust without the unlock: nothing happens, the vehicle stays held
        assert b.mode() == "held" and b.state.position_m[2] == 1.0
        h.send(0.0, (0.0, 0.0, 0.0))
        h.fly(0.5)
        assert b.mode() == "flying" and abs(b.state.position_m[2] - 1.0) < 0.03
    finally:
        h.close()


def test_bridge_config_is_checked(dds_env, vehicle):
    t = DdsTransport("quad_bridge")
    try:
        with pytest.raises(ValueError, match="interface"):
            QuadSimBridge(t, vehicle, BridgeConfig(interface="ardupilot"))
        with pytest.raises(ValueError, match="cf_backend"):
            QuadSimBridge(t, vehicle, BridgeConfig(interface="crazyflie", cf_backend="sim"))
    finally:
        t.close()
        gc.collect()


@pytest.mark.parametrize("version", [1, 4])
def test_bridge_publishes_the_status_version_of_a_px4_release(harness, version):
    """As PX4 1.16/1.17 (version 1) and 1.18 (version 4): VehicleStatus on vehicle_status_v<N> in
    that layout; a client reading that layout sees armed + offboard."""
    h = harness(interface="px4", px4_status_version=version)
    got = []
    h.client.subscribe(
        px4.vehicle_status_topic("", version),
        px4.vehicle_status_type(version),
        px4.PX4_CLIENT_QOS,
        got.append,
    )
    h.fly(0.6)
    wait_for(lambda: got and got[-1].nav_state == msgs.NAVIGATION_STATE_OFFBOARD, f"status v{version}")
    assert got[-1].arming_state == msgs.ARMING_STATE_ARMED and type(got[-1]).__name__.endswith(f"V{version}")
    assert h.status == []  # nothing on the 1.15 topic
