"""Teleop input devices without hardware: recorded event files (tests/data/teleop/, written by hand
in each device's raw format: terminal bytes, kernel evdev events, SDL joystick events, 3Dconnexion
HID reports, sensor_msgs/Joy and geometry_msgs/Twist messages) replayed through each device class's
own parsing code, with hand-computed samples; device loss; bad input named."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import REPO

from sim2real_ros import msgs
from sim2real_ros.teleop_inputs import JoyDevice, JoyMapping, ReplayMessages, TwistDevice, make_source
from sim2real_runtime.errors import ConfigError
from sim2real_runtime.teleop import BadDeviceInput, DeviceLost, DeviceSample, DeviceTeleop, TeleopConfig
from sim2real_runtime.teleop.evdev_gamepad import EvdevGamepad, ReplayEvdev
from sim2real_runtime.teleop.keyboard import KeyboardDevice, ReplayBytes
from sim2real_runtime.teleop.replay import EventFile
from sim2real_runtime.teleop.sdl_gamepad import ReplaySdl, SdlGamepad
from sim2real_runtime.teleop.spacemouse import ReplayHid, SpaceMouse

DATA = REPO / "tests" / "data" / "teleop"
T0 = 50.0  # the clock at the first poll (the replay's t = 0)


def poll_at(device, t: float) -> DeviceSample:
    return device.poll(T0 + t)


# ----------------------------------------------------------------------------- keyboard


def test_keyboard_replay_teleop_twist_keyboard_keys():
    kb = KeyboardDevice(ReplayBytes(DATA / "keyboard.jsonl"), hold_s=0.6)
    s = poll_at(kb, 0.0)  # 'i': forward
    assert s.axes.tolist() == [1, 0, 0, 0, 0, 0] and not s.pressed("deadman") and not s.pressed("gripper")
    assert poll_at(kb, 0.3).axes.tolist() == [1, 0, 0, 0, 0, 0]  # 'i' again at 0.2 (auto-repeat)
    s = poll_at(kb, 0.45)  # 'u': forward + turn left
    assert s.axes.tolist() == [1, 0, 0, 0, 0, 1]
    s = poll_at(kb, 0.62)  # 'g' gripper toggle, Tab dead-man toggle, Enter: episode start
    assert s.pressed("gripper") and s.pressed("deadman") and s.pressed("episode_start")
    s = poll_at(kb, 0.66)  # right arrow: episode end; momentary buttons fire once
    assert s.pressed("episode_end") and not s.pressed("episode_start")
    s = poll_at(kb, 0.72)  # left arrow then '+': discard and success
    assert s.pressed("discard") and s.pressed("success")
    assert poll_at(kb, 0.85).axes.tolist() == [0, 1, 0, 0, 0, 0]  # 'J': strafe left (holonomic)
    assert poll_at(kb, 0.95).axes.tolist() == [0, 0, 1, 0, 0, 0]  # 't': up
    assert poll_at(kb, 1.02).axes.tolist() == [0, 0, 0, 1, 0, 0]  # 'a': roll +
    assert poll_at(kb, 1.07).axes.tolist() == [0, 0, 0, 0, 0, 0]  # 'k': stop
    assert poll_at(kb, 1.15).axes.tolist() == [-1, 0, 0, 0, 0, 0]  # ',': backward
    # no key for longer than hold_s: the axes return to zero (a terminal reports no key release)
    assert poll_at(kb, 1.15 + 0.65).axes.tolist() == [0, 0, 0, 0, 0, 0]
    with pytest.raises(DeviceLost, match="teleop device keyboard: lost"):
        poll_at(kb, 3.0)
    with pytest.raises(DeviceLost):  # and for good
        poll_at(kb, 3.1)


def test_keyboard_escape_sequence_split_across_reads():
    class Chunks:
        def __init__(self, parts):
            self.parts = list(parts)

        def read(self, now_s):
            return self.parts.pop(0) if self.parts else b""

        def close(self):
            pass

    kb = KeyboardDevice(Chunks([b"\x1b[", b"C", b"i"]))
    assert not kb.poll(0.0).buttons.get("episode_end")
    assert kb.poll(0.1).pressed("episode_end")
    assert kb.poll(0.2).axes[0] == 1.0


# ----------------------------------------------------------------------------- gamepads


def test_evdev_gamepad_replay():
    pad = EvdevGamepad(ReplayEvdev(DATA / "evdev_gamepad.jsonl"))
    s = poll_at(pad, 0.0)
    assert s.pressed("deadman") and s.axes.tolist() == [0] * 6
    s = poll_at(pad, 0.1)
    # ABS_Y -32768 of [-32768, 32767]: centre -0.5, half range 32767.5 -> -1 (up) -> x = +1;
    # ABS_X 16384 -> (16384.5) / 32767.5 = 0.50002 (right) -> yaw = -0.50002
    assert s.axes[0] == pytest.approx(1.0, abs=1e-4)
    assert s.axes[5] == pytest.approx(-16384.5 / 32767.5, abs=1e-9)
    s = poll_at(pad, 0.2)  # RX -16384 (left) -> y = +(16383.5 / 32767.5); RY 100 inside flat 128 -> z = 0
    assert s.axes[1] == pytest.approx(16383.5 / 32767.5, abs=1e-9) and s.axes[2] == 0.0
    s = poll_at(pad, 0.36)  # RB down and up: the gripper toggles closed
    assert s.pressed("gripper")
    s = poll_at(pad, 0.46)  # START: episode start, once
    assert s.pressed("episode_start") and not poll_at(pad, 0.47).pressed("episode_start")
    s = poll_at(pad, 0.5)  # D-pad: HAT0Y -1 (up) -> pitch +1, HAT0X +1 (right) -> roll +1
    assert s.axes[3] == 1.0 and s.axes[4] == 1.0
    s = poll_at(pad, 0.6)  # LB up; the auto-repeat value 2 does not press it again
    assert not s.pressed("deadman")
    s = poll_at(pad, 0.7)
    assert s.axes.tolist() == [0] * 6 and s.pressed("gripper")  # the toggle state persists
    with pytest.raises(DeviceLost, match="No such device"):
        poll_at(pad, 1.0)


def test_sdl_gamepad_replay():
    pad = SdlGamepad(ReplaySdl(DATA / "sdl_gamepad.jsonl"))
    assert poll_at(pad, 0.0).pressed("deadman")
    s = poll_at(pad, 0.1)  # LY -1 (up) -> x = 1; LX 0.5 (right) -> yaw = -0.5
    assert s.axes[0] == 1.0 and s.axes[5] == -0.5
    s = poll_at(pad, 0.25)  # RX -0.5 -> y = 0.5; RY -0.25 (up) -> z = 0.25; the trigger is unmapped
    assert s.axes.tolist() == [1.0, 0.5, 0.25, 0.0, 0.0, -0.5]
    assert poll_at(pad, 0.36).pressed("gripper")
    assert poll_at(pad, 0.46).pressed("episode_start")
    s = poll_at(pad, 0.56)  # hat (1, 1): right and up (SDL: up positive); pad 1's axis ignored
    assert s.axes[3] == 1.0 and s.axes[4] == 1.0 and s.axes[0] == 1.0
    assert not poll_at(pad, 0.6).pressed("deadman")
    with pytest.raises(DeviceLost, match="joystick removed"):
        poll_at(pad, 1.0)


def test_event_codes_are_the_libraries():
    """The kernel's and SDL's codes written in the device modules equal python-evdev's and pygame's."""
    from sim2real_runtime.teleop import evdev_gamepad as eg
    from sim2real_runtime.teleop import sdl_gamepad as sg

    ecodes = pytest.importorskip("evdev").ecodes
    names = "EV_KEY EV_ABS ABS_X ABS_Y ABS_RX ABS_RY ABS_HAT0X ABS_HAT0Y BTN_SOUTH BTN_EAST BTN_NORTH"
    for name in (*names.split(), "BTN_WEST", "BTN_TL", "BTN_TR", "BTN_SELECT", "BTN_START"):
        assert getattr(eg, name) == getattr(ecodes, name), name
    pygame = pytest.importorskip("pygame")
    for name in sg.EVENT_TYPES:
        assert sg.EVENT_TYPES[name] == getattr(pygame, name), name


def test_spacemouse_replay_hid_reports():
    sm = SpaceMouse(ReplayHid(DATA / "spacemouse.jsonl"))
    s = poll_at(sm, 0.0)
    # raw (x, y, z) = (350, -175, 0), (rx, ry, rz) = (0, 0, -350); operator frame:
    # x = -y_raw = 0.5, y = -x_raw = -1, z = -z_raw = 0, roll = -ry = 0, pitch = -rx = 0, yaw = -rz = 1
    assert s.axes.tolist() == [0.5, -1.0, 0.0, 0.0, 0.0, 1.0]
    assert not s.pressed("gripper") and "deadman" not in s.buttons  # no dead-man: deflection takes over
    assert poll_at(sm, 0.26).pressed("gripper")  # left button: toggle
    s = poll_at(sm, 0.36)
    assert s.pressed("episode_end") and s.pressed("gripper")
    s = poll_at(sm, 0.4)  # a 13-byte report: z_raw 175, rx 70, ry -35 -> z -0.5, roll 0.1, pitch -0.2
    assert s.axes == pytest.approx([0.0, 0.0, -0.5, 0.1, -0.2, 0.0])
    assert poll_at(sm, 0.5).axes.tolist() == [0.0] * 6
    with pytest.raises(DeviceLost, match="HID read failed"):
        poll_at(sm, 1.0)


# ----------------------------------------------------------------------------- ROS inputs


class Clock:
    def __init__(self):
        self.t = T0

    def __call__(self):
        return self.t


def test_joy_replay_with_teleop_twist_joy_mapping():
    clock = Clock()
    joy = JoyDevice(None, clock, "/joy")
    feed = ReplayMessages(DATA / "joy.jsonl", joy, msgs.Joy)
    assert joy.poll(clock.t) is None  # nothing yet

    def at(t):
        clock.t = T0 + t
        feed.pump(clock.t)
        return joy.poll(clock.t)

    s = at(0.0)
    assert s.pressed("deadman") and s.axes.tolist() == [0] * 6 and s.stamp_s == T0
    s = at(
        0.05
    )  # axes[1] = 1 (stick up) -> x; axes[0] = 0.5 (left) -> yaw; axes[6] = -1 (D-pad right) -> roll +1
    assert s.axes.tolist() == [1.0, 0.0, 0.0, 1.0, 0.0, 0.5]
    s = at(0.10)
    assert s.pressed("gripper") and s.pressed("episode_start")
    s = at(0.15)  # held, no new edge: the momentary button does not fire again; the toggle stays
    assert s.pressed("gripper") and not s.pressed("episode_start")
    with pytest.raises(BadDeviceInput, match=r"/joy: message has 4 axes; axis_linear\.z reads axis 4"):
        at(0.20)
    assert joy.poll(clock.t) is None  # the refused message's state is not reported as current
    s = at(0.25)
    assert s.axes.tolist() == [0] * 6 and not s.pressed("deadman")


def test_joy_mapping_parameters_as_teleop_twist_joy_names_them():
    m = JoyMapping.from_params({"axis_linear.x": 4, "scale_linear.x": -0.5, "axis_angular.yaw": 3,
                                "enable_button": 0, "axis_linear.y": -1, "axis_linear.z": -1})  # fmt: skip
    clock = Clock()
    joy = JoyDevice(None, clock, "/joy", m)
    msg = msgs.Joy(axes=[0.0, 0.0, 0.0, 0.25, 1.0, 0.0, 0.0, 0.0], buttons=[1] + [0] * 10)
    joy.on_joy(msg)
    s = joy.poll(clock.t)
    assert s.axes.tolist() == [-0.5, 0.0, 0.0, 0.0, 0.0, 0.25] and s.pressed("deadman")
    with pytest.raises(BadDeviceInput, match=r"unknown parameter 'axis_linear\.w'"):
        JoyMapping.from_params({"axis_linear.w": 1})
    with pytest.raises(BadDeviceInput, match="enable_button must be a button index"):
        JoyMapping.from_params({"enable_button": 1.5})
    joy.on_joy(msgs.Joy(axes=[0.0] * 8, buttons=[1]))  # fewer buttons than mapped
    with pytest.raises(BadDeviceInput, match="message has 1 buttons; gripper_button reads button 5"):
        joy.poll(clock.t)
    joy.on_joy(msgs.Joy(axes=[math.nan] * 8, buttons=[0] * 11))
    with pytest.raises(BadDeviceInput, match=r"axis 4 \(axis_linear\.x\) is nan"):
        joy.poll(clock.t)


def test_twist_replay_passes_the_twist_through_clipped_and_refuses_nan():
    clock = Clock()
    scale = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 2.0])  # the domain's twist at full deflection
    dev = TwistDevice(None, clock, scale)
    feed = ReplayMessages(DATA / "twist.jsonl", dev, msgs.Twist)
    src = DeviceTeleop(dev, scale, TeleopConfig(deadband=0.0))

    def at(t):
        clock.t = T0 + t
        feed.pump(clock.t)
        return src.command(clock.t, {})

    c = at(0.0)  # 0.5 m/s, 1 rad/s pass unchanged; above the threshold: engaged
    assert c.twist.tolist() == [0.5, 0, 0, 0, 0, 1.0] and c.engaged
    assert at(0.1).twist.tolist() == [1.0, 0, 0, 0, 0, -2.0]  # clipped to the domain's scale
    with pytest.raises(BadDeviceInput, match=r"/teleop/cmd_vel: non-finite twist \[nan"):
        at(0.2)
    c = at(0.3)
    assert c.twist.tolist() == [0.0] * 6


def test_twist_stamped_is_read_too():
    clock = Clock()
    dev = TwistDevice(None, clock, np.ones(6), stamped=True)
    m = msgs.TwistStamped()
    m.twist.linear.x, m.twist.angular.z = 0.25, -0.5
    dev.on_twist(m)
    assert dev.poll(clock.t).axes.tolist() == [0.25, 0, 0, 0, 0, -0.5]


# ----------------------------------------------------------------------------- sources and files


def test_device_teleop_engages_by_deadman_or_deflection_and_releases_after_release_s():
    class Fixed:
        name = "fixed"

        def __init__(self):
            self.axes, self.buttons = np.zeros(6), {}

        def poll(self, now_s):
            return DeviceSample(self.axes, dict(self.buttons), now_s, self.name)

        def close(self):
            pass

    dev = Fixed()
    src = DeviceTeleop(
        dev, np.full(6, 2.0), TeleopConfig(deadband=0.1, takeover_threshold=0.2, release_s=0.5)
    )
    assert not src.command(0.0, {}).engaged
    dev.axes = np.array([0.08, 0, 0, 0, 0, 0])  # inside the deadband: 0
    c = src.command(0.1, {})
    assert not c.engaged and c.twist[0] == 0.0
    dev.axes = np.array([0.55, 0, 0, 0, 0, 0])  # (0.55 - 0.1) / 0.9 = 0.5 -> above 0.2: engaged
    c = src.command(0.2, {})
    assert c.engaged and c.twist[0] == pytest.approx(1.0)
    dev.axes = np.zeros(6)
    assert src.command(0.69, {}).engaged  # held release_s after the last deflection
    assert not src.command(0.71, {}).engaged
    dev.buttons = {"deadman": True}
    assert src.command(0.8, {}).engaged
    dev.buttons = {"deadman": True, "gripper": True}
    c = src.command(0.9, {})
    assert c.gripper_toggle and c.gripper_closed is None
    assert not src.command(1.0, {}).gripper_toggle  # one toggle per change of the device's state


def test_event_file_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "other"}\n')
    with pytest.raises(ConfigError, match=r"bad\.jsonl: field 'line 1'"):
        EventFile(bad)
    head = json.dumps({"format": "sim2real-teleop-events", "version": 1, "device": "hid"})
    bad.write_text(head + '\n{"t": 0.5, "report": "03 00"}\n{"t": 0.2, "report": "03 00"}\n')
    with pytest.raises(ConfigError, match=r"field 'line 3.t': expected a time >= 0.5"):
        EventFile(bad)
    bad.write_text(head + "\nnot json\n")
    with pytest.raises(ConfigError, match="field 'line 2': not JSON"):
        EventFile(bad)
    with pytest.raises(ConfigError, match="a hid recording, expected evdev"):
        ReplayEvdev(DATA / "spacemouse.jsonl")


def test_device_sample_checks_its_axes_and_buttons():
    with pytest.raises(ValueError, match="finite"):
        DeviceSample(np.array([math.nan, 0, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="6 axes"):
        DeviceSample(np.zeros(5))
    with pytest.raises(ValueError, match="unknown button"):
        DeviceSample(np.zeros(6), {"turbo": True})
    assert DeviceSample(np.array([3.0, -2, 0, 0, 0, 0])).axes.tolist() == [1, -1, 0, 0, 0, 0]


def test_live_devices_that_are_not_there_fail_clearly(tmp_path):
    scale = np.ones(6)
    cfg = TeleopConfig()
    with pytest.raises(ValueError, match="teleop_device"):
        make_source("gamepad", scale, cfg, None, Clock())
    pytest.importorskip("evdev")
    with pytest.raises(OSError):
        make_source("gamepad", scale, cfg, None, Clock(), device=str(tmp_path / "event99"))
    pytest.importorskip("hid")
    try:
        SpaceMouse.open()
    except DeviceLost as exc:  # no 3Dconnexion device on a test machine
        assert "no 3Dconnexion device found" in str(exc)


def test_keyboard_in_a_real_terminal():
    """The live path: a pseudo-terminal in cbreak mode, read without blocking; restored on close;
    the terminal going away is DeviceLost."""
    import os
    import pty
    import termios

    from sim2real_runtime.teleop.keyboard import TtySource

    master, slave = pty.openpty()
    stream = os.fdopen(slave, "rb", buffering=0)
    before = termios.tcgetattr(slave)
    kb = KeyboardDevice(TtySource(stream))
    assert not termios.tcgetattr(slave)[3] & termios.ICANON  # cbreak: keys arrive one by one
    assert kb.poll(0.0).axes.tolist() == [0.0] * 6  # nothing typed: no blocking
    os.write(master, b"i\x1b[C")
    s = kb.poll(0.1)
    assert s.axes.tolist() == [1, 0, 0, 0, 0, 0] and s.pressed("episode_end")
    kb.close()
    assert termios.tcgetattr(slave) == before
    kb2 = KeyboardDevice(TtySource(stream))
    os.close(master)  # the terminal goes away (ssh dropped)
    with pytest.raises(DeviceLost, match="keyboard: lost"):
        kb2.poll(0.2)
    kb2.close()
    stream.close()


def test_joy_mapping_from_the_node_parameter_string():
    m = JoyMapping.parse("axis_linear.x=2, scale_linear.x=-0.5,axis_angular.yaw=-1,enable_button=0")
    assert m.axes["x"] == 2 and m.scales["x"] == -0.5 and m.axes["yaw"] == -1 and m.buttons["deadman"] == 0
    assert m.axes["y"] == JoyMapping().axes["y"]  # names not given keep the defaults
    with pytest.raises(ValueError, match="expected name=value"):
        JoyMapping.parse("axis_linear.x")
    with pytest.raises(ValueError, match="enable_button must be a button index"):
        JoyMapping.parse("enable_button=1.5")
    with pytest.raises(ValueError, match=r"axis_linear\.x: not a number"):
        JoyMapping.parse("axis_linear.x=left")


def test_evdev_gamepad_on_a_virtual_kernel_device():
    """The live evdev path on a real kernel device: a virtual gamepad made with uinput, read through
    python-evdev, then removed (the kernel's ENODEV). Runs where /dev/uinput is writable (not on
    this project's VMs, which have no /dev/uinput: skipped there)."""
    import os
    import time

    evdev = pytest.importorskip("evdev")
    if not os.access("/dev/uinput", os.W_OK):
        pytest.skip("no writable /dev/uinput")
    e = evdev.ecodes
    stick = evdev.AbsInfo(value=0, min=-32768, max=32767, fuzz=0, flat=128, resolution=0)
    caps = {
        e.EV_KEY: [e.BTN_SOUTH, e.BTN_TL, e.BTN_TR, e.BTN_START],
        e.EV_ABS: [(e.ABS_X, stick), (e.ABS_Y, stick)],
    }
    ui = evdev.UInput(caps, name="sim2real-teleop-test-pad")
    try:
        time.sleep(0.3)  # the device node appears
        pad = EvdevGamepad.open(ui.device.path)
        ui.write(e.EV_KEY, e.BTN_TL, 1)
        ui.write(e.EV_ABS, e.ABS_Y, -32768)
        ui.syn()
        time.sleep(0.1)
        s = pad.poll(0.0)
        assert s.pressed("deadman") and s.axes[0] == pytest.approx(1.0, abs=1e-4)
    finally:
        ui.close()  # unplugged
    time.sleep(0.2)
    with pytest.raises(DeviceLost):
        for _ in range(10):
            pad.poll(1.0)
            time.sleep(0.05)
    pad.close()
