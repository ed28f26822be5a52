"""What the hand_policy launch files share beyond :mod:`sim2real_ros.launch_args`: the hand file
and command-interface arguments and the node's parameter list (standard library and PyYAML only, so
launch files stay importable without ROS 2)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sim2real_ros import launch_args as common

PACKAGE = "hand_policy"
ARGUMENTS = {
    **common.common_arguments(PACKAGE, "config/leap_hand.yaml"),
    "hand": ("", "the hand file (default: share/hand_policy/hand/leap_hand/hand.yaml)"),
    "command_interface": (
        "",
        "leap (the LEAP driver's cmd_leap) or forward (ros2_control position "
        "controller); default: the params file's",
    ),
}
"""Launch argument name -> (default, description), common to the real and sim launches."""

policy_node = partial(common.policy_node, PACKAGE)


def node_parameters(values: dict[str, str], share_dir: str | Path, use_sim_time: bool) -> list:
    """The hand_policy node's ``parameters=`` list: the params file, then the launch overrides."""
    overrides: dict = {"policy_path": common.policy_path(values), "use_sim_time": use_sim_time}
    hand = values.get("hand") or ""
    installed = Path(share_dir) / "hand" / "leap_hand" / "hand.yaml"
    if hand:
        overrides["hand"] = common.existing_file("hand", hand)
    elif installed.is_file():
        overrides["hand"] = str(installed)
    v = common.choice(values, "command_interface", ("leap", "forward"))
    if v:
        overrides["command_interface"] = v
    return [common.params_file(values, share_dir, "leap_hand.yaml"), overrides]
