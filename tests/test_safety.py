"""The collision guard against hand-computed values; no input makes it raise speed or emit NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim2real_runtime.safety import CollisionGuard


def scan_with(jackal, beam: int, r: float) -> np.ndarray:
    s = np.full((1, jackal.lidar.num_beams), np.inf)
    s[0, beam] = r
    return s


def test_free_distance_and_speed_cap_by_hand(jackal):
    g = CollisionGuard(jackal, 0.1, margin_m=0.05)
    # Beam 360 points 0.19 degrees left: a return at 1.134 m is 0.12 + 1.134 = 1.254 m ahead of
    # base_link, i.e. 1.0 m ahead of the 0.254 m front edge.
    s = scan_with(jackal, 360, 1.134)
    assert g.free_distance(s)[0] == pytest.approx(1.0, abs=1e-4)
    # v * 0.1 + v^2 / 8 = 0.95  ->  v = -0.4 + sqrt(0.16 + 7.6) = 2.3857 m/s
    assert g.max_speed(s)[0] == pytest.approx(2.3857, abs=1e-3)
    # 0.3 m free: v = -0.4 + sqrt(0.16 + 2.0) = 1.0697 m/s caps a 1.5 m/s command, w untouched.
    s = scan_with(jackal, 360, 0.434)
    out = g(np.array([[1.5, 0.7]]), s)
    assert out[0, 0] == pytest.approx(1.0697, abs=1e-3) and out[0, 1] == 0.7


def test_returns_beside_the_corridor_are_ignored(jackal):
    g = CollisionGuard(jackal, 0.1)
    angles = jackal.lidar.beam_angles_rad()
    # A return 0.3 m to the left (|y| > 0.215 + 0.05) at x = 0.6 does not block driving straight.
    i = int(np.argmin(np.abs(angles - math.atan2(0.3, 0.6 - 0.12))))
    r = math.hypot(0.3, 0.6 - 0.12)
    assert math.isinf(g.free_distance(scan_with(jackal, i, r))[0])


def test_within_margin_stops_forward_but_allows_reverse_and_turning(jackal):
    g = CollisionGuard(jackal, 0.1)
    s = scan_with(jackal, 360, 0.16)  # 0.026 m from the front edge
    np.testing.assert_allclose(g(np.array([[0.8, 1.0]]), s), [[0.0, 1.0]])
    np.testing.assert_allclose(g(np.array([[-0.2, 0.0]]), s), [[-0.2, 0.0]])


def test_invalid_and_missing_readings_do_not_block(jackal):
    g = CollisionGuard(jackal, 0.1)
    s = np.full((1, 720), np.nan)
    s[0, 300:420] = np.inf  # no return ahead
    s[0, 340:380] = 3e38  # above range_max: invalid, not a return
    assert math.isinf(g.max_speed(s)[0])


@pytest.mark.parametrize("close", [-math.inf, 0.05, 0.0, 0.0999])
def test_a_close_reading_ahead_blocks_at_the_front_edge(jackal, close):
    """REP-117 -inf (or any reading below range_min = 0.1 m) is an object at range_min. Straight
    ahead that is 0.12 + 0.1 = 0.22 m ahead of base_link, inside the 0.254 m half-length: behind
    the front edge, so the free distance is 0 and the speed cap 0 (margin 0.05 m)."""
    g = CollisionGuard(jackal, 0.1, margin_m=0.05)
    s = np.full((1, 720), 8.0)
    s[0, 360] = close  # 0.19 degrees left of straight ahead
    assert g.free_distance(s)[0] == 0.0
    assert g.max_speed(s)[0] == 0.0
    np.testing.assert_allclose(g(np.array([[1.0, 0.5]]), s), [[0.0, 0.5]])  # turning is left alone
    np.testing.assert_allclose(g(np.array([[-0.2, 0.0]]), s), [[-0.2, 0.0]])  # and reversing


def test_which_close_readings_block_by_hand(jackal):
    """Jackal: laser 0.12 m ahead of base_link, footprint 0.508 x 0.430 m, range_min 0.1 m. A close
    reading at angle a is a point (0.12 + 0.1 cos a, 0.1 sin a): always inside the footprint, so it
    blocks exactly when it lies ahead of the laser (cos a > 0); behind the laser it does not."""
    g = CollisionGuard(jackal, 0.1)
    angles = jackal.lidar.beam_angles_rad()
    for deg, blocks in ((0, True), (45, True), (-80, True), (89, True), (95, False), (-135, False)):
        i = int(np.argmin(np.abs(angles - math.radians(deg))))
        s = np.full((1, 720), np.inf)
        s[0, i] = -np.inf
        assert bool(g.free_distance(s)[0] == 0.0) is blocks, deg


def test_close_reading_of_a_laser_near_the_front_edge_by_hand(turtlebot):
    """TurtleBot3 Burger: laser 0.032 m behind base_link, half-length 0.069 m, range_min 0.12 m.
    A close reading straight ahead is an obstacle at x = -0.032 + 0.12 = 0.088 m: 0.019 m ahead of
    the front edge, inside the 0.05 m margin (cap 0). Beside the robot (85 degrees: y = 0.1195 m,
    outside the 0.089 m half-width, x behind the front edge) it is a wall alongside: no block."""
    g = CollisionGuard(turtlebot, 0.2, margin_m=0.05)
    angles = turtlebot.lidar.beam_angles_rad()
    s = np.full((1, 360), np.inf)
    s[0, int(np.argmin(np.abs(angles)))] = 0.05
    assert g.free_distance(s)[0] == pytest.approx(0.019, abs=1e-3)
    assert g.max_speed(s)[0] == 0.0
    s = np.full((1, 360), np.inf)
    s[0, int(np.argmin(np.abs(angles - math.radians(85))))] = -np.inf
    assert math.isinf(g.free_distance(s)[0])


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float64, (1, 720), elements=st.floats(allow_nan=True, allow_infinity=True, width=32)),
    st.floats(-2.0, 2.0),
    st.floats(-4.0, 4.0),
)
def test_guard_never_raises_speed_or_makes_nan(jackal, scan, v, w):
    out = CollisionGuard(jackal, 0.1)(np.array([[v, w]]), scan)
    assert np.isfinite(out).all()
    assert out[0, 0] <= max(v, 0.0) + 1e-12 and out[0, 1] == w


def _reference_free_distance(robot, ranges, margin_m=0.05):
    """The corridor test written out plainly, beam by beam, for comparison."""
    lid = robot.lidar
    hl, hw = 0.5 * robot.footprint_length_m, 0.5 * robot.footprint_width_m + margin_m
    best = math.inf
    for a, r in zip(lid.beam_angles_rad(), ranges):
        if r < lid.range_min_m:  # too close (-inf included): an obstacle at range_min
            x, y = lid.mount_x_m + lid.range_min_m * math.cos(a), lid.range_min_m * math.sin(a)
            in_body = abs(x) <= hl and abs(y) <= hw - margin_m and math.cos(a) > 0
            if (x > hl and abs(y) <= hw) or in_body:
                best = min(best, max(x - hl, 0.0))
            continue
        if not (math.isfinite(r) and r <= lid.range_max_m):
            continue
        x, y = lid.mount_x_m + r * math.cos(a), r * math.sin(a)
        if x > hl and abs(y) <= hw:
            best = min(best, x - hl)
    return best


@pytest.mark.parametrize("mount_x_m", [0.12, 0.4])  # behind and ahead of the 0.254 m front edge
def test_precomputed_corridor_equals_plain_geometry(jackal, mount_x_m):
    import dataclasses

    robot = dataclasses.replace(jackal, lidar=dataclasses.replace(jackal.lidar, mount_x_m=mount_x_m))
    g = CollisionGuard(robot, 0.1)
    rng = np.random.default_rng(0)
    for _ in range(40):
        scan = rng.uniform(0.0, 3.0, 720)
        scan[rng.random(720) < 0.05] = np.nan
        scan[rng.random(720) < 0.05] = np.inf
        assert g.free_distance(scan[None])[0] == pytest.approx(
            _reference_free_distance(robot, scan), abs=1e-9
        )
