"""Aggressiveness (the policy's user input) against the peak tilt and the settling time of a 1 m
step, in MuJoCo on the nominal Crazyflie with its own autopilot, noise, latency and gusts.

The input sets the tilt limit (``tilt_range_deg`` of the contract, linear in the input), which the
runtime's tilt limiter (``sim2real_runtime.quad_terms.limit_tilt``) enforces around the policy, in
training and on the robot alike. Target: the peak tilt rises with the input, <= 15 deg at 0 and
>= 35 deg at 1.

    python benchmarks/quad_aggressiveness.py --policy policies/quad_crazyflie [--episodes 3]

Writes benchmarks/results/quad_aggressiveness.json and .png (tilt and settling time against the
input).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default=str(REPO / "policies" / "quad_crazyflie"))
    ap.add_argument("--vehicle", default="crazyflie_2_1")
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "quad_aggressiveness.json"))
    a = ap.parse_args()

    import numpy as np

    from sim2real.quad.evaluate import EvalConditions, evaluate
    from sim2real_runtime.vehicle import load_vehicle

    v = load_vehicle(a.vehicle)
    t0 = time.time()
    rows = []
    for agg in LEVELS:
        cond = dataclasses.replace(EvalConditions(), aggressiveness=agg, start_offset_m=1.0)
        s, eps = evaluate(a.policy, v, "hover", a.episodes, 100, cond, allow_outside_envelope=True)
        tilts = [e.max_tilt_deg for e in eps]
        row = {
            "aggressiveness": agg,
            "peak_tilt_deg_median": float(np.median(tilts)),
            "peak_tilt_deg_max": float(max(tilts)),
            "settling_time_s_median": s["settling_time_s_median"],
            "rmse_after_3s_m": s["rmse_m_median"],
            "crash_rate": s["crash_rate"],
        }
        rows.append(row)
        print(
            f"aggressiveness {agg:.2f}: peak tilt {row['peak_tilt_deg_median']:.1f} deg "
            f"(max {row['peak_tilt_deg_max']:.1f}), settling {row['settling_time_s_median']} s, "
            f"RMSE after 3 s {100 * (row['rmse_after_3s_m'] or float('nan')):.2f} cm, "
            f"crashes {row['crash_rate']:.0%}",
            flush=True,
        )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "policy": a.policy,
        "vehicle": v.name,
        "episodes": a.episodes,
        "date": time.strftime("%Y-%m-%d"),
        "wall_time_s": time.time() - t0,
        "rows": rows,
    }
    out.write_text(json.dumps(result, indent=1) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    x = [r["aggressiveness"] for r in rows]
    ax.plot(x, [r["peak_tilt_deg_median"] for r in rows], "o-", color="C0", label="peak tilt (median)")
    ax.axhline(15, color="C0", ls=":", lw=0.8)
    ax.axhline(35, color="C0", ls=":", lw=0.8)
    ax.set_xlabel("aggressiveness")
    ax.set_ylabel("peak tilt on a 1 m step (deg)", color="C0")
    ax2 = ax.twinx()
    ax2.plot(
        x, [r["settling_time_s_median"] or np.nan for r in rows], "s--", color="C1", label="settling (5 cm)"
    )
    ax2.set_ylabel("settling time (s)", color="C1")
    ax.set_title(f"{v.name}: 1 m step, {a.episodes} episodes per level")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
