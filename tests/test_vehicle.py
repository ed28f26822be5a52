"""Vehicle files: the shared Crazyflie file loads; malformed files fail naming file and field."""

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
    return yaml.safe_load(CRAZYFLIE.read_text())


def test_shared_crazyflie_file_loads_with_derived_quantities():
    if not CRAZYFLIE.is_file():
        pytest.skip("../shared/benchmarks/quad is not present")
    v = load_vehicle(CRAZYFLIE)
    assert v.name == "crazyflie_2_1" and v.mass_kg == 0.0306
    assert v.inertia_kgm2 == (1.395e-5, 1.436e-5, 2.173e-5)
    # 4 x 0.1488 N / (0.0306 kg x 9.80665 m/s^2) = 1.9834; hover command sqrt(1 / 1.9834) = 0.7101
    assert v.thrust_to_weight == pytest.approx(4 * 0.1488 / (0.0306 * STANDARD_GRAVITY_MPS2))
    assert v.thrust_to_weight == pytest.approx(1.9834, abs=1e-4)
    assert v.hover_command == pytest.approx(0.7101, abs=1e-4)
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
    ],
)
def test_malformed_vehicle_names_the_field(crazyflie_dict, tmp_path, change, field, message):
    data = dict(crazyflie_dict)
    for k, v in change.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
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
