"""Global plan + local planner on large maps (issue 16): 50 m x 50 m rooms-and-corridors worlds.

    python benchmarks/nav_large_maps.py [--policy policies/nav_jackal] [--count 8] [--seed 0]
    python benchmarks/nav_large_maps.py --scenarios ../shared/benchmarks/barn --every 5 \
        --out benchmarks/results/nav_barn_astar.json       # the same four on every 5th BARN world

Generates the worlds (``sim2real.nav.rooms``; written to ``--worlds``, default
runs/large_maps/worlds, not committed: 1 MB each) unless they are there, then runs in the same
MuJoCo evaluation, on the same worlds and noise seeds:

- the policy alone (goal = the scenario's goal, as on BARN),
- the policy following an A* path (``sim2real eval nav --global-planner astar``),
- DWA following the same A* path (the classical local planner),
- DWA alone.

Writes benchmarks/results/nav_large_maps.json (summary and per-episode results, without the
trajectories) and nav_large_maps.png (trajectories; dashed: the A* path), and the full results
with trajectories and paths to runs/large_maps/nav_large_maps_full.json (1.4 MB, not committed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from sim2real.nav.evaluate import ControllerSpec, evaluate, format_table, summarize, write_results
from sim2real.nav.plots import plot_trajectories
from sim2real.nav.rooms import write_rooms_set
from sim2real.nav.scenario import find_scenarios, load_scenario


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--policy", default="policies/nav_jackal")
    ap.add_argument("--worlds", default="runs/large_maps/worlds")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--scenarios", help="existing scenario files instead of generated rooms worlds")
    ap.add_argument("--every", type=int, default=1, help="with --scenarios: every N-th file (sorted)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sim", default="mujoco", choices=["mujoco", "kinematic"])
    ap.add_argument("--out", default="benchmarks/results/nav_large_maps.json")
    ap.add_argument("--full-out", default="runs/large_maps/nav_large_maps_full.json")
    a = ap.parse_args()
    if a.scenarios:
        paths = find_scenarios(a.scenarios)[:: a.every]
        what = f"{a.scenarios}: every {a.every}. of {len(find_scenarios(a.scenarios))} files ({len(paths)})"
    else:
        worlds = Path(a.worlds)
        if not worlds.is_dir() or len(find_scenarios(worlds)) < a.count:
            write_rooms_set(worlds, a.count, a.seed)
        paths = find_scenarios(worlds)[: a.count]
        what = f"sim2real.nav.rooms: {a.count} worlds of 50 m x 50 m, set seed {a.seed}"
    scenarios = [load_scenario(p) for p in paths]
    specs = [
        ControllerSpec("policy", "jackal", a.policy),
        ControllerSpec("policy", "jackal", a.policy, global_planner="astar"),
        ControllerSpec("dwa", "jackal", global_planner="astar"),
        ControllerSpec("dwa", "jackal"),
    ]
    t0 = time.time()
    results = evaluate(specs, paths, runs=a.runs, sim_kind=a.sim, control_rate_hz=10.0, workers=a.workers)
    wall = time.time() - t0
    summary = summarize(results)
    print(format_table(summary))
    print(f"{len(results)} episodes on {len(paths)} worlds in {wall:.0f} s ({a.sim})")
    out = Path(a.out)
    full = Path(a.full_out) if not a.scenarios else Path("runs/large_maps") / f"{out.stem}_full.json"
    meta = {
        "worlds": what,
        "ref_path_length_m": {s.name: s.ref_path_length_m for s in scenarios},
        "time_limit_s": {s.name: s.time_limit_s for s in scenarios},
        "simulator": a.sim,
        "runs": a.runs,
        "wall_time_s": round(wall, 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    write_results(full, results, meta)
    write_results(out, [dataclasses.replace(r, trajectory=[], plan=[]) for r in results], meta)
    plot_trajectories(out.with_suffix(".png"), scenarios, results)
    print(f"wrote {out}, {out.with_suffix('.png')} and {full}")
    print(json.dumps({k: {m: round(v, 3) for m, v in s.items()} for k, s in summary.items()}, indent=1))


if __name__ == "__main__":
    main()
