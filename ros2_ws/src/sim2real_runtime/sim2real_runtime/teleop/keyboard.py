"""A keyboard in a terminal (no display needed: works over ssh), with teleop_twist_keyboard's keys.

The terminal is put in cbreak mode (keys arrive one by one, unechoed; Ctrl-C still interrupts) and
read without blocking. Keys (teleop_twist_keyboard's layout, plus the arm's rotations)::

    u i o      forward-left / forward / forward-right (x with yaw)
    j k l      turn left / stop / turn right           (k or space: all axes to zero)
    m , .      backward-right / backward / backward-left
    U I O J L M < >   (shift) the same, holonomic: strafe (y) instead of turning
    t / b      up / down (z)
    a / d      roll + / -          r / f   pitch + / -
    g          gripper: toggle closed / open
    Tab        dead-man: toggle (the keyboard has no "held")
    Enter      episode start       right arrow: episode end
    left arrow discard the episode  +: mark success

A terminal reports key presses, not releases: a motion key holds its axes for ``hold_s`` after the
last press (key auto-repeat, about 30 Hz after a 0.25-0.5 s delay, keeps a held key alive), then
they return to zero, as teleop_twist_keyboard's ``key_timeout`` does.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
from typing import Any, Protocol

import numpy as np

from .device import DeviceLost, DeviceSample
from .replay import EventFile, ReplayClock

# key -> (x, y, z, yaw), teleop_twist_keyboard's moveBindings
MOVE = {
    "i": (1, 0, 0, 0), "o": (1, 0, 0, -1), "j": (0, 0, 0, 1), "l": (0, 0, 0, -1),
    "u": (1, 0, 0, 1), ",": (-1, 0, 0, 0), ".": (-1, 0, 0, 1), "m": (-1, 0, 0, -1),
    "O": (1, -1, 0, 0), "I": (1, 0, 0, 0), "J": (0, 1, 0, 0), "L": (0, -1, 0, 0),
    "U": (1, 1, 0, 0), "<": (-1, 0, 0, 0), ">": (-1, -1, 0, 0), "M": (-1, 1, 0, 0),
    "t": (0, 0, 1, 0), "b": (0, 0, -1, 0),
}  # fmt: skip
ROTATE = {"a": (1, 0), "d": (-1, 0), "r": (0, 1), "f": (0, -1)}
"""key -> (roll, pitch)."""
STOP = {"k", " "}
ESCAPES = {"\x1b[C": "episode_end", "\x1b[D": "discard"}
"""Arrow keys (ANSI escape sequences) -> momentary buttons."""
MOMENTARY = {"\r": "episode_start", "\n": "episode_start", "+": "success"}


class ByteSource(Protocol):
    """Where the keyboard's bytes come from."""

    def read(self, now_s: float) -> bytes:
        """The bytes typed since the last read (b"" for none); raises OSError or EOFError when
        the terminal is gone."""
        ...

    def close(self) -> None: ...


class TtySource:
    """A terminal in cbreak mode (restored by :meth:`close`), read without blocking."""

    def __init__(self, stream: Any = None) -> None:
        import termios
        import tty

        self.stream = stream if stream is not None else sys.stdin
        self._saved = None
        try:
            self.fd = self.stream.fileno()
            ok = os.isatty(self.fd)
        except (AttributeError, ValueError, OSError):
            ok = False
        if not ok:  # ros2 launch, a service, a pipe
            raise DeviceLost(
                "keyboard",
                "the node's standard input is not a terminal (run the node in a terminal of its own, "
                "or use teleop:=twist with teleop_twist_keyboard)",
            )
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)

    def read(self, now_s: float) -> bytes:
        out = b""
        while select.select([self.fd], [], [], 0.0)[0]:
            chunk = os.read(self.fd, 64)
            if not chunk:
                raise EOFError("the terminal closed")
            out += chunk
        return out

    def close(self) -> None:
        import termios

        if self._saved is not None:
            saved, self._saved = self._saved, None
            with contextlib.suppress(termios.error, OSError):  # the terminal may be gone already
                termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)


class ReplayBytes:
    """Bytes from a recorded ``keyboard`` event file (``text`` lines, latin-1)."""

    def __init__(self, path: Any) -> None:
        f = EventFile(path, "keyboard")
        self.clock = ReplayClock(f.events, str(f.path))

    def read(self, now_s: float) -> bytes:
        return b"".join(str(ev["text"]).encode("latin-1") for ev in self.clock.due(now_s))

    def close(self) -> None:
        pass


class KeyboardDevice:
    """A terminal keyboard as an :class:`~sim2real_runtime.teleop.device.InputDevice`.

    Args:
        source: the bytes (:class:`TtySource` on stdin by default; :class:`ReplayBytes` in tests).
        hold_s: how long a motion key holds its axes after its last press (s).
        name: for messages.
    """

    def __init__(self, source: ByteSource | None = None, hold_s: float = 0.6, name: str = "keyboard") -> None:
        self.source = source if source is not None else TtySource()
        self.name = name
        self.hold_s = hold_s
        self.axes = np.zeros(6)
        self.pressed_s: float | None = None  # last motion key press
        self.deadman = False
        self.gripper = False
        self.lost: DeviceLost | None = None
        self._pending = ""  # an escape sequence split across reads

    def poll(self, now_s: float) -> DeviceSample:
        if self.lost is not None:
            raise self.lost
        try:
            data = self.source.read(now_s)
        except (OSError, EOFError) as exc:
            why = os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else str(exc)
            self.lost = DeviceLost(self.name, f"lost ({why})")
            raise self.lost from exc
        momentary: set[str] = set()
        text = self._pending + data.decode("latin-1")
        self._pending = ""
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                seq = text[i : i + 3]
                if len(seq) < 3:
                    self._pending = seq
                    break
                if seq in ESCAPES:
                    momentary.add(ESCAPES[seq])
                i += 3
                continue
            self._key(ch, now_s, momentary)
            i += 1
        if self.pressed_s is not None and now_s - self.pressed_s > self.hold_s:
            self.axes = np.zeros(6)
            self.pressed_s = None
        buttons = {"deadman": self.deadman, "gripper": self.gripper} | {b: True for b in momentary}
        return DeviceSample(self.axes.copy(), buttons, now_s, self.name)

    def _key(self, ch: str, now_s: float, momentary: set[str]) -> None:
        if ch in MOVE:
            x, y, z, yaw = MOVE[ch]
            self.axes = np.array([x, y, z, 0.0, 0.0, yaw], dtype=np.float64)
            self.pressed_s = now_s
        elif ch in ROTATE:
            roll, pitch = ROTATE[ch]
            self.axes = np.array([0.0, 0.0, 0.0, roll, pitch, 0.0])
            self.pressed_s = now_s
        elif ch in STOP:
            self.axes = np.zeros(6)
            self.pressed_s = None
        elif ch == "g":
            self.gripper = not self.gripper
        elif ch == "\t":
            self.deadman = not self.deadman
        elif ch in MOMENTARY:
            momentary.add(MOMENTARY[ch])

    def close(self) -> None:
        self.source.close()
