"""``sim2real train manip``: the arm policy, imitating the scripted expert with DAgger.

Why not PPO from scratch here: MuJoCo Playground's PandaPickCube needs ~20 M environment steps on a
GPU; on two CPU cores MuJoCo gives ~10 k steps/s, so 30 minutes hold about 15 M steps before any
learning cost. A privileged scripted expert (:mod:`.expert`) solves the task, and DAgger (Ross et
al. 2011) turns it into a policy that sees only what the robot sees (noisy joint states, the
perceived object pose with latency) in a few minutes: each round the learner drives (a shrinking
share of worlds stay with the expert), the expert labels every visited state, the labels join the
dataset and the network is refit. The network is an rsl-rl ``MLPModel`` with the same
configuration as the PPO actor (:func:`sim2real.rl.rsl_rl_config`), saved as rsl-rl checkpoints,
so the export is shared and PPO (residual RL, the next issue) can start from it.

Outputs in the run directory: ``config.json``, ``model_<it>.pt``, ``train_log.json`` (per-round
success rate, loss, dataset size, steps/s), ``train_summary.json`` and ``training_curve.png``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rsl_rl.utils import resolve_class
from tensordict import TensorDict
from tqdm import tqdm

from ..gitinfo import git_commit
from ..rl import PPOConfig, config_from_dict, config_to_dict, rsl_rl_config, seed_everything
from .config import ManipTrainConfig
from .env import ManipEnv
from .mujoco_arm import N_ARM

SAVE_NAME = "model_{}.pt"


def actor_ppo_config(cfg: ManipTrainConfig) -> PPOConfig:
    """The PPO settings whose actor has this network's architecture (for loading and export)."""
    return PPOConfig(hidden_dims=cfg.dagger.hidden_dims, activation=cfg.dagger.activation, init_noise_std=0.3)


def build_actor(cfg: ManipTrainConfig, obs_size: int) -> torch.nn.Module:
    """An rsl-rl actor (MLP + observation normaliser + Gaussian head) as PPO would build it."""
    rl_cfg = rsl_rl_config(actor_ppo_config(cfg), save_interval=1)
    cls, kwargs = resolve_class(rl_cfg["actor"])
    dummy = TensorDict(
        {"policy": torch.zeros(1, obs_size), "critic": torch.zeros(1, obs_size)}, batch_size=[1]
    )
    return cls(dummy, rl_cfg["obs_groups"], "actor", N_ARM + 1, **kwargs)


def load_config(run_dir: Path) -> ManipTrainConfig:
    return config_from_dict(ManipTrainConfig, json.loads((Path(run_dir) / "config.json").read_text()))


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
    cfg: ManipTrainConfig,
    rng: np.random.Generator,
) -> float:
    """Regression of the deterministic output on the expert's actions: a fixed number of
    minibatch updates per round (so a round's cost does not grow with the dataset)."""
    d = cfg.dagger
    obs = torch.from_numpy(data.obs[: data.size])
    act = torch.from_numpy(data.act[: data.size])
    weights = torch.ones(N_ARM + 1)
    weights[N_ARM] = d.gripper_loss_weight
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


def train(cfg: ManipTrainConfig, run_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Train with DAgger; writes checkpoints and logs to ``run_dir``; returns the summary."""
    t0 = time.perf_counter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config_to_dict(cfg), indent=2))
    seed_everything(cfg.seed)
    torch.set_num_threads(max(1, cfg.threads))
    d = cfg.dagger
    rng = np.random.default_rng(cfg.seed + 1)
    env = ManipEnv(cfg.task, d.num_envs, seed=cfg.seed, threads=cfg.threads)
    obs = env.observe()
    actor = build_actor(cfg, obs.shape[1])
    actor.eval()
    opt = torch.optim.Adam(actor.parameters(), lr=d.learning_rate)
    data = _Dataset(d.max_dataset, obs.shape[1], N_ARM + 1)
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
            r = env.step(act)
            obs = r.obs
            successes += int(r.success.sum())
            ends += int(r.done.sum())
            learner_successes += int((r.success & ~expert_drives).sum())
            learner_ends += int((r.done & ~expert_drives).sum())
        sim_time_s += time.perf_counter() - ts
        env_steps += d.num_envs * d.steps_per_iteration
        tf = time.perf_counter()
        loss = _fit(actor, opt, data, cfg, rng)
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
        "commit": git_commit(Path(__file__).resolve().parents[3]),
        "iterations": it + 1,
        "env_steps": env_steps,
        "wall_time_s": wall,
        "collection_time_s": sim_time_s,
        "fit_time_s": fit_time_s,
        "env_steps_per_s": env_steps / sim_time_s,
        "physics_steps_per_s": env_steps * env.worlds.substeps / sim_time_s,
        "dataset": data.size,
        "final": log[-1],
    }
    (run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
    try:
        from .plots import plot_training

        plot_training(log, run_dir / "training_curve.png")
    except ImportError:  # matplotlib is optional at training time
        pass
    return summary
