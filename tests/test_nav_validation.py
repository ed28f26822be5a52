"""Reproducible nav training: a step budget (no wall-clock stop by default), the checkpoint chosen
on a validation split that shares no world with the held-out split, and export of that checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim2real.nav.config import NavTrainConfig
from sim2real.nav.splits import HELD_OUT
from sim2real.nav.validate import candidate_checkpoints, rank_key
from sim2real.nav.worldgen import world_seed
from sim2real.onnx_export import selected_checkpoint


def _touch(d: Path, *its: int) -> None:
    for it in its:
        (d / f"model_{it}.pt").write_bytes(b"")


def test_default_budget_is_environment_steps_not_wall_time():
    cfg = NavTrainConfig()
    assert cfg.max_wall_time_s == 0.0  # no wall-clock stop unless the user asks for one
    assert cfg.max_iterations * cfg.ppo.num_envs * cfg.ppo.steps_per_env == 4_915_200


def test_candidates_are_the_late_checkpoints_in_iteration_order(tmp_path):
    _touch(tmp_path, 0, 50, 100, 250, 300, 550, 599)
    (tmp_path / "model_best.pt").write_bytes(b"")  # not a numbered checkpoint: ignored
    names = [p.name for p in candidate_checkpoints(tmp_path, 600, 0.5)]
    assert names == ["model_300.pt", "model_550.pt", "model_599.pt"]
    names = [p.name for p in candidate_checkpoints(tmp_path, 600, 0.0)]
    assert names[:3] == ["model_0.pt", "model_50.pt", "model_100.pt"]  # numeric, not text, order
    assert candidate_checkpoints(tmp_path / "nothing", 600, 0.5) == []  # e.g. a BC run: no model_*.pt
    # none late enough (a run stopped early): the last one is still a candidate
    assert [p.name for p in candidate_checkpoints(tmp_path, 10_000, 0.5)] == ["model_599.pt"]


def test_rank_success_then_score_then_fewer_collisions():
    a = {"success_rate": 0.90, "mean_score": 0.30, "collision_rate": 0.02}
    b = {"success_rate": 0.92, "mean_score": 0.20, "collision_rate": 0.05}
    c = {"success_rate": 0.92, "mean_score": 0.25, "collision_rate": 0.08}
    d = {"success_rate": 0.92, "mean_score": 0.25, "collision_rate": 0.01}
    assert max([a, b, c, d], key=rank_key) is d
    assert max([a, b, c], key=rank_key) is c


def test_export_default_is_the_selected_checkpoint(tmp_path):
    _touch(tmp_path, 300, 350, 599)
    assert selected_checkpoint(tmp_path).name == "model_599.pt"  # no summary: the latest
    (tmp_path / "train_summary.json").write_text("{not json")
    assert selected_checkpoint(tmp_path).name == "model_599.pt"
    (tmp_path / "train_summary.json").write_text(json.dumps({"selected_checkpoint": "model_350.pt"}))
    assert selected_checkpoint(tmp_path).name == "model_350.pt"


def test_validation_and_held_out_worlds_are_disjoint():
    val = NavTrainConfig()
    val_seeds = {world_seed(val.validation_seed, i) for i in range(val.validation_worlds)}
    held = {world_seed(HELD_OUT.seed, i) for i in range(HELD_OUT.count)}
    readme_benchmark = {world_seed(2026, i) for i in range(50)}  # `sim2real benchmark nav`
    assert len(val_seeds) == val.validation_worlds and len(held) == HELD_OUT.count
    assert not val_seeds & held and not held & readme_benchmark and not val_seeds & readme_benchmark
    assert HELD_OUT.command == "sim2real worlds --out runs/nav_heldout --count 100 --seed 9001"


@pytest.mark.slow
def test_train_selects_on_validation_and_export_uses_it(tmp_path):
    from sim2real import rl
    from sim2real.export import export_run
    from sim2real.tasks import get_task
    from sim2real.trainers import train
    from sim2real_runtime.policy import OnnxPolicy

    task = get_task("nav")
    cfg = rl.config_from_dict(
        NavTrainConfig,
        {
            "task": {"num_worlds": 2},
            "ppo": {"num_envs": 4, "steps_per_env": 4},
            "max_iterations": 2,
            "save_interval": 1,
            "validation_worlds": 1,
            "validation_from_fraction": 0.0,
        },
    )
    run = tmp_path / "run"
    chosen = train(task, cfg, run, progress=False)
    summary = json.loads((run / "train_summary.json").read_text())
    record = json.loads((run / "validation.json").read_text())
    assert summary["selected_checkpoint"] == chosen.name == record["selected"]
    assert summary["stopped_by_wall_clock"] is False and summary["env_steps"] == 2 * 4 * 4
    assert [c["checkpoint"] for c in record["candidates"]] == ["model_0.pt", "model_1.pt"]
    assert record["split"] == "sim2real worlds --count 1 --seed 11"
    out = export_run(run, tmp_path / "policy")
    assert OnnxPolicy(out).contract.provenance["checkpoint"].endswith(chosen.name)
