"""Seed spread of the navigation training command: each run's validation-selected policy on the
held-out worlds and the 250 BARN worlds, with the DWA fallback its contract asks for and alone.

    sim2real train nav --seed S --run-dir runs/nav_seeds/seedS      # S = 0, 1, 2
    python benchmarks/nav_seeds.py --runs runs/nav_seeds/seed0 runs/nav_seeds/seed1 runs/nav_seeds/seed2 \
        [--sim kinematic] [--sets heldout barn]

Each run is exported (its ``selected_checkpoint``) to ``<run>/policy``; results go to
benchmarks/results/nav_seeds.json with each run's training wall time, steps and selected checkpoint.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sim2real.nav.evaluate import ControllerSpec, evaluate, summarize
from sim2real.nav.scenario import find_scenarios
from sim2real.nav.splits import HELD_OUT

BARN = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "barn"
KEYS = ("success_rate", "collision_rate", "timeout_rate", "mean_score")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", required=True, help="training run folders")
    ap.add_argument("--sim", default="kinematic", choices=["kinematic", "mujoco"])
    ap.add_argument("--sets", nargs="+", default=["heldout", "barn"], choices=["heldout", "barn"])
    ap.add_argument("--robot", default="jackal")
    ap.add_argument("--out", default="benchmarks/results/nav_seeds.json")
    a = ap.parse_args()

    held = Path("runs") / "nav_heldout"
    worlds = {
        "heldout": find_scenarios(held) if held.is_dir() else HELD_OUT.write(held),
        "barn": find_scenarios(BARN),
    }
    rows = []
    for run in map(Path, a.runs):
        summary = json.loads((run / "train_summary.json").read_text())
        pol = run / "policy"
        # in a child process: torch's OpenMP threads in this one would hang the forked eval workers
        cmd = [sys.executable, "-m", "sim2real.cli", "export", "--run", str(run), "--out", str(pol)]
        subprocess.run([*cmd, "--overwrite"], check=True, capture_output=True)
        row = {
            "run": str(run),
            "selected_checkpoint": summary.get("selected_checkpoint"),
            "wall_time_s": summary.get("wall_time_s"),
            "env_steps": summary.get("env_steps"),
        }
        for name in a.sets:
            for tag, fallback in (("fallback", True), ("alone", False)):
                spec = ControllerSpec("policy", a.robot, str(pol), fallback=fallback)
                t = time.time()
                res = evaluate([spec], worlds[name], sim_kind=a.sim)
                s = next(iter(summarize(res).values()))
                row[f"{name}/{tag}"] = {k: round(float(s[k]), 4) for k in KEYS}
                wall = time.time() - t
                print(f"{run.name} {name} {tag}: {row[f'{name}/{tag}']} ({wall:.0f} s)", flush=True)
        rows.append(row)
    spread = {}
    for key in rows[0]:
        if "/" not in key:
            continue
        spread[key] = {
            k: {
                "median": statistics.median(r[key][k] for r in rows),
                "min": min(r[key][k] for r in rows),
                "max": max(r[key][k] for r in rows),
            }
            for k in KEYS
        }
    out = {"simulator": a.sim, "date": time.strftime("%Y-%m-%d"), "runs": rows, "spread": spread}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"{'set/controller':24s} " + " ".join(f"{k:>22s}" for k in KEYS))
    for key, v in spread.items():
        cells = " ".join(f"{v[k]['median']:.3f} [{v[k]['min']:.3f}-{v[k]['max']:.3f}]" for k in KEYS)
        print(f"{key:24s} {cells}")


if __name__ == "__main__":
    main()
