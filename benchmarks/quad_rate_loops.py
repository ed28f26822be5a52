"""How fast each vehicle's rate loop answers, against the range the quadrotor policy trains on.

A 1 rad/s roll-rate step from hover, in the training simulator (each vehicle file's own
autopilot: rate PID, mixer, thrust curve, motors; 500 Hz;
``sim2real.quad.batch_sim.roll_rate_step``): the time to 63 % of the step and the peak. For the
training distribution, ``--samples`` vehicles drawn exactly as training draws them
(``QuadEnv.sample_vehicles``: rate gains, inertia, motors, mixer, thrust curve, ... randomised
around the nominal file). A vehicle whose rate loop is slower than (nearly) everything trained on
is outside what the policy has learned to fly, whatever its thrust-to-weight says.

    python benchmarks/quad_rate_loops.py [--samples 2000]

Writes benchmarks/results/quad_rate_loops.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_CF = REPO.parent / "shared" / "benchmarks" / "quad" / "crazyflie_2_1.yaml"
VEHICLES = ("crazyflie_2_1", "crazyflie_2_1_thrust_upgrade", "crazyflie_2_1_plus", "x500", "iris")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2000, help="training-distribution vehicles")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--rate-gain-scale", type=float, nargs=2, metavar=("LOW", "HIGH"),
        help="draw with this rate-gain range instead of the config's (to compare a change)",
    )  # fmt: skip
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "quad_rate_loops.json"))
    a = ap.parse_args()

    from sim2real.quad.batch_sim import roll_rate_step
    from sim2real.quad.config import QuadTaskConfig
    from sim2real.quad.env import QuadEnv
    from sim2real_runtime.vehicle import load_vehicle

    t0 = time.time()
    files = {name: load_vehicle(name) for name in VEHICLES}
    if SHARED_CF.is_file():
        files["shared crazyflie_2_1.yaml"] = load_vehicle(SHARED_CF, flight_controller_from="crazyflie_2_1")
    t63, peak = roll_rate_step(list(files.values()))
    rows = [
        {"vehicle": name, "t63_ms": 1000 * t, "peak_radps": float(p)} for name, t, p in zip(files, t63, peak)
    ]
    cfg = QuadTaskConfig()
    if a.rate_gain_scale:
        cfg = dataclasses.replace(
            cfg, dr=dataclasses.replace(cfg.dr, rate_gain_scale=tuple(a.rate_gain_scale))
        )
    env = QuadEnv(cfg, load_vehicle(cfg.vehicle), num_envs=1, seed=a.seed)
    drawn, _ = env.sample_vehicles(a.samples)
    dt63, dpeak = roll_rate_step(drawn)
    q = np.percentile(1000 * dt63, [5, 50, 95, 99])
    training = {
        "samples": a.samples,
        "rate_gain_scale": list(cfg.dr.rate_gain_scale),
        "t63_ms_p5_p50_p95_p99": [float(x) for x in q],
        "t63_ms_max": float(1000 * dt63.max()),
        "peak_radps_median": float(np.median(dpeak)),
    }
    print(f"{'vehicle':32s} {'t63':>7s} {'peak':>6s}  share of training draws slower")
    for r in rows:
        slower = float(np.mean(1000 * dt63 > r["t63_ms"]))
        r["training_share_slower"] = slower
        print(f"{r['vehicle']:32s} {r['t63_ms']:5.0f}ms {r['peak_radps']:6.2f}  {slower:6.1%}")
    lo, hi = cfg.dr.rate_gain_scale
    print(
        f"training draws ({a.samples}, rate gains x{lo}-{hi}): "
        f"t63 p5/p50/p95/p99 {q[0]:.0f}/{q[1]:.0f}/{q[2]:.0f}/{q[3]:.0f} ms, "
        f"max {training['t63_ms_max']:.0f} ms"
    )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "wall_time_s": time.time() - t0,
        "step_radps": 1.0,
        "vehicles": rows,
        "training": training,
        "config": dataclasses.asdict(cfg.dr),
    }
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
