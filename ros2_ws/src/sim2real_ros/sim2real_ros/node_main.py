"""Entry points shared by every policy node: the command line (``--params-file``, ``--policy``,
``--set NAME=VALUE``), the DDS transport main (no ROS 2 needed), the rclpy main (``ros2 run`` and
the launch files), and the console script that picks between them."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sim2real_runtime.errors import Sim2RealError

from .transport import Transport, spin


@dataclass(frozen=True)
class NodeSpec:
    """What the shared entry points need to know about a node."""

    name: str
    """ROS node name, also the parameters file section (``<name>: ros__parameters:``)."""
    description: str
    make_node: Callable[[Transport, Any, list[Exception]], Any]
    """(transport, params, parameter errors) -> node with a ``shutdown()`` method."""
    params_from_mapping: Callable[[dict[str, Any], str], tuple[Any, list[Exception]]]
    read_params_file: Callable[[str], dict[str, Any]]


def spec_for(node_cls: Any, description: str) -> NodeSpec:
    """The spec of a :class:`sim2real_ros.policy_node.PolicyNode` subclass: its ROS name is its
    domain's node package (``<domain>_policy``), its parameters its ``PARAMS`` dataclass."""
    from sim2real_runtime.domains import get_domain

    from .node_params import params_from_mapping, read_params_file

    name = get_domain(node_cls.DOMAIN).node_package
    return NodeSpec(
        name=name,
        description=description,
        make_node=node_cls,
        params_from_mapping=lambda values, source: params_from_mapping(node_cls.PARAMS, values, source),
        read_params_file=lambda path: read_params_file(path, name),
    )


def entry_points(spec: NodeSpec) -> tuple[Callable[[Sequence[str] | None], int], Callable[[], int]]:
    """``(run_dds(argv=None), main())`` of a node package: ``sim2real deploy <domain>`` calls
    ``<domain>_policy.node.run_dds``; the ``<pkg>_node`` console script calls ``main``."""

    def run(argv: Sequence[str] | None = None) -> int:
        """The node on the Cyclone DDS transport (no ROS 2 needed)."""
        return run_dds(spec, argv)

    def console_main() -> int:
        """Console script: rclpy when started by ROS 2 (``--ros-args`` present), else DDS."""
        return main(spec)

    return run, console_main


def build_arg_parser(spec: NodeSpec) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=f"{spec.name}_node", description=spec.description)
    ap.add_argument("--params-file", help=f"ROS 2 parameters YAML ({spec.name}: ros__parameters: ...)")
    ap.add_argument("--policy", help="policy directory or policy.onnx (sets policy_path)")
    ap.add_argument(
        "--set", nargs="*", default=[], metavar="NAME=VALUE", help="override parameters (YAML values)"
    )
    ap.add_argument("--log-level", default="INFO")
    return ap


def params_from_args(spec: NodeSpec, a: argparse.Namespace) -> tuple[Any, list[Exception]]:
    import yaml

    values: dict[str, Any] = {}
    errors: list[Exception] = []
    if a.params_file:
        try:
            values.update(spec.read_params_file(a.params_file))
        except Sim2RealError as exc:
            errors.append(exc)
    for item in a.set:
        name, sep, text = item.partition("=")
        if not sep:
            errors.append(Sim2RealError(f"--set {item!r}: expected NAME=VALUE"))
            continue
        values[name] = yaml.safe_load(text)
    if a.policy:
        values["policy_path"] = a.policy
    params, perr = spec.params_from_mapping(values, a.params_file or "<command line>")
    return params, errors + list(perr)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_dds(spec: NodeSpec, argv: Sequence[str] | None = None) -> int:
    """The node on the Cyclone DDS transport (no ROS 2 needed)."""
    a = build_arg_parser(spec).parse_args(argv)
    logging.basicConfig(
        level=a.log_level.upper(), format="[%(levelname)s] [%(name)s] %(message)s", stream=sys.stderr
    )
    params, errors = params_from_args(spec, a)
    from .dds import DdsTransport

    transport = DdsTransport(spec.name, use_sim_time=getattr(params, "use_sim_time", False))
    node = spec.make_node(transport, params, errors)
    # SIGTERM (a supervisor, `kill`) ends the node like Ctrl-C: with its safe last command.
    signal.signal(signal.SIGTERM, _interrupt)
    spin(transport)
    node.shutdown()
    transport.close()
    return 0


def main_rclpy(spec: NodeSpec, argv: Sequence[str] | None = None) -> int:
    """The ROS 2 entry point (``ros2 run <pkg> <node> --ros-args ...``, the launch files):
    parameters come from the ROS 2 parameter system."""
    import rclpy

    from .ros import RclpyTransport

    rclpy.init(args=list(argv) if argv is not None else None)
    transport = RclpyTransport(spec.name)
    params, errors = spec.params_from_mapping(transport.parameters(), f"node {transport.name} parameters")
    if getattr(params, "use_sim_time", False):
        transport = RclpyTransport(spec.name, use_sim_time=True, node=transport.node)
    node = spec.make_node(transport, params, errors)
    spin(transport)
    node.shutdown()
    transport.close()
    rclpy.try_shutdown()
    return 0


def main(spec: NodeSpec) -> int:
    """Console script: rclpy when started by ROS 2 (``--ros-args`` present), else DDS."""
    if "--ros-args" in sys.argv:
        return main_rclpy(spec, sys.argv)
    return run_dds(spec, sys.argv[1:])
