"""Gazebo files generated from the scenario and robot files: world, robot model, bridge, launch.

Gazebo does not run here; these tests check that what we hand it says what the scenario and the
robot file say. The ``gazebo`` test builds the launch description where ROS 2 and ros_gz exist.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim2real.nav.gazebo import (
    bridge_config,
    robot_sdf,
    scenario_sdf,
    world_name,
    write_gazebo_world,
)
from sim2real.nav.mujoco_sim import OBSTACLE_HEIGHT_M
from sim2real.nav.scenario import OccupancyGrid, Scenario, load_scenario
from sim2real.nav.urdf import base_layout
from sim2real_runtime.robot import RobotConfig

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILE = REPO / "ros2_ws" / "src" / "nav_policy" / "launch" / "gazebo.launch.py"


def _floats(text: str | None) -> list[float]:
    assert text is not None
    return [float(v) for v in text.split()]


def _obstacle_collisions(world: ET.Element) -> list[ET.Element]:
    model = world.find("model[@name='obstacles']")
    assert model is not None
    assert model.findtext("static") == "true"
    return model.findall("link/collision")


def _world(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "sdf" and root.get("version") == "1.9"
    world = root.find("world")
    assert world is not None
    return world


# -------------------------------------------------------------------------------------- world


def test_barn_world_has_the_scenarios_cylinders(barn_dir: Path, jackal: RobotConfig) -> None:
    scn = load_scenario(barn_dir / "world_001.scenario.yaml")
    world = _world(scenario_sdf(scn, jackal))
    assert world.get("name") == world_name(scn)
    assert float(world.findtext("physics/max_step_size")) == pytest.approx(0.001)
    plugins = {p.get("name"): p for p in world.findall("plugin")}
    for system in ("Physics", "UserCommands", "SceneBroadcaster", "Sensors", "Contact"):
        assert f"gz::sim::systems::{system}" in plugins
    assert plugins["gz::sim::systems::Sensors"].findtext("render_engine") == "ogre2"
    assert world.find("light[@name='sun']") is not None
    assert world.find("model[@name='ground_plane']/link/collision/geometry/plane") is not None

    collisions = _obstacle_collisions(world)
    found = []
    for c in collisions:
        cyl = c.find("geometry/cylinder")
        assert cyl is not None, "a BARN world has cylinders only"
        x, y, z, *rpy = _floats(c.findtext("pose"))
        length = float(cyl.findtext("length"))
        assert length == pytest.approx(OBSTACLE_HEIGHT_M)
        assert z == pytest.approx(0.5 * OBSTACLE_HEIGHT_M)  # standing on the floor
        assert rpy == [0.0, 0.0, 0.0]
        found.append((x, y, float(cyl.findtext("radius"))))
    expected = np.asarray(scn.circles)
    assert len(found) == len(expected) > 100
    np.testing.assert_allclose(np.array(sorted(found)), np.array(sorted(map(tuple, expected))), atol=1e-6)


def test_map_only_world_boxes_cover_exactly_the_occupied_cells(jackal: RobotConfig) -> None:
    rng = np.random.default_rng(7)
    occ = rng.random((30, 40)) < 0.25
    occ[3:12, 5:20] = True
    res, origin = 0.1, (-1.5, 2.0)
    scn = Scenario(
        "map only", (0.0, 0.0, 0.0), (3.0, 4.0), 1.0, 100.0, None, grid=OccupancyGrid(occ, res, origin)
    )
    world = _world(scenario_sdf(scn, jackal))
    assert world.get("name") == "map_only"
    boxes = []
    for c in _obstacle_collisions(world):
        size = _floats(c.findtext("geometry/box/size"))
        x, y, z, *_ = _floats(c.findtext("pose"))
        assert size[2] == pytest.approx(OBSTACLE_HEIGHT_M) and z == pytest.approx(0.5 * OBSTACLE_HEIGHT_M)
        boxes.append((x - size[0] / 2, x + size[0] / 2, y - size[1] / 2, y + size[1] / 2))
    assert 0 < len(boxes) < occ.sum()
    rows, cols = np.indices(occ.shape)
    cx = origin[0] + (cols + 0.5) * res
    cy = origin[1] + (rows + 0.5) * res
    inside = np.zeros(occ.shape, dtype=bool)
    for x0, x1, y0, y1 in boxes:
        inside |= (x0 < cx) & (cx < x1) & (y0 < cy) & (cy < y1)
    np.testing.assert_array_equal(inside, occ)


# -------------------------------------------------------------------------------------- robot


@pytest.mark.parametrize("name", ["jackal", "turtlebot"])
def test_robot_model_matches_the_robot_file(name: str, request: pytest.FixtureRequest) -> None:
    robot: RobotConfig = request.getfixturevalue(name)
    root = ET.fromstring(robot_sdf(robot))
    assert root.get("version") == "1.9"
    model = root.find("model")
    assert model is not None and model.get("name") == robot.name

    lid = robot.lidar
    link = model.find("link[@name='laser']")
    assert link is not None
    assert _floats(link.findtext("pose")) == pytest.approx(
        [lid.mount_x_m, 0, lid.mount_z_m - robot.wheel_radius_m, 0, 0, 0]
    )
    assert link.find("pose").get("relative_to") == "base_link"
    assert _floats(model.findtext("link[@name='base_link']/pose"))[2] == pytest.approx(robot.wheel_radius_m)
    sensor = link.find("sensor[@type='gpu_lidar']")
    assert sensor is not None and sensor.findtext("topic") == "scan"
    assert float(sensor.findtext("update_rate")) == pytest.approx(lid.rate_hz)
    h = sensor.find("lidar/scan/horizontal")
    assert int(h.findtext("samples")) == lid.num_beams
    assert float(h.findtext("min_angle")) == pytest.approx(lid.angle_min_rad, abs=1e-8)
    angle_max = lid.angle_min_rad + (lid.num_beams - 1) * lid.angle_increment_rad
    assert float(h.findtext("max_angle")) == pytest.approx(angle_max, abs=1e-8)
    assert float(sensor.findtext("lidar/range/min")) == pytest.approx(lid.range_min_m)
    assert float(sensor.findtext("lidar/range/max")) == pytest.approx(lid.range_max_m)
    assert float(sensor.findtext("lidar/noise/stddev")) == pytest.approx(lid.range_noise_std_m)

    joints = {j.get("name"): j for j in model.findall("joint")}
    lay = base_layout(robot)
    for side, sign in (("left", 1), ("right", -1)):
        j = joints[f"{side}_wheel_joint"]
        assert j.get("type") == "revolute" and j.findtext("child") == f"{side}_wheel_link"
        assert _floats(j.findtext("axis/xyz")) == [0, 1, 0]
        wheel = model.find(f"link[@name='{side}_wheel_link']")
        assert _floats(wheel.findtext("pose"))[:3] == pytest.approx([0, sign * lay.wheel_y_m, 0])
        assert float(wheel.findtext("collision/geometry/cylinder/radius")) == pytest.approx(
            robot.wheel_radius_m
        )
    assert {n for n, j in joints.items() if j.get("type") == "fixed"} == {
        "front_caster_joint",
        "rear_caster_joint",
        "laser_joint",
    }
    masses = [float(m.text) for m in model.iter("mass")]
    assert sum(masses) == pytest.approx(robot.mass_kg)

    plugins = {p.get("filename"): p for p in model.findall("plugin")}
    dd = plugins["gz-sim-diff-drive-system"]
    assert (dd.findtext("left_joint"), dd.findtext("right_joint")) == (
        "left_wheel_joint",
        "right_wheel_joint",
    )
    assert float(dd.findtext("wheel_separation")) == pytest.approx(robot.wheel_separation_m)
    assert float(dd.findtext("wheel_radius")) == pytest.approx(robot.wheel_radius_m)
    assert float(dd.findtext("max_linear_velocity")) == pytest.approx(robot.max_linear_speed_mps)
    assert float(dd.findtext("min_linear_velocity")) == pytest.approx(robot.min_linear_speed_mps)
    assert float(dd.findtext("max_angular_acceleration")) == pytest.approx(robot.max_angular_accel_radps2)
    assert float(dd.findtext("odom_publish_frequency")) == 50
    topics = {k: dd.findtext(k) for k in ("topic", "odom_topic", "tf_topic", "frame_id", "child_frame_id")}
    assert topics == {
        "topic": "cmd_vel",
        "odom_topic": "odom",
        "tf_topic": "tf",
        "frame_id": "odom",
        "child_frame_id": "base_link",
    }
    jsp = plugins["gz-sim-joint-state-publisher-system"]
    assert [e.text for e in jsp.findall("joint_name")] == ["left_wheel_joint", "right_wheel_joint"]


# ------------------------------------------------------------------------------------- bridge


@pytest.mark.parametrize("stamped", [False, True])
def test_bridge_config(stamped: bool) -> None:
    entries = yaml.safe_load(bridge_config(stamped))
    by_topic = {e["ros_topic_name"]: e for e in entries}
    assert len(entries) == len(by_topic) == 6
    twist = "geometry_msgs/msg/TwistStamped" if stamped else "geometry_msgs/msg/Twist"
    expected = {
        "/scan": ("sensor_msgs/msg/LaserScan", "gz.msgs.LaserScan", "GZ_TO_ROS"),
        "/odom": ("nav_msgs/msg/Odometry", "gz.msgs.Odometry", "GZ_TO_ROS"),
        "/tf": ("tf2_msgs/msg/TFMessage", "gz.msgs.Pose_V", "GZ_TO_ROS"),
        "/clock": ("rosgraph_msgs/msg/Clock", "gz.msgs.Clock", "GZ_TO_ROS"),
        "/joint_states": ("sensor_msgs/msg/JointState", "gz.msgs.Model", "GZ_TO_ROS"),
        "/cmd_vel": (twist, "gz.msgs.Twist", "ROS_TO_GZ"),
    }
    for topic, (ros_type, gz_type, direction) in expected.items():
        e = by_topic[topic]
        assert (e["ros_type_name"], e["gz_type_name"], e["direction"]) == (ros_type, gz_type, direction)
        assert e["gz_topic_name"] == topic


# ---------------------------------------------------------------------------------- files, CLI


def test_write_gazebo_world_and_module_main(barn_dir: Path, jackal: RobotConfig, tmp_path: Path) -> None:
    scenario = barn_dir / "world_001.scenario.yaml"
    world, model = write_gazebo_world(scenario, jackal, tmp_path / "direct")
    assert (world.name, model.name) == ("barn_001.sdf", "jackal.sdf")
    assert sorted(p.name for p in world.parent.iterdir()) == ["barn_001.sdf", "jackal.sdf"]  # no temp left
    assert world.read_text() == scenario_sdf(load_scenario(scenario), jackal)

    out = tmp_path / "cli"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim2real.nav.gazebo",
            "--scenario",
            str(scenario),
            "--robot",
            "jackal",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    printed = [Path(line) for line in proc.stdout.split()]
    assert [p.name for p in printed] == ["barn_001.sdf", "jackal.sdf", "ros_gz_bridge.yaml"]
    assert all(p.is_file() and p.parent == out for p in printed)
    assert printed[1].read_text() == robot_sdf(jackal)
    assert yaml.safe_load(printed[2].read_text())[-1]["ros_type_name"] == "geometry_msgs/msg/Twist"

    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim2real.nav.gazebo",
            "--scenario",
            str(tmp_path / "none.scenario.yaml"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "none.scenario.yaml" in bad.stderr


# ------------------------------------------------------------------------------------- launch


def test_launch_file_is_valid_python() -> None:
    tree = ast.parse(LAUNCH_FILE.read_text(), filename=str(LAUNCH_FILE))
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"generate_launch_description", "launch_setup"} <= functions


@pytest.mark.gazebo
def test_launch_description_builds(barn_dir: Path, tmp_path: Path) -> None:
    launch_ros = pytest.importorskip("launch_ros")  # first: a stray 'launch' folder can shadow ROS 2's
    launch = pytest.importorskip("launch")
    from launch.utilities import perform_substitutions

    spec = importlib.util.spec_from_file_location("gazebo_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert isinstance(description, launch.LaunchDescription)

    context = launch.LaunchContext()
    scenario = barn_dir / "world_001.scenario.yaml"
    context.launch_configurations.update(
        {
            "scenario": str(scenario),
            "robot": "jackal",
            "policy": str(tmp_path),
            "params_file": str(tmp_path / "params.yaml"),
            "cmd_vel_stamped": "true",
        }
    )
    actions = module.launch_setup(context)
    nodes = [a for a in actions if isinstance(a, launch_ros.actions.Node)]
    assert {n.node_package for n in nodes} == {"ros_gz_sim", "ros_gz_bridge", "nav_policy"}
    start = load_scenario(scenario).start
    spawn = next(n for n in nodes if n.node_package == "ros_gz_sim")
    args = [perform_substitutions(context, part) for part in spawn.cmd[1:]]
    assert float(args[args.index("-x") + 1]) == pytest.approx(start[0])
    assert float(args[args.index("-Y") + 1]) == pytest.approx(start[2])
    assert math.isfinite(float(args[args.index("-y") + 1]))
    context.launch_configurations["scenario"] = ""
    with pytest.raises(RuntimeError, match="scenario"):
        module.launch_setup(context)
