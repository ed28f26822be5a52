"""Validate a policy in Gazebo (gz sim Harmonic) with ROS 2 in the loop.

    ros2 launch nav_policy gazebo.launch.py scenario:=/path/to/world_001.scenario.yaml \\
        policy:=/path/to/policies/nav_barn [robot:=jackal] [cmd_vel_stamped:=false]

What it starts:

- generates, into a fresh temporary folder, the SDF world of the scenario, the SDF model of the
  robot and the ros_gz_bridge configuration (``sim2real.nav.gazebo``: the same obstacles and robot
  geometry as the MuJoCo simulator; needs the ``sim2real`` training package on the Python path);
- ``gz sim -r <world>`` through ros_gz_sim's ``gz_sim.launch.py``;
- ``ros_gz_sim create``: spawns the robot at the scenario's start pose (x, y, yaw);
- ``ros_gz_bridge parameter_bridge`` with that configuration: /clock, /scan, /odom, /tf,
  /joint_states from Gazebo, /cmd_vel (Twist or TwistStamped) to Gazebo;
- the ``nav_policy`` node with ``params_file`` plus policy_path, robot, cmd_vel_stamped and
  use_sim_time=True.

Frames: Gazebo's DiffDrive odometry starts at the spawn pose, so the ``odom`` frame's origin is the
scenario's start pose, not the map origin. Goals sent to /goal_pose in ``odom`` are therefore
relative to the start: a scenario goal (gx, gy) in the map frame is, with start (x0, y0, yaw0),
(cos(yaw0) (gx - x0) + sin(yaw0) (gy - y0), -sin(yaw0) (gx - x0) + cos(yaw0) (gy - y0)) in odom.

The ``scenario`` argument is required: robots carry no benchmark worlds, so there is no default.
"""

from __future__ import annotations

import os
import tempfile

from ament_index_python.packages import get_package_share_directory
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch_ros.actions import Node

from nav_policy.launch_args import ARGUMENTS, PACKAGE, node_parameters, policy_node
from sim2real_ros.launch_args import launch_description

GAZEBO_ARGUMENTS = {"scenario": ("", "a *.scenario.yaml file (required)")}


def launch_setup(values, share):
    """Generate the Gazebo files and return the actions that use them (runs at launch time)."""
    from sim2real.nav.gazebo import sdf_name, world_name, write_bridge_config, write_gazebo_world
    from sim2real.nav.scenario import load_scenario
    from sim2real_runtime.robot import load_robot

    scenario_path = values["scenario"]
    if not scenario_path:
        raise RuntimeError(
            "gazebo.launch.py: the 'scenario' argument is required, e.g. "
            "scenario:=/path/to/world_001.scenario.yaml (robots carry no default world)"
        )
    params = node_parameters(values, share, use_sim_time=True)
    robot = load_robot(params[1]["robot"])
    stamped = params[1]["cmd_vel_stamped"]
    scenario = load_scenario(scenario_path)
    out_dir = tempfile.mkdtemp(prefix="sim2real_gazebo_")
    world, model = write_gazebo_world(scenario_path, robot, out_dir)
    bridge = write_bridge_config(out_dir, stamped)
    x, y, yaw = scenario.start

    gz_sim = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            os.path.join(get_package_share_directory("ros_gz_sim"), "launch", "gz_sim.launch.py")
        ),
        launch_arguments={"gz_args": f"-r {world}", "on_exit_shutdown": "true"}.items(),
    )
    spawn_flags = {
        "-world": world_name(scenario),
        "-file": str(model),
        "-name": sdf_name(robot.name),
        "-x": str(x),
        "-y": str(y),
        "-z": "0.0",  # the model's origin is on the ground
        "-Y": str(yaw),
    }
    spawn = Node(
        package="ros_gz_sim",
        executable="create",
        arguments=[item for flag in spawn_flags.items() for item in flag],
        output="screen",
    )
    bridge_node = Node(
        package="ros_gz_bridge",
        executable="parameter_bridge",
        parameters=[{"config_file": str(bridge), "use_sim_time": True}],
        output="screen",
    )
    return [gz_sim, spawn, bridge_node, policy_node(params)]


def generate_launch_description():
    return launch_description(PACKAGE, {**GAZEBO_ARGUMENTS, **ARGUMENTS}, launch_setup)
