"""Policy networks beyond rsl-rl's own: an MLP whose hidden layers a user input modulates (FiLM).

FiLM (feature-wise linear modulation, Perez et al. 2018), as in "User-Conditioned Neural Control
Policies for Mobile Robotics": a user input c (here one scalar, e.g. aggressiveness in [0, 1])
scales and shifts every hidden layer, h_i <- h_i * (1 + gamma_i(c)) + beta_i(c), so one network
holds a family of behaviours and the user picks one at run time. The generators start at zero, so
training begins from a plain MLP.

:class:`FiLMMLPModel` is an rsl-rl ``MLPModel`` whose ``mlp`` is a :class:`FiLMMLP`; rsl-rl's PPO,
checkpoints and ONNX export wrapper work on it unchanged (the export copies ``model.mlp``).
"""

from __future__ import annotations

import importlib
import itertools
from typing import Any

import torch
from rsl_rl.models import MLPModel
from rsl_rl.utils import resolve_nn_activation
from torch import nn


class FiLMMLP(nn.Module):
    """MLP on x [B, N] with every hidden layer modulated by the column ``x[:, cond_index]``.

    Args:
        input_dim: N.
        output_dim: output size.
        hidden_dims: hidden layer sizes.
        activation: rsl-rl activation name.
        cond_index: column of x that carries the user input (negative counts from the end). The
            column stays part of the MLP input too.
    """

    def __init__(
        self, input_dim: int, output_dim: int, hidden_dims: list[int], activation: str, cond_index: int
    ) -> None:
        super().__init__()
        if not -input_dim <= cond_index < input_dim:
            raise ValueError(f"cond_index {cond_index} outside an input of size {input_dim}")
        self.cond_index = cond_index % input_dim
        dims = [input_dim, *hidden_dims]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        self.film = nn.ModuleList(nn.Linear(1, 2 * h) for h in hidden_dims)
        for g in self.film:
            nn.init.zeros_(g.weight)
            nn.init.zeros_(g.bias)
        self.activation = resolve_nn_activation(activation)
        self.head = nn.Linear(dims[-1], output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x[:, self.cond_index : self.cond_index + 1]
        h = x
        for layer, gen in zip(self.layers, self.film):
            gamma, beta = gen(c).chunk(2, dim=-1)
            h = self.activation(layer(h)) * (1.0 + gamma) + beta
        return self.head(h)


class FiLMMLPModel(MLPModel):
    """rsl-rl MLPModel with a :class:`FiLMMLP` body; ``cond_index`` names the user-input column of
    the (normalised) observation."""

    def __init__(
        self, obs: Any, obs_groups: Any, obs_set: str, output_dim: int, cond_index: int = -1, **kwargs: Any
    ) -> None:
        super().__init__(obs, obs_groups, obs_set, output_dim, **kwargs)
        out = self.distribution.input_dim if self.distribution is not None else output_dim
        hidden = [m.out_features for m in self.mlp if isinstance(m, nn.Linear)][:-1]
        act = kwargs.get("activation", "elu")
        self.mlp = FiLMMLP(self._get_latent_dim(), out, hidden, act, cond_index)


class PriorPlusResidual(nn.Module):
    """``prior(raw obs) + residual(normalised obs)``: the body of :class:`PriorResidualModel`.

    rsl-rl feeds the body the normalised observation (and exports ``normaliser -> body``), so the
    raw observation the prior needs is recovered with the normaliser's own statistics
    (``x * (std + eps) + mean``, the exact inverse of its forward).
    """

    def __init__(self, prior: nn.Module, residual: nn.Module, normalizer: nn.Module) -> None:
        super().__init__()
        self.prior = prior
        self.residual = residual
        self.normalizer = normalizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.normalizer
        raw = x * (n._std + n.eps) + n._mean if hasattr(n, "_std") else x
        return self.prior(raw) + self.residual(x)


class PriorResidualModel(FiLMMLPModel):
    """A :class:`FiLMMLPModel` that learns a residual on a fixed prior controller written in torch
    (residual policy learning: Silver et al. 2018, Johannink et al. 2019): the mean action is
    ``prior(obs) + film_mlp(normalised obs)``. The residual's last layer starts at zero, so the
    untrained policy is the prior exactly, and PPO explores around a controller that already flies.

    ``prior``: ``{"class": "module:Class", "kwargs": {...}}`` (plain JSON, kept in the run's
    config.json); the class is an ``nn.Module`` mapping raw observations [B, N] to actions [B, A].
    """

    def __init__(
        self,
        obs: Any,
        obs_groups: Any,
        obs_set: str,
        output_dim: int,
        prior: dict[str, Any],
        cond_index: int = -1,
        **kwargs: Any,
    ) -> None:
        super().__init__(obs, obs_groups, obs_set, output_dim, cond_index=cond_index, **kwargs)
        module, _, name = str(prior["class"]).partition(":")
        prior_module = getattr(importlib.import_module(module), name)(**prior.get("kwargs", {}))
        nn.init.zeros_(self.mlp.head.weight)
        nn.init.zeros_(self.mlp.head.bias)
        self.mlp = PriorPlusResidual(prior_module, self.mlp, self.obs_normalizer)
