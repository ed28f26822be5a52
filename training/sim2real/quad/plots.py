"""Plots of quadrotor training and evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot_training(path: Path, history: Sequence[dict], steps_per_iteration: int) -> Path:
    """Mean position error and crash rate per PPO iteration against environment steps."""
    it = np.array([h["iteration"] for h in history])
    steps = (it + 1) * steps_per_iteration / 1e6
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(
        steps, [100 * h["position_error_m"] for h in history], color="tab:blue", label="position error (cm)"
    )
    ax.set_xlabel("environment steps (millions)")
    ax.set_ylabel("mean position error (cm)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(steps, [h["crash_rate"] for h in history], color="tab:red", alpha=0.6, label="crash rate")
    ax2.set_ylabel("crashes / finished episodes")
    ax2.set_ylim(0, 1)
    fig.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_episodes(path: Path, summary: dict, results: Sequence) -> Path:
    """Top view of every episode against the reference, and the position error over time."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for i, r in enumerate(results):
        p = np.asarray(r.positions_m)
        ref = np.asarray(r.references_m)
        if i == 0:
            ax.plot(ref[:, 0], ref[:, 1], "k--", lw=1.0, label="reference")
        ax.plot(
            p[:, 0], p[:, 1], lw=1.0, alpha=0.8, label=f"seed {r.seed}" + (" (crash)" if r.crashed else "")
        )
        e = np.linalg.norm(p - ref, axis=1)
        ax2.plot(r.times_s, 100 * e, lw=1.0, alpha=0.8)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m, ENU)")
    ax.set_ylabel("y (m)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax2.set_xlabel("time (s)")
    ax2.set_ylabel("position error (cm)")
    ax2.set_yscale("log")
    ax2.grid(alpha=0.3)
    rmse = summary.get("rmse_m_median")
    title = f"{summary['controller']} on {summary['vehicle']}, {summary['task']}"
    if rmse is not None:
        title += f": RMSE {100 * rmse:.1f} cm (median), crash rate {summary['crash_rate']:.0%}"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
