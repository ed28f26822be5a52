"""What the nav_policy launch files share beyond :mod:`sim2real_ros.launch_args`: the robot and
command-topic arguments and the node's parameter list (standard library only, so launch files
stay importable without ROS 2)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sim2real_ros import launch_args as common

PACKAGE = "nav_policy"
ARGUMENTS = {
    **common.common_arguments(PACKAGE, "the package's config/<robot>.yaml"),
    "robot": ("jackal", "robot name (share/nav_policy/robots/<name>/robot.yaml) or a robot.yaml path"),
    "cmd_vel_stamped": ("false", "publish geometry_msgs/TwistStamped (Jazzy's diff_drive_controller)"),
    "cmd_vel_topic": ("/cmd_vel", "command topic"),
}
"""Launch argument name -> (default, description), common to real, gazebo and sim launches."""

policy_node = partial(common.policy_node, PACKAGE)


def robot_file(robot: str, share_dir: str | Path) -> str:
    """A robot name -> the installed ``robots/<name>/robot.yaml``; a YAML path is kept as is."""
    return common.installed_description("robot", robot, share_dir, "robots", "robot.yaml")


def node_parameters(values: dict[str, str], share_dir: str | Path, use_sim_time: bool) -> list:
    """The nav_policy node's ``parameters=`` list: the params file, then the launch overrides."""
    policy = common.policy_path(values)
    robot = values.get("robot") or "jackal"
    params_file = common.params_file(values, share_dir, f"{Path(robot).stem}.yaml")
    if not Path(params_file).is_file():  # no parameters file for this robot: the Jackal's
        params_file = str(Path(share_dir) / "config" / "jackal.yaml")
    return [
        params_file,
        {
            "policy_path": policy,
            "robot": robot_file(robot, share_dir),
            "cmd_vel_stamped": str(values.get("cmd_vel_stamped", "false")).lower() == "true",
            "cmd_vel_topic": values.get("cmd_vel_topic") or "/cmd_vel",
            "use_sim_time": use_sim_time,
        },
    ]
