"""What every policy node's launch files share: the common arguments, the parameters file and
description-file resolution in the installed share directory, the node action, and the
``LaunchDescription`` boilerplate (declared arguments + one ``OpaqueFunction``).

Imports only the standard library (and PyYAML, lazily), so launch files and their argument
handling stay importable and testable without ROS 2; the ROS 2 launch API is imported only inside
:func:`policy_node` and :func:`launch_description`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Arguments = dict[str, tuple[str, str]]
"""Launch argument name -> (default, description)."""


def common_arguments(package: str, default_params: str) -> Arguments:
    """The arguments every policy node's launch files declare: ``policy`` and ``params_file``."""
    return {
        "policy": ("", "policy directory (policy.onnx + policy.yaml) or policy.onnx"),
        "params_file": ("", f"{package} parameters YAML (default: {default_params})"),
    }


def policy_path(values: Mapping[str, str]) -> str:
    """The ``policy`` argument as an absolute path (required)."""
    if not values.get("policy"):
        raise ValueError("launch argument policy:=<policy directory> is required")
    return str(Path(values["policy"]).expanduser().resolve())


def params_file(values: Mapping[str, str], share_dir: str | Path, default: str) -> str:
    """The ``params_file`` argument, else ``share/<pkg>/config/<default>``."""
    return values.get("params_file") or str(Path(share_dir) / "config" / default)


def file_parameters(path: str | Path, node_name: str) -> dict[str, Any]:
    """The ``<node_name>: ros__parameters`` of a parameters file (empty if it has none)."""
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    return dict(data.get(node_name, {}).get("ros__parameters", {}))


def installed_description(
    argument: str, value: str, share_dir: str | Path, folder: str, filename: str
) -> str:
    """A description name -> the installed ``share/<pkg>/<folder>/<name>/<filename>`` (robot,
    vehicle); a YAML path is kept as is.

    Raises:
        ValueError: naming ``<argument>:=<value>`` and listing the installed ones.
    """
    if value.endswith((".yaml", ".yml")):
        return value
    p = Path(share_dir) / folder / value / filename
    if not p.is_file():
        known = sorted(d.name for d in (Path(share_dir) / folder).glob("*"))
        kind = folder.rstrip("s")
        raise ValueError(
            f"launch argument {argument}:={value}: unknown {kind} (installed: {', '.join(known)})"
        )
    return str(p)


def existing_file(argument: str, value: str) -> str:
    """A file argument (a URDF...) as an absolute path; it must exist."""
    if not Path(value).is_file():
        raise ValueError(f"launch argument {argument}:={value}: no such file")
    return str(Path(value).expanduser().resolve())


def choice(values: Mapping[str, str], argument: str, allowed: tuple[str, ...]) -> str | None:
    """The ``argument`` if given (it must be one of ``allowed``), else None."""
    v = values.get(argument)
    if not v:
        return None
    if v not in allowed:
        raise ValueError(f"launch argument {argument}:={v}: expected {' or '.join(allowed)}")
    return v


def policy_node(package: str, parameters: list) -> Any:
    """The ``<package>_node`` action (node name = the package) every launch file starts."""
    from launch_ros.actions import Node

    return Node(
        package=package,
        executable=f"{package}_node",
        name=package,
        output="screen",
        emulate_tty=True,
        parameters=parameters,
    )


def launch_description(
    package: str,
    arguments: Arguments,
    actions: Callable[[dict[str, str], str], list],
    cyclonedds: bool = False,
) -> Any:
    """A LaunchDescription: ``arguments`` declared, then ``actions(values, share_dir)`` run in an
    OpaqueFunction with every argument's value (strings). ``cyclonedds``: select
    rmw_cyclonedds_cpp, for nodes that must share a DDS domain with our Cyclone sim bridges."""
    from ament_index_python.packages import get_package_share_directory
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
    from launch.substitutions import LaunchConfiguration

    def setup(context: Any, *args: Any, **kwargs: Any) -> list:
        values = {name: LaunchConfiguration(name).perform(context) for name in arguments}
        return actions(values, get_package_share_directory(package))

    env = [SetEnvironmentVariable("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")] if cyclonedds else []
    return LaunchDescription(
        env
        + [DeclareLaunchArgument(n, default_value=d, description=h) for n, (d, h) in arguments.items()]
        + [OpaqueFunction(function=setup)]
    )
