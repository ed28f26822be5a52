"""Simulator speed alone: the fast batched simulator (steps/s at several batch sizes, with the lidar)
and the MuJoCo simulator (control steps/s of one robot in a BARN world).

    python benchmarks/nav_sim_speed.py [--out benchmarks/results/nav_sim_speed.json]

Training speed (simulator + PPO) is in each run's train_summary.json (training_steps_per_s).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from sim2real.nav.kinematic_sim import DomainRandomization, KinematicBatchSim, WorldBank
from sim2real.nav.mujoco_sim import MujocoNavSim
from sim2real.nav.scenario import load_scenario
from sim2real.nav.worldgen import generate_training_world
from sim2real_runtime.robot import load_robot

BARN = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "barn"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results/nav_sim_speed.json")
    a = ap.parse_args()
    robot = load_robot("jackal")
    rng = np.random.default_rng(0)
    worlds = [generate_training_world(rng, float(d)) for d in np.linspace(0, 1, 32)]
    bank = WorldBank(worlds, robot, 0.15)
    out: dict = {"machine": f"{platform.node()} {platform.machine()}", "date": time.strftime("%Y-%m-%d")}
    for b in (64, 256, 1024):
        sim = KinematicBatchSim(robot, bank, b, 10.0, DomainRandomization(), scan_max_range_m=4.5)
        ids = np.arange(b)
        w = rng.integers(0, len(worlds), b)
        sim.reset(ids, w, bank.starts[w])
        cmd = np.tile([0.5, 0.2], (b, 1))
        sim.step(cmd)
        sim.scan()
        times = []
        for _ in range(20):
            t = time.perf_counter()
            sim.step(cmd)
            sim.scan()
            times.append(time.perf_counter() - t)
            sim.reset(ids, w, bank.starts[w])
        med = float(np.median(times))
        out[f"kinematic_b{b}_steps_per_s"] = b / med
        print(
            f"kinematic sim, {b} robots, 720-beam lidar: {b / med:,.0f} robot-steps/s "
            f"(median step {med * 1e3:.1f} ms)"
        )
    sc = load_scenario(BARN / "world_001.scenario.yaml")
    sim = MujocoNavSim(robot, control_rate_hz=10.0)
    sim.reset(sc, 0)
    times = []
    for _ in range(100):
        t = time.perf_counter()
        sim.step(0.3, 0.0)
        times.append(time.perf_counter() - t)
    med = float(np.median(times))
    out["mujoco_control_steps_per_s"] = 1 / med
    print(
        f"MuJoCo sim (500 Hz physics, 10 Hz control, 720 rays): {1 / med:,.0f} control steps/s "
        f"({med * 1e3:.2f} ms per 0.1 s of simulated time)"
    )
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
