"""Closed-loop BARN through ROS 2 topics, beside the direct evaluator on the same worlds.

    python benchmarks/nav_barn_ros.py [--count 250] [--real-time-factor 4] [--policy policies/nav_jackal]

Through topics: the MuJoCo sim bridge runs in this process and publishes /scan, /odom, /tf, /clock
over Cyclone DDS; the nav_policy node runs in its own process (``sim2real deploy nav``,
``use_sim_time``); this script plays RViz and the operator: per world it engages the e-stop (Bool on
/estop), loads the world, publishes the goal on /goal_pose in the odometry frame, releases the
e-stop and lets the episode run to success, collision or the time limit (the evaluator's rules).
Simulated time runs ``--real-time-factor`` times faster than the wall clock.

Directly: ``sim2real.nav.evaluate`` with the same policy, robot and simulator, no ROS layer.

The difference in success rate is what the ROS layer costs (latency, scan/odom rates, the 50 Hz
safety loop). Writes benchmarks/results/barn_ros.json (summary) and barn_ros_episodes.json, and
prints both rows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
BARN = REPO.parent / "shared" / "benchmarks" / "barn"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default=str(REPO / "policies" / "nav_jackal"))
    ap.add_argument("--count", type=int, default=250, help="first N BARN worlds")
    ap.add_argument("--real-time-factor", type=float, default=4.0)
    ap.add_argument(
        "--out",
        default=str(REPO / "benchmarks" / "results" / "barn_ros.json"),
        help="summary JSON; the episodes go beside it as <name>_episodes.json",
    )
    a = ap.parse_args()

    from sim2real_ros.dds import loopback_config

    os.environ["ROS_DOMAIN_ID"] = str(100 + os.getpid() % 100)
    os.environ["CYCLONEDDS_URI"] = loopback_config(f"barn-{uuid.uuid4().hex[:8]}")

    from sim2real.nav.evaluate import ControllerSpec, evaluate, format_table, summarize, write_results
    from sim2real.nav.scenario import find_scenarios, load_scenario
    from sim2real.nav.sim_bridge import BridgeConfig, NavSimBridge, to_odom_frame
    from sim2real_ros.convert import fill_header, set_yaw
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.transport import DEFAULT, LATCHED
    from sim2real_runtime.robot import load_robot

    paths = find_scenarios(BARN)[: a.count]

    t0 = time.time()
    direct = evaluate([ControllerSpec("policy", "jackal", a.policy)], paths, sim_kind="mujoco")
    direct_wall = time.time() - t0

    node = subprocess.Popen(
        [sys.executable, "-m", "sim2real.cli", "deploy", "nav", "--policy", a.policy,
         "--set", "use_sim_time=true", "--log-level", "ERROR"],
    )  # fmt: skip
    t = DdsTransport("barn_benchmark")
    bridge = NavSimBridge(t, load_robot("jackal"), BridgeConfig(real_time_factor=a.real_time_factor))
    goal_pub = t.publisher("/goal_pose", "geometry_msgs/msg/PoseStamped", DEFAULT)
    estop_pub = t.publisher("/estop", "std_msgs/msg/Bool", DEFAULT)
    Bool, Pose = t.msg("std_msgs/msg/Bool"), t.msg("geometry_msgs/msg/PoseStamped")
    states: list[str] = []
    t.subscribe("/nav_policy/state", "std_msgs/msg/String", LATCHED, lambda m: states.append(m.data))

    def wait(cond, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while not cond():
            if time.monotonic() > end:
                return False
            t.spin_once(0.005)
        return True

    results = []
    t0 = time.time()
    try:
        bridge.load(load_scenario(paths[0]))
        if not wait(lambda: goal_pub.subscriber_count() > 0 and estop_pub.subscriber_count() > 0, 60):
            raise RuntimeError("the node did not come up")
        for p in tqdm(paths, desc="episodes via topics", unit="ep"):
            sc = load_scenario(p)
            estop_pub.publish(Bool(data=True))
            wait(lambda: states and states[-1] == "stopped: e-stop", 2.0)
            bridge.load(sc, seed=0)
            goal = Pose()
            fill_header(goal.header, bridge.clock_s, "odom")
            goal.pose.position.x, goal.pose.position.y = (
                float(v) for v in to_odom_frame(sc, np.asarray(sc.goal))
            )
            set_yaw(goal.pose.orientation, 0.0)
            goal_pub.publish(goal)
            wait(lambda: False, 0.05)  # the goal lands before the release (two writers, no order)
            estop_pub.publish(Bool(data=False))
            length = [0.0, bridge.frame.pose[:2].copy()]

            def done(length: list = length) -> bool:
                xy = bridge.frame.pose[:2]
                length[0] += math.hypot(*(xy - length[1]))
                length[1] = xy.copy()
                return bridge.status() is not None

            bridge.run(done)
            results.append(bridge.result("policy via ROS 2 topics", run=0, path_length_m=length[0]))
    finally:
        node.terminate()
        node.wait(timeout=10)
        t.close()
    topics_wall = time.time() - t0

    summary = summarize([*direct, *results])
    print(format_table(summary))
    direct_rate = next(iter(summarize(direct).values()))["success_rate"]
    topics_rate = summarize(results)["policy via ROS 2 topics"]["success_rate"]
    gap = 100 * (direct_rate - topics_rate)
    print(
        f"direct {direct_wall:.0f} s, via topics {topics_wall:.0f} s (real-time factor {a.real_time_factor})"
    )
    print(f"success rate gap (direct - topics): {gap:+.1f} points")
    meta = {
        "worlds": len(paths),
        "real_time_factor": a.real_time_factor,
        "direct_wall_s": round(direct_wall, 1),
        "topics_wall_s": round(topics_wall, 1),
        "gap_points": round(gap, 1),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores",
    }
    out = Path(a.out)
    write_results(out.with_name(out.stem + "_episodes.json"), [*direct, *results], meta)
    out.write_text(json.dumps({"meta": meta, "summary": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
