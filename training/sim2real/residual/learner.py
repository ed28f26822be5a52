"""The off-policy learner of residual fine-tuning (RLPD / ResFiT recipe), TD3-style.

Actor: deterministic residual (:class:`~sim2real.residual.nets.ResidualActor`) plus Gaussian
exploration noise when acting, target policy smoothing and a delayed actor update (TD3, Fujimoto
et al. 2018). Why TD3 and not SAC: the residual must start *exactly* at zero so the policy starts
as the base (a zero-initialised deterministic head does; a SAC policy's mean does, but its
entropy term pushes it away from the base from the first update, and the tanh-squashed Gaussian
needs a temperature tuned per task); ResFiT uses the same deterministic residual with n-step TD.

Critic: an ensemble of E LayerNorm Q-networks (RLPD: LayerNorm keeps the values of out-of-data
actions bounded when learning from a few demonstrations). Target of every member:

    ``y = ret_n + discount_n * min(Q'_i(s', a'), Q'_j(s', a'))``, (i, j) a random pair drawn per update,

with the n-step ``ret_n`` / ``discount_n`` of :mod:`sim2real.residual.replay`. The actor maximises
the ensemble mean. Critic warm-up: no actor update before ``critic_warmup_updates`` critic updates.
All randomness (pairs, noise) comes from the learner's own generators, saved in its state, so a
resumed learner makes the same next update.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .nets import CriticEnsemble, ResidualActor, clip_box, pair_min_target


@dataclass(frozen=True)
class ResidualConfig:
    """Residual fine-tuning hyper-parameters (units: actions are normalised, [-1, 1])."""

    scale: float = 0.1
    """Largest residual per continuous action entry (the residual is ``scale * tanh(.)``)."""
    discrete_scale: float | None = None
    """Largest residual of a discrete action entry (a switch such as the arm's gripper, whose
    command is the action's sign); None: ``scale``. A small scale never changes such an entry
    (the BC base's gripper sits at +-1); 2 can turn any base action to the other sign, but on the
    arm it made the gripper flicker and lowered success (benchmarks/RESULTS.md), hence off."""
    actor_hidden: tuple[int, ...] = (256, 256)
    critic_hidden: tuple[int, ...] = (256, 256)
    ensemble: int = 10
    """Critics in the ensemble (RLPD: 10)."""
    gamma: float = 0.99
    nstep: int = 3
    batch_size: int = 256
    """Transitions per update, half online and half demonstrations (even)."""
    utd_ratio: float = 2.0
    """Critic updates per environment transition collected (RLPD: > 1)."""
    critic_warmup_updates: int = 500
    """Critic updates before the first actor update."""
    actor_delay: int = 2
    """An actor (and target) update every this many critic updates (TD3)."""
    tau: float = 0.005
    """Polyak factor of the target networks."""
    actor_lr: float = 1e-4
    critic_lr: float = 3e-4
    explore_std: float = 0.05
    """Std of the Gaussian noise added to the executed action while collecting (action units)."""
    target_noise_std: float = 0.02
    target_noise_clip: float = 0.05
    residual_l2: float = 0.0
    """Penalty on the squared residual in the actor loss (keeps it near the base; 0: off)."""
    bc_weight: float = 0.0
    """Weight of the Q-filtered behaviour-cloning term on the demonstration rows of each batch
    (Nair et al. 2018): the residual is pulled towards ``clip(a_demo - base, +-scale)`` where the
    critic rates the demonstrated action at least as high as the policy's own (0: off, pure RLPD)."""
    grad_clip: float = 10.0


class ResidualLearner:
    """Networks, optimisers, counters and generators of one fine-tuning run."""

    def __init__(
        self,
        cfg: ResidualConfig,
        obs_size: int,
        action_size: int,
        seed: int,
        discrete: np.ndarray | None = None,
    ) -> None:
        """``discrete`` bool [A]: the action entries that are switches (scale ``discrete_scale``);
        none when omitted."""
        if cfg.batch_size % 2:
            raise ValueError(f"batch_size must be even (half online, half demo), got {cfg.batch_size}")
        if cfg.ensemble < 2:
            raise ValueError(f"ensemble must hold at least 2 critics (a pair is drawn), got {cfg.ensemble}")
        torch.manual_seed(seed)
        self.cfg = cfg
        mask = np.zeros(action_size, dtype=bool) if discrete is None else np.asarray(discrete, dtype=bool)
        if mask.shape != (action_size,):
            raise ValueError(f"discrete mask: expected {action_size} entries, got {mask.shape}")
        discrete_scale = cfg.scale if cfg.discrete_scale is None else cfg.discrete_scale
        scales = np.where(mask, discrete_scale, cfg.scale).tolist()
        self.actor = ResidualActor(obs_size, action_size, cfg.actor_hidden, scales)
        self.critic = CriticEnsemble(obs_size, action_size, cfg.critic_hidden, cfg.ensemble)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.updates = 0
        self.actor_updates = 0

    @property
    def scales(self) -> np.ndarray:
        """The largest residual per action entry, float32 [A] (the actor's own)."""
        return self.actor.scale.numpy().copy()

    def set_normaliser(self, obs: np.ndarray) -> None:
        """Fix every network's observation standardiser from ``obs`` [M, N] (the demonstrations)."""
        x = torch.as_tensor(obs, dtype=torch.float32)
        for net in (self.actor, self.critic, self.actor_target, self.critic_target):
            net.norm.set(x)

    @torch.no_grad()
    def act(self, obs: np.ndarray, base: np.ndarray, explore: bool) -> np.ndarray:
        """The executed action float32 [B, A]: base + residual (+ noise), clipped to [-1, 1]."""
        o, b = torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(base, dtype=torch.float32)
        a = b + self.actor(o, b)
        if explore and self.cfg.explore_std > 0:
            a = a + self.cfg.explore_std * torch.randn(a.shape, generator=self.gen)
        return clip_box(a).numpy()

    def update(self, batch: dict[str, np.ndarray], demo_rows: np.ndarray | None = None) -> dict[str, float]:
        """One critic update on ``batch`` (FIELDS arrays), and an actor + target update when due.

        ``demo_rows`` bool [B]: the rows drawn from the demonstration buffer (the sampler's
        ``~online`` mask); only the behaviour-cloning term uses it (``bc_weight`` > 0)."""
        cfg = self.cfg
        t = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in batch.items()}
        pair = tuple(int(i) for i in self.rng.choice(cfg.ensemble, 2, replace=False))
        with torch.no_grad():
            nb = t["next_base"]
            noise = (cfg.target_noise_std * torch.randn(nb.shape, generator=self.gen)).clamp(
                -cfg.target_noise_clip, cfg.target_noise_clip
            )
            next_a = clip_box(nb + self.actor_target(t["next_obs"], nb) + noise)
            y = pair_min_target(self.critic_target(t["next_obs"], next_a), pair, t["ret"], t["discount"])
        q = self.critic(t["obs"], t["action"])
        critic_loss = ((q - y) ** 2).mean(dim=1).sum()
        self.critic_opt.zero_grad()
        critic_loss.backward()
        torch.nn.utils.clip_grad_norm_(self.critic.parameters(), cfg.grad_clip)
        self.critic_opt.step()
        self.updates += 1
        out = {
            "critic_loss": float(critic_loss.detach()) / cfg.ensemble,
            "q_mean": float(q.detach().mean()),
            "target_mean": float(y.mean()),
        }
        if self.updates > cfg.critic_warmup_updates and self.updates % cfg.actor_delay == 0:
            rows = np.zeros(len(t["obs"]), dtype=bool) if demo_rows is None else demo_rows
            demo = torch.as_tensor(np.asarray(rows, dtype=bool))
            out |= self._actor_step(t, demo)
        return out

    def _actor_step(self, t: dict[str, torch.Tensor], demo: torch.Tensor) -> dict[str, float]:
        cfg = self.cfg
        res = self.actor(t["obs"], t["base"])
        a = clip_box(t["base"] + res)
        q = self.critic(t["obs"], a).mean(dim=0)
        loss = -q.mean() + cfg.residual_l2 * (res**2).sum(dim=1).mean()
        bc = {}
        if cfg.bc_weight > 0 and bool(demo.any()):
            bc_loss, kept = self._bc_term(t, res, q, demo)
            loss = loss + cfg.bc_weight * bc_loss
            bc = {"bc_loss": float(bc_loss.detach()), "bc_kept": kept}
        self.actor_opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.actor.parameters(), cfg.grad_clip)
        self.actor_opt.step()
        self.actor_updates += 1
        with torch.no_grad():
            for net, tgt in ((self.actor, self.actor_target), (self.critic, self.critic_target)):
                for p, pt in zip(net.parameters(), tgt.parameters()):
                    pt.lerp_(p, cfg.tau)
        return {
            "actor_loss": float(loss.detach()),
            "residual_abs_mean": float(res.detach().abs().mean()),
            **bc,
        }

    def _bc_term(
        self, t: dict[str, torch.Tensor], res: torch.Tensor, q_pi: torch.Tensor, demo: torch.Tensor
    ) -> tuple[torch.Tensor, float]:
        """Q-filtered behaviour cloning on the demonstration rows: mean over those rows of
        ``keep * sum_a ((res - target) / scale_a)^2``, target = ``clip(a_demo - base, +-scale_a)`` (the
        residual that reproduces the demonstrated action as far as the residual can), keep = 1
        where the ensemble mean rates the demonstrated action at least as high as the policy's.
        Returns the loss and the fraction of demonstration rows kept."""
        scale = self.actor.scale
        with torch.no_grad():
            target = torch.maximum(torch.minimum(t["action"] - t["base"], scale), -scale)
            q_demo = self.critic(t["obs"], t["action"]).mean(dim=0)
            keep = (q_demo >= q_pi.detach()) & demo
        err = (((res - target) / scale) ** 2).sum(dim=1)
        loss = (err * keep).sum() / demo.sum()
        return loss, float(keep.sum()) / float(demo.sum())

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "rng": self.rng.bit_generator.state,
            "gen": self.gen.get_state(),
            "updates": self.updates,
            "actor_updates": self.actor_updates,
        }

    def load_state_dict(self, st: dict[str, Any]) -> None:
        for key in ("actor", "actor_target"):  # checkpoints from before per-entry scales
            st[key].setdefault("scale", self.actor.scale.clone())
        self.actor.load_state_dict(st["actor"])
        self.critic.load_state_dict(st["critic"])
        self.actor_target.load_state_dict(st["actor_target"])
        self.critic_target.load_state_dict(st["critic_target"])
        self.actor_opt.load_state_dict(st["actor_opt"])
        self.critic_opt.load_state_dict(st["critic_opt"])
        self.rng.bit_generator.state = st["rng"]
        self.gen.set_state(st["gen"])
        self.updates = int(st["updates"])
        self.actor_updates = int(st["actor_updates"])
