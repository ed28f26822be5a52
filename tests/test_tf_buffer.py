"""TfBuffer (tf2's semantics without ROS 2) against hand-computed transforms, and PathFollower."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim2real_runtime.path_follow import PathFollowConfig, PathFollower
from sim2real_runtime.tf_buffer import (
    ConnectivityError,
    ExtrapolationError,
    LoopError,
    TfBuffer,
    Transform,
)


def q_yaw(yaw):
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


def put(buf, parent, child, t, x, y, yaw, static=False, now=None):
    return buf.set_transform(parent, child, t, (x, y, 0.0), q_yaw(yaw), static=static, now_s=now)


def test_chain_through_the_tree_by_hand():
    buf = TfBuffer()
    assert put(buf, "map", "odom", 1.0, 2.0, 1.0, math.pi / 2) is None
    assert put(buf, "odom", "base_link", 1.0, 1.0, 0.0, 0.0) is None
    assert put(buf, "base_link", "laser", 0.0, 0.12, 0.0, 0.0, static=True) is None
    # A point at the origin of base_link: (1, 0) in odom, rotated by 90 deg and shifted by (2, 1).
    t_map_base, at = buf.lookup("map", "base_link")
    assert at == 1.0
    np.testing.assert_allclose(t_map_base.apply(np.zeros(2)), [2.0, 2.0], atol=1e-12)
    assert t_map_base.yaw == pytest.approx(math.pi / 2)
    # The laser, 0.12 m ahead of base_link, points along map +y.
    np.testing.assert_allclose(buf.lookup("map", "laser")[0].apply(np.zeros(2)), [2.0, 2.12], atol=1e-12)
    # The other way round: map (2, 7) is odom (6, 0).
    np.testing.assert_allclose(
        buf.lookup("odom", "map")[0].apply(np.array([2.0, 7.0])), [6.0, 0.0], atol=1e-12
    )
    # Two leaves under one parent: laser in odom's child base_link seen from map and back.
    t = buf.lookup("laser", "map")[0] * buf.lookup("map", "laser")[0]
    np.testing.assert_allclose(t.translation, 0.0, atol=1e-12)


def test_interpolation_between_stamps_and_latest_common_time():
    buf = TfBuffer()
    put(buf, "map", "odom", 0.0, 0.0, 0.0, 0.0)
    put(buf, "map", "odom", 1.0, 2.0, 0.0, math.pi / 2)
    t, _ = buf.lookup("map", "odom", 0.5)
    np.testing.assert_allclose(t.translation[:2], [1.0, 0.0], atol=1e-12)
    assert t.yaw == pytest.approx(math.pi / 4)
    # Latest common time: the oldest newest stamp of the chain's dynamic links.
    put(buf, "odom", "base_link", 0.25, 0.0, 0.0, 0.0)
    put(buf, "odom", "base_link", 0.75, 0.0, 0.0, 0.0)
    assert buf.latest_common_time("map", "base_link") == 0.75
    assert buf.lookup("map", "base_link")[0].translation[0] == pytest.approx(1.5)


def test_static_transforms_hold_at_any_time():
    buf = TfBuffer(cache_time_s=1.0)
    put(buf, "base_link", "laser", 5.0, 0.12, 0.0, 0.0, static=True)
    for t in (None, 0.0, 1e6):
        assert buf.lookup("base_link", "laser", t)[0].translation[0] == pytest.approx(0.12)
    assert buf.lookup("base_link", "laser", now_s=1e6)[0].translation[0] == pytest.approx(0.12)


def test_errors_name_the_frames():
    buf = TfBuffer(cache_time_s=10.0)
    put(buf, "map", "odom", 1.0, 0.0, 0.0, 0.0)
    put(buf, "map", "odom", 2.0, 0.0, 0.0, 0.0)
    put(buf, "world", "other", 1.0, 0.0, 0.0, 0.0)
    with pytest.raises(ConnectivityError, match="frame 'nowhere' does not exist"):
        buf.lookup("odom", "nowhere")
    with pytest.raises(ConnectivityError, match="'odom' and 'other' are not connected"):
        buf.lookup("odom", "other")
    with pytest.raises(ExtrapolationError, match=r"'map' -> 'odom'.*into the future"):
        buf.lookup("map", "odom", 3.0)
    with pytest.raises(ExtrapolationError, match="into the past"):
        buf.lookup("map", "odom", 0.5)
    # The newest data older than the history before the node clock: a dead localisation.
    buf.lookup("map", "odom", now_s=11.9)
    with pytest.raises(ExtrapolationError, match="older than the history"):
        buf.lookup("map", "odom", now_s=12.5)


def test_loop_in_tf_is_an_error_naming_it():
    buf = TfBuffer()
    put(buf, "map", "odom", 1.0, 0.0, 0.0, 0.0)
    put(buf, "odom", "base_link", 1.0, 0.0, 0.0, 0.0)
    put(buf, "base_link", "map", 1.0, 0.0, 0.0, 0.0)
    with pytest.raises(LoopError, match=r"loop: .*map.*odom.*base_link"):
        buf.lookup("odom", "map")


def test_refused_on_insertion():
    buf = TfBuffer(cache_time_s=10.0)
    assert "non-finite" in put(buf, "map", "odom", 1.0, math.nan, 0.0, 0.0)
    assert "to itself" in put(buf, "odom", "odom", 1.0, 0.0, 0.0, 0.0)
    assert "empty frame" in put(buf, "", "odom", 1.0, 0.0, 0.0, 0.0)
    assert "unit length" in buf.set_transform("map", "odom", 1.0, (0, 0, 0), (0, 0, 0, 2.0))
    assert put(buf, "map", "odom", 100.0, 0.0, 0.0, 0.0) is None
    why = put(buf, "map", "odom", 85.0, 0.0, 0.0, 0.0)
    assert "older than the history" in why and "'map' -> 'odom'" in why
    assert "older than the history" in put(buf, "map", "x", 5.0, 0.0, 0.0, 0.0, now=100.0)
    assert buf.frames() == {"map", "odom"}


def test_history_is_bounded():
    buf = TfBuffer(cache_time_s=2.0)
    for k in range(100):
        put(buf, "map", "odom", 0.1 * k, 0.1 * k, 0.0, 0.0)
    link = buf._links["odom"]
    assert link.stamps[0] >= 9.9 - 2.0 - 1e-9 and len(link.stamps) <= 21
    with pytest.raises(ExtrapolationError, match="past"):
        buf.lookup("map", "odom", 5.0)


def test_transform_algebra():
    a = Transform.planar(1.0, 2.0, 0.7)
    b = Transform.planar(-0.5, 0.3, -1.9)
    p = np.array([[0.3, -0.2], [4.0, 1.0]])
    np.testing.assert_allclose((a * b).apply(p), a.apply(b.apply(p)), atol=1e-12)
    np.testing.assert_allclose((a.inverse() * a).apply(p), p, atol=1e-12)
    assert (a * b).yaw == pytest.approx(0.7 - 1.9)


def test_path_follower_lookahead_progress_and_remaining():
    f = PathFollower(np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]), PathFollowConfig(lookahead_m=3.0))
    np.testing.assert_allclose(f.step(np.array([0.0, 0.0])), [3.0, 0.0])
    np.testing.assert_allclose(f.step(np.array([5.0, 0.5])), [8.0, 0.0])
    assert f.remaining_m(np.array([5.0, 0.5])) == pytest.approx(0.5 + 15.0)
    # Round the corner the goal is pulled back to stay in sight: the chord from (9, 0) to (10, y)
    # passes the corner (10, 0) at y / hypot(1, y) <= 0.3 m, so y = 0.3 / sqrt(1 - 0.09) = 0.3145.
    f.update(np.array([9.0, 0.0]))
    goal = f.lookahead(np.array([9.0, 0.0]))
    assert goal[0] == 10.0 and 0.25 <= goal[1] <= 0.3145
    # That local goal is 1.05 m away: step() pushes it out to 2 m along the same line.
    pushed = f.step(np.array([9.0, 0.0]))
    assert np.hypot(*(pushed - (9.0, 0.0))) == pytest.approx(2.0)
    np.testing.assert_allclose(
        (pushed - (9.0, 0.0)) / 2.0, (goal - (9.0, 0.0)) / np.hypot(*(goal - (9.0, 0.0)))
    )
    np.testing.assert_allclose(f.step(np.array([10.0, 0.0])), [10.0, 3.0])  # at the corner: full 3 m
    # Progress never goes back; a robot that strayed from the path drives back to its progress point.
    np.testing.assert_allclose(f.step(np.array([0.0, 0.0])), [10.0, 0.0])
    assert f.progress_m == pytest.approx(10.0) and f.offset_m == pytest.approx(10.0)
    # Clipped at the end, and the final goal is never pushed out.
    np.testing.assert_allclose(f.step(np.array([10.0, 9.0])), [10.0, 10.0])
    for _ in range(2):  # at (and past) the end of the path
        np.testing.assert_allclose(f.step(np.array([10.2, 10.3])), [10.0, 10.0])
    assert f.progress_m == pytest.approx(f.length_m)
    np.testing.assert_allclose(f.final, [10.0, 10.0])


def test_path_follower_does_not_jump_along_a_path_that_comes_back():
    # Out along y = 0 and back along y = 0.5: near the start, the return leg is 0.5 m away.
    f = PathFollower(np.array([[0.0, 0.0], [20.0, 0.0], [20.0, 0.5], [0.0, 0.5]]))
    f.update(np.array([1.0, 0.3]))
    assert f.progress_m == pytest.approx(1.0)


def test_path_follower_does_not_advance_past_a_wall():
    # Through a doorway at (0, 0) in a wall along x = 0, then down a corridor at x = 1 on the far
    # side. A robot that missed the doorway, at (-1, -3) on the near side, is nearest the corridor
    # path (2 m away) but must not skip ahead: its goal is where it left the path.
    path = np.array([[-3.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, -5.0]])
    f = PathFollower(path, PathFollowConfig(lookahead_m=3.0))
    f.step(np.array([-1.0, 0.0]))
    assert f.progress_m == pytest.approx(2.0)
    f.update(np.array([-1.0, -3.0]))
    np.testing.assert_allclose(f.lookahead(np.array([-1.0, -3.0])), [-1.0, 0.0])
    assert f.progress_m == pytest.approx(2.0)


def test_path_follower_single_point_and_bad_paths():
    f = PathFollower(np.array([[3.0, 4.0]]))
    np.testing.assert_allclose(f.step(np.zeros(2)), [3.0, 4.0])
    assert f.remaining_m(np.zeros(2)) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="empty path"):
        PathFollower(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="path point 1 is not finite"):
        PathFollower(np.array([[0.0, 0.0], [math.nan, 1.0]]))
