"""Issue 14's side-by-side on the arm's pick-and-place, in one run: the BC base alone, the BC base +
residual RL (``sim2real finetune``), and PPO from scratch on the same environment-step budget,
all evaluated on the same held-out episodes.

- BC base: ``policies/manip_panda_bc`` (100 recorded scripted-human demonstrations), its dataset
  ``datasets/manip_pick_place_demos`` for the residual's demonstration buffer.
- Residual: the :class:`sim2real.residual.finetune.Finetuner` that ``sim2real finetune`` runs
  (training episodes from seed 0), ``--budget-steps`` transitions, then the one-ONNX export.
- PPO from scratch: rsl-rl PPO on the task's dense reward, ``--budget-steps`` steps
  (``benchmarks/manip_ppo_budget.py``'s :func:`train_ppo`).
- Evaluation: ``evaluate_policy`` on ``--episodes`` episodes of each ``--eval-seeds`` (never used in
  training or tuning; 1000 is the seed of the earlier tables).

    python benchmarks/manip_finetune_compare.py [--budget-steps 30000] [--bc-weight 0] \
        [--scale 0.25 --discrete-scale 0.1]

Writes ``benchmarks/results/manip_finetune_compare.json`` and ``.png``; the runs in ``--work``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
BASE = REPO / "policies" / "manip_panda_bc"
DATASET = REPO / "datasets" / "manip_pick_place_demos"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-steps", type=int, default=30000)
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--eval-seeds", type=int, nargs="+", default=[1000, 6000])
    ap.add_argument("--bc-weight", type=float, default=0.0)
    ap.add_argument("--scale", type=float, default=0.1, help="the residual's range on the arm's joints")
    ap.add_argument(
        "--discrete-scale", type=float, help="the residual's range on the gripper (default: --scale)"
    )
    ap.add_argument("--work", default=str(REPO / "runs" / "manip_finetune_compare"))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "manip_finetune_compare.json"))
    a = ap.parse_args()

    from dataclasses import asdict, replace

    from manip_ppo_budget import train_ppo

    from sim2real.manip.evaluate import evaluate_policy
    from sim2real.residual.finetune import FinetuneConfig, Finetuner
    from sim2real.residual.learner import ResidualConfig
    from sim2real.tasks import get_task

    work = Path(a.work)
    if work.exists() and any(work.iterdir()):
        raise SystemExit(f"{work}: exists and is not empty; pick another --work")
    rows: dict[str, dict] = {}

    def evaluate(name: str, policy: Path, facts: dict) -> None:
        ev = {}
        for seed in a.eval_seeds:
            s = evaluate_policy(policy, a.episodes, seed, progress=False)["summary"]
            ev[str(seed)] = {k: s[k] for k in ("success_rate", "time_to_success_s_median", "dropped")}
            ev[str(seed)]["peak_joint_speed_radps_max"] = s["peak_joint_speed_radps_max"]
        rows[name] = {**facts, "eval": ev}
        print(name, json.dumps(rows[name]), flush=True)

    evaluate("bc_base", BASE, {"env_steps": 0, "train_wall_s": 0.0})

    # the residual: the learner settings of the RESULTS tables (critics 128x128, batch 128)
    rc = ResidualConfig(
        critic_hidden=(128, 128),
        batch_size=128,
        bc_weight=a.bc_weight,
        scale=a.scale,
        discrete_scale=a.discrete_scale,
    )
    cfg = replace(FinetuneConfig(), residual=rc, budget_steps=a.budget_steps)
    ft = Finetuner(get_task("manip", "pick_place"), BASE, DATASET, cfg, work / "residual")
    t0 = time.time()
    summary = ft.run()
    wall = time.time() - t0
    ft.export(work / "residual_policy")
    evaluate(
        "bc_plus_residual",
        work / "residual_policy",
        {"env_steps": summary["env_steps"], "train_wall_s": wall, "config": asdict(cfg)},
    )

    policy, facts = train_ppo(a.budget_steps, 16, 25, work / "ppo")
    evaluate("ppo_from_scratch", policy, facts)

    result = {
        "what": "arm pick_place: BC base alone, BC + residual RL, PPO from scratch on the same "
        "environment-step budget, one run, the same held-out episodes",
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/manip_finetune_compare.py " + " ".join(sys.argv[1:]),
        "budget_steps": a.budget_steps,
        "episodes_per_seed": a.episodes,
        "rows": rows,
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(a.eval_seeds)
    for j, seed in enumerate(a.eval_seeds):
        vals = [rows[n]["eval"][str(seed)]["success_rate"] for n in names]
        ax.bar([i + j * width for i in range(len(names))], vals, width, label=f"held-out seed {seed}")
    ax.set_xticks([i + width * (len(a.eval_seeds) - 1) / 2 for i in range(len(names))])
    ax.set_xticklabels(
        [f"{n}\n{rows[n]['env_steps']} steps, {rows[n]['train_wall_s']:.0f} s" for n in names], fontsize=8
    )
    ax.axhline(0.95, color="0.5", ls=":", label="issue 14 target 0.95")
    ax.set_ylim(0, 1.0)
    ax.set_ylabel(f"success ({a.episodes} episodes)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
