"""The hold mode every joint-position-target node shares (the arm, the dexterous hand).

A position-controlled robot holds where it was last told to, so when an input goes stale or bad
(or the e-stop engages) these nodes send the last safe target again rather than a zero command,
and on (re)engagement the controller restarts from that target, not from the measurement: the
robot may lag its target by up to ``max_lead_rad``, and a restart from the measurement would jump.
"""

from __future__ import annotations

import numpy as np

from .policy_node import PolicyNode


class JointTargetNode(PolicyNode):
    """:class:`PolicyNode` with the hold mode of a joint-position-target domain.

    A subclass implements :meth:`_why_not` (why the policy must not drive now), :meth:`_policy_step`
    (one policy step, sent) and :meth:`_send_hold` (send a joint target, rad [num_joints] in
    contract order, as a hold), and sets ``engaged``, ``ever_engaged`` and ``last_target`` to
    False, False and None in :meth:`setup_io`.

    States on ``state_topic``: ``waiting: <why>`` before control ever started, ``running``,
    ``holding: <why>`` afterwards, ``stopped: estop``.
    """

    ALARM_PREFIXES = ("holding", "stopped", "error")
    ESTOP_ACTION = ": holding until released"

    engaged: bool
    """The policy is in control (its previous action resets on (re)engagement)."""
    ever_engaged: bool
    last_target: np.ndarray | None
    """The last joint targets sent (rad, contract order), None before any."""
    q: np.ndarray | None
    """The latest valid measured joint positions (rad, contract order), None before any."""

    def _why_not(self, now_mono: float) -> str | None:
        """Why the policy must not drive now (None: it may); ``now_mono`` on the steady clock (s)."""
        raise NotImplementedError

    def _policy_step(self) -> None:
        """Run the policy once and send its target (holding on a failed step)."""
        raise NotImplementedError

    def _send_hold(self, target: np.ndarray) -> None:
        """Send ``target`` (rad [num_joints], contract order) as a hold command."""
        raise NotImplementedError

    def on_tick(self) -> None:
        """The loop (steady clock, ``loop_rate_hz``): hold with the reason, or engage and step."""
        if self.fault or self.controller is None:
            self._set_state("error: " + (self.fault or "not loaded"))
            return
        due = self.scheduler.due(self.t.now_s())
        why = "estop" if self.estop else self._why_not(self.t.monotonic_s())
        if why is not None:
            self.engaged = False
            if self.estop:
                state = "stopped: estop"
            else:
                state = ("holding: " if self.ever_engaged else "waiting: ") + why
            changed = state != self.state
            self._set_state(state)
            if due or changed:
                self._hold()
            return
        if not self.engaged:
            # (Re)engage from the last target sent (the measured position before any).
            self.engaged = self.ever_engaged = True
            self.controller.reset(self.last_target)
            due = True
            self.scheduler.restart(self.t.now_s())
        self._set_state("running")
        if due:
            self._policy_step()

    def _hold(self) -> None:
        """Send the last safe target again (the measured position before any). Nothing is sent
        while neither exists."""
        assert self.controller is not None
        target = self.last_target if self.last_target is not None else self.controller.hold(self.q)
        if target is not None:
            self._send_hold(target)
