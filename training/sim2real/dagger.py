"""DAgger (Ross et al. 2011) on any VecEnv whose environment exposes its expert's action.

Why not PPO from scratch for the arm: MuJoCo Playground's PandaPickCube needs ~20 M environment
steps on a GPU; on two CPU cores MuJoCo gives ~10 k steps/s, so 30 minutes hold about 15 M steps
before any learning cost. A privileged scripted expert solves the task, and DAgger turns it into a
policy that sees only what the robot sees (noisy joint states, the perceived object pose with
latency) in a few minutes: each round the learner drives (a shrinking share of worlds stay with the
expert), the expert labels every visited state (``env.expert_action()``), the labels join the
dataset and the network is refit. The network is an rsl-rl ``MLPModel`` with the same
configuration as the PPO actor (:func:`sim2real.rl.rsl_rl_config`), saved as rsl-rl checkpoints,
so the export is shared and PPO (residual RL, later) can start from it.

Outputs in the run directory: ``model_<it>.pt``, ``train_log.json`` (per-round success rate,
loss, dataset size, steps/s) and ``train_summary.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rsl_rl.utils import resolve_class
from tensordict import TensorDict
from tqdm import tqdm

from sim2real_runtime.errors import Sim2RealError

from .gitinfo import git_commit
from .rl import PPOConfig, rsl_rl_config

SAVE_NAME = "model_{}.pt"


@dataclass(frozen=True)
class DaggerConfig:
    """Imitation of the scripted expert with DAgger (Ross et al. 2011)."""

    num_envs: int = 256
    steps_per_iteration: int = 125
    """Control steps each environment runs per data-collection round."""
    iterations: int = 24
    expert_only_iterations: int = 2
    """Rounds driven by the expert alone before the learner drives (its states are labelled too)."""
    hidden_dims: tuple[int, ...] = (256, 256, 128)
    activation: str = "elu"
    learning_rate: float = 1e-3
    batch_size: int = 4096
    updates_per_iteration: int = 300
    """Minibatch updates per round, sampled uniformly from the whole dataset."""
    max_dataset: int = 1_500_000
    gripper_loss_weight: float = 2.0
    max_wall_time_s: float = 1800.0


def actor_ppo_config(dagger: DaggerConfig) -> PPOConfig:
    """The PPO settings whose actor has this network's architecture (for loading and export)."""
    return PPOConfig(hidden_dims=dagger.hidden_dims, activation=dagger.activation, init_noise_std=0.3)


def build_actor(dagger: DaggerConfig, obs_size: int, num_actions: int) -> torch.nn.Module:
    """An rsl-rl actor (MLP + observation normaliser + Gaussian head) as PPO would build it."""
    rl_cfg = rsl_rl_config(actor_ppo_config(dagger), save_interval=1)
    cls, kwargs = resolve_class(rl_cfg["actor"])
    dummy = TensorDict(
        {"policy": torch.zeros(1, obs_size), "critic": torch.zeros(1, obs_size)}, batch_size=[1]
    )
    return cls(dummy, rl_cfg["obs_groups"], "actor", num_actions, **kwargs)


class _Dataset:
    """Aggregated (observation, expert action) pairs, oldest dropped beyond ``capacity``."""

    def __init__(self, capacity: int, obs_size: int, act_size: int) -> None:
        self.obs = np.zeros((capacity, obs_size), dtype=np.float32)
        self.act = np.zeros((capacity, act_size), dtype=np.float32)
        self.size = 0
        self.next = 0
        self.capacity = capacity

    def add(self, obs: np.ndarray, act: np.ndarray) -> None:
        idx = (self.next + np.arange(len(obs))) % self.capacity
        self.obs[idx], self.act[idx] = obs, act
        self.next = (self.next + len(obs)) % self.capacity
        self.size = min(self.capacity, self.size + len(obs))


def _fit(
    actor: torch.nn.Module,
    opt: torch.optim.Optimizer,
    data: _Dataset,
    d: DaggerConfig,
    rng: np.random.Generator,
) -> float:
    """Regression of the deterministic output on the expert's actions: a fixed number of
    minibatch updates per round (so a round's cost does not grow with the dataset). The last
    action entry (the gripper) is weighted by ``gripper_loss_weight``."""
    obs = torch.from_numpy(data.obs[: data.size])
    act = torch.from_numpy(data.act[: data.size])
    weights = torch.ones(act.shape[1])
    weights[-1] = d.gripper_loss_weight
    actor.train()
    losses = []
    for _ in range(d.updates_per_iteration):
        b = torch.from_numpy(rng.integers(0, data.size, d.batch_size))
        out = actor.mlp(actor.obs_normalizer(obs[b]))
        loss = (((out - act[b]) ** 2) * weights).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(actor.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
    actor.eval()
    return float(np.mean(losses[-max(1, len(losses) // 4) :]))


def _policy_actions(actor: torch.nn.Module, obs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return actor.mlp(actor.obs_normalizer(torch.from_numpy(obs))).numpy().astype(np.float64)


def check_expert(env: Any, task_key: str) -> None:
    """Refuse an environment without an expert (DAgger's labels)."""
    if not callable(getattr(env, "expert_action", None)):
        raise Sim2RealError(
            f"task {task_key}: DAgger needs an expert (env.expert_action()); this task has none"
        )


def run_dagger(
    env: Any, d: DaggerConfig, seed: int, run_dir: Path, t0: float, progress: bool = True
) -> dict[str, Any]:
    """Train with DAgger on ``env`` (a VecEnv with ``expert_action()``); writes checkpoints and
    logs to ``run_dir``; returns the summary (also written as ``train_summary.json``)."""
    rng = np.random.default_rng(seed + 1)
    obs = env.get_observations()["policy"].numpy()
    actor = build_actor(d, obs.shape[1], env.num_actions)
    actor.eval()
    opt = torch.optim.Adam(actor.parameters(), lr=d.learning_rate)
    data = _Dataset(d.max_dataset, obs.shape[1], env.num_actions)
    log: list[dict[str, Any]] = []
    env_steps = 0
    sim_time_s = 0.0
    fit_time_s = 0.0
    bar = tqdm(range(d.iterations), desc="DAgger", unit="round", disable=not progress)
    it = 0
    for it in bar:
        # Who drives: the expert alone first, then the learner in all but a shrinking share.
        beta = 1.0 if it < d.expert_only_iterations else 0.5 ** (it - d.expert_only_iterations + 1)
        expert_drives = rng.random(d.num_envs) < beta
        successes = ends = learner_successes = learner_ends = 0
        ts = time.perf_counter()
        for _ in range(d.steps_per_iteration):
            label = env.expert_action()
            act = label.copy()
            if not expert_drives.all():
                act[~expert_drives] = _policy_actions(actor, obs[~expert_drives])
            data.add(obs, label.astype(np.float32))
            td, _, dones, extras = env.step(torch.from_numpy(act))
            obs = td["policy"].numpy()
            done, success = dones.numpy(), extras["episode_success"].numpy()
            successes += int(success.sum())
            ends += int(done.sum())
            learner_successes += int((success & ~expert_drives).sum())
            learner_ends += int((done & ~expert_drives).sum())
        sim_time_s += time.perf_counter() - ts
        env_steps += d.num_envs * d.steps_per_iteration
        tf = time.perf_counter()
        loss = _fit(actor, opt, data, d, rng)
        fit_time_s += time.perf_counter() - tf
        entry = {
            "iteration": it,
            "beta": beta,
            "env_steps": env_steps,
            "dataset": data.size,
            "loss": loss,
            "episodes_ended": ends,
            "success_rate": successes / max(1, ends),
            "learner_episodes_ended": learner_ends,
            "learner_success_rate": learner_successes / max(1, learner_ends) if learner_ends else None,
            "wall_time_s": time.perf_counter() - t0,
        }
        log.append(entry)
        bar.set_postfix(loss=f"{loss:.4f}", learner_success=entry["learner_success_rate"], data=data.size)
        torch.save({"actor_state_dict": actor.state_dict(), "iter": it}, run_dir / SAVE_NAME.format(it))
        (run_dir / "train_log.json").write_text(json.dumps(log, indent=1))
        if time.perf_counter() - t0 > d.max_wall_time_s:
            break
    wall = time.perf_counter() - t0
    summary = {
        "algorithm": "DAgger (scripted privileged expert), rsl-rl MLPModel actor",
        "commit": git_commit(Path(__file__).resolve().parents[2]),
        "iterations": it + 1,
        "env_steps": env_steps,
        "wall_time_s": wall,
        "collection_time_s": sim_time_s,
        "fit_time_s": fit_time_s,
        "env_steps_per_s": env_steps / sim_time_s,
        "physics_steps_per_s": env_steps * getattr(env, "physics_substeps", 1) / sim_time_s,
        "dataset": data.size,
        "final": log[-1],
    }
    (run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
