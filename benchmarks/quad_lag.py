"""Where the figure-eight error comes from: the lag of each controller behind the reference.

For each controller, fly the figure-eight (1 m x 0.5 m, 6 s) in MuJoCo on the nominal Crazyflie
(its own autopilot, noise, latency, gusts) and find the time shift tau that best aligns the flown
path with the reference (the RMSE of position(t) against reference(t - tau), minimised over tau in
0..0.5 s). A pure delay shows as a large RMSE at tau = 0 that collapses at the best tau.

Controllers: policies given with --policy (label=dir), the PD baseline with the reference's
velocity and acceleration as feed-forward (as it ships), and the same PD without feed-forward (it
sees the reference position only, as the old policy's observation did).

    python benchmarks/quad_lag.py --policy new=policies/quad_crazyflie [--policy old=/tmp/quad_old]

Writes benchmarks/results/quad_lag.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def lag_of(times: np.ndarray, pos: np.ndarray, ref, t_from: float) -> dict:
    """Best shift tau (s) and the RMSEs at 0 and at tau, over t >= t_from."""
    keep = times >= t_from
    t, p = times[keep], pos[keep]
    taus = np.arange(0.0, 0.501, 0.01)
    rmse = [float(np.sqrt(np.mean(np.sum((p - ref.position(t - tau)) ** 2, axis=1)))) for tau in taus]
    i = int(np.argmin(rmse))
    return {"lag_s": float(taus[i]), "rmse_m": rmse[0], "rmse_at_lag_m": rmse[i]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", action="append", default=[], help="label=policy_dir")
    ap.add_argument("--vehicle", default="crazyflie_2_1")
    ap.add_argument("--episodes", type=int, default=2)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "quad_lag.json"))
    a = ap.parse_args()

    from sim2real.quad.baseline import pd_ctbr
    from sim2real.quad.evaluate import EvalConditions, fly, policy_controller
    from sim2real_runtime.quad_control import QuadSafety, QuadSafetyConfig
    from sim2real_runtime.quad_reference import figure_eight
    from sim2real_runtime.vehicle import load_vehicle

    v = load_vehicle(a.vehicle)
    ref = figure_eight()
    cond = EvalConditions()
    period = 6.0
    rows = []

    def pd(feedforward: bool):
        state = {"i": 0}

        def run(pos, quat, vel, rates, ref_now, ahead):
            t = np.array([state["i"] / 50.0])
            state["i"] += 1
            vr = ref.velocity(t) if feedforward else np.zeros((1, 3))
            ar = ref.acceleration(t) if feedforward else np.zeros((1, 3))
            return pd_ctbr(pos[None], quat[None], vel[None], ref_now[None], vr, ar, cond.aggressiveness)[0]

        return run

    controllers = {}
    for item in a.policy:
        label, path = item.split("=", 1)
        controllers[label] = ("policy", path)
    controllers["PD with feed-forward"] = ("pd", True)
    controllers["PD without feed-forward"] = ("pd", False)
    for label, (kind, arg) in controllers.items():
        lags = []
        for k in range(a.episodes):
            safety = QuadSafety(v, QuadSafetyConfig(geofence_min_m=(-3, -3, -0.5), geofence_max_m=(3, 3, 4)))
            if kind == "policy":
                run, c, look = policy_controller(arg, v, cond.aggressiveness, True)
                rate = c.control_rate_hz
            else:
                run, look, rate = pd(arg), (5, 0.5), 50.0
            ep = fly(run, v, "figure8", k, cond, rate, look, safety)
            lags.append(lag_of(np.array(ep.times_s), np.array(ep.positions_m), ref, period))
        row = {"controller": label, **{key: float(np.median([x[key] for x in lags])) for key in lags[0]}}
        rows.append(row)
        print(
            f"{label:28s} RMSE {100 * row['rmse_m']:5.2f} cm; best alignment at a lag of "
            f"{row['lag_s']:.2f} s, RMSE there {100 * row['rmse_at_lag_m']:5.2f} cm",
            flush=True,
        )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"vehicle": v.name, "conditions": dataclasses.asdict(cond), "rows": rows}, indent=1)
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
