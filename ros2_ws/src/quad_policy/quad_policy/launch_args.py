"""What the quad_policy launch files share beyond :mod:`sim2real_ros.launch_args`: the vehicle,
interface and aggressiveness arguments and the node's parameter list (standard library only, so
launch files stay importable without ROS 2)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sim2real_ros import launch_args as common

PACKAGE = "quad_policy"
ARGUMENTS = {
    **common.common_arguments(PACKAGE, "config/crazyflie.yaml or config/px4_x500.yaml"),
    "vehicle": ("", "vehicle name (share/quad_policy/vehicles/<name>/vehicle.yaml) or a vehicle.yaml path"),
    "interface": ("crazyflie", "px4 (offboard over uXRCE-DDS) or crazyflie (Crazyswarm2 cmd_vel_legacy)"),
    "aggressiveness": ("0.5", "user input in [0, 1]; also settable at run time with ros2 param set"),
}
"""Launch argument name -> (default, description), common to the real and sim launches."""

DEFAULT_PARAMS = {"crazyflie": "crazyflie.yaml", "px4": "px4_x500.yaml"}

policy_node = partial(common.policy_node, PACKAGE)


def vehicle_file(vehicle: str, share_dir: str | Path) -> str:
    """A vehicle name -> the installed ``vehicles/<name>/vehicle.yaml``; a YAML path is kept."""
    return common.installed_description("vehicle", vehicle, share_dir, "vehicles", "vehicle.yaml")


def node_parameters(values: dict[str, str], share_dir: str | Path, use_sim_time: bool) -> list:
    """The quad_policy node's ``parameters=`` list: the params file, then the launch overrides."""
    policy = common.policy_path(values)
    interface = common.choice(
        {"interface": values.get("interface") or "crazyflie"}, "interface", ("px4", "crazyflie")
    )
    assert interface is not None
    params_file = common.params_file(values, share_dir, DEFAULT_PARAMS[interface])
    overrides = {
        "policy_path": policy,
        "interface": interface,
        "aggressiveness": float(values.get("aggressiveness") or 0.5),
        "use_sim_time": use_sim_time,
    }
    # No vehicle argument: the params file's vehicle, as an installed path.
    vehicle = values.get("vehicle") or common.file_parameters(params_file, PACKAGE).get(
        "vehicle", "crazyflie_2_1"
    )
    overrides["vehicle"] = vehicle_file(vehicle, share_dir)
    return [params_file, overrides]
