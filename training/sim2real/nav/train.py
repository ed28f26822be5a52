"""``sim2real train nav``: PPO (rsl-rl-lib) on the fast simulator, on the CPU.

Writes into the run directory: ``config.json`` (the full NavTrainConfig), ``model_<it>.pt``
checkpoints (rsl-rl format, resumable), TensorBoard event files, ``train_summary.json`` and
``training_curve.png``. The PPO loop itself is shared by every domain (:mod:`sim2real.rl`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from sim2real_runtime.robot import load_robot

from .. import rl
from ..rl import config_to_dict, rsl_rl_config  # noqa: F401  (re-exported for the export step)
from .config import NavTaskConfig, NavTrainConfig
from .env import NavEnv
from .kinematic_sim import WorldBank
from .worldgen import generate_training_world


def config_from_dict(d: dict[str, Any]) -> NavTrainConfig:
    """Inverse of :func:`config_to_dict` (tuples and nested configs restored)."""
    return rl.config_from_dict(NavTrainConfig, d)


def make_worlds(task: NavTaskConfig, seed: int, robot_width_m: float) -> list:
    rng = np.random.default_rng(seed)
    lo, hi = task.difficulty_range
    return [
        generate_training_world(rng, float(rng.uniform(lo, hi)), robot_width_m=robot_width_m)
        for _ in tqdm(range(task.num_worlds), desc="generating training worlds", leave=False)
    ]


def train_nav(cfg: NavTrainConfig, run_dir: Path, resume: Path | None = None) -> Path:
    """Train a navigation policy; returns the path of the final checkpoint."""
    t0 = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    rl.seed_everything(cfg.seed)
    robot = load_robot(cfg.task.robot)
    (run_dir / "config.json").write_text(json.dumps(config_to_dict(cfg), indent=2))

    worlds = make_worlds(cfg.task, cfg.seed, robot.footprint_width_m)
    bank = WorldBank(worlds, robot, cfg.task.sim_resolution_m)
    env = NavEnv(cfg.task, robot, bank, cfg.ppo.num_envs, seed=cfg.seed)
    env.cfg = cfg.task  # rsl-rl stores env.cfg in its logs
    last = {"success": 0, "collision": 0, "timeout": 0}

    def outcome_rates() -> dict[str, float]:
        stats = env.episode_stats
        n = {k: stats[k] - last[k] for k in stats}
        last.update(stats)
        total = max(sum(n.values()), 1)
        return {k: n[k] / total for k in ("success", "collision", "timeout")}

    limits = rl.RunLimits(cfg.max_iterations, cfg.max_wall_time_s, cfg.save_interval, cfg.torch_threads)
    final = rl.run_ppo(
        env, cfg.ppo, limits, run_dir, outcome_rates, t0, resume, postfix_keys=("success", "collision")
    )
    summary_path = run_dir / "train_summary.json"
    summary = json.loads(summary_path.read_text())
    summary["final_success_rate"] = summary["final"].get("success")
    summary_path.write_text(json.dumps(summary, indent=2))
    if summary["history"]:
        from .plots import plot_training

        plot_training(
            run_dir / "training_curve.png", summary["history"], cfg.ppo.num_envs * cfg.ppo.steps_per_env
        )
    return final
