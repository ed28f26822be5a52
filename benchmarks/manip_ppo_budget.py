"""PPO from scratch on the arm's pick-and-place, on the residual learner's environment-step budget:
the "PPO from scratch on the same budget" row of issue 14's comparison.

rsl-rl's PPO on :class:`sim2real.manip.vecenv.ManipVecEnv` (its dense reward: distance terms, a
success bonus, a drop penalty), the same MuJoCo worlds, randomisation, noise and latency as every
arm policy, training episodes from seed 0; then exported with the arm's contract and evaluated with
``evaluate_policy`` on held-out episodes (seed 1000, the seed of the residual table in RESULTS).

    python benchmarks/manip_ppo_budget.py [--budget-steps 30000] [--num-envs 16] [--steps-per-env 25]

Writes runs/manip_ppo_budget/ (run, policy, evaluation JSON).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def train_ppo(budget_steps: int, num_envs: int, steps_per_env: int, out: Path) -> tuple[Path, dict]:
    """PPO from scratch on ``budget_steps`` environment steps; exports to ``out/policy``.

    Returns the policy folder and the run facts (env steps, iterations, wall time, PPO config)."""
    from sim2real import rl
    from sim2real.manip.config import ManipTrainConfig
    from sim2real.manip.task import build_contract, make_env
    from sim2real.onnx_export import export_actor, load_actor, provenance

    run_dir, policy_dir = out / "run", out / "policy"
    cfg = ManipTrainConfig()
    ppo = rl.PPOConfig(num_envs=num_envs, steps_per_env=steps_per_env)
    iterations = max(1, budget_steps // (num_envs * steps_per_env))
    t0 = time.time()
    rl.seed_everything(cfg.seed)
    env = make_env(cfg, num_envs, cfg.seed)
    limits = rl.RunLimits(iterations, 0.0, iterations, 1)
    final = rl.run_ppo(env, ppo, limits, run_dir, dict, t0)
    train_s = time.time() - t0
    contract = build_contract(cfg)
    actor = load_actor(ppo, final, contract.obs_size, contract.action_size)
    # The arm's config as every arm policy records it (the evaluator reads it back); the PPO
    # settings go to result.json.
    contract = dataclasses.replace(
        contract,
        provenance=provenance(run_dir, final, rl.config_to_dict(cfg), cfg.seed, "MuJoCo (mujoco.rollout)"),
    )
    export_actor(actor, contract, policy_dir, overwrite=True)
    facts = {
        "env_steps": iterations * num_envs * steps_per_env,
        "iterations": iterations,
        "train_wall_s": train_s,
        "ppo": rl.config_to_dict(ppo),
    }
    return policy_dir, facts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-steps", type=int, default=30000)
    ap.add_argument("--num-envs", type=int, default=16)
    ap.add_argument("--steps-per-env", type=int, default=25)
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--eval-seed", type=int, default=1000)
    ap.add_argument("--out", default=str(REPO / "runs" / "manip_ppo_budget"))
    a = ap.parse_args()

    from sim2real.manip.evaluate import evaluate_policy

    out = Path(a.out)
    policy_dir, facts = train_ppo(a.budget_steps, a.num_envs, a.steps_per_env, out)
    report = evaluate_policy(policy_dir, a.episodes, a.eval_seed)
    summary = report["summary"]
    result = {"date": time.strftime("%Y-%m-%d"), **facts, "eval_seed": a.eval_seed, "summary": summary}
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "summary"}))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
