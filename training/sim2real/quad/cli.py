"""The quadrotor commands of ``sim2real``:

sim2real train quad     train a CTBR policy (PPO on the batched simulator, CPU)
sim2real eval quad      fly a policy (or the PD baseline) in MuJoCo on a vehicle file: RMSE,
                        max error, crash rate, settling time, a plot
sim2real sim quad       MuJoCo sim bridge speaking PX4 or Crazyswarm2 topics, streaming a
                        reference on /reference_path
sim2real deploy quad    the quad_policy node over Cyclone DDS (no ROS 2 needed)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

from ..rl import add_training_arguments


def _train(a: argparse.Namespace) -> int:
    from sim2real_runtime.vehicle import load_vehicle

    from .. import rl
    from .config import QuadTrainConfig
    from .train import config_from_dict, train_quad

    cfg = QuadTrainConfig()
    if a.config:
        cfg = config_from_dict(json.loads(Path(a.config).read_text()))
    cfg = rl.with_cli_overrides(cfg, a, vehicle=a.vehicle)
    vehicle = load_vehicle(cfg.task.vehicle)  # fail fast on a bad vehicle file, before any work
    run_dir = Path(a.run_dir or f"runs/quad_{vehicle.name}_{time.strftime('%Y%m%d_%H%M%S')}")
    print(f"training {vehicle.name} CTBR policy -> {run_dir}\nconfig: {json.dumps(rl.config_to_dict(cfg))}")
    ckpt = train_quad(cfg, run_dir, Path(a.resume) if a.resume else None)
    s = json.loads((run_dir / "train_summary.json").read_text())
    print(
        f"done: {ckpt}  ({s['env_steps']} steps, {s['wall_time_s']:.0f} s wall, "
        f"{s['training_steps_per_s']:.0f} training steps/s, "
        f"position error {s['final'].get('position_error_m', math.nan):.3f} m)"
    )
    return 0


def _eval(a: argparse.Namespace) -> int:
    from sim2real_runtime.vehicle import load_vehicle

    from .evaluate import EvalConditions, evaluate, write_results
    from .plots import plot_episodes

    if a.controller == "policy" and not a.policy:
        from sim2real_runtime.errors import Sim2RealError

        raise Sim2RealError("eval quad: give --policy DIR (or --controller pd for the baseline)")
    vehicle = load_vehicle(a.vehicle)
    cond = dataclasses.replace(
        EvalConditions(), aggressiveness=a.aggressiveness, wind_accel_mps2=a.wind_accel_mps2
    )
    summary, results = evaluate(
        a.policy, vehicle, a.task, a.episodes, a.seed, cond, a.controller, a.allow_outside_envelope
    )
    keys = (
        "crash_rate",
        "rmse_m_median",
        "rmse_m_worst",
        "max_error_m",
        "settling_time_s_median",
        "max_tilt_deg",
    )
    for k in keys:
        v = summary[k]
        print(f"{k:>24}: {v:.4f}" if isinstance(v, float) else f"{k:>24}: {v}")
    if a.out:
        out = Path(a.out)
        write_results(out, summary, results)
        plot = plot_episodes(out.with_suffix(".png"), summary, results)
        print(f"wrote {out} and {plot}")
    return 0


def _sim(a: argparse.Namespace) -> int:
    import numpy as np

    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.transport import DEFAULT, fill_stamp
    from sim2real_runtime.quad_reference import TASKS
    from sim2real_runtime.vehicle import load_vehicle

    from .sim_bridge import BridgeConfig, QuadSimBridge

    vehicle = load_vehicle(a.vehicle)
    ref = TASKS[a.task]()
    start = tuple(float(v) for v in ref.position(np.zeros(1))[0])
    cfg = BridgeConfig(interface=a.interface, real_time_factor=a.real_time_factor, start_position_m=start)
    transport = DdsTransport("sim_bridge")
    bridge = QuadSimBridge(transport, vehicle, cfg)
    path_pub = transport.publisher("/reference_path", "nav_msgs/msg/Path", DEFAULT)
    state: dict[str, Any] = {"next_s": 0.0}
    path_cls = transport.msg("nav_msgs/msg/Path")
    pose_cls = transport.msg("geometry_msgs/msg/PoseStamped")
    print(
        f"{vehicle.name} over {a.interface} topics at {start}; reference: {a.task} on /reference_path",
        flush=True,
    )

    def done() -> bool:
        now = bridge.clock_s
        if now >= state["next_s"]:  # a fresh 2.5 s window of the reference, twice a second
            state["next_s"] = now + 0.5
            msg = path_cls()
            msg.header.frame_id = "world"
            fill_stamp(msg.header.stamp, now)
            poses = []
            for k in range(51):  # 50 ms apart: linear interpolation is within 0.2 mm of a figure-eight
                t = now + 0.05 * k
                p = ref.position(np.array([max(t - a.start_delay_s, 0.0)]))[0]
                ps = pose_cls()
                ps.header.frame_id = "world"
                fill_stamp(ps.header.stamp, t)
                ps.pose.position.x, ps.pose.position.y, ps.pose.position.z = (float(v) for v in p)
                ps.pose.orientation.w = 1.0
                poses.append(ps)
            msg.poses = poses
            path_pub.publish(msg)
        return a.duration_s is not None and now >= a.duration_s

    with contextlib.suppress(KeyboardInterrupt):
        bridge.run(done)
    print(json.dumps(bridge.status()), flush=True)
    transport.close()
    return 0


def _deploy(a: argparse.Namespace) -> int:
    from quad_policy.node import run_dds

    args = list(a.node_args)
    return run_dds(args[1:] if args[:1] == ["--"] else args)


def add_commands(train: Any, evaluate: Any, sim: Any, deploy: Any) -> None:
    """Register ``train quad``, ``eval quad``, ``sim quad`` and ``deploy quad``."""
    t = train.add_parser("quad", help="quadrotor (collective thrust + body rates)")
    t.add_argument("--vehicle", help="nominal vehicle name or YAML (default: crazyflie_2_1)")
    add_training_arguments(t, "runs/quad_<vehicle>_<time>")
    t.set_defaults(func=_train)

    e = evaluate.add_parser("quad", help="quadrotor: RMSE, max error, crashes, settling time, plot")
    e.add_argument("--policy", help="policy directory (policy.onnx + policy.yaml)")
    e.add_argument(
        "--controller", choices=["policy", "pd"], default="policy", help="pd: the classical baseline"
    )
    e.add_argument("--vehicle", required=True, help="vehicle name or YAML file")
    e.add_argument("--task", choices=["hover", "figure8", "circle"], default="hover")
    e.add_argument("--episodes", type=int, default=5)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--aggressiveness", type=float, default=1.0)
    e.add_argument("--wind-accel-mps2", type=float, default=0.0, help="constant wind along +x (m/s^2)")
    e.add_argument(
        "--allow-outside-envelope", action="store_true", help="fly a vehicle the policy was not trained for"
    )
    e.add_argument("--out", help="results JSON (a plot is written beside it)")
    e.set_defaults(func=_eval)

    s = sim.add_parser("quad", help="MuJoCo sim bridge: PX4 /fmu or Crazyswarm2 topics (Cyclone DDS)")
    s.add_argument("--vehicle", default="crazyflie_2_1", help="vehicle name or YAML")
    s.add_argument("--interface", choices=["px4", "crazyflie"], default="crazyflie")
    s.add_argument("--task", choices=["hover", "figure8", "circle"], default="figure8")
    s.add_argument("--start-delay-s", type=float, default=2.0, help="hold the start point this long first")
    s.add_argument("--real-time-factor", type=float, default=1.0, help="sim seconds per wall second (0: max)")
    s.add_argument("--duration-s", type=float, help="exit after this much simulated time")
    s.set_defaults(func=_sim)

    d = deploy.add_parser(
        "quad",
        help="the quad_policy node over Cyclone DDS: --policy DIR [--params-file F] [--set NAME=VALUE ...]",
        add_help=False,
    )
    d.add_argument("node_args", nargs=argparse.REMAINDER)
    d.set_defaults(func=_deploy)
