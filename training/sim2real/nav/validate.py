"""Checkpoint selection on the validation split (``sim2real train nav`` calls it after PPO).

PPO's last iterate is not its best policy: a run that trained all 600 iterations scored 0.76
success with 16 % collisions on unseen worlds where the 424-iteration one scored 0.82 and 2 %
(issue 16). So every checkpoint from ``validation_from_fraction`` of the run on is exported and
run, as deployed (the runtime's :class:`~sim2real_runtime.nav_control.NavController`, collision
guard included), on the validation worlds (:mod:`sim2real.nav.splits`); the best by success, then
mean BARN score, then fewer collisions, is the run's checkpoint. ``validation.json`` in the run
folder holds every candidate's numbers.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

from .config import NavTrainConfig


def candidate_checkpoints(run_dir: Path, max_iterations: int, from_fraction: float) -> list[Path]:
    """``model_<it>.pt`` in ``run_dir`` with ``it >= from_fraction * max_iterations``, by iteration
    (the last checkpoint is always a candidate)."""
    cps = sorted(
        (p for p in Path(run_dir).glob("model_*.pt") if p.stem.split("_", 1)[1].isdigit()),
        key=lambda p: int(p.stem.split("_", 1)[1]),
    )
    first = from_fraction * max_iterations
    chosen = [p for p in cps if int(p.stem.split("_", 1)[1]) >= first]
    return chosen or cps[-1:]


def _finite_or_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def rank_key(row: dict[str, float]) -> tuple[float, float, float]:
    """Sort key of a candidate's validation summary: success, then BARN score, then fewer collisions."""
    return (row["success_rate"], row["mean_score"], -row["collision_rate"])


def select_checkpoint(cfg: NavTrainConfig, run_dir: Path, final: Path) -> tuple[Path, dict[str, Any]]:
    """Evaluate the candidate checkpoints of ``run_dir`` on the validation worlds; returns the
    best one and the record written to ``run_dir/validation.json``."""
    from sim2real_runtime.robot import load_robot

    from ..export import export_run
    from .evaluate import ControllerSpec, evaluate, summarize
    from .worldgen import write_benchmark

    run_dir = Path(run_dir)
    robot = load_robot(cfg.task.robot)
    val_dir = run_dir / "validation"
    worlds = write_benchmark(
        val_dir / "worlds",
        cfg.validation_worlds,
        cfg.validation_seed,
        robot_width_m=robot.footprint_width_m,
        overwrite=True,
    )
    rows = []
    t0 = time.time()
    candidates = candidate_checkpoints(run_dir, cfg.max_iterations, cfg.validation_from_fraction)
    if not candidates:  # no PPO checkpoints (another trainer's run): nothing to choose from
        return final, {"selected": final.name, "candidates": []}
    for ckpt in candidates:
        pol_dir = val_dir / ckpt.stem
        export_run(run_dir, pol_dir, ckpt, overwrite=True)
        spec = ControllerSpec("policy", cfg.task.robot, str(pol_dir))
        res = evaluate(
            [spec],
            worlds,
            sim_kind=cfg.validation_sim,
            control_rate_hz=cfg.task.control_rate_hz,
            workers=1,  # in the training process: torch's OpenMP forbids forking worker processes
            progress=False,
        )
        # NaN (no success to average a time over) is null in the JSON record
        row = {
            "checkpoint": ckpt.name,
            **{k: _finite_or_none(v) for k, v in summarize(res)[spec.label].items()},
        }
        rows.append(row)
        print(
            f"validation {ckpt.name}: success {row['success_rate']:.3f} collision "
            f"{row['collision_rate']:.3f} score {row['mean_score']:.3f}",
            flush=True,
        )
        shutil.rmtree(pol_dir, ignore_errors=True)  # the checkpoint stays; its export is cheap to redo
    best = max(rows, key=rank_key)
    record = {
        "split": f"sim2real worlds --count {cfg.validation_worlds} --seed {cfg.validation_seed}",
        "simulator": cfg.validation_sim,
        "selected": best["checkpoint"],
        "wall_time_s": round(time.time() - t0, 1),
        "candidates": rows,
    }
    (run_dir / "validation.json").write_text(json.dumps(record, indent=2) + "\n")
    return run_dir / best["checkpoint"], record
