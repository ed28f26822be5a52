"""The arm's :class:`~sim2real.manip.env.ManipEnv` behind rsl-rl's VecEnv API, physics unchanged.

The wrapper adds only what the API needs and draws nothing from the environment's random
generator, so a run through it (DAgger, or PPO) sees the same episodes as the bare environment:

- observations as a TensorDict: ``policy`` (the contract's observation) and ``critic`` (the same);
- ``step(actions) -> (obs, rewards, dones, extras)`` with ``extras["time_outs"]`` (episodes ended
  by the time limit), ``extras["log"]`` (success and drop rates of the episodes that ended) and
  ``extras["episode_success"]`` / ``extras["episode_failed"]`` (bool [N]);
- ``expert_action()``: the privileged scripted expert's action for the current state (DAgger's
  label);
- a dense reward so that PPO can run on it (:class:`ManipReward`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tensordict import TensorDict

from .config import ManipTaskConfig
from .env import ManipEnv


@dataclass(frozen=True)
class ManipReward:
    """A simple dense reward per control step.

    ``reward = -distance_weight_per_m * d + success_bonus * success - drop_penalty * dropped``,
    where ``d`` (m) is, for ``reach``, the TCP's distance to the target; for ``pick_place`` the
    TCP's distance to the cube plus the cube's distance to the target. ``d`` is taken from the true
    state after the step for episodes that go on; an episode that ended at this step (and was
    reset) gets only its bonus or penalty.
    """

    distance_weight_per_m: float = 1.0
    success_bonus: float = 10.0
    drop_penalty: float = 10.0


class ManipVecEnv:
    """rsl-rl VecEnv over N arm worlds (``ManipEnv`` with auto-reset)."""

    def __init__(
        self,
        cfg: ManipTaskConfig,
        num_envs: int,
        seed: int,
        threads: int = 2,
        reward: ManipReward | None = None,
    ) -> None:
        self.env = ManipEnv(cfg, num_envs, seed=seed, threads=threads)
        self.cfg = cfg
        self.reward = reward or ManipReward()
        self.num_envs = num_envs
        self.num_actions = self.env.num_actions
        self.max_episode_length = self.env.max_steps
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.device = "cpu"
        self.physics_substeps = self.env.worlds.substeps
        """Physics steps per control step."""
        self._obs = self._wrap(self.env.observe())

    def _wrap(self, obs: np.ndarray) -> TensorDict:
        t = torch.from_numpy(obs)
        return TensorDict({"policy": t, "critic": t}, batch_size=[self.num_envs])

    def get_observations(self) -> TensorDict:
        return self._obs

    def expert_action(self) -> np.ndarray:
        """The scripted expert's action [N, n + 1] (float64, normalised) for the true state."""
        return self.env.expert_action()

    def _distance_m(self) -> np.ndarray:
        w, env = self.env.worlds, self.env
        tcp, _ = env.chain.forward(w.joint_pos)
        if self.cfg.task == "reach":
            return np.linalg.norm(tcp - env.target_pos, axis=1)
        return np.linalg.norm(tcp - w.object_pos, axis=1) + np.linalg.norm(
            w.object_pos - env.target_pos, axis=1
        )

    def step(self, actions: torch.Tensor | np.ndarray) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        a = actions.detach().cpu().numpy() if isinstance(actions, torch.Tensor) else np.asarray(actions)
        r = self.env.step(a)
        rw = self.reward
        dist = np.where(r.done, 0.0, self._distance_m())
        reward = -rw.distance_weight_per_m * dist + rw.success_bonus * r.success - rw.drop_penalty * r.failed
        time_outs = r.done & ~r.success & ~r.failed
        log = {}
        if r.done.any():
            log = {
                "/manip/success_rate": float(r.success[r.done].mean()),
                "/manip/drop_rate": float(r.failed[r.done].mean()),
            }
        self._obs = self._wrap(r.obs)
        self.episode_length_buf = torch.from_numpy(self.env.t.copy())
        extras = {
            "time_outs": torch.from_numpy(time_outs),
            "log": log,
            "episode_success": torch.from_numpy(r.success),
            "episode_failed": torch.from_numpy(r.failed),
        }
        return self._obs, torch.from_numpy(reward.astype(np.float32)), torch.from_numpy(r.done), extras
