"""Quadrotor policy evaluation across vehicles, tasks and aggressiveness, side by side with the PD
baseline, in MuJoCo (the validation simulator, not the training one).

Vehicles: the training vehicle (sim_assets/crazyflie_2_1), the benchmark Crazyflie file in
../shared/benchmarks/quad, two Crazyflie variants inside the randomisation range that training
never saw exactly (heavier with slower motors; lighter with faster motors and more inertia), and
two 1.5-2 kg PX4 frames (x500, iris: the 30 g -> 2 kg stretch target).

    python benchmarks/quad_eval.py --policy policies/quad_crazyflie [--episodes 5]

Writes benchmarks/results/quad_eval.json and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_CF = REPO.parent / "shared" / "benchmarks" / "quad" / "crazyflie_2_1.yaml"


def vehicles() -> dict:
    from sim2real_runtime.vehicle import load_vehicle

    cf = load_vehicle("crazyflie_2_1")
    out = {"crazyflie_2_1 (trained on)": cf}
    if SHARED_CF.is_file():
        out["shared crazyflie_2_1.yaml"] = load_vehicle(SHARED_CF)
    out["cf +15% mass, tau 0.09 s"] = dataclasses.replace(
        cf, name="cf_heavy", mass_kg=cf.mass_kg * 1.15, motor_time_constant_s=0.09
    )
    out["cf -10% mass, tau 0.03 s, +25% inertia"] = dataclasses.replace(
        cf,
        name="cf_light",
        mass_kg=cf.mass_kg * 0.9,
        motor_time_constant_s=0.03,
        inertia_kgm2=tuple(1.25 * i for i in cf.inertia_kgm2),
    )
    out["x500 (2.06 kg)"] = load_vehicle("x500")
    out["iris (1.55 kg)"] = load_vehicle("iris")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default=str(REPO / "policies" / "quad_crazyflie"))
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "quad_eval.json"))
    a = ap.parse_args()

    from sim2real.quad.evaluate import EvalConditions, evaluate

    t0 = time.time()
    rows = []
    for label, v in vehicles().items():
        for task in ("hover", "figure8"):
            for controller in ("policy", "pd"):
                s, _ = evaluate(a.policy if controller == "policy" else None, v, task, a.episodes, 0,
                                EvalConditions(), controller)  # fmt: skip
                rows.append(
                    {**s, "vehicle": label, "vehicle_name": v.name, "task": task, "controller": controller}
                )
                print(
                    f"{label:40s} {task:8s} {controller:6s} crash {s['crash_rate']:.0%}  "
                    f"RMSE {100 * (s['rmse_m_median'] or float('nan')):5.2f} cm  "
                    f"max {100 * (s['max_error_m'] or float('nan')):5.2f} cm  "
                    f"settle {s['settling_time_s_median']}",
                    flush=True,
                )
    # Aggressiveness (the FiLM input): a 1 m step in hover, tilt and time to settle.
    from sim2real_runtime.vehicle import load_vehicle

    cf = load_vehicle("crazyflie_2_1")
    film = []
    for agg in (0.0, 0.5, 1.0):
        cond = dataclasses.replace(EvalConditions(), aggressiveness=agg, start_offset_m=1.0)
        s, _ = evaluate(a.policy, cf, "hover", a.episodes, 100, cond)
        film.append({"aggressiveness": agg, **s})
        print(
            f"aggressiveness {agg:.1f}: 1 m step, max tilt {s['max_tilt_deg']:.1f} deg, "
            f"settling {s['settling_time_s_median']} s, "
            f"RMSE after 3 s {100 * (s['rmse_m_median'] or 0):.2f} cm",
            flush=True,
        )
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "date": time.strftime("%Y-%m-%d"),
        "policy": a.policy,
        "episodes": a.episodes,
        "wall_time_s": time.time() - t0,
        "rows": rows,
        "aggressiveness": film,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
