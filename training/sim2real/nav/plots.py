"""Plots of evaluation results: trajectories over the maps, one panel per scenario."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle

from .evaluate import EpisodeResult, summarize
from .scenario import Scenario

COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]


def plot_trajectories(
    path: Path, scenarios: Sequence[Scenario], results: Sequence[EpisodeResult], max_panels: int = 12
) -> Path:
    """Write a PNG with up to ``max_panels`` scenarios (evenly spread) and every controller's runs."""
    if len(scenarios) > max_panels:
        idx = np.linspace(0, len(scenarios) - 1, max_panels).round().astype(int)
        scenarios = [scenarios[i] for i in dict.fromkeys(idx)]
    labels = list(dict.fromkeys(r.controller for r in results))
    cols = min(6, len(scenarios))
    rows = int(np.ceil(len(scenarios) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 5.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, sc in zip(axes.flat, scenarios):
        ax.set_axis_on()
        if len(sc.circles):
            for x, y, r in sc.circles:
                ax.add_patch(Circle((x, y), r, color="0.25", lw=0))
        elif sc.grid is not None:
            g = sc.grid
            ext = [
                g.origin_xy_m[0],
                g.origin_xy_m[0] + g.shape[1] * g.resolution_m,
                g.origin_xy_m[1],
                g.origin_xy_m[1] + g.shape[0] * g.resolution_m,
            ]
            ax.imshow(g.occupied, origin="lower", extent=ext, cmap="Greys", vmin=0, vmax=1.5)
        ax.add_patch(Circle(sc.goal, sc.goal_tolerance_m, color="tab:green", alpha=0.2, lw=0))
        ax.plot(*sc.start[:2], "k^", ms=5)
        for ci, label in enumerate(labels):
            for r in results:
                if r.scenario != sc.name or r.controller != label or not r.trajectory:
                    continue
                t = np.asarray(r.trajectory)
                if r.plan:
                    pl = np.asarray(r.plan)
                    ax.plot(pl[:, 0], pl[:, 1], "--", color=COLORS[ci % len(COLORS)], lw=0.8, alpha=0.6)
                ax.plot(t[:, 0], t[:, 1], color=COLORS[ci % len(COLORS)], lw=1.2, alpha=0.85)
                end = "o" if r.success else ("x" if r.collision else "s")
                ax.plot(t[-1, 0], t[-1, 1], end, color=COLORS[ci % len(COLORS)], ms=6)
        ax.set_title(sc.name, fontsize=8)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
        xs = [sc.start[0], sc.goal[0], *sc.circles[:, 0]] if len(sc.circles) else [sc.start[0], sc.goal[0]]
        ys = [sc.start[1], sc.goal[1], *sc.circles[:, 1]] if len(sc.circles) else [sc.start[1], sc.goal[1]]
        for r in results:  # and wherever the robots went
            if r.scenario == sc.name and r.trajectory:
                t = np.asarray(r.trajectory)
                xs += [float(t[:, 0].min()), float(t[:, 0].max())]
                ys += [float(t[:, 1].min()), float(t[:, 1].max())]
        ax.set_xlim(min(xs) - 1, max(xs) + 1)
        ax.set_ylim(min(ys) - 1, max(ys) + 1.5)
    summary = summarize(results)
    title = "   ".join(
        f"{label} ({COLORS[i % len(COLORS)].removeprefix('tab:')}): success {s['success_rate']:.2f}, "
        f"score {s['mean_score']:.3f}"
        for i, (label, s) in enumerate(summary.items())
    )
    fig.suptitle(title + "\n(o success, x collision, square timeout)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_training(path: Path, history: Sequence[dict], steps_per_iteration: int) -> Path:
    """Episode outcome rates per PPO iteration against environment steps (from train_summary.json)."""
    it = np.array([h["iteration"] for h in history])
    steps = (it + 1) * steps_per_iteration / 1e6
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key, color in (("success", "tab:green"), ("collision", "tab:red"), ("timeout", "tab:gray")):
        y = np.array([h[key] for h in history])
        k = min(10, len(y))
        smooth = np.convolve(y, np.ones(k) / k, mode="valid")
        ax.plot(steps, y, color=color, alpha=0.2, lw=0.8)
        ax.plot(steps[k - 1 :], smooth, color=color, lw=1.8, label=key)
    ax.set_xlabel("environment steps (millions)")
    ax.set_ylabel("fraction of finished episodes")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
