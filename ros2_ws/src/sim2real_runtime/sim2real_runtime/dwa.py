"""A Dynamic Window Approach local planner, as Nav2's DWB and move_base's dwa_local_planner do it.

Each control period the planner samples (v, w) commands inside the *dynamic window* (what the
base can reach within one period under its acceleration limits, cut to its velocity limits),
rolls every sample out at constant velocity for ``sim_time_s``, discards those that would bring a
scan point into the footprint rectangle inflated by ``clearance_m``, scores the rest with
DWB-like critics and returns the cheapest. Obstacles are only what the lidar sees now (the scan,
in the robot frame); there is no map and no global plan.

The geometry is exact rather than sampled: in the robot's frame a static point moves on a circle
about the instantaneous centre of rotation (ICR) ``(0, v/w)`` (on a line when w = 0), so first
contact and closest approach between each point and the rectangle follow in closed form from a few
candidate angles (arc ends, the circle's extreme points, the points nearest the corners, the
crossings of the rectangle's edges). As in the classic DWA (Fox et al. 1997) the acceleration
within the first control period is neglected.

Critics (each normalised to about [0, 1] or [-1, 1], then weighted):

- goal distance (DWB GoalDist): change of the distance to the goal over the rollout;
- goal heading (DWB GoalAlign): how much closer to the goal a point ``heading_lookahead_m`` ahead
  of the final pose is than the final pose itself;
- free path (classic DWA's ``dist``): how far the footprint could follow the sample's curve before
  touching anything, up to ``free_path_horizon_m``;
- proximity (DWB's footprint cost over an inflation layer): ``1 - (d - clearance) / influence`` for
  the rollout's closest approach ``d``;
- speed preference (classic DWA's velocity term): ``(v_max - v) / v_max``.

DWB's path critics follow a global plan; without one, the goal critics aim at the goal when the
straight corridor to it looks free for ``local_goal_distance_m``, else at the open direction
nearest to it (keeping to one side while that stays open).

Recovery, as Nav2's behaviours: when no sample is admissible, when the best one is to stand still,
or when the progress checker sees no progress for ``progress_timeout_s``, the planner spins in
place toward the most open side (else the other side), else backs up (only into space the lidar
sees or the robot has just driven through), else brakes to a stop; every recovery command must be
admissible too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .robot import RobotConfig

_TWO_PI = 2.0 * math.pi
_W_STRAIGHT = 1e-6
"""Yaw rates below this (rad/s) are rolled out as straight lines (deviation < 1e-5 m)."""


@dataclass(frozen=True)
class DWAConfig:
    """Tuning of :class:`DWAPlanner` (DWB / dwa_local_planner parameters, units in the names)."""

    sim_time_s: float = 1.5
    """Rollout horizon of every sampled command (s); DWB's ``sim_time``."""
    vx_samples: int = 6
    """Linear speeds sampled across the dynamic window (the window's ends included)."""
    vth_samples: int = 15
    """Yaw rates sampled across the dynamic window; w = 0 is added when inside the window."""
    goal_distance_weight: float = 1.0
    """Weight of the goal-distance critic: change of distance to the goal over the rollout,
    divided by the longest travel the dynamic window allows now (so about [-1, 1])."""
    goal_heading_weight: float = 0.8
    """Weight of the goal-heading critic: (distance to goal from a point ``heading_lookahead_m``
    ahead of the final pose - distance from the final pose) / ``heading_lookahead_m``, in [-1, 1],
    faded out as the final pose comes within ``heading_lookahead_m`` of the goal."""
    obstacle_weight: float = 0.4
    """Weight of the proximity critic, in [0, 1]: 1 when the rollout's closest approach is
    ``clearance_m``, 0 at and beyond ``clearance_m + obstacle_influence_m``."""
    free_path_weight: float = 0.8
    """Weight of the free-path critic (classic DWA's ``dist``): ``1 - L / free_path_horizon_m``
    for the length L the footprint can follow the sample's curve before touching an obstacle."""
    free_path_horizon_m: float = 3.0
    """Free path lengths are measured up to this (m, along the footprint corner's path)."""
    speed_weight: float = 0.3
    """Weight of the speed preference ``(v_max - v) / v_max``."""
    clearance_m: float = 0.05
    """Margin (m) by which the footprint rectangle is inflated on every side: no rollout may bring
    a scan point into the inflated rectangle."""
    obstacle_influence_m: float = 0.5
    """Distance (m) beyond the clearance over which the obstacle critic decays to 0."""
    heading_lookahead_m: float = 0.3
    """Distance (m) of the goal-heading critic's point ahead of the final pose (DWB's
    ``forward_point_distance`` is 0.325 m)."""
    local_goal_distance_m: float = 2.0
    """How far ahead (m) the straight corridor toward the goal must be free for the goal critics to
    aim at the goal itself; otherwise they aim at a point this far along the open direction nearest
    to the goal (a scan-based stand-in for the global path DWB's path critics follow). 0 disables."""
    max_speed_mps: float | None = None
    """Forward speed limit (m/s) below the robot's own, e.g. 0.5 for BARN's DWA baseline."""
    max_yaw_rate_radps: float | None = None
    """Yaw rate limit (rad/s) below the robot's own."""
    min_speed_mps: float = 0.0
    """Lowest sampled linear speed (m/s): 0 never reverses (a 270-degree lidar does not see behind);
    negative values allow reversing down to the robot's own limit."""
    recovery_yaw_rate_radps: float = 1.0
    """Yaw rate (rad/s) of the spin recovery, clipped to the limits and the dynamic window."""
    recovery_check_time_s: float = 0.5
    """Horizon (s) over which each recovery command must be admissible (the rest of the spin or
    backup must be collision-free as well)."""
    recovery_spin_rad: float = 1.0
    """Angle (rad) a spin recovery turns before the planner samples again (Nav2 spins 1.57)."""
    recovery_backup_m: float = 0.15
    """Distance (m) the backup recovery reverses when neither spin is possible; only for robots
    that can reverse (whatever ``min_speed_mps``). Checked against the scan; where the lidar does
    not see behind, it only reverses along the straight run the robot has just driven."""
    recovery_backup_speed_mps: float = 0.1
    """Speed (m/s) of the backup recovery."""
    progress_radius_m: float = 0.1
    """Progress checker (Nav2's): the robot must get this far (m) from where it was ..."""
    progress_timeout_s: float = 3.0
    """... within this time (s), or a recovery starts."""
    stall_speed_fraction: float = 0.01
    """The best sample counts as standing still (a stall, which starts a recovery while the goal is
    farther than ``heading_lookahead_m``) when |v| and |w| are below this fraction of their limits."""

    def __post_init__(self) -> None:
        positive = ("sim_time_s", "recovery_check_time_s", "recovery_spin_rad", "progress_timeout_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.vx_samples < 1 or self.vth_samples < 1:
            raise ValueError("vx_samples and vth_samples must be >= 1")
        if self.clearance_m < 0:
            raise ValueError(f"clearance_m must be >= 0, got {self.clearance_m}")
        if min(self.obstacle_influence_m, self.heading_lookahead_m, self.free_path_horizon_m) <= 0:
            raise ValueError("obstacle_influence_m, heading_lookahead_m and free_path_horizon_m must be > 0")
        if self.min_speed_mps > 0:
            raise ValueError(f"min_speed_mps must be <= 0, got {self.min_speed_mps}")
        non_negative = ("local_goal_distance_m", "recovery_backup_m", "progress_radius_m")
        for name in (*non_negative, "stall_speed_fraction"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not (self.recovery_yaw_rate_radps > 0 and self.recovery_backup_speed_mps > 0):
            raise ValueError("recovery_yaw_rate_radps and recovery_backup_speed_mps must be > 0")


def _box_distance(x: np.ndarray, y: np.ndarray, half_x: float, half_y: float) -> np.ndarray:
    """Distance (m) from points to the box |x| <= half_x, |y| <= half_y (0 inside)."""
    gx = np.maximum(np.abs(x) - half_x, 0.0)
    gy = np.maximum(np.abs(y) - half_y, 0.0)
    # sqrt of squares: np.hypot is several times slower and its overflow safety is not needed.
    return np.sqrt(gx * gx + gy * gy)


@dataclass
class _ArcPairs:
    """(trajectory, point) pairs of turning trajectories that may come close, with their geometry.

    In the robot's frame a static point turns by -w t about the ICR c = (0, cy), cy = v / w, on a
    circle of radius ``rho`` starting at angle ``phi0`` (about c).
    """

    traj: np.ndarray
    point: np.ndarray
    cy: np.ndarray
    sgn: np.ndarray
    abs_w: np.ndarray
    sweep: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    rho: np.ndarray
    phi0: np.ndarray

    def turn_to(self, psi: np.ndarray | float) -> np.ndarray:
        """Angle in [0, 2 pi) the point turns (in its direction of motion) before reaching ``psi``."""
        turn = self.sgn * (self.phi0 - psi)
        # turn mod 2 pi, written out: np.mod on floats is several times slower.
        return turn - _TWO_PI * np.floor(turn * (1.0 / _TWO_PI))

    def edge_crossings(self, half_x: float, half_y: float) -> list[tuple[np.ndarray, np.ndarray]]:
        """The circles' crossings of the box edges: (valid [M], angle psi [M]) per candidate."""
        out = []
        rho = self.rho
        rho_safe = np.maximum(rho, 1e-12)
        for xe in (half_x, -half_x):
            disc = rho * rho - xe * xe
            root = np.sqrt(np.maximum(disc, 0.0))
            base = np.arccos(np.clip(xe / rho_safe, -1.0, 1.0))
            for branch in (1.0, -1.0):
                out.append(((disc >= 0) & (np.abs(self.cy + branch * root) <= half_y), branch * base))
        for ye in (half_y, -half_y):
            u = ye - self.cy
            disc = rho * rho - u * u
            root = np.sqrt(np.maximum(disc, 0.0))
            base = np.arcsin(np.clip(u / rho_safe, -1.0, 1.0))
            out.append(((disc >= 0) & (root <= half_x), base))
            out.append(((disc >= 0) & (root <= half_x), math.pi - base))
        return out


def _arc_pairs(
    v: np.ndarray,
    w: np.ndarray,
    arcs: np.ndarray,
    duration_s: float,
    points: np.ndarray,
    r2: np.ndarray,
    half_x: float,
    half_y: float,
    cap_m: float,
) -> _ArcPairs:
    """Pairs of turning trajectories ``arcs`` and points that can come within ``cap_m`` of the box."""
    px, py = points[:, 0], points[:, 1]
    cy_t = v[arcs] / w[arcs]
    dyc = py[None, :] - cy_t[:, None]
    rho2_full = px[None, :] ** 2 + dyc * dyc
    # The box lies between radii r_lo and r_hi of c, so the point's circle must pass within cap_m
    # of that annulus; and no part of the box gets farther from the origin than the path length
    # plus its circumradius.
    r_lo = np.maximum(np.abs(cy_t) - half_y, 0.0) - cap_m
    r_hi = np.hypot(half_x, np.abs(cy_t) + half_y) + cap_m
    reach = np.abs(v[arcs]) * duration_s + math.hypot(half_x, half_y) + cap_m
    near = (rho2_full >= (np.sign(r_lo) * r_lo * r_lo)[:, None]) & (rho2_full <= (r_hi * r_hi)[:, None])
    near &= r2[None, :] <= (reach * reach)[:, None]
    ti, pj = np.nonzero(near)
    cy = cy_t[ti]
    x0, y0 = px[pj], py[pj]
    w_pair = w[arcs][ti]
    return _ArcPairs(
        traj=arcs[ti],
        point=pj,
        cy=cy,
        sgn=np.sign(w_pair),
        abs_w=np.abs(w_pair),
        sweep=np.abs(w_pair) * duration_s,
        x0=x0,
        y0=y0,
        rho=np.sqrt(rho2_full[ti, pj]),
        phi0=np.arctan2(y0 - cy, x0),
    )


def _prepare(
    v: np.ndarray,
    w: np.ndarray,
    duration_s: float,
    points: np.ndarray,
    half_x: float,
    cap_m: float,
    half_y: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(v, w, indices of points within any trajectory's reach, their squared norms)."""
    v = np.asarray(v, dtype=float)
    w = np.asarray(w, dtype=float)
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    reach = np.abs(v).max(initial=0.0) * duration_s + math.hypot(half_x, half_y) + cap_m
    r2 = np.einsum("ij,ij->i", points, points)
    keep = np.nonzero(r2 <= reach * reach)[0]
    return v, w, keep, r2[keep]


def sweep_distances(
    v: np.ndarray,
    w: np.ndarray,
    duration_s: float,
    points: np.ndarray,
    half_x: float,
    half_y: float,
    cap_m: float,
) -> np.ndarray:
    """Closest approach of each point to a rectangle moving at constant (v, w), exactly.

    The rectangle |x| <= half_x, |y| <= half_y is centred on base_link; it starts at the origin
    of the frame of ``points`` facing +x and moves at constant speed ``v`` and yaw rate ``w`` for
    ``duration_s``.

    Args:
        v, w: commands [N] (m/s, rad/s).
        duration_s: rollout time (s).
        points: static points [P, 2] in the rectangle's initial frame (m).
        half_x, half_y: half extents of the rectangle (m).
        cap_m: distances at or beyond this are returned as ``cap_m`` (not computed exactly).

    Returns:
        float [N, P]: min over the motion of the distance from point to rectangle (m), 0 when the
        point enters it.
    """
    v, w, keep, r2 = _prepare(v, w, duration_s, points, half_x, cap_m, half_y)
    out = np.full((len(v), len(points)), cap_m)
    if len(keep) == 0 or len(v) == 0:
        return out
    pts = np.asarray(points, dtype=float)[keep]
    px, py = pts[:, 0], pts[:, 1]
    d_all = np.full((len(v), len(keep)), cap_m)
    straight = np.abs(w) < _W_STRAIGHT
    if straight.any():
        # The point slides along -x by s in [0, v T]: the x gap to the box is the gap between the
        # intervals, the y gap is constant.
        s = v[straight, None] * duration_s
        lo, hi = np.minimum(px, px - s), np.maximum(px, px - s)
        gap_x = np.maximum(np.maximum(lo - half_x, -half_x - hi), 0.0)
        gap_y = np.maximum(np.abs(py) - half_y, 0.0)
        d_all[straight] = np.minimum(np.sqrt(gap_x * gap_x + gap_y * gap_y), cap_m)
    arcs = np.nonzero(~straight)[0]
    if len(arcs):
        pr = _arc_pairs(v, w, arcs, duration_s, pts, r2, half_x, half_y, cap_m)
        rho, cy = pr.rho, pr.cy
        d = _box_distance(pr.x0, pr.y0, half_x, half_y)
        phi_end = pr.phi0 - pr.sgn * pr.sweep
        d = np.minimum(d, _box_distance(rho * np.cos(phi_end), cy + rho * np.sin(phi_end), half_x, half_y))
        # Interior minima of the distance along a circle: where the circle is tangent to an edge
        # direction (its extreme points) or nearest a corner.
        for psi, ex, ey in ((0.0, 1, 0), (0.5 * math.pi, 0, 1), (math.pi, -1, 0), (-0.5 * math.pi, 0, -1)):
            dd = _box_distance(rho * ex, cy + rho * ey, half_x, half_y)
            d = np.minimum(d, np.where(pr.turn_to(psi) <= pr.sweep, dd, np.inf))
        for qx, qy in ((half_x, half_y), (half_x, -half_y), (-half_x, half_y), (-half_x, -half_y)):
            psi = np.arctan2(qy - cy, qx)
            dd = _box_distance(rho * np.cos(psi), cy + rho * np.sin(psi), half_x, half_y)
            d = np.minimum(d, np.where(pr.turn_to(psi) <= pr.sweep, dd, np.inf))
        # The arc enters the box iff it crosses an edge (or starts inside, covered above).
        for valid, psi in pr.edge_crossings(half_x, half_y):
            d[valid & (pr.turn_to(psi) <= pr.sweep)] = 0.0
        d_all[pr.traj, pr.point] = np.minimum(d, cap_m)
    out[:, keep] = d_all
    return out


def first_contact(
    v: np.ndarray,
    w: np.ndarray,
    duration_s: float,
    points: np.ndarray,
    half_x: float,
    half_y: float,
) -> np.ndarray:
    """When each point first touches a rectangle moving at constant (v, w), exactly.

    Same motion and arguments as :func:`sweep_distances`.

    Returns:
        float [N, P]: time of first contact (s), 0 for points inside at the start, inf when there
        is none within ``duration_s``.
    """
    v, w, keep, r2 = _prepare(v, w, duration_s, points, half_x, 0.0, half_y)
    out = np.full((len(v), len(points)), np.inf)
    if len(keep) == 0 or len(v) == 0:
        return out
    pts = np.asarray(points, dtype=float)[keep]
    px, py = pts[:, 0], pts[:, 1]
    t_all = np.full((len(v), len(keep)), np.inf)
    straight = np.abs(w) < _W_STRAIGHT
    if straight.any():
        vs = v[straight, None]
        # Sliding along -x, a point meets the front face (v > 0) or the rear face (v < 0).
        gap = np.where(vs > 0, px - half_x, np.where(vs < 0, -half_x - px, np.inf))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where((gap >= 0) & (np.abs(py) <= half_y), gap / np.abs(vs), np.inf)
        t_all[straight] = np.where(t <= duration_s, t, np.inf)
    arcs = np.nonzero(~straight)[0]
    if len(arcs):
        pr = _arc_pairs(v, w, arcs, duration_s, pts, r2, half_x, half_y, 0.0)
        turn = np.full(len(pr.rho), np.inf)
        for valid, psi in pr.edge_crossings(half_x, half_y):
            turn = np.minimum(turn, np.where(valid, pr.turn_to(psi), np.inf))
        t = turn / pr.abs_w
        t_all[pr.traj, pr.point] = np.where(t <= duration_s, t, np.inf)
    inside = (np.abs(px) <= half_x) & (np.abs(py) <= half_y)
    t_all[:, inside] = 0.0
    out[:, keep] = t_all
    return out


def _reachable(x0: float, step: float, lo: float, hi: float) -> tuple[float, float]:
    """[x0 - step, x0 + step] cut to [lo, hi], or its end nearest to [lo, hi] if they are disjoint."""
    a, b = max(x0 - step, lo), min(x0 + step, hi)
    if a <= b:
        return a, b
    end = x0 + step if x0 + step < lo else x0 - step
    return end, end


def _thin(points: np.ndarray, cell_m: float) -> np.ndarray:
    """One point per ``cell_m`` grid cell (the first in scan order), shape [K, 2]."""
    if len(points) == 0:
        return points
    keys = np.floor(points / cell_m).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    return points[np.sort(first)]


def rollout_poses(v: np.ndarray, w: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Poses after moving at constant (v, w) from the origin facing +x.

    Args:
        v, w: commands [N] (m/s, rad/s); t: times [T] (s).

    Returns:
        float [N, T, 3]: x (m), y (m), yaw (rad).
    """
    v = np.asarray(v, dtype=float)[:, None]
    w = np.asarray(w, dtype=float)[:, None]
    th = w * np.asarray(t, dtype=float)[None, :]
    s = v * np.asarray(t, dtype=float)[None, :]
    small = np.abs(th) < 1e-9
    th_safe = np.where(small, 1.0, th)
    # sin(th)/th and (1 - cos th)/th, continuous through th = 0.
    fx = np.where(small, 1.0, np.sin(th_safe) / th_safe)
    fy = np.where(small, 0.5 * th, (1.0 - np.cos(th_safe)) / th_safe)
    return np.stack([s * fx, s * fy, th], axis=-1)


class DWAPlanner:
    """Dynamic Window Approach local planner for a differential-drive robot seen by its lidar.

    Args:
        robot: the robot (footprint, velocity and acceleration limits, lidar geometry).
        cfg: tuning.
        control_rate_hz: rate at which :meth:`compute` is called; one period is how far the
            dynamic window reaches.
    """

    def __init__(self, robot: RobotConfig, cfg: DWAConfig, control_rate_hz: float) -> None:
        if not control_rate_hz > 0:
            raise ValueError(f"control_rate_hz must be > 0, got {control_rate_hz}")
        self.robot = robot
        self.cfg = cfg
        self.dt_s = 1.0 / control_rate_hz
        self.v_max = robot.max_linear_speed_mps
        if cfg.max_speed_mps is not None:
            self.v_max = min(self.v_max, cfg.max_speed_mps)
        self.v_min = max(robot.min_linear_speed_mps, cfg.min_speed_mps)
        self.w_max = robot.max_angular_speed_radps
        if cfg.max_yaw_rate_radps is not None:
            self.w_max = min(self.w_max, cfg.max_yaw_rate_radps)
        if not (self.v_max > 0 and self.w_max > 0):
            raise ValueError("speed limits must be > 0")
        self.half_x = 0.5 * robot.footprint_length_m
        self.half_y = 0.5 * robot.footprint_width_m
        lid = robot.lidar
        angles = lid.beam_angles_rad()
        self._cos, self._sin = np.cos(angles), np.sin(angles)
        self.last_recovery = False
        """Whether the last :meth:`compute` command came from a recovery (spin, backup, brake)."""
        self._recovery: tuple[str, float, float] | None = None
        """Recovery in progress: ("spin", direction, angle left (rad)) or ("backup", -1, distance
        left (m))."""
        self._progress_xy: np.ndarray | None = None
        self._progress_steps = 0
        self._detour_side = 0.0
        """Side (+1 left, -1 right of the goal direction) of the current detour, 0 if none."""
        self._last_pose: np.ndarray | None = None
        self._run_m = 0.0
        """Length (m) of the straight forward run just driven: known-free space behind the robot."""
        self._run_yaw = 0.0
        self._sees_behind = lid.fov_rad >= 2.0 * math.pi - 2.0 * lid.angle_increment_rad
        n_dirs = max(2, math.ceil(lid.fov_rad / math.radians(2.0)) + 1)
        self._dir_angles = lid.angle_min_rad + np.arange(n_dirs) * (lid.fov_rad / (n_dirs - 1))

    def reset(self) -> None:
        """Forget recovery and progress state (call at the start of an episode)."""
        self._recovery = None
        self._progress_xy = None
        self._progress_steps = 0
        self._detour_side = 0.0
        self._last_pose = None
        self._run_m = 0.0
        self.last_recovery = False

    def dynamic_window(self, twist: np.ndarray) -> tuple[float, float, float, float]:
        """(v_lo, v_hi, w_lo, w_hi): commands reachable from ``twist`` within one period (m/s, rad/s).

        The reachable interval is cut to the configured limits; when it lies wholly outside them
        (e.g. reversing during a backup while ``min_speed_mps`` is 0, or above a lowered
        ``max_speed_mps``) the window is its end nearest to them: the hardest braking allowed.
        A measured twist beyond the robot's own limits is clipped to them first.
        """
        robot = self.robot
        v0 = min(max(float(twist[0]), robot.min_linear_speed_mps), robot.max_linear_speed_mps)
        w0 = min(max(float(twist[1]), -robot.max_angular_speed_radps), robot.max_angular_speed_radps)
        v_lo, v_hi = _reachable(v0, robot.max_linear_accel_mps2 * self.dt_s, self.v_min, self.v_max)
        w_lo, w_hi = _reachable(w0, robot.max_angular_accel_radps2 * self.dt_s, -self.w_max, self.w_max)
        return v_lo, v_hi, w_lo, w_hi

    def scan_points(self, ranges_m: np.ndarray) -> np.ndarray:
        """Valid scan returns as points [K, 2] in base_link (m).

        Non-finite readings and readings outside [range_min, range_max] are dropped, and so are
        points inside the footprint itself (self-returns or noise: a real obstacle cannot be there
        unless the robot already hit it).
        """
        r = np.asarray(ranges_m, dtype=float)
        lid = self.robot.lidar
        ok = np.isfinite(r) & (r >= lid.range_min_m) & (r <= lid.range_max_m)
        pts = np.stack([lid.mount_x_m + r[ok] * self._cos[ok], r[ok] * self._sin[ok]], axis=1)
        inside = (np.abs(pts[:, 0]) < self.half_x) & (np.abs(pts[:, 1]) < self.half_y)
        return pts[~inside]

    def compute(
        self, pose: np.ndarray, twist: np.ndarray, goal_xy: np.ndarray, ranges_m: np.ndarray
    ) -> tuple[float, float]:
        """One control step.

        Args:
            pose: base_link pose [3] in the map frame: x (m), y (m), yaw (rad).
            twist: current velocity [2]: v (m/s), w (rad/s), e.g. from odometry.
            goal_xy: goal position [2] in the map frame (m).
            ranges_m: LaserScan ranges [num_beams] (m); inf / NaN / out-of-range mean no obstacle
                point.

        Returns:
            (v, w) command (m/s, rad/s): within the robot's velocity limits and reachable from
            ``twist`` within one control period; within :meth:`dynamic_window` except while a
            backup recovery reverses below ``min_speed_mps``.
        """
        pose = np.asarray(pose, dtype=float)
        twist = np.asarray(twist, dtype=float)
        goal_xy = np.asarray(goal_xy, dtype=float)
        ranges_m = np.asarray(ranges_m)
        if pose.shape != (3,) or twist.shape != (2,) or goal_xy.shape != (2,):
            raise ValueError("pose must have shape (3,), twist (2,), goal_xy (2,)")
        if ranges_m.shape != (self.robot.lidar.num_beams,):
            raise ValueError(
                f"ranges_m must have shape ({self.robot.lidar.num_beams},), got {ranges_m.shape}"
            )
        if not (np.isfinite(pose).all() and np.isfinite(twist).all() and np.isfinite(goal_xy).all()):
            raise ValueError("pose, twist and goal_xy must be finite")
        cfg = self.cfg
        v_lo, v_hi, w_lo, w_hi = self.dynamic_window(twist)
        vs = np.linspace(v_lo, v_hi, cfg.vx_samples)
        ws = np.linspace(w_lo, w_hi, cfg.vth_samples)
        if w_lo <= 0.0 <= w_hi:
            ws = np.unique(np.append(ws, 0.0))
        v, w = (a.ravel() for a in np.meshgrid(vs, ws, indexing="ij"))

        # Goal in the robot frame.
        c, s = math.cos(pose[2]), math.sin(pose[2])
        dx, dy = goal_xy[0] - pose[0], goal_xy[1] - pose[1]
        gx, gy = c * dx + s * dy, -s * dx + c * dy

        self._track_run(pose)
        pts = self.scan_points(ranges_m)
        self.last_recovery = False
        if self._recovery is not None:
            cmd = self._continue_recovery(pts, twist)
            if cmd is not None:
                return cmd
        # Progress checker (as Nav2's): not getting anywhere for a while is a stall too.
        if self._progress_xy is None or math.dist(self._progress_xy, pose[:2]) > cfg.progress_radius_m:
            self._progress_xy, self._progress_steps = pose[:2].copy(), 0
        self._progress_steps += 1
        no_progress = self._progress_steps * self.dt_s > cfg.progress_timeout_s
        near_goal = math.hypot(gx, gy) <= cfg.heading_lookahead_m
        if no_progress and not near_goal:
            return self._start_recovery(pts, ranges_m, (gx, gy), twist)
        admissible, free_len = self._check(v, w, cfg.sim_time_s, pts, with_free_path=True)
        if not admissible.any():
            return self._start_recovery(pts, ranges_m, (gx, gy), twist)
        v, w, free_len = v[admissible], w[admissible], free_len[admissible]
        gx, gy = self.local_goal(pts, (gx, gy))
        # The proximity critic only ranks admissible samples, so it reads a thinned scan: one point
        # per 5 cm cell (error <= 7 cm, small against obstacle_influence_m).
        cap = cfg.clearance_m + cfg.obstacle_influence_m
        closest = sweep_distances(v, w, cfg.sim_time_s, _thin(pts, 0.05), self.half_x, self.half_y, cap)
        closest = closest.min(axis=1) if closest.shape[1] else np.full(len(v), cap)

        t_end = cfg.sim_time_s
        end = rollout_poses(v, w, np.array([t_end]))[:, 0]
        dist_end = np.hypot(gx - end[:, 0], gy - end[:, 1])
        # Progress relative to the most the window allows now, so that it still counts at low
        # speed (a stop is always the obstacle critics' favourite).
        travel = max(float(np.abs(v).max()) * t_end, 1e-3)
        goal_cost = (dist_end - math.hypot(gx, gy)) / travel
        look = cfg.heading_lookahead_m
        ahead_x = end[:, 0] + look * np.cos(end[:, 2])
        ahead_y = end[:, 1] + look * np.sin(end[:, 2])
        heading_cost = (np.hypot(gx - ahead_x, gy - ahead_y) - dist_end) / look
        # Heading means nothing once the rollout ends at the goal (DWB drops its alignment critics
        # near the goal); without this fade the robot would stop just short of it.
        heading_cost *= np.minimum(dist_end / look, 1.0)
        obstacle_cost = np.clip(1.0 - (closest - cfg.clearance_m) / cfg.obstacle_influence_m, 0.0, 1.0)
        free_path_cost = 1.0 - np.minimum(free_len, cfg.free_path_horizon_m) / cfg.free_path_horizon_m
        speed_cost = (self.v_max - v) / self.v_max
        total = (
            cfg.goal_distance_weight * goal_cost
            + cfg.goal_heading_weight * heading_cost
            + cfg.obstacle_weight * obstacle_cost
            + cfg.free_path_weight * free_path_cost
            + cfg.speed_weight * speed_cost
        )
        best = int(np.argmin(total))
        stalled = (
            abs(v[best]) < cfg.stall_speed_fraction * self.v_max
            and abs(w[best]) < cfg.stall_speed_fraction * self.w_max
            and not near_goal
        )
        if stalled:
            # Standing still is a local minimum of the critics (e.g. facing an obstacle right in
            # front of the goal): recover as Nav2 does when its progress checker fails.
            return self._start_recovery(pts, ranges_m, (gx, gy), twist)
        return float(v[best]), float(w[best])

    def _check(
        self, v: np.ndarray, w: np.ndarray, duration_s: float, pts: np.ndarray, with_free_path: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which samples are admissible over ``duration_s``, and their free path length.

        A sample is admissible when no point enters the footprint inflated by ``clearance_m``
        during the rollout. A point already inside that margin (the robot got there, e.g. squeezing
        through a gap) only forbids getting closer to it than now, so that the robot can always
        move out of the margin instead of freezing.

        The free path length (classic DWA's ``dist``) is how far the footprint can follow the
        sample's curve, at unit speed of its farthest corner, before touching the inflated
        footprint: up to ``free_path_horizon_m`` (inf beyond); 0 for the stop sample.

        Returns:
            (admissible bool [N], free path length [N] (m)); the lengths only if ``with_free_path``.
        """
        c = self.cfg.clearance_m
        hx, hy = self.half_x + c, self.half_y + c
        inside = (np.abs(pts[:, 0]) < hx) & (np.abs(pts[:, 1]) < hy)
        far, near = pts[~inside], pts[inside]
        # Rescale every sample to unit speed of the footprint's farthest corner: contact "times"
        # are then path lengths along the curve, comparable between samples.
        speed = np.hypot(v, w * math.hypot(self.half_x, self.half_y))
        moving = speed > 1e-9
        free_len = np.zeros(len(v))
        horizon = float(speed.max(initial=0.0)) * duration_s
        if with_free_path:
            horizon = max(horizon, self.cfg.free_path_horizon_m)
        if moving.any():
            contact = first_contact(
                v[moving] / speed[moving], w[moving] / speed[moving], horizon, far, hx, hy
            )
            free_len[moving] = contact.min(axis=1, initial=np.inf)
        # A sample that does not move touches nothing new.
        admissible = ~moving | (free_len > speed * duration_s)
        if len(near):
            now = _box_distance(near[:, 0], near[:, 1], self.half_x, self.half_y)
            dist = sweep_distances(v, w, duration_s, near, self.half_x, self.half_y, c)
            admissible &= ~(dist < now[None, :] - 1e-9).any(axis=1)
        return admissible, free_len

    def _track_run(self, pose: np.ndarray) -> None:
        """Extend or restart the straight forward run from the odometry pose."""
        last, self._last_pose = self._last_pose, pose.copy()
        if last is None:
            self._run_m, self._run_yaw = 0.0, float(pose[2])
            return
        step = pose[:2] - last[:2]
        forward = step[0] * math.cos(last[2]) + step[1] * math.sin(last[2])
        if forward >= 0.0 and abs(math.remainder(pose[2] - self._run_yaw, 2.0 * math.pi)) < 0.3:
            self._run_m += float(np.hypot(*step))
        else:
            self._run_m, self._run_yaw = 0.0, float(pose[2])

    def _start_recovery(
        self, pts: np.ndarray, ranges_m: np.ndarray, goal_rf: tuple[float, float], twist: np.ndarray
    ) -> tuple[float, float]:
        """Spin toward the most open side, else the other side, else back up, else brake to a stop."""
        self._progress_xy = None
        side = self._open_side(ranges_m, goal_rf)
        options: list[tuple[str, float, float]] = [
            ("spin", side, self.cfg.recovery_spin_rad),
            ("spin", -side, self.cfg.recovery_spin_rad),
        ]
        # Reverse only into space the lidar sees or the robot has just driven through.
        backup_m = min(self.cfg.recovery_backup_m, math.inf if self._sees_behind else self._run_m)
        if self.robot.min_linear_speed_mps < 0 and backup_m >= 0.02:
            options.append(("backup", -1.0, backup_m))
        for option in options:
            self._recovery = option
            cmd = self._continue_recovery(pts, twist)
            if cmd is not None:
                return cmd
        self.last_recovery = True
        v_lo, v_hi, w_lo, w_hi = self.dynamic_window(twist)
        return min(max(0.0, v_lo), v_hi), min(max(0.0, w_lo), w_hi)

    def _continue_recovery(self, pts: np.ndarray, twist: np.ndarray) -> tuple[float, float] | None:
        """One step of the recovery in progress, braking as hard as the window allows.

        Returns None (and ends the recovery) when it is done, or when its next command is not
        admissible over ``recovery_check_time_s`` or the rest of it (the remaining spin angle or
        backup distance) would not be collision-free.
        """
        assert self._recovery is not None
        kind, sgn, left = self._recovery
        cfg = self.cfg
        robot = self.robot
        v_lo, v_hi, w_lo, w_hi = self.dynamic_window(twist)
        if kind == "spin":
            v_cmd = min(max(0.0, v_lo), v_hi)
            rate = min(cfg.recovery_yaw_rate_radps, self.w_max)
            w_cmd = min(max(sgn * rate, w_lo), w_hi)
            done = abs(w_cmd) * self.dt_s if w_cmd * sgn > 0 else 0.0
            rest_v, rest_w = 0.0, sgn * rate
            rest_s = max(left, 0.0) / rate
        else:
            # Reversing may go below min_speed_mps, down to the robot's own limit.
            v0 = min(max(float(twist[0]), robot.min_linear_speed_mps), robot.max_linear_speed_mps)
            b_lo, b_hi = _reachable(
                v0, robot.max_linear_accel_mps2 * self.dt_s, robot.min_linear_speed_mps, self.v_max
            )
            speed = min(cfg.recovery_backup_speed_mps, -robot.min_linear_speed_mps)
            v_cmd = min(max(-speed, b_lo), b_hi)
            w_cmd = min(max(0.0, w_lo), w_hi)
            done = -v_cmd * self.dt_s if v_cmd < 0 else 0.0
            rest_v, rest_w = -speed, 0.0
            rest_s = max(left, 0.0) / speed
        if left <= 0.0:
            self._recovery = None
            return None
        ok, _ = self._check(np.array([v_cmd]), np.array([w_cmd]), cfg.recovery_check_time_s, pts)
        rest_ok, _ = self._check(np.array([rest_v]), np.array([rest_w]), max(rest_s, 1e-3), pts)
        if not (ok[0] and rest_ok[0]):
            self._recovery = None
            return None
        self._recovery = (kind, sgn, left - done)
        self.last_recovery = True
        return float(v_cmd), float(w_cmd)

    def free_distances(self, pts: np.ndarray) -> np.ndarray:
        """Free distance (m) of straight motion from base_link along each of ``_dir_angles``.

        How far the footprint, inflated by ``clearance_m`` and turned to the direction, could slide
        along it before touching a scan point; ``range_max_m`` if never. Shape [num_dirs].
        """
        c = self.cfg.clearance_m
        horizon = self.robot.lidar.range_max_m
        if len(pts) == 0:
            return np.full(len(self._dir_angles), horizon)
        cos, sin = np.cos(self._dir_angles)[:, None], np.sin(self._dir_angles)[:, None]
        ahead = cos * pts[None, :, 0] + sin * pts[None, :, 1]
        lateral = -sin * pts[None, :, 0] + cos * pts[None, :, 1]
        blocking = (np.abs(lateral) <= self.half_y + c) & (ahead > 0.0)
        free = np.where(blocking, ahead - (self.half_x + c), np.inf).min(axis=1)
        return np.clip(free, 0.0, horizon)

    def local_goal(self, pts: np.ndarray, goal_rf: tuple[float, float]) -> tuple[float, float]:
        """Where the goal critics aim (robot frame, m): the goal when the way to it looks open,
        else a point ``local_goal_distance_m`` along the open direction nearest to it.

        A detour keeps to the side it first chose (hysteresis) while that side stays open, so that
        the planner does not dither between two equal gaps.
        """
        reach = min(math.hypot(*goal_rf), self.cfg.local_goal_distance_m)
        goal_angle = math.atan2(goal_rf[1], goal_rf[0])
        lid = self.robot.lidar
        if reach <= 0.0 or abs(goal_angle) > 0.5 * lid.fov_rad:
            # Not visible (or disabled): aim at the goal; turning toward it will show the way.
            self._detour_side = 0.0
            return goal_rf
        free = self.free_distances(pts)
        offset = self._dir_angles - goal_angle
        toward = int(np.argmin(np.abs(offset)))
        if free[toward] >= reach:
            self._detour_side = 0.0
            return goal_rf
        open_dirs = free >= min(reach, 0.9 * float(free.max()))
        cost = np.abs(offset) + np.where(
            (self._detour_side != 0.0) & (np.sign(offset) != self._detour_side), 0.5, 0.0
        )
        cost[~open_dirs] = np.inf
        pick = int(np.argmin(cost))
        self._detour_side = float(np.sign(offset[pick])) or self._detour_side
        ang = float(self._dir_angles[pick])
        return reach * math.cos(ang), reach * math.sin(ang)

    def _open_side(self, ranges_m: np.ndarray, goal_rf: tuple[float, float]) -> float:
        """+1 (turn left) or -1 (right): toward the most open direction nearest to the goal."""
        pts = self.scan_points(ranges_m)
        free = self.free_distances(pts)
        goal_angle = math.atan2(goal_rf[1], goal_rf[0])
        best = float(free.max())
        if best <= 0.0:
            return 1.0 if goal_angle >= 0 else -1.0
        cand = np.nonzero(free >= 0.9 * best)[0]
        ang = self._dir_angles[cand]
        pick = ang[np.argmin(np.abs(np.angle(np.exp(1j * (ang - goal_angle)))))]
        return 1.0 if pick >= 0 else -1.0
