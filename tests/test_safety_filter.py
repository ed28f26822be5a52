"""SafetyFilter and Watchdog: hand-computed cases and properties over arbitrary inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim2real_runtime.safety import SafetyFilter, Watchdog

LOW = np.array([-0.5, -2.0])
HIGH = np.array([1.5, 2.0])
RATE = np.array([2.0, 8.0])


def make() -> SafetyFilter:
    return SafetyFilter(LOW, HIGH, RATE)


def test_rate_limit_and_clamp_hand_computed():
    f = make()
    assert np.allclose(f([1.0, 1.0], 0.0), [0.0, 0.0])  # first call: dt = 0, nothing moves
    assert np.allclose(f([1.0, 1.0], 0.1), [0.2, 0.8])  # 2 m/s^2 * 0.1 s, 8 rad/s^2 * 0.1 s
    assert np.allclose(f([1.0, 1.0], 0.2), [0.4, 1.0])  # w reaches its target
    assert np.allclose(f([9.0, -9.0], 1.2), [1.5, -2.0])  # clamped to the limits
    assert np.allclose(f([0.0, 0.0], 1.3), [1.3, -1.2])  # decelerates at the limit too


def test_upper_cap_brakes_at_once():
    f = make()
    f([1.5, 0.0], 0.0)
    for t in np.arange(0.1, 1.0, 0.1):
        f([1.5, 0.0], t)
    assert f.last[0] == pytest.approx(1.5)
    # The collision guard's cap is applied after the rate limit: braking is never slowed down.
    out = f([1.5, 0.0], 1.0, upper=[0.2, np.inf])
    assert out[0] == pytest.approx(0.2)
    out = f([1.5, 0.0], 1.1, upper=[0.0, np.inf])
    assert out[0] == pytest.approx(0.0)
    # A cap does not push a reversing command forward.
    f2 = make()
    f2([-0.5, 0.0], 0.0)
    f2([-0.5, 0.0], 1.0)
    assert f2([-0.5, 0.0], 1.1, upper=[0.0, np.inf])[0] == pytest.approx(-0.5)


def test_non_finite_command_stops_whole_command():
    f = make()
    f([1.0, 1.0], 0.0)
    f([1.0, 1.0], 10.0)
    out = f([np.nan, 1.0], 10.05)
    # The request becomes the stop command; the rate limit brings both entries towards zero.
    assert np.allclose(out, [1.0 - 0.1, 1.0 - 0.4])
    assert np.allclose(f.stop(10.1), [0.0, 0.0])


def test_wrong_shape_is_a_stop_request():
    f = make()
    f([0.0, 0.0], 0.0)
    assert np.allclose(f([1.0, 1.0, 1.0], 1.0), [0.0, 0.0])


def test_clock_going_backwards_holds_then_resumes():
    f = make()
    f([0.0, 0.0], 5.0)
    assert np.allclose(f([1.0, 0.0], 1.0), [0.0, 0.0])  # dt < 0 -> 0
    assert np.allclose(f([1.0, 0.0], 1.1), [0.2, 0.0])


def test_non_finite_clock_gives_no_time_to_move():
    f = make()
    f([0.0, 0.0], 1.0)
    for t in (np.inf, np.nan, -np.inf):
        out = f([1.0, 1.0], t)
        assert np.all(np.isfinite(out)) and np.allclose(out, [0.0, 0.0])
    assert np.allclose(f([1.0, 1.0], 1.1), [0.2, 0.8])


def test_invalid_limits_are_refused():
    with pytest.raises(ValueError):
        SafetyFilter([1.0], [0.0], [1.0])
    with pytest.raises(ValueError):
        SafetyFilter([0.0], [np.inf], [1.0])
    with pytest.raises(ValueError):
        SafetyFilter([0.0, 0.0], [1.0, 1.0], [1.0])
    with pytest.raises(ValueError):
        SafetyFilter([0.1], [1.0], [1.0])  # the stop command (0) must be within limits


anything = st.floats(allow_nan=True, allow_infinity=True, width=64)
commands = st.lists(
    st.tuples(
        st.lists(anything, min_size=0, max_size=3),  # wrong lengths too
        st.one_of(st.floats(min_value=-1.0, max_value=10.0), st.just(math.nan)),  # time step: negative, NaN
        st.one_of(st.none(), st.tuples(anything, anything)),  # a guard cap, possibly garbage
        st.booleans(),  # a stop
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(commands)
def test_property_output_always_finite_within_limits_and_rate(seq):
    f = make()
    t = 0.0
    prev = f.last.copy()
    prev_t = None
    for cmd, dt, upper, stop in seq:
        t_new = t + dt if math.isfinite(dt) else t
        if stop:
            out = f.stop(t_new)
            assert np.array_equal(out, [0.0, 0.0])
        else:
            out = f(cmd, t_new, None if upper is None else np.array(upper))
            assert out.shape == (2,)
            assert np.all(np.isfinite(out))
            assert np.all(out >= LOW) and np.all(out <= HIGH)
            elapsed = 0.0 if prev_t is None or t_new < prev_t else t_new - prev_t
            step = np.abs(out - prev)
            # Within the rate limit, except when a cap made the command brake (only downwards).
            braked = upper is not None and np.any(out < prev - RATE * elapsed - 1e-9)
            if not braked:
                assert np.all(step <= RATE * elapsed + 1e-9)
        prev, prev_t, t = out.copy(), t_new, t_new


def test_watchdog_staleness():
    w = Watchdog({"scan": 0.25, "odom": 0.5})
    assert w.stale(0.0) == ["scan", "odom"]  # never received
    w.feed("scan", 1.0)
    w.feed("odom", 1.0)
    assert w.stale(1.25) == []
    assert w.stale(1.26) == ["scan"]
    assert w.stale(1.51) == ["scan", "odom"]
    w.feed("scan", 1.5)
    w.invalidate("odom")
    assert w.stale(1.6) == ["odom"]
    with pytest.raises(ValueError):
        Watchdog({"scan": 0.0})
