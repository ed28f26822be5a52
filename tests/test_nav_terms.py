"""Observation and action terms against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim2real_runtime.nav_terms import (
    DiffDriveTwistAction,
    GoalPolar,
    LidarSectors,
    clean_ranges,
    nav_specs,
    sector_starts,
)
from sim2real_runtime.terms import Observation, TermSpec


def lidar_term(num_beams=8, sectors=4, clip=4.0):
    return LidarSectors(
        TermSpec(
            "lidar",
            "lidar_sectors",
            sectors,
            "m",
            "/scan",
            {
                "num_beams": num_beams,
                "range_min_m": 0.1,
                "range_max_m": 30.0,
                "range_clip_m": clip,
                "num_sectors": sectors,
            },
        )
    )


def test_clean_ranges_reads_the_rep117_conventions():
    # NaN and +inf and above range_max: nothing seen (clip); -inf and below range_min: an obstacle
    # at range_min; measured: itself, clipped.
    r = np.array([[np.nan, np.inf, -np.inf, 0.0, 0.05, 0.1, 2.0, 31.0, 5.0, 3e38, -3.0]])
    out = clean_ranges(r, 0.1, 30.0, 4.0)
    np.testing.assert_allclose(out, [[4, 4, 0.1, 0.1, 0.1, 0.1, 2.0, 4, 4, 4, 0.1]], rtol=1e-6)


def test_scan_fault_by_hand(jackal):
    import dataclasses

    from sim2real_runtime.nav_terms import scan_fault

    # 720 beams, [0.1, 30] m, max_invalid_fraction 0.05: 36 invalid beams pass; the rule for a scan
    # with no return is tested both ways (the Jackal file itself accepts open space)
    lid = dataclasses.replace(jackal.lidar, allow_open_space=False)
    ok = np.full(720, 8.0, dtype=np.float32)
    assert scan_fault(ok, lid) is None
    for bad in (np.nan, 3e38, 30.5):
        s = ok.copy()
        s[:36] = bad
        assert scan_fault(s, lid) is None
        s[:37] = bad
        assert scan_fault(s, lid).startswith("37 of 720 beams NaN or above range_max 30 m")
    for fill in (np.inf, -np.inf, 0.05, np.nan, 3e38):
        assert scan_fault(np.full(720, fill, dtype=np.float32), lid) is not None, fill
    s = np.full(720, np.inf, dtype=np.float32)
    assert "720 no return, 0 too close" in scan_fault(s, lid)
    s[100] = 30.0  # exactly range_max: a measurement
    assert scan_fault(s, lid) is None
    s[:360] = -np.inf
    s[100] = 0.1  # exactly range_min: a measurement
    assert scan_fault(s, lid) is None
    strict = dataclasses.replace(lid, max_invalid_fraction=0.0)
    s = ok.copy()
    s[5] = np.nan
    assert scan_fault(s, strict).startswith("1 of 720 beams")
    # lidar.allow_open_space: a scan of only no-return beams is open space; nothing else is
    open_field = dataclasses.replace(lid, allow_open_space=True)
    assert scan_fault(np.full(720, np.inf, dtype=np.float32), open_field) is None
    for fill in (-np.inf, 0.05, np.nan, 3e38):
        assert scan_fault(np.full(720, fill, dtype=np.float32), open_field) is not None, fill
    s = np.full(720, np.inf, dtype=np.float32)
    s[0] = -np.inf  # one too-close beam and nothing measured: not open space
    assert scan_fault(s, open_field) is not None


def test_sector_min_pooling_by_hand():
    term = lidar_term()
    r = np.array([[1.0, 2.0, 3.0, np.nan, 0.5, 9.0, 3.5, 3.0]], dtype=np.float32)
    np.testing.assert_allclose(term({"scan_ranges": r}), [[1.0, 3.0, 0.5, 3.0]])


def test_sector_starts_cover_all_beams_unequal_division():
    s = sector_starts(720, 72)
    assert s[0] == 0 and s[-1] == 710 and len(s) == 72
    s = sector_starts(10, 3)
    np.testing.assert_array_equal(s, [0, 3, 6])


def test_wrong_beam_count_is_refused():
    term = lidar_term(num_beams=8)
    try:
        term({"scan_ranges": np.ones((1, 7), dtype=np.float32)})
    except ValueError as exc:
        assert "7 beams" in str(exc) and "expects 8" in str(exc)
    else:
        raise AssertionError("a 7-beam scan was accepted by an 8-beam term")


def test_goal_polar_by_hand():
    term = GoalPolar(TermSpec("goal", "goal_polar", 3, "", "", {"distance_clip_m": 5.0}))
    # Robot at (1, 1) facing +y; goal at (1, 4): straight ahead, 3 m.
    out = term({"pose": np.array([[1.0, 1.0, math.pi / 2]]), "goal_xy": np.array([[1.0, 4.0]])})
    np.testing.assert_allclose(out, [[3.0, 1.0, 0.0]], atol=1e-12)
    # Goal 10 m to the robot's left: clipped distance, bearing +90 degrees.
    out = term({"pose": np.array([[0.0, 0.0, 0.0]]), "goal_xy": np.array([[0.0, 10.0]])})
    np.testing.assert_allclose(out, [[5.0, 0.0, 1.0]], atol=1e-12)


def make_action(dt=0.1):
    return DiffDriveTwistAction(
        TermSpec(
            "cmd_vel",
            "diff_drive_twist",
            2,
            "",
            "",
            {"low": [-0.3, -2.0], "high": [1.5, 2.0], "accel": [4.0, 8.0], "dt_s": dt},
        )
    )


def test_action_scaling_and_rate_limit_by_hand():
    act = make_action()
    # action 1 -> 1.5 m/s target; from rest the rate limit allows 4.0 * 0.1 = 0.4 m/s.
    cmd = act(np.array([[1.0, 0.0]]), np.zeros((1, 2)))
    np.testing.assert_allclose(cmd, [[0.4, 0.0]])
    # action 0 -> midpoint 0.6 m/s; from 0.5 m/s it is reachable.
    cmd = act(np.array([[0.0, -1.0]]), np.array([[0.5, -1.5]]))
    np.testing.assert_allclose(cmd, [[0.6, -2.0]])


def test_nan_action_stops_within_limits():
    act = make_action()
    cmd = act(np.array([[np.nan, 0.3]]), np.array([[1.0, 1.0]]))
    np.testing.assert_allclose(cmd, [[0.6, 0.2]])  # decelerating toward zero at the limits


@settings(max_examples=300, deadline=None)
@given(
    arrays(np.float64, (1, 2), elements=st.floats(allow_nan=True, allow_infinity=True)),
    arrays(np.float64, (1, 2), elements=st.floats(allow_nan=True, allow_infinity=True)),
)
def test_any_action_gives_a_finite_in_limit_command(action, prev):
    cmd = make_action()(action, prev)
    assert np.isfinite(cmd).all()
    assert -0.3 <= cmd[0, 0] <= 1.5 and -2.0 <= cmd[0, 1] <= 2.0


def test_nav_specs_build_the_observation(jackal):
    obs_specs, act = nav_specs(jackal, 10.0, 72, 4.0, 5.0, (-0.3, 1.6), 2.5)
    obs = Observation(obs_specs)
    assert obs.size == 72 + 3 + 2 + 2
    assert obs.slices()["goal"] == slice(72, 75)
    signals = {
        "scan_ranges": np.full((3, 720), 2.0, dtype=np.float32),
        "pose": np.zeros((3, 3)),
        "goal_xy": np.array([[1.0, 0.0]] * 3),
        "twist": np.zeros((3, 2)),
        "prev_action": np.zeros((3, 2), dtype=np.float32),
    }
    o = obs(signals)
    assert o.shape == (3, 79) and o.dtype == np.float32
    np.testing.assert_allclose(o[:, :72], 2.0)
    np.testing.assert_allclose(o[0, 72:75], [1.0, 1.0, 0.0])
    assert act.params["dt_s"] == 0.1
