"""``sim2real train quad``: PPO (rsl-rl-lib) on the batched quadrotor simulator, on the CPU.

Writes into the run directory: ``config.json`` (the full QuadTrainConfig), ``model_<it>.pt``
checkpoints, TensorBoard event files, ``train_summary.json`` and ``training_curve.png``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sim2real_runtime.vehicle import load_vehicle

from .. import rl
from .config import QuadTrainConfig
from .env import QuadEnv


def config_from_dict(d: dict[str, Any]) -> QuadTrainConfig:
    return rl.config_from_dict(QuadTrainConfig, d)


def train_quad(cfg: QuadTrainConfig, run_dir: Path, resume: Path | None = None) -> Path:
    """Train a quadrotor policy; returns the path of the final checkpoint."""
    t0 = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    rl.seed_everything(cfg.seed)
    vehicle = load_vehicle(cfg.task.vehicle)
    (run_dir / "config.json").write_text(json.dumps(rl.config_to_dict(cfg), indent=2))
    env = QuadEnv(cfg.task, vehicle, cfg.ppo.num_envs, seed=cfg.seed)
    last = dict(env.stats)

    def iteration_stats() -> dict[str, float]:
        s = env.stats
        d = {k: s[k] - last[k] for k in s}
        last.update(s)
        return {
            "position_error_m": d["err_sum"] / max(d["err_n"], 1),
            "crash_rate": d["crashes"] / max(d["episodes"], 1),
        }

    limits = rl.RunLimits(cfg.max_iterations, cfg.max_wall_time_s, cfg.save_interval, cfg.torch_threads)
    final = rl.run_ppo(
        env,
        cfg.ppo,
        limits,
        run_dir,
        iteration_stats,
        t0,
        resume,
        postfix_keys=("position_error_m", "crash_rate"),
    )
    summary = json.loads((run_dir / "train_summary.json").read_text())
    if summary["history"]:
        from .plots import plot_training

        plot_training(
            run_dir / "training_curve.png", summary["history"], cfg.ppo.num_envs * cfg.ppo.steps_per_env
        )
    return final
