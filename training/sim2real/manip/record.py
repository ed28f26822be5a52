"""``sim2real record manip``: demonstrations on the arm against its MuJoCo sim bridge
(:mod:`sim2real.manip.sim_bridge`), through the deployed ``manip_policy`` node
(:mod:`sim2real.datasets.recorder`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_runtime.errors import Sim2RealError

REPO = Path(__file__).resolve().parents[3]
DEFAULT_POLICY = REPO / "policies" / "manip_panda_pick_place"


def add_record_args(p: argparse.ArgumentParser) -> None:
    from sim2real.datasets.recorder import add_record_args as common

    common(p, str(DEFAULT_POLICY))
    p.add_argument("--command-interface", choices=["forward", "trajectory"], default="forward")
    p.add_argument("--gripper-interface", choices=["forward", "action"], default="forward")


DEVICES = {"keyboard": "keyboard", "gamepad": "gamepad", "spacemouse": "spacemouse", "joy": "joy"}
"""``--teleop`` -> the node's ``teleop`` parameter (the node opens the device itself)."""


def _scripted(bridge: Any | None) -> Any:
    """``(node, seed) -> None``: the scripted human operator (:mod:`sim2real.manip.scripted_human`)
    beside the node's policy, seeing the cube's size as a person at the table would."""

    def attach(node: Any, seed: int) -> None:
        from .scripted_human import ScriptedArmOperator

        c = node.controller
        if c is None:
            raise Sim2RealError(f"the node did not load the policy: {node.fault}")
        max_delta = np.asarray(c.joint_term.spec.params["max_delta_rad"], dtype=np.float64)
        op = ScriptedArmOperator(node.description, max_delta, c.control_rate_hz, seed=seed)
        op.reset(None if bridge is None else bridge.half_size_m)  # on a robot: the operator guesses
        node.attach_teleop(op)

    return attach


def session(a: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """``(dataset spec, bridge transport -> SimEpisodes, transport -> node, live teleop attach)``
    for the recording options ``a``."""
    from sim2real.datasets.lerobot_v3 import DatasetSpec
    from sim2real.datasets.recorder import SimEpisodes
    from sim2real_ros.policy_node import domain_nodes
    from sim2real_runtime.contract import check_domain
    from sim2real_runtime.policy import OnnxPolicy

    from .sim_bridge import ArmBridgeConfig, ManipSimBridge

    policy = OnnxPolicy(a.policy)
    check_domain(policy.contract, "manip", str(a.policy))
    spec = DatasetSpec.from_contract(policy.contract, task=a.task)
    cfg = ArmBridgeConfig(task=a.task, command_interface=a.command_interface,
                          gripper_interface=a.gripper_interface, real_time_factor=a.real_time_factor,
                          **({"episode_time_s": a.episode_time_s} if a.episode_time_s else {}))  # fmt: skip
    node_cls = domain_nodes()["manip"]
    live = getattr(a, "robot_topics", False)
    values = {"policy_path": str(a.policy), "use_sim_time": a.use_sim_time if live else True,
              "command_interface": a.command_interface, "gripper_interface": a.gripper_interface}  # fmt: skip
    if a.teleop in DEVICES:
        values["teleop"] = DEVICES[a.teleop]
    params, errors = _params(node_cls, values)
    if errors:
        raise errors[0]

    def make_sim(bt: Any) -> SimEpisodes:
        bridge = ManipSimBridge(bt, cfg)
        attach = _scripted(bridge) if a.teleop == "scripted" else None
        return SimEpisodes(
            bt, bridge.reset, bridge.advance, lambda: bridge.clock_s, lambda: bridge.outcome,
            lambda: bridge.episode_start_s is not None, lambda t: node_cls(t, params, []), attach,
            real_time_factor=a.real_time_factor, startup_timeout_s=a.startup_timeout_s,
        )  # fmt: skip

    def make_node(t: Any) -> Any:
        return node_cls(t, params, [])

    return spec, make_sim, make_node, _scripted(None) if a.teleop == "scripted" else None


def record_cli(a: argparse.Namespace) -> int:
    """Record ``--episodes`` episodes of ``--task`` with the policy (and a teleoperator)."""
    from sim2real.datasets.recorder import run_record

    return run_record(a, *session(a))


def _params(node_cls: Any, values: dict[str, Any]) -> tuple[Any, list[Exception]]:
    from sim2real_ros.node_params import params_from_mapping

    return params_from_mapping(node_cls.PARAMS, values, "<sim2real record>")
