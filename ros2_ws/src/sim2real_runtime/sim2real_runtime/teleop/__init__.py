"""Teleoperation in the runtime: input devices behind one interface, teleop sources and commands,
and each domain's mapping of a teleop command into its policy's action space.

- :mod:`.device`: :class:`DeviceSample`, the :class:`InputDevice` protocol, :class:`DeviceLost`.
- :mod:`.command`: :class:`TeleopCommand`, the :class:`TeleopSource` protocol (devices and scripted
  teleoperators), :class:`TeleopConfig`, :class:`DeviceTeleop`, the :class:`TeleopMapping` protocol.
- :mod:`.mapping`: :class:`NavTeleop`, :class:`ManipTeleop` (damped least squares),
  :class:`QuadTeleop` (reference nudge); registered per domain as ``Domain.teleop``.
- devices: :mod:`.keyboard` (a terminal), :mod:`.evdev_gamepad` (Linux evdev), :mod:`.sdl_gamepad`
  (pygame / SDL), :mod:`.spacemouse` (3Dconnexion over hidapi); the ROS 2 inputs (sensor_msgs/Joy,
  geometry_msgs/Twist) live in ``sim2real_ros.teleop_inputs``. :mod:`.replay` plays recorded event
  files through any of them.

The node side (who is in control, takeover and release, the watchdog) is
``sim2real_ros.teleop_arbiter``.
"""

from .command import DeviceTeleop, TeleopCommand, TeleopConfig, TeleopMapping, TeleopSource
from .device import AXES, BUTTONS, BadDeviceInput, DeviceLost, DeviceSample, InputDevice, TeleopError

__all__ = [
    "AXES",
    "BUTTONS",
    "BadDeviceInput",
    "DeviceLost",
    "DeviceSample",
    "DeviceTeleop",
    "InputDevice",
    "TeleopCommand",
    "TeleopConfig",
    "TeleopError",
    "TeleopMapping",
    "TeleopSource",
]
