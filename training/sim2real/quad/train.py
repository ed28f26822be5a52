"""Quadrotor training helpers: the config from a run's ``config.json``. ``sim2real train quad``
itself is the shared :func:`sim2real.trainers.train` on the ``quad/track`` task
(:mod:`sim2real.quad.task`)."""

from __future__ import annotations

from typing import Any

from .. import rl
from .config import QuadTrainConfig


def config_from_dict(d: dict[str, Any]) -> QuadTrainConfig:
    return rl.config_from_dict(QuadTrainConfig, d)
