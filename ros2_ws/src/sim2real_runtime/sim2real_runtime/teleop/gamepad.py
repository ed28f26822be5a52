"""What a gamepad's sticks and buttons mean, shared by the evdev and the SDL gamepad.

Both turn their raw events into the same :class:`PadState` (sticks in [-1, 1] with the raw signs:
right and down positive; a hat with up positive), and :func:`pad_sample` maps it to the operator's
six axes the way teleop_twist_joy's defaults do for an Xbox-style pad:

- left stick: up/down -> x (forward), left/right -> yaw (left positive);
- right stick: left/right -> y (left positive), up/down -> z (up positive);
- D-pad: left/right -> roll (right positive), up/down -> pitch (up positive);
- LB held: dead-man (teleop_twist_joy's ``enable_button``); RB: gripper toggle (closed / open);
- START: episode start, A: episode end, B: discard, Y: success.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .device import DeviceSample

PAD_BUTTONS = ("a", "b", "x", "y", "lb", "rb", "back", "start")
MOMENTARY = {"start": "episode_start", "a": "episode_end", "b": "discard", "y": "success"}


@dataclass
class PadState:
    """A gamepad's current state, as the raw events left it.

    Attributes:
        sticks: ``lx``, ``ly``, ``rx``, ``ry`` in [-1, 1] (right, down positive: the raw signs).
        hat: (x, y) in {-1, 0, 1} (right, up positive).
        held: buttons held now (names of :data:`PAD_BUTTONS`).
        presses: buttons pressed since the last sample (momentary buttons fire once).
        gripper_closed: the gripper toggle.
    """

    sticks: dict[str, float] = field(default_factory=lambda: dict.fromkeys(("lx", "ly", "rx", "ry"), 0.0))
    hat: tuple[int, int] = (0, 0)
    held: set[str] = field(default_factory=set)
    presses: set[str] = field(default_factory=set)
    gripper_closed: bool = False

    def button(self, name: str, down: bool) -> None:
        """A button went down or up."""
        if down:
            if name not in self.held:
                self.presses.add(name)
                if name == "rb":
                    self.gripper_closed = not self.gripper_closed
            self.held.add(name)
        else:
            self.held.discard(name)


def pad_sample(state: PadState, now_s: float, device: str) -> DeviceSample:
    """The operator's sample from a pad's state; clears the state's presses."""
    s = state.sticks
    axes = np.array([-s["ly"], -s["rx"], -s["ry"], state.hat[0], state.hat[1], -s["lx"]], dtype=np.float64)
    buttons = {"deadman": "lb" in state.held, "gripper": state.gripper_closed}
    buttons |= {MOMENTARY[b]: True for b in state.presses if b in MOMENTARY}
    state.presses.clear()
    return DeviceSample(axes, buttons, now_s, device)
