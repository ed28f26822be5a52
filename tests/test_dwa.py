"""DWA local planner: limits, dynamic window, exact collision geometry, closed-loop navigation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim2real_runtime.dwa import DWAConfig, DWAPlanner, first_contact, rollout_poses, sweep_distances
from sim2real_runtime.robot import RobotConfig, load_robot

RATE_HZ = 20.0
JACKAL = load_robot("jackal")
BURGER = load_robot("turtlebot3_burger")


# ---------------------------------------------------------------------------------- helpers


def _footprint_distance(robot: RobotConfig, poses: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance (m) from every point to the footprint at every pose: [T, P] (0 inside)."""
    dx = points[None, :, 0] - poses[:, None, 0]
    dy = points[None, :, 1] - poses[:, None, 1]
    c, s = np.cos(poses[:, 2])[:, None], np.sin(poses[:, 2])[:, None]
    lx, ly = c * dx + s * dy, -s * dx + c * dy
    gx = np.maximum(np.abs(lx) - robot.footprint_length_m / 2, 0.0)
    gy = np.maximum(np.abs(ly) - robot.footprint_width_m / 2, 0.0)
    return np.hypot(gx, gy)


def _raycast_circles(robot: RobotConfig, pose: np.ndarray, circles: np.ndarray) -> np.ndarray:
    """LaserScan ranges [num_beams] of the robot's lidar at ``pose`` against cylinders [N, 3]."""
    lid = robot.lidar
    ang = lid.beam_angles_rad() + pose[2]
    origin = pose[:2] + lid.mount_x_m * np.array([math.cos(pose[2]), math.sin(pose[2])])
    d = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    oc = circles[None, :, :2] - origin
    b = (d[:, None, :] * oc).sum(-1)
    c = (oc**2).sum(-1) - circles[None, :, 2] ** 2
    disc = b * b - c
    t = b - np.sqrt(np.maximum(disc, 0.0))
    t = np.where((disc >= 0) & (t > 0), t, np.inf).min(axis=1)
    return np.where(t <= lid.range_max_m, t, np.inf)


def _ranges_for_points(robot: RobotConfig, points: np.ndarray) -> np.ndarray:
    """Ranges that put a return at each given base_link point (one per beam, nearest beam)."""
    lid = robot.lidar
    rel = points - np.array([lid.mount_x_m, 0.0])
    ang = np.arctan2(rel[:, 1], rel[:, 0])
    rng = np.hypot(rel[:, 0], rel[:, 1])
    ranges = np.full(lid.num_beams, np.inf)
    idx = np.round((ang - lid.angle_min_rad) / lid.angle_increment_rad).astype(int)
    ok = (idx >= 0) & (idx < lid.num_beams)
    for i, r in zip(idx[ok], rng[ok], strict=True):
        ranges[i] = min(ranges[i], r)
    return ranges


def _scan_points(robot: RobotConfig, ranges: np.ndarray) -> np.ndarray:
    lid = robot.lidar
    ang = lid.beam_angles_rad()
    ok = np.isfinite(ranges) & (ranges >= lid.range_min_m) & (ranges <= lid.range_max_m)
    return np.stack([lid.mount_x_m + ranges[ok] * np.cos(ang[ok]), ranges[ok] * np.sin(ang[ok])], axis=1)


def _step(pose: np.ndarray, v: float, w: float, dt: float) -> np.ndarray:
    """Exact unicycle motion at constant (v, w) for dt."""
    local = rollout_poses(np.array([v]), np.array([w]), np.array([dt]))[0, 0]
    c, s = math.cos(pose[2]), math.sin(pose[2])
    return np.array(
        [pose[0] + c * local[0] - s * local[1], pose[1] + s * local[0] + c * local[1], pose[2] + local[2]]
    )


def _assert_in_window(
    planner: DWAPlanner, robot: RobotConfig, twist: np.ndarray, cmd: tuple[float, float]
) -> None:
    v, w = cmd
    dt = 1.0 / RATE_HZ
    eps = 1e-9
    assert robot.min_linear_speed_mps - eps <= v <= robot.max_linear_speed_mps + eps
    assert abs(w) <= robot.max_angular_speed_radps + eps
    assert abs(v - twist[0]) <= robot.max_linear_accel_mps2 * dt + eps
    assert abs(w - twist[1]) <= robot.max_angular_accel_radps2 * dt + eps
    if not planner.last_recovery:  # a backup may reverse below min_speed_mps
        v_lo, v_hi, w_lo, w_hi = planner.dynamic_window(twist)
        assert v_lo - eps <= v <= v_hi + eps and w_lo - eps <= w <= w_hi + eps


# --------------------------------------------------------------------------- exact geometry


@pytest.mark.parametrize("seed", range(4))
def test_sweep_geometry_matches_dense_sampling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    hx, hy = 0.254, 0.215
    v = rng.uniform(-2, 2, 8)
    w = rng.uniform(-4, 4, 8)
    w[0], v[1], w[2], v[3], w[3] = 0.0, 0.0, 1e-9, 0.0, 0.0  # straight, spin, near-straight, stop
    duration = rng.uniform(0.3, 2.5)
    pts = rng.uniform(-2.5, 2.5, (60, 2))
    t = np.linspace(0.0, duration, 3001)
    poses = rollout_poses(v, w, t)  # [N, T, 3]
    robot = JACKAL
    dense = np.stack([_footprint_distance(robot, poses[i], pts) for i in range(len(v))])  # [N, T, P]
    np.testing.assert_allclose(
        sweep_distances(v, w, duration, pts, hx, hy, 10.0), dense.min(axis=1), atol=2e-3
    )
    capped = sweep_distances(v, w, duration, pts, hx, hy, 0.3)
    np.testing.assert_allclose(capped, np.minimum(dense.min(axis=1), 0.3), atol=2e-3)
    inside = dense <= 0.0
    first = np.where(inside.any(axis=1), t[np.argmax(inside, axis=1)], np.inf)
    got = first_contact(v, w, duration, pts, hx, hy)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(first))
    both = np.isfinite(first)
    np.testing.assert_allclose(got[both], first[both], atol=2e-3)


# ------------------------------------------------------------------------------- behaviour


def test_open_field_goal_ahead_accelerates_to_max_speed() -> None:
    planner = DWAPlanner(JACKAL, DWAConfig(), RATE_HZ)
    pose, twist = np.zeros(3), np.zeros(2)
    goal = np.array([20.0, 0.0])
    ranges = np.full(JACKAL.lidar.num_beams, np.inf)
    for _ in range(20):  # 1 s; the Jackal reaches 2 m/s in 0.5 s
        cmd = planner.compute(pose, twist, goal, ranges)
        _assert_in_window(planner, JACKAL, twist, cmd)
        twist = np.array(cmd)
        pose = _step(pose, *cmd, 1.0 / RATE_HZ)
    assert twist[0] >= 0.95 * JACKAL.max_linear_speed_mps
    assert abs(twist[1]) < 0.05
    assert abs(pose[1]) < 0.05


def test_max_speed_override_is_respected() -> None:
    planner = DWAPlanner(JACKAL, DWAConfig(max_speed_mps=0.5), RATE_HZ)
    cmd = planner.compute(np.zeros(3), np.array([0.5, 0.0]), np.array([9.0, 0.0]), np.full(720, np.inf))
    assert cmd[0] == pytest.approx(0.5)


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_goal_behind_turns_toward_it(side: float) -> None:
    planner = DWAPlanner(JACKAL, DWAConfig(), RATE_HZ)
    pose, twist = np.zeros(3), np.zeros(2)
    goal = np.array([-5.0, 0.5 * side])
    ranges = np.full(JACKAL.lidar.num_beams, np.inf)
    v, w = planner.compute(pose, twist, goal, ranges)
    assert w * side > 0.3 and v < 0.1
    for _ in range(40):
        cmd = planner.compute(pose, twist, goal, ranges)
        _assert_in_window(planner, JACKAL, twist, cmd)
        twist = np.array(cmd)
        pose = _step(pose, *cmd, 1.0 / RATE_HZ)
    # Two seconds later it has turned most of the way round (DWA turns while it speeds up).
    heading_error = math.atan2(goal[1] - pose[1], goal[0] - pose[0]) - pose[2]
    assert abs(math.remainder(heading_error, 2 * math.pi)) < 0.5 * math.pi


@pytest.mark.parametrize("robot", [JACKAL, BURGER], ids=lambda r: r.name)
@pytest.mark.parametrize("v0", [0.0, 0.05, 0.1])
@pytest.mark.parametrize("w0", [-0.3, 0.0, 0.3])
def test_wall_ahead_never_commands_a_colliding_motion(robot: RobotConfig, v0: float, w0: float) -> None:
    cfg = DWAConfig()
    planner = DWAPlanner(robot, cfg, RATE_HZ)
    ys = np.linspace(-3.0, 3.0, 601)
    wall = np.stack([np.full_like(ys, 0.4), ys], axis=1)  # a wall 0.4 m ahead of base_link
    ranges = _ranges_for_points(robot, wall)
    points = _scan_points(robot, ranges)
    goal = np.array([5.0, 0.3])
    twist = np.array([v0, w0])
    cmd = planner.compute(np.zeros(3), twist, goal, ranges)
    _assert_in_window(planner, robot, twist, cmd)
    poses = rollout_poses(np.array([cmd[0]]), np.array([cmd[1]]), np.linspace(0, cfg.sim_time_s, 400))[0]
    closest = _footprint_distance(robot, poses, points).min()
    assert closest > 0.0, f"command {cmd} hits the wall"
    assert closest >= min(cfg.clearance_m, _footprint_distance(robot, poses[:1], points).min()) - 1e-6


def _box_outline(half_x: float, half_y: float, step: float = 0.01) -> np.ndarray:
    xs = np.arange(-half_x, half_x + 1e-9, step)
    ys = np.arange(-half_y, half_y + 1e-9, step)
    return np.concatenate(
        [np.stack([xs, np.full_like(xs, y)], 1) for y in (-half_y, half_y)]
        + [np.stack([np.full_like(ys, x), ys], 1) for x in (-half_x, half_x)]
    )


@pytest.mark.parametrize("robot", [JACKAL, BURGER], ids=lambda r: r.name)
def test_boxed_in_robot_never_collides(robot: RobotConfig) -> None:
    """Walls 7 cm from every side: too close to spin or to go anywhere. Whatever the planner tries
    (recoveries included), the body never touches a wall, not even the unseen one behind a
    270-degree lidar."""
    planner = DWAPlanner(robot, DWAConfig(), RATE_HZ)
    walls = _box_outline(robot.footprint_length_m / 2 + 0.07, robot.footprint_width_m / 2 + 0.07)
    pose, twist = np.zeros(3), np.zeros(2)
    dt = 1.0 / RATE_HZ
    recovered = False
    for _ in range(80):
        c, s = math.cos(pose[2]), math.sin(pose[2])
        rel = walls - pose[:2]
        local = np.stack([c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1]], axis=1)
        cmd = planner.compute(pose, twist, np.array([5.0, 0.0]), _ranges_for_points(robot, local))
        _assert_in_window(planner, robot, twist, cmd)
        recovered |= planner.last_recovery
        twist = np.array(cmd)
        poses = np.stack([_step(pose, *cmd, t) for t in np.linspace(0, dt, 5)])
        assert _footprint_distance(robot, poses, walls).min() > 0.0, f"touched a wall at {poses[-1]}"
        pose = poses[-1]
    assert recovered


def test_stuck_in_front_of_an_obstacle_spins_away() -> None:
    planner = DWAPlanner(JACKAL, DWAConfig(), RATE_HZ)
    # A post dead ahead, the goal right behind it: standing still is the critics' local minimum.
    circles = np.array([[0.8, 0.0, 0.25]])
    ranges = _raycast_circles(JACKAL, np.zeros(3), circles)
    pose, twist = np.zeros(3), np.zeros(2)
    for _ in range(100):
        cmd = planner.compute(pose, twist, np.array([3.0, 0.0]), ranges)
        _assert_in_window(planner, JACKAL, twist, cmd)
        twist = np.array(cmd)
        pose = _step(pose, *cmd, 1.0 / RATE_HZ)
        ranges = _raycast_circles(JACKAL, pose, circles)
    assert pose[0] > 1.0 or abs(pose[1]) > 0.3, f"never got away from the post: {pose}"


def test_input_validation() -> None:
    planner = DWAPlanner(JACKAL, DWAConfig(), RATE_HZ)
    with pytest.raises(ValueError, match="ranges_m"):
        planner.compute(np.zeros(3), np.zeros(2), np.ones(2), np.full(10, np.inf))
    with pytest.raises(ValueError, match="finite"):
        planner.compute(np.array([0.0, np.nan, 0.0]), np.zeros(2), np.ones(2), np.full(720, np.inf))
    with pytest.raises(ValueError):
        DWAConfig(min_speed_mps=0.1)
    with pytest.raises(ValueError):
        DWAPlanner(JACKAL, DWAConfig(), 0.0)


scan_values = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 0.05, 1e9, -1.0])


@settings(max_examples=60, deadline=None)
@given(
    robot_is_jackal=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
    v0=st.floats(-1.0, 1.0),
    w0=st.floats(-1.0, 1.0),
    odd_fraction=st.floats(0.0, 1.0),
    odd=scan_values,
    near=st.floats(0.1, 3.0),
    goal=st.tuples(st.floats(-20, 20), st.floats(-20, 20)),
    yaw=st.floats(-10.0, 10.0),
)
def test_outputs_stay_within_limits_for_any_scan(
    robot_is_jackal: bool,
    seed: int,
    v0: float,
    w0: float,
    odd_fraction: float,
    odd: float,
    near: float,
    goal: tuple[float, float],
    yaw: float,
) -> None:
    robot = JACKAL if robot_is_jackal else BURGER
    planner = DWAPlanner(robot, DWAConfig(), RATE_HZ)
    rng = np.random.default_rng(seed)
    n = robot.lidar.num_beams
    ranges = rng.uniform(0.0, near, n)
    ranges[rng.random(n) < odd_fraction] = odd
    ranges[rng.random(n) < 0.1] = rng.choice([np.nan, np.inf, -np.inf])
    twist = np.array([v0 * robot.max_linear_speed_mps, w0 * robot.max_angular_speed_radps])
    pose = np.array([rng.uniform(-5, 5), rng.uniform(-5, 5), yaw])
    cmd = planner.compute(pose, twist, np.array(goal), ranges.astype(np.float32))
    assert all(math.isfinite(x) for x in cmd)
    _assert_in_window(planner, robot, twist, cmd)


# ------------------------------------------------------------------------------ closed loop


def _drive(
    robot: RobotConfig, circles: np.ndarray, goal: np.ndarray, tolerance: float, limit_s: float
) -> float:
    """Closed loop: unicycle plant, analytic lidar. Returns the time to the goal (s)."""
    planner = DWAPlanner(robot, DWAConfig(), RATE_HZ)
    pose, twist = np.zeros(3), np.zeros(2)
    dt = 1.0 / RATE_HZ
    for k in range(int(limit_s * RATE_HZ)):
        ranges = _raycast_circles(robot, pose, circles)
        cmd = planner.compute(pose, twist, goal, ranges)
        _assert_in_window(planner, robot, twist, cmd)
        twist = np.array(cmd)
        # Check the whole period, not just its end, for contact with any cylinder.
        for t in np.linspace(dt / 4, dt, 4):
            p = _step(pose, *cmd, t)
            d = _footprint_distance(robot, p[None], circles[:, :2])[0]
            assert (d > circles[:, 2]).all(), f"collision at t={k * dt:.2f}s pose={p}"
        pose = _step(pose, *cmd, dt)
        if math.dist(pose[:2], goal) < tolerance:
            return k * dt
    raise AssertionError(f"goal not reached in {limit_s} s; stopped at {pose}")


def test_closed_loop_reaches_goal_past_three_cylinders() -> None:
    circles = np.array([[1.5, 0.1, 0.25], [2.8, -0.5, 0.25], [3.8, 0.45, 0.25]])
    t = _drive(JACKAL, circles, np.array([5.0, 0.0]), tolerance=0.3, limit_s=30.0)
    assert t < 30.0


def test_closed_loop_turtlebot() -> None:
    circles = np.array([[0.75, 0.05, 0.12], [1.4, -0.25, 0.12], [1.9, 0.22, 0.12]])
    _drive(BURGER, circles, np.array([2.5, 0.0]), tolerance=0.15, limit_s=40.0)
