"""Safety filters that act on the final command, whatever produced it.

The collision guard reads the raw scan, not the policy's observation: it caps the forward speed so
the base can still stop, under its deceleration limit and one control period of latency, before the
nearest return inside the corridor the footprint sweeps when driving straight ahead. Training runs
the same guard in the loop, so the policy learns to steer around what the guard would stop it at.
"""

from __future__ import annotations

import numpy as np

from .robot import RobotConfig


class CollisionGuard:
    """Forward-speed cap from the raw scan for a rectangular diff-drive base (batched over B).

    Args:
        robot: footprint, lidar geometry and deceleration limit.
        control_period_s: time until the next command can brake (s).
        margin_m: distance kept between the footprint and any return when stopped (m); also widens
            the corridor on each side.
    """

    def __init__(self, robot: RobotConfig, control_period_s: float, margin_m: float = 0.05) -> None:
        lid = robot.lidar
        a = lid.beam_angles_rad()
        self.cos = np.cos(a)
        self.sin = np.sin(a)
        self.mount_x = lid.mount_x_m
        self.range_min = lid.range_min_m
        self.range_max = lid.range_max_m
        self.half_length = 0.5 * robot.footprint_length_m
        self.half_width = 0.5 * robot.footprint_width_m + margin_m
        self.margin = margin_m
        self.decel = robot.max_linear_accel_mps2
        self.dt = control_period_s

    def free_distance(self, ranges_m: np.ndarray) -> np.ndarray:
        """[B] distance (m) from the front edge to the nearest valid return in the straight-ahead
        corridor, for scans [B, num_beams]; +inf where the corridor is empty."""
        r = np.atleast_2d(np.asarray(ranges_m, dtype=np.float64))
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(r) & (r >= self.range_min) & (r <= self.range_max)
            x = self.mount_x + r * self.cos
            ahead = valid & (x > self.half_length) & (np.abs(r * self.sin) <= self.half_width)
        return np.where(ahead, x, np.inf).min(axis=1) - self.half_length

    def max_speed(self, ranges_m: np.ndarray) -> np.ndarray:
        """[B] largest forward speed (m/s) from which the base stops short of the nearest return.

        Solves v * dt + v^2 / (2 a) = d - margin for v (0 when d <= margin, +inf when d is).
        """
        d = np.maximum(self.free_distance(ranges_m) - self.margin, 0.0)
        ad = self.decel * self.dt
        with np.errstate(invalid="ignore"):
            v = -ad + np.sqrt(ad * ad + 2.0 * self.decel * d)
        return np.where(np.isinf(d), np.inf, v)

    def __call__(self, cmd: np.ndarray, ranges_m: np.ndarray) -> np.ndarray:
        """Commands [B, 2] (v, w) with positive v capped; reversing and turning are left alone."""
        out = np.array(np.atleast_2d(cmd), dtype=np.float64, copy=True)
        out[:, 0] = np.where(out[:, 0] > 0, np.minimum(out[:, 0], self.max_speed(ranges_m)), out[:, 0])
        return out
