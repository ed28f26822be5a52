"""Quadrotor observation and action terms against hand-computed values; the shared registries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim2real_runtime.quad_terms import CtbrAction
from sim2real_runtime.rotations import quat_to_matrix
from sim2real_runtime.terms import ActionTerm, Observation, ObsTerm, TermSpec, action_from_spec

G = 9.80665


def spec(kind, size, **params):
    return TermSpec(kind, kind, size, "", "", params)


def signals(**over):
    s = {
        "position": np.array([[1.0, 2.0, 1.0]]),
        "quat_wxyz": np.array([[math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)]]),  # yaw +90 deg
        "velocity": np.array([[0.5, -9.0, 0.0]]),
        "body_rates": np.array([[0.1, 0.0, -20.0]]),
        "ref_position": np.array([[1.5, 2.0, 4.0]]),
        "ref_lookahead": np.array([[[1.0, 2.1, 1.0], [1.0, 2.2, 1.0]]]),
        "prev_action": np.zeros((1, 4), np.float32),
    }
    s.update(over)
    return s


def test_observation_terms_by_hand():
    obs = Observation(
        [
            spec("position_error", 3, clip_m=2.0, frame="world ENU"),
            spec("attitude_matrix", 9),
            spec("linear_velocity", 3, clip_mps=5.0, frame="world ENU"),
            spec("body_rates", 3, clip_radps=10.0),
            spec("reference_lookahead", 6, num_points=2, horizon_s=0.2, clip_m=2.0, frame="world ENU"),
            spec("previous_action", 4),
        ]
    )
    o = obs(signals())[0]
    np.testing.assert_allclose(o[0:3], [0.5, 0.0, 2.0])  # z error 3 m clipped to 2
    # Yaw +90 degrees: body x points along world +y (ENU), body y along world -x.
    np.testing.assert_allclose(o[3:12].reshape(3, 3), [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-7)
    np.testing.assert_allclose(o[12:15], [0.5, -5.0, 0.0])
    np.testing.assert_allclose(o[15:18], [0.1, 0.0, -10.0])
    np.testing.assert_allclose(o[18:24], [0.0, 0.1, 0.0, 0.0, 0.2, 0.0], atol=1e-6)
    assert o.dtype == np.float32 and o.shape == (28,)


def test_lookahead_of_another_length_is_refused():
    t = ObsTerm.registry["reference_lookahead"](
        spec("reference_lookahead", 9, num_points=3, horizon_s=0.3, clip_m=2.0, frame="world ENU")
    )
    with pytest.raises(ValueError, match=r"expects \(3, 3\)"):
        t(signals())


def test_quat_to_matrix_is_a_rotation():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((100, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    r = quat_to_matrix(q)
    np.testing.assert_allclose(r @ np.swapaxes(r, 1, 2), np.tile(np.eye(3), (100, 1, 1)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)


CTBR = TermSpec(
    "ctbr",
    "ctbr",
    4,
    "m/s^2, rad/s",
    "VehicleRatesSetpoint / cmd_vel_legacy",
    {
        "hover_accel_mps2": G,
        "accel_scale_mps2": G,
        "accel_range_mps2": [0.0, 2 * G],
        "max_rates_radps": [6.0, 6.0, 3.0],
    },
)


def test_ctbr_action_by_hand_and_registry():
    term = action_from_spec(CTBR)
    assert isinstance(term, CtbrAction) and ActionTerm.registry["ctbr"] is CtbrAction
    out = term(np.array([[0.0, 0.0, 0.0, 0.0], [0.5, 1.0, -0.5, 2.0], [-2.0, 0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(out[0], [G, 0, 0, 0])  # zero action = hover, no rotation
    np.testing.assert_allclose(out[1], [1.5 * G, 6.0, -3.0, 3.0])  # yaw clipped at the action bound
    np.testing.assert_allclose(out[2], [0.0, 0, 0, 0])  # acceleration never below the range
    np.testing.assert_allclose(term(np.array([[np.nan, 1.0, 1.0, 1.0]]))[0], [G, 0, 0, 0])  # hold
    np.testing.assert_allclose(term.low, [0, -6, -6, -3]) and np.testing.assert_allclose(
        term.high, [2 * G, 6, 6, 3]
    )
    with pytest.raises(ValueError, match="unknown action kind 'warp_drive'"):
        action_from_spec(TermSpec("a", "warp_drive", 1, "", ""))
    assert {"ctbr", "diff_drive_twist"} <= set(ActionTerm.registry)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, (8, 4), elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_ctbr_any_action_is_finite_and_in_limits(action):
    term = action_from_spec(CTBR)
    out = term(action)
    assert np.all(np.isfinite(out))
    assert np.all(out >= term.low) and np.all(out <= term.high)


def test_a_vector_term_without_its_frame_is_refused_when_built():
    """A body-FLU contract whose frame was removed must not observe in the world frame."""
    for kind, params in (
        ("position_error", {"clip_m": 1.0}),
        ("linear_velocity", {"clip_mps": 3.0}),
        ("reference_lookahead", {"num_points": 2, "horizon_s": 0.2, "clip_m": 1.0}),
    ):
        for frame in (None, "body NED", 3):
            p = dict(params) if frame is None else {**params, "frame": frame}
            with pytest.raises(ValueError, match=r"params\.frame"):
                Observation([spec(kind, 3, **p)])


def test_tilt_limiter_by_hand():
    """Far from the limit the policy's rates pass; near it the rate that tilts further is capped at
    5/s x the margin (beyond the limit: driven back), the other rates untouched."""
    from sim2real_runtime.quad_terms import TILT_LIMIT_GAIN_PER_S, limit_tilt

    def rolled(theta):  # body rolled by theta about x: +roll rate tilts it further
        c, s = math.cos(theta), math.sin(theta)
        return np.array([[[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]])

    limit = np.array([math.radians(20.0)])
    cmd = np.array([[9.0, 1.0, -0.5, 0.3]])
    np.testing.assert_allclose(limit_tilt(cmd, rolled(math.radians(5.0)), limit), cmd)
    at = math.radians(21.0)  # 1 deg beyond: the roll rate becomes -5/s x 1 deg, pitch and yaw pass
    out = limit_tilt(cmd, rolled(at), limit)
    np.testing.assert_allclose(
        out, [[9.0, -TILT_LIMIT_GAIN_PER_S * math.radians(1.0), -0.5, 0.3]], atol=1e-12
    )
    near = math.radians(16.0)  # 4 deg of margin: +1 rad/s is capped at 5 x 4 deg = 0.349 rad/s
    out = limit_tilt(cmd, rolled(near), limit)
    np.testing.assert_allclose(out[0, 1:], [TILT_LIMIT_GAIN_PER_S * math.radians(4.0), -0.5, 0.3], atol=1e-12)
    back = np.array([[9.0, -1.0, 0.0, 0.0]])  # levelling is never capped
    np.testing.assert_allclose(limit_tilt(back, rolled(at), limit), back)


def test_reference_feedforward_by_hand():
    """A reference moving at 1 m/s along x with 2 m/s^2, lookahead every 0.1 s: the term gives the
    velocity error and the acceleration exactly (second-order differences are exact on a parabola)."""
    from sim2real_runtime.quad_terms import ReferenceFeedforward, with_rotation

    spec = TermSpec("ff", ReferenceFeedforward.kind, 6, "m/s, m/s^2", "",
                    {"spacing_s": 0.1, "clip_mps": 3.0, "clip_mps2": 10.0, "frame": "world ENU"})  # fmt: skip
    t = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    ahead = np.stack([t + t**2, 0 * t, 0 * t], axis=1)[None]  # x = t + t^2 (v 1, a 2 at t = 0)
    sig = with_rotation({"quat_wxyz": np.array([[1.0, 0, 0, 0]]), "position": np.zeros((1, 3)),
                         "velocity": np.array([[0.25, 0.0, 0.0]]), "ref_position": np.zeros((1, 3)),
                         "ref_lookahead": ahead})  # fmt: skip
    np.testing.assert_allclose(ReferenceFeedforward(spec)(sig), [[0.75, 0, 0, 2.0, 0, 0]], atol=1e-5)


def test_error_integral_by_hand():
    import math

    from sim2real_runtime.quad_terms import ErrorIntegral, PositionErrorIntegral
    from sim2real_runtime.terms import TermSpec

    integ = ErrorIntegral(2, time_constant_s=2.0, clip_ms=0.3)
    e = np.array([[0.1, 0.0, -0.2], [np.nan, 1.0, 0.0]])
    v = integ.update(e, 0.02)
    np.testing.assert_allclose(v, [[0.002, 0.0, -0.004], [0.0, 0.02, 0.0]])  # NaN adds nothing
    v = integ.update(e, 0.02)
    d = math.exp(-0.01)
    np.testing.assert_allclose(v[0], [0.002 * d + 0.002, 0.0, -0.004 * d - 0.004])
    for _ in range(500):  # 10 s of a constant error: e * tau, unless clipped
        v = integ.update(e, 0.02)
    np.testing.assert_allclose(v[0], [0.2, 0.0, -0.3], atol=2e-3)  # 0.1 * 2 s; -0.4 clipped
    np.testing.assert_allclose(v[1, 1], 0.3)
    integ.reset(np.array([1]))
    assert np.all(integ.value[1] == 0.0) and integ.value[0, 0] > 0.19
    # the term reports it in the body frame: yawed 90 degrees left, world +x is body -y
    spec = TermSpec(
        "i",
        "position_error_integral",
        3,
        "m s",
        "",
        {"frame": "body FLU", "time_constant_s": 2.0, "clip_ms": 0.3},
    )
    yaw90 = np.array([[math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)]])
    out = PositionErrorIntegral(spec)(
        {"position_error_integral": np.array([[0.1, 0.0, 0.0]]), "quat_wxyz": yaw90}
    )
    np.testing.assert_allclose(out, [[0.0, -0.1, 0.0]], atol=1e-7)
    with pytest.raises(KeyError):
        PositionErrorIntegral(TermSpec("i", "position_error_integral", 3, "m s", "", {"frame": "body FLU"}))


def test_controller_integrates_the_error_and_forgets_it_on_reset(random_policy):
    from sim2real_runtime.policy import OnnxPolicy
    from sim2real_runtime.quad_control import QuadController
    from sim2real_runtime.vehicle import load_vehicle

    c = QuadController(OnnxPolicy(random_policy("quad")), load_vehicle("crazyflie_2_1"))
    assert c.integral is not None
    ahead = np.zeros((5, 3))
    for _ in range(3):  # 0.1 m below the reference, level, at rest: 3 steps of 0.02 s
        c.step(
            np.array([0, 0, -0.1]),
            np.array([1.0, 0, 0, 0]),
            np.zeros(3),
            np.zeros(3),
            np.zeros(3),
            ahead,
            0.5,
        )
    d = np.exp(-0.02 / 2.0)
    np.testing.assert_allclose(c.integral.value[0, 2], 0.002 * (1 + d + d * d))
    c.reset()
    assert np.all(c.integral.value == 0.0)
