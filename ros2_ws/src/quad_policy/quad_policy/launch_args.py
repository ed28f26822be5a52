"""What the quad_policy launch files share: their arguments and the node's parameter list.

Imports only the standard library, so launch files stay importable (and testable) without ROS 2
for everything but the launch API itself.
"""

from __future__ import annotations

from pathlib import Path

ARGUMENTS = {
    "policy": ("", "policy directory (policy.onnx + policy.yaml) or policy.onnx"),
    "vehicle": ("", "vehicle name (share/quad_policy/vehicles/<name>/vehicle.yaml) or a vehicle.yaml path"),
    "interface": ("crazyflie", "px4 (offboard over uXRCE-DDS) or crazyflie (Crazyswarm2 cmd_vel_legacy)"),
    "params_file": (
        "",
        "quad_policy parameters YAML (default: config/crazyflie.yaml or config/px4_x500.yaml)",
    ),
    "aggressiveness": ("0.5", "user input in [0, 1]; also settable at run time with ros2 param set"),
}
"""Launch argument name -> (default, description), common to the real and sim launches."""

DEFAULT_PARAMS = {"crazyflie": "crazyflie.yaml", "px4": "px4_x500.yaml"}


def vehicle_file(vehicle: str, share_dir: str | Path) -> str:
    """A vehicle name -> the installed ``vehicles/<name>/vehicle.yaml``; a YAML path is kept."""
    if vehicle.endswith((".yaml", ".yml")):
        return vehicle
    p = Path(share_dir) / "vehicles" / vehicle / "vehicle.yaml"
    if not p.is_file():
        known = sorted(d.name for d in (Path(share_dir) / "vehicles").glob("*"))
        raise ValueError(
            f"launch argument vehicle:={vehicle}: unknown vehicle (installed: {', '.join(known)})"
        )
    return str(p)


def node_parameters(values: dict[str, str], share_dir: str | Path, use_sim_time: bool) -> list:
    """The quad_policy node's ``parameters=`` list: the params file, then the launch overrides."""
    import yaml

    if not values.get("policy"):
        raise ValueError("launch argument policy:=<policy directory> is required")
    interface = values.get("interface") or "crazyflie"
    if interface not in DEFAULT_PARAMS:
        raise ValueError(f"launch argument interface:={interface}: expected px4 or crazyflie")
    params_file = values.get("params_file") or str(Path(share_dir) / "config" / DEFAULT_PARAMS[interface])
    overrides = {
        "policy_path": str(Path(values["policy"]).expanduser().resolve()),
        "interface": interface,
        "aggressiveness": float(values.get("aggressiveness") or 0.5),
        "use_sim_time": use_sim_time,
    }
    vehicle = values.get("vehicle")
    if not vehicle:  # the params file's vehicle, as an installed path
        data = yaml.safe_load(Path(params_file).read_text())
        vehicle = data.get("quad_policy", {}).get("ros__parameters", {}).get("vehicle", "crazyflie_2_1")
    overrides["vehicle"] = vehicle_file(vehicle, share_dir)
    return [params_file, overrides]


def policy_node(parameters: list):
    """The quad_policy node action every launch file starts."""
    from launch_ros.actions import Node

    return Node(
        package="quad_policy",
        executable="quad_policy_node",
        name="quad_policy",
        output="screen",
        emulate_tty=True,
        parameters=parameters,
    )
