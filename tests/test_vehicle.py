"""Vehicle files: the shared Crazyflie file loads (with our Crazyflie's flight controller, asked
for explicitly); malformed files fail naming file and field, the flight controller's included."""

from __future__ import annotations

import math

import pytest
import yaml
from conftest import SHARED

from sim2real_runtime.errors import ConfigError
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, load_vehicle, vehicle_from_dict

CRAZYFLIE = SHARED / "benchmarks" / "quad" / "crazyflie_2_1.yaml"


@pytest.fixture
def crazyflie_dict():
    if not CRAZYFLIE.is_file():
        pytest.skip("../shared/benchmarks/quad is not present")
    data = yaml.safe_load(CRAZYFLIE.read_text())
    data["flight_controller"] = load_vehicle("crazyflie_2_1").as_dict()["flight_controller"]
    return data


def test_shared_crazyflie_file_loads_with_derived_quantities():
    if not CRAZYFLIE.is_file():
        pytest.skip("../shared/benchmarks/quad is not present")
    with pytest.raises(ConfigError) as err:  # an airframe-only file: no rate gains, no curves
        load_vehicle(CRAZYFLIE)
    assert err.value.field == "flight_controller" and "missing" in str(err.value)
    v = load_vehicle(CRAZYFLIE, flight_controller_from="crazyflie_2_1")
    assert v.name == "crazyflie_2_1" and v.mass_kg == 0.0306
    assert v.inertia_kgm2 == (1.395e-5, 1.436e-5, 2.173e-5)
    # 4 x 0.1488 N / (0.0306 kg x 9.80665 m/s^2) = 1.9834; the battery-compensated Crazyflie's
    # thrust is linear in the motor output: hover output 1 / 1.9834 = 0.5042
    assert v.thrust_to_weight == pytest.approx(4 * 0.1488 / (0.0306 * STANDARD_GRAVITY_MPS2))
    assert v.thrust_to_weight == pytest.approx(1.9834, abs=1e-4)
    assert v.hover_command == pytest.approx(0.5042, abs=1e-4)
    assert v.source == str(CRAZYFLIE)
    assert v.as_dict()["inertia_kgm2"] == [1.395e-5, 1.436e-5, 2.173e-5]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"mass_kg": None}, "mass_kg", "missing"),
        ({"mass_kg": "light"}, "mass_kg", "expected a finite number"),
        ({"mass_kg": 0.0}, "mass_kg", "must be > 0"),
        ({"arm_length_m": -0.04}, "arm_length_m", "must be > 0"),  # one message for one rule
        ({"inertia_kgm2": [1e-5, 1e-5]}, "inertia_kgm2", "expected a list of 3 numbers"),
        ({"inertia_kgm2": [1e-5, math.nan, 2e-5]}, "inertia_kgm2[1]", "expected a finite number"),
        ({"inertia_kgm2": [1e-5, 1e-5, 0.0]}, "inertia_kgm2[2]", "must be > 0"),
        ({"inertia_kgm2": [1e-5, 1e-5, 3e-5]}, "inertia_kgm2", "violates Ixx + Iyy >= Izz"),
        ({"motor_max_thrust_n": 0.05}, "motor_max_thrust_n", "cannot lift mass_kg 0.0306 kg"),
        ({"motor_time_constant": 0.08}, "motor_time_constant", "unknown field"),
        ({"name": ""}, "name", "expected a non-empty string"),
        ({"flight_controller": None}, "flight_controller", "missing"),
        ({"fc.rate_p": None}, "flight_controller.rate_p", "missing"),
        ({"fc.rate_i": [500.0, 500.0]}, "flight_controller.rate_i", "expected a list of 3 numbers"),
        ({"fc.rate_p": [250.0, 0.0, 120.0]}, "flight_controller.rate_p[1]", "must be > 0"),
        ({"fc.rate_error_unit": "rpm"}, "flight_controller.rate_error_unit", "known: rad/s, deg/s"),
        ({"fc.thrust_curve": [0.0, 2.5, -1.5]}, "flight_controller.thrust_curve", "not monotonic"),
        ({"fc.thrust_curve": [0.0, 0.5, 0.2]}, "flight_controller.thrust_curve", "must give 1"),
        (
            {"fc.firmware_thrust_curve": [0.2, -0.4, 1.2]},
            "flight_controller.firmware_thrust_curve",
            "not monotonic",
        ),
        ({"fc.battery_sag_fraction": 0.7}, "flight_controller.battery_sag_fraction", "must be < 0.5"),
        ({"fc.battery_compensated": "yes"}, "flight_controller.battery_compensated", "true or false"),
    ],
)
def test_malformed_vehicle_names_the_field(crazyflie_dict, tmp_path, change, field, message):
    data = dict(crazyflie_dict)
    data["flight_controller"] = dict(data["flight_controller"])
    for k, v in change.items():
        target, key = (data["flight_controller"], k[3:]) if k.startswith("fc.") else (data, k)
        if v is None:
            target.pop(key)
        else:
            target[key] = v
    f = tmp_path / "bad_vehicle.yaml"
    f.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_vehicle(f)
    assert err.value.source == str(f) and err.value.field == field
    assert message in str(err.value)


def test_unknown_vehicle_name_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="unknown vehicle"):
        load_vehicle("hummingbird_9000")
    f = tmp_path / "v.yaml"
    f.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_vehicle(f)
    with pytest.raises(ConfigError, match="expected a mapping"):
        vehicle_from_dict([1, 2, 3], "list.yaml")
