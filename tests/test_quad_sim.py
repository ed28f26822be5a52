"""The MuJoCo quadrotor under CTBR commands: allocation, motors and rigid body against hand-computed
values; the rate loop tracks steps with the right signs on a 30 g and a 2 kg vehicle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import SHARED

from sim2real.quad.mujoco_quad import Motors, QuadSim, allocation_matrix
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, load_vehicle, vehicle_from_dict

G = STANDARD_GRAVITY_MPS2

# A 2 kg, 0.25 m-arm vehicle, written here (not one of the shipped files): the same gains and code
# must fly it.
HEAVY = {
    "name": "test_2kg",
    "mass_kg": 2.0,
    "arm_length_m": 0.25,
    "inertia_kgm2": [0.021, 0.021, 0.04],
    "motor_max_thrust_n": 10.0,
    "torque_to_thrust_m": 0.016,
    "motor_time_constant_s": 0.03,
}


@pytest.fixture(scope="module")
def crazyflie():
    p = SHARED / "benchmarks" / "quad" / "crazyflie_2_1.yaml"
    if not p.is_file():
        pytest.skip("../shared/benchmarks/quad is not present")
    return load_vehicle(p)


def test_allocation_by_hand():
    v = vehicle_from_dict({**HEAVY, "arm_length_m": math.sqrt(2) * 0.1})  # rotors at (+-0.1, +-0.1)
    a = allocation_matrix(v)
    k = 0.016
    expected = np.array(
        [
            [1, 1, 1, 1],
            [-0.1, 0.1, 0.1, -0.1],  # roll torque from y: FR, BL, FL, BR
            [-0.1, 0.1, -0.1, 0.1],  # pitch torque from -x
            [-k, -k, k, k],  # FR and BL spin counter-clockwise: -z reaction
        ]
    )
    np.testing.assert_allclose(a, expected, atol=1e-12)
    sim = QuadSim(v)
    wrench = np.array([12.0, 0.05, -0.04, 0.01])
    np.testing.assert_allclose(a @ sim.mix(wrench[0], wrench[1:]), wrench, atol=1e-12)
    assert np.all(sim.mix(100.0, np.zeros(3)) == 10.0)  # saturates at motor_max_thrust_n


def test_motor_first_order_lag(crazyflie):
    m = Motors(crazyflie, 0.002)
    m.reset(0.0)
    n = round(crazyflie.motor_time_constant_s / 0.002)  # one time constant: 40 steps
    for _ in range(n):
        thrust = m.step(np.ones(4))
    assert m.speed[0] == pytest.approx(1 - math.exp(-1), rel=1e-9)
    assert thrust[0] == pytest.approx(crazyflie.motor_max_thrust_n * (1 - math.exp(-1)) ** 2, rel=1e-9)


def test_hover_holds_and_free_fall_matches_gravity(crazyflie):
    sim = QuadSim(crazyflie)
    sim.reset((0.0, 0.0, 1.0))
    st = sim.step(crazyflie.mass_kg * G, np.zeros(3), 2.0)
    assert np.abs(st.position_m - [0, 0, 1]).max() < 1e-6 and np.abs(st.velocity_mps).max() < 1e-6
    sim.reset((0.0, 0.0, 1.0), hover=False)
    st = sim.step(0.0, np.zeros(3), 0.5)
    assert st.position_m[2] == pytest.approx(1.0 - 0.5 * G * 0.5**2, abs=1e-9)
    assert st.velocity_mps[2] == pytest.approx(-G * 0.5, abs=1e-9)


@pytest.mark.parametrize("vehicle_kind", ["crazyflie", "heavy"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_rate_steps_are_tracked_with_ros_signs(crazyflie, vehicle_kind, axis):
    v = crazyflie if vehicle_kind == "crazyflie" else vehicle_from_dict(HEAVY)
    sim = QuadSim(v)
    sim.reset()
    sp = np.zeros(3)
    sp[axis] = 1.0
    st = sim.step(v.mass_kg * G, sp, 1.0)
    assert st.body_rates_radps[axis] == pytest.approx(1.0, abs=0.05)  # settled within 5 %
    others = np.delete(st.body_rates_radps, axis)
    assert np.abs(others).max() < 1e-6
    # Right-handed FLU: +roll rate lifts the left side (+x rotation), +pitch rate lowers the nose,
    # +yaw rate turns left; after 1 s at about 1 rad/s the quaternion's vector part shows it.
    assert st.quat_wxyz[1 + axis] > 0.3


def test_non_finite_command_is_refused(crazyflie):
    sim = QuadSim(crazyflie)
    sim.reset()
    with pytest.raises(ValueError, match="non-finite"):
        sim.step(math.nan, np.zeros(3), 0.01)
    with pytest.raises(ValueError, match="non-finite"):
        sim.step(0.3, np.array([0.0, math.inf, 0.0]), 0.01)


def test_batched_simulator_matches_mujoco(crazyflie):
    """The training simulator against MuJoCo: 2 s of random CTBR commands, both vehicles."""
    from sim2real.quad.batch_sim import BatchQuadSim

    heavy = vehicle_from_dict(HEAVY)
    rng = np.random.default_rng(0)
    batch = BatchQuadSim([crazyflie, heavy])
    batch.reset(np.arange(2), np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]))
    sims = [QuadSim(crazyflie), QuadSim(heavy)]
    for s in sims:
        s.reset((0.0, 0.0, 1.0))
    weight = np.array([crazyflie.mass_kg, heavy.mass_kg]) * G
    for _ in range(100):  # 50 Hz commands, 10 physics steps each
        thrust = weight * (1 + 0.3 * rng.standard_normal(2))
        rates = rng.standard_normal((2, 3)) * 1.5
        states = [s.step(thrust[i], rates[i], 0.02) for i, s in enumerate(sims)]
        batch.step(thrust, rates, 10)
        for i, st in enumerate(states):
            np.testing.assert_allclose(batch.pos[i], st.position_m, atol=1e-6)
            np.testing.assert_allclose(batch.vel[i], st.velocity_mps, atol=1e-6)
            np.testing.assert_allclose(batch.omega[i], st.body_rates_radps, atol=1e-6)
            np.testing.assert_allclose(np.abs(batch.quat[i] @ st.quat_wxyz), 1.0, atol=1e-9)
    assert np.abs(batch.pos - [0, 0, 1]).max() > 0.1  # the commands did move them
