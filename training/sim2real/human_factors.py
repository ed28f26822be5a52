"""What makes a scripted teleoperator human: the imperfections between deciding and acting, shared
by every domain's scripted operator (:mod:`sim2real.manip.scripted_human`,
:mod:`sim2real.nav.scripted_operator`).

A scripted operator decides a twist (and for the arm a gripper state) from what it sees each
control step; :class:`Hand` turns that decision into what reaches the device:

- reaction delay: the decision made at step k is issued at step ``k + delay_steps`` (the
  ``reaction_delay_s`` at the control rate, rounded; a person's visuomotor reaction is 150-300 ms);
  before the first decision arrives the hand is still (zero twist, gripper open);
- hand noise: an Ornstein-Uhlenbeck process (Gaussian, low-pass with ``noise_time_constant_s``:
  drift and tremor rather than white jitter) added to the twist, its std ``noise_std_mps`` /
  ``noise_std_radps`` at rest plus ``noise_speed_fraction`` of the commanded linear / angular
  speed (signal-dependent noise, Harris & Wolpert 1998: fast motions are sloppy, fine ones precise);
- hesitation: pauses start at ``hesitation_rate_per_s`` (Poisson) and last ``hesitation_s``
  (uniform); during one the twist is zero (the hand off the device) and the gripper holds.

Batched over B robots with one random generator: deterministic for a seed and B.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HumanFactors:
    """A scripted operator's imperfections (zeros: the scripted controller itself)."""

    reaction_delay_s: float = 0.2
    """Perception-to-action delay (s)."""
    noise_std_mps: float = 0.005
    """Hand noise std on each linear twist axis at rest (m/s)."""
    noise_std_radps: float = 0.02
    """Hand noise std on each angular twist axis at rest (rad/s)."""
    noise_speed_fraction: float = 0.1
    """Growth of the noise std with the commanded linear / angular speed (1)."""
    noise_time_constant_s: float = 0.3
    """Correlation time of the hand noise (s)."""
    hesitation_rate_per_s: float = 0.1
    """Pauses started per second of operation (Poisson)."""
    hesitation_s: tuple[float, float] = (0.2, 0.6)
    """Pause length range (s, uniform)."""


def delay_steps(factors: HumanFactors, control_rate_hz: float) -> int:
    """The reaction delay in control steps (rounded, >= 0)."""
    return max(0, round(factors.reaction_delay_s * control_rate_hz))


class OUNoise:
    """Ornstein-Uhlenbeck noise [B, D], sampled exactly at period ``dt_s``.

    ``x[k+1] = a x[k] + std sqrt(1 - a^2) e``, ``a = exp(-dt / tau)``, ``e ~ N(0, 1)``: stationary
    std ``std`` per axis and lag-1 autocorrelation ``a``. Starts from the stationary distribution.
    """

    def __init__(
        self, std: np.ndarray, time_constant_s: float, dt_s: float, rng: np.random.Generator
    ) -> None:
        self.std = np.asarray(std, dtype=float)
        self.a = float(np.exp(-dt_s / time_constant_s)) if time_constant_s > 0 else 0.0
        self.rng = rng
        self.x = np.zeros((0, len(self.std)))

    def reset(self, batch: int) -> None:
        self.x = self.std * self.rng.standard_normal((batch, len(self.std)))

    def step(self) -> np.ndarray:
        e = self.rng.standard_normal(self.x.shape)
        self.x = self.a * self.x + self.std * np.sqrt(1.0 - self.a**2) * e
        return self.x


class Hand:
    """Delay, noise and hesitation between a decided command and the device (B robots).

    Args:
        factors: the imperfections.
        control_rate_hz: the rate :meth:`__call__` is called at (Hz).
        rng: the operator's random generator.
        axes: bool [6], the twist axes the domain uses (noise only there; nav: vx and wz).
    """

    def __init__(
        self,
        factors: HumanFactors,
        control_rate_hz: float,
        rng: np.random.Generator,
        axes: np.ndarray | None = None,
    ) -> None:
        self.f = factors
        self.dt_s = 1.0 / control_rate_hz
        self.delay_steps = delay_steps(factors, control_rate_hz)
        self.rng = rng
        self.axes = np.ones(6, bool) if axes is None else np.asarray(axes, bool)
        rest = np.array([factors.noise_std_mps] * 3 + [factors.noise_std_radps] * 3)
        self.noise = OUNoise(np.ones(6), factors.noise_time_constant_s, self.dt_s, rng)
        self.rest_std = rest * self.axes
        self.queue: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self.pause_left = np.zeros(0, dtype=int)
        self.gripper = np.zeros(0)

    def reset(self, batch: int) -> None:
        self.noise.reset(batch)
        self.pause_left = np.zeros(batch, dtype=int)
        self.gripper = -np.ones(batch)
        self.queue = deque((np.zeros((batch, 6)), -np.ones(batch)) for _ in range(self.delay_steps))

    def __call__(self, twist: np.ndarray, gripper: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The decided twist [B, 6] (and gripper [B], +1 close / -1 open) -> what is issued now."""
        b = len(self.pause_left)
        self.queue.append((np.asarray(twist, dtype=float), -np.ones(b) if gripper is None else gripper))
        twist, grip = self.queue.popleft()
        speed = np.stack([np.linalg.norm(twist[:, :3], axis=1), np.linalg.norm(twist[:, 3:], axis=1)], axis=1)
        std = self.rest_std + self.f.noise_speed_fraction * np.repeat(speed, 3, axis=1) * self.axes
        twist = twist + self.noise.step() * std  # unit-std OU scaled per axis
        start = (self.pause_left == 0) & (self.rng.random(b) < self.f.hesitation_rate_per_s * self.dt_s)
        lo, hi = (max(1, round(s / self.dt_s)) for s in self.f.hesitation_s)
        self.pause_left = np.where(start, self.rng.integers(lo, hi + 1, b), self.pause_left)
        paused = self.pause_left > 0
        self.pause_left = np.maximum(self.pause_left - 1, 0)
        self.gripper = np.where(paused, self.gripper, grip)
        return np.where(paused[:, None], 0.0, twist), self.gripper.copy()
