"""Human-in-the-loop residual RL on the arm's pick-and-place, in the sim bridge through topics.

Runs ``sim2real hil manip`` (the learner as its own process; the actor: the MuJoCo sim bridge, the
manip policy node with hot reload on the learner's export folder, the scripted takeover human,
transitions streamed over Cyclone DDS) from the behaviour-cloned base for ``--budget-steps``
transitions, then evaluates the last exported policy alone (no human) and the base on the same
``--eval-episodes`` held-out episodes (``--eval-seed``: never used for recording, BC or the HIL
run). Writes ``benchmarks/results/hil_manip.json`` and ``hil_manip.png`` (intervention rate and
success over the run's episodes).

    nice -n 10 python benchmarks/hil_manip.py --budget-steps 20000 --run-dir runs/hil_manip_bench
    python benchmarks/hil_manip.py --run-dir runs/hil_manip_bench --skip-run   # analyse only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results"
BASE = REPO / "policies" / "manip_panda_bc"
DATASET = REPO / "datasets" / "manip_pick_place_demos"


def rolling(x: np.ndarray, w: int) -> np.ndarray:
    """Mean of the last ``w`` values at each index (fewer at the start)."""
    c = np.cumsum(np.insert(np.asarray(x, dtype=float), 0, 0.0))
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(0, i - w)
    return (c[i] - c[lo]) / (i - lo)


def learner_args(a: argparse.Namespace) -> list[str]:
    return [
        "--budget-steps", str(a.budget_steps), "--export-every-updates", str(a.export_every_updates),
        "--critic-hidden", *map(str, a.critic_hidden), "--ensemble", str(a.ensemble),
        "--batch-size", str(a.batch_size), "--utd-ratio", str(a.utd_ratio),
        "--critic-warmup-updates", str(a.critic_warmup_updates), "--seed", str(a.seed),
        "--bc-weight", str(a.bc_weight), "--scale", str(a.scale),
        *(["--discrete-scale", str(a.discrete_scale)] if a.discrete_scale else []),
        "--real-time-factor", str(a.real_time_factor),
        *(["--no-human"] if a.no_human else []),
    ]  # fmt: skip


def run_hil(a: argparse.Namespace, run_dir: Path) -> float:
    cmd = [sys.executable, "-m", "sim2real.cli", "hil", "manip", "--base", str(BASE),
           "--dataset", str(DATASET), "--run-dir", str(run_dir), *learner_args(a)]  # fmt: skip
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if "CYCLONEDDS_URI" not in env:  # its own DDS network: other runs on this host do not cross-talk
        from sim2real_ros.dds import loopback_config

        env["CYCLONEDDS_URI"] = loopback_config(f"hil-bench-{os.getpid()}")
    t0 = time.monotonic()
    with open(run_dir.parent / f"{run_dir.name}.log", "w") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if rc != 0:
        raise SystemExit(
            f"sim2real hil manip exited with {rc}; see {run_dir.parent / (run_dir.name + '.log')}"
        )
    return time.monotonic() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", default=str(REPO / "runs" / "hil_manip_bench"))
    p.add_argument("--budget-steps", type=int, default=20000)
    p.add_argument("--export-every-updates", type=int, default=300)
    p.add_argument("--critic-hidden", type=int, nargs="+", default=[128, 128])
    p.add_argument("--ensemble", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--utd-ratio", type=float, default=1.0)
    p.add_argument("--critic-warmup-updates", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bc-weight", type=float, default=0.0, help="Q-filtered BC term (0: pure RLPD)")
    p.add_argument("--scale", type=float, default=0.1, help="largest residual per action entry")
    p.add_argument("--discrete-scale", type=float, help="largest residual of the gripper entry (--scale)")
    p.add_argument("--real-time-factor", type=float, default=1.0, help="simulated s per wall s")
    p.add_argument("--eval-episodes", type=int, default=200)
    p.add_argument("--eval-seed", type=int, default=2000)
    p.add_argument(
        "--no-human", action="store_true", help="the same loop without the scripted human (a baseline)"
    )
    p.add_argument("--skip-run", action="store_true", help="analyse an existing run folder")
    p.add_argument("--out", default=str(OUT / "hil_manip.json"))
    a = p.parse_args()
    run_dir = Path(a.run_dir)
    wall = None if a.skip_run else run_hil(a, run_dir)

    eps = [json.loads(line) for line in (run_dir / "actor_episodes.jsonl").read_text().splitlines() if line]
    summary = json.loads((run_dir / "train_summary.json").read_text())
    summary.pop("episodes_log", None)
    n = np.array([e["transitions"] for e in eps], dtype=float)
    human = np.array([e["intervention_steps"] for e in eps], dtype=float)
    ok = np.array([e["outcome"] == "success" for e in eps], dtype=float)
    rate = human / np.maximum(n, 1)
    k = max(1, len(eps) // 4)
    quarters = [
        {"episodes": f"{i * k}-{min(len(eps), (i + 1) * k) - 1}",
         "success": float(ok[i * k : (i + 1) * k].mean()),
         "intervention_rate": float(human[i * k : (i + 1) * k].sum() / max(1, n[i * k : (i + 1) * k].sum())),
         "takeovers_per_episode": float(np.mean([e["takeovers"] for e in eps[i * k : (i + 1) * k]]))}
        for i in range(4) if i * k < len(eps)
    ]  # fmt: skip

    from sim2real.manip.evaluate import evaluate_policy

    final = evaluate_policy(run_dir / "policy", a.eval_episodes, a.eval_seed, progress=False)["summary"]
    base = evaluate_policy(BASE, a.eval_episodes, a.eval_seed, progress=False)["summary"]

    result = {
        "what": "HIL residual RL on the arm (pick_place) in the MuJoCo sim bridge through DDS topics, "
        "scripted takeover human; the last exported policy and the BC base alone on held-out episodes",
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores (shared with other jobs)",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/hil_manip.py " + " ".join(learner_args(a)),
        "human": not a.no_human,
        "wall_time_s": wall,
        "episodes": len(eps),
        "transitions_actor": int(n.sum()),
        "interventions": {
            "takeovers": int(sum(e["takeovers"] for e in eps)),
            "human_steps": int(human.sum()),
            "rate_overall": float(human.sum() / max(1, n.sum())),
        },
        "success_with_human_overall": float(ok.mean()) if len(ok) else None,
        "quarters": quarters,
        "policy_swaps_confirmed": int(sum(e["swaps"] for e in eps)),
        "policy_refusals": [r for e in eps for r in e["refusals"]],
        "learner": summary,
        "eval": {
            "episodes": a.eval_episodes,
            "seed": a.eval_seed,
            "final_policy_alone": final,
            "bc_base_alone": base,
        },
        "per_episode": [
            {
                key: e[key]
                for key in (
                    "episode",
                    "seed",
                    "outcome",
                    "transitions",
                    "intervention_steps",
                    "takeovers",
                    "policy_version",
                    "wall_s",
                )
            }
            for e in eps
        ],
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(eps))
    fig, ax = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax[0].bar(x, rate, color="0.8", label="per episode")
    ax[0].plot(x, rolling(rate, 10), "C3", label="mean of the last 10")
    ax[0].set_ylabel("intervention rate\n(human steps / steps)")
    ax[0].legend()
    ax[1].plot(
        x,
        rolling(ok, 10),
        "C0",
        label=f"{'policy alone' if a.no_human else 'with the human'}, last 10 episodes",
    )
    ax[1].axhline(
        final["success_rate"], color="C2", ls="--", label=f"final policy alone ({a.eval_episodes} held-out)"
    )
    ax[1].axhline(base["success_rate"], color="0.5", ls=":", label="BC base alone (same episodes)")
    ax[1].set_ylim(0, 1.05)
    ax[1].set_ylabel("success")
    ax[1].set_xlabel("episode of the HIL run")
    ax[1].legend(loc="lower right")
    fig.suptitle(f"HIL on the arm: {len(eps)} episodes, {int(sum(e['takeovers'] for e in eps))} takeovers")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)
    print(
        json.dumps(
            {k: result[k] for k in ("episodes", "interventions", "success_with_human_overall", "quarters")}
        )
    )
    print(
        f"final policy alone {final['success_rate']:.3f}, base {base['success_rate']:.3f} "
        f"on {a.eval_episodes} held-out episodes"
    )


if __name__ == "__main__":
    main()
