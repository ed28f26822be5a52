"""The MuJoCo quadrotor under CTBR commands: allocation, the autopilot (rate PID, mixer, thrust
models, motors) and rigid body against hand-computed values; each vehicle's own rate loop tracks
steps with the right signs on a 30 g and a 2 kg vehicle; the batched simulator matches MuJoCo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import SHARED

from sim2real.quad.flight_controller import fc_step, pack_params, rotor_signs
from sim2real.quad.mujoco_quad import QuadSim, allocation_matrix
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
    # PX4's default rate loop and allocation, gz-style quadratic motors (see sim_assets/x500)
    "flight_controller": {
        "firmware": "px4",
        "rate_error_unit": "rad/s",
        "rate_p": [0.15, 0.15, 0.2],
        "rate_i": [0.2, 0.2, 0.1],
        "rate_d": [0.003, 0.003, 0.0],
        "rate_k": [1.0, 1.0, 1.0],
        "rate_integrator_limit": [0.3, 0.3, 0.3],
        "rate_d_cutoff_hz": 30.0,
        "max_rates_dps": [220.0, 220.0, 200.0],
        "mixer_per_output": [0.7071, 0.7071, 1.0],
        "thrust_curve": [0.0225, 0.255, 0.7225],
        "firmware_thrust_curve": [0.0, 1.0, 0.0],
        "battery_sag_fraction": 0.0,
        "battery_compensated": False,
        "odometry_latency_s": 0.005,
        "rotor_drag_per_s": 0.0,
    },
}


@pytest.fixture(scope="module")
def crazyflie():
    p = SHARED / "benchmarks" / "quad" / "crazyflie_2_1.yaml"
    if not p.is_file():
        pytest.skip("../shared/benchmarks/quad is not present")
    return load_vehicle(p, flight_controller_from="crazyflie_2_1")


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
    # the mixer's signs: which rotors speed up for a positive roll, pitch, yaw output
    np.testing.assert_array_equal(rotor_signs(v), [[-1, -1, -1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]])


def _fc(vehicle, setpoint, rates_sp=(0.0, 0.0, 0.0), omega=(0.0, 0.0, 0.0), speed=0.0, steps=1):
    """Run the autopilot ``steps`` times at 500 Hz; (rotor thrusts, speeds, integral)."""
    p, sg = pack_params(vehicle, 0.002), rotor_signs(vehicle)
    integral, dfilt, prev = np.zeros(3), np.zeros(3), np.asarray(omega, dtype=float).copy()
    sp_rates = np.asarray(rates_sp, dtype=float)
    speeds, rotor = np.full(4, float(speed)), np.zeros(4)
    for _ in range(steps):
        fc_step(
            p,
            sg,
            sp_rates,
            setpoint,
            np.asarray(omega, dtype=float),
            integral,
            dfilt,
            prev,
            speeds,
            0.002,
            rotor,
            np.zeros(7),
        )
    return rotor, speeds, integral


def test_motor_first_order_lag(crazyflie):
    n = round(crazyflie.motor_time_constant_s / 0.002)  # one time constant: 40 steps
    rotor, speed, _ = _fc(crazyflie, 1.0, steps=n)
    assert speed[0] == pytest.approx(1 - math.exp(-1), rel=1e-9)
    # battery-compensated, linear thrust: the sag (0.1 x load) caps nothing below 0.9
    assert rotor[0] == pytest.approx(crazyflie.motor_max_thrust_n * (1 - math.exp(-1)), rel=1e-9)


def test_crazyflie_rate_pid_by_hand():
    """One 2 ms step of the firmware's PID (deg/s, KP 250, KI 500) and legacy mixer (roll / 2 per
    motor, in counts of 65535) from hover output 0.5, for a 0.1 rad/s roll-rate error."""
    cf = load_vehicle("crazyflie_2_1")
    err = math.degrees(0.1)  # 5.7296 deg/s
    out = 250.0 * err + 500.0 * err * 0.002  # P + I after one step: 1438.1 counts
    dfrac = 0.5 / 65535 * out  # 0.010972 of full command per motor
    rotor, speed, integral = _fc(cf, 0.5, rates_sp=(0.1, 0.0, 0.0), speed=0.5)
    assert integral[0] == pytest.approx(500.0 * err * 0.002)
    alpha = 1 - math.exp(-0.002 / cf.motor_time_constant_s)
    # rotors 1 (back-left) and 2 (front-left) lift the left side: +roll
    np.testing.assert_allclose(speed, 0.5 + alpha * dfrac * np.array([-1, 1, 1, -1]), rtol=1e-6)
    np.testing.assert_allclose(rotor, cf.motor_max_thrust_n * speed, rtol=1e-9)  # linear thrust


def test_px4_linear_model_on_quadratic_motors_by_hand():
    """PX4 with THR_MDL_FAC 0 assumes thrust linear in the output; the gz x500's motors give
    (0.15 + 0.85 u)^2: a 0.5 setpoint gives 0.5756^2 = 0.3306 of full thrust, not 0.5."""
    v = vehicle_from_dict(HEAVY)
    rotor, speed, _ = _fc(v, 0.5, speed=0.5)
    np.testing.assert_allclose(speed, 0.5)
    np.testing.assert_allclose(rotor, 10.0 * (0.15 + 0.85 * 0.5) ** 2, rtol=1e-9)
    # the node's conversion (VehicleConfig.collective_setpoint) sends what gives the thrust asked
    sp = v.collective_setpoint(4 * 10.0 * 0.5)  # half of full thrust
    rotor, _, _ = _fc(v, sp, speed=sp)
    np.testing.assert_allclose(rotor, 5.0, rtol=1e-9)


def test_desaturation_lowers_all_motors_by_the_excess():
    v = vehicle_from_dict({**HEAVY, "flight_controller": {**HEAVY["flight_controller"],
                                                          "thrust_curve": [0.0, 1.0, 0.0]}})  # fmt: skip
    # full collective plus a roll demand: the rising motors would pass 1, all four drop instead
    _, speed, _ = _fc(v, 1.0, rates_sp=(1.0, 0.0, 0.0), speed=1.0)
    out = 0.15 * 1.0 + 0.2 * 1.0 * 0.002  # P + I for 1 rad/s
    d = 0.7071 * out
    lag = 1 - math.exp(-0.002 / 0.03)
    expected_cmd = np.array([1 - 2 * d, 1.0, 1.0, 1 - 2 * d])  # lifted rotors at 1, the others 2d below
    np.testing.assert_allclose(speed, 1.0 + lag * (expected_cmd - 1.0), rtol=1e-9)


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
    # PX4's default yaw loop (P 0.2, I 0.1 on a 0.04 kg m^2 frame) is slow and overshoots: 4 s
    st = sim.step(v.mass_kg * G, sp, 4.0 if (axis == 2 and vehicle_kind == "heavy") else 1.5)
    assert st.body_rates_radps[axis] == pytest.approx(1.0, abs=0.05)  # settled within 5 %
    others = np.delete(st.body_rates_radps, axis)
    assert np.abs(others).max() < 1e-6
    # Right-handed FLU: +roll rate lifts the left side (+x rotation), +pitch rate lowers the nose,
    # +yaw rate turns left; after 1 s at about 1 rad/s the quaternion's vector part shows it.
    assert st.quat_wxyz[1 + axis] > 0.3  # sin(angle / 2) > 0 for angles in (0, 2 pi)


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
    for s in sims:
        s.wind_force_n = np.array([0.01, -0.02, 0.0]) * s.vehicle.mass_kg
    batch.external_accel[:] = [0.01, -0.02, 0.0]
    for _ in range(100):  # 50 Hz commands, 10 physics steps each
        thrust = weight * (1 + 0.3 * rng.standard_normal(2))
        rates = rng.standard_normal((2, 3)) * 1.5
        states = [s.step(thrust[i], rates[i], 0.02) for i, s in enumerate(sims)]
        batch.step(
            np.array([crazyflie.collective_setpoint(thrust[0]), heavy.collective_setpoint(thrust[1])]),
            rates,
            10,
        )
        for i, st in enumerate(states):
            np.testing.assert_allclose(batch.pos[i], st.position_m, atol=1e-6)
            np.testing.assert_allclose(batch.vel[i], st.velocity_mps, atol=1e-6)
            np.testing.assert_allclose(batch.omega[i], st.body_rates_radps, atol=1e-6)
            np.testing.assert_allclose(np.abs(batch.quat[i] @ st.quat_wxyz), 1.0, atol=1e-9)
    assert np.abs(batch.pos - [0, 0, 1]).max() > 0.1  # the commands did move them
