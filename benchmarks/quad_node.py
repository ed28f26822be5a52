"""The quad_policy node's 200 Hz command loop: period jitter under load, on this machine.

The MuJoCo sim bridge runs as its own process (real time, PX4 or Crazyflie topics over Cyclone
DDS, odometry at 100 Hz); the node runs here on the DDS transport with the given policy, flying the
figure-eight the bridge streams. Every command-loop tick is timestamped on the steady clock; the
jitter of a tick is |its period - 5 ms|. Also reported: ticks that came later than a whole extra
period (missed), the policy step's own time, and how far the vehicle was from the reference.

    python benchmarks/quad_node.py --policy policies/quad_crazyflie [--seconds 30] [--interface px4]

Writes benchmarks/results/quad_node.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default=str(REPO / "policies" / "quad_crazyflie"))
    ap.add_argument("--interface", choices=["px4", "crazyflie"], default="px4")
    ap.add_argument("--vehicle", default="crazyflie_2_1")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "quad_node.json"))
    a = ap.parse_args()

    from sim2real_ros.dds import loopback_config

    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(100 + os.getpid() % 100)
    env["CYCLONEDDS_URI"] = loopback_config(f"bench-{uuid.uuid4().hex[:8]}")
    os.environ.update({k: env[k] for k in ("ROS_DOMAIN_ID", "CYCLONEDDS_URI")})
    bridge = subprocess.Popen(
        [sys.executable, "-m", "sim2real.cli", "sim", "quad", "--interface", a.interface,
         "--vehicle", a.vehicle, "--task", "figure8", "--duration-s", str(a.seconds + 30)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        from quad_policy.node import QuadNode
        from quad_policy.params import params_from_mapping
        from sim2real_ros.dds import DdsTransport

        params, errors = params_from_mapping(
            {"policy_path": a.policy, "vehicle": a.vehicle, "interface": a.interface, "use_sim_time": True,
             "geofence_min_m": [-3.0, -3.0, 0.0], "geofence_max_m": [3.0, 3.0, 3.0]},
            "benchmark",
        )  # fmt: skip
        transport = DdsTransport("quad_policy", use_sim_time=True)
        node = QuadNode(transport, params, errors)
        ticks: list[float] = []
        policy_s: list[float] = []
        errs: list[float] = []
        tick = node.on_tick
        step = node.controller.step

        def timed_tick() -> None:
            ticks.append(time.perf_counter())
            tick()

        def timed_step(*args):
            t0 = time.perf_counter()
            out = step(*args)
            policy_s.append(time.perf_counter() - t0)
            if node.reference is not None and node.odom is not None:
                errs.append(
                    float(np.linalg.norm(node.reference.position(np.array(transport.now_s())) - node.odom[0]))
                )
            return out

        node.on_tick = timed_tick  # type: ignore[method-assign]
        node.controller.step = timed_step  # type: ignore[method-assign]
        transport._timers[-1][2] = timed_tick  # the timer holds the bound method it was given
        t_end = time.monotonic() + a.seconds + 5.0
        while time.monotonic() < t_end:
            transport.spin_once(0.05)
        transport.close()
    finally:
        bridge.terminate()
        bridge.wait(10)
    t = np.array(ticks)
    t = t[(t - t[0]) > 5.0]  # after take-off and the first reference
    period = np.diff(t)
    jitter_ms = np.abs(period - 0.005) * 1e3
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "date": time.strftime("%Y-%m-%d"),
        "interface": a.interface,
        "policy": a.policy,
        "ticks": int(len(period)),
        "rate_hz_mean": float(1.0 / period.mean()),
        "jitter_ms_median": float(np.median(jitter_ms)),
        "jitter_ms_p99": float(np.percentile(jitter_ms, 99)),
        "jitter_ms_max": float(jitter_ms.max()),
        "missed_periods": int((period > 0.010).sum()),
        "policy_step_ms_median": float(np.median(policy_s) * 1e3) if policy_s else None,
        "policy_step_ms_p99": float(np.percentile(policy_s, 99) * 1e3) if policy_s else None,
        "tracking_error_m_median": float(np.median(errs[len(errs) // 3 :])) if errs else None,
        "final_state": node.state,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
