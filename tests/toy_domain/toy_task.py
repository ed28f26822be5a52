"""The toy domain's training task ``toy/reach``: push the cart to a goal on the rail and stop there.

Everything training needs from a domain, in one module (a real domain spreads it over
``training/sim2real/<name>/{config,env,task}.py``): the config, a batched numpy VecEnv in rsl-rl's
API whose observations are computed by the runtime's own terms and whose commands go through the
runtime's own safety layer, the draft contract, and the :class:`~sim2real.tasks.Task` (PPO).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tensordict import TensorDict

from sim2real.rl import PPOConfig
from sim2real.tasks import Task, TrainOption, register_task, unregister_task
from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.domains import get_domain
from sim2real_runtime.terms import Observation

from .toy_runtime import NAME, RailCart, RailForce, RailSafety, rail_specs

TASK_NAME = "reach"


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class ToyTaskConfig:
    """What the policy observes, commands and is rewarded for."""

    cart: str = "cart"
    """Cart name (``tests/toy_domain/assets/<cart>.yaml``) or a path to a cart YAML."""
    control_rate_hz: float = 20.0
    episode_time_s: float = 4.0
    goal_range_m: float = 1.5
    """Goals (and starts) are drawn uniformly in +-this (m)."""
    goal_clip_m: float = 2.0
    goal_tolerance_m: float = 0.1
    speed_tolerance_mps: float = 0.2
    """Success: within ``goal_tolerance_m`` of the goal and slower than this."""
    reward_progress_per_m: float = 2.0
    reward_success: float = 5.0
    reward_effort: float = -0.01
    """Per step, times the squared normalised action."""


@dataclass(frozen=True)
class ToyTrainConfig:
    """One training run."""

    task: ToyTaskConfig = field(default_factory=ToyTaskConfig)
    ppo: PPOConfig = field(
        default_factory=lambda: PPOConfig(
            num_envs=64, steps_per_env=16, hidden_dims=(32, 32), num_mini_batches=2, init_noise_std=0.5
        )
    )
    seed: int = 0
    max_iterations: int = 100
    max_wall_time_s: float = 120.0
    save_interval: int = 50
    torch_threads: int = 1


# --------------------------------------------------------------------------- the VecEnv


class RailEnv:
    """rsl-rl VecEnv: B carts on B rails, each pushed towards its own goal.

    Observation groups: ``policy`` (the contract's observation, from the runtime's terms) and
    ``critic`` (the same plus the privileged raw position and goal offset).
    """

    def __init__(self, cfg: ToyTaskConfig, cart: RailCart, num_envs: int, seed: int = 0) -> None:
        self.cfg = cfg
        self.cart = cart
        self.num_envs = num_envs
        self.device = "cpu"
        self.rng = np.random.default_rng(seed)
        obs_specs, act_spec = rail_specs(cart, cfg.goal_clip_m)
        self.observation = Observation(obs_specs)
        self.action_term = RailForce(act_spec)
        self.safety = RailSafety(cart.max_force_n, cart.rail_half_length_m)
        self.num_actions = act_spec.size
        self.dt = 1.0 / cfg.control_rate_hz
        self.max_episode_length = int(round(cfg.episode_time_s * cfg.control_rate_hz))
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.x = np.zeros(num_envs)
        self.v = np.zeros(num_envs)
        self.goal = np.zeros(num_envs)
        self.prev_action = np.zeros((num_envs, 1), dtype=np.float32)
        self.steps = np.zeros(num_envs, dtype=np.int64)
        self.episode_stats = {"success": 0, "timeout": 0}
        self._reset(np.arange(num_envs))
        self._obs = self._observe()

    def _reset(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        r = min(self.cfg.goal_range_m, 0.9 * self.cart.rail_half_length_m)
        self.x[ids] = self.rng.uniform(-r, r, len(ids))
        self.v[ids] = 0.0
        self.goal[ids] = self.rng.uniform(-r, r, len(ids))
        self.prev_action[ids] = 0.0
        self.steps[ids] = 0

    def _observe(self) -> TensorDict:
        signals = {
            "position_m": self.x[:, None],
            "velocity_mps": self.v[:, None],
            "goal_m": self.goal[:, None],
            "prev_action": self.prev_action,
        }
        policy = self.observation(signals)
        privileged = np.stack([self.x, self.goal - self.x], axis=1).astype(np.float32)
        return TensorDict(
            {
                "policy": torch.from_numpy(policy),
                "critic": torch.from_numpy(np.concatenate([policy, privileged], axis=1)),
            },
            batch_size=[self.num_envs],
        )

    def get_observations(self) -> TensorDict:
        return self._obs

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        cfg, cart, dt = self.cfg, self.cart, self.dt
        a = actions.detach().cpu().numpy().astype(np.float64)
        force = self.safety(self.action_term(a), self.x[:, None])[:, 0]
        dist0 = np.abs(self.goal - self.x)
        self.v = np.clip(self.v + (force / cart.mass_kg - cart.damping_per_s * self.v) * dt,
                         -cart.max_speed_mps, cart.max_speed_mps)  # fmt: skip
        self.x = self.x + self.v * dt
        h = cart.rail_half_length_m
        at_end = np.abs(self.x) >= h
        self.x = np.clip(self.x, -h, h)
        self.v[at_end] = 0.0
        self.steps += 1
        dist = np.abs(self.goal - self.x)
        reached = (dist <= cfg.goal_tolerance_m) & (np.abs(self.v) <= cfg.speed_tolerance_mps)
        timeout = (self.steps >= self.max_episode_length) & ~reached
        clipped = np.clip(np.nan_to_num(a), -1.0, 1.0).astype(np.float32)
        reward = (
            cfg.reward_progress_per_m * (dist0 - dist)
            + cfg.reward_effort * (clipped**2).sum(axis=1)
            + cfg.reward_success * reached
        )
        self.prev_action = clipped
        done = reached | timeout
        log = {}
        if done.any():
            log = {"/toy/success_rate": float(reached[done].mean())}
            self.episode_stats["success"] += int(reached.sum())
            self.episode_stats["timeout"] += int(timeout.sum())
        self._reset(np.nonzero(done)[0])
        self._obs = self._observe()
        self.episode_length_buf = torch.from_numpy(self.steps.copy())
        extras = {"time_outs": torch.from_numpy(timeout), "log": log}
        return self._obs, torch.from_numpy(reward.astype(np.float32)), torch.from_numpy(done), extras


def make_env(cfg: ToyTrainConfig, num_envs: int, seed: int) -> RailEnv:
    cart = get_domain(NAME).load_description(cfg.task.cart)
    env = RailEnv(cfg.task, cart, num_envs, seed)
    env.cfg = cfg.task  # rsl-rl stores env.cfg in its logs
    return env


def success_rate(env: RailEnv):
    """Per PPO iteration: the share of episodes that ended at the goal."""
    last = dict(env.episode_stats)

    def stats() -> dict[str, float]:
        n = {k: env.episode_stats[k] - last[k] for k in last}
        last.update(env.episode_stats)
        return {"success": n["success"] / max(sum(n.values()), 1)}

    return stats


# --------------------------------------------------------------------------- the contract


def build_contract(cfg: ToyTrainConfig) -> PolicyContract:
    """The toy contract of a training config (the cart file's mass, rail and force)."""
    cart = get_domain(NAME).load_description(cfg.task.cart)
    obs, act = rail_specs(cart, cfg.task.goal_clip_m)
    return PolicyContract(
        domain=NAME,
        robot=cart.as_dict(),
        control_rate_hz=cfg.task.control_rate_hz,
        observation=tuple(obs),
        action=(act,),
    )


# --------------------------------------------------------------------------- the task

TASK = Task(
    domain=NAME,
    name=TASK_NAME,
    description="toy: push a cart along a 1-D rail to a goal and stop there (PPO)",
    config_class=ToyTrainConfig,
    default_config=ToyTrainConfig,
    make_env=make_env,
    trainer="ppo",
    build_contract=build_contract,
    description_files=lambda cfg: (get_domain(NAME).description_file(cfg.task.cart),),
    simulator="toy rail simulator (numpy, batched)",
    run_name=lambda cfg: f"toy_{Path(cfg.task.cart).stem}",
    default=True,
    iteration_stats=success_rate,
    postfix_keys=("success",),
    summary_aliases=(("final_success_rate", "success"),),
    train_options=(TrainOption("--cart", "task.cart", "cart name or YAML (default: cart)"),),
)


def register() -> Task:
    """``register_task(TASK)`` (a real task module does this on import)."""
    return register_task(TASK)


def unregister() -> None:
    unregister_task(NAME, TASK_NAME)
