"""``sim2real eval nav``: run a policy (or the DWA baseline) on scenario files, score as BARN does.

Per episode: success (goal within tolerance before the time limit, no collision), collision,
timeout, time, path length and BARN score; aggregates per controller; a plot of the trajectories
over the maps. Episodes run in a process pool (one simulator and controller per worker).

With a global planner (``--global-planner astar``) the controller is the local planner: A* plans
on the scenario's map once per episode (:func:`sim2real.nav.planner.plan_path`) and the controller
drives to the lookahead point on that path (:class:`sim2real_runtime.path_follow.PathFollower`, the
node's own), as it would under Nav2 with the node following ``/plan``.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from sim2real_runtime.path_follow import DEFAULT_LOOKAHEAD_M, PathFollowConfig, PathFollower
from sim2real_runtime.robot import RobotConfig, load_robot

from .scenario import Scenario, load_scenario
from .sim_api import NavSim, SensorFrame


@dataclass
class EpisodeResult:
    """Outcome of one episode."""

    controller: str
    scenario: str
    run: int
    success: bool
    collision: bool
    timeout: bool
    time_s: float
    path_length_m: float
    score: float
    trajectory: list[list[float]] = field(default_factory=list)
    """[[x, y], ...] at the control rate (m), when recorded."""
    plan: list[list[float]] = field(default_factory=list)
    """The global planner's path [[x, y], ...] (m, every 0.5 m or so), when one was used."""


@dataclass(frozen=True)
class ControllerSpec:
    """What to evaluate: ``kind`` is ``policy`` (with ``policy`` = directory) or ``dwa``."""

    kind: str
    robot: str
    policy: str | None = None
    max_speed_mps: float | None = None
    """DWA only: forward speed limit below the robot's (BARN's DWA baseline used 0.5 m/s)."""
    collision_guard: bool | None = None
    """Policy only: run the runtime's collision guard after the policy; None: as in training."""
    global_planner: str | None = None
    """``astar``: follow an A* path on the scenario's map (this controller is the local planner)."""
    lookahead_m: float = DEFAULT_LOOKAHEAD_M
    """With a global planner: the lookahead distance along the path (m)."""
    fallback: bool | None = None
    """Policy only: DWA checks the policy's arcs and drives when stuck (runtime ``DwaFallback``);
    None: as the policy's contract asks (``dwa_fallback``)."""

    @property
    def label(self) -> str:
        plan = f"+{self.global_planner}" if self.global_planner else ""
        if self.kind == "policy":
            return (
                f"policy:{Path(self.policy or '').name}"
                + ("(no guard)" if self.collision_guard is False else "")
                + ("+dwa_fallback" if self.fallback else "")
                + plan
            )
        return (f"{self.kind}@{self.max_speed_mps:g}mps" if self.max_speed_mps else self.kind) + plan


Controller = Callable[[SensorFrame, np.ndarray], tuple[float, float]]


def make_controller(
    spec: ControllerSpec, robot: RobotConfig, control_rate_hz: float
) -> tuple[Controller, Any]:
    """(step function, object with ``reset()``) for ``spec``."""
    if spec.kind == "policy":
        from sim2real_runtime.nav_control import NavController
        from sim2real_runtime.policy import OnnxPolicy

        ctrl = NavController(
            OnnxPolicy(spec.policy), robot, control_rate_hz, spec.collision_guard, fallback=spec.fallback
        )

        def step(frame: SensorFrame, goal: np.ndarray) -> tuple[float, float]:
            v, w = ctrl.step(frame.ranges_m, frame.pose, frame.twist, goal)
            return float(v), float(w)

        return step, ctrl
    if spec.kind == "dwa":
        from sim2real_runtime.dwa import DWAConfig, DWAPlanner

        planner = DWAPlanner(robot, DWAConfig(max_speed_mps=spec.max_speed_mps or None), control_rate_hz)

        def step(frame: SensorFrame, goal: np.ndarray) -> tuple[float, float]:
            v, w = planner.compute(frame.pose, frame.twist, goal, frame.ranges_m)
            return float(v), float(w)

        return step, planner
    raise ValueError(f"unknown controller kind {spec.kind!r} (policy or dwa)")


def make_sim(kind: str, robot: RobotConfig, control_rate_hz: float) -> NavSim:
    """``mujoco`` (rigid-body physics) or ``kinematic`` (the fast training simulator)."""
    if kind == "mujoco":
        from .mujoco_sim import MujocoNavSim

        return MujocoNavSim(robot, control_rate_hz=control_rate_hz)
    if kind == "kinematic":
        from .kinematic_sim import KinematicNavSim

        return KinematicNavSim(robot, control_rate_hz=control_rate_hz)
    raise ValueError(f"unknown simulator {kind!r} (mujoco or kinematic)")


def run_episode(
    sim: NavSim,
    scenario: Scenario,
    step: Controller,
    reset: Any,
    seed: int,
    label: str,
    run: int,
    record: bool = True,
    plan: np.ndarray | None = None,
    follow: PathFollowConfig | None = None,
) -> EpisodeResult:
    """One episode to success, collision or the scenario's time limit.

    ``plan``: a global path [N, 2] (m, map frame) to follow: the controller's goal is then the
    lookahead point on it (``follow``); success is still judged at the scenario's goal."""
    frame = sim.reset(scenario, seed)
    if hasattr(reset, "reset"):
        reset.reset()
    goal = np.asarray(scenario.goal, dtype=np.float64)
    follower = PathFollower(plan, follow or PathFollowConfig()) if plan is not None else None
    traj = [[float(frame.pose[0]), float(frame.pose[1])]]
    length = 0.0
    success = collision = False
    while True:
        v, w = step(frame, goal if follower is None else follower.step(frame.pose[:2]))
        prev = frame.pose[:2].copy()
        frame = sim.step(v, w)
        length += float(np.hypot(*(frame.pose[:2] - prev)))
        if record:
            traj.append([round(float(frame.pose[0]), 3), round(float(frame.pose[1]), 3)])
        if frame.collided:
            collision = True
            break
        if math.hypot(goal[0] - frame.pose[0], goal[1] - frame.pose[1]) <= scenario.goal_tolerance_m:
            success = True
            break
        if frame.time_s >= scenario.time_limit_s - 1e-9:
            break
    return EpisodeResult(
        controller=label,
        scenario=scenario.name,
        run=run,
        success=success,
        collision=collision,
        timeout=not (success or collision),
        time_s=round(frame.time_s, 3),
        path_length_m=round(length, 3),
        score=scenario.barn_score(success, frame.time_s),
        trajectory=traj if record else [],
        plan=[] if plan is None or not record else np.round(plan[::5], 3).tolist(),
    )


# One simulator and controller per worker process, built on first use.
_WORKER: dict[str, Any] = {}


def _worker_run(spec: ControllerSpec, sim_kind: str, rate_hz: float, path: str, run: int) -> EpisodeResult:
    key = (spec, sim_kind, rate_hz)
    if _WORKER.get("key") != key:
        robot = load_robot(spec.robot)
        _WORKER.update(
            key=key,
            sim=make_sim(sim_kind, robot, rate_hz),
            ctrl=make_controller(spec, robot, rate_hz),
            scenarios={},
        )
    scenarios = _WORKER["scenarios"]
    if path not in scenarios:
        scenarios.clear()  # one world at a time keeps worker memory flat
        scenarios[path] = load_scenario(path)
    step, obj = _WORKER["ctrl"]
    seed = zlib.crc32(f"{Path(path).name}:{run}".encode())
    plan = None
    if spec.global_planner is not None:
        plan = global_plan(spec.global_planner, scenarios[path], load_robot(spec.robot))
    follow = PathFollowConfig(lookahead_m=spec.lookahead_m)
    return run_episode(
        _WORKER["sim"], scenarios[path], step, obj, seed, spec.label, run, plan=plan, follow=follow
    )


GLOBAL_PLANNERS = ("astar",)


def global_plan(kind: str, scenario: Scenario, robot: RobotConfig) -> np.ndarray:
    """The global planner ``kind``'s path [N, 2] (m) on the scenario's map, for ``robot``."""
    if kind != "astar":
        raise ValueError(f"unknown global planner {kind!r} ({', '.join(GLOBAL_PLANNERS)})")
    from .planner import plan_path

    return plan_path(scenario, 0.5 * min(robot.footprint_length_m, robot.footprint_width_m))


def evaluate(
    specs: Sequence[ControllerSpec],
    scenario_paths: Sequence[Path],
    runs: int = 1,
    sim_kind: str = "mujoco",
    control_rate_hz: float = 10.0,
    workers: int | None = None,
    progress: bool = True,
) -> list[EpisodeResult]:
    """Every controller on every scenario ``runs`` times; results in a stable order."""
    jobs = [(s, str(p), r) for s in specs for p in scenario_paths for r in range(runs)]
    workers = workers or min(os.cpu_count() or 1, 4)
    results: list[EpisodeResult | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc="episodes", unit="ep", disable=not progress)
    if workers <= 1:
        for i, (s, p, r) in enumerate(jobs):
            results[i] = _worker_run(s, sim_kind, control_rate_hz, p, r)
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futs = {
                pool.submit(_worker_run, s, sim_kind, control_rate_hz, p, r): i
                for i, (s, p, r) in enumerate(jobs)
            }
            for f in as_completed(futs):
                results[futs[f]] = f.result()
                bar.update(1)
    bar.close()
    return [r for r in results if r is not None]


def summarize(results: Sequence[EpisodeResult]) -> dict[str, dict[str, float]]:
    """Aggregates per controller: rates, mean score, mean time and path length of successes."""
    out: dict[str, dict[str, float]] = {}
    for label in dict.fromkeys(r.controller for r in results):
        rs = [r for r in results if r.controller == label]
        ok = [r for r in rs if r.success]
        out[label] = {
            "episodes": len(rs),
            "success_rate": float(np.mean([r.success for r in rs])),
            "collision_rate": float(np.mean([r.collision for r in rs])),
            "timeout_rate": float(np.mean([r.timeout for r in rs])),
            "mean_score": float(np.mean([r.score for r in rs])),
            "mean_time_s": float(np.mean([r.time_s for r in ok])) if ok else float("nan"),
            "mean_path_length_m": float(np.mean([r.path_length_m for r in ok])) if ok else float("nan"),
        }
    return out


def format_table(summary: dict[str, dict[str, float]]) -> str:
    """The aggregates as a Markdown table."""
    cols = [
        "episodes",
        "success_rate",
        "collision_rate",
        "timeout_rate",
        "mean_score",
        "mean_time_s",
        "mean_path_length_m",
    ]
    lines = ["| controller | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for label, row in summary.items():
        cells = [f"{row[c]:.0f}" if c == "episodes" else f"{row[c]:.3f}" for c in cols]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(path: Path, results: Sequence[EpisodeResult], meta: dict[str, Any]) -> None:
    """results.json: meta, per-controller summary, per-episode results (atomic write)."""
    doc = {"meta": meta, "summary": summarize(results), "episodes": [asdict(r) for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=True))
    tmp.replace(path)
