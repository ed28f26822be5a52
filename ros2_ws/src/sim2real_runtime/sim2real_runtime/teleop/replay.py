"""Recorded device-event files, replayed through the device classes' own parsing code.

A file is JSON lines. The first line is a header::

    {"format": "sim2real-teleop-events", "version": 1, "device": "evdev", ...}

with the device kind (``keyboard``, ``evdev``, ``sdl``, ``hid``, ``joy``, ``twist``) and what that
device needs to know about itself (``absinfo`` for evdev: code -> [min, max, flat]). Every other
line is one raw event at ``t`` seconds after the replay starts, in the device's own terms::

    {"t": 0.10, "type": 3, "code": 1, "value": -32768}      # evdev: EV_ABS ABS_Y
    {"t": 0.10, "type": "JOYAXISMOTION", "axis": 1, "value": -1.0}   # SDL (pygame event)
    {"t": 0.10, "report": "01 5e 01 00 00 00 00"}            # HID report (hex bytes)
    {"t": 0.10, "text": "i"}                                  # terminal bytes (latin-1)
    {"t": 0.10, "axes": [0.0, 1.0], "buttons": [1, 0]}       # sensor_msgs/Joy
    {"t": 0.10, "linear": [0.5, 0, 0], "angular": [0, 0, 1]}  # geometry_msgs/Twist
    {"t": 2.00, "lost": true}                                 # the device disappears here

The replay starts at the first read (its ``now_s`` is ``t = 0``) and hands out every event whose
time has come; after a ``lost`` line every read raises ``OSError(ENODEV)``, as a live device that
was unplugged does.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError

FORMAT = "sim2real-teleop-events"
KINDS = ("keyboard", "evdev", "sdl", "hid", "joy", "twist")


class EventFile:
    """A recorded event file, read strictly (a bad line names the file and line).

    Attributes:
        path: the file. header: its first line. kind: the device kind.
        events: the event lines in time order (each a dict with ``t``).
    """

    def __init__(self, path: str | Path, kind: str | None = None) -> None:
        self.path = Path(path)
        try:
            lines = self.path.read_text().splitlines()
        except OSError as exc:
            raise ConfigError(str(self.path), "<file>", f"cannot read: {exc.strerror}") from exc
        rows: list[dict[str, Any]] = []
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(str(self.path), f"line {i}", f"not JSON: {exc.msg}") from exc
            if not isinstance(row, dict):
                raise ConfigError(str(self.path), f"line {i}", "expected a JSON object")
            rows.append(row | {"_line": i})
        if not rows or rows[0].get("format") != FORMAT:
            raise ConfigError(str(self.path), "line 1", f"expected a header with format {FORMAT!r}")
        self.header = rows[0]
        self.kind = str(self.header.get("device"))
        if self.kind not in KINDS:
            raise ConfigError(str(self.path), "device", f"unknown device kind {self.kind!r}; known: {KINDS}")
        if kind is not None and self.kind != kind:
            raise ConfigError(str(self.path), "device", f"a {self.kind} recording, expected {kind}")
        last = 0.0
        for row in rows[1:]:
            t = row.get("t")
            if not isinstance(t, int | float) or isinstance(t, bool) or not t >= last:
                raise ConfigError(
                    str(self.path), f"line {row['_line']}.t", f"expected a time >= {last}, got {t!r}"
                )
            last = float(t)
        self.events = rows[1:]


class ReplayClock:
    """Hands out a file's events as their time comes (``now_s`` of the first read is ``t = 0``)."""

    def __init__(self, events: list[dict[str, Any]], name: str) -> None:
        self.events = events
        self.name = name
        self.t0: float | None = None
        self.i = 0
        self.lost = False

    def due(self, now_s: float) -> list[dict[str, Any]]:
        """The events due by ``now_s``; raises ``OSError(ENODEV)`` once a ``lost`` line is due."""
        if self.t0 is None:
            self.t0 = now_s
        out = []
        while (
            not self.lost and self.i < len(self.events) and self.events[self.i]["t"] <= now_s - self.t0 + 1e-9
        ):
            ev = self.events[self.i]
            self.i += 1
            if ev.get("lost"):
                self.lost = True
                break
            out.append(ev)
        if self.lost and not out:
            raise OSError(errno.ENODEV, f"No such device (replayed: {self.name} was unplugged)")
        return out

    @property
    def finished(self) -> bool:
        """Every event has been handed out."""
        return self.i >= len(self.events)
