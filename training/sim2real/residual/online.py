"""Online experience for fine-tuning: a task's batched VecEnv stepped so that every episode's
true last observation is seen (a truncated episode bootstraps from it).

The tasks' VecEnvs reset finished worlds inside ``step`` and return the first observation of the
next episode. :class:`ManipOnline` turns the arm's auto-reset off (``ManipEnv.auto_reset``, the
switch evaluation uses), so ``step`` returns the last observation of every world, then resets the
finished worlds itself and observes them; the continuing worlds keep the observation (and the
measured joint positions their safety layer uses) of the step, as with auto-reset. The physics,
terms, safety layer and reward are the VecEnv's own.

Reward for fine-tuning: the task's success signal, 1 at the step an episode succeeds (then it
terminates), 0 otherwise; the same is computed for the demonstrations (``next.success``), so both
buffers share one reward. A dropped cube terminates with 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim2real_runtime.errors import Sim2RealError


@dataclass
class Step:
    next_obs: np.ndarray
    """float32 [E, N]: the true observation after the step (an ended episode's last one)."""
    reward: np.ndarray
    """float32 [E]: 1 where the episode succeeded at this step."""
    terminated: np.ndarray
    """bool [E]: success or failure (no bootstrapping)."""
    truncated: np.ndarray
    """bool [E]: the time limit (bootstrapping from ``next_obs``)."""
    success: np.ndarray
    """bool [E]."""
    obs: np.ndarray
    """float32 [E, N]: what the policy observes next (reset worlds: their new episode's first)."""


class ManipOnline:
    """The arm's :class:`~sim2real.manip.vecenv.ManipVecEnv` for fine-tuning (see the module)."""

    def __init__(self, venv: Any) -> None:
        self.venv = venv
        self.env = venv.env
        self.env.auto_reset = False
        self.num_envs = venv.num_envs
        self.obs = venv.get_observations()["policy"].numpy().copy()

    def step(self, actions: np.ndarray) -> Step:
        _, _, dones, extras = self.venv.step(actions)
        env = self.env
        next_obs = self.venv.get_observations()["policy"].numpy().copy()
        done = dones.numpy().astype(bool)
        success = extras["episode_success"].numpy().astype(bool)
        failed = extras["episode_failed"].numpy().astype(bool)
        terminated = success | failed
        obs = next_obs.copy()
        if done.any():
            idx = np.flatnonzero(done)
            measured = env.measured_joint_pos.copy()
            env.reset(idx)
            fresh = env.observe()
            obs[idx] = fresh[idx]
            measured[idx] = env.measured_joint_pos[idx]
            env.measured_joint_pos = measured  # the continuing worlds keep what they measured
        self.obs = obs
        return Step(next_obs, success.astype(np.float32), terminated, done & ~terminated, success, obs)


ONLINE = {"manip": ManipOnline}
"""Domain -> its online adapter (domains without one cannot be fine-tuned online yet)."""


def online_env(task: Any, cfg: Any, num_envs: int, seed: int) -> ManipOnline:
    """The task's VecEnv (``task.make_env``) behind its domain's online adapter.

    Raises:
        Sim2RealError: the domain has no online adapter.
    """
    cls = ONLINE.get(task.domain)
    if cls is None:
        raise Sim2RealError(
            f"finetune: domain {task.domain!r} has no online environment adapter yet "
            f"(available: {', '.join(ONLINE)})"
        )
    return cls(task.make_env(cfg, num_envs, seed))
