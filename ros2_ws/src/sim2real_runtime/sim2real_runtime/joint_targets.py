"""Joint position targets integrated from a policy's joint deltas: the part of the safety layer
and of the controller that the arm (:mod:`manip_control`) and the hand (:mod:`hand_control`) share.

Whatever the deltas or the measurements, a target stays finite, inside the joint limits (with a
margin), changes by at most ``max_step_rad`` per control step, and (with a lead limit) stays within
``max_lead_rad`` of the measured joints, so a blocked joint does not wind up a target it would
jump to when released.
"""

from __future__ import annotations

import numpy as np

from .controller import PolicyController
from .policy import OnnxPolicy


class JointTargetLimits:
    """Joint limits and the per-step change limit, batched over rows [B, n].

    Args:
        lower, upper: joint limits [n] (rad), already narrowed by any margin.
        max_step_rad: the largest target change per control step [n] (rad).
    """

    def __init__(self, lower: np.ndarray, upper: np.ndarray, max_step_rad: np.ndarray) -> None:
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        self.max_step_rad = np.asarray(max_step_rad, dtype=np.float64)

    def integrate(
        self, q_meas: np.ndarray, target: np.ndarray, delta_rad: np.ndarray, max_lead_rad: float | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The next targets [B, n] from measured joints, previous targets and requested deltas (all
        [B, n], rad), and a bool [B]: True where the measurement is finite.

        Non-finite deltas count as zero. ``max_lead_rad`` None: no lead limit. Rows with a
        non-finite measurement are computed against the previous target; the caller keeps their
        previous target (which must be finite, e.g. :meth:`initial_target`).
        """
        target = np.asarray(target, dtype=np.float64)
        q_ok = np.all(np.isfinite(q_meas), axis=-1)
        q = np.where(q_ok[..., None], q_meas, target)
        d = np.clip(
            np.nan_to_num(delta_rad, nan=0.0, posinf=0.0, neginf=0.0), -self.max_step_rad, self.max_step_rad
        )
        new = target + d
        if max_lead_rad is not None:
            new = np.clip(new, q - max_lead_rad, q + max_lead_rad)
            # The lead clip pulls the target toward the measurement, but never faster than the
            # per-step budget: a glitching measurement must not make the target jump.
            new = np.clip(new, target - self.max_step_rad, target + self.max_step_rad)
        return np.clip(new, self.lower, self.upper), q_ok

    def initial_target(self, q_meas: np.ndarray) -> np.ndarray:
        """The first target [B, n]: the measured joints clipped into the limits."""
        return np.clip(np.asarray(q_meas, dtype=np.float64), self.lower, self.upper)


class JointTargetController(PolicyController):
    """A :class:`PolicyController` whose action terms move joint targets through
    ``self.safety`` (a :class:`JointTargetLimits`): the resume target, the hold command and the
    first target. A subclass sets ``self.safety`` before calling :meth:`reset`.

    Attributes:
        target: the last target [1, n] (rad), None before the first step or hold.
    """

    safety: JointTargetLimits

    def __init__(self, policy: OnnxPolicy) -> None:
        super().__init__(policy)
        self.target: np.ndarray | None = None

    def reset(self, target: np.ndarray | None = None) -> None:
        """Forget the previous action (call when control (re)starts). The next target continues
        from ``target`` [n] (rad, the last target sent) inside the same per-step budget; without
        one (nothing sent yet) it starts from the measured joints."""
        super().reset()
        self.target = None
        if target is not None:
            n = self.safety.lower.shape[0]
            t = np.asarray(target, dtype=np.float64).reshape(1, -1)
            if t.shape[1] != n or not np.all(np.isfinite(t)):
                raise ValueError(f"resume target must be {n} finite values, got {target}")
            self.target = np.clip(t, self.safety.lower, self.safety.upper)

    def hold(self, q_meas: np.ndarray | None = None) -> np.ndarray | None:
        """The hold command [n]: the last target, or (before any) the measured joints clipped
        into the limits; None when neither exists or the measurement is not finite."""
        if self.target is None and q_meas is not None and np.all(np.isfinite(q_meas)):
            self.target = self.safety.initial_target(np.asarray(q_meas, dtype=np.float64)[None])
        return None if self.target is None else self.target[0].copy()

    def start_from(self, q_meas: np.ndarray) -> np.ndarray:
        """The previous target [1, n] for the next step: the last one, or (before any) the
        measured joints [1, n] clipped into the limits."""
        if self.target is None:
            self.target = self.safety.initial_target(q_meas)
        return self.target
