"""Navigation observation and action terms (diff-drive base + 2-D lidar).

Signals (all batched, leading dimension B) that the terms read:

- ``scan_ranges``: float [B, num_beams], sensor_msgs/LaserScan.ranges (m).
- ``pose``: float [B, 3], x (m), y (m), yaw (rad) of base_link in the odom/map frame.
- ``goal_xy``: float [B, 2], goal position in the same frame (m).
- ``twist``: float [B, 2], measured forward speed (m/s) and yaw rate (rad/s), base_link frame.
- ``prev_action``: float [B, A], the previous normalised policy action (clipped to [-1, 1]).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .robot import LidarConfig, RobotConfig
from .terms import ActionTerm, ObsTerm, PreviousAction, TermSpec

# ------------------------------------------------------------------------ lidar conventions
#
# One reading of sensor_msgs/LaserScan.ranges (REP-117) for training, evaluation and the node: the
# observation term (clean_ranges) and the scan check (scan_fault) use these masks, the collision
# guard (sim2real_runtime.safety.CollisionGuard) the same classes through precomputed per-beam
# bounds (tests/test_safety.py compares it with the rules written out). Comparisons are made in
# float32, the message's type, so a driver that publishes exactly float32(range_max) or
# float32(range_min) is read as measuring it.
#
#   measured   range_min <= r <= range_max        a return at r
#   close      r < range_min, including -inf      an object too close to measure: an obstacle at
#                                                 range_min (the guard blocks on it)
#   no return  r == +inf                          nothing within range_max: free space
#   invalid    NaN, or finite r > range_max       not a measurement (3e38, driver error codes)
#
# A scan is refused as a whole (scan_fault) when more than lidar.max_invalid_fraction of its beams
# are invalid, or when no beam is measured (all no return / close / invalid: a blinded lidar).


def _f32(x: float) -> np.float32:
    return np.float32(x)


def close_mask(ranges: np.ndarray, range_min_m: float) -> np.ndarray:
    """Readings of an object too close to measure: r < range_min, -inf included (NaN is not)."""
    return np.asarray(ranges, dtype=np.float32) < _f32(range_min_m)


def measured_mask(ranges: np.ndarray, range_min_m: float, range_max_m: float) -> np.ndarray:
    """Readings that measure a return: range_min <= r <= range_max."""
    r = np.asarray(ranges, dtype=np.float32)
    return (r >= _f32(range_min_m)) & (r <= _f32(range_max_m))


def invalid_mask(ranges: np.ndarray, range_max_m: float) -> np.ndarray:
    """Readings that are no measurement at all: NaN, or finite above range_max (+inf is 'no
    return', not invalid)."""
    r = np.asarray(ranges, dtype=np.float32)
    return np.isnan(r) | ((r > _f32(range_max_m)) & (r < np.inf))


def scan_fault(ranges: np.ndarray, lidar: LidarConfig) -> str | None:
    """Why a scan [num_beams] cannot be trusted, or None if it can.

    Refused: more than ``lidar.max_invalid_fraction`` of the beams invalid (NaN, or finite above
    ``range_max_m``), or no beam measured in [range_min_m, range_max_m] (every beam no return,
    too close or invalid: a blinded or covered lidar, or a driver that publishes nothing useful);
    a scan of only no-return beams is open space instead when ``lidar.allow_open_space``.
    A scan that passes may still hold a few invalid beams: the observation reads them as no
    return and the guard ignores them, while close readings are obstacles at range_min for both.
    """
    r = np.asarray(ranges, dtype=np.float32).reshape(-1)
    n = r.size
    if n == 0:
        return "no beams"
    invalid = int(np.count_nonzero(invalid_mask(r, lidar.range_max_m)))
    if invalid > lidar.max_invalid_fraction * n:
        return (
            f"{invalid} of {n} beams NaN or above range_max {lidar.range_max_m:g} m; "
            f"lidar.max_invalid_fraction is {lidar.max_invalid_fraction:g}"
        )
    if not measured_mask(r, lidar.range_min_m, lidar.range_max_m).any():
        close = int(np.count_nonzero(close_mask(r, lidar.range_min_m)))
        none = int(np.count_nonzero(r == np.inf))
        if none == n and lidar.allow_open_space:
            return None  # the robot file says open space happens here (lidar.allow_open_space)
        return (
            f"no beam measures a range in [{lidar.range_min_m:g}, {lidar.range_max_m:g}] m: "
            f"{none} no return, {close} too close, {invalid} invalid (a blinded lidar)"
        )
    return None


def clean_ranges(ranges: np.ndarray, range_min_m: float, range_max_m: float, clip_m: float) -> np.ndarray:
    """Map raw LaserScan ranges [B, n] to ranges in [range_min_m, clip_m] for the observation.

    The conventions above: a measured return r reads min(r, clip_m); a close reading (below
    range_min, -inf) reads range_min_m, an obstacle as near as the lidar can tell; no return
    (+inf) and invalid readings (NaN, finite above range_max) read clip_m, nothing seen. Training
    also drops beams to +inf (dropouts), and the sector min-pooling lets the valid neighbours of a
    dropped beam carry the obstacle; a scan with too many invalid beams never reaches the policy
    (:func:`scan_fault`).
    """
    r = np.asarray(ranges, dtype=np.float32)
    measured = measured_mask(r, range_min_m, range_max_m)
    out = np.where(measured, np.minimum(r, np.float32(clip_m)), np.float32(clip_m))
    return np.where(close_mask(r, range_min_m), np.float32(range_min_m), out).astype(np.float32, copy=False)


def sector_starts(num_beams: int, num_sectors: int) -> np.ndarray:
    """First beam index of each of ``num_sectors`` contiguous, near-equal sectors, int [num_sectors]."""
    if not 0 < num_sectors <= num_beams:
        raise ValueError(f"num_sectors must be in [1, num_beams={num_beams}], got {num_sectors}")
    return (np.arange(num_sectors) * num_beams) // num_sectors


class LidarSectors(ObsTerm):
    """Minimum range in each angular sector of the scan: float [B, num_sectors] (m).

    params: num_beams, range_min_m, range_max_m, range_clip_m, num_sectors; pooling is "min".
    """

    kind = "lidar_sectors"

    def __init__(self, spec: TermSpec) -> None:
        super().__init__(spec)
        p = spec.params
        self.num_beams = int(p["num_beams"])
        self.range_min_m = float(p["range_min_m"])
        self.range_max_m = float(p["range_max_m"])
        self.clip_m = float(p["range_clip_m"])
        self.starts = sector_starts(self.num_beams, int(p["num_sectors"]))

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        r = signals["scan_ranges"]
        if r.shape[-1] != self.num_beams:
            raise ValueError(f"scan has {r.shape[-1]} beams, the policy expects {self.num_beams}")
        r = clean_ranges(r, self.range_min_m, self.range_max_m, self.clip_m)
        return np.minimum.reduceat(r, self.starts, axis=1)


class GoalPolar(ObsTerm):
    """Goal in the robot frame: [min(distance, clip) (m), cos(bearing), sin(bearing)], float [B, 3].

    params: distance_clip_m.
    """

    kind = "goal_polar"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        pose, goal = signals["pose"], signals["goal_xy"]
        dx = goal[:, 0] - pose[:, 0]
        dy = goal[:, 1] - pose[:, 1]
        dist = np.hypot(dx, dy)
        bearing = np.arctan2(dy, dx) - pose[:, 2]
        clip = float(self.spec.params["distance_clip_m"])
        return np.stack([np.minimum(dist, clip), np.cos(bearing), np.sin(bearing)], axis=1)


class BaseTwist(ObsTerm):
    """Measured forward speed (m/s) and yaw rate (rad/s), float [B, 2], from odometry."""

    kind = "base_twist"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray(signals["twist"], dtype=np.float32)[:, :2]


class DiffDriveTwistAction(ActionTerm):
    """Turns a normalised policy action [B, 2] into a safe velocity command (v, w) [B, 2].

    ``target = offset + scale * clip(action, -1, 1)`` per entry; then the change from the
    previous command is limited to ``accel * dt`` and the result clamped to the limits. A
    non-finite action commands a stop (decelerating within the limits). Nothing this returns is
    NaN or outside [low, high].

    spec params: ``low`` [2], ``high`` [2] (m/s, rad/s), ``accel`` [2] (m/s^2, rad/s^2), ``dt_s``.
    """

    kind = "diff_drive_twist"

    def __init__(self, spec: TermSpec) -> None:
        super().__init__(spec)
        p = spec.params
        self.low = np.asarray(p["low"], dtype=np.float64)
        self.high = np.asarray(p["high"], dtype=np.float64)
        self.accel = np.asarray(p["accel"], dtype=np.float64)
        self.dt_s = float(p["dt_s"])
        self.scale = (self.high - self.low) / 2.0
        self.offset = (self.high + self.low) / 2.0
        self._lo, self._hi = np.minimum(self.low, 0.0), np.maximum(self.high, 0.0)

    def target(self, action: np.ndarray) -> np.ndarray:
        """Velocity target [B, 2] of a normalised action [B, 2], before rate limiting."""
        a = np.asarray(action, dtype=np.float64)
        ok = np.isfinite(a)
        # np.minimum/np.maximum rather than np.clip/np.nan_to_num: this runs on every control step
        # of a robot, where their Python-level overhead is most of the cost.
        t = self.offset + self.scale * np.minimum(np.maximum(np.where(ok, a, 0.0), -1.0), 1.0)
        return np.where(ok.all(axis=1, keepdims=True), t, 0.0)

    def __call__(self, action: np.ndarray, prev_cmd: np.ndarray) -> np.ndarray:
        """Command [B, 2] for ``action`` [B, 2] given the previous command [B, 2]."""
        prev = np.asarray(prev_cmd, dtype=np.float64)
        prev = np.where(np.isfinite(prev), prev, 0.0)
        step = self.accel * self.dt_s
        cmd = np.minimum(np.maximum(self.target(action), prev - step), prev + step)
        return np.minimum(np.maximum(cmd, self._lo), self._hi)


def nav_specs(
    robot: RobotConfig,
    control_rate_hz: float,
    num_sectors: int,
    range_clip_m: float,
    goal_clip_m: float,
    v_limits_mps: tuple[float, float],
    w_max_radps: float,
    collision_guard: bool = True,
    dwa_fallback: bool = False,
) -> tuple[list[TermSpec], TermSpec]:
    """Observation term specs and the action spec of the navigation policy for ``robot``.

    ``collision_guard`` records whether training ran the runtime's collision guard after the action
    term; a deployment then runs it too, since the policy learned to rely on it. ``dwa_fallback``
    records that the policy was selected and measured with the runtime's DWA fallback
    (:class:`sim2real_runtime.nav_fallback.DwaFallback`); a deployment then runs it too."""
    lid = robot.lidar
    obs = [
        TermSpec(
            "lidar",
            LidarSectors.kind,
            num_sectors,
            "m",
            "/scan (sensor_msgs/msg/LaserScan).ranges",
            {
                "num_beams": lid.num_beams,
                "fov_rad": lid.fov_rad,
                "range_min_m": lid.range_min_m,
                "range_max_m": lid.range_max_m,
                "range_clip_m": range_clip_m,
                "num_sectors": num_sectors,
                "pooling": "min",
                "invalid_reading": "no_return",
            },
        ),
        TermSpec(
            "goal",
            GoalPolar.kind,
            3,
            "m, 1, 1",
            "/goal_pose (geometry_msgs/msg/PoseStamped) in /odom (nav_msgs/msg/Odometry) frame",
            {"distance_clip_m": goal_clip_m, "layout": ["distance", "cos_bearing", "sin_bearing"]},
        ),
        TermSpec(
            "base_twist",
            BaseTwist.kind,
            2,
            "m/s, rad/s",
            "/odom (nav_msgs/msg/Odometry).twist.twist",
            {"layout": ["linear.x", "angular.z"]},
        ),
        TermSpec(
            "previous_action", PreviousAction.kind, 2, "1", "this policy's previous output, clipped", {}
        ),
    ]
    for name, v in (("v_limits_mps[0]", v_limits_mps[0]), ("v_limits_mps[1]", v_limits_mps[1])):
        if not robot.min_linear_speed_mps <= v <= robot.max_linear_speed_mps:
            raise ValueError(f"{name}={v} is outside the robot's speed limits")
    if not 0 < w_max_radps <= robot.max_angular_speed_radps:
        raise ValueError(f"w_max_radps={w_max_radps} is outside (0, {robot.max_angular_speed_radps}]")
    action = TermSpec(
        "cmd_vel",
        DiffDriveTwistAction.kind,
        2,
        "m/s, rad/s",
        "/cmd_vel (geometry_msgs/msg/Twist)",
        {
            "layout": ["linear.x", "angular.z"],
            "low": [v_limits_mps[0], -w_max_radps],
            "high": [v_limits_mps[1], w_max_radps],
            "accel": [robot.max_linear_accel_mps2, robot.max_angular_accel_radps2],
            "dt_s": 1.0 / control_rate_hz,
            "collision_guard": collision_guard,
            "dwa_fallback": dwa_fallback,
        },
    )
    return obs, action
