"""``sim2real train nav``: PPO (rsl-rl-lib) on the fast simulator, on the CPU.

Writes into the run directory: ``config.json`` (the full NavTrainConfig), ``model_<it>.pt``
checkpoints (rsl-rl format, resumable), TensorBoard event files and ``train_summary.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from sim2real_runtime.robot import load_robot

from ..gitinfo import git_commit
from .config import NavTaskConfig, NavTrainConfig, PPOConfig
from .env import NavEnv
from .kinematic_sim import DomainRandomization, WorldBank
from .worldgen import generate_training_world


def rsl_rl_config(ppo: PPOConfig, save_interval: int) -> dict[str, Any]:
    """The OnPolicyRunner configuration dict for our PPO settings."""
    mlp = {"hidden_dims": list(ppo.hidden_dims), "activation": ppo.activation}
    return {
        "num_steps_per_env": ppo.steps_per_env,
        "save_interval": save_interval,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "logger": "tensorboard",
        "check_for_nan": True,
        "actor": {
            "class_name": "rsl_rl.models.MLPModel",
            **mlp,
            "obs_normalization": True,
            "distribution_cfg": {
                "class_name": "rsl_rl.modules.distribution.GaussianDistribution",
                "init_std": ppo.init_noise_std,
                "std_type": "log",
            },
        },
        "critic": {"class_name": "rsl_rl.models.MLPModel", **mlp, "obs_normalization": True},
        "algorithm": {
            "class_name": "rsl_rl.algorithms.PPO",
            "num_learning_epochs": ppo.num_learning_epochs,
            "num_mini_batches": ppo.num_mini_batches,
            "clip_param": ppo.clip_param,
            "gamma": ppo.gamma,
            "lam": ppo.lam,
            "value_loss_coef": 1.0,
            "entropy_coef": ppo.entropy_coef,
            "learning_rate": ppo.learning_rate,
            "max_grad_norm": 1.0,
            "schedule": "adaptive",
            "desired_kl": ppo.desired_kl,
        },
    }


def config_to_dict(cfg: NavTrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def config_from_dict(d: dict[str, Any]) -> NavTrainConfig:
    """Inverse of :func:`config_to_dict` (tuples restored)."""

    def tup(x: Any) -> Any:
        return tuple(tup(v) for v in x) if isinstance(x, list) else x

    task = dict(d["task"])
    task["dr"] = DomainRandomization(**{k: tup(v) for k, v in task["dr"].items()})
    task = NavTaskConfig(**{k: tup(v) if k != "dr" else v for k, v in task.items()})
    ppo = PPOConfig(**{k: tup(v) for k, v in d["ppo"].items()})
    rest = {k: v for k, v in d.items() if k not in ("task", "ppo")}
    return NavTrainConfig(task=task, ppo=ppo, **rest)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _WallClockExceededError(Exception):
    pass


def make_worlds(task: NavTaskConfig, seed: int, robot_width_m: float) -> list:
    rng = np.random.default_rng(seed)
    lo, hi = task.difficulty_range
    return [
        generate_training_world(rng, float(rng.uniform(lo, hi)), robot_width_m=robot_width_m)
        for _ in tqdm(range(task.num_worlds), desc="generating training worlds", leave=False)
    ]


def train_nav(cfg: NavTrainConfig, run_dir: Path, resume: Path | None = None) -> Path:
    """Train a navigation policy; returns the path of the final checkpoint."""
    from rsl_rl.runners import OnPolicyRunner

    t0 = time.time()
    train_commit = git_commit(Path(__file__).resolve().parents[3])
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.torch_threads)
    seed_everything(cfg.seed)
    robot = load_robot(cfg.task.robot)
    (run_dir / "config.json").write_text(json.dumps(config_to_dict(cfg), indent=2))

    worlds = make_worlds(cfg.task, cfg.seed, robot.footprint_width_m)
    bank = WorldBank(worlds, robot, cfg.task.sim_resolution_m)
    env = NavEnv(cfg.task, robot, bank, cfg.ppo.num_envs, seed=cfg.seed)
    env.cfg = cfg.task  # rsl-rl stores env.cfg in its logs
    train_cfg = rsl_rl_config(cfg.ppo, cfg.save_interval)
    with contextlib.redirect_stdout(io.StringIO()):  # rsl-rl prints the model summary
        runner = OnPolicyRunner(env, train_cfg, log_dir=str(run_dir), device="cpu")
    if resume is not None:
        runner.load(str(resume))
    setup_s = time.time() - t0

    steps_per_it = cfg.ppo.num_envs * cfg.ppo.steps_per_env
    bar = tqdm(total=cfg.max_iterations, desc="PPO", unit="it")
    original_log = runner.logger.log
    history: list[dict[str, float]] = []
    last = {"success": 0, "collision": 0, "timeout": 0}

    def log_hook(*args: Any, **kwargs: Any) -> None:
        # rsl-rl prints a long block every iteration; keep its TensorBoard logging, show a bar instead.
        with contextlib.redirect_stdout(io.StringIO()):
            original_log(*args, **kwargs)
        stats = env.episode_stats
        n = {k: stats[k] - last[k] for k in stats}
        last.update(stats)
        total = max(sum(n.values()), 1)
        row = {
            "iteration": kwargs["it"],
            "success": n["success"] / total,
            "collision": n["collision"] / total,
            "timeout": n["timeout"] / total,
            "collect_s": kwargs["collect_time"],
            "learn_s": kwargs["learn_time"],
        }
        history.append(row)
        bar.update(1)
        bar.set_postfix(
            succ=f"{row['success']:.2f}",
            coll=f"{row['collision']:.2f}",
            fps=f"{steps_per_it / (row['collect_s'] + row['learn_s']):.0f}",
        )
        if time.time() - t0 > cfg.max_wall_time_s:
            raise _WallClockExceededError

    runner.logger.log = log_hook  # type: ignore[method-assign]
    stopped_early = False
    try:
        runner.learn(num_learning_iterations=cfg.max_iterations - runner.current_learning_iteration)
    except _WallClockExceededError:
        stopped_early = True
    bar.close()
    final = run_dir / f"model_{runner.current_learning_iteration}.pt"
    runner.save(str(final))
    if runner.logger.writer is not None:
        runner.logger.stop_logging_writer()
    wall = time.time() - t0
    collect = sum(h["collect_s"] for h in history)
    learn = sum(h["learn_s"] for h in history)
    n_steps = steps_per_it * len(history)
    summary = {
        "checkpoint": final.name,
        "commit": train_commit,
        "iterations": runner.current_learning_iteration + 1,
        "env_steps": n_steps,
        "wall_time_s": wall,
        "setup_time_s": setup_s,
        "collect_time_s": collect,
        "learn_time_s": learn,
        "training_steps_per_s": n_steps / max(collect + learn, 1e-9),
        "stopped_by_wall_clock": stopped_early,
        "final_success_rate": float(np.mean([h["success"] for h in history[-10:]])) if history else None,
        "torch_threads": cfg.torch_threads,
        "cpu_count": os.cpu_count(),
        "history": history,
    }
    (run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
    if history:
        from .plots import plot_training

        plot_training(run_dir / "training_curve.png", history, steps_per_it)
    return final
