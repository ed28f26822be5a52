"""Teleop commands and sources: what a human (or a scripted stand-in) asks the robot to do.

Two stages turn an operator's hand into a robot command:

1. A :class:`TeleopSource` gives, once per control step, a :class:`TeleopCommand`: whether the
   operator wants control (``engaged``) and a 6-D ``twist`` in the domain's physical units (a body
   twist for a base, a tool-centre-point twist for an arm, a reference velocity for a quadrotor),
   or directly an ``action`` in the policy's action space. :class:`DeviceTeleop` makes a source out
   of any :class:`~sim2real_runtime.teleop.device.InputDevice`; the scripted teleoperators of the
   training package (arm expert with noise and reaction delay, nav operator) are sources too.
2. The domain's :class:`TeleopMapping` (registered as ``Domain.teleop``) maps the twist into the
   policy's action space (:meth:`TeleopMapping.to_action`), so a demonstration is recorded in the
   terms the policy acts in, and the node executes it through the same action terms and safety
   layer as a policy action.

No ROS here; the node side (takeover arbitration) is :mod:`sim2real_ros.teleop_arbiter`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from .device import BUTTONS, InputDevice, deadband


@dataclass(frozen=True)
class TeleopCommand:
    """What a teleop source asks for in one control step.

    Attributes:
        engaged: the operator wants control now (dead-man held, or an input above the takeover
            threshold, or a scripted operator intervening). False hands control to the policy.
        twist: float64 [6] (vx, vy, vz, wx, wy, wz) in the domain's teleop frame and units
            (:attr:`TeleopMapping.frame`): nav a body twist (m/s, rad/s; only vx and wz are used),
            manip the tool-centre-point twist in the arm's base frame (m/s, rad/s), quad the
            reference velocity in world ENU (m/s; the angular part is ignored). Finite (checked).
        gripper_closed: manip: the gripper the operator wants (True closed, False open); None keeps
            the last one. Ignored elsewhere.
        gripper_toggle: manip: the operator pressed the gripper button in this step: the gripper
            flips from what it was last commanded (by the policy or the operator). A device's
            toggle button gives this rather than ``gripper_closed``, so taking over from a policy
            that holds an object never opens the gripper by itself.
        action: float32 [A] in [-1, 1]: the command already in the policy's action space (a scripted
            operator that acts like the policy); when given, ``twist`` is not mapped. None: map
            ``twist`` with the domain's mapping.
        buttons: momentary episode buttons pressed in this step (``episode_start``, ``episode_end``,
            ``discard``, ``success``), passed on to a recorder.
        stamp_s: when the source last heard from the operator (s, the caller's clock): a node under
            human control holds when ``now - stamp_s`` exceeds its teleop timeout.
    """

    engaged: bool
    twist: np.ndarray = field(default_factory=lambda: np.zeros(6))
    gripper_closed: bool | None = None
    gripper_toggle: bool = False
    action: np.ndarray | None = None
    buttons: frozenset[str] = frozenset()
    stamp_s: float = 0.0

    def __post_init__(self) -> None:
        tw = np.asarray(self.twist, dtype=np.float64).reshape(-1)
        if tw.shape != (6,) or not np.all(np.isfinite(tw)):
            raise ValueError(f"a teleop twist is 6 finite numbers, got {self.twist!r}")
        object.__setattr__(self, "twist", tw)
        if self.action is not None:
            a = np.asarray(self.action, dtype=np.float32).reshape(-1)
            if not np.all(np.isfinite(a)):
                raise ValueError(f"a teleop action must be finite, got {self.action!r}")
            object.__setattr__(self, "action", np.clip(a, -1.0, 1.0))
        unknown = sorted(set(self.buttons) - set(BUTTONS))
        if unknown:
            raise ValueError(f"unknown button name(s) {unknown}; known: {', '.join(BUTTONS)}")
        if not math.isfinite(self.stamp_s):
            raise ValueError(f"stamp_s must be finite, got {self.stamp_s}")


@runtime_checkable
class TeleopSource(Protocol):
    """Anything that can take over from the policy: a device (through :class:`DeviceTeleop`) or a
    scripted teleoperator.

    Attributes:
        name: for messages (the device path or topic, ``scripted arm expert``...).
    """

    name: str

    def command(self, now_s: float, signals: Mapping[str, np.ndarray]) -> TeleopCommand | None:
        """The operator's command for this control step.

        Args:
            now_s: the node's steady clock (s).
            signals: the domain controller's signals at this step (single-row arrays, read-only),
                what a scripted operator steers by: nav ``scan_ranges`` [1, beams] (m), ``pose``
                [1, 3] (x, y, yaw), ``twist`` [1, 2], ``goal_xy`` [1, 2]; manip ``joint_pos``,
                ``joint_vel`` [1, n], ``gripper_width`` [1, 1], ``object_pos`` [1, 3],
                ``object_quat`` [1, 4] (w, x, y, z), ``target_pos`` [1, 3], ``target_yaw`` [1, 1];
                quad ``position``, ``velocity`` [1, 3], ``quat_wxyz`` [1, 4], ``ref_position`` [1, 3].
                Empty when the node has no valid inputs yet.

        Returns:
            The command, or None when the source has nothing yet (a device not heard from).

        Raises:
            DeviceLost: the device disappeared.
            BadDeviceInput: its latest input cannot be used.
        """
        ...

    def close(self) -> None:
        """Release the device. Idempotent."""
        ...


@dataclass(frozen=True)
class TeleopConfig:
    """How device axes become a teleop command (node parameters ``teleop_*`` carry these)."""

    linear_scale_mps: float = 0.0
    """Linear speed at full deflection (m/s); 0: the domain's default (nav: the policy's speed
    limit; manip: 0.1 m/s of the tool; quad: 0.5 m/s of the reference)."""
    angular_scale_radps: float = 0.0
    """Angular speed at full deflection (rad/s); 0: the domain's default (nav: the policy's turn
    rate limit; manip: 0.5 rad/s of the tool)."""
    deadband: float = 0.05
    """|axis| below this reads 0 (1, fraction of full deflection)."""
    takeover_threshold: float = 0.2
    """An axis deflected beyond this takes over from the policy without the dead-man (1); 1 or
    more: only the dead-man button takes over."""
    release_s: float = 0.5
    """A takeover by deflection lasts this long after the last deflection beyond the threshold
    (s), so a stick passing through the centre does not flip control back and forth."""

    def __post_init__(self) -> None:
        for name in (
            "linear_scale_mps",
            "angular_scale_radps",
            "deadband",
            "takeover_threshold",
            "release_s",
        ):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"teleop config {name} must be finite and >= 0, got {v}")
        if self.deadband >= 1:
            raise ValueError(f"teleop config deadband must be < 1, got {self.deadband}")


@runtime_checkable
class TeleopMapping(Protocol):
    """A domain's teleop command -> its policy's action space (``Domain.teleop`` builds one from the
    running controller and a :class:`TeleopConfig`).

    Attributes:
        frame: what the twist means, for messages and docs (``base_link body twist``...).
        twist_scale: float64 [6], the twist at full deflection of each device axis (units of the
            twist); a device axis ``i`` gives ``axes[i] * twist_scale[i]``.
    """

    frame: str
    twist_scale: np.ndarray

    def to_action(self, cmd: TeleopCommand, signals: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """``cmd`` in the policy's action space: float32 [A] in [-1, 1] (``cmd.action`` when given),
        or None where the domain's teleop command does not replace the action (quad: the operator
        nudges the reference and the policy keeps flying). ``signals`` as for
        :meth:`TeleopSource.command` (manip reads ``joint_pos`` for the Jacobian)."""
        ...


class DeviceTeleop:
    """A :class:`TeleopSource` made of an input device and a domain's twist scale.

    Each call polls the device: axes pass a deadband and are scaled to the domain's twist
    (``axes * twist_scale``); ``engaged`` is the dead-man button, or any axis beyond
    ``takeover_threshold``, held ``release_s`` after the last such deflection (letting go of the
    dead-man with the axes inside the threshold hands back at once); a change of the
    device's gripper state gives ``gripper_toggle``; episode buttons are passed on.

    Args:
        device: the input device (closed by :meth:`close`).
        twist_scale: float64 [6], :attr:`TeleopMapping.twist_scale`.
        config: deadband, threshold, release time.
    """

    EPISODE_BUTTONS = ("episode_start", "episode_end", "discard", "success")

    def __init__(self, device: InputDevice, twist_scale: np.ndarray, config: TeleopConfig) -> None:
        self.device = device
        self.name = device.name
        self.scale = np.asarray(twist_scale, dtype=np.float64).reshape(6)
        self.cfg = config
        self._deflected_s: float | None = None  # last time an axis was beyond the threshold
        self._gripper: bool | None = None  # the device's gripper state at the last poll
        self._deadman = False  # the dead-man at the last poll

    def command(self, now_s: float, signals: Mapping[str, np.ndarray]) -> TeleopCommand | None:
        sample = self.device.poll(now_s)
        if sample is None:
            return None
        axes = deadband(sample.axes, self.cfg.deadband)
        deadman = sample.pressed("deadman")
        if self._deadman and not deadman:
            self._deflected_s = None  # letting go of the dead-man hands back at once
        self._deadman = deadman
        if float(np.max(np.abs(axes))) > self.cfg.takeover_threshold:
            self._deflected_s = now_s
        deflected = self._deflected_s is not None and now_s - self._deflected_s <= self.cfg.release_s
        gripper = sample.buttons.get("gripper")
        # every device's toggle starts open: a first "closed" is a press
        toggled = gripper is not None and bool(gripper) != bool(self._gripper)
        self._gripper = gripper
        return TeleopCommand(
            engaged=deadman or deflected,
            twist=axes * self.scale,
            gripper_toggle=toggled,
            buttons=frozenset(b for b in self.EPISODE_BUTTONS if sample.pressed(b)),
            stamp_s=sample.stamp_s,
        )

    def close(self) -> None:
        self.device.close()
