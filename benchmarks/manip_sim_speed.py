"""Arm simulator speed: the batched MuJoCo worlds the arm trains in (``mujoco.rollout``, native
threads) side by side with the plain Python loop over ``mj_step`` one would write first, on the
same scene, the same worlds and the same expert-driven motions (the cube is grasped and carried,
so contacts are exercised).

    python benchmarks/manip_sim_speed.py [--worlds 256] [--steps 150]

Writes benchmarks/results/manip_sim_speed.json and prints the table. Physics steps are MuJoCo's
5 ms steps; an environment step is one 40 ms control period (8 physics steps).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import mujoco
import numpy as np

from sim2real.manip.config import ManipTaskConfig
from sim2real.manip.env import ManipEnv
from sim2real.manip.mujoco_arm import STATE_SPEC

OUT = Path(__file__).resolve().parent / "results" / "manip_sim_speed.json"


def run(worlds: int, steps: int, threads: int, python_loop: bool) -> dict:
    env = ManipEnv(ManipTaskConfig(), worlds, seed=0, threads=threads)
    env.observe()
    w = env.worlds
    datas = [mujoco.MjData(m) for m in w.models] if python_loop else []
    sim_s = 0.0
    times = []
    for _ in range(steps):
        ctrl_actions = env.expert_action()
        t = time.perf_counter()
        if python_loop:
            # the same interpolated command as ArmWorlds.step, stepped world by world in Python
            ctrl = np.concatenate([env.joint_target, w.ctrl[:, 7:]], axis=1)
            for i, (m, d) in enumerate(zip(w.models, datas)):
                mujoco.mj_setState(m, d, w.state[i], STATE_SPEC)
                for k in range(w.substeps):
                    d.ctrl[:] = w.ctrl[i] + (k + 1) / w.substeps * (ctrl[i] - w.ctrl[i])
                    mujoco.mj_step(m, d)
                mujoco.mj_getState(m, d, w.state[i], STATE_SPEC)
            w.ctrl[:] = ctrl
            dt = time.perf_counter() - t
            env.step(ctrl_actions * 0)  # keep the env's bookkeeping moving (not timed)
        else:
            env.step(ctrl_actions)
            dt = time.perf_counter() - t
        sim_s += dt
        times.append(dt)
    med = float(np.median(times))
    return {
        "method": "python loop over mj_step" if python_loop else f"mujoco.rollout, {threads} thread(s)",
        "worlds": worlds,
        "control_steps": steps,
        "median_ms_per_control_step": med * 1e3,
        "env_steps_per_s_median": worlds / med,
        "physics_steps_per_s_median": worlds * w.substeps / med,
        "env_steps_per_s_whole_env": worlds * steps / sim_s,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worlds", type=int, default=256)
    p.add_argument("--steps", type=int, default=150)
    a = p.parse_args()
    rows = [run(a.worlds, a.steps, 2, False), run(a.worlds, a.steps, 1, False), run(a.worlds, 40, 1, True)]
    for r in rows:
        print(
            f"{r['method']:32s} {r['median_ms_per_control_step']:8.1f} ms/control step  "
            f"{r['env_steps_per_s_median']:8.0f} env steps/s  "
            f"{r['physics_steps_per_s_median']:9.0f} physics steps/s"
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "mujoco": mujoco.__version__,
        "rows": rows,
    }
    OUT.write_text(json.dumps(info, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
