"""The shipped vehicle files (sim_assets/*/vehicle.yaml): each loads, has a flyable thrust-to-weight
and plausible inertia, cites its sources, and hovers level in the MuJoCo model.

Parametrised over the files found on disk, so a new vehicle file is tested without editing this one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import REPO

from sim2real.quad.mujoco_quad import QuadSim
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, load_vehicle

VEHICLE_FILES = sorted((REPO / "sim_assets").glob("*/vehicle.yaml"))
SHIPPED = {"x500", "crazyflie_2_1", "iris", "crazyflie_2_1_thrust_upgrade", "crazyflie_2_1_plus"}


def test_the_shipped_vehicles_are_found():
    assert {p.parent.name for p in VEHICLE_FILES} >= SHIPPED


@pytest.fixture(params=VEHICLE_FILES, ids=lambda p: p.parent.name)
def vehicle_file(request):
    return request.param


def test_loads_by_name_and_path(vehicle_file):
    by_name = load_vehicle(vehicle_file.parent.name)
    assert by_name.name == vehicle_file.parent.name  # the contract checks this name at deployment
    assert load_vehicle(vehicle_file).as_dict() == by_name.as_dict()


def test_header_cites_sources(vehicle_file):
    header = []
    for line in vehicle_file.read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    text = "\n".join(header)
    assert "Source" in text, f"{vehicle_file}: the header comment must cite the numbers' sources"


def test_thrust_to_weight_and_inertia_are_plausible(vehicle_file):
    v = load_vehicle(vehicle_file)
    # Below 1.3 there is no control margin at hover; above 5 the thrust (or mass) is likely mistyped.
    assert 1.3 < v.thrust_to_weight < 5.0, v.thrust_to_weight
    # Yaw inertia over mass * arm^2 (a squared radius of gyration in arm lengths): about 0.2-1 for a
    # quadrotor; a unit slip (g for kg, mm for m, g cm^2 for kg m^2) lands orders of magnitude away.
    ratio = v.inertia_kgm2[2] / (v.mass_kg * v.arm_length_m**2)
    assert 0.1 < ratio < 1.5, ratio
    assert v.inertia_kgm2[2] >= max(v.inertia_kgm2[:2])  # a flat airframe: yaw is the largest
    assert 0.0 < v.torque_to_thrust_m < v.arm_length_m
    assert 0.005 < v.motor_time_constant_s < 0.2
    # The hover setpoint sent to the autopilot lands, through the firmware's model, on the motor
    # output at which the real curve carries the weight.
    fc = v.flight_controller
    from sim2real_runtime.vehicle import curve_inverse, curve_value

    sp = v.collective_setpoint(v.mass_kg * STANDARD_GRAVITY_MPS2)
    u = curve_inverse(fc.firmware_thrust_curve, sp)
    assert 4 * v.motor_max_thrust_n * curve_value(fc.thrust_curve, u) == pytest.approx(
        v.mass_kg * STANDARD_GRAVITY_MPS2, rel=1e-6
    )


def test_hovers_level_in_mujoco(vehicle_file):
    """The weight through the file's own chain (setpoint, firmware model, real curve) holds the
    vehicle, less the battery sag the firmware does not compensate (PX4 without MC_BAT_SCALE_EN)."""
    v = load_vehicle(vehicle_file)
    fc = v.flight_controller
    sim = QuadSim(v)
    start = sim.reset((0.0, 0.0, 1.0))
    state = sim.step(v.mass_kg * STANDARD_GRAVITY_MPS2, np.zeros(3), 2.0)
    assert state.time_s == pytest.approx(2.0)
    # The sag removes sag x load of the thrust (load: the hover thrust fraction); the vehicle sinks
    # with that acceleration (drag, at these speeds, changes it by < 10 %).
    load = 1.0 / v.thrust_to_weight
    deficit = 0.0 if fc.battery_compensated else fc.battery_sag_fraction * load
    expected_dz = -0.5 * deficit * STANDARD_GRAVITY_MPS2 * 2.0**2
    tol = 0.02 + 0.1 * abs(expected_dz)
    assert state.position_m[2] - start.position_m[2] == pytest.approx(expected_dz, abs=tol)
    assert np.linalg.norm(state.position_m[:2]) < 0.02
    w, x, y, _ = state.quat_wxyz
    tilt = math.acos(min(1.0, 1.0 - 2.0 * (x * x + y * y)))  # body z against world z
    assert tilt < math.radians(0.5), math.degrees(tilt)
    assert abs(w) > 0.9999  # no yaw spin-up either
    assert np.linalg.norm(state.body_rates_radps) < 0.01
    assert np.linalg.norm(state.velocity_mps[:2]) < 0.02
    assert state.velocity_mps[2] == pytest.approx(-deficit * STANDARD_GRAVITY_MPS2 * 2.0, abs=tol)
