"""A gamepad through SDL (pygame's joystick API): Linux, macOS and Windows.

Raw events are pygame events: ``JOYAXISMOTION`` (``axis``, ``value`` in [-1, 1]),
``JOYBUTTONDOWN`` / ``JOYBUTTONUP`` (``button``), ``JOYHATMOTION`` (``hat``, ``value`` (x, y), up
positive) and ``JOYDEVICEREMOVED`` (``instance_id``), which raises
:class:`~sim2real_runtime.teleop.device.DeviceLost`. The SDL event codes are SDL2's
(SDL_events.h), so parsing needs no library; pygame (``pip install pygame``) is imported only to
open a live pad. The axis and button numbers are SDL's for an Xbox-style pad on Linux (axes: 0 LX,
1 LY, 2 LT, 3 RX, 4 RY, 5 RT; buttons: 0 A, 1 B, 2 X, 3 Y, 4 LB, 5 RB, 6 BACK, 7 START); other
pads take their own ``axes`` / ``buttons`` maps.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, Protocol

from .device import DeviceLost, DeviceSample
from .gamepad import PadState, pad_sample
from .replay import EventFile, ReplayClock

JOYAXISMOTION, JOYHATMOTION, JOYBUTTONDOWN, JOYBUTTONUP, JOYDEVICEREMOVED = 0x600, 0x602, 0x603, 0x604, 0x606
EVENT_TYPES = {
    "JOYAXISMOTION": JOYAXISMOTION,
    "JOYHATMOTION": JOYHATMOTION,
    "JOYBUTTONDOWN": JOYBUTTONDOWN,
    "JOYBUTTONUP": JOYBUTTONUP,
    "JOYDEVICEREMOVED": JOYDEVICEREMOVED,
}
XBOX_AXES = {0: "lx", 1: "ly", 3: "rx", 4: "ry"}
XBOX_BUTTONS = {0: "a", 1: "b", 2: "x", 3: "y", 4: "lb", 5: "rb", 6: "back", 7: "start"}


class SdlSource(Protocol):
    """Where an SDL pad's events come from."""

    name: str
    instance_id: int

    def events(self, now_s: float) -> list[Any]:
        """Joystick events (objects with ``type`` and the event's attributes) since the last call."""
        ...

    def close(self) -> None: ...


class LivePygame:
    """The ``index``-th joystick through pygame (initialises pygame's joystick module, no window)."""

    def __init__(self, index: int = 0) -> None:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no display needed
        try:
            import pygame
        except ImportError as exc:
            raise ImportError("the SDL gamepad needs pygame: pip install 'sim2real[teleop]'") from exc
        self.pg = pygame
        try:
            pygame.init()
            pygame.joystick.init()
            if pygame.joystick.get_count() <= index:
                raise DeviceLost(
                    f"SDL joystick {index}", f"not found ({pygame.joystick.get_count()} connected)"
                )
            self.joy = pygame.joystick.Joystick(index)
        except pygame.error as exc:
            raise DeviceLost(f"SDL joystick {index}", f"SDL: {exc}") from exc
        self.instance_id = self.joy.get_instance_id()
        self.name = f"SDL joystick {index} ({self.joy.get_name()})"

    def events(self, now_s: float) -> list[Any]:
        return self.pg.event.get(list(EVENT_TYPES.values()))

    def close(self) -> None:
        self.joy.quit()


class ReplaySdl:
    """pygame-style events from a recorded ``sdl`` event file (``type`` by name)."""

    def __init__(self, path: Any) -> None:
        f = EventFile(path, "sdl")
        self.name = str(f.header.get("name", f.path))
        self.instance_id = int(f.header.get("instance_id", 0))
        self.clock = ReplayClock(f.events, self.name)

    def events(self, now_s: float) -> list[Any]:
        out = []
        for ev in self.clock.due(now_s):
            attrs = {k: v for k, v in ev.items() if k not in ("t", "type", "_line")}
            if "value" in attrs and isinstance(attrs["value"], list):
                attrs["value"] = tuple(attrs["value"])
            attrs.setdefault("instance_id", self.instance_id)
            out.append(SimpleNamespace(type=EVENT_TYPES[ev["type"]], **attrs))
        return out

    def close(self) -> None:
        pass


class SdlGamepad:
    """An SDL gamepad as an :class:`~sim2real_runtime.teleop.device.InputDevice`.

    Args:
        source: :class:`LivePygame` (``SdlGamepad.open(0)``) or :class:`ReplaySdl`.
        axes: SDL axis index -> ``lx``, ``ly``, ``rx``, ``ry``. buttons: SDL button -> pad button name.
    """

    def __init__(
        self,
        source: SdlSource,
        axes: Mapping[int, str] = XBOX_AXES,
        buttons: Mapping[int, str] = XBOX_BUTTONS,
    ) -> None:
        self.source = source
        self.name = source.name
        self.axes, self.buttons = dict(axes), dict(buttons)
        self.state = PadState()
        self.lost: DeviceLost | None = None

    @classmethod
    def open(cls, index: int = 0) -> SdlGamepad:
        return cls(LivePygame(index))

    def poll(self, now_s: float) -> DeviceSample:
        if self.lost is not None:
            raise self.lost
        try:
            events = self.source.events(now_s)
        except OSError as exc:  # a replayed file's "lost" line; SDL itself sends JOYDEVICEREMOVED
            self.lost = DeviceLost(self.name, f"lost ({exc.strerror})")
            raise self.lost from exc
        for ev in events:
            if getattr(ev, "instance_id", self.source.instance_id) != self.source.instance_id:
                continue  # another pad
            if ev.type == JOYDEVICEREMOVED:
                self.lost = DeviceLost(self.name, "lost (SDL: joystick removed)")
                raise self.lost
            if ev.type == JOYAXISMOTION and ev.axis in self.axes:
                self.state.sticks[self.axes[ev.axis]] = max(-1.0, min(1.0, float(ev.value)))
            elif ev.type in (JOYBUTTONDOWN, JOYBUTTONUP) and ev.button in self.buttons:
                self.state.button(self.buttons[ev.button], ev.type == JOYBUTTONDOWN)
            elif ev.type == JOYHATMOTION and ev.hat == 0:
                x, y = ev.value
                self.state.hat = (int(x), int(y))
        return pad_sample(self.state, now_s, self.name)

    def close(self) -> None:
        self.source.close()
