"""Plots of the arm domain: the DAgger training curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_training(log: list[dict[str, Any]], out: Path) -> None:
    """Success rate of the learner's episodes and the imitation loss per DAgger round."""
    steps = [e["env_steps"] / 1e6 for e in log]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    learner = [
        (s, e["learner_success_rate"]) for s, e in zip(steps, log) if e["learner_success_rate"] is not None
    ]
    if learner:
        a.plot(*zip(*learner), "o-", label="learner-driven episodes")
    a.plot(steps, [e["success_rate"] for e in log], ".--", alpha=0.6, label="all episodes")
    a.set_xlabel("environment steps (M)")
    a.set_ylabel("success rate")
    a.set_ylim(0, 1.02)
    a.legend()
    b.semilogy(steps, [e["loss"] for e in log], "o-")
    b.set_xlabel("environment steps (M)")
    b.set_ylabel("imitation loss (MSE)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
