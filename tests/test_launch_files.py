"""The nav_policy launch files: syntax and shared argument handling here; building them with the
ROS 2 launch API where ROS 2 is installed (marker ``ros``)."""

from __future__ import annotations

import ast
import importlib.util

import pytest
from conftest import REPO

from nav_policy.launch_args import ARGUMENTS, node_parameters, robot_file

PKG = REPO / "ros2_ws" / "src" / "nav_policy"
LAUNCH_FILES = sorted((PKG / "launch").glob("*.launch.py"))


@pytest.fixture
def share(tmp_path):
    """An installed share/nav_policy as colcon lays it out (config/, robots/<name>/robot.yaml)."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jackal.yaml").write_text((PKG / "config" / "jackal.yaml").read_text())
    for robot in ("jackal", "turtlebot3_burger"):
        d = tmp_path / "robots" / robot
        d.mkdir(parents=True)
        (d / "robot.yaml").write_text((REPO / "sim_assets" / robot / "robot.yaml").read_text())
    return tmp_path


def test_three_launch_files_exist_and_parse():
    assert {p.name for p in LAUNCH_FILES} >= {"real.launch.py", "gazebo.launch.py", "sim.launch.py"}
    for p in LAUNCH_FILES:
        tree = ast.parse(p.read_text(), filename=str(p))
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "generate_launch_description" in names, p.name


def test_node_parameters_from_launch_arguments(share, tmp_path):
    params = node_parameters({"policy": str(tmp_path), "robot": "turtlebot3_burger"}, share, True)
    assert params[0] == str(share / "config" / "jackal.yaml")  # no turtlebot3 params file: the default
    over = params[1]
    assert over["robot"] == str(share / "robots" / "turtlebot3_burger" / "robot.yaml")
    assert over["use_sim_time"] is True and over["cmd_vel_stamped"] is False
    assert over["policy_path"] == str(tmp_path.resolve())
    stamped = node_parameters({"policy": "p", "cmd_vel_stamped": "True"}, share, False)[1]
    assert stamped["cmd_vel_stamped"] is True


def test_launch_argument_errors_name_the_argument(share):
    with pytest.raises(ValueError, match="policy:="):
        node_parameters({"policy": ""}, share, False)
    with pytest.raises(ValueError, match="robot:=husky: unknown robot"):
        robot_file("husky", share)
    assert robot_file("/some/robot.yaml", share) == "/some/robot.yaml"
    assert set(ARGUMENTS) >= {"policy", "robot", "params_file", "cmd_vel_stamped"}


@pytest.mark.ros
@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_descriptions_build_with_ros2(path):
    pytest.importorskip("launch_ros")
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    desc = mod.generate_launch_description()
    assert desc.entities
