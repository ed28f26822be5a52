"""Safety filters that act on the final command, whatever produced it.

The collision guard reads the raw scan, not the policy's observation: it caps the forward speed so
the base can still stop, under its deceleration limit and one control period of latency, before the
nearest return inside the corridor the footprint sweeps when driving straight ahead. Training runs
the same guard in the loop, so the policy learns to steer around what the guard would stop it at.
It reads the scan with the lidar conventions of :mod:`sim2real_runtime.nav_terms` (REP-117): a
close reading (below range_min, -inf) is an obstacle at range_min, +inf and invalid readings are
nothing; whether a scan can be trusted at all is :func:`sim2real_runtime.nav_terms.scan_fault`'s.
"""

from __future__ import annotations

import math

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
        # The range limits as float32, the message's type (nav_terms compares the same way).
        r_min, r_max = float(np.float32(lid.range_min_m)), float(np.float32(lid.range_max_m))
        with np.errstate(divide="ignore"):
            hi = np.minimum(r_max, np.where(sin > 0, self.half_width / sin, np.inf))
            lo = np.full_like(a, r_min)
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
        # Close readings (below range_min, -inf): an obstacle at range_min on the beam. It blocks
        # where that point lies in the corridor (as a measured return would), and also where it
        # lies inside the footprint ahead of the laser (cos a > 0): a measured return there would
        # be the robot's own body and is ignored, but a close reading is no measurement of the
        # body; it says the laser's window is obstructed in the direction of travel. Either way it
        # blocks at its distance from the front edge, 0 if behind it.
        px = self.mount_x + lid.range_min_m * cos
        py = lid.range_min_m * sin
        in_corridor = (px > self.half_length) & (py <= self.half_width)
        in_body = (np.abs(px) <= self.half_length) & (py <= self.half_width - margin_m) & (cos > 0)
        blocks = in_corridor | in_body
        self._close_beams = np.flatnonzero(blocks)
        self._close_x = np.maximum(px[blocks] - self.half_length, 0.0)
        self._range_min = np.float32(lid.range_min_m)

    def free_distance(self, ranges_m: np.ndarray) -> np.ndarray:
        """[B] distance (m) from the front edge to the nearest return in the straight-ahead
        corridor, for scans [B, num_beams]; +inf where the corridor is empty.

        Measured returns count where they lie; close readings (below range_min, -inf) count as
        obstacles at range_min (0 when that is behind the front edge); +inf, NaN and finite
        readings above range_max never count."""
        scan = np.atleast_2d(np.asarray(ranges_m))
        r = scan[:, self._beams].astype(np.float64)
        # NaN fails both comparisons, +inf and above range_max fail the upper bound, below
        # range_min (and -inf) the lower one: only measured returns count here.
        inside = (r >= self._lo) & (r <= self._hi)
        x = np.where(inside, r * self._cos, np.inf).min(axis=1)
        d = x + (self.mount_x - self.half_length)
        if self._close_beams.size:
            # Compared in float32, as nav_terms reads the message's ranges.
            close = scan[:, self._close_beams].astype(np.float32) < self._range_min
            d = np.minimum(d, np.where(close, self._close_x, np.inf).min(axis=1))
        return d

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

    With ``clock_offset_tolerance_s`` finite, an input that carries a header stamp is also judged
    by it (:meth:`feed` with ``stamp_s`` and ``clock_s``, the node clock: simulated time under
    use_sim_time, else the system clock): its age at arrival is ``lag = clock_s - stamp_s``, and

    - ``lag > timeout + tolerance``: stale on arrival, refused (a driver stamping from another
      clock, a republished or replayed old message);
    - ``lag < -tolerance``: stamped ahead of the node clock by more than the clocks may disagree,
      refused (its age cannot be known);
    - otherwise it is fed, aged by ``max(0, lag - tolerance)``: it goes stale that much sooner.

    A zero stamp (an unstamped message) or a node clock at 0 (use_sim_time before the first
    /clock) is judged by arrival time only. ``clock_offset_tolerance_s = inf`` turns stamp checks
    off.

    Args:
        timeouts_s: input name -> largest allowed age (s).
        clock_offset_tolerance_s: how far (s) a stamp may be from the node clock beyond the
            timeout (clock offset between machines, driver and transport latency).
    """

    def __init__(self, timeouts_s: dict[str, float], clock_offset_tolerance_s: float = math.inf) -> None:
        for name, t in timeouts_s.items():
            if not t > 0:
                raise ValueError(f"watchdog timeout for {name!r} must be > 0 s, got {t}")
        if not clock_offset_tolerance_s >= 0:
            raise ValueError(f"clock_offset_tolerance_s must be >= 0, got {clock_offset_tolerance_s}")
        self.timeouts_s = dict(timeouts_s)
        self.clock_offset_tolerance_s = float(clock_offset_tolerance_s)
        self.last_s: dict[str, float | None] = dict.fromkeys(timeouts_s)

    def stamp_fault(self, name: str, stamp_s: float, clock_s: float) -> tuple[float, str | None]:
        """(age (s) to charge the message with, why it is refused or None) for a message of input
        ``name`` stamped ``stamp_s`` arriving at node-clock time ``clock_s`` (see the class)."""
        tol = self.clock_offset_tolerance_s
        if tol == math.inf or stamp_s == 0 or not clock_s > 0:
            return 0.0, None
        if not math.isfinite(stamp_s):
            return 0.0, f"stamp {stamp_s} is not finite"
        lag = clock_s - stamp_s
        timeout = self.timeouts_s[name]
        if lag < -tol:
            return 0.0, (f"stamped {-lag:.3f} s ahead of the node clock (clock_offset_tolerance_s {tol:g} s)")
        if lag > timeout + tol:
            return lag, (
                f"stamped {lag:.3f} s before the node clock (timeout {timeout:g} s + "
                f"clock_offset_tolerance_s {tol:g} s)"
            )
        return max(0.0, lag - tol), None

    def feed(
        self, name: str, now_s: float, stamp_s: float | None = None, clock_s: float | None = None
    ) -> str | None:
        """A message of input ``name`` arrived at steady time ``now_s``. With ``stamp_s`` (its
        header stamp) and ``clock_s`` (the node clock now), it is also judged by its stamp.

        Returns:
            None when fed; else why it is refused by its stamp (the input is then not fed: the
            caller refuses the message).
        """
        age = 0.0
        if stamp_s is not None and clock_s is not None:
            age, why = self.stamp_fault(name, stamp_s, clock_s)
            if why is not None:
                return why
        self.last_s[name] = now_s - age
        return None

    def invalidate(self, name: str) -> None:
        """Mark ``name`` as not received (e.g. after an invalid message)."""
        self.last_s[name] = None

    def stale(self, now_s: float) -> list[str]:
        """Inputs never received or older than their timeout at ``now_s``, in declaration order."""
        return [n for n, t in self.last_s.items() if t is None or now_s - t > self.timeouts_s[n]]
