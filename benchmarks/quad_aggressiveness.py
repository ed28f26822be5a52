"""Aggressiveness (the policy's user input) against the peak tilt and the settling time of a 1 m
step, in MuJoCo on the nominal Crazyflie with its own autopilot, noise, latency and gusts.

The input sets the tilt limit (``tilt_range_deg`` of the contract, linear in the input), which the
runtime's tilt limiter (``sim2real_runtime.quad_terms.limit_tilt``) enforces around the policy, in
training and on the robot alike, and the gains of the PD law (the policy's prior and the baseline,
``sim2real.quad.baseline.gain_scale``). Target: the peak tilt rises with the input, <= 15 deg at 0
and >= 35 deg at 1. The PD baseline flies the same steps in the same run.

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
    ap.add_argument("--controller", choices=["both", "policy", "pd"], default="both")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "quad_aggressiveness.json"))
    a = ap.parse_args()

    import numpy as np

    from sim2real.quad.evaluate import EvalConditions, evaluate
    from sim2real_runtime.vehicle import load_vehicle

    v = load_vehicle(a.vehicle)
    t0 = time.time()
    controllers = ("policy", "pd") if a.controller == "both" else (a.controller,)
    rows = []
    for controller in controllers:
        for agg in LEVELS:
            cond = dataclasses.replace(EvalConditions(), aggressiveness=agg, start_offset_m=1.0)
            s, eps = evaluate(
                a.policy if controller == "policy" else None, v, "hover", a.episodes, 100, cond, controller,
                allow_outside_envelope=True,
            )  # fmt: skip
            tilts = [e.max_tilt_deg for e in eps]
            row = {
                "controller": controller,
                "aggressiveness": agg,
                "peak_tilt_deg_median": float(np.median(tilts)),
                "peak_tilt_deg_max": float(max(tilts)),
                "settling_time_s_median": s["settling_time_s_median"],
                "rmse_after_3s_m": s["rmse_m_median"],
                "crash_rate": s["crash_rate"],
            }
            rows.append(row)
            print(
                f"{controller:6s} aggressiveness {agg:.2f}: peak tilt {row['peak_tilt_deg_median']:.1f} deg "
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
    ax2 = ax.twinx()
    for controller, style in (("policy", "-"), ("pd", "--")):
        sel = [r for r in rows if r["controller"] == controller]
        if not sel:
            continue
        x = [r["aggressiveness"] for r in sel]
        name = "policy" if controller == "policy" else "PD baseline"
        tilt = [r["peak_tilt_deg_median"] for r in sel]
        ax.plot(x, tilt, "o" + style, color="C0", label=f"{name}: peak tilt")
        ax2.plot(
            x, [r["settling_time_s_median"] or np.nan for r in sel], "s" + style, color="C1",
            label=f"{name}: settling (5 cm)",
        )  # fmt: skip
    ax.axhline(15, color="C0", ls=":", lw=0.8)
    ax.axhline(35, color="C0", ls=":", lw=0.8)
    ax.set_xlabel("aggressiveness")
    ax.set_ylabel("peak tilt on a 1 m step (deg)", color="C0")
    ax2.set_ylabel("settling time (s)", color="C1")
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(
        [ln for ln in lines if not ln.get_label().startswith("_")],
        [ln.get_label() for ln in lines if not ln.get_label().startswith("_")],
        fontsize=7, loc="center left",
    )  # fmt: skip
    ax.set_title(f"{v.name}: 1 m step, {a.episodes} episodes per level")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
