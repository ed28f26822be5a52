"""``sim2real export`` for quadrotors: a training run -> ``policy.onnx`` + ``policy.yaml`` with the
quadrotor contract (the writing itself is :mod:`sim2real.onnx_export`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.quad_control import quad_training_envelope
from sim2real_runtime.vehicle import load_vehicle

from ..onnx_export import export_actor, latest_checkpoint, load_actor, provenance
from .env import PRIVILEGED_SIZE, task_specs
from .mujoco_quad import DEFAULT_GAINS
from .train import config_from_dict


def build_contract(
    run_dir: Path, checkpoint: Path, evaluation: dict[str, Any] | None = None
) -> PolicyContract:
    """The contract of a quadrotor training run (config.json + train_summary.json in ``run_dir``)."""
    cfg_dict = json.loads((run_dir / "config.json").read_text())
    cfg = config_from_dict(cfg_dict)
    t = cfg.task
    vehicle = load_vehicle(t.vehicle)
    obs_specs, act_spec = task_specs(t)
    robot = vehicle.as_dict()
    robot["training_envelope"] = quad_training_envelope(
        robot, t.dr.mass_scale, t.dr.thrust_scale, t.dr.motor_time_constant_s
    )
    robot["rate_loop"] = {
        "model": "inertia-scaled PID (sim2real.quad.mujoco_quad.RateGains)",
        **vars(DEFAULT_GAINS),
    }
    simulator = "sim2real batched quadrotor (numba RK4), validated against MuJoCo"
    prov = provenance(run_dir, checkpoint, cfg_dict, cfg.seed, simulator)
    return PolicyContract(
        domain="quad",
        robot=robot,
        control_rate_hz=t.control_rate_hz,
        observation=tuple(obs_specs),
        action=(act_spec,),
        provenance=prov,
        evaluation=evaluation or {},
    )


def load_quad_actor(run_dir: Path, checkpoint: Path, obs_size: int) -> torch.nn.Module:
    cfg = config_from_dict(json.loads((run_dir / "config.json").read_text()))
    return load_actor(cfg.ppo, cfg.save_interval, checkpoint, obs_size, obs_size + PRIVILEGED_SIZE, 4)


def export_quad(
    run_dir: Path, out_dir: Path, checkpoint: Path | None = None, evaluation: dict[str, Any] | None = None
) -> Path:
    """Export a quadrotor run to ``out_dir/policy.onnx`` + ``policy.yaml``; returns ``out_dir``."""
    checkpoint = checkpoint or latest_checkpoint(run_dir)
    contract = build_contract(run_dir, checkpoint, evaluation)
    actor = load_quad_actor(run_dir, checkpoint, contract.obs_size)
    return export_actor(actor, contract, out_dir)
