"""The manipulation commands of ``sim2real``:

sim2real train manip    reach or pick-and-place (DAgger on the scripted expert, MuJoCo, CPU)
sim2real eval manip     success rate, time to success, peak joint speed and contact force
sim2real sim manip      MuJoCo sim bridge: a Panda + cube over ros2_control-style topics, the
                        object pose as perception would publish it, and the target
sim2real deploy manip   the manip_policy node over Cyclone DDS (no ROS 2 needed)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path
from typing import Any


def _train(a: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..rl import config_from_dict
    from .config import ManipTrainConfig
    from .train import train

    cfg = ManipTrainConfig()
    if a.config:
        cfg = config_from_dict(ManipTrainConfig, json.loads(Path(a.config).read_text()))
    cfg = replace(
        cfg,
        task=replace(cfg.task, task=a.task or cfg.task.task),
        dagger=replace(
            cfg.dagger,
            iterations=a.iterations or cfg.dagger.iterations,
            num_envs=a.num_envs or cfg.dagger.num_envs,
            max_wall_time_s=a.max_wall_time_s or cfg.dagger.max_wall_time_s,
        ),
        seed=cfg.seed if a.seed is None else a.seed,
    )
    run_dir = Path(a.run_dir or f"runs/manip_{cfg.task.task}_{time.strftime('%Y%m%d_%H%M%S')}")
    print(f"training panda {cfg.task.task} -> {run_dir}", flush=True)
    s = train(cfg, run_dir)
    f = s["final"]
    print(
        f"done: {s['iterations']} rounds, {s['env_steps']} env steps in {s['wall_time_s']:.0f} s wall "
        f"({s['env_steps_per_s']:.0f} env steps/s, {s['physics_steps_per_s']:.0f} physics steps/s "
        "while collecting); "
        f"last round: learner success {f['learner_success_rate']}, loss {f['loss']:.4f}"
    )
    return 0


def _eval(a: argparse.Namespace) -> int:
    from .evaluate import evaluate_policy, format_summary, write_report

    report = evaluate_policy(Path(a.policy), episodes=a.episodes, seed=a.seed, controller=a.controller)
    print(format_summary(report))
    if a.out:
        write_report(report, Path(a.out))
        print(f"wrote {a.out}")
    if a.update_card and a.controller == "policy":
        from ..onnx_export import update_evaluation

        update_evaluation(Path(a.policy), report["summary"])
    return 0


def _sim(a: argparse.Namespace) -> int:
    from sim2real_ros.dds import DdsTransport

    from .sim_bridge import ArmBridgeConfig, ManipSimBridge

    cfg = ArmBridgeConfig(
        task=a.task,
        command_interface=a.command_interface,
        arm_controller=a.arm_controller,
        gripper_interface=a.gripper_interface,
        gripper_controller=a.gripper_controller,
        real_time_factor=a.real_time_factor,
        episode_time_s=a.episode_time_s,
        **({"object_pos_noise_std_m": 0.0, "object_yaw_noise_std_rad": 0.0, "joint_pos_noise_std_rad": 0.0,
            "joint_vel_noise_std_radps": 0.0} if a.no_noise else {}),
    )  # fmt: skip
    transport = DdsTransport("sim_bridge")
    bridge = ManipSimBridge(transport, cfg)
    bridge.reset(a.seed, tuple(a.target) if a.target else None, a.target_yaw_rad)
    tg = bridge.target_m
    print(
        f"panda {a.task} (seed {a.seed}): cube {bridge.half_size_m * 200:.1f} cm at "
        f"{[round(float(v), 3) for v in bridge.object_pos]}, target {[round(float(v), 3) for v in tg]} "
        f"yaw {bridge.target_yaw_rad:.2f} in panda_link0; arm {a.command_interface} on "
        f"/{a.arm_controller}, gripper {a.gripper_interface} on /{a.gripper_controller}",
        flush=True,
    )
    wall0 = time.monotonic()

    def done() -> bool:
        if a.episode and bridge.outcome is not None:
            return True
        if a.episode and bridge.episode_start_s is None and time.monotonic() - wall0 > a.startup_timeout_s:
            bridge.outcome = "no_commands"
            return True
        return a.duration_s is not None and bridge.clock_s >= a.duration_s

    # Ctrl-C ends an open-ended simulation; the result is still written.
    with contextlib.suppress(KeyboardInterrupt):
        bridge.run(done)
    status = bridge.status()
    print(json.dumps(status), flush=True)
    if a.result:
        Path(a.result).write_text(json.dumps({**status, "seed": a.seed}, indent=1) + "\n")
    transport.close()
    return 0


def _deploy(a: argparse.Namespace) -> int:
    from manip_policy.node import run_dds

    args = list(a.node_args)
    return run_dds(args[1:] if args[:1] == ["--"] else args)


def add_commands(train: Any, evaluate: Any, sim: Any, deploy: Any) -> None:
    """Register ``train manip``, ``eval manip``, ``sim manip`` and ``deploy manip``."""
    t = train.add_parser("manip", help="Panda reach / pick-and-place (DAgger on a scripted expert, CPU)")
    t.add_argument("--task", choices=["pick_place", "reach"])
    t.add_argument("--config", help="a config.json of an earlier run to start from")
    t.add_argument("--seed", type=int)
    t.add_argument("--iterations", type=int, help="DAgger rounds")
    t.add_argument("--num-envs", type=int)
    t.add_argument("--max-wall-time-s", type=float, help="stop after the round that passes this")
    t.add_argument("--run-dir", help="output directory (default runs/manip_<task>_<time>)")
    t.set_defaults(func=_train)
    e = evaluate.add_parser("manip", help="Panda policy: success rate, time to success, peak speed and force")
    e.add_argument("--policy", required=True, help="exported policy directory")
    e.add_argument("--episodes", type=int, default=200)
    e.add_argument("--seed", type=int, default=1000, help="episode seed (must differ from the training seed)")
    e.add_argument("--out", help="write the report (JSON)")
    e.add_argument(
        "--controller",
        choices=["policy", "expert"],
        default="policy",
        help="expert: the privileged scripted expert on the same episodes (the baseline)",
    )
    e.add_argument("--update-card", action="store_true", help="store the summary in the policy's contract")
    e.set_defaults(func=_eval)
    s = sim.add_parser("manip", help="MuJoCo sim bridge: Panda + cube over ros2_control topics (Cyclone DDS)")
    s.add_argument("--task", choices=["pick_place", "reach"], default="pick_place")
    s.add_argument("--seed", type=int, default=0, help="the episode's cube, start pose and target")
    s.add_argument("--target", type=float, nargs=3, metavar=("X", "Y", "Z"), help="target (m, panda_link0)")
    s.add_argument("--target-yaw-rad", type=float, help="reach: the target's yaw (default: drawn)")
    s.add_argument("--command-interface", choices=["forward", "trajectory"], default="forward")
    s.add_argument("--arm-controller", default="arm_controller")
    s.add_argument("--gripper-interface", choices=["forward", "action"], default="forward")
    s.add_argument("--gripper-controller", default="gripper_controller")
    s.add_argument("--real-time-factor", type=float, default=1.0, help="sim seconds per wall second (0: max)")
    s.add_argument("--no-noise", action="store_true", help="no joint state or object pose noise")
    s.add_argument("--episode", action="store_true", help="exit at success, a dropped cube or the time limit")
    s.add_argument("--episode-time-s", type=float, default=10.0, help="from the first arm command")
    s.add_argument(
        "--startup-timeout-s", type=float, default=60.0, help="--episode: give up (wall s) without commands"
    )
    s.add_argument("--duration-s", type=float, help="exit after this much simulated time")
    s.add_argument("--result", help="write the episode's result (JSON) here on exit")
    s.set_defaults(func=_sim)

    d = deploy.add_parser(
        "manip",
        help="the manip_policy node over Cyclone DDS: --policy DIR [--params-file F] [--set NAME=VALUE ...]",
        add_help=False,
    )
    d.add_argument("node_args", nargs=argparse.REMAINDER)
    d.set_defaults(func=_deploy)
