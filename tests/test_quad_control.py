"""The runtime's quadrotor safety layer and contract checks, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim2real_runtime.errors import ContractMismatchError
from sim2real_runtime.quad_control import QuadSafety, QuadSafetyConfig, check_quad_compatible
from sim2real_runtime.rotations import quat_to_matrix
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, load_vehicle

CF = load_vehicle("crazyflie_2_1")
LEVEL = np.array([1.0, 0.0, 0.0, 0.0])


def roll(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([math.cos(a / 2), math.sin(a / 2), 0.0, 0.0])


@pytest.fixture
def safety():
    return QuadSafety(CF, QuadSafetyConfig(max_tilt_deg=30.0, max_rates_radps=(4.0, 4.0, 1.5)))


def test_limits_come_from_the_vehicle(safety):
    full = 4 * CF.motor_max_thrust_n / CF.mass_kg
    assert safety.high[0] == pytest.approx(0.9 * full)
    assert np.allclose(safety.low, [2.0, -4.0, -4.0, -1.5])
    with pytest.raises(ValueError, match="cannot hover"):
        QuadSafety(CF, QuadSafetyConfig(max_thrust_fraction=0.5))  # thrust-to-weight 1.69 x 0.5 < 1


def test_level_command_rolls_back_and_compensates_thrust(safety):
    cmd = safety.level(roll(20.0))
    # tilt error 20 deg about +x -> roll rate -5/s * sin(20 deg)
    assert cmd[1] == pytest.approx(-5.0 * math.sin(math.radians(20)), rel=1e-6)
    assert cmd[2] == pytest.approx(0.0, abs=1e-12) and cmd[3] == 0.0
    assert cmd[0] == pytest.approx(STANDARD_GRAVITY_MPS2 / math.cos(math.radians(20)))
    assert np.allclose(safety.level(None), [STANDARD_GRAVITY_MPS2, 0, 0, 0])
    assert np.allclose(safety.descend(LEVEL), [0.85 * STANDARD_GRAVITY_MPS2, 0, 0, 0])


def test_safety_passes_clamps_levels_and_fences(safety):
    inside = np.array([0.0, 0.0, 1.0])
    cmd, why = safety(np.array([9.0, 1.0, -1.0, 0.5]), LEVEL, inside)
    assert why == "" and np.allclose(cmd, [9.0, 1.0, -1.0, 0.5])
    cmd, why = safety(np.array([99.0, 9.0, -9.0, 9.0]), LEVEL, inside)
    assert np.allclose(cmd, safety.high * [1, 1, 0, 1] + safety.low * [0, 0, 1, 0])
    cmd, why = safety(np.array([9.0, 3.0, 0.0, 0.0]), roll(40.0), inside)
    assert why == "tilt" and cmd[1] < 0
    cmd, why = safety(np.array([9.0, 0.0, 0.0, 0.0]), LEVEL, np.array([0.0, 0.0, 3.0]))
    assert why == "geofence" and cmd[0] < STANDARD_GRAVITY_MPS2
    assert np.allclose(safety.fence_reference(np.array([5.0, -5.0, 1.0])), [1.7, -1.7, 1.0])


@given(
    cmd=st.lists(
        st.one_of(st.floats(width=32), st.just(math.nan), st.just(math.inf)), min_size=4, max_size=4
    ),
    q=st.lists(st.floats(-1, 1), min_size=4, max_size=4),
    pos=st.lists(st.floats(-5, 5), min_size=3, max_size=3),
)
def test_any_command_leaves_finite_and_within_limits(cmd, q, pos):
    s = QuadSafety(CF, QuadSafetyConfig())
    quat = np.asarray(q) if np.linalg.norm(q) > 0.1 else LEVEL
    out, _ = s(np.asarray(cmd, dtype=np.float64), quat, np.asarray(pos))
    assert np.all(np.isfinite(out)) and np.all(out >= s.low) and np.all(out <= s.high)


def test_levelling_really_levels_in_mujoco():
    from sim2real.quad.mujoco_quad import QuadSim

    s = QuadSafety(CF, QuadSafetyConfig())
    sim = QuadSim(CF)
    sim.reset((0, 0, 1))
    sim.data.qpos[3:7] = roll(35.0)
    state = sim.state()
    for _ in range(100):  # 2 s at 50 Hz
        cmd = s.level(state.quat_wxyz)
        state = sim.step(cmd[0] * CF.mass_kg, cmd[1:], 0.02)
    assert quat_to_matrix(state.quat_wxyz)[2, 2] > math.cos(math.radians(1.0))


def test_vehicle_outside_the_training_envelope_is_named(tiny_quad_policy):
    from sim2real_runtime.policy import OnnxPolicy

    c = OnnxPolicy(tiny_quad_policy).contract
    check_quad_compatible(c, CF, "p")
    import dataclasses

    slow = dataclasses.replace(CF, motor_time_constant_s=0.5)
    with pytest.raises(ContractMismatchError, match="motor_time_constant_s"):
        check_quad_compatible(c, slow, "p")
    check_quad_compatible(c, slow, "p", allow_outside_envelope=True)
    with pytest.raises(ContractMismatchError, match="control_rate_hz"):
        check_quad_compatible(c, CF, "p", control_rate_hz=100.0)
