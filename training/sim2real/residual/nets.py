"""Networks of residual fine-tuning: the residual actor and the LayerNorm critic ensemble.

Both see the observation standardised with a fixed mean/std (set once from the demonstrations,
kept as buffers so the export carries them). The actor's action is

    ``a = clip(base + scale * tanh(f(obs_n, base)))``

with :func:`sim2real_runtime.controller.clip_action`'s [-1, 1] box (the node's own clip). Its last
layer starts at zero, so before any update the combined policy is the base, bit for bit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn


def clip_box(a: torch.Tensor) -> torch.Tensor:
    """The runtime's action clip (:func:`sim2real_runtime.controller.clip_action`: [-1, 1]) in torch,
    differentiable inside the box; a test checks both agree."""
    return a.clamp(-1.0, 1.0)


class Standardiser(nn.Module):
    """``(x - mean) / std`` with fixed mean/std [N] (std floored at ``eps``)."""

    def __init__(self, size: int, eps: float = 1e-2) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("std", torch.ones(size))
        self.eps = eps

    def set(self, x: torch.Tensor) -> None:
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(self.eps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def mlp(sizes: list[int], layer_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes[:-1]):
        layers += [nn.Linear(a, b), *([nn.LayerNorm(b)] if layer_norm else []), nn.ReLU()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class ResidualActor(nn.Module):
    """``(obs [B, N], base [B, A]) -> scale * tanh(f(obs_n, base))`` [B, A]: the residual only.

    ``scale``: the largest residual, one number for every action entry or one per entry [A]."""

    def __init__(
        self, obs_size: int, action_size: int, hidden: tuple[int, ...], scale: float | Sequence[float]
    ) -> None:
        super().__init__()
        self.norm = Standardiser(obs_size)
        self.net = mlp([obs_size + action_size, *hidden, action_size], layer_norm=True)
        last = self.net[-1]
        nn.init.zeros_(last.weight)  # zero residual at the start: the policy is the base
        nn.init.zeros_(last.bias)
        sc = torch.as_tensor(scale, dtype=torch.float32).expand(action_size).clone()
        if not bool((sc > 0).all()):
            raise ValueError(f"residual scale must be > 0 for every action entry, got {sc.tolist()}")
        self.register_buffer("scale", sc)

    def forward(self, obs: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.tanh(self.net(torch.cat([self.norm(obs), base], dim=-1)))

    def act(self, obs: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """The combined action, clipped: [B, A]."""
        return clip_box(base + self(obs, base))


class EnsembleLinear(nn.Module):
    """E independent linear layers applied at once: x [E, B, i] -> [E, B, o]."""

    def __init__(self, ensemble: int, fan_in: int, fan_out: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(fan_in)  # torch.nn.Linear's default initialisation, per member
        self.weight = nn.Parameter(torch.empty(ensemble, fan_in, fan_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(ensemble, 1, fan_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class CriticEnsemble(nn.Module):
    """E Q-functions with LayerNorm after every hidden layer (RLPD): ``(obs [B, N], action [B, A])
    -> Q [E, B]``."""

    def __init__(self, obs_size: int, action_size: int, hidden: tuple[int, ...], ensemble: int) -> None:
        super().__init__()
        self.ensemble = ensemble
        self.norm = Standardiser(obs_size)
        sizes = [obs_size + action_size, *hidden]
        self.hidden = nn.ModuleList(EnsembleLinear(ensemble, a, b) for a, b in itertools.pairwise(sizes))
        self.lns = nn.ModuleList(nn.LayerNorm(b) for b in hidden)
        self.out = EnsembleLinear(ensemble, sizes[-1], 1)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.norm(obs), action], dim=-1).expand(self.ensemble, -1, -1)
        for lin, ln in zip(self.hidden, self.lns):
            x = torch.relu(ln(lin(x)))
        return self.out(x).squeeze(-1)


def pair_min_target(
    q_next: torch.Tensor, pair: tuple[int, int], ret: torch.Tensor, discount: torch.Tensor
) -> torch.Tensor:
    """The TD target ``ret + discount * min(q_next[i], q_next[j])`` [B] for the chosen pair of
    target critics (q_next [E, B]; ``discount`` already 0 for terminal windows)."""
    i, j = pair
    return ret + discount * torch.minimum(q_next[i], q_next[j])
