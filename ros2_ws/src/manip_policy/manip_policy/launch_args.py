"""What the manip_policy launch files share: their arguments and the node's parameter list.

Imports only the standard library (and PyYAML), so launch files stay importable (and testable)
without ROS 2 for everything but the launch API itself.
"""

from __future__ import annotations

from pathlib import Path

ARGUMENTS = {
    "policy": ("", "policy directory (policy.onnx + policy.yaml) or policy.onnx"),
    "params_file": ("", "manip_policy parameters YAML (default: config/panda.yaml)"),
    "urdf": ("", "the arm's URDF (default: share/manip_policy/urdf/panda.urdf)"),
    "command_interface": ("", "forward (forward_command_controller) or trajectory "
                              "(joint_trajectory_controller); default: the params file's"),
    "gripper_interface": ("", "forward (position controller) or action (GripperCommand); "
                              "default: the params file's"),
}  # fmt: skip
"""Launch argument name -> (default, description), common to the real and sim launches."""

INTERFACES = {"command_interface": ("forward", "trajectory"), "gripper_interface": ("forward", "action")}


def file_parameters(params_file: str | Path) -> dict:
    """The manip_policy ``ros__parameters`` of a parameters file (empty if it has none)."""
    import yaml

    data = yaml.safe_load(Path(params_file).read_text()) or {}
    return dict(data.get("manip_policy", {}).get("ros__parameters", {}))


def node_parameters(values: dict[str, str], share_dir: str | Path, use_sim_time: bool) -> list:
    """The manip_policy node's ``parameters=`` list: the params file, then the launch overrides."""
    if not values.get("policy"):
        raise ValueError("launch argument policy:=<policy directory> is required")
    params_file = values.get("params_file") or str(Path(share_dir) / "config" / "panda.yaml")
    overrides: dict = {
        "policy_path": str(Path(values["policy"]).expanduser().resolve()),
        "use_sim_time": use_sim_time,
    }
    urdf = values.get("urdf") or str(Path(share_dir) / "urdf" / "panda.urdf")
    if not Path(urdf).is_file():
        raise ValueError(f"launch argument urdf:={urdf}: no such file")
    overrides["urdf"] = str(Path(urdf).expanduser().resolve())
    for name, allowed in INTERFACES.items():
        v = values.get(name)
        if v:
            if v not in allowed:
                raise ValueError(f"launch argument {name}:={v}: expected {' or '.join(allowed)}")
            overrides[name] = v
    return [params_file, overrides]


def effective(parameters: list, name: str, default: str) -> str:
    """A parameter's value as the node will see it: the launch override, else the params file's."""
    params_file, overrides = parameters
    return str(overrides.get(name) or file_parameters(params_file).get(name) or default)


def policy_node(parameters: list):
    """The manip_policy node action every launch file starts."""
    from launch_ros.actions import Node

    return Node(
        package="manip_policy",
        executable="manip_policy_node",
        name="manip_policy",
        output="screen",
        emulate_tty=True,
        parameters=parameters,
    )
