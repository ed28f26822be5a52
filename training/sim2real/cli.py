"""The ``sim2real`` command, generated from the registries of domains and training tasks.

    sim2real list                               one line per registered task: <domain> <task> ...
    sim2real train <domain> [--task T] ...      train a task's policy (its trainer: PPO or DAgger)
    sim2real export [<domain>] --run R --out O  checkpoint -> policy.onnx + policy.yaml (contract)
    sim2real eval <domain> ...                  evaluate a policy (the task's evaluator)
    sim2real sim <domain> ...                   MuJoCo sim bridge over ROS 2 topics (Cyclone DDS)
    sim2real deploy <domain> --policy DIR ...   the <domain>_policy node over Cyclone DDS
    sim2real record <domain> --teleop T ...     demonstrations -> LeRobot v3 dataset (+ rosbag2 MCAP)
    sim2real finetune <domain> --base DIR --dataset DIR --run-dir R   residual RL on a base policy
    sim2real hil manip --base DIR --dataset DIR --run-dir R   the same, human in the loop (actor + learner)
    sim2real worlds                             write a BARN-style benchmark (scenarios + Nav2 maps)
    sim2real benchmark nav                      worlds + policy + baseline + table + plot
    sim2real robot urdf NAME                    print the URDF generated from a robot configuration

Errors a user can cause (bad file, unknown robot, contract mismatch, a missing or unwritable folder)
print one line naming the file and field and exit with status 2; Ctrl-C prints "interrupted" and
exits with 130. Nothing is half-written either way.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from sim2real_runtime.domains import get_domain
from sim2real_runtime.errors import Sim2RealError

from .tasks import all_tasks, domain_tasks, domains, get_task

REPO = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = REPO / "policies" / "nav_jackal"


def _list(a: argparse.Namespace) -> int:
    for t in all_tasks():
        mark = " (default)" if t.default else ""
        print(f"{t.domain} {t.name}  [{t.trainer}]{mark}  {t.description}")
    return 0


def _train(a: argparse.Namespace) -> int:
    from . import rl
    from .trainers import Overrides, get_trainer, replace_field, train, with_overrides

    task = get_task(a.domain, a.task)
    trainer = get_trainer("bc" if a.dataset else task.trainer, task)
    cfg = task.default_config()
    if a.config:
        path = Path(a.config)
        try:
            cfg = rl.config_from_dict(task.config_class, json.loads(path.read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise Sim2RealError(f"{path}: not a {task.key} config ({exc})") from exc
    if a.resume:
        from .onnx_export import read_checkpoint

        read_checkpoint(Path(a.resume))  # a truncated or foreign file: one line naming it, now
    for opt in task.train_options:
        value = getattr(a, opt.flag.lstrip("-").replace("-", "_"))
        if value is not None:
            cfg = replace_field(cfg, opt.field, value)
    o = Overrides(
        seed=a.seed, iterations=a.iterations, num_envs=a.num_envs, max_wall_time_s=a.max_wall_time_s
    )
    cfg = with_overrides(trainer, cfg, o)
    if a.dataset:  # behaviour cloning: the dataset goes into the config (config.json records it)
        cfg = replace_field(cfg, "bc.dataset", str(Path(a.dataset).resolve()))
    run_dir = Path(a.run_dir or f"runs/{task.run_name(cfg)}_{time.strftime('%Y%m%d_%H%M%S')}")
    print(f"training {task.key} ({trainer.name}) -> {run_dir}\nconfig: {json.dumps(rl.config_to_dict(cfg))}")
    ckpt = train(task, cfg, run_dir, Path(a.resume) if a.resume else None, trainer=trainer.name)
    s = json.loads((run_dir / "train_summary.json").read_text())
    final = ", ".join(f"{k} {v:.4g}" for k, v in s["final"].items() if isinstance(v, float))
    print(f"done: {ckpt}  ({s['env_steps']} env steps, {s['wall_time_s']:.0f} s wall); last: {final}")
    return 0


def _export(a: argparse.Namespace) -> int:
    from .export import export_run

    out = export_run(
        Path(a.run),
        Path(a.out),
        Path(a.checkpoint) if a.checkpoint else None,
        domain=a.domain,
        overwrite=a.overwrite,
    )
    print(f"exported {out / 'policy.onnx'} and {out / 'policy.yaml'}")
    return 0


def _dispatch(hook: str):
    def run(a: argparse.Namespace) -> int:
        task = get_task(a.domain, getattr(a, "task_name", None))
        a.task_record = task
        if not a.hook_owns_task:
            a.task = task.name
        return getattr(task, hook)(a)

    return run


def _deploy(a: argparse.Namespace) -> int:
    node = importlib.import_module(f"{get_domain(a.domain).node_package}.node")
    args = list(a.node_args)
    return node.run_dds(args[1:] if args[:1] == ["--"] else args)


def _add_common_train_args(p: argparse.ArgumentParser, domain: str) -> None:
    """The options every trainer takes (:class:`sim2real.trainers.Overrides`)."""
    p.add_argument("--config", help="a config.json of an earlier run to start from")
    p.add_argument("--seed", type=int)
    p.add_argument("--iterations", type=int, help="PPO iterations / DAgger rounds / BC epochs")
    p.add_argument("--max-wall-time-s", type=float, help="stop after this many seconds")
    p.add_argument("--num-envs", type=int)
    p.add_argument("--run-dir", help=f"output directory (default runs/{domain}_<...>_<time>)")
    p.add_argument("--resume", help="checkpoint model_<it>.pt to continue from")
    p.add_argument(
        "--dataset",
        help="train a base policy from this LeRobot v3 demonstration dataset (behaviour cloning; "
        "refused unless its features, rate and robot match the task's contract)",
    )


def _task_option(p: argparse.ArgumentParser, domain: str, dest: str = "task") -> None:
    names = [t.name for t in domain_tasks(domain)]
    default = get_task(domain).name
    p.add_argument("--task", dest=dest, choices=names, help=f"the task (default {default})")


def _hooks(domain: str, adder: str) -> list:
    """The distinct argument hooks of a domain's tasks (tasks of a domain may share one)."""
    return list(dict.fromkeys(getattr(t, adder) for t in domain_tasks(domain) if getattr(t, adder)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sim2real", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the registered training tasks").set_defaults(func=_list)

    tr = sub.add_parser("train", help="train a policy").add_subparsers(dest="domain", required=True)
    ev = sub.add_parser("eval", help="evaluate").add_subparsers(dest="domain", required=True)
    sm = sub.add_parser("sim", help="simulators over ROS 2 topics").add_subparsers(
        dest="domain", required=True
    )
    dp = sub.add_parser("deploy", help="run a policy node").add_subparsers(dest="domain", required=True)
    rc = sub.add_parser("record", help="record demonstrations").add_subparsers(dest="domain", required=True)
    fn = sub.add_parser("finetune", help="residual RL on a base policy").add_subparsers(
        dest="domain", required=True
    )
    hl = sub.add_parser("hil", help="human-in-the-loop residual RL (actor + learner)").add_subparsers(
        dest="domain", required=True
    )
    for domain in domains():
        title = get_domain(domain).title
        t = tr.add_parser(domain, help=title)
        _task_option(t, domain)
        _add_common_train_args(t, domain)
        for opt in dict.fromkeys(o for x in domain_tasks(domain) for o in x.train_options):
            t.add_argument(opt.flag, help=opt.help)
        t.set_defaults(func=_train)
        for verbs, adder, hook, what in ((ev, "add_eval_args", "evaluator", "evaluate"),
                                         (sm, "add_sim_args", "sim_bridge", "simulate"),
                                         (rc, "add_record_args", "recorder", "record")):  # fmt: skip
            if not any(getattr(x, hook) for x in domain_tasks(domain)):
                continue
            v = verbs.add_parser(domain, help=f"{what}: {title}")
            for h in _hooks(domain, adder):
                h(v)
            owns = any(a.dest == "task" for a in v._actions)
            if not owns:  # the task's own options may use --task (quad: the reference flown)
                _task_option(v, domain, dest="task_name")
            v.set_defaults(func=_dispatch(hook), hook_owns_task=owns)
        from .residual.online import ONLINE

        if domain in ONLINE:  # domains with an online environment adapter
            from .residual.cli import add_finetune_args, finetune_cli

            f = fn.add_parser(domain, help=f"residual RL on a base policy: {title}")
            _task_option(f, domain)
            add_finetune_args(f)
            f.set_defaults(func=finetune_cli)
        if domain == "manip":  # the domain with a scripted takeover human and an actor (sim2real.hil)
            from .hil.cli import add_hil_args, hil_cli

            h = hl.add_parser(domain, help=f"human-in-the-loop residual RL, actor and learner: {title}")
            add_hil_args(h)
            h.set_defaults(func=hil_cli)
        d = dp.add_parser(
            domain,
            help=f"the {get_domain(domain).node_package} node over Cyclone DDS: --policy DIR "
            "[--params-file F] [--set NAME=VALUE ...]",
            add_help=False,
        )
        d.add_argument("node_args", nargs=argparse.REMAINDER)
        d.set_defaults(func=_deploy)

    e = sub.add_parser("export", help="export a checkpoint to ONNX with its contract")
    e.add_argument("domain", nargs="?", choices=domains(), help="the run's domain (default: from the run)")
    e.add_argument("--run", required=True, help="training run directory")
    e.add_argument("--out", required=True, help="policy directory, e.g. policies/nav_jackal")
    e.add_argument("--checkpoint", help="checkpoint (default: the latest in --run)")
    e.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out if it exists, wholly (its README, evaluation and curve go too)",
    )
    e.set_defaults(func=_export)

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

    r = sub.add_parser("robot", help="robot descriptions").add_subparsers(dest="what", required=True)
    u = r.add_parser("urdf", help="print the URDF generated from sim_assets/<name>/robot.yaml")
    u.add_argument("name")
    u.set_defaults(func=_robot)
    return p


def _worlds(a: argparse.Namespace) -> int:
    from .nav.worldgen import write_benchmark

    out = Path(a.out)
    if a.count < 1:
        raise Sim2RealError(f"--count: expected at least 1 world, got {a.count}")
    if a.seed < 0:
        raise Sim2RealError(f"--seed: expected a seed >= 0, got {a.seed}")
    if out.exists() and not a.overwrite:
        raise Sim2RealError(f"{out}: exists; pass --overwrite to replace it")
    files = write_benchmark(out, a.count, a.seed, overwrite=a.overwrite)
    print(f"wrote {len(files)} scenarios to {a.out}")
    return 0


def _benchmark(a: argparse.Namespace) -> int:
    from .nav.task import DWA_MAX_SPEED_MPS, add_eval_args, evaluate_cli

    worlds = Path(a.out) / "worlds"
    _worlds(argparse.Namespace(out=str(worlds), count=a.count, seed=a.seed, overwrite=True))
    # Every `eval nav` option at its default (so an option added there never breaks this verb),
    # then the benchmark's own choices.
    defaults = argparse.ArgumentParser()
    add_eval_args(defaults)
    ns = defaults.parse_args(["--scenarios", str(worlds)])
    vars(ns).update(
        policy=a.policy,
        planner="dwa",
        robot=None,
        runs=1,
        sim=a.sim,
        rate_hz=10.0,
        dwa_max_speed_mps=DWA_MAX_SPEED_MPS,
        no_guard=False,
        workers=a.workers,
        out=str(Path(a.out) / "nav_benchmark.json"),
        plot=None,
    )
    return evaluate_cli(ns)


def _robot(a: argparse.Namespace) -> int:
    from sim2real_runtime.robot import load_robot

    from .nav.urdf import robot_urdf

    sys.stdout.write(robot_urdf(load_robot(a.name)))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # The nodes parse their own options.
    if argv[:1] == ["deploy"] and len(argv) > 1 and argv[1] in domains():
        argv = [*argv[:2], "--", *argv[2:]]
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except Sim2RealError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder the user named: missing, unreadable, not writable
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Every writer of this command works in a temporary sibling and swaps it in at the end, so
        # an interrupted command leaves nothing half-written.
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
