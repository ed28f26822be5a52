"""The navigation targets on the 250 BARN worlds of ../shared: policy and DWA side by side.

    python benchmarks/nav_barn.py --policy policies/nav_jackal [--sim mujoco kinematic] [--runs 1]
        [--fallback] [--robot YAML] [--held-out]

Prints the table and the wall time per simulator, writes benchmarks/results/barn_<sim>.json and a
trajectory plot beside it. The gap between the two simulators' success rates is the sim-to-sim gap.
``--fallback`` adds the policy with the runtime's DWA fallback (:mod:`sim2real_runtime.nav_fallback`);
``--held-out`` runs everything on the held-out worlds too (:data:`sim2real.nav.splits.HELD_OUT`,
written to runs/nav_heldout when missing), results as ``heldout_<sim>_<controller>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sim2real.nav.evaluate import ControllerSpec, evaluate, format_table, summarize, write_results
from sim2real.nav.plots import plot_trajectories
from sim2real.nav.scenario import find_scenarios, load_scenario
from sim2real.nav.splits import HELD_OUT
from sim2real.onnx_export import update_evaluation

BARN = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "barn"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--policy", default="policies/nav_jackal")
    ap.add_argument("--sim", nargs="+", default=["mujoco", "kinematic"])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-dwa", action="store_true")
    ap.add_argument("--fallback", action="store_true", help="also the policy with the DWA fallback")
    ap.add_argument("--robot", default="jackal", help="robot name or YAML for every controller")
    ap.add_argument("--held-out", action="store_true", help="also on the held-out split (seed 9001)")
    ap.add_argument("--out-dir", default="benchmarks/results")
    ap.add_argument(
        "--update-policy",
        action="store_true",
        help="store the summary in the policy's contract and card (how nav_jackal got its evaluation)",
    )
    a = ap.parse_args()
    specs = [
        ControllerSpec("policy", a.robot, a.policy),
        ControllerSpec("policy", a.robot, a.policy, collision_guard=False),
    ]
    if a.fallback:
        specs.append(ControllerSpec("policy", a.robot, a.policy, fallback=True))
    if not a.no_dwa:
        specs.append(ControllerSpec("dwa", a.robot))
    sets = [("barn", find_scenarios(BARN))]
    if a.held_out:
        held = Path("runs") / "nav_heldout"
        sets.append(("heldout", find_scenarios(held) if held.is_dir() else HELD_OUT.write(held)))
    report = {}
    for name, paths in sets:
        scenarios = [load_scenario(p) for p in paths]
        prefix = "" if name == "barn" else f"{name}:"
        for sim in a.sim:
            for spec in specs:
                t = time.time()
                res = evaluate([spec], paths, runs=a.runs, sim_kind=sim)
                wall = time.time() - t
                s = summarize(res)
                report[f"{prefix}{sim}/{spec.label}"] = {**next(iter(s.values())), "wall_time_s": wall}
                print(f"[{name} {sim}] {spec.label}: {len(res)} episodes in {wall:.1f} s")
                tag = spec.kind + ("_noguard" if spec.collision_guard is False else "")
                tag += "_fallback" if spec.fallback else ""
                out = Path(a.out_dir) / f"{name}_{sim}_{tag}.json"
                write_results(out, res, {"simulator": sim, "wall_time_s": wall, "runs": a.runs})
                plot_trajectories(out.with_suffix(".png"), scenarios, res)
            print(format_table({k: v for k, v in report.items() if k.startswith(f"{prefix}{sim}/")}))
    (Path(a.out_dir) / "barn_summary.json").write_text(json.dumps(report, indent=1))
    if a.update_policy:
        label = specs[0].label
        evaluation = {
            "benchmark": f"BARN static worlds in ../shared ({len(sets[0][1])}), {a.runs} run(s) each, "
            "collision guard as in training",
            "date": time.strftime("%Y-%m-%d"),
            **{sim: {k: round(v, 4) for k, v in report[f"{sim}/{label}"].items()} for sim in a.sim},
        }
        if not a.no_dwa and "mujoco" in a.sim:
            evaluation["dwa_baseline_mujoco"] = {k: round(v, 4) for k, v in report["mujoco/dwa"].items()}
        update_evaluation(Path(a.policy), evaluation)


if __name__ == "__main__":
    main()
