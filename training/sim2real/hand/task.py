"""The hand tasks: ``hand/rotate_z`` (keep turning the cube about the palm normal) and
``hand/reorient`` (turn it to random goal orientations), a LEAP Hand in MuJoCo.

Registered in :mod:`sim2real.tasks`: config, VecEnv (:class:`~sim2real.hand.env.HandVecEnv`),
PPO with a privileged critic, the draft contract (``sim_assets/leap_hand/hand.yaml`` and its URDF),
``sim2real eval hand`` and ``sim2real sim hand``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.domains import get_domain

from ..task_cli import add_policy_eval_args, finish_evaluation, run_sim_bridge
from ..tasks import Task, register_task
from .config import ASSETS, HandTaskConfig, HandTrainConfig

SIMULATOR = "MuJoCo (sim_assets/leap_hand/leap_hand.xml), batched with mujoco.rollout"
HAND_FILE = ASSETS / "hand.yaml"


def default_config(name: str) -> HandTrainConfig:
    """``rotate_z_rl`` is rotate_z trained with PPO from scratch, with MuJoCo Playground's action
    (joint targets as offsets from the home pose, ``action="offset"``): 128 worlds x 32 steps per
    iteration, a budget in iterations (the same environment steps on any machine)."""
    cfg = HandTrainConfig(task=replace(HandTaskConfig(), task=name.removesuffix("_rl")))
    if name.endswith("_rl"):
        cfg = replace(
            cfg,
            task=replace(cfg.task, action="offset"),
            ppo=replace(cfg.ppo, num_envs=128, entropy_coef=0.005),
            max_iterations=2400,
            max_wall_time_s=0.0,
        )
    return cfg


def build_contract(cfg: HandTrainConfig) -> PolicyContract:
    """The hand contract of a training config: joints (simulation order), limits, the driver's
    order and zero, safety limits, task."""
    from .specs import task_specs

    t = cfg.task
    hand = get_domain("hand").load_description(HAND_FILE)
    obs, act = task_specs(t, hand)
    robot = {
        "name": hand.name,
        "urdf": "sim_assets/leap_hand/leap_hand.urdf",
        "palm_link": hand.palm_link,
        **hand.as_dict(),
        "safety": asdict(t.safety),
        "task": {
            "name": t.task,
            "episode_time_s": t.episode_time_s,
            "success_tolerance_rad": t.success_tolerance_rad,
        },
    }
    return PolicyContract(
        domain="hand",
        robot=robot,
        control_rate_hz=t.control_rate_hz,
        observation=tuple(obs),
        action=tuple(act),
        joint_names=hand.joint_names,
    )


def make_env(cfg: HandTrainConfig, num_envs: int, seed: int) -> Any:
    from .env import HandVecEnv

    return HandVecEnv(cfg.task, num_envs, seed=seed, threads=cfg.threads)


def iteration_stats(env: Any):
    """Per PPO iteration: drop rate, mean angular speed about the palm normal (rad/s) and goals
    per episode, over the episodes that ended in it."""
    last = dict(env.stats)

    def stats() -> dict[str, float]:
        d = {k: env.stats[k] - last[k] for k in last}
        last.update(env.stats)
        n = max(d["episodes"], 1)
        return {
            "drop_rate": d["drops"] / n,
            "angvel_radps": d["turn_rad"] / max(d["time_s"], 1e-9),
            "goals_per_episode": d["goals"] / n,
        }

    return stats


def add_eval_args(p: argparse.ArgumentParser) -> None:
    add_policy_eval_args(
        p,
        episodes=50,
        controllers=("policy", "scripted", "hold"),
        controller_help="scripted (the finger gait) / hold (the start pose): baselines on the same episodes",
    )
    p.add_argument(
        "--goal-max-angle-rad",
        type=float,
        help="reorient: goals at most this far from the cube's orientation (default: uniformly random)",
    )


def evaluate_cli(a: argparse.Namespace) -> int:
    """``sim2real eval hand``: turns, angular speed, drops (rotate_z); goals reached (reorient)."""
    from .evaluate import evaluate_policy

    report = evaluate_policy(
        Path(a.policy),
        episodes=a.episodes,
        seed=a.seed,
        controller=a.controller,
        goal_max_angle_rad=a.goal_max_angle_rad,
    )
    return finish_evaluation(a, report, json.dumps(report["summary"], indent=1))


def add_sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="the episode's cube and start pose")
    p.add_argument("--real-time-factor", type=float, default=1.0, help="sim seconds per wall second (0: max)")
    p.add_argument("--duration-s", type=float, help="exit after this much simulated time")
    p.add_argument("--no-noise", action="store_true", help="no joint or cube pose noise")
    p.add_argument("--result", help="write the run's result (JSON) here on exit")


def sim_cli(a: argparse.Namespace) -> int:
    """``sim2real sim hand``: the LEAP hand + cube over ROS 2 topics (Cyclone DDS)."""
    from sim2real_ros.dds import DdsTransport

    from .sim_bridge import HandBridgeConfig, HandSimBridge

    transport = DdsTransport("hand_sim_bridge")
    bridge = HandSimBridge(
        transport, HandBridgeConfig(task=a.task, real_time_factor=a.real_time_factor, noise=not a.no_noise)
    )
    bridge.reset(a.seed)
    return run_sim_bridge(
        bridge, transport, a, lambda: a.duration_s is not None and bridge.clock_s >= a.duration_s
    )


for _name, _description, _default, _trainer in (
    (
        "rotate_z",
        "LEAP hand: keep turning a cube about the palm normal (DAgger on a scripted gait)",
        True,
        "dagger",
    ),
    ("reorient", "LEAP hand: turn a cube to random goal orientations (PPO, privileged critic)", False, "ppo"),
    (
        "rotate_z_rl",
        "LEAP hand rotate_z with PPO from scratch (joint targets as offsets from the home pose)",
        False,
        "ppo",
    ),
):
    register_task(
        Task(
            domain="hand",
            name=_name,
            description=_description,
            config_class=HandTrainConfig,
            default_config=(lambda n=_name: default_config(n)),
            make_env=make_env,
            trainer=_trainer,
            build_contract=build_contract,
            description_files=lambda cfg: (HAND_FILE, ASSETS / "leap_hand.urdf"),
            simulator=SIMULATOR,
            run_name=lambda cfg: f"hand_{cfg.task.task}",
            default=_default,
            iteration_stats=iteration_stats,
            # PPO's history (the DAgger trainer's log has no per-iteration turn and drop rate)
            plot_training="sim2real.hand.plots:plot_training" if _trainer == "ppo" else None,
            postfix_keys=("angvel_radps", "drop_rate", "goals_per_episode"),
            summary_aliases=(("final_angvel_radps", "angvel_radps"), ("final_drop_rate", "drop_rate")),
            accepts_config=(lambda cfg, n=_name: cfg.task.task == n.removesuffix("_rl")),
            add_eval_args=add_eval_args,
            evaluator=evaluate_cli,
            add_sim_args=add_sim_args,
            sim_bridge=sim_cli,
        )
    )
