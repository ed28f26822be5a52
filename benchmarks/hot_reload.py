"""Hot reload over 100 swaps in the arm's policy node (``reload_watch``), closed loop.

Two policies of ``manip/pick_place`` (same contract, different weights) are written alternately,
atomically, over the watched ``policy.onnx``; the node (Cyclone DDS transport on loopback, node and
steady clocks driven by this script) runs its 50 Hz loop on an arm that tracks its targets
exactly, and polls the file every 0.2 s as its ``reload_period_s`` timer would. Reported:

- control periods missed (a gap between two published commands longer than one period, 40 ms, in
  node time) over the whole run, and at the swaps;
- the largest joint-target step between two commands, as a fraction of the safety layer's
  per-period limit (velocity limit x fraction / rate): <= 1 means no jump beyond the limits;
- wall time of the two polls (the one that sees the file and starts the loader thread, the one
  that swaps) and of the new policy's first control step: what a swap blocks the node's executor
  for, compared with the loop period (the ONNX load itself runs in the loader thread);
- swaps confirmed and the final version.

    python benchmarks/hot_reload.py [--swaps 100]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from sim2real.export import random_policy
from sim2real.manip.config import READY_POSE_RAD
from sim2real.tasks import get_task
from sim2real_ros import msgs
from sim2real_ros.convert import set_yaw
from sim2real_ros.dds import DdsTransport, loopback_config
from sim2real_ros.policy_node import domain_nodes


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def pose(pos, frame):
    m = msgs.PoseStamped()
    m.header.frame_id = frame
    m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in pos)
    set_yaw(m.pose.orientation, 0.0)
    return m


def put(src: Path, dst_dir: Path) -> None:
    tmp = dst_dir / ".policy.onnx.tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst_dir / "policy.onnx")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--swaps", type=int, default=100)
    a = ap.parse_args()
    os.environ.setdefault("CYCLONEDDS_URI", loopback_config(f"s2r-{uuid.uuid4().hex[:12]}"))
    os.environ.setdefault("ROS_DOMAIN_ID", "187")
    task = get_task("manip", "pick_place")
    tmp = Path(tempfile.mkdtemp(prefix="hot_reload_"))
    pols = [random_policy(task, tmp / f"p{i}", seed=i) / "policy.onnx" for i in range(2)]
    live = tmp / "live"
    live.mkdir()
    put(pols[0], live)

    t = DdsTransport("hot_reload_bench")
    clock = Clock()
    t.now_s = t.monotonic_s = clock  # type: ignore[method-assign]
    cls = domain_nodes()["manip"]
    import importlib

    params_mod = importlib.import_module(f"{cls.__module__.rsplit('.', 1)[0]}.params")
    params, errors = params_mod.params_from_mapping(
        {"policy_path": str(live), "reload_watch": True, "reload_period_s": 0.2}, "bench"
    )
    node = cls(t, params, errors)
    assert node.fault is None, node.fault
    stamps: list[float] = []
    targets: list[np.ndarray] = []
    real = node.arm_pub.publish

    def publish(m):
        stamps.append(clock.t)
        targets.append(np.asarray(m.data, dtype=np.float64))
        real(m)

    node.arm_pub.publish = publish
    node.arm_pub.subscriber_count = lambda: 1
    arm, fingers = node.arm_joints, node.finger_joints
    q = np.array(READY_POSE_RAD)
    node.on_target_pose(pose([0.5, 0.2, 0.2], "panda_link0"))
    swap_wall, start_wall, first_step_wall, swap_times = [], [], [], []
    period = 1.0 / node.controller.control_rate_hz
    loop_dt = 1.0 / node.p.loop_rate_hz
    poll_every = round(node.p.reload_period_s / loop_dt)
    ticks = (a.swaps + 1) * poll_every + 10
    swaps_done, k = 0, 0
    for i in range(ticks):
        clock.t += loop_dt
        if targets:
            q = targets[-1][: len(arm)]  # an arm that tracks its last target exactly
        node.on_joint_states(
            msgs.JointState(name=[*arm, *fingers], position=[*q, 0.04, 0.04], velocity=[0.0] * 9)
        )
        node.on_object_pose(pose([0.5, 0.0, 0.025], "panda_link0"))
        pending = getattr(node.controller.policy, "on_trial", False)
        t0 = time.perf_counter()
        node.on_tick()
        if pending and not getattr(node.controller.policy, "on_trial", False):
            first_step_wall.append(time.perf_counter() - t0)
        if i > 0 and i % poll_every == 0 and swaps_done < a.swaps:
            k ^= 1
            put(pols[k], live)
            t0 = time.perf_counter()
            why = node.reload.check()  # starts the loader thread
            start_wall.append(time.perf_counter() - t0)
            node.reload.loader.join()  # (in a node the loop keeps running meanwhile)
            t0 = time.perf_counter()
            why = node.reload.check()  # the next poll: contract check + swap
            swap_wall.append(time.perf_counter() - t0)
            assert why is None, why
            swap_times.append(clock.t)
            swaps_done += 1
    gaps = np.diff(stamps)
    missed = int(np.sum(gaps > period * 1.5))
    near = [g for s, g in zip(stamps[1:], gaps) if any(0 <= s - w <= 2 * period for w in swap_times)]
    steps = np.abs(np.diff(np.array(targets)[:, : len(arm)], axis=0))
    ratio = float((steps / node.controller.safety.max_step_rad).max())
    ms = lambda xs: f"median {statistics.median(xs) * 1e3:.1f} ms, max {max(xs) * 1e3:.1f} ms"  # noqa: E731
    print(f"swaps: {swaps_done} written, {node.reload.swaps} confirmed; version {node.policy_version}")
    print(
        f"commands: {len(stamps)} over {stamps[-1] - stamps[0]:.1f} s node time; missed periods {missed} "
        f"(gaps right after a swap: {sum(g > period * 1.5 for g in near)} missed of {len(near)})"
    )
    print(f"largest joint-target step / per-period limit: {ratio:.3f}")
    print(f"poll that sees the new file (stat, sha256, loader thread start), wall: {ms(start_wall)}")
    print(f"poll that swaps (contract check, assignment), wall: {ms(swap_wall)}; loop {loop_dt * 1e3:.0f} ms")
    print(f"new policy's first control step, wall: {ms(first_step_wall)}")
    t.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
