"""``sim2real eval manip``: run an exported arm policy (ONNX, through the runtime's terms and
safety layer) on randomised MuJoCo episodes and report success rate, time to success, peak joint
speed and peak finger contact force.

Episodes are drawn from ``--seed``, which must differ from the training seed recorded in the
policy's contract: evaluation worlds (cube size, mass, friction, start pose, target, noise and
latencies) are never ones the policy trained on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
from tqdm import tqdm

from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.manip_control import check_manip_compatible
from sim2real_runtime.policy import OnnxPolicy

from ..rl import config_from_dict
from .config import ManipTrainConfig
from .env import ManipEnv, panda_chain
from .mujoco_arm import N_ARM


def evaluate_policy(
    policy_dir: Path,
    episodes: int = 200,
    seed: int = 1000,
    batch: int = 200,
    progress: bool = True,
    controller: str = "policy",
) -> dict[str, Any]:
    """Evaluate ``policy_dir`` on ``episodes`` episodes; returns the report (per episode and summary).

    ``controller="expert"`` runs the scripted expert (privileged: the true cube pose and size, no
    perception noise or latency) on the very same episodes instead: the baseline the policy
    imitates."""
    if controller not in ("policy", "expert"):
        raise ValueError(f"controller must be 'policy' or 'expert', not {controller!r}")
    policy = OnnxPolicy(policy_dir)
    contract = policy.contract
    if contract.domain != "manip":
        raise Sim2RealError(f"{policy.path}: a {contract.domain} policy, not a manipulation one")
    check_manip_compatible(contract, panda_chain(), str(policy.path))
    cfg = config_from_dict(ManipTrainConfig, contract.provenance["config"])
    if seed == cfg.seed:
        raise Sim2RealError(
            f"--seed {seed} is the training seed of {policy.path}; pick another for unseen episodes"
        )
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=episodes, desc="episodes", disable=not progress)
    for b, start in enumerate(range(0, episodes, batch)):
        n = min(batch, episodes - start)
        env = ManipEnv(cfg.task, n, seed=seed * 1000 + b, threads=cfg.threads, auto_reset=False)
        obs = env.observe()
        first = np.full(n, -1)
        failed = np.zeros(n, bool)
        peak_v = np.zeros(n)
        peak_f = np.zeros(n)
        for k in range(env.max_steps):
            r = env.step(policy(obs) if controller == "policy" else env.expert_action())
            obs = r.obs
            live = first < 0
            peak_v = np.where(live, np.maximum(peak_v, env.worlds.peak_joint_speed.max(axis=1)), peak_v)
            peak_f = np.where(live, np.maximum(peak_f, env.worlds.peak_pad_force_n), peak_f)
            first[live & r.success] = k + 1
            failed |= r.failed & live
            if np.all((first >= 0) | failed):
                break
        for i in range(n):
            rows.append({
                "episode": start + i,
                "success": bool(first[i] >= 0),
                "time_to_success_s": float(first[i] / cfg.task.control_rate_hz) if first[i] >= 0 else None,
                "dropped": bool(failed[i]),
                "peak_joint_speed_radps": float(peak_v[i]),
                "peak_pad_contact_force_n": float(peak_f[i]),
                "cube_half_size_m": float(env.worlds.half_size[i]),
            })  # fmt: skip
        bar.update(n)
    bar.close()
    ok = [r for r in rows if r["success"]]
    speed_limit = panda_chain().velocity_limits[:N_ARM]
    summary = {
        "task": cfg.task.task,
        "episodes": len(rows),
        "seed": seed,
        "success_rate": len(ok) / len(rows),
        "time_to_success_s_median": float(np.median([r["time_to_success_s"] for r in ok])) if ok else None,
        "peak_joint_speed_radps_max": max(r["peak_joint_speed_radps"] for r in rows),
        "peak_joint_speed_radps_median": float(np.median([r["peak_joint_speed_radps"] for r in rows])),
        "joint_speed_limit_radps_min": float(speed_limit.min()),
        "peak_pad_contact_force_n_max": max(r["peak_pad_contact_force_n"] for r in rows),
        "peak_pad_contact_force_n_median": float(np.median([r["peak_pad_contact_force_n"] for r in rows])),
        "dropped": sum(r["dropped"] for r in rows),
        "simulator": f"MuJoCo {mujoco.__version__}",
    }
    summary["controller"] = "policy" if controller == "policy" else "scripted expert (privileged)"
    return {"policy": str(policy.path), "summary": summary, "episodes": rows}


def format_summary(report: dict[str, Any]) -> str:
    s = report["summary"]
    t = s["time_to_success_s_median"]
    head = f"{s['task']}, {s['controller']}: {s['success_rate'] * 100:.1f} % success"
    head += f" over {s['episodes']} episodes (seed {s['seed']})"
    timing = f", median time to success {t:.2f} s" if t is not None else ""
    return (
        f"{head}{timing}, peak joint speed {s['peak_joint_speed_radps_max']:.2f} rad/s "
        f"(median {s['peak_joint_speed_radps_median']:.2f}; limit {s['joint_speed_limit_radps_min']:.3f}), "
        f"peak pad contact force {s['peak_pad_contact_force_n_max']:.1f} N "
        f"(median {s['peak_pad_contact_force_n_median']:.1f}), cubes dropped off the table {s['dropped']}"
    )


def write_report(report: dict[str, Any], out: Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(out)
