"""The quad_policy launch files: syntax and argument handling here; building them with the ROS 2
launch API where ROS 2 is installed (marker ``ros``)."""

from __future__ import annotations

import ast
import importlib.util

import pytest
from conftest import REPO

from quad_policy.launch_args import ARGUMENTS, node_parameters, vehicle_file

PKG = REPO / "ros2_ws" / "src" / "quad_policy"
LAUNCH_FILES = sorted((PKG / "launch").glob("*.launch.py"))


@pytest.fixture
def share(tmp_path):
    """An installed share/quad_policy as colcon lays it out (config/, vehicles/<name>/vehicle.yaml)."""
    (tmp_path / "config").mkdir()
    for f in (PKG / "config").glob("*.yaml"):
        (tmp_path / "config" / f.name).write_text(f.read_text())
    for v in ("crazyflie_2_1", "x500"):
        d = tmp_path / "vehicles" / v
        d.mkdir(parents=True)
        (d / "vehicle.yaml").write_text((REPO / "sim_assets" / v / "vehicle.yaml").read_text())
    return tmp_path


def test_two_launch_files_exist_and_parse():
    assert {p.name for p in LAUNCH_FILES} >= {"real.launch.py", "sim.launch.py"}
    for p in LAUNCH_FILES:
        tree = ast.parse(p.read_text(), filename=str(p))
        assert "generate_launch_description" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_interface_picks_the_parameter_file_and_its_vehicle(share, tmp_path):
    px4 = node_parameters({"policy": str(tmp_path), "interface": "px4"}, share, True)
    assert px4[0] == str(share / "config" / "px4_x500.yaml")
    assert px4[1]["vehicle"] == str(share / "vehicles" / "x500" / "vehicle.yaml")
    assert px4[1]["use_sim_time"] is True and px4[1]["interface"] == "px4"
    cf = node_parameters({"policy": str(tmp_path), "aggressiveness": "0.8"}, share, False)
    assert cf[1]["vehicle"] == str(share / "vehicles" / "crazyflie_2_1" / "vehicle.yaml")
    assert cf[1]["aggressiveness"] == 0.8 and cf[1]["interface"] == "crazyflie"


def test_launch_argument_errors_name_the_argument(share):
    with pytest.raises(ValueError, match="policy:="):
        node_parameters({"policy": ""}, share, False)
    with pytest.raises(ValueError, match="interface:=ardupilot"):
        node_parameters({"policy": "p", "interface": "ardupilot"}, share, False)
    with pytest.raises(ValueError, match="vehicle:=tello: unknown vehicle"):
        vehicle_file("tello", share)
    assert set(ARGUMENTS) >= {"policy", "vehicle", "interface", "params_file", "aggressiveness"}


@pytest.mark.ros
@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_descriptions_build_with_ros2(path):
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate_launch_description().entities
