"""The navigation targets on the 250 BARN worlds of ../shared: policy and DWA side by side.

    python benchmarks/nav_barn.py --policy policies/nav_jackal [--sim mujoco kinematic] [--runs 1]
        [--robot YAML] [--held-out] [--no-guard-too] [--update-policy]

The controllers, in one run on the same worlds and noise seeds: the policy as its contract asks
(with the runtime's DWA fallback when ``dwa_fallback`` is set, :mod:`sim2real_runtime.nav_fallback`),
the policy alone (without the fallback; only when the contract asks for it), the DWA baseline
(``--no-dwa`` drops it) and, with ``--no-guard-too``, the policy without the collision guard.

Prints the table and the wall time per simulator, writes benchmarks/results/barn_<sim>_<tag>.json
and a trajectory plot beside it. The gap between the two simulators' success rates is the sim-to-sim
gap. ``--held-out`` runs everything on the held-out worlds too (:data:`sim2real.nav.splits.HELD_OUT`,
written to runs/nav_heldout when missing), results as ``heldout_<sim>_<tag>.json``;
``--update-policy`` stores both in the policy's contract and card.
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
from sim2real_runtime.nav_control import contract_wants_fallback
from sim2real_runtime.policy import OnnxPolicy

BARN = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "barn"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--policy", default="policies/nav_jackal")
    ap.add_argument("--sim", nargs="+", default=["mujoco", "kinematic"])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-dwa", action="store_true")
    ap.add_argument("--no-guard-too", action="store_true", help="also the policy without the guard")
    ap.add_argument("--robot", default="jackal", help="robot name or YAML for every controller")
    ap.add_argument("--held-out", action="store_true", help="also on the held-out split (seed 9001)")
    ap.add_argument("--out-dir", default="benchmarks/results")
    ap.add_argument(
        "--update-policy",
        action="store_true",
        help="store the summary in the policy's contract and card (how nav_jackal got its evaluation)",
    )
    a = ap.parse_args()
    wants_fallback = contract_wants_fallback(OnnxPolicy(a.policy).contract)
    specs = [ControllerSpec("policy", a.robot, a.policy, fallback=wants_fallback)]
    if wants_fallback:  # the ablation: the policy alone
        specs.append(ControllerSpec("policy", a.robot, a.policy, fallback=False))
    if a.no_guard_too:
        specs.append(ControllerSpec("policy", a.robot, a.policy, collision_guard=False, fallback=False))
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
            f"{label} (collision guard as in training)",
            "date": time.strftime("%Y-%m-%d"),
            **{sim: {k: round(v, 4) for k, v in report[f"{sim}/{label}"].items()} for sim in a.sim},
        }
        if a.held_out:
            evaluation["held_out"] = {
                "split": f"sim2real worlds --count {HELD_OUT.count} --seed {HELD_OUT.seed}",
                **{
                    sim: {k: round(v, 4) for k, v in report[f"heldout:{sim}/{label}"].items()}
                    for sim in a.sim
                },
            }
        if wants_fallback and "mujoco" in a.sim:
            alone = specs[1].label
            evaluation["policy_alone_mujoco"] = {k: round(v, 4) for k, v in report[f"mujoco/{alone}"].items()}
        if not a.no_dwa and "mujoco" in a.sim:
            evaluation["dwa_baseline_mujoco"] = {k: round(v, 4) for k, v in report["mujoco/dwa"].items()}
        update_evaluation(Path(a.policy), evaluation)


if __name__ == "__main__":
    main()
