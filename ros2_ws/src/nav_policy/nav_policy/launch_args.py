"""What the three launch files share: their arguments and the node's parameter list.

Imports only the standard library, so launch files stay importable (and testable) without ROS 2
for everything but the launch API itself.
"""

from __future__ import annotations

from pathlib import Path

ARGUMENTS = {
    "policy": ("", "policy directory (policy.onnx + policy.yaml) or policy.onnx"),
    "robot": ("jackal", "robot name (share/nav_policy/robots/<name>/robot.yaml) or a robot.yaml path"),
    "params_file": ("", "nav_policy parameters YAML (default: the package's config/<robot>.yaml)"),
    "cmd_vel_stamped": ("false", "publish geometry_msgs/TwistStamped (Jazzy's diff_drive_controller)"),
    "cmd_vel_topic": ("/cmd_vel", "command topic"),
}
"""Launch argument name -> (default, description), common to real, gazebo and sim launches."""


def robot_file(robot: str, share_dir: str | Path) -> str:
    """A robot name -> the installed ``robots/<name>/robot.yaml``; a YAML path is kept as is."""
    if robot.endswith((".yaml", ".yml")):
        return robot
    p = Path(share_dir) / "robots" / robot / "robot.yaml"
    if not p.is_file():
        known = sorted(d.name for d in (Path(share_dir) / "robots").glob("*"))
        raise ValueError(f"launch argument robot:={robot}: unknown robot (installed: {', '.join(known)})")
    return str(p)


def node_parameters(values: dict[str, str], share_dir: str | Path, use_sim_time: bool) -> list:
    """The nav_policy node's ``parameters=`` list: the params file, then the launch overrides."""
    if not values.get("policy"):
        raise ValueError("launch argument policy:=<policy directory> is required")
    robot = values.get("robot") or "jackal"
    params_file = values.get("params_file") or str(Path(share_dir) / "config" / f"{Path(robot).stem}.yaml")
    if not Path(params_file).is_file():
        params_file = str(Path(share_dir) / "config" / "jackal.yaml")
    return [
        params_file,
        {
            "policy_path": str(Path(values["policy"]).expanduser().resolve()),
            "robot": robot_file(robot, share_dir),
            "cmd_vel_stamped": str(values.get("cmd_vel_stamped", "false")).lower() == "true",
            "cmd_vel_topic": values.get("cmd_vel_topic") or "/cmd_vel",
            "use_sim_time": use_sim_time,
        },
    ]


def policy_node(parameters: list):
    """The nav_policy node action every launch file starts."""
    from launch_ros.actions import Node

    return Node(
        package="nav_policy",
        executable="nav_policy_node",
        name="nav_policy",
        output="screen",
        emulate_tty=True,
        parameters=parameters,
    )
