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
        self.mount_x = lid.mount_x_m
        self.half_length = 0.5 * robot.footprint_length_m
        self.half_width = 0.5 * robot.footprint_width_m + margin_m
        self.margin = margin_m
        self.decel = robot.max_linear_accel_mps2
        self.dt = control_period_s
        # Per beam, the ranges r whose return lies in the corridor: valid (range_min <= r <=
        # range_max), beside the footprint by at most half_width (|r sin a| <= half_width) and ahead
        # of the front edge (mount_x + r cos a > half_length). Precomputed as [lo, hi] on the beams
        # that can see the corridor at all, so a scan costs two comparisons and a min per beam.
        cos, sin = np.cos(a), np.abs(np.sin(a))
        ahead = self.half_length - self.mount_x  # the front edge, from the laser (m)
        with np.errstate(divide="ignore"):
            hi = np.minimum(lid.range_max_m, np.where(sin > 0, self.half_width / sin, np.inf))
            lo = np.full_like(a, lid.range_min_m)
            fwd = cos > 0
            # r cos a > ahead: a lower bound where the beam points forward, an upper bound where it
            # points backward (only possible when the laser sits ahead of the front edge).
            lo[fwd] = np.maximum(lo[fwd], np.nextafter(ahead / cos[fwd], np.inf))
            back = cos < 0
            hi[back] = np.minimum(hi[back], np.nextafter(ahead / cos[back], -np.inf))
        if ahead >= 0:
            hi[cos == 0] = -np.inf
        keep = lo <= hi
        self._beams = np.flatnonzero(keep)
        self._lo, self._hi, self._cos = lo[keep], hi[keep], cos[keep]

    def free_distance(self, ranges_m: np.ndarray) -> np.ndarray:
        """[B] distance (m) from the front edge to the nearest valid return in the straight-ahead
        corridor, for scans [B, num_beams]; +inf where the corridor is empty."""
        r = np.atleast_2d(np.asarray(ranges_m))[:, self._beams].astype(np.float64)
        # NaN fails both comparisons, +inf fails the upper bound: invalid readings never count.
        inside = (r >= self._lo) & (r <= self._hi)
        x = np.where(inside, r * self._cos, np.inf).min(axis=1)
        return x + (self.mount_x - self.half_length)

    def max_speed(self, ranges_m: np.ndarray) -> np.ndarray:
        """[B] largest forward speed (m/s) from which the base stops short of the nearest return.

        Solves v * dt + v^2 / (2 a) = d - margin for v (0 when d <= margin, +inf when d is).
        """
        d = np.maximum(self.free_distance(ranges_m) - self.margin, 0.0)
        ad = self.decel * self.dt
        # d = +inf (an empty corridor) gives +inf; d >= 0 keeps the root real.
        return -ad + np.sqrt(ad * ad + 2.0 * self.decel * d)

    def __call__(self, cmd: np.ndarray, ranges_m: np.ndarray) -> np.ndarray:
        """Commands [B, 2] (v, w) with positive v capped; reversing and turning are left alone."""
        return self.apply(cmd, self.max_speed(ranges_m))

    @staticmethod
    def apply(cmd: np.ndarray, cap_mps: np.ndarray) -> np.ndarray:
        """Commands [B, 2] with positive v capped at ``cap_mps`` [B] (from :meth:`max_speed`)."""
        out = np.array(np.atleast_2d(cmd), dtype=np.float64, copy=True)
        out[:, 0] = np.where(out[:, 0] > 0, np.minimum(out[:, 0], cap_mps), out[:, 0])
        return out


class SafetyFilter:
    """The last gate between any command source (policy, teleop, residual mix) and the actuators.

    For a command vector of any domain (a diff-drive twist, collective thrust + body rates, joint
    targets), every call returns a finite command inside ``[low, high]``:

    1. any non-finite entry -> the whole command is replaced by ``stop`` (a NaN never reaches a
       robot, and half a command is not a command);
    2. clamp to ``[low, high]``;
    3. rate limit: each entry moves at most ``max_rate_per_s * dt`` from the previous output, with
       ``dt`` the node-clock time since the previous call (0 if the clock went backwards);
    4. extra upper bounds ``upper`` for this step (the collision guard's speed cap): applied after
       the rate limit, so braking is never slowed down by it;
    5. final clamp to ``[low, high]``.

    :meth:`stop` returns ``stop`` at once, bypassing the rate limit (e-stop, watchdog).

    Args:
        low, high: per-entry limits [A] (command units, e.g. m/s and rad/s).
        max_rate_per_s: per-entry rate limits [A] (units/s, e.g. m/s^2); ``inf`` for none.
        stop: the safe command [A] (zeros: a diff-drive base stands still); must be within limits.
    """

    def __init__(
        self,
        low: np.ndarray,
        high: np.ndarray,
        max_rate_per_s: np.ndarray,
        stop: np.ndarray | None = None,
    ) -> None:
        self.low = np.asarray(low, dtype=np.float64).copy()
        self.high = np.asarray(high, dtype=np.float64).copy()
        self.rate = np.asarray(max_rate_per_s, dtype=np.float64).copy()
        n = self.low.shape
        if self.high.shape != n or self.rate.shape != n or len(n) != 1:
            raise ValueError(
                f"low, high, max_rate_per_s must be 1-D of one size, got {n}, "
                f"{self.high.shape}, {self.rate.shape}"
            )
        if not (np.all(np.isfinite(self.low)) and np.all(np.isfinite(self.high))) or np.any(
            self.low > self.high
        ):
            raise ValueError(f"limits must be finite with low <= high, got {self.low} .. {self.high}")
        if np.any(np.isnan(self.rate)) or np.any(self.rate < 0):
            raise ValueError(f"max_rate_per_s must be >= 0, got {self.rate}")
        self.stop_cmd = np.zeros(n) if stop is None else np.asarray(stop, dtype=np.float64).copy()
        if self.stop_cmd.shape != n or np.any(self.stop_cmd < self.low) or np.any(self.stop_cmd > self.high):
            raise ValueError(f"stop command {self.stop_cmd} must lie within {self.low} .. {self.high}")
        self._rate_finite = np.isfinite(self.rate)
        self._rate = np.where(self._rate_finite, self.rate, 0.0)  # inf * 0 s would be NaN
        self.last = self.stop_cmd.copy()
        self.last_time_s: float | None = None

    def __call__(self, cmd: np.ndarray, now_s: float, upper: np.ndarray | None = None) -> np.ndarray:
        """The safe command [A] for a requested command [A] at node time ``now_s`` (s)."""
        # np.minimum/np.maximum rather than np.clip: this runs at every published command.
        lo, hi = self.low, self.high
        c = np.asarray(cmd, dtype=np.float64).reshape(-1)
        if c.shape != lo.shape or not np.isfinite(c).all():
            c = self.stop_cmd
        c = np.minimum(np.maximum(c, lo), hi)
        last_t = self.last_time_s
        # A clock that jumped back, or is not finite, gives no time to move in.
        dt = now_s - last_t if last_t is not None and last_t <= now_s < np.inf else 0.0
        step = np.where(self._rate_finite, self._rate * dt, np.inf)
        c = self.last + np.minimum(np.maximum(c - self.last, -step), step)
        if upper is not None:
            u = np.asarray(upper, dtype=np.float64).reshape(-1)
            c = np.minimum(c, np.where(np.isnan(u), lo, u))
        c = np.minimum(np.maximum(c, lo), hi)
        self.last = c
        self.last_time_s = float(now_s) if np.isfinite(now_s) else self.last_time_s
        return c.copy()

    def stop(self, now_s: float) -> np.ndarray:
        """The stop command, at once; the rate limit continues from it."""
        self.last = self.stop_cmd.copy()
        self.last_time_s = float(now_s) if np.isfinite(now_s) else self.last_time_s
        return self.last.copy()


class Watchdog:
    """Tracks when each input last arrived; an input is stale once older than its timeout.

    Times are the host's steady clock (s), never the simulator's: a dead simulator stops its clock.

    Args:
        timeouts_s: input name -> largest allowed age (s).
    """

    def __init__(self, timeouts_s: dict[str, float]) -> None:
        for name, t in timeouts_s.items():
            if not t > 0:
                raise ValueError(f"watchdog timeout for {name!r} must be > 0 s, got {t}")
        self.timeouts_s = dict(timeouts_s)
        self.last_s: dict[str, float | None] = dict.fromkeys(timeouts_s)

    def feed(self, name: str, now_s: float) -> None:
        self.last_s[name] = now_s

    def invalidate(self, name: str) -> None:
        """Mark ``name`` as not received (e.g. after an invalid message)."""
        self.last_s[name] = None

    def stale(self, now_s: float) -> list[str]:
        """Inputs never received or older than their timeout at ``now_s``, in declaration order."""
        return [n for n, t in self.last_s.items() if t is None or now_s - t > self.timeouts_s[n]]
