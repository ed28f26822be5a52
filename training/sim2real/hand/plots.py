"""Plots of hand training."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot_training(path: Path, history: Sequence[dict], steps_per_iteration: int) -> Path:
    """Cube angular speed about the palm normal (rad/s, over the episodes that ended in each PPO
    iteration) and drop rate against environment steps, smoothed over 20 iterations; the dashed
    line is rotate_z's target speed, one full turn in a 20 s episode."""
    it = np.array([h["iteration"] for h in history])
    steps = (it + 1) * steps_per_iteration / 1e6
    k = min(20, len(history))

    def smooth(y: np.ndarray) -> np.ndarray:
        return np.convolve(y, np.ones(k) / k, mode="valid")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    w = np.array([h["angvel_radps"] for h in history])
    ax.plot(steps, w, color="tab:blue", alpha=0.2, lw=0.8)
    ax.plot(steps[k - 1 :], smooth(w), color="tab:blue", lw=1.8, label="angular speed (rad/s)")
    ax.axhline(2 * math.pi / 20.0, color="tab:blue", ls="--", lw=1, label="a full turn in 20 s")
    ax.set_xlabel("environment steps (millions)")
    ax.set_ylabel("cube angular speed (rad/s)")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    d = np.array([h["drop_rate"] for h in history])
    ax2.plot(steps[k - 1 :], smooth(d), color="tab:red", lw=1.5, alpha=0.8, label="drop rate")
    ax2.set_ylabel("drops / finished episodes")
    ax2.set_ylim(0, 1)
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.95), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
