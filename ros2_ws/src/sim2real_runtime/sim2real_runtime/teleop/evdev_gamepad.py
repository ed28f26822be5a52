"""A gamepad through the Linux input subsystem (``/dev/input/event*``, python-evdev).

Raw events are ``(type, code, value)`` as the kernel reports them (linux/input-event-codes.h):
``EV_ABS`` for sticks and the D-pad, normalised with the axis's ``absinfo`` (min, max, flat),
``EV_KEY`` for buttons (1 down, 0 up, 2 auto-repeat). The codes below are the kernel's (the
gamepad ABI, Documentation/input/gamepad.rst), so parsing needs no library: python-evdev
(``pip install evdev``) is imported only to open a live device. An unplugged device makes the
kernel fail reads with ENODEV: :class:`~sim2real_runtime.teleop.device.DeviceLost`.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any, Protocol

from .device import DeviceLost, DeviceSample
from .gamepad import PadState, pad_sample
from .replay import EventFile, ReplayClock

EV_SYN, EV_KEY, EV_ABS = 0, 1, 3
ABS_X, ABS_Y, ABS_Z, ABS_RX, ABS_RY, ABS_RZ, ABS_HAT0X, ABS_HAT0Y = 0, 1, 2, 3, 4, 5, 16, 17
BTN_SOUTH, BTN_EAST, BTN_NORTH, BTN_WEST = 0x130, 0x131, 0x133, 0x134
BTN_TL, BTN_TR, BTN_SELECT, BTN_START = 0x136, 0x137, 0x13A, 0x13B

STICKS = {ABS_X: "lx", ABS_Y: "ly", ABS_RX: "rx", ABS_RY: "ry"}
BUTTONS = {
    BTN_SOUTH: "a", BTN_EAST: "b", BTN_NORTH: "x", BTN_WEST: "y",
    BTN_TL: "lb", BTN_TR: "rb", BTN_SELECT: "back", BTN_START: "start",
}  # fmt: skip
"""The gamepad ABI's names (an Xbox pad through xpad: A south, B east, X north, Y west)."""


class EvdevSource(Protocol):
    """Where an evdev gamepad's events come from."""

    name: str

    def read(self, now_s: float) -> list[tuple[int, int, int]]:
        """The ``(type, code, value)`` events since the last read; raises OSError when gone."""
        ...

    def absinfo(self) -> dict[int, tuple[int, int, int]]:
        """Absolute axis code -> (min, max, flat)."""
        ...

    def close(self) -> None: ...


class LiveEvdev:
    """An evdev device file, read without blocking (python-evdev)."""

    def __init__(self, path: str) -> None:
        try:
            import evdev
        except ImportError as exc:
            raise ImportError("the evdev gamepad needs python-evdev: pip install 'sim2real[teleop]'") from exc
        self.dev = evdev.InputDevice(path)
        self.name = path

    def read(self, now_s: float) -> list[tuple[int, int, int]]:
        try:
            return [(e.type, e.code, e.value) for e in self.dev.read()]
        except BlockingIOError:
            return []

    def absinfo(self) -> dict[int, tuple[int, int, int]]:
        caps = self.dev.capabilities(absinfo=True).get(EV_ABS, [])
        return {code: (info.min, info.max, info.flat) for code, info in caps}

    def close(self) -> None:
        self.dev.close()


class ReplayEvdev:
    """Events from a recorded ``evdev`` event file (header ``absinfo``: code -> [min, max, flat])."""

    def __init__(self, path: Any) -> None:
        f = EventFile(path, "evdev")
        self.name = str(f.header.get("name", f.path))
        self.clock = ReplayClock(f.events, self.name)
        self._absinfo = {int(k): tuple(v) for k, v in f.header.get("absinfo", {}).items()}

    def read(self, now_s: float) -> list[tuple[int, int, int]]:
        return [(int(e["type"]), int(e["code"]), int(e["value"])) for e in self.clock.due(now_s)]

    def absinfo(self) -> dict[int, tuple[int, int, int]]:
        return dict(self._absinfo)  # type: ignore[arg-type]

    def close(self) -> None:
        pass


def normalise(value: int, lo: int, hi: int, flat: int) -> float:
    """A raw absolute value -> [-1, 1] (0 at the range's centre, 0 inside the ``flat`` zone)."""
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    if half <= 0:
        return 0.0
    d = value - centre
    if abs(d) <= flat:
        return 0.0
    return max(-1.0, min(1.0, d / half))


class EvdevGamepad:
    """A Linux evdev gamepad as an :class:`~sim2real_runtime.teleop.device.InputDevice`.

    Args:
        source: a :class:`LiveEvdev` (``EvdevGamepad.open("/dev/input/event5")``) or a
            :class:`ReplayEvdev`.
    """

    def __init__(self, source: EvdevSource) -> None:
        self.source = source
        self.name = source.name
        self.absinfo = source.absinfo()
        self.state = PadState()
        self.lost: DeviceLost | None = None

    @classmethod
    def open(cls, path: str) -> EvdevGamepad:
        """The live device at ``path`` (``/dev/input/event*``; ``/dev/input/by-id/*-event-joystick``)."""
        return cls(LiveEvdev(path))

    def poll(self, now_s: float) -> DeviceSample:
        if self.lost is not None:
            raise self.lost
        try:
            events = self.source.read(now_s)
        except OSError as exc:
            self.lost = DeviceLost(self.name, f"lost ({os.strerror(exc.errno or errno.ENODEV)})")
            raise self.lost from exc
        for ev_type, code, value in events:
            if ev_type == EV_ABS:
                self._abs(code, value)
            elif ev_type == EV_KEY and code in BUTTONS and value in (0, 1):
                self.state.button(BUTTONS[code], value == 1)
        return pad_sample(self.state, now_s, self.name)

    def _abs(self, code: int, value: int) -> None:
        if code in STICKS:
            lo, hi, flat = self.absinfo.get(code, (-32768, 32767, 0))
            self.state.sticks[STICKS[code]] = normalise(value, lo, hi, flat)
        elif code == ABS_HAT0X:
            self.state.hat = (max(-1, min(1, value)), self.state.hat[1])
        elif code == ABS_HAT0Y:  # the kernel's hat: -1 is up
            self.state.hat = (self.state.hat[0], -max(-1, min(1, value)))

    def close(self) -> None:
        # an unplugged device's file may fail to close; it is gone either way
        with contextlib.suppress(OSError):
            self.source.close()
