"""ROS 2's own teleop inputs as input devices, so the tools users already run work unchanged:
``sensor_msgs/Joy`` from joy_node / game_controller_node, and ``geometry_msgs/Twist`` or
``TwistStamped`` from teleop_twist_keyboard (remapped off the robot's own ``/cmd_vel``:
``ros2 run teleop_twist_keyboard teleop_twist_keyboard --ros-args -r cmd_vel:=/teleop/cmd_vel``).

Both subscribe through the node's transport (best effort, which matches reliable and best-effort
publishers alike) and implement :class:`sim2real_runtime.teleop.device.InputDevice`; a sample's
``stamp_s`` is the arrival of the last message, so a silent publisher (joy_node stops when its
joystick is unplugged; teleop_twist_keyboard sends only on key presses) is seen by the node's
teleop timeout. :func:`make_source` builds the source a node's ``teleop`` parameter asks for.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim2real_runtime.teleop import AXES, BadDeviceInput, DeviceSample, DeviceTeleop, TeleopConfig
from sim2real_runtime.teleop.replay import EventFile, ReplayClock

from .transport import SENSOR_DATA, QoS

JOY = "sensor_msgs/msg/Joy"
TWIST = "geometry_msgs/msg/Twist"
TWIST_STAMPED = "geometry_msgs/msg/TwistStamped"
Subscribe = Callable[[str, str, QoS, Callable[[Any], None]], None]

_LINEAR, _ANGULAR = ("x", "y", "z"), ("roll", "pitch", "yaw")


JOY_PARAM_BUTTONS = {
    "enable_button": "deadman",
    "gripper_button": "gripper",
    "episode_start_button": "episode_start",
    "episode_end_button": "episode_end",
    "discard_button": "discard",
    "success_button": "success",
}
"""JoyMapping parameter -> button name."""


@dataclass(frozen=True)
class JoyMapping:
    """Which Joy axes and buttons mean what, with teleop_twist_joy's parameter names.

    ``axis_linear.{x,y,z}`` / ``axis_angular.{roll,pitch,yaw}``: the Joy axis index of each of the
    six axes (-1: unused); ``scale_linear.*`` / ``scale_angular.*``: a gain on it (a negative one
    flips it; 1 is full speed: the speed itself is the domain's ``teleop_linear_scale_mps``, so
    unlike teleop_twist_joy the scale has no unit). ``enable_button``: the dead-man. The rest are
    ours: ``gripper_button`` (toggles), ``episode_start_button``, ``episode_end_button``,
    ``discard_button``, ``success_button`` (-1: none).

    The defaults are joy_node's numbering of an Xbox pad (ROS 2 joy: left stick up and left are
    +1): left stick x / yaw, right stick y / z, D-pad roll / pitch, LB the dead-man, RB the
    gripper, START / A / B / Y the episode buttons.
    """

    axes: Mapping[str, int] = field(
        default_factory=lambda: {"x": 1, "y": 3, "z": 4, "roll": 6, "pitch": 7, "yaw": 0}
    )
    scales: Mapping[str, float] = field(
        default_factory=lambda: {"x": 1.0, "y": 1.0, "z": 1.0, "roll": -1.0, "pitch": 1.0, "yaw": 1.0}
    )
    buttons: Mapping[str, int] = field(
        default_factory=lambda: {
            "deadman": 4,
            "gripper": 5,
            "episode_start": 7,
            "episode_end": 0,
            "discard": 1,
            "success": 3,
        }
    )

    @classmethod
    def from_params(cls, values: Mapping[str, Any], source: str = "<joy mapping>") -> JoyMapping:
        """A mapping from teleop_twist_joy-style names (``axis_linear.x: 1``, ``scale_angular.yaw:
        0.5``, ``enable_button: 4``...); names not given keep the defaults.

        Raises:
            BadDeviceInput: an unknown name or a value of the wrong type, naming it.
        """
        d = cls()
        axes, scales, buttons = dict(d.axes), dict(d.scales), dict(d.buttons)
        for key, value in values.items():
            group, _, axis = key.partition(".")
            if group in ("axis_linear", "axis_angular", "scale_linear", "scale_angular"):
                names = _LINEAR if group.endswith("linear") else _ANGULAR
                if axis not in names:
                    raise BadDeviceInput(source, f"unknown parameter {key!r} ({group}.{'|'.join(names)})")
                if group.startswith("axis"):
                    if isinstance(value, bool) or not isinstance(value, int):
                        raise BadDeviceInput(source, f"{key} must be an axis index, got {value!r}")
                    axes[axis] = value
                else:
                    if (
                        isinstance(value, bool)
                        or not isinstance(value, int | float)
                        or not math.isfinite(value)
                    ):
                        raise BadDeviceInput(source, f"{key} must be a number, got {value!r}")
                    scales[axis] = float(value)
            elif key in JOY_PARAM_BUTTONS:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise BadDeviceInput(source, f"{key} must be a button index, got {value!r}")
                buttons[JOY_PARAM_BUTTONS[key]] = value
            else:
                known = [
                    "axis_linear.*",
                    "axis_angular.*",
                    "scale_linear.*",
                    "scale_angular.*",
                    *JOY_PARAM_BUTTONS,
                ]
                raise BadDeviceInput(source, f"unknown parameter {key!r} (known: {', '.join(known)})")
        return cls(axes, scales, buttons)

    @classmethod
    def parse(cls, text: str, source: str = "teleop_joy_mapping") -> JoyMapping:
        """A mapping from ``name=value,name=value`` (the node parameter ``teleop_joy_mapping``).

        Raises:
            ValueError: a malformed pair, an unknown name or a bad value, naming it.
        """
        values: dict[str, Any] = {}
        for pair in filter(None, (p.strip() for p in text.split(","))):
            name, eq, value = pair.partition("=")
            if not eq:
                raise ValueError(f"expected name=value, got {pair!r}")
            try:  # an integer (an index) where it reads as one, else a number (a scale)
                number = float(value)
            except ValueError as exc:
                raise ValueError(f"{name.strip()}: not a number: {value!r}") from exc
            values[name.strip()] = int(number) if value.strip().lstrip("+-").isdigit() else number
        try:
            return cls.from_params(values, source)
        except BadDeviceInput as exc:
            raise ValueError(exc.message) from exc

    @staticmethod
    def param_name(axis: str) -> str:
        return f"axis_{'linear' if axis in _LINEAR else 'angular'}.{axis}"


class JoyDevice:
    """sensor_msgs/Joy on ``topic`` as an :class:`~sim2real_runtime.teleop.device.InputDevice`.

    A message with fewer axes (or buttons) than the mapping reads, or a non-finite axis, is refused
    with :class:`~sim2real_runtime.teleop.device.BadDeviceInput` naming the parameter and index
    (``/joy: message has 4 axes; axis_angular.yaw reads axis 5``); the previous state is not reported
    as current after it.

    Args:
        subscribe: the node's ``subscribe(topic, type, qos, callback)`` (its type check included).
        clock: the node's steady clock (s), stamping arrivals.
        topic: the Joy topic. mapping: :class:`JoyMapping`.
    """

    def __init__(
        self,
        subscribe: Subscribe | None,
        clock: Callable[[], float],
        topic: str = "/joy",
        mapping: JoyMapping | None = None,
    ) -> None:
        self.name = topic
        self.clock = clock
        self.mapping = mapping or JoyMapping()
        self.sample: DeviceSample | None = None
        self.bad: BadDeviceInput | None = None
        self.held: set[str] = set()
        self.gripper = False
        self._momentary: set[str] = set()
        if subscribe is not None:
            subscribe(topic, JOY, SENSOR_DATA, self.on_joy)

    def on_joy(self, msg: Any) -> None:
        """A Joy message arrived (the transport's callback)."""
        m = self.mapping
        axes_in, buttons_in = list(msg.axes), list(msg.buttons)
        axes = np.zeros(6)
        for i, name in enumerate(AXES):
            idx = m.axes.get(name, -1)
            if idx < 0:
                continue
            if idx >= len(axes_in):
                self._refuse(f"message has {len(axes_in)} axes; {m.param_name(name)} reads axis {idx}")
                return
            v = float(axes_in[idx])
            if not math.isfinite(v):
                self._refuse(f"axis {idx} ({m.param_name(name)}) is {v}")
                return
            axes[i] = v * m.scales.get(name, 1.0)
        pressed = set()
        for name, idx in m.buttons.items():
            if idx < 0:
                continue
            if idx >= len(buttons_in):
                param = next(k for k, v in JOY_PARAM_BUTTONS.items() if v == name)
                self._refuse(f"message has {len(buttons_in)} buttons; {param} reads button {idx}")
                return
            if buttons_in[idx]:
                pressed.add(name)
        for name in pressed - self.held:  # rising edges
            if name == "gripper":
                self.gripper = not self.gripper
            elif name != "deadman":
                self._momentary.add(name)
        self.held = pressed
        buttons = {"deadman": "deadman" in pressed, "gripper": self.gripper}
        self.sample = DeviceSample(np.clip(axes, -1.0, 1.0), buttons, self.clock(), self.name)
        self.bad = None

    def _refuse(self, why: str) -> None:
        self.bad = BadDeviceInput(self.name, why)
        self.sample = None

    def poll(self, now_s: float) -> DeviceSample | None:
        if self.bad is not None:
            bad, self.bad = self.bad, None
            raise bad
        if self.sample is None:
            return None
        s = self.sample
        if self._momentary:
            s = DeviceSample(
                s.axes, {**s.buttons, **dict.fromkeys(self._momentary, True)}, s.stamp_s, s.device
            )
            self._momentary = set()
        return s

    def close(self) -> None:
        pass  # the transport owns the subscription


class TwistDevice:
    """geometry_msgs/Twist (or TwistStamped) on ``topic`` as an input device: the twist divided by
    ``full_scale`` (the domain's :attr:`~sim2real_runtime.teleop.command.TeleopMapping.twist_scale`),
    so it reaches the robot unchanged, clipped to the domain's teleop speeds. A non-finite twist is
    refused (:class:`~sim2real_runtime.teleop.device.BadDeviceInput`). No buttons: it takes over
    by a twist above the threshold.

    Args:
        subscribe, clock: as for :class:`JoyDevice`. topic: the twist topic.
        full_scale: float [6], the twist that reads as full deflection (0: that axis is unused).
        stamped: TwistStamped instead of Twist.
    """

    def __init__(
        self,
        subscribe: Subscribe | None,
        clock: Callable[[], float],
        full_scale: np.ndarray,
        topic: str = "/teleop/cmd_vel",
        stamped: bool = False,
    ) -> None:
        self.name = topic
        self.clock = clock
        self.full = np.asarray(full_scale, dtype=np.float64).reshape(6)
        self.sample: DeviceSample | None = None
        self.bad: BadDeviceInput | None = None
        if subscribe is not None:
            subscribe(topic, TWIST_STAMPED if stamped else TWIST, SENSOR_DATA, self.on_twist)

    def on_twist(self, msg: Any) -> None:
        tw = msg.twist if hasattr(msg, "twist") else msg
        v = np.array(
            [tw.linear.x, tw.linear.y, tw.linear.z, tw.angular.x, tw.angular.y, tw.angular.z],
            dtype=np.float64,
        )
        if not np.all(np.isfinite(v)):
            self.bad = BadDeviceInput(self.name, f"non-finite twist {v.tolist()} refused")
            self.sample = None
            return
        axes = np.divide(v, self.full, out=np.zeros(6), where=self.full > 0)
        self.sample = DeviceSample(np.clip(axes, -1.0, 1.0), {}, self.clock(), self.name)
        self.bad = None

    def poll(self, now_s: float) -> DeviceSample | None:
        if self.bad is not None:
            bad, self.bad = self.bad, None
            raise bad
        return self.sample

    def close(self) -> None:
        pass


class ReplayMessages:
    """Feeds a recorded ``joy`` or ``twist`` event file into a :class:`JoyDevice` /
    :class:`TwistDevice` callback as real messages (``msgs_module``: :mod:`sim2real_ros.msgs`, or
    an rclpy message module), as the transport would deliver them; ``pump(now_s)`` before each poll."""

    def __init__(self, path: Any, device: JoyDevice | TwistDevice, msg_cls: type) -> None:
        f = EventFile(path)
        if f.kind not in ("joy", "twist"):
            raise BadDeviceInput(str(path), f"a {f.kind} recording cannot be replayed as ROS messages")
        self.kind, self.device, self.cls = f.kind, device, msg_cls
        self.clock = ReplayClock(f.events, str(f.path))

    def pump(self, now_s: float) -> None:
        """Deliver every message due by ``now_s`` (a ``lost`` line: nothing more arrives)."""
        try:
            due = self.clock.due(now_s)
        except OSError:
            return  # a topic has no "unplugged": the publisher goes silent
        for ev in due:
            msg = self.cls()
            if self.kind == "joy":
                msg.axes = [float(a) for a in ev["axes"]]
                msg.buttons = [int(b) for b in ev["buttons"]]
                self.device.on_joy(msg)  # type: ignore[union-attr]
            else:
                tw = msg.twist if hasattr(msg, "twist") else msg
                tw.linear.x, tw.linear.y, tw.linear.z = (float(x) for x in ev["linear"])
                tw.angular.x, tw.angular.y, tw.angular.z = (float(x) for x in ev["angular"])
                self.device.on_twist(msg)  # type: ignore[union-attr]


KINDS = ("none", "joy", "twist", "twist_stamped", "keyboard", "gamepad", "sdl", "spacemouse")
"""Values of the node parameter ``teleop``: ``gamepad`` is Linux evdev (``teleop_device``: the
``/dev/input/event*`` path), ``sdl`` a gamepad through SDL (``teleop_device``: its index, default
0), ``spacemouse`` a 3Dconnexion device over hidapi (``teleop_device``: a hidraw path, default the
first found), ``keyboard`` the terminal the node runs in."""


def make_source(
    kind: str,
    twist_scale: np.ndarray,
    config: TeleopConfig,
    subscribe: Subscribe,
    clock: Callable[[], float],
    topic: str = "",
    device: str = "",
    joy_mapping: str = "",
) -> DeviceTeleop:
    """The teleop source the node parameter ``teleop`` names (not ``none``).

    Raises:
        ValueError: an unknown kind. ImportError: the device's library is not installed.
        DeviceLost: the device is not there.
    """
    if kind == "joy":
        dev: Any = JoyDevice(subscribe, clock, topic or "/joy", JoyMapping.parse(joy_mapping))
    elif kind in ("twist", "twist_stamped"):
        dev = TwistDevice(subscribe, clock, twist_scale, topic or "/teleop/cmd_vel", kind == "twist_stamped")
        config = dataclasses.replace(config, deadband=0.0)  # a twist is exact: no stick to deaden
    elif kind == "keyboard":
        from sim2real_runtime.teleop.keyboard import KeyboardDevice

        dev = KeyboardDevice()
    elif kind == "gamepad":
        from sim2real_runtime.teleop.evdev_gamepad import EvdevGamepad

        if not device:
            raise ValueError("teleop gamepad needs teleop_device: the /dev/input/event* path of the pad")
        dev = EvdevGamepad.open(device)
    elif kind == "sdl":
        from sim2real_runtime.teleop.sdl_gamepad import SdlGamepad

        dev = SdlGamepad.open(int(device or 0))
    elif kind == "spacemouse":
        from sim2real_runtime.teleop.spacemouse import SpaceMouse

        dev = SpaceMouse.open(device.encode() if device else None)
    else:
        raise ValueError(f"unknown teleop kind {kind!r}; known: {', '.join(KINDS)}")
    return DeviceTeleop(dev, twist_scale, config)
