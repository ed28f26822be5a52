"""What the manip_policy launch files share beyond :mod:`sim2real_ros.launch_args`: the URDF and
controller-interface arguments and the node's parameter list (standard library and PyYAML only, so
launch files stay importable without ROS 2)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sim2real_ros import launch_args as common

PACKAGE = "manip_policy"
ARGUMENTS = {
    **common.common_arguments(PACKAGE, "config/panda.yaml"),
    "urdf": ("", "the arm's URDF (default: share/manip_policy/urdf/panda.urdf)"),
    "command_interface": ("", "forward (forward_command_controller) or trajectory "
                              "(joint_trajectory_controller); default: the params file's"),
    "gripper_interface": ("", "forward (position controller) or action (GripperCommand); "
                              "default: the params file's"),
}  # fmt: skip
"""Launch argument name -> (default, description), common to the real and sim launches."""

INTERFACES = {"command_interface": ("forward", "trajectory"), "gripper_interface": ("forward", "action")}

policy_node = partial(common.policy_node, PACKAGE)


def node_parameters(values: dict[str, str], share_dir: str | Path, use_sim_time: bool) -> list:
    """The manip_policy node's ``parameters=`` list: the params file, then the launch overrides."""
    overrides: dict = {"policy_path": common.policy_path(values), "use_sim_time": use_sim_time}
    urdf = values.get("urdf") or str(Path(share_dir) / "urdf" / "panda.urdf")
    overrides["urdf"] = common.existing_file("urdf", urdf)
    for name, allowed in INTERFACES.items():
        v = common.choice(values, name, allowed)
        if v:
            overrides[name] = v
    return [common.params_file(values, share_dir, "panda.yaml"), overrides]


def effective(parameters: list, name: str, default: str) -> str:
    """A parameter's value as the node will see it: the launch override, else the params file's."""
    params_file, overrides = parameters
    return str(overrides.get(name) or common.file_parameters(params_file, PACKAGE).get(name) or default)
