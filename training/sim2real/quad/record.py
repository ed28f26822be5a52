"""``sim2real record quad``: flights of the quadrotor against its MuJoCo sim bridge
(:mod:`sim2real.quad.sim_bridge`, PX4 or Crazyswarm2 topics) through the deployed ``quad_policy``
node (:mod:`sim2real.datasets.recorder`), the reference published on ``/reference_path`` as
``sim2real sim quad`` does. An episode is ``--episode-time-s`` of flight (default 20 s) from the
node's first command; it ends ``success`` when flown without a crash, else ``crashed``. An operator
(``--teleop``) nudges the reference; the policy flies it, so ``action`` is always the policy's."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_runtime.errors import Sim2RealError

REPO = Path(__file__).resolve().parents[3]
DEFAULT_POLICY = REPO / "policies" / "quad_crazyflie"
DEVICES = {"keyboard": "keyboard", "gamepad": "gamepad", "spacemouse": "spacemouse", "joy": "joy"}
"""``--teleop`` -> the node's ``teleop`` parameter (the node opens the device itself)."""
EPISODE_TIME_S = 20.0


def add_record_args(p: argparse.ArgumentParser) -> None:
    from sim2real.datasets.recorder import add_record_args as common

    common(p, str(DEFAULT_POLICY))
    p.add_argument("--vehicle", default="crazyflie_2_1", help="vehicle name or YAML")
    p.add_argument("--interface", choices=["px4", "crazyflie"], default="crazyflie")
    p.add_argument("--reference", choices=["hover", "figure8", "circle"], default="figure8")
    p.add_argument("--start-delay-s", type=float, default=2.0, help="hold the start point this long first")


def session(a: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """``(dataset spec, bridge transport -> SimEpisodes, transport -> node, live teleop attach)``
    for the recording options ``a``."""
    from sim2real.datasets.lerobot_v3 import DatasetSpec
    from sim2real.datasets.recorder import SimEpisodes
    from sim2real_ros.node_params import params_from_mapping
    from sim2real_ros.policy_node import domain_nodes
    from sim2real_ros.transport import DEFAULT
    from sim2real_runtime.contract import check_domain
    from sim2real_runtime.policy import OnnxPolicy
    from sim2real_runtime.quad_reference import TASKS
    from sim2real_runtime.vehicle import load_vehicle

    from .sim_bridge import BridgeConfig, QuadSimBridge, reference_window

    if a.teleop == "scripted":
        raise Sim2RealError(
            "record quad: no scripted quadrotor operator exists; use --teleop none or a device"
        )
    policy = OnnxPolicy(a.policy)
    check_domain(policy.contract, "quad", str(a.policy))
    vehicle = load_vehicle(a.vehicle)
    ref = TASKS[a.reference]()
    start = tuple(float(v) for v in ref.position(np.zeros(1))[0])
    live = getattr(a, "robot_topics", False)
    node_cls = domain_nodes()["quad"]
    values: dict[str, Any] = {"policy_path": str(a.policy), "use_sim_time": a.use_sim_time if live else True,
                              "vehicle": a.vehicle, "interface": a.interface}  # fmt: skip
    if a.teleop in DEVICES:
        values["teleop"] = DEVICES[a.teleop]
    params, errors = params_from_mapping(node_cls.PARAMS, values, "<sim2real record>")
    if errors:
        raise errors[0]
    episode_s = a.episode_time_s or EPISODE_TIME_S

    def make_sim(bt: Any) -> SimEpisodes:
        cfg = BridgeConfig(interface=a.interface, real_time_factor=a.real_time_factor, start_position_m=start)
        bridge = QuadSimBridge(bt, vehicle, cfg)
        path_pub = bt.publisher(params.reference_path_topic, "nav_msgs/msg/Path", DEFAULT)
        ep: dict[str, Any] = {}

        def reset(seed: int) -> None:
            bridge.reset(seed=seed)
            ep.update(t0=bridge.clock_s, next_s=bridge.clock_s, cmds=bridge.commands_received, first=None)

        def publish_reference(node: Any) -> None:
            # a fresh 2.5 s window of the reference twice a second, as `sim2real sim quad` publishes it
            now = bridge.clock_s
            if ep["first"] is None and bridge.commands_received > ep["cmds"]:
                ep["first"] = now
            if now < ep["next_s"]:
                return
            ep["next_s"] = now + 0.5
            path_pub.publish(reference_window(bt, ref, now, ep["t0"] + a.start_delay_s))

        def outcome() -> str | None:
            if bridge.status()["crashed"]:
                return "crashed"
            if ep["first"] is not None and bridge.clock_s - ep["first"] >= episode_s:
                return "success"  # flown for the episode's time without a crash
            return None

        return SimEpisodes(
            bt, reset, bridge.advance, lambda: bridge.clock_s, outcome, lambda: ep["first"] is not None,
            lambda t: node_cls(t, params, []), None, publish_reference,
            real_time_factor=a.real_time_factor, startup_timeout_s=a.startup_timeout_s,
        )  # fmt: skip

    def make_node(t: Any) -> Any:
        return node_cls(t, params, [])

    return DatasetSpec.from_contract(policy.contract, task=a.task), make_sim, make_node, None


def record_cli(a: argparse.Namespace) -> int:
    """Record ``--episodes`` flights with the policy (and an operator nudging the reference)."""
    from sim2real.datasets.recorder import run_record

    return run_record(a, *session(a))
