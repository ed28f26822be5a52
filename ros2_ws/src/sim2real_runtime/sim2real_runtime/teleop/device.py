"""The one interface every teleop input device implements, and what it reports.

A device (a terminal keyboard, a gamepad through Linux evdev or SDL, a 3Dconnexion SpaceMouse
through hidapi, ROS 2's sensor_msgs/Joy or geometry_msgs/Twist) is a small class that turns its raw
events into a :class:`DeviceSample`: six normalised axes in the operator's frame and a few named
buttons. What the axes mean for a robot (a body twist, a tool velocity, a reference nudge) is the
domain's teleop mapping (:mod:`sim2real_runtime.teleop.mapping`), so every device drives every
domain.

Raw events come from a *backend* (the live library: python-evdev, pygame, hidapi, a tty; or a
recorded event file, :mod:`sim2real_runtime.teleop.replay`), and the device class parses them with
the same code either way: tests replay recorded event files through each device class, so the
parsing is tested without the hardware.

No ROS, torch or MuJoCo here; the device libraries are optional and imported only when a live
device is opened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import Sim2RealError

AXES = ("x", "y", "z", "roll", "pitch", "yaw")
"""The six axes of a sample, in the operator's frame (REP-103 FLU as the operator faces the robot's
work: x forward / away from the operator, y left, z up; roll, pitch, yaw about x, y, z, right-handed)."""

BUTTONS = ("deadman", "gripper", "episode_start", "episode_end", "discard", "success")
"""Named buttons a sample may report (a device reports those it has):

- ``deadman``: held -> the operator is in control (released: hands back to the policy).
- ``gripper``: the gripper state the operator asks for: True closed, False open. A device with a
  toggle button keeps the state itself, so the sample always says the wanted state.
- ``episode_start``, ``episode_end``, ``discard``, ``success``: momentary (True in the one sample
  after the press): the recorder starts / ends / throws away an episode, or marks it a success.
"""


class TeleopError(Sim2RealError):
    """A teleop input cannot be used. ``device`` names it (``/dev/input/event5``, ``/joy``...)."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        self.message = message
        super().__init__(f"teleop device {device}: {message}")


class DeviceLost(TeleopError):  # noqa: N818 - reads as an event: "except DeviceLost"
    """The device disappeared (unplugged, its file or topic gone, the terminal closed). The device
    object is unusable afterwards; the node holds (or stops) and says which device was lost."""


class BadDeviceInput(TeleopError):  # noqa: N818 - as DeviceLost
    """One input from the device cannot be used (a NaN twist, a Joy message with fewer axes than
    the mapping reads): that input is refused; a node under human control holds."""


def _clip_axes(axes: object) -> np.ndarray:
    a = np.asarray(axes, dtype=np.float64).reshape(-1)
    if a.shape != (6,):
        raise ValueError(f"a device sample has 6 axes ({', '.join(AXES)}), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"a device sample's axes must be finite, got {a}")
    return np.minimum(np.maximum(a, -1.0), 1.0)


@dataclass(frozen=True)
class DeviceSample:
    """One reading of an input device.

    Attributes:
        axes: float64 [6] in [-1, 1]: x, y, z, roll, pitch, yaw in the operator's frame (:data:`AXES`);
            0 at rest. Finite (checked) and clipped to [-1, 1] on construction.
        buttons: button name (:data:`BUTTONS`) -> pressed; names the device does not have are absent.
        stamp_s: when the device last confirmed this state (s, on the clock the caller passed to
            :meth:`InputDevice.poll`): now for a device that is connected and reports changes
            (evdev, SDL, HID, a terminal), the arrival of the last message for a streamed one
            (sensor_msgs/Joy, Twist). ``now - stamp_s`` is how long the device has been silent.
        device: the device's name, for messages.
    """

    axes: np.ndarray
    buttons: dict[str, bool] = field(default_factory=dict)
    stamp_s: float = 0.0
    device: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "axes", _clip_axes(self.axes))
        unknown = sorted(set(self.buttons) - set(BUTTONS))
        if unknown:
            raise ValueError(f"unknown button name(s) {unknown}; known: {', '.join(BUTTONS)}")
        if not math.isfinite(self.stamp_s):
            raise ValueError(f"stamp_s must be finite, got {self.stamp_s}")

    def pressed(self, name: str) -> bool:
        """Whether button ``name`` is pressed (False when the device has no such button)."""
        return bool(self.buttons.get(name, False))

    @property
    def magnitude(self) -> float:
        """The largest |axis| (1): what a takeover threshold is compared with."""
        return float(np.max(np.abs(self.axes)))


@runtime_checkable
class InputDevice(Protocol):
    """An input device: poll it once per control period.

    Attributes:
        name: the device, as messages name it (a path, a topic, ``keyboard``).
    """

    name: str

    def poll(self, now_s: float) -> DeviceSample | None:
        """The device's current state: all raw events since the last poll are read and parsed.

        Args:
            now_s: the caller's clock (s); it stamps the sample of a connected device.

        Returns:
            The current sample, or None before the device has reported anything (a topic with no
            message yet).

        Raises:
            DeviceLost: the device disappeared; every later call raises it again.
            BadDeviceInput: the latest input cannot be used (it is refused; the previous state is
                not reported as current).
        """
        ...

    def close(self) -> None:
        """Release the device (restore the terminal, close the file or handle). Idempotent."""
        ...


def deadband(x: np.ndarray, width: float) -> np.ndarray:
    """``x`` with |x| < ``width`` set to 0 and the rest rescaled so that the output still spans
    [-1, 1] continuously (the way joy_node's ``deadzone`` works)."""
    x = np.asarray(x, dtype=np.float64)
    if width <= 0:
        return x
    mag = np.maximum(np.abs(x) - width, 0.0) / (1.0 - width)
    return np.sign(x) * np.minimum(mag, 1.0)
