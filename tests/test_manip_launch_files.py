"""The manip_policy launch files: syntax and argument handling here; building them with the ROS 2
launch API where ROS 2 is installed (marker ``ros``)."""

from __future__ import annotations

import ast
import importlib.util

import pytest
from conftest import REPO

from manip_policy.launch_args import ARGUMENTS, effective, node_parameters

PKG = REPO / "ros2_ws" / "src" / "manip_policy"
LAUNCH_FILES = sorted((PKG / "launch").glob("*.launch.py"))


@pytest.fixture
def share(tmp_path):
    """An installed share/manip_policy as colcon lays it out (config/, urdf/panda.urdf)."""
    (tmp_path / "config").mkdir()
    for f in (PKG / "config").glob("*.yaml"):
        (tmp_path / "config" / f.name).write_text(f.read_text())
    (tmp_path / "urdf").mkdir()
    (tmp_path / "urdf" / "panda.urdf").write_text((REPO / "sim_assets/panda/panda.urdf").read_text())
    return tmp_path


def test_two_launch_files_exist_and_parse():
    assert {p.name for p in LAUNCH_FILES} >= {"real.launch.py", "sim.launch.py"}
    for p in LAUNCH_FILES:
        tree = ast.parse(p.read_text(), filename=str(p))
        assert "generate_launch_description" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_parameters_default_to_the_installed_files_and_take_overrides(share, tmp_path):
    params = node_parameters({"policy": str(tmp_path)}, share, True)
    assert params[0] == str(share / "config" / "panda.yaml")
    assert params[1]["urdf"] == str(share / "urdf" / "panda.urdf")
    assert params[1]["use_sim_time"] is True and params[1]["policy_path"] == str(tmp_path.resolve())
    assert effective(params, "command_interface", "?") == "forward"  # from panda.yaml
    assert effective(params, "arm_controller", "?") == "arm_controller"
    params = node_parameters(
        {"policy": str(tmp_path), "command_interface": "trajectory", "gripper_interface": "action"},
        share,
        False,
    )
    assert params[1]["command_interface"] == "trajectory" and params[1]["gripper_interface"] == "action"
    assert effective(params, "command_interface", "?") == "trajectory"


def test_launch_argument_errors_name_the_argument(share, tmp_path):
    with pytest.raises(ValueError, match="policy:="):
        node_parameters({"policy": ""}, share, False)
    with pytest.raises(ValueError, match="command_interface:=effort"):
        node_parameters({"policy": "p", "command_interface": "effort"}, share, False)
    with pytest.raises(ValueError, match=r"urdf:=.*no such file"):
        node_parameters({"policy": "p", "urdf": str(tmp_path / "none.urdf")}, share, False)
    assert set(ARGUMENTS) >= {"policy", "params_file", "urdf", "command_interface", "gripper_interface"}


def test_setup_installs_the_urdf_the_node_defaults_to():
    text = (PKG / "setup.py").read_text()
    assert '"/urdf"' in text and "panda.urdf" in text
    assert "manip_policy_node = manip_policy.node:main" in text


@pytest.mark.ros
@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_descriptions_build_with_ros2(path):
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate_launch_description().entities
