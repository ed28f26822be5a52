"""``sim2real export`` for the arm: a training run -> ``policy.onnx`` + ``policy.yaml`` with the
manipulation contract (the writing itself is :mod:`sim2real.onnx_export`)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from sim2real_runtime.contract import PolicyContract

from ..onnx_export import export_actor, latest_checkpoint, load_actor, provenance
from ..rl import config_to_dict
from .env import panda_chain, safety_config, task_specs
from .train import actor_ppo_config, load_config

SIMULATOR = "MuJoCo (sim_assets/panda/pick_place.xml), batched with mujoco.rollout"


def build_contract(
    run_dir: Path, checkpoint: Path, evaluation: dict[str, Any] | None = None
) -> PolicyContract:
    """The contract of an arm training run (config.json + train_summary.json in ``run_dir``)."""
    cfg = load_config(run_dir)
    t = cfg.task
    chain = panda_chain()
    obs_specs, act_specs = task_specs(t, chain)
    robot = {
        "name": "panda",
        "urdf": "sim_assets/panda/panda.urdf",
        "kinematics": chain.to_dict(),
        "gripper": {"joints": ["panda_finger_joint1", "panda_finger_joint2"], "max_width_m": t.max_width_m},
        "safety": asdict(safety_config(t)),
        "task": {
            "name": t.task,
            "success_tolerance_m": t.success_tolerance_m,
            "episode_time_s": t.episode_time_s,
        },
    }
    return PolicyContract(
        domain="manip",
        robot=robot,
        control_rate_hz=t.control_rate_hz,
        observation=tuple(obs_specs),
        action=tuple(act_specs),
        joint_names=chain.joint_names,
        provenance=provenance(Path(run_dir), checkpoint, config_to_dict(cfg), cfg.seed, SIMULATOR),
        evaluation=evaluation or {},
    )


def export_manip(
    run_dir: Path, out_dir: Path, checkpoint: Path | None = None, evaluation: dict[str, Any] | None = None
) -> Path:
    """Export an arm run to ``out_dir/policy.onnx`` + ``policy.yaml``; returns ``out_dir``."""
    run_dir = Path(run_dir)
    checkpoint = checkpoint or latest_checkpoint(run_dir)
    contract = build_contract(run_dir, checkpoint, evaluation)
    cfg = load_config(run_dir)
    actor = load_actor(
        actor_ppo_config(cfg), 1, checkpoint, contract.obs_size, contract.obs_size, contract.action_size
    )
    return export_actor(actor, contract, out_dir)
