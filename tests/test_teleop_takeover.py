"""Takeover in the one PolicyNode lifecycle, over real DDS: a sensor_msgs/Joy publisher in another
participant takes over from the policy with the dead-man or a deflection and hands back on release;
every command still passes the domain's safety layer; who commands is published on the intervention
topic; a silent device, a NaN twist, a Joy message with too few axes and an unplugged device (a
replayed evdev gamepad) give the hold/stop command within one watchdog period. The arm takes a
scripted teleoperator's tool twist through damped least squares and its safety layer; the
quadrotor's operator nudges the reference."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import REPO, clocked_transport
from test_policy_node import make_node, policy_for, pose_msg, record

from sim2real_ros import msgs, px4
from sim2real_ros.convert import make_odom, make_scan
from sim2real_ros.dds import DdsTransport
from sim2real_ros.policy_node import within_limits
from sim2real_ros.teleop_arbiter import HOLD, HUMAN, POLICY
from sim2real_ros.transport import DEFAULT, LATCHED
from sim2real_runtime.teleop import DeviceTeleop, TeleopCommand
from sim2real_runtime.teleop.evdev_gamepad import EvdevGamepad, ReplayEvdev
from sim2real_runtime.teleop.mapping import NavTeleop

DATA = REPO / "tests" / "data" / "teleop"


@pytest.fixture
def net(dds_env):
    """(the node's clocked transport, an operator's transport) on one isolated DDS network."""
    node_t = clocked_transport("teleop_node")
    op = DdsTransport("operator")
    yield node_t, op
    op.close()
    node_t.close()


def deliver(node_t, op, until, timeout_s: float = 10.0) -> None:
    """Spin both transports (real DDS delivery, wall clock) until ``until()``."""
    end = time.monotonic() + timeout_s
    while not until():
        assert time.monotonic() < end, "DDS delivery timed out"
        op.spin_once(0.0)
        node_t.spin_once(0.02)


def joy(axes, buttons):
    return msgs.Joy(axes=[float(a) for a in axes], buttons=list(buttons))


# ----------------------------------------------------------------------------- nav


class NavRig:
    """A nav node on a clocked transport, fed open-space scans and odometry directly, one
    control period per :meth:`step`; its published commands recorded."""

    def __init__(self, node, clock):
        self.node, self.clock = node, clock
        self.got = record(node.cmd_pub)
        self.lidar = node.robot.lidar
        self.period = 1.0 / node.controller.control_rate_hz
        node.on_goal(pose_msg([8.0, 0.0, 0.0], "odom"))

    def step(self, repeat=None) -> np.ndarray:
        """One control period; ``repeat``: a Joy message the device receives again (joy_node's
        autorepeat, 20 Hz by default: a held stick keeps being published)."""
        self.clock.t += self.period
        if repeat is not None:
            self.node.teleop.source.device.on_joy(repeat)
        self.node.on_odom(make_odom(msgs.Odometry, np.zeros(3), np.zeros(2), self.clock.t))
        ranges = np.full(self.lidar.num_beams, 4.0, dtype=np.float32)
        self.node.on_scan(make_scan(msgs.LaserScan, ranges, self.clock.t, self.lidar))
        m = self.got[-1]
        return np.array([m.linear.x, m.angular.z])


def test_joy_takes_over_and_hands_back_over_dds(request, net):
    node_t, op = net
    pub = op.publisher("/joy", "sensor_msgs/msg/Joy", DEFAULT)
    seen: list[bool] = []
    op.subscribe("/nav_policy/intervention", "std_msgs/msg/Bool", LATCHED, lambda m: seen.append(m.data))
    node = make_node("nav", node_t, policy_for(request, "nav"), teleop="joy", teleop_timeout_s=0.3)
    assert node.fault is None and node.teleop is not None, node.state
    rig = NavRig(node, node_t.clock)
    deliver(node_t, op, lambda: seen == [False])  # latched: the policy commands
    rig.step()
    assert node.teleop.last.source == POLICY and not node.intervention
    policy_action = node.last_action.copy()

    # dead-man (LB, button 4) + left stick full up (axis 1 = +1): the human takes over at once
    dev = node.teleop.source.device
    held = joy([0, 1.0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    pub.publish(held)
    deliver(node_t, op, lambda: dev.sample is not None)
    cmd = rig.step()
    assert node.teleop.last.source == HUMAN and node.intervention
    mapping = NavTeleop(node.controller.action_term, node.teleop_config())
    want = mapping.to_action(TeleopCommand(True, np.array([mapping.twist_scale[0], 0, 0, 0, 0, 0])), {})
    assert node.last_action == pytest.approx(want) and not np.allclose(want, policy_action)
    # the command is the action term's (acceleration-limited from the previous command), filtered
    hi, lo = node.filter.high, node.filter.low
    for _ in range(30):
        cmd = rig.step(repeat=held)
        assert np.all(cmd >= lo - 1e-9) and np.all(cmd <= hi + 1e-9)
    assert cmd[0] == pytest.approx(min(hi[0], mapping.twist_scale[0]), abs=1e-6) and cmd[1] == pytest.approx(
        0.0
    )
    deliver(node_t, op, lambda: seen[-1] is True)

    # release the dead-man and the stick: the policy drives again at the next control step
    pub.publish(joy([0] * 8, [0] * 11))
    deliver(node_t, op, lambda: not dev.sample.pressed("deadman"))
    rig.step()
    assert node.teleop.last.source == POLICY and not node.intervention
    deliver(node_t, op, lambda: seen[-1] is False)
    assert seen == [False, True, False]

    # deflection alone (no dead-man) beyond the threshold takes over too
    pub.publish(joy([0.5, 0, 0, 0, 0, 0, 0, 0], [0] * 11))  # half left: yaw
    deliver(node_t, op, lambda: dev.sample.axes[5] != 0)
    rig.step()
    assert node.teleop.last.source == HUMAN


def test_a_silent_joy_holds_within_one_watchdog_period(request, net):
    node_t, op = net
    node = make_node("nav", node_t, policy_for(request, "nav"), teleop="joy", teleop_timeout_s=0.3)
    rig = NavRig(node, node_t.clock)
    pub = op.publisher("/joy", "sensor_msgs/msg/Joy", DEFAULT)
    dev = node.teleop.source.device
    held = joy([0, 1.0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1] + [0] * 6)
    pub.publish(held)
    deliver(node_t, op, lambda: dev.sample is not None)
    for _ in range(5):
        cmd = rig.step(repeat=held)
    assert node.teleop.last.source == HUMAN and cmd[0] > 0
    arrived = dev.sample.stamp_s  # the last arrival (the node's steady clock)
    # joy_node stops publishing (its pad unplugged): the human keeps control up to the timeout...
    while node_t.clock.t + rig.period <= arrived + 0.3:
        rig.step()
        assert node.teleop.last.source == HUMAN
    # ... and the first control step after it holds: within one watchdog period of going silent
    cmd = rig.step()
    assert arrived + 0.3 < node_t.clock.t <= arrived + 0.3 + rig.period
    assert node.teleop.last.source == HOLD and "silent" in node.teleop.last.why
    assert cmd.tolist() == [0.0, 0.0] and node.intervention  # an immediate stop, still the human's
    for _ in range(3):
        assert rig.step().tolist() == [0.0, 0.0]
    # the pad is back, released: the policy drives
    stamp = dev.sample.stamp_s
    pub.publish(joy([0] * 8, [0] * 11))
    deliver(node_t, op, lambda: dev.sample.stamp_s != stamp)
    rig.step()
    assert node.teleop.last.source == POLICY and not node.intervention


def test_joy_with_fewer_axes_than_mapped_holds_and_names_the_axis(request, net):
    node_t, _ = net
    node = make_node("nav", node_t, policy_for(request, "nav"), teleop="joy")
    rig = NavRig(node, node_t.clock)
    dev = node.teleop.source.device
    dev.on_joy(joy([0, 1.0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1] + [0] * 6))  # as the transport delivers
    rig.step()
    assert node.teleop.last.source == HUMAN
    errors: list[str] = []
    node.log.error = errors.append  # type: ignore[method-assign]
    dev.on_joy(joy([0, 1.0], [0, 0, 0, 0, 1] + [0] * 6))  # a 2-axis pad
    cmd = rig.step()
    assert node.teleop.last.source == HOLD and cmd.tolist() == [0.0, 0.0]
    assert any("/joy: message has 2 axes; axis_linear.y reads axis 3" in e for e in errors), errors


def test_nan_twist_holds(request, net):
    node_t, op = net
    node = make_node("nav", node_t, policy_for(request, "nav"), teleop="twist")
    rig = NavRig(node, node_t.clock)
    pub = op.publisher("/teleop/cmd_vel", "geometry_msgs/msg/Twist", DEFAULT)
    dev = node.teleop.source.device
    tw = msgs.Twist()
    tw.linear.x = 0.4
    pub.publish(tw)
    deliver(node_t, op, lambda: dev.sample is not None)
    for _ in range(10):  # teleop_twist_keyboard sends on every key press (a held key repeats)
        dev.on_twist(tw)
        cmd = rig.step()
    assert node.teleop.last.source == HUMAN and cmd[0] == pytest.approx(0.4)  # teleop_twist_keyboard's speed
    bad = msgs.Twist()
    bad.linear.x = float("nan")
    pub.publish(bad)
    deliver(node_t, op, lambda: dev.sample is None)
    cmd = rig.step()
    assert node.teleop.last.source == HOLD and "non-finite twist" in node.teleop.last.why
    assert cmd.tolist() == [0.0, 0.0]


def test_an_unplugged_gamepad_mid_episode_holds(request, net):
    """A replayed evdev gamepad (dead-man held, stick up) whose cable is pulled at t = 0.5 s."""
    node_t, _ = net
    node = make_node("nav", node_t, policy_for(request, "nav"))
    rig = NavRig(node, node_t.clock)
    mapping = node.domain.teleop(node.controller, node.teleop_config())
    pad = EvdevGamepad(ReplayEvdev(DATA / "evdev_unplugged.jsonl"))
    node.attach_teleop(DeviceTeleop(pad, mapping.twist_scale, node.teleop_config()))
    t0 = node_t.clock.t + rig.period  # the replay starts at the first control step
    while node_t.clock.t + rig.period < t0 + 0.5 - 1e-6:
        cmd = rig.step()
        assert node.teleop.last.source == HUMAN, node.teleop.last.why
    assert cmd[0] > 0
    cmd = rig.step()  # ENODEV: the very control step after the cable is pulled
    assert node.teleop.last.source == HOLD and "lost (No such device" in node.teleop.last.why
    assert "event-replay" in node.teleop.last.why and cmd.tolist() == [0.0, 0.0] and node.intervention
    for _ in range(3):
        assert rig.step().tolist() == [0.0, 0.0] and node.teleop.last.source == HOLD


# ----------------------------------------------------------------------------- manip, quad


class ScriptedTwist:
    """A scripted operator: a constant tool twist (base frame), engaged from ``start_s``."""

    name = "scripted twist"

    def __init__(self, twist, start_s: float, closed=None):
        self.twist, self.start_s, self.closed = np.asarray(twist, dtype=np.float64), start_s, closed

    def command(self, now_s, signals):
        return TeleopCommand(now_s >= self.start_s, self.twist, gripper_closed=self.closed, stamp_s=now_s)

    def close(self):
        pass


def test_arm_takes_a_scripted_tool_twist_through_dls_and_its_safety_layer(request, net):
    node_t, _ = net
    clock = node_t.clock
    node = make_node("manip", node_t, policy_for(request, "manip"))
    got = record(node.arm_pub)
    q0 = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
    node.attach_teleop(ScriptedTwist([0.05, 0.0, 0.0, 0, 0, 0], start_s=clock.t + 0.5, closed=True))
    node.on_target_pose(pose_msg([0.5, 0.2, 0.2], "panda_link0"))
    node.on_object_pose(pose_msg([0.5, 0.0, 0.02], "panda_link0"))
    names = [*node.arm_joints, *node.finger_joints]
    q = q0.copy()
    chain, s = node.controller.chain, node.controller.safety
    tcp = []
    for _ in range(300):
        clock.t += 0.01
        node.on_joint_states(msgs.JointState(name=names, position=[*q, 0.04, 0.04], velocity=[0.0] * 9))
        node.on_object_pose(pose_msg([0.5, 0.0, 0.02], "panda_link0"))
        n_before = len(got)
        node.on_tick()
        if len(got) > n_before:
            target = np.asarray(got[-1].data)
            assert np.all(target >= s.lower - 1e-9) and np.all(target <= s.upper + 1e-9)
            if node.teleop.last.source == HUMAN:
                tcp.append(chain.forward(target[None])[0][0])
            q = target  # a perfect position controller
    assert node.intervention and len(tcp) > 10
    v = np.diff(np.array(tcp), axis=0) * node.controller.control_rate_hz
    assert np.median(v[:, 0]) == pytest.approx(0.05, rel=0.05)  # 5 cm/s along base x
    assert np.abs(np.median(v[:, 1:], axis=0)).max() < 2e-3
    assert node.last_action[-1] == 1.0 and node.gripper_closed  # the scripted gripper: closed


def test_quad_operator_nudges_the_reference(request, net):
    """A scripted operator pushes the reference along world x at 0.5 m/s from 0.2 s on; the policy
    keeps flying (its CTBR commands pass the safety layer), the nudge integrates per control step."""
    node_t, _ = net
    clock = node_t.clock
    node = make_node("quad", node_t, policy_for(request, "quad"))
    got = record(node.cmd_pub)
    start = clock.t + 0.2
    node.attach_teleop(ScriptedTwist([0.5, 0.0, 0.0, 0, 0, 0], start_s=start))
    node.on_reference_pose(pose_msg([0.0, 0.0, 1.0], "world"))
    steps = 0
    for _ in range(200):  # 1 s at the node's 200 Hz loop
        clock.t += 0.005
        m = msgs.Odometry()
        m.header.frame_id = "world"
        m.pose.pose.position.z, m.pose.pose.orientation.w = 1.0, 1.0
        node.on_odometry(m)
        before = node.scheduler.last_s
        node.on_tick()
        if node.scheduler.last_s != before and node.teleop.last.source == HUMAN:
            steps += 1
    assert node.state == "flying" and node.intervention and got
    rate = node.controller.control_rate_hz
    assert steps > 10 and node.ref_offset == pytest.approx([steps * 0.5 / rate, 0.0, 0.0])
    v = node.vehicle
    for tw in got[-steps:]:  # the policy's commands, through the safety layer
        thrust_n, rates = px4.cmd_vel_legacy_command(tw, 4.0 * v.motor_max_thrust_n, node.p.cf_backend)
        cmd = np.array([thrust_n / v.mass_kg, *rates])
        assert within_limits(cmd, node.safety.low, node.safety.high, tol=1e-6), cmd


def test_teleop_parameters_are_checked_and_a_missing_device_is_an_error_state(request, net):
    node_t, _ = net
    policy = policy_for(request, "nav")
    node = make_node("nav", node_t, policy, teleop="wiimote")
    assert node.state == "error: bad parameter teleop" and node.teleop is None
    node = make_node("nav", node_t, policy, teleop_timeout_s=0.0)
    assert node.state == "error: bad parameter teleop_timeout_s"
    node = make_node("nav", node_t, policy, teleop_deadband=1.0)
    assert node.state == "error: bad parameter teleop_deadband"
    node = make_node("nav", node_t, policy, teleop="gamepad")  # no teleop_device: which pad?
    assert node.state.startswith("error: teleop gamepad:") and "teleop_device" in node.state
    node = make_node("nav", node_t, policy, teleop="gamepad", teleop_device="/dev/input/no-such-event")
    assert node.state.startswith("error: teleop gamepad:"), node.state
    assert node.teleop is None and node.fault


def test_a_joy_mapping_parameter_reaches_the_device(request, net):
    node_t, _ = net
    policy = policy_for(request, "nav")
    node = make_node(
        "nav", node_t, policy, teleop="joy", teleop_joy_mapping="axis_linear.x=2,enable_button=0"
    )
    dev = node.teleop.source.device
    assert dev.mapping.axes["x"] == 2 and dev.mapping.buttons["deadman"] == 0
    bad = make_node("nav", node_t, policy, teleop="joy", teleop_joy_mapping="axis_linear.q=1")
    assert bad.state == "error: bad parameter teleop_joy_mapping"


def test_devices_that_cannot_open_are_error_states_naming_why(request, net):
    node_t, _ = net
    policy = policy_for(request, "nav")
    node = make_node("nav", node_t, policy, teleop="keyboard")  # pytest's stdin is no terminal
    assert node.state.startswith("error: teleop keyboard:") and "not a terminal" in node.state
    pytest.importorskip("pygame")
    node = make_node("nav", node_t, policy, teleop="sdl", teleop_device="3")  # no joystick here
    assert node.state.startswith("error: teleop sdl:") and "SDL joystick 3" in node.state, node.state


def test_a_source_that_raises_holds_and_the_node_stays_up(request, net):
    node_t, _ = net
    node = make_node("nav", node_t, policy_for(request, "nav"))
    rig = NavRig(node, node_t.clock)

    class Flaky(ScriptedTwist):
        fail = False

        def command(self, now_s, signals):
            if self.fail:
                raise RuntimeError("the scripted operator's planner crashed")
            return super().command(now_s, signals)

    src = Flaky([0.3, 0, 0, 0, 0, 0], start_s=0.0)
    node.attach_teleop(src)
    rig.step()
    assert node.teleop.last.source == HUMAN
    src.fail = True
    assert rig.step().tolist() == [0.0, 0.0]
    assert (
        node.teleop.last.source == HOLD
        and "RuntimeError: the scripted operator's planner crashed" in node.teleop.last.why
    )
