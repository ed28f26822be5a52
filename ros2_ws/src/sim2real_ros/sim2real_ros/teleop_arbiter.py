"""Who commands the robot at each control step: the policy, the human, or a hold.

:class:`TeleopArbiter` sits in the one :class:`~sim2real_ros.policy_node.PolicyNode` lifecycle
beside the policy. At every control step it asks its :class:`~sim2real_runtime.teleop.TeleopSource`
(a device, or a scripted teleoperator) for a command and decides:

- ``human``: the source is engaged (dead-man held, or an input above the takeover threshold, or a
  scripted operator intervening): its command, mapped into the policy's action space by the
  domain's :class:`~sim2real_runtime.teleop.TeleopMapping`, replaces the policy's action at once,
  and the node executes it through the same action terms and safety layer;
- ``policy``: the source is not engaged (releasing hands back at once);
- ``hold``: the human was in control and the source went silent for longer than ``timeout_s``,
  disappeared (:class:`~sim2real_runtime.teleop.DeviceLost`), sent an unusable input
  (:class:`~sim2real_runtime.teleop.BadDeviceInput`) or raised anything else: the node sends the
  domain's hold or stop command. It stays in hold until the source speaks again: engaged (human)
  or released (policy).
  A source that is lost or silent while the policy drives changes nothing but a logged warning:
  the policy keeps driving (the e-stop, not the teleop device, is the safety stop).

No ROS here either: the node publishes :attr:`TeleopArbiter.intervention`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim2real_runtime.teleop import BadDeviceInput, DeviceLost, TeleopCommand, TeleopMapping, TeleopSource

POLICY, HUMAN, HOLD = "policy", "human", "hold"


@dataclass(frozen=True)
class Decision:
    """The arbiter's decision for one control step.

    Attributes:
        source: ``policy``, ``human`` or ``hold``.
        command: the human's command (``human``), else None.
        action: float32 [A], the human's command in the policy's action space (``human`` on a
            domain whose mapping gives one), else None (quad: the command nudges the reference).
        why: why (``hold``: what happened to the source; ``human``: ``dead-man`` / ``deflection``).
        buttons: momentary episode buttons pressed in this step (for a recorder).
    """

    source: str
    command: TeleopCommand | None = None
    action: np.ndarray | None = None
    why: str = ""
    buttons: frozenset[str] = frozenset()

    @property
    def intervention(self) -> bool:
        """Whether this step is not the policy's (the human's, or a hold the human's device caused)."""
        return self.source != POLICY


class TeleopArbiter:
    """Takeover and release between the policy and a teleop source.

    Args:
        source: the teleop source (closed by :meth:`close`).
        mapping: the domain's teleop mapping (``Domain.teleop(controller, config)``).
        timeout_s: a source silent this long while the human is in control gives a hold (s, on
            the clock passed to :meth:`decide`).
        log: a logger (``info`` / ``warning`` / ``error``), or None.
    """

    def __init__(
        self, source: TeleopSource, mapping: TeleopMapping, timeout_s: float, log: Any = None
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"teleop timeout_s must be > 0, got {timeout_s}")
        self.source = source
        self.mapping = mapping
        self.timeout_s = float(timeout_s)
        self.log = log
        self.last = Decision(POLICY)
        self.lost: DeviceLost | None = None

    @property
    def intervention(self) -> bool:
        """Whether the last decision was not the policy's."""
        return self.last.intervention

    def decide(self, now_s: float, signals: Mapping[str, np.ndarray]) -> Decision:
        """The decision for the control step at ``now_s`` (s, the node's steady clock), given the
        domain controller's ``signals`` (see :meth:`TeleopSource.command`)."""
        d = self._decide(now_s, signals)
        if d.source != self.last.source:
            self._say(d)
        self.last = d
        return d

    def _decide(self, now_s: float, signals: Mapping[str, np.ndarray]) -> Decision:
        in_control = self.last.source != POLICY
        try:
            cmd = self.source.command(now_s, signals)
        except DeviceLost as exc:
            if self.lost is None:
                self.lost = exc
                if self.log is not None:
                    self.log.error(f"{exc}{'; holding' if in_control else '; the policy keeps driving'}")
            return Decision(HOLD, why=str(exc)) if in_control else Decision(POLICY, why=str(exc))
        except BadDeviceInput as exc:
            if self.log is not None:
                self.log.error(f"{exc}{'; holding' if in_control else ''}")
            return Decision(HOLD, why=str(exc)) if in_control else Decision(POLICY, why=str(exc))
        except Exception as exc:  # a device library or a scripted source failing: as a bad input
            why = f"teleop {self.source.name} raised {type(exc).__name__}: {exc}"
            if self.log is not None:
                self.log.error(f"{why}{'; holding' if in_control else ''}")
            return Decision(HOLD, why=why) if in_control else Decision(POLICY, why=why)
        if cmd is None or now_s - cmd.stamp_s > self.timeout_s:
            if not in_control:
                return Decision(POLICY)
            silent = "no input yet" if cmd is None else f"silent for {now_s - cmd.stamp_s:.2f} s"
            return Decision(HOLD, why=f"teleop {self.source.name} {silent} (timeout {self.timeout_s:g} s)")
        if not cmd.engaged:
            return Decision(POLICY, buttons=cmd.buttons)
        try:
            action = self.mapping.to_action(cmd, signals)
        except (KeyError, ValueError, np.linalg.LinAlgError) as exc:  # signals missing or degenerate
            return Decision(HOLD, why=f"teleop command cannot be mapped: {type(exc).__name__}: {exc}")
        return Decision(HUMAN, cmd, action, "engaged", cmd.buttons)

    def _say(self, d: Decision) -> None:
        if self.log is None:
            return
        if d.source == HUMAN:
            self.log.warning(f"teleop: {self.source.name} took over from the policy")
        elif d.source == HOLD:
            self.log.warning(f"teleop: holding ({d.why})")
        else:
            self.log.info(f"teleop: control back to the policy{f' ({d.why})' if d.why else ''}")

    def close(self) -> None:
        self.source.close()
