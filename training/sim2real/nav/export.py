"""``sim2real export`` for navigation: a training run -> ``policies/<name>/policy.onnx`` +
``policy.yaml`` with the navigation contract (the writing itself is :mod:`sim2real.onnx_export`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.nav_terms import nav_specs
from sim2real_runtime.robot import load_robot

from ..onnx_export import (  # noqa: F401  (update_evaluation, write_card: re-exported)
    environment_versions,
    export_actor,
    latest_checkpoint,
    provenance,
    update_evaluation,
    write_card,
)
from ..onnx_export import load_actor as _load_actor
from .train import config_from_dict


def build_contract(
    run_dir: Path, checkpoint: Path, evaluation: dict[str, Any] | None = None
) -> PolicyContract:
    """The contract of a navigation training run (config.json + train_summary.json in ``run_dir``)."""
    cfg_dict = json.loads((run_dir / "config.json").read_text())
    cfg = config_from_dict(cfg_dict)
    t = cfg.task
    robot = load_robot(t.robot)
    obs_specs, act_spec = nav_specs(
        robot,
        t.control_rate_hz,
        t.num_sectors,
        t.range_clip_m,
        t.goal_clip_m,
        t.v_limits_mps,
        t.w_max_radps,
        t.collision_guard,
    )
    prov = provenance(
        run_dir,
        checkpoint,
        cfg_dict,
        cfg.seed,
        "sim2real kinematic grid simulator (numba), validated against MuJoCo",
    )
    return PolicyContract(
        domain="nav",
        robot=robot.as_dict(),
        control_rate_hz=t.control_rate_hz,
        observation=tuple(obs_specs),
        action=(act_spec,),
        provenance=prov,
        evaluation=evaluation or {},
    )


def load_actor(run_dir: Path, checkpoint: Path, obs_size: int) -> torch.nn.Module:
    """The trained navigation actor with its observation normaliser, in eval mode."""
    cfg = config_from_dict(json.loads((run_dir / "config.json").read_text()))
    return _load_actor(cfg.ppo, cfg.save_interval, checkpoint, obs_size, obs_size + 2, 2)


def export_nav(
    run_dir: Path, out_dir: Path, checkpoint: Path | None = None, evaluation: dict[str, Any] | None = None
) -> Path:
    """Export a navigation run to ``out_dir/policy.onnx`` + ``policy.yaml``; returns ``out_dir``."""
    checkpoint = checkpoint or latest_checkpoint(run_dir)
    contract = build_contract(run_dir, checkpoint, evaluation)
    actor = load_actor(run_dir, checkpoint, contract.obs_size)
    return export_actor(actor, contract, out_dir)
