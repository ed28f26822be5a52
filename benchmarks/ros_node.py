"""nav_policy node over Cyclone DDS on loopback: latency, control-loop rate, memory.

    python benchmarks/ros_node.py [--latency-scans 1200] [--loop-s 60] [--memory-steps 100000]

1. Latency: the node in its own process (``sim2real deploy nav``), this process publishing 720-beam
   LaserScans at 20 Hz (and Odometry at 50 Hz, a goal far away so it drives) and receiving
   /cmd_vel as TwistStamped. A command carries the stamp of the scan it was computed from, so each
   scan's latency is (first command with its stamp arriving) - (scan published), one host clock.
2. Loop: the node in this process, fed by a publisher process at the same rates for ``--loop-s``
   seconds; the 50 Hz safety timer's periods are recorded. A period longer than 1.5x nominal
   counts as missed.
3. Memory: the node in this process, fed scans as fast as the publisher can send them, until it has
   run ``--memory-steps`` control steps; RSS sampled along the way.

Writes benchmarks/results/ros_node.json and prints a summary.
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
from typing import ClassVar

import numpy as np

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "policies" / "nav_jackal"

FEEDER = r"""
import sys, time
import numpy as np
from sim2real_ros.dds import DdsTransport
from sim2real_ros.convert import make_scan, make_odom, fill_header
from sim2real_ros.transport import SENSOR_DATA, DEFAULT
from sim2real_runtime.robot import load_robot
mode, seconds = sys.argv[1], float(sys.argv[2])
lidar = load_robot("jackal").lidar
t = DdsTransport("feeder")
scan_pub = t.publisher("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA)
odom_pub = t.publisher("/odom", "nav_msgs/msg/Odometry", SENSOR_DATA)
goal_pub = t.publisher("/goal_pose", "geometry_msgs/msg/PoseStamped", DEFAULT)
Scan, Odom = t.msg("sensor_msgs/msg/LaserScan"), t.msg("nav_msgs/msg/Odometry")
ranges = (6.0 + np.random.default_rng(0).random(720)).astype(np.float32)
while goal_pub.subscriber_count() == 0:
    time.sleep(0.05)
odom_pub.publish(make_odom(Odom, np.zeros(3), np.zeros(2), 0.0))
time.sleep(0.5)
g = t.msg("geometry_msgs/msg/PoseStamped")(); fill_header(g.header, 0.0, "odom"); g.pose.position.x = 1000.0
goal_pub.publish(g)
t0 = time.monotonic(); k = 0; stamp = 0.0
while time.monotonic() - t0 < seconds:
    if mode == "blast":
        stamp += 0.025
        if k % 10 == 0:
            odom_pub.publish(make_odom(Odom, np.zeros(3), np.zeros(2), stamp))
        scan_pub.publish(make_scan(Scan, ranges, stamp, lidar))
        k += 1
        continue
    now = time.monotonic() - t0
    odom_pub.publish(make_odom(Odom, np.zeros(3), np.zeros(2), time.time()))
    if k % 5 == 0:   # odom at 50 Hz, scans at 20 Hz (every 2.5 odom periods: 2 then 3)
        scan_pub.publish(make_scan(Scan, ranges, time.time(), lidar))
    k += 2
    time.sleep(max(0.0, (k // 2) * 0.02 - (time.monotonic() - t0)))
"""


def isolated_env() -> dict[str, str]:
    from sim2real_ros.dds import loopback_config

    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(150 + os.getpid() % 50)
    env["CYCLONEDDS_URI"] = loopback_config(f"bench-{uuid.uuid4().hex[:8]}")
    os.environ.update({k: env[k] for k in ("ROS_DOMAIN_ID", "CYCLONEDDS_URI")})
    return env


ECHO = r"""
import time
from sim2real_ros.dds import DdsTransport
from sim2real_ros.transport import DEFAULT, SENSOR_DATA
t = DdsTransport("echo")
pub = t.publisher("/cmd_vel", "geometry_msgs/msg/TwistStamped", DEFAULT)
T = t.msg("geometry_msgs/msg/TwistStamped")
def echo(m):
    out = T()
    out.header.stamp = m.header.stamp
    pub.publish(out)
t.subscribe("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA, echo)
while True:
    t.spin_once(1.0)
"""


def latency(env: dict[str, str], n_scans: int, echo: bool = False) -> dict:
    """Scan-in to command-out latency through the node, or (``echo``) through a process that answers
    each scan with an empty command at once: the transport's own floor, measured the same way."""
    from sim2real_ros.convert import fill_header, make_odom, make_scan
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.transport import DEFAULT, SENSOR_DATA
    from sim2real_runtime.robot import load_robot

    cmd = [sys.executable, "-m", "sim2real.cli", "deploy", "nav", "--policy", str(POLICY),
           "--set", "cmd_vel_stamped=true", "--log-level", "WARNING"]  # fmt: skip
    node = subprocess.Popen([sys.executable, "-c", ECHO] if echo else cmd, env=env)
    t = DdsTransport("bench")
    lidar = load_robot("jackal").lidar
    scan_pub = t.publisher("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA)
    odom_pub = t.publisher("/odom", "nav_msgs/msg/Odometry", SENSOR_DATA)
    goal_pub = t.publisher("/goal_pose", "geometry_msgs/msg/PoseStamped", DEFAULT)
    first: dict[int, float] = {}

    def key_of(stamp) -> int:
        # 10 us bins: a stamp goes through a float64 in the node (sub-microsecond rounding).
        return round((stamp.sec + 1e-9 * stamp.nanosec) * 1e5)

    def on_cmd(m) -> None:
        first.setdefault(key_of(m.header.stamp), time.monotonic())

    t.subscribe("/cmd_vel", "geometry_msgs/msg/TwistStamped", DEFAULT, on_cmd)
    Scan, Odom = t.msg("sensor_msgs/msg/LaserScan"), t.msg("nav_msgs/msg/Odometry")
    ranges = (6.0 + np.random.default_rng(0).random(720)).astype(np.float32)
    try:
        while (not echo and goal_pub.subscriber_count() == 0) or scan_pub.subscriber_count() == 0:
            t.spin_once(0.05)
        odom_pub.publish(make_odom(Odom, np.zeros(3), np.zeros(2), time.time()))
        g = t.msg("geometry_msgs/msg/PoseStamped")()
        fill_header(g.header, 0.0, "odom")
        g.pose.position.x = 1000.0
        t.spin_once(0.5)
        goal_pub.publish(g)
        sent: dict[int, float] = {}
        t0 = time.monotonic()
        next_odom = t0
        for k in range(n_scans):
            due = t0 + 0.05 * k  # scans at 20 Hz
            while (now := time.monotonic()) < due:
                if now >= next_odom:  # odometry at 50 Hz
                    odom_pub.publish(make_odom(Odom, np.zeros(3), np.zeros(2), time.time()))
                    next_odom += 0.02
                t.spin_once(max(0.0, min(due, next_odom) - time.monotonic()))
            msg = make_scan(Scan, ranges, time.time(), lidar)
            sent[key_of(msg.header.stamp)] = time.monotonic()
            scan_pub.publish(msg)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            t.spin_once(0.05)
    finally:
        node.terminate()
        node.wait(timeout=10)
    warm = list(sent)[20:]  # skip discovery and the first policy steps
    lat = np.array([first[k] - sent[k] for k in warm if k in first]) * 1e3
    return {
        "scans": len(warm),
        "answered": int(lat.size),
        "median_ms": round(float(np.median(lat)), 3),
        "p99_ms": round(float(np.percentile(lat, 99)), 3),
        "max_ms": round(float(lat.max()), 3),
    }


def in_process_node(env: dict[str, str], mode: str, seconds: float):
    """The node in this process on DDS, and a feeder process publishing to it."""
    from nav_policy.node import NavPolicyNode
    from nav_policy.params import params_from_mapping
    from sim2real_ros.dds import DdsTransport

    class Node(NavPolicyNode):
        ticks: ClassVar[list[float]] = []
        steps = 0

        def on_tick(self) -> None:
            self.ticks.append(time.monotonic())
            super().on_tick()

        def control(self) -> None:
            Node.steps += 1
            super().control()

    params, errors = params_from_mapping({"policy_path": str(POLICY)}, "bench")
    assert not errors, errors
    transport = DdsTransport("nav_policy")
    node = Node(transport, params)
    feeder = subprocess.Popen([sys.executable, "-c", FEEDER, mode, str(seconds)], env=env)
    return transport, node, feeder


def loop_rate(env: dict[str, str], seconds: float) -> dict:
    transport, node, feeder = in_process_node(env, "rate", seconds + 5)
    t0 = time.monotonic()
    while node.state not in ("driving", "blocked") and time.monotonic() - t0 < 30:
        transport.spin_once(0.05)
    node.ticks.clear()
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        transport.spin_once(0.1)
    feeder.terminate()
    feeder.wait(timeout=10)
    periods = np.diff(node.ticks) * 1e3
    transport.close()
    return {
        "seconds": seconds,
        "ticks": int(periods.size + 1),
        "rate_hz": round(float(1e3 / periods.mean()), 2),
        "median_period_ms": round(float(np.median(periods)), 3),
        "p99_period_ms": round(float(np.percentile(periods, 99)), 3),
        "missed_fraction": round(float(np.mean(periods > 1.5 * 20.0)), 5),
        "control_steps": node.steps,
    }


def memory(env: dict[str, str], steps: int) -> dict:
    import psutil

    proc = psutil.Process()
    transport, node, feeder = in_process_node(env, "blast", 3600)
    samples: list[tuple[int, float]] = []
    t0 = time.monotonic()
    next_sample = 0
    try:
        while node.steps < steps:
            transport.spin_once(0.05)
            if node.steps >= next_sample:
                samples.append((node.steps, proc.memory_info().rss / 2**20))
                next_sample += steps // 20
            if feeder.poll() is not None:
                raise RuntimeError("the feeder process died")
    finally:
        feeder.terminate()
        feeder.wait(timeout=10)
    wall = time.monotonic() - t0
    samples.append((node.steps, proc.memory_info().rss / 2**20))
    after_warmup = [m for s, m in samples if s >= steps // 10]
    transport.close()
    return {
        "control_steps": node.steps,
        "wall_s": round(wall, 1),
        "rss_mib_at_10pct": round(after_warmup[0], 2),
        "rss_mib_at_end": round(samples[-1][1], 2),
        "growth_mib_after_warmup": round(samples[-1][1] - after_warmup[0], 2),
        "samples": [(s, round(m, 2)) for s, m in samples],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency-scans", type=int, default=1200)
    ap.add_argument("--loop-s", type=float, default=60.0)
    ap.add_argument("--memory-steps", type=int, default=100_000)
    ap.add_argument("--only", choices=("latency", "loop", "memory"), help="run one part (not written)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "ros_node.json"))
    a = ap.parse_args()
    env = isolated_env()
    out = {
        "machine": f"{platform.node()} ({os.cpu_count()} cores), {platform.platform()}",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "policy": str(POLICY.relative_to(REPO)),
    }
    if a.only == "latency":
        print("through the node:", latency(env, a.latency_scans))
        return 0
    if a.only == "loop":
        print("50 Hz loop:", loop_rate(env, a.loop_s))
        return 0
    if a.only == "memory":
        print("memory:", memory(env, a.memory_steps))
        return 0
    out["latency_echo_floor"] = latency(env, a.latency_scans, echo=True)
    print("latency /scan -> /cmd_vel, echo process (transport floor):", out["latency_echo_floor"], flush=True)
    out["latency"] = latency(env, a.latency_scans)
    print("latency /scan -> /cmd_vel through the node:", out["latency"], flush=True)
    out["loop"] = loop_rate(env, a.loop_s)
    print("50 Hz loop:", out["loop"], flush=True)
    out["memory"] = memory(env, a.memory_steps)
    print("memory:", {k: v for k, v in out["memory"].items() if k != "samples"}, flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
