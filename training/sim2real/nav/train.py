"""Navigation training helpers: the config from a run's ``config.json`` and the procedural
training worlds. ``sim2real train nav`` itself is the shared :func:`sim2real.trainers.train` on the
``nav/goal`` task (:mod:`sim2real.nav.task`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm import tqdm

from .. import rl
from .config import NavTaskConfig, NavTrainConfig
from .worldgen import generate_training_world


def config_from_dict(d: dict[str, Any]) -> NavTrainConfig:
    """Inverse of :func:`sim2real.rl.config_to_dict` (tuples and nested configs restored)."""
    return rl.config_from_dict(NavTrainConfig, d)


def make_worlds(task: NavTaskConfig, seed: int, robot_width_m: float) -> list:
    rng = np.random.default_rng(seed)
    lo, hi = task.difficulty_range
    return [
        generate_training_world(rng, float(rng.uniform(lo, hi)), robot_width_m=robot_width_m)
        for _ in tqdm(range(task.num_worlds), desc="generating training worlds", leave=False)
    ]
