"""The ``sim2real`` command.

    sim2real train nav      train a navigation policy (PPO, CPU)
    sim2real export         checkpoint -> policies/<name>/policy.onnx + policy.yaml
    sim2real eval nav       evaluate a policy and/or the DWA baseline on scenario files
    sim2real worlds         write a BARN-style benchmark (scenario files + Nav2 maps)
    sim2real benchmark nav  worlds + policy + baseline + table + plot (the README's main job)
    sim2real robot urdf     print the URDF generated from a robot configuration
    sim2real sim nav        MuJoCo sim bridge: a scenario's world over ROS 2 topics (DDS)
    sim2real deploy nav     the nav_policy node over Cyclone DDS (no ROS 2 needed)
    sim2real train quad     train a quadrotor CTBR policy (PPO, CPU)
    sim2real eval quad      fly a quadrotor policy in MuJoCo on a vehicle file
    sim2real sim quad       MuJoCo sim bridge speaking PX4 or Crazyswarm2 topics
    sim2real deploy quad    the quad_policy node over Cyclone DDS
    sim2real train manip    Panda reach / pick-and-place (DAgger on a scripted expert)
    sim2real eval manip     arm policy: success rate, time to success, peak speed and force
    sim2real sim manip      MuJoCo sim bridge: a Panda + cube over ros2_control-style topics
    sim2real deploy manip   the manip_policy node over Cyclone DDS

Errors a user can cause (bad file, unknown robot, contract mismatch) print one line naming the file
and field and exit with status 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path

from sim2real_runtime.errors import Sim2RealError

from .rl import add_training_arguments

REPO = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = REPO / "policies" / "nav_jackal"
DWA_MAX_SPEED_MPS = 0.0
"""The DWA baseline's speed limit, 0 = the robot's own: the best success of 0.5, 1.0 and 2.0 m/s on
BARN worlds (benchmarks/RESULTS.md). BARN's published DWA baseline used 0.5 m/s."""


def _train(a: argparse.Namespace) -> int:
    from sim2real_runtime.robot import load_robot

    from .nav.config import NavTrainConfig
    from .nav.train import config_from_dict, config_to_dict, train_nav
    from .rl import with_cli_overrides

    cfg = NavTrainConfig()
    if a.config:
        cfg = config_from_dict(json.loads(Path(a.config).read_text()))
    cfg = with_cli_overrides(cfg, a, robot=a.robot)
    load_robot(cfg.task.robot)  # fail fast on an unknown robot, before any work
    run_dir = Path(a.run_dir or f"runs/nav_{cfg.task.robot}_{time.strftime('%Y%m%d_%H%M%S')}")
    print(f"training {cfg.task.robot} navigation -> {run_dir}\nconfig: {json.dumps(config_to_dict(cfg))}")
    ckpt = train_nav(cfg, run_dir, Path(a.resume) if a.resume else None)
    summary = json.loads((run_dir / "train_summary.json").read_text())
    print(
        f"done: {ckpt}  ({summary['env_steps']} steps, {summary['wall_time_s']:.0f} s wall, "
        f"{summary['training_steps_per_s']:.0f} training steps/s)"
    )
    return 0


def _export(a: argparse.Namespace) -> int:
    run = Path(a.run)
    cfg_file = run / "config.json"
    if not cfg_file.is_file():
        raise Sim2RealError(f"{run}: not a training run (no config.json)")
    task = json.loads(cfg_file.read_text()).get("task", {})
    if "vehicle" in task:
        from .quad.export import export_quad as export
    elif "success_tolerance_m" in task:
        from .manip.export import export_manip as export
    else:
        from .nav.export import export_nav as export
    out = export(run, Path(a.out), Path(a.checkpoint) if a.checkpoint else None)
    print(f"exported {out / 'policy.onnx'} and {out / 'policy.yaml'}")
    return 0


def _eval(a: argparse.Namespace) -> int:
    from sim2real_runtime.robot import load_robot

    from .nav.evaluate import ControllerSpec, evaluate, format_table, summarize, write_results
    from .nav.plots import plot_trajectories
    from .nav.scenario import find_scenarios, load_scenario

    specs = []
    rate = a.rate_hz
    if a.policy:
        from sim2real_runtime.nav_control import NavController
        from sim2real_runtime.policy import OnnxPolicy

        pol = OnnxPolicy(a.policy)
        robot_name = a.robot or pol.contract.robot["name"]
        robot = load_robot(robot_name)
        NavController(pol, robot)  # refuse a contract mismatch here, before any episode runs
        rate = pol.contract.control_rate_hz
        specs.append(
            ControllerSpec(
                "policy", robot_name, str(Path(a.policy)), collision_guard=False if a.no_guard else None
            )
        )
    if a.planner:
        robot_name = a.robot or (specs[0].robot if specs else "jackal")
        specs.append(ControllerSpec(a.planner, robot_name, max_speed_mps=a.dwa_max_speed_mps))
    if not specs:
        raise Sim2RealError("eval nav: give --policy DIR, --planner dwa, or both")
    for s in specs:
        load_robot(s.robot)
    paths = find_scenarios(a.scenarios)
    scenarios = [load_scenario(p) for p in paths]  # validate every file before running anything
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


def _worlds(a: argparse.Namespace) -> int:
    from .nav.worldgen import write_benchmark

    out = Path(a.out)
    if out.exists() and not a.overwrite:
        raise Sim2RealError(f"{out}: exists; pass --overwrite to replace it")
    files = write_benchmark(out, a.count, a.seed, overwrite=a.overwrite)
    print(f"wrote {len(files)} scenarios to {a.out}")
    return 0


def _benchmark(a: argparse.Namespace) -> int:
    worlds = Path(a.out) / "worlds"
    _worlds(argparse.Namespace(out=str(worlds), count=a.count, seed=a.seed, overwrite=True))
    ns = argparse.Namespace(
        policy=a.policy,
        planner="dwa",
        robot=None,
        scenarios=str(worlds),
        runs=1,
        sim=a.sim,
        rate_hz=10.0,
        dwa_max_speed_mps=DWA_MAX_SPEED_MPS,
        no_guard=False,
        workers=a.workers,
        out=str(Path(a.out) / "nav_benchmark.json"),
        plot=None,
    )
    return _eval(ns)


def _robot(a: argparse.Namespace) -> int:
    from sim2real_runtime.robot import load_robot

    from .nav.urdf import robot_urdf

    sys.stdout.write(robot_urdf(load_robot(a.name)))
    return 0


def _sim(a: argparse.Namespace) -> int:
    import numpy as np

    from sim2real_ros.convert import fill_header, set_yaw
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.transport import DEFAULT
    from sim2real_runtime.robot import load_robot

    from .nav.scenario import load_scenario
    from .nav.sim_bridge import BridgeConfig, NavSimBridge, to_odom_frame

    robot = load_robot(a.robot)
    scenario = load_scenario(a.scenario)
    cfg = BridgeConfig(
        scan_rate_hz=a.scan_rate_hz,
        real_time_factor=a.real_time_factor,
        lidar_noise=not a.no_noise,
        odom_twist_noise_std=(0.0, 0.0) if a.no_noise else BridgeConfig.odom_twist_noise_std,
        cmd_vel_stamped=a.cmd_vel_stamped,
    )
    transport = DdsTransport("sim_bridge")
    bridge = NavSimBridge(transport, robot, cfg)
    bridge.load(scenario, a.seed)
    goal = to_odom_frame(scenario, np.asarray(scenario.goal))
    print(
        f"{scenario.name}: {robot.name} at the start; goal ({goal[0]:.3f}, {goal[1]:.3f}) in frame 'odom', "
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
            fill_header(msg.header, bridge.clock_s, "odom")
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


def _deploy(a: argparse.Namespace) -> int:
    from nav_policy.node import run_dds

    args = list(a.node_args)
    return run_dds(args[1:] if args[:1] == ["--"] else args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sim2real", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train a policy").add_subparsers(dest="domain", required=True)
    t = tr.add_parser("nav", help="navigation (diff-drive + lidar)")
    t.add_argument("--robot", help="robot name or YAML (default: jackal)")
    add_training_arguments(t, "runs/nav_<robot>_<time>")
    t.set_defaults(func=_train)

    e = sub.add_parser("export", help="export a checkpoint to ONNX with its contract")
    e.add_argument("--run", required=True, help="training run directory")
    e.add_argument("--out", required=True, help="policy directory, e.g. policies/nav_jackal")
    e.add_argument("--checkpoint", help="checkpoint (default: the latest in --run)")
    e.set_defaults(func=_export)

    ev = sub.add_parser("eval", help="evaluate").add_subparsers(dest="domain", required=True)
    n = ev.add_parser("nav", help="navigation: success, collisions, time, path length, BARN score")
    n.add_argument("--policy", help="policy directory (policy.onnx + policy.yaml)")
    n.add_argument("--planner", choices=["dwa"], help="evaluate the classical baseline too (or alone)")
    n.add_argument("--no-guard", action="store_true", help="evaluate the policy without the collision guard")
    n.add_argument(
        "--dwa-max-speed-mps",
        type=float,
        default=DWA_MAX_SPEED_MPS,
        help=f"DWA forward speed limit (default {DWA_MAX_SPEED_MPS} m/s; 0 = the robot's own)",
    )
    n.add_argument("--scenarios", required=True, help="a *.scenario.yaml or a folder of them")
    n.add_argument("--robot", help="robot name or YAML (default: the policy's robot)")
    n.add_argument("--runs", type=int, default=1, help="runs per scenario (different noise seeds)")
    n.add_argument("--sim", choices=["mujoco", "kinematic"], default="mujoco")
    n.add_argument(
        "--rate-hz", type=float, default=10.0, help="control rate of the planner (policy: contract's)"
    )
    n.add_argument("--workers", type=int, help="worker processes (default: number of cores)")
    n.add_argument("--out", default="results/nav_eval.json")
    n.add_argument("--plot", help="trajectory plot PNG (default: --out with .png)")
    n.set_defaults(func=_eval)

    w = sub.add_parser("worlds", help="write a BARN-style benchmark set")
    w.add_argument("--out", required=True)
    w.add_argument("--count", type=int, default=50)
    w.add_argument("--seed", type=int, default=2026)
    w.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    w.set_defaults(func=_worlds)

    bm = sub.add_parser("benchmark", help="worlds + policy + DWA baseline").add_subparsers(
        dest="domain", required=True
    )
    b = bm.add_parser("nav", help="navigation benchmark on worlds generated with a fixed seed")
    b.add_argument(
        "--policy",
        default=str(
            DEFAULT_POLICY.relative_to(Path.cwd())
            if DEFAULT_POLICY.is_relative_to(Path.cwd())
            else DEFAULT_POLICY
        ),
    )
    b.add_argument("--count", type=int, default=50)
    b.add_argument("--seed", type=int, default=2026)
    b.add_argument("--sim", choices=["mujoco", "kinematic"], default="mujoco")
    b.add_argument("--workers", type=int)
    b.add_argument("--out", default="results")
    b.set_defaults(func=_benchmark)

    sm = sub.add_parser("sim", help="simulators over ROS 2 topics").add_subparsers(
        dest="domain", required=True
    )
    s = sm.add_parser("nav", help="MuJoCo sim bridge: /scan /odom /tf /clock out, /cmd_vel in (Cyclone DDS)")
    s.add_argument("--scenario", required=True, help="a *.scenario.yaml (BARN or generated)")
    s.add_argument("--robot", default="jackal", help="robot name or YAML (default: jackal)")
    s.add_argument("--seed", type=int, default=0, help="noise seed")
    s.add_argument("--real-time-factor", type=float, default=1.0, help="sim seconds per wall second (0: max)")
    s.add_argument("--scan-rate-hz", type=float, default=0.0, help="lidar rate (default: the robot's)")
    s.add_argument("--no-noise", action="store_true", help="no lidar or odometry noise")
    s.add_argument("--cmd-vel-stamped", action="store_true", help="read TwistStamped on /cmd_vel")
    s.add_argument("--send-goal", action="store_true", help="publish the scenario's goal on /goal_pose")
    s.add_argument("--episode", action="store_true", help="exit at success, collision or the time limit")
    s.add_argument("--duration-s", type=float, help="exit after this much simulated time")
    s.add_argument("--result", help="write the episode's result (JSON) here on exit")
    s.set_defaults(func=_sim)

    dp = sub.add_parser("deploy", help="run a policy node").add_subparsers(dest="domain", required=True)
    d = dp.add_parser(
        "nav",
        help="the nav_policy node over Cyclone DDS: --policy DIR [--params-file F] [--set NAME=VALUE ...]",
        add_help=False,
    )
    d.add_argument("node_args", nargs=argparse.REMAINDER)
    d.set_defaults(func=_deploy)

    from .quad.cli import add_commands as add_quad_commands

    add_quad_commands(tr, ev, sm, dp)

    from .manip.cli import add_commands as add_manip_commands

    add_manip_commands(tr, ev, sm, dp)

    r = sub.add_parser("robot", help="robot descriptions").add_subparsers(dest="what", required=True)
    u = r.add_parser("urdf", help="print the URDF generated from sim_assets/<name>/robot.yaml")
    u.add_argument("name")
    u.set_defaults(func=_robot)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # The nodes parse their own options.
    if argv[:1] == ["deploy"] and argv[1:2] in (["nav"], ["quad"], ["manip"]):
        argv = [*argv[:2], "--", *argv[2:]]
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Sim2RealError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
