"""Quadrotor policy evaluation across vehicles and tasks, side by side with the PD baseline in the
same run on the same episodes, in MuJoCo (the validation simulator, not the training one), with
each vehicle's own autopilot (rate PID, mixer, thrust model and curve, motors, sag), odometry
noise, latency (the vehicle file's plus 4 ms) and gusts.

Vehicles:
- ``crazyflie_2_1``: the nominal vehicle the policy is trained on;
- held out (never trained or tuned on), made from public data: ``crazyflie_2_1_thrust_upgrade``,
  ``crazyflie_2_1_plus`` (Bitcraze firmware's own numbers for those configurations) and the
  shared benchmark Crazyflie file (../shared/benchmarks/quad, an airframe-only file flown with our
  Crazyflie's flight controller);
- other classes: ``x500``, ``iris`` (PX4 SITL frames: a different autopilot and motors).

    python benchmarks/quad_eval.py --policy policies/quad_crazyflie [--episodes 5]
    python benchmarks/quad_eval.py --controller pd        # the baseline alone

Writes benchmarks/results/quad_eval.json and prints a table.
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
SHARED_CF = REPO.parent / "shared" / "benchmarks" / "quad" / "crazyflie_2_1.yaml"
NOMINAL = "crazyflie_2_1"
HELD_OUT = ("crazyflie_2_1_thrust_upgrade", "crazyflie_2_1_plus", "shared crazyflie_2_1.yaml")
OTHER = ("x500", "iris")


def vehicles() -> dict:
    from sim2real_runtime.vehicle import load_vehicle

    out = {NOMINAL: load_vehicle(NOMINAL)}
    for name in HELD_OUT[:2]:
        out[name] = load_vehicle(name)
    if SHARED_CF.is_file():
        out[HELD_OUT[2]] = load_vehicle(SHARED_CF, flight_controller_from=NOMINAL)
    for name in OTHER:
        out[name] = load_vehicle(name)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default=str(REPO / "policies" / "quad_crazyflie"))
    ap.add_argument("--controller", choices=["both", "policy", "pd"], default="both")
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--vehicles", nargs="*", help="only these (labels as printed)")
    ap.add_argument("--aggressiveness", type=float, default=1.0)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "quad_eval.json"))
    a = ap.parse_args()

    import dataclasses

    from sim2real.quad.evaluate import EvalConditions, evaluate

    cond = dataclasses.replace(EvalConditions(), aggressiveness=a.aggressiveness)
    controllers = ("policy", "pd") if a.controller == "both" else (a.controller,)
    t0 = time.time()
    rows = []
    for label, v in vehicles().items():
        if a.vehicles and label not in a.vehicles:
            continue
        for task in ("hover", "figure8"):
            for controller in controllers:
                s, _ = evaluate(a.policy if controller == "policy" else None, v, task, a.episodes, 0, cond,
                                controller, allow_outside_envelope=True)  # fmt: skip
                group = "nominal" if label == NOMINAL else ("held-out" if label in HELD_OUT else "other")
                rows.append({**s, "vehicle": label, "group": group, "task": task, "controller": controller})
                rmse = s["rmse_m_median"]
                print(
                    f"{label:30s} {group:8s} {task:8s} {controller:6s} crash {s['crash_rate']:.0%}  "
                    f"RMSE {100 * (rmse if rmse is not None else float('nan')):5.2f} cm  "
                    f"max {100 * (s['max_error_m'] or float('nan')):5.2f} cm  "
                    f"settle {s['settling_time_s_median']}  tilt {s['max_tilt_deg']:.1f}",
                    flush=True,
                )
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "date": time.strftime("%Y-%m-%d"),
        "policy": a.policy if "policy" in controllers else None,
        "episodes": a.episodes,
        "conditions": dataclasses.asdict(cond),
        "wall_time_s": time.time() - t0,
        "rows": rows,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
