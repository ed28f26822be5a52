"""The navigation tasks: ``nav/goal``, BARN-style point-goal navigation of a diff-drive robot.

Registered in :mod:`sim2real.tasks`: config, VecEnv (:class:`~sim2real.nav.env.NavEnv` on the
batched kinematic simulator), PPO, the draft contract (from the robot file), ``sim2real eval nav``
(the policy and/or the DWA baseline on scenario files) and ``sim2real sim nav`` (the MuJoCo sim
bridge over DDS).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.domains import get_domain
from sim2real_runtime.errors import Sim2RealError

from ..tasks import Task, TrainOption, register_task
from .config import NavTrainConfig
from .record import add_record_args, record_cli

DWA_MAX_SPEED_MPS = 0.0
"""The DWA baseline's speed limit, 0 = the robot's own: the best success of 0.5, 1.0 and 2.0 m/s on
BARN worlds (benchmarks/RESULTS.md). BARN's published DWA baseline used 0.5 m/s."""

SIMULATOR = "sim2real kinematic grid simulator (numba), validated against MuJoCo"


def build_contract(cfg: NavTrainConfig) -> PolicyContract:
    """The navigation contract of a training config (the robot file's lidar, footprint, limits)."""
    from sim2real_runtime.nav_terms import nav_specs
    from sim2real_runtime.robot import load_robot

    t = cfg.task
    robot = load_robot(t.robot)
    obs_specs, act_spec = nav_specs(
        robot, t.control_rate_hz, t.num_sectors, t.range_clip_m, t.goal_clip_m, t.v_limits_mps,
        t.w_max_radps, t.collision_guard, t.dwa_fallback,
    )  # fmt: skip
    return PolicyContract(
        domain="nav",
        robot=robot.as_dict(),
        control_rate_hz=t.control_rate_hz,
        observation=tuple(obs_specs),
        action=(act_spec,),
    )


def make_env(cfg: NavTrainConfig, num_envs: int, seed: int) -> Any:
    """The rsl-rl VecEnv: ``num_envs`` robots in ``cfg.task.num_worlds`` procedural worlds."""
    from sim2real_runtime.robot import load_robot

    from .env import NavEnv
    from .kinematic_sim import WorldBank
    from .train import make_worlds

    robot = load_robot(cfg.task.robot)
    worlds = make_worlds(cfg.task, seed, robot.footprint_width_m)
    bank = WorldBank(worlds, robot, cfg.task.sim_resolution_m)
    env = NavEnv(cfg.task, robot, bank, num_envs, seed=seed)
    env.cfg = cfg.task  # rsl-rl stores env.cfg in its logs
    return env


def outcome_rates(env: Any):
    """Per PPO iteration: the share of episodes that ended in success, collision and timeout."""
    last = {"success": 0, "collision": 0, "timeout": 0}

    def stats() -> dict[str, float]:
        s = env.episode_stats
        n = {k: s[k] - last[k] for k in s}
        last.update(s)
        total = max(sum(n.values()), 1)
        return {k: n[k] / total for k in ("success", "collision", "timeout")}

    return stats


def _select_checkpoint(cfg: NavTrainConfig, run_dir: Path, final: Path) -> tuple[Path, dict[str, Any]]:
    """The run's checkpoint chosen on the validation worlds (:mod:`sim2real.nav.validate`)."""
    from .validate import select_checkpoint

    return select_checkpoint(cfg, run_dir, final)


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", help="policy directory (policy.onnx + policy.yaml)")
    p.add_argument("--planner", choices=["dwa"], help="evaluate the classical baseline too (or alone)")
    p.add_argument("--no-guard", action="store_true", help="evaluate the policy without the collision guard")
    p.add_argument(
        "--fallback",
        action="store_true",
        help="the policy with the runtime's DWA fallback (DWA checks every arc, drives when stuck); "
        "without it, as the policy's contract asks (action params dwa_fallback)",
    )
    p.add_argument(
        "--no-fallback",
        action="store_true",
        help="the policy alone, even when its contract asks for the DWA fallback (an ablation)",
    )
    p.add_argument(
        "--global-planner",
        choices=["astar"],
        help="plan a path on the scenario's map (A*, footprint inflated) and follow it: the policy "
        "(and DWA) drive to a lookahead point on it, as local planners under Nav2",
    )
    p.add_argument(
        "--lookahead-m", type=float, default=3.0, help="lookahead along the global path (m, default 3)"
    )
    p.add_argument(
        "--dwa-max-speed-mps",
        type=float,
        default=DWA_MAX_SPEED_MPS,
        help=f"DWA forward speed limit (default {DWA_MAX_SPEED_MPS} m/s; 0 = the robot's own)",
    )
    p.add_argument("--scenarios", required=True, help="a *.scenario.yaml or a folder of them")
    p.add_argument("--robot", help="robot name or YAML (default: the policy's robot)")
    p.add_argument("--runs", type=int, default=1, help="runs per scenario (different noise seeds)")
    p.add_argument("--sim", choices=["mujoco", "kinematic"], default="mujoco")
    p.add_argument(
        "--rate-hz", type=float, default=10.0, help="control rate of the planner (policy: contract's)"
    )
    p.add_argument("--workers", type=int, help="worker processes (default: number of cores)")
    p.add_argument("--out", default="results/nav_eval.json")
    p.add_argument("--plot", help="trajectory plot PNG (default: --out with .png)")


def evaluate_cli(a: argparse.Namespace) -> int:
    """``sim2real eval nav``: a policy and/or the DWA baseline on scenario files."""
    from sim2real_runtime.robot import load_robot

    from .evaluate import ControllerSpec, evaluate, format_table, summarize, write_results
    from .plots import plot_trajectories
    from .scenario import find_scenarios, load_scenario

    if getattr(a, "fallback", False) and getattr(a, "no_fallback", False):
        raise Sim2RealError("eval nav: --fallback and --no-fallback contradict each other; give one")
    specs = []
    rate = a.rate_hz
    if a.policy:
        from sim2real_runtime.nav_control import NavController, contract_wants_fallback
        from sim2real_runtime.policy import OnnxPolicy

        pol = OnnxPolicy(a.policy)
        robot_name = a.robot or pol.contract.robot["name"]
        robot = load_robot(robot_name)
        NavController(pol, robot)  # refuse a contract mismatch here, before any episode runs
        rate = pol.contract.control_rate_hz
        specs.append(
            ControllerSpec(
                "policy",
                robot_name,
                str(Path(a.policy)),
                collision_guard=False if a.no_guard else None,
                # on when asked or when the contract asks (then the label says so too); off when
                # --no-fallback (the policy alone)
                fallback=not getattr(a, "no_fallback", False)
                and bool(getattr(a, "fallback", False) or contract_wants_fallback(pol.contract)),
                global_planner=a.global_planner,
                lookahead_m=a.lookahead_m,
            )
        )
    if a.planner:
        robot_name = a.robot or (specs[0].robot if specs else "jackal")
        specs.append(
            ControllerSpec(
                a.planner,
                robot_name,
                max_speed_mps=a.dwa_max_speed_mps,
                global_planner=a.global_planner,
                lookahead_m=a.lookahead_m,
            )
        )
    if not specs:
        raise Sim2RealError("eval nav: give --policy DIR, --planner dwa, or both")
    # Validate every file before running anything; a start or goal the footprint cannot reach is
    # refused with the largest of the evaluated robots' footprints.
    radius_m = max(load_robot(s.robot).footprint_radius_m for s in specs)
    paths = find_scenarios(a.scenarios)
    scenarios = [load_scenario(p, radius_m) for p in paths]
    if a.global_planner:  # a world without a path is refused before any episode runs
        from .evaluate import global_plan

        for sc in scenarios:
            for s in specs:
                global_plan(a.global_planner, sc, load_robot(s.robot))
    t0 = time.time()
    results = evaluate(specs, paths, runs=a.runs, sim_kind=a.sim, control_rate_hz=rate, workers=a.workers)
    wall = time.time() - t0
    summary = summarize(results)
    print(format_table(summary))
    print(f"{len(results)} episodes on {len(paths)} scenarios in {wall:.1f} s ({a.sim} simulator)")
    out = Path(a.out)
    meta = {
        "scenarios": str(a.scenarios),
        "runs": a.runs,
        "simulator": a.sim,
        "control_rate_hz": rate,
        "wall_time_s": round(wall, 2),
        "controllers": [dataclasses.asdict(s) for s in specs],
    }
    write_results(out, results, meta)
    plot = Path(a.plot) if a.plot else out.with_suffix(".png")
    plot_trajectories(plot, scenarios, results)
    print(f"wrote {out} and {plot}")
    return 0


def add_sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", required=True, help="a *.scenario.yaml (BARN or generated)")
    p.add_argument("--robot", default="jackal", help="robot name or YAML (default: jackal)")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--real-time-factor", type=float, default=1.0, help="sim seconds per wall second (0: max)")
    p.add_argument("--scan-rate-hz", type=float, default=0.0, help="lidar rate (default: the robot's)")
    p.add_argument("--no-noise", action="store_true", help="no lidar or odometry noise")
    p.add_argument("--cmd-vel-stamped", action="store_true", help="read TwistStamped on /cmd_vel")
    p.add_argument("--send-goal", action="store_true", help="publish the scenario's goal on /goal_pose")
    p.add_argument(
        "--map-frame",
        default="",
        help="publish MAP_FRAME -> odom on /tf as a localisation node would (the scenario's frame is "
        "the map; odometry drifts, see --odom-drift); --send-goal then sends the goal in MAP_FRAME",
    )
    p.add_argument(
        "--odom-drift",
        type=float,
        nargs=3,
        metavar=("X_MPS", "Y_MPS", "YAW_RADPS"),
        help="odometry drift rates with --map-frame (default: sim_bridge.DEFAULT_ODOM_DRIFT)",
    )
    p.add_argument("--episode", action="store_true", help="exit at success, collision or the time limit")
    p.add_argument("--duration-s", type=float, help="exit after this much simulated time")
    p.add_argument("--result", help="write the episode's result (JSON) here on exit")


def sim_cli(a: argparse.Namespace) -> int:
    """``sim2real sim nav``: a scenario's world over ROS 2 topics (Cyclone DDS)."""
    import numpy as np

    from sim2real_ros.convert import fill_header, set_yaw
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.transport import DEFAULT
    from sim2real_runtime.robot import load_robot

    from .scenario import load_scenario
    from .sim_bridge import DEFAULT_ODOM_DRIFT, BridgeConfig, NavSimBridge, to_odom_frame

    robot = load_robot(a.robot)
    scenario = load_scenario(a.scenario, robot.footprint_radius_m)
    cfg = BridgeConfig(
        scan_rate_hz=a.scan_rate_hz,
        real_time_factor=a.real_time_factor,
        lidar_noise=not a.no_noise,
        odom_twist_noise_std=(0.0, 0.0) if a.no_noise else BridgeConfig.odom_twist_noise_std,
        cmd_vel_stamped=a.cmd_vel_stamped,
        map_frame=a.map_frame,
        odom_drift=tuple(a.odom_drift) if a.odom_drift else DEFAULT_ODOM_DRIFT,
    )
    if a.odom_drift and not a.map_frame:
        raise Sim2RealError("sim nav: --odom-drift needs --map-frame (the map -> odom that corrects it)")
    transport = DdsTransport("sim_bridge")
    bridge = NavSimBridge(transport, robot, cfg)
    bridge.load(scenario, a.seed)
    goal_frame = a.map_frame or "odom"
    goal = np.asarray(scenario.goal) if a.map_frame else to_odom_frame(scenario, np.asarray(scenario.goal))
    print(
        f"{scenario.name}: {robot.name} at the start; goal ({goal[0]:.3f}, {goal[1]:.3f}) in frame "
        f"'{goal_frame}', "
        f"tolerance {scenario.goal_tolerance_m} m, time limit {scenario.time_limit_s} s",
        flush=True,
    )
    goal_pub = (
        transport.publisher("/goal_pose", "geometry_msgs/msg/PoseStamped", DEFAULT) if a.send_goal else None
    )
    state = {"sent": False, "t0": time.monotonic()}

    def done() -> bool:
        # As RViz does, once: after a subscriber has matched and seen a few scans.
        if (
            goal_pub is not None
            and not state["sent"]
            and goal_pub.subscriber_count() > 0
            and time.monotonic() - state["t0"] > 0.5
        ):
            msg = transport.msg("geometry_msgs/msg/PoseStamped")()
            fill_header(msg.header, bridge.clock_s, goal_frame)
            msg.pose.position.x, msg.pose.position.y = float(goal[0]), float(goal[1])
            set_yaw(msg.pose.orientation, 0.0)
            goal_pub.publish(msg)
            state["sent"] = True
            print("goal sent on /goal_pose", flush=True)
        if a.episode and (not a.send_goal or state["sent"]) and bridge.status() is not None:
            return True
        return a.duration_s is not None and bridge.frame.time_s >= a.duration_s

    # Ctrl-C ends an open-ended simulation; the result is still written.
    with contextlib.suppress(KeyboardInterrupt):
        bridge.run(done)
    outcome = bridge.status() or "running"
    print(f"{scenario.name}: {outcome} at t = {bridge.frame.time_s:.2f} s", flush=True)
    if a.result:
        r = bridge.result("ros2_topics")
        Path(a.result).write_text(json.dumps(dataclasses.asdict(r), indent=1) + "\n")
    transport.close()
    return 0


register_task(
    Task(
        domain="nav",
        name="goal",
        description="BARN-style point-goal navigation: diff-drive base, 2-D lidar, procedural worlds (PPO)",
        config_class=NavTrainConfig,
        default_config=NavTrainConfig,
        make_env=make_env,
        trainer="ppo",
        build_contract=build_contract,
        description_files=lambda cfg: (get_domain("nav").description_file(cfg.task.robot),),
        simulator=SIMULATOR,
        run_name=lambda cfg: (
            f"nav_{Path(cfg.task.robot).stem if cfg.task.robot.endswith('.yaml') else cfg.task.robot}"
        ),
        default=True,
        iteration_stats=outcome_rates,
        postfix_keys=("success", "collision"),
        summary_aliases=(("final_success_rate", "success"),),
        select_checkpoint=_select_checkpoint,
        plot_training="sim2real.nav.plots:plot_training",
        train_options=(TrainOption("--robot", "task.robot", "robot name or YAML (default: jackal)"),),
        add_eval_args=add_eval_args,
        evaluator=evaluate_cli,
        add_sim_args=add_sim_args,
        sim_bridge=sim_cli,
        add_record_args=add_record_args,
        recorder=record_cli,
    )
)
