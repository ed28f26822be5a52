"""PPO plumbing shared by every domain: rsl-rl configuration, seeding, config (de)serialisation and
the training loop (progress bar, wall-clock limit, history, summary, curve).

A domain supplies an rsl-rl VecEnv and a per-iteration statistics function; :func:`run_ppo` does
the rest and writes into the run directory: ``model_<it>.pt`` checkpoints (rsl-rl format,
resumable), TensorBoard event files, ``train_summary.json`` and ``training_curve.png``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import random
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .gitinfo import git_commit


@dataclass(frozen=True)
class PPOConfig:
    """rsl-rl PPO settings (see rsl_rl.algorithms.PPO for each)."""

    num_envs: int = 256
    steps_per_env: int = 32
    hidden_dims: tuple[int, ...] = (256, 128, 64)
    critic_hidden_dims: tuple[int, ...] = ()
    """Critic layers; empty: the same as ``hidden_dims``."""
    activation: str = "elu"
    init_noise_std: float = 0.8
    learning_rate: float = 1e-3
    num_learning_epochs: int = 5
    num_mini_batches: int = 4
    gamma: float = 0.99
    lam: float = 0.95
    entropy_coef: float = 0.005
    desired_kl: float = 0.01
    clip_param: float = 0.2
    schedule: str = "adaptive"
    """Learning-rate schedule: ``adaptive`` (KL-driven, rsl-rl's default) or ``fixed``."""
    actor_class: str = "rsl_rl.models.MLPModel"
    """rsl-rl model class of the actor (``module:Class`` or dotted path)."""
    actor_kwargs: tuple[tuple[str, Any], ...] = ()
    """Extra keyword arguments of the actor class, as (name, value) pairs (hashable, frozen)."""


def rsl_rl_config(ppo: PPOConfig, save_interval: int) -> dict[str, Any]:
    """The OnPolicyRunner configuration dict for our PPO settings."""
    mlp = {"hidden_dims": list(ppo.hidden_dims), "activation": ppo.activation}
    critic = {"hidden_dims": list(ppo.critic_hidden_dims or ppo.hidden_dims), "activation": ppo.activation}
    return {
        "num_steps_per_env": ppo.steps_per_env,
        "save_interval": save_interval,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "logger": "tensorboard",
        "check_for_nan": True,
        "actor": {
            "class_name": ppo.actor_class,
            **mlp,
            **dict(ppo.actor_kwargs),
            "obs_normalization": True,
            "distribution_cfg": {
                "class_name": "rsl_rl.modules.distribution.GaussianDistribution",
                "init_std": ppo.init_noise_std,
                "std_type": "log",
            },
        },
        "critic": {"class_name": "rsl_rl.models.MLPModel", **critic, "obs_normalization": True},
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
            "schedule": ppo.schedule,
            "desired_kl": ppo.desired_kl,
        },
    }


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A (nested) config dataclass as plain JSON types."""
    return dataclasses.asdict(cfg)


def config_from_dict(cls: type, d: dict[str, Any]) -> Any:
    """Inverse of :func:`config_to_dict` for the dataclass ``cls``: nested dataclasses and tuples
    are rebuilt from their type hints; unknown keys are an error naming the key."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise KeyError(f"{cls.__name__}: unknown config field(s) {unknown}")

    def build(hint: Any, value: Any) -> Any:
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            return config_from_dict(hint, value)
        if isinstance(value, list):
            return tuple(build(Any, v) for v in value)
        return value

    return cls(**{k: build(hints.get(k, Any), v) for k, v in d.items()})


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _WallClockExceededError(Exception):
    pass


@dataclass(frozen=True)
class RunLimits:
    """When and how often a training run stops and saves."""

    max_iterations: int
    max_wall_time_s: float
    """Stop after this many seconds from ``t0`` even if iterations remain; 0 = no wall-clock stop
    (the run is then the same number of environment steps on any machine)."""
    save_interval: int
    torch_threads: int


def run_ppo(
    env: Any,
    ppo: PPOConfig,
    limits: RunLimits,
    run_dir: Path,
    iteration_stats: Callable[[], dict[str, float]],
    t0: float,
    resume: Path | None = None,
    postfix_keys: tuple[str, ...] = (),
) -> Path:
    """Train with rsl-rl's OnPolicyRunner on ``env``; returns the final checkpoint.

    ``iteration_stats()`` is called once per iteration and returns the domain's statistics for it
    (success rate, tracking error...); they go into the history, the bar and the summary.
    ``t0`` is when the run started (the wall-clock limit and the summary count from there).
    """
    from rsl_rl.runners import OnPolicyRunner

    train_commit = git_commit(Path(__file__).resolve().parents[2])
    torch.set_num_threads(limits.torch_threads)
    with contextlib.redirect_stdout(io.StringIO()):  # rsl-rl prints the model summary
        runner = OnPolicyRunner(
            env, rsl_rl_config(ppo, limits.save_interval), log_dir=str(run_dir), device="cpu"
        )
    earlier_iterations = 0  # PPO iterations behind the checkpoint resumed from
    if resume is not None:
        ckpt = torch.load(str(resume), weights_only=False, map_location="cpu")
        if "critic_state_dict" in ckpt:
            runner.load(str(resume))
            # model_<it>.pt is saved after iteration <it> (counted from 0), and rsl-rl's learn()
            # starts again at <it>: the checkpoint holds it + 1 iterations.
            earlier_iterations = runner.current_learning_iteration + 1
        else:  # an imitation checkpoint (DAgger): PPO starts from its actor, with a fresh critic
            runner.alg.load(ckpt, {"actor": True}, strict=True)
    setup_s = time.time() - t0
    steps_per_it = ppo.num_envs * ppo.steps_per_env
    bar = tqdm(total=limits.max_iterations, desc="PPO", unit="it")
    original_log = runner.logger.log
    history: list[dict[str, float]] = []

    def log_hook(*args: Any, **kwargs: Any) -> None:
        # rsl-rl prints a long block every iteration; keep its TensorBoard logging, show a bar instead.
        with contextlib.redirect_stdout(io.StringIO()):
            original_log(*args, **kwargs)
        row = {
            "iteration": kwargs["it"],
            **iteration_stats(),
            "collect_s": kwargs["collect_time"],
            "learn_s": kwargs["learn_time"],
        }
        history.append(row)
        bar.update(1)
        post = {k: f"{row[k]:.3g}" for k in postfix_keys if k in row}
        post["fps"] = f"{steps_per_it / (row['collect_s'] + row['learn_s']):.0f}"
        bar.set_postfix(post)
        if limits.max_wall_time_s > 0 and time.time() - t0 > limits.max_wall_time_s:
            raise _WallClockExceededError

    runner.logger.log = log_hook  # type: ignore[method-assign]
    stopped_early = False
    try:
        runner.learn(num_learning_iterations=limits.max_iterations - runner.current_learning_iteration)
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
    last = history[-10:]
    summary = {
        "checkpoint": final.name,
        "commit": train_commit,
        "iterations": runner.current_learning_iteration + 1,
        # Every PPO step behind the checkpoint, a resumed run's earlier ones included (a policy's
        # provenance states what it was trained on, not what the last command added).
        "env_steps": steps_per_it * (earlier_iterations + len(history)),
        "env_steps_this_run": n_steps,
        "resumed_from": None if resume is None else str(resume),
        "wall_time_s": wall,
        "setup_time_s": setup_s,
        "collect_time_s": collect,
        "learn_time_s": learn,
        "training_steps_per_s": n_steps / max(collect + learn, 1e-9),
        "stopped_by_wall_clock": stopped_early,
        "final": {k: float(np.mean([h[k] for h in last])) for k in (last[0] if last else {})},
        "torch_threads": limits.torch_threads,
        "cpu_count": os.cpu_count(),
        "history": history,
    }
    (run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return final
