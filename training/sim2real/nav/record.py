"""``sim2real record nav``: demonstrations on the mobile base against its MuJoCo sim bridge
(:mod:`sim2real.nav.sim_bridge`) in BARN-style worlds, through the deployed ``nav_policy`` node
(:mod:`sim2real.datasets.recorder`). Each episode's world is generated from its seed
(:func:`sim2real.nav.worldgen.generate_world`) or taken from ``--scenarios``; the goal is sent on
``/goal_pose`` as RViz would, once the node listens."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_runtime.errors import Sim2RealError

REPO = Path(__file__).resolve().parents[3]
DEFAULT_POLICY = REPO / "policies" / "nav_jackal"
DEVICES = {"keyboard": "keyboard", "gamepad": "gamepad", "spacemouse": "spacemouse", "joy": "joy"}
"""``--teleop`` -> the node's ``teleop`` parameter (the node opens the device itself)."""


def add_record_args(p: argparse.ArgumentParser) -> None:
    from sim2real.datasets.recorder import add_record_args as common

    common(p, str(DEFAULT_POLICY))
    p.add_argument("--scenarios", help="a *.scenario.yaml or a folder of them, cycled (default: generated)")
    p.add_argument("--difficulty", type=float, default=0.3, help="generated worlds' difficulty in [0, 1]")
    p.add_argument("--robot", default="jackal", help="robot name or YAML (default: jackal)")


def _scenarios(a: argparse.Namespace, robot: Any) -> Any:
    """``seed -> Scenario``."""
    from .scenario import load_scenario
    from .worldgen import generate_world

    if not a.scenarios:
        return lambda seed: generate_world(seed, a.difficulty, 2 * robot.footprint_radius_m)
    src = Path(a.scenarios)
    files = sorted(src.glob("*.scenario.yaml")) if src.is_dir() else [src]
    if not files:
        raise Sim2RealError(f"{src}: no *.scenario.yaml files")
    loaded = [load_scenario(f, robot.footprint_radius_m) for f in files]
    return lambda seed: loaded[seed % len(loaded)]


def _scripted(kind: str) -> Any:
    def attach(node: Any, seed: int) -> None:
        try:
            from .scripted_operator import scripted_operator  # the nav operator (bc helper)
        except ImportError as exc:
            raise Sim2RealError(f"--teleop {kind}: no scripted nav operator yet ({exc})") from None
        op = scripted_operator(node, seed)
        op.reset()
        node.attach_teleop(op)

    return attach


def session(a: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """``(dataset spec, bridge transport -> SimEpisodes, transport -> node, live teleop attach)``
    for the recording options ``a``."""
    from sim2real.datasets.lerobot_v3 import DatasetSpec
    from sim2real.datasets.recorder import SimEpisodes
    from sim2real_ros.convert import fill_header, set_yaw
    from sim2real_ros.node_params import params_from_mapping
    from sim2real_ros.policy_node import domain_nodes
    from sim2real_ros.transport import DEFAULT
    from sim2real_runtime.contract import check_domain
    from sim2real_runtime.policy import OnnxPolicy
    from sim2real_runtime.robot import load_robot

    from .sim_bridge import BridgeConfig, NavSimBridge, to_odom_frame

    policy = OnnxPolicy(a.policy)
    check_domain(policy.contract, "nav", str(a.policy))
    robot = load_robot(a.robot)
    scenario_of = _scenarios(a, robot)
    node_cls = domain_nodes()["nav"]
    live = getattr(a, "robot_topics", False)
    values: dict[str, Any] = {"policy_path": str(a.policy), "use_sim_time": a.use_sim_time if live else True,
                              "robot": a.robot}  # fmt: skip
    if a.teleop in DEVICES:
        values["teleop"] = DEVICES[a.teleop]
    params, errors = params_from_mapping(node_cls.PARAMS, values, "<sim2real record>")
    if errors:
        raise errors[0]

    def make_sim(bt: Any) -> SimEpisodes:
        bridge = NavSimBridge(bt, robot, BridgeConfig(real_time_factor=a.real_time_factor))
        goal_pub = bt.publisher(params.goal_topic, "geometry_msgs/msg/PoseStamped", DEFAULT)
        ep: dict[str, Any] = {}

        def reset(seed: int) -> None:
            sc = scenario_of(seed)
            if a.episode_time_s:
                sc = _with_time_limit(sc, a.episode_time_s)
            bridge.load(sc, seed)
            ep.update(scenario=sc, sent=False, cmds=bridge.cmds_received)

        def send_goal(node: Any) -> None:
            # as RViz does, once the node's goal subscription has matched
            if ep["sent"] or goal_pub.subscriber_count() == 0:
                return
            goal = to_odom_frame(ep["scenario"], np.asarray(ep["scenario"].goal))
            msg = bt.msg("geometry_msgs/msg/PoseStamped")()
            fill_header(msg.header, bridge.clock_s, "odom")
            msg.pose.position.x, msg.pose.position.y = float(goal[0]), float(goal[1])
            set_yaw(msg.pose.orientation, 0.0)
            goal_pub.publish(msg)
            ep["sent"] = True

        attach = _scripted(a.teleop) if a.teleop == "scripted" else None
        return SimEpisodes(
            bt, reset, bridge.advance, lambda: bridge.clock_s,
            lambda: bridge.status() if ep["sent"] else None,
            lambda: bridge.cmds_received > ep["cmds"], lambda t: node_cls(t, params, []), attach, send_goal,
            real_time_factor=a.real_time_factor, startup_timeout_s=a.startup_timeout_s,
        )  # fmt: skip

    def make_node(t: Any) -> Any:
        return node_cls(t, params, [])

    spec = DatasetSpec.from_contract(policy.contract, task=a.task)
    return spec, make_sim, make_node, _scripted(a.teleop) if a.teleop == "scripted" else None


def record_cli(a: argparse.Namespace) -> int:
    """Record ``--episodes`` episodes with the policy (and a teleoperator)."""
    from sim2real.datasets.recorder import run_record

    return run_record(a, *session(a))


def _with_time_limit(scenario: Any, time_limit_s: float) -> Any:
    from dataclasses import replace

    return replace(scenario, time_limit_s=float(time_limit_s))
