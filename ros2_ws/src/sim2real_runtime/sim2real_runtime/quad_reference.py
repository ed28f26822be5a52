"""Position references for a quadrotor: parametric curves (training, evaluation, the reference
publisher) and a sampled track (what the node rebuilds from a streamed nav_msgs/Path).

All positions are world ENU (m), times in seconds.

A :class:`Lissajous` covers the tasks with one formula, batched over B vehicles:

    x' = ax sin(w t + px),   y' = ay sin(k w t + py),   then rotated by ``yaw_rad`` about z and
    shifted by ``center_m``

- hover: ax = ay = 0;
- circle of radius r: ax = ay = r, k = 1, px = pi/2, py = 0;
- figure-eight of size (Lx, Ly): ax = Lx/2, ay = Ly/2, k = 2, px = py = 0 (passes the centre
  at t = 0, heading +x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Lissajous:
    """B parametric references; every field has leading dimension B."""

    center_m: np.ndarray
    """[B, 3] centre (m)."""
    amplitude_m: np.ndarray
    """[B, 2] half-extent along the curve's own x and y (m)."""
    omega_radps: np.ndarray
    """[B] angular frequency of the x motion (rad/s); period = 2 pi / omega."""
    ratio: np.ndarray
    """[B] frequency ratio k of y to x (1: ellipse/circle, 2: figure-eight)."""
    phase_rad: np.ndarray
    """[B, 2] phases px, py (rad)."""
    yaw_rad: np.ndarray
    """[B] rotation of the curve about world z (rad)."""

    def _local(self, t: np.ndarray, order: int) -> np.ndarray:
        """d^order/dt^order of the unrotated curve at t [B, ...] -> [B, ..., 2]."""
        ex = (slice(None),) + (None,) * (t.ndim - 1)
        w = self.omega_radps[ex]
        k = self.ratio[ex]
        ax, ay = self.amplitude_m[:, 0][ex], self.amplitude_m[:, 1][ex]
        px, py = self.phase_rad[:, 0][ex], self.phase_rad[:, 1][ex]
        # The n-th derivative of sin(u) is sin(u + n pi/2).
        shift = order * math.pi / 2
        x = ax * w**order * np.sin(w * t + px + shift)
        y = ay * (k * w) ** order * np.sin(k * w * t + py + shift)
        return np.stack([x, y], axis=-1)

    def _world(self, local: np.ndarray, with_center: bool) -> np.ndarray:
        ex = (slice(None),) + (None,) * (local.ndim - 2)
        c, s = np.cos(self.yaw_rad)[ex], np.sin(self.yaw_rad)[ex]
        x = c * local[..., 0] - s * local[..., 1]
        y = s * local[..., 0] + c * local[..., 1]
        out = np.stack([x, y, np.zeros_like(x)], axis=-1)
        if with_center:
            out = out + self.center_m.reshape((len(self.center_m),) + (1,) * (local.ndim - 2) + (3,))
        return out

    def position(self, t_s: np.ndarray) -> np.ndarray:
        """Positions (m) at times t_s [B] or [B, K] -> [B, 3] or [B, K, 3]."""
        t = np.asarray(t_s, dtype=np.float64)
        return self._world(self._local(t, 0), with_center=True)

    def velocity(self, t_s: np.ndarray) -> np.ndarray:
        """Velocities (m/s) at times t_s [B] or [B, K] -> [B, 3] or [B, K, 3]."""
        t = np.asarray(t_s, dtype=np.float64)
        return self._world(self._local(t, 1), with_center=False)

    def acceleration(self, t_s: np.ndarray) -> np.ndarray:
        """Accelerations (m/s^2) at times t_s [B] or [B, K] -> [B, 3] or [B, K, 3]."""
        t = np.asarray(t_s, dtype=np.float64)
        return self._world(self._local(t, 2), with_center=False)


def _one(center, amplitude, omega, ratio, phase, yaw=0.0) -> Lissajous:
    return Lissajous(
        np.asarray(center, dtype=np.float64).reshape(1, 3),
        np.asarray(amplitude, dtype=np.float64).reshape(1, 2),
        np.array([float(omega)]),
        np.array([float(ratio)]),
        np.asarray(phase, dtype=np.float64).reshape(1, 2),
        np.array([float(yaw)]),
    )


def hover(center_m: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> Lissajous:
    """Hold ``center_m``."""
    return _one(center_m, (0.0, 0.0), 1.0, 1.0, (0.0, 0.0))


def figure_eight(
    size_m: tuple[float, float] = (1.0, 0.5),
    period_s: float = 6.0,
    center_m: tuple[float, float, float] = (0.0, 0.0, 1.0),
    yaw_rad: float = 0.0,
) -> Lissajous:
    """A figure-eight ``size_m`` = (length, width) (m) flown once per ``period_s``; it passes the
    centre at t = 0."""
    return _one(center_m, (size_m[0] / 2, size_m[1] / 2), 2 * math.pi / period_s, 2.0, (0.0, 0.0), yaw_rad)


def circle(
    radius_m: float = 0.5, period_s: float = 6.0, center_m: tuple[float, float, float] = (0.0, 0.0, 1.0)
) -> Lissajous:
    """A counter-clockwise circle of ``radius_m`` flown once per ``period_s``; starts at +x."""
    return _one(center_m, (radius_m, radius_m), 2 * math.pi / period_s, 1.0, (math.pi / 2, 0.0))


TASKS = {"hover": hover, "figure8": figure_eight, "circle": circle}
"""Evaluation tasks by name, each with its default parameters."""


class SampledReference:
    """A reference given as timestamped waypoints (a nav_msgs/Path with stamps), linearly
    interpolated and held at both ends.

    Args:
        times_s: [T] strictly increasing times (s), on the clock the node uses.
        positions_m: [T, 3] positions (m), world ENU.
    """

    def __init__(self, times_s: np.ndarray, positions_m: np.ndarray) -> None:
        t = np.asarray(times_s, dtype=np.float64)
        p = np.asarray(positions_m, dtype=np.float64)
        if t.ndim != 1 or p.shape != (len(t), 3) or len(t) == 0:
            raise ValueError(f"expected times [T] and positions [T, 3], got {t.shape} and {p.shape}")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
            raise ValueError("reference contains non-finite times or positions")
        if len(t) > 1 and not np.all(np.diff(t) > 0):
            raise ValueError("reference times are not strictly increasing")
        self.times_s = t
        self.positions_m = p

    def position(self, t_s: np.ndarray) -> np.ndarray:
        """Positions [..., 3] at times t_s [...] (held before the first and after the last point)."""
        t = np.asarray(t_s, dtype=np.float64)
        if len(self.times_s) == 1:
            return np.broadcast_to(self.positions_m[0], (*t.shape, 3)).copy()
        return np.stack([np.interp(t, self.times_s, self.positions_m[:, i]) for i in range(3)], axis=-1)

    @property
    def end_s(self) -> float:
        return float(self.times_s[-1])


def lookahead_times(now_s: float | np.ndarray, num_points: int, horizon_s: float) -> np.ndarray:
    """The times the ``reference_lookahead`` term samples: now + horizon * (i + 1) / num_points.
    ``now_s`` scalar -> [K]; [B] -> [B, K]."""
    offsets = horizon_s * (np.arange(num_points) + 1.0) / num_points
    return np.asarray(now_s, dtype=np.float64)[..., None] + offsets
