"""Search the scripted gait's parameters in the training environment itself (domain randomisation,
20 Hz targets, the safety layer's per-step and lead limits): a (1+1) hill climb on the mean turn
about the palm normal per episode, drops penalised.

``python -m sim2real.hand.gait_search --iterations 60 --episodes 16`` prints the best
:class:`~sim2real.hand.scripted.GaitConfig` as JSON (the defaults there came from such a run).
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np

from .config import HandTaskConfig, HandTrainConfig
from .evaluate import run_episodes
from .scripted import GaitConfig, ScriptedGait

STEP = {"mcp_mean_rad": 0.1, "mcp_amp_rad": 0.05, "side_amp_rad": 0.08, "period_s": 0.15,
        "pip_rad": 0.1, "dip_rad": 0.1, "finger_phase_rad": 0.3, "thumb_rad": 0.15}  # fmt: skip


def score(g: GaitConfig, episodes: int, seed: int, episode_time_s: float, drop_penalty_rad: float) -> tuple:
    cfg = HandTrainConfig(task=dataclasses.replace(HandTaskConfig(), episode_time_s=episode_time_s))
    gait = ScriptedGait(g)
    rows = run_episodes(cfg, lambda env, obs: gait.action(env), episodes, seed)
    turns = np.array([r["turn_rad"] for r in rows])
    drops = np.array([r["dropped"] for r in rows])
    return float(turns.mean() - drop_penalty_rad * drops.mean()), float(turns.mean()), float(drops.mean())


def perturb(g: GaitConfig, rng: np.random.Generator) -> GaitConfig:
    d = dataclasses.asdict(g)
    for k, s in STEP.items():
        if k == "thumb_rad":
            d[k] = tuple(float(v) for v in np.asarray(d[k]) + rng.normal(0.0, s, 4))
        else:
            d[k] = float(d[k] + rng.normal(0.0, s))
    d["period_s"] = max(d["period_s"], 0.4)
    return GaitConfig(**d)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--iterations", type=int, default=60)
    p.add_argument("--episodes", type=int, default=16)
    p.add_argument("--episode-time-s", type=float, default=10.0)
    p.add_argument("--drop-penalty-rad", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--start", help="GaitConfig as JSON (default: GaitConfig())")
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    best = GaitConfig(**json.loads(a.start)) if a.start else GaitConfig()
    best_s = score(best, a.episodes, a.seed, a.episode_time_s, a.drop_penalty_rad)
    print("start", best_s, flush=True)
    for it in range(a.iterations):
        cand = perturb(best, rng)
        s = score(cand, a.episodes, a.seed + 1 + it % 3, a.episode_time_s, a.drop_penalty_rad)
        if s[0] > best_s[0]:
            best, best_s = cand, s
            print(
                it, "score, mean turn (rad), drop rate:", s, json.dumps(dataclasses.asdict(best)), flush=True
            )
    print(json.dumps(dataclasses.asdict(best)))


if __name__ == "__main__":
    main()
