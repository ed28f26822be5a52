"""Recording cost: missed control periods of the deployed node with and without recording, and
the time to commit an episode to a LeRobot v3 dataset.

    python benchmarks/record.py [--rounds 3] [--episodes 2] [--domains manip nav] [--skip-live]

1. Missed periods. The node and its MuJoCo sim bridge run in real time (real-time factor 1) over
   Cyclone DDS, as ``sim2real record`` runs them, with the shipped policies: the arm at its 25 Hz,
   the mobile base at its 10 Hz. "Off" puts the node on a transport that only watches for control
   steps (:class:`~sim2real.datasets.recorder.ControlStepTap`, one identity check per callback);
   "on" records everything: the raw topics into an MCAP bag (serialised and written on the bag
   thread) and each episode into the dataset. Off and on alternate, ``--rounds`` times
   ``--episodes`` episodes each, on the same seeds. A missed period is a control period without a
   step between two consecutive steps (node clock; :func:`~sim2real.datasets.recorder.missed_periods`).
2. Episode commit: 30 s of state-only data at each domain's rate (the contracts' observation and
   action sizes, random values), committed with every fsync, into a dataset that grows to 100
   episodes: the first, the median and the slowest commit.

Writes benchmarks/results/record.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "results" / "record.json"
POLICIES = {"manip": "manip_panda_pick_place", "nav": "nav_jackal", "quad": "quad_crazyflie"}


class TapOnly:
    """A recorder that records nothing: the node's control steps are counted, nothing written."""

    def __init__(self, fps: float) -> None:
        from sim2real.datasets.recorder import ControlStepTap

        self.fps = fps
        self.tap = ControlStepTap()

    def begin(self) -> None:
        self.tap.reset()

    def wrap(self, transport: Any) -> Any:
        from sim2real.datasets.recorder import RecordingTransport

        return RecordingTransport(transport, None, self.tap.after_callback)

    def end(self, outcome: str, keep: bool, seed: int | None = None, extra: Any = None) -> Any:
        from sim2real.datasets.recorder import EpisodeResult, missed_periods

        steps = self.tap.steps
        self.tap.reset()
        return EpisodeResult(seed, outcome, len(steps), False, missed_periods=missed_periods(
            [s.t_s for s in steps], 1.0 / self.fps))  # fmt: skip


def live(
    domain: str, rounds: int, episodes: int, work: Path, modes: tuple[str, ...] = ("off", "on")
) -> dict[str, Any]:
    from sim2real.cli import build_parser
    from sim2real.datasets.recorder import Recorder, record_sim
    from sim2real.tasks import get_task
    from sim2real_ros.dds import DdsTransport

    module = __import__(f"sim2real.{domain}.record", fromlist=["session"])
    totals: dict[str, Any] = {m: {"steps": 0, "missed": 0, "episodes": 0, "per_episode": []} for m in modes}
    save_s: list[float] = []
    for r in range(rounds):
        for mode in modes:
            ds = work / f"{domain}_{r}_{mode}"
            argv = ["record", domain, "--teleop", "none", "--episodes", str(episodes), "--dataset", str(ds),
                    "--bag", str(ds) + "_bag", "--real-time-factor", "1",
                    "--seed", str(100 + r * episodes)]  # fmt: skip
            if domain == "nav":
                argv += ["--episode-time-s", "40"]
            a = build_parser().parse_args(argv)
            a.task = get_task(domain).name
            spec, make_sim, _, _ = module.session(a)
            # on: dataset + bag; dataset: the dataset only (no bag); off: nothing written
            bag = a.bag if mode == "on" else None
            rec: Any = Recorder(a.dataset, spec, a.task, bag) if mode != "off" else TapOnly(spec.fps)
            bt = DdsTransport("sim_bridge")
            try:
                results = record_sim(rec, make_sim(bt), episodes, a.seed, max_attempts=episodes)
            finally:
                if mode != "off":
                    rec.close()
                bt.close()
            for res in results:
                t = totals[mode]
                t["steps"] += res.steps
                t["missed"] += res.missed_periods
                t["episodes"] += 1
                t["per_episode"].append([res.seed, res.outcome, res.steps, res.missed_periods])
                if mode == "on" and res.kept:
                    save_s.append(res.save_s)
            line = ", ".join(f"{x.outcome} {x.steps} steps {x.missed_periods} missed" for x in results)
            print(f"{domain} round {r} {mode}: {line}", flush=True)
    for t in totals.values():
        t["missed_fraction"] = t["missed"] / max(1, t["steps"] + t["missed"])
    return {**totals, "episode_commit_s": save_s}


def commit_time(
    domain: str, work: Path, episodes: int = 100, seconds: float = 30.0, fsync: bool = True
) -> dict[str, Any]:
    from sim2real.datasets.lerobot_v3 import DatasetSpec, LeRobotV3Writer
    from sim2real_runtime.policy import OnnxPolicy

    contract = OnnxPolicy(REPO / "policies" / POLICIES[domain]).contract
    spec = DatasetSpec.from_contract(contract)
    n = round(seconds * spec.fps)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n, contract.obs_size)).astype(np.float32)
    act = rng.uniform(-1, 1, (n, contract.action_size)).astype(np.float32)
    root = work / f"commit_{domain}_{'fsync' if fsync else 'nofsync'}"
    times, add_s = [], []
    with LeRobotV3Writer.create(root, spec, fsync=fsync) as w:
        for _ in range(episodes):
            t0 = time.perf_counter()
            for i in range(n):
                w.add_frame({"observation.state": obs[i], "action": act[i], "intervention": False,
                             "next.reward": 0.0, "next.done": i == n - 1, "next.success": False})  # fmt: skip
            t1 = time.perf_counter()
            w.save_episode("bench")
            times.append(time.perf_counter() - t1)
            add_s.append((t1 - t0) / n)
    size = sum(p.stat().st_size for p in root.rglob("*.parquet")) / episodes
    return {
        "fps": spec.fps, "frames_per_episode": n, "obs_size": contract.obs_size,
        "action_size": contract.action_size,
        "commit_s_first": times[0], "commit_s_median": float(np.median(times)), "commit_s_max": max(times),
        "commit_s_at_100": times[-1], "add_frame_us_median": float(np.median(add_s)) * 1e6,
        "data_bytes_per_episode": size,
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--episodes", type=int, default=2, help="episodes per round and mode")
    ap.add_argument("--domains", nargs="+", default=["manip", "nav"])
    ap.add_argument("--skip-live", action="store_true", help="only the commit-time benchmark")
    ap.add_argument("--out", default=str(OUT), help="results JSON")
    ap.add_argument("--modes", nargs="+", default=["off", "on"], choices=["off", "on", "dataset"],
                    help="off: nothing written; on: dataset + bag; dataset: without the bag")  # fmt: skip
    a = ap.parse_args()
    from sim2real_ros.dds import loopback_config

    os.environ.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))
    os.environ.setdefault("CYCLONEDDS_URI", loopback_config("bench-" + uuid.uuid4().hex[:8]))
    work = Path(tempfile.mkdtemp(prefix="record_bench_"))
    out: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": {},
    }
    for d in ("nav", "manip", "quad"):
        try:
            out["commit"][d] = commit_time(d, work)
            nosync = commit_time(d, work, episodes=20, fsync=False)
            out["commit"][d]["without_fsync_commit_s_median"] = nosync["commit_s_median"]
        except Exception as exc:  # a policy that does not load here (its contract) is reported, not fatal
            out["commit"][d] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"commit {d}: skipped ({exc})", flush=True)
    for d, r in out["commit"].items():
        if "error" in r:
            continue
        print(f"commit {d}: {r['frames_per_episode']} frames x {r['obs_size']}+{r['action_size']}: first "
              f"{r['commit_s_first'] * 1e3:.0f} ms, median {r['commit_s_median'] * 1e3:.0f} ms, max "
              f"{r['commit_s_max'] * 1e3:.0f} ms (100th {r['commit_s_at_100'] * 1e3:.0f} ms; median without "
              f"fsync {r['without_fsync_commit_s_median'] * 1e3:.0f} ms)",
              flush=True)  # fmt: skip
    if not a.skip_live:
        out["live"] = {d: live(d, a.rounds, a.episodes, work, tuple(a.modes)) for d in a.domains}
        for d, r in out["live"].items():
            line = ", ".join(f"{m} {r[m]['missed']}/{r[m]['steps']} missed ({r[m]['missed_fraction']:.2%})"
                             for m in a.modes)  # fmt: skip
            print(f"{d}: {line}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    out_path = Path(a.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
