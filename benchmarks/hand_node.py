"""hand_policy node through the MuJoCo sim bridge over Cyclone DDS (loopback): command rate and
missed periods, and the cube's turn.

    python benchmarks/hand_node.py --policy policies/hand_rotate_z [--seconds 30] [--seed 5]

Two processes, as on a robot: ``sim2real sim hand`` (real time, publishing /joint_states, /cube_pose,
/goal_pose, /clock; obeying /cmd_leap in the LEAP driver's order and zero) and ``sim2real deploy
hand`` (the node on its own DDS transport, use_sim_time). The bridge records the simulated time of
every accepted command; a gap longer than 1.5 periods (75 ms at 20 Hz) counts its missing periods.
Writes benchmarks/results/hand_node.json and prints it.
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

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--policy", default=str(REPO / "policies" / "hand_rotate_z"))
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "hand_node.json"))
    a = p.parse_args()
    from sim2real_ros.dds import loopback_config

    env = {
        **os.environ,
        "ROS_DOMAIN_ID": str(100 + os.getpid() % 100),
        "CYCLONEDDS_URI": loopback_config(f"hand-{uuid.uuid4().hex[:8]}"),
        "PYTHONUNBUFFERED": "1",
    }
    result = Path(a.out).with_suffix(".bridge.json")
    exe = str(Path(sys.executable).parent / "sim2real")
    node = subprocess.Popen(
        [exe, "deploy", "hand", "--policy", a.policy, "--set", "use_sim_time=true"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(3.0)  # the node loads its policy and discovers
    t0 = time.monotonic()
    sim = subprocess.run(
        [exe, "sim", "hand", "--seed", str(a.seed), "--duration-s", str(a.seconds), "--result", str(result)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - t0
    node.terminate()
    log = node.communicate(timeout=20)[0]
    if sim.returncode != 0 or not result.is_file():
        print(sim.stdout, sim.stderr, log, sep="\n")
        return 1
    status = json.loads(result.read_text())
    out = {
        "machine": f"{platform.system()} {platform.release()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "policy": a.policy,
        "sim_seconds": a.seconds,
        "wall_s": round(wall, 2),
        "bridge": status,
        "missed_fraction": status["missed_periods"] / max(status.get("expected_periods", 1), 1),
        "node_log_tail": log.strip().splitlines()[-5:],
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
