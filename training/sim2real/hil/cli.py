"""``sim2real hil manip``: human-in-the-loop residual fine-tuning, actor and learner as two processes.

    sim2real hil manip --base policies/manip_panda_bc --dataset datasets/manip_pick_place_demos \\
        --run-dir runs/hil --budget-steps 5000

runs the learner (this command with ``--role learner``, a child process) and the actor (this
process: the arm's sim bridge, the manip policy node with hot reload on ``<run-dir>/policy``,
the scripted takeover human), which stream transitions over DDS. ``--role learner`` / ``--role
actor`` run one side only (another terminal, another machine on the same DDS domain). The run
folder is a fine-tuning run: ``sim2real export --run R --out O`` exports its latest checkpoint.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from sim2real_runtime.errors import Sim2RealError

from ..residual.cli import add_residual_args, residual_argv

ROLES = ("both", "learner", "actor")


def add_hil_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=ROLES, default="both", help="run both processes, or one side")
    p.add_argument("--base", help="the base policy folder (learner)")
    p.add_argument("--dataset", help="its LeRobot v3 demonstration dataset (learner)")
    p.add_argument("--run-dir", required=True, help="the learner's run folder (a fine-tuning run)")
    p.add_argument("--policy-dir", help="the folder the learner exports to and the node watches "
                   "(default <run-dir>/policy)")  # fmt: skip
    p.add_argument("--budget-steps", type=int, default=5000, help="transitions the learner takes (5000)")
    p.add_argument("--episodes", type=int, default=0, help="actor: episodes (0: until the learner is done)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--export-every-updates", type=int, default=500)
    p.add_argument("--stall-s", type=float, default=5.0, help="learner: no transition this long = stalled")
    add_residual_args(p)
    p.add_argument("--real-time-factor", type=float, default=1.0, help="actor: simulated s per wall s")
    p.add_argument("--no-human", action="store_true", help="actor: the policy alone (no scripted human)")
    p.add_argument("--threads", type=int, default=1, help="learner: torch threads")
    p.add_argument("--robot-topics", action="store_true", help="actor: the node on live topics (a robot, "
                   "or a simulator started elsewhere); the reward is std_msgs/Bool on /hil/success or the "
                   "device's success button")  # fmt: skip
    p.add_argument("--teleop", default="none", help="actor --robot-topics: the operator's device (node "
                   "parameter teleop: keyboard, spacemouse, joy, gamepad...)")  # fmt: skip
    p.add_argument("--episode-time-s", type=float, default=30.0, help="actor --robot-topics: episode limit")
    p.add_argument(
        "--reset-time-s", type=float, default=5.0, help="actor --robot-topics: pause between episodes"
    )
    p.add_argument(
        "--use-sim-time", action="store_true", help="actor --robot-topics: the node follows /clock"
    )


def _policy_dir(a: argparse.Namespace) -> Path:
    return Path(a.policy_dir) if a.policy_dir else Path(a.run_dir) / "policy"


def run_learner(a: argparse.Namespace) -> int:
    import logging
    import warnings

    from ..residual.finetune import FinetuneConfig, residual_from_args
    from ..tasks import get_task
    from .learner import HilConfig, HilLearner

    # torch.onnx's exporter warns about torchvision and its own deprecations at every export
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    if not a.base or not a.dataset:
        raise Sim2RealError("--role learner needs --base and --dataset")
    cfg = FinetuneConfig()
    cfg = replace(cfg, budget_steps=a.budget_steps, seed=a.seed, export_to=str(_policy_dir(a)),
                  checkpoint_every_steps=min(2000, a.budget_steps), threads=a.threads,
                  residual=residual_from_args(a, cfg.residual))  # fmt: skip
    if a.budget_steps < 1 or a.export_every_updates < 1:
        raise Sim2RealError("--budget-steps and --export-every-updates must be >= 1")
    hil = HilConfig(export_every_updates=a.export_every_updates, stall_s=a.stall_s)
    task = get_task("manip", "pick_place")
    lr = HilLearner(task, Path(a.base), Path(a.dataset), cfg, hil, Path(a.run_dir))
    try:
        print(f"hil learner: {len(lr.demo)} demonstration transitions; exporting to {cfg.export_to}; "
              f"listening on {hil.transitions_topic}", flush=True)  # fmt: skip
        s = lr.run()
    finally:
        lr.close()
    print(f"hil learner: done: {s['transitions']} transitions, {s['episodes']} episodes, "
          f"{s['intervention_transitions']} by the human, {s['updates']} updates, {s['exports']} exports, "
          f"{s['lost']} lost, {s['wall_time_s']:.0f} s", flush=True)  # fmt: skip
    return 0


def run_actor(a: argparse.Namespace, learner: subprocess.Popen | None = None) -> int:
    from .actor import ActorConfig, ActorSession, run_sim_actor

    pdir = _policy_dir(a)
    t0 = time.monotonic()
    while not pdir.exists():  # the learner puts the base there first
        if learner is not None and learner.poll() is not None:
            raise Sim2RealError(f"the learner exited ({learner.returncode}) before {pdir} existed")
        if time.monotonic() - t0 > 120:
            raise Sim2RealError(f"{pdir}: no policy after 120 s (is the learner running?)")
        time.sleep(0.2)
    Path(a.run_dir).mkdir(parents=True, exist_ok=True)
    log = Path(a.run_dir) / "actor_episodes.jsonl"
    if a.robot_topics:
        from .actor import LiveActorConfig, run_live_actor

        live = LiveActorConfig(policy_dir=str(pdir), episodes=a.episodes, episode_time_s=a.episode_time_s,
                               reset_time_s=a.reset_time_s, teleop=a.teleop, use_sim_time=a.use_sim_time,
                               episodes_log=str(log))  # fmt: skip
        run_live_actor(live, on_episode=lambda r: print(f"hil actor: {r}", flush=True))
        return 0
    cfg = ActorConfig(
        policy_dir=str(pdir),
        episodes=a.episodes,
        seed=a.seed,
        real_time_factor=a.real_time_factor,
        human=not a.no_human,
        episodes_log=str(log),
    )
    session = ActorSession()
    said = [False]

    def on_episode(r: dict[str, Any]) -> None:
        print(f"hil actor: episode {r['episode']} (seed {r['seed']}): {r['outcome']}, {r['transitions']} "
              f"transitions, {r['takeovers']} takeovers ({r['intervention_steps']} human steps), policy "
              f"{r['policy_version']}", flush=True)  # fmt: skip
        if learner is not None and learner.poll() is not None:
            if learner.returncode == 0:
                session.stop.set()  # the learner's budget is done
            elif not said[0]:
                said[0] = True
                print(f"hil actor: the learner died ({learner.returncode}); driving on policy "
                      f"{r['policy_version']}", flush=True)  # fmt: skip

    run_sim_actor(cfg, session, on_episode)
    return 0


def hil_cli(a: argparse.Namespace) -> int:
    """``sim2real hil manip``."""
    if a.role == "learner":
        return run_learner(a)
    if a.role == "actor":
        return run_actor(a)
    if a.robot_topics:
        raise Sim2RealError(
            "--robot-topics: run the actor (--role actor) and the learner (--role learner) apart"
        )
    Path(a.run_dir).mkdir(parents=True, exist_ok=True)
    if any(p.name != "actor_episodes.jsonl" for p in Path(a.run_dir).iterdir()):
        raise Sim2RealError(f"{a.run_dir}: exists and is not empty")
    cmd = [sys.executable, "-m", "sim2real.cli", "hil", "manip", *learner_argv(a)]
    learner = subprocess.Popen(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        return run_actor(a, learner)
    finally:
        if learner.poll() is None:
            learner.wait()


def learner_argv(a: argparse.Namespace) -> list[str]:
    """The learner's command line (``--role learner``) for the options ``a``."""
    out = ["--role", "learner", "--base", str(a.base), "--dataset", str(a.dataset),
           "--run-dir", str(a.run_dir),
           "--policy-dir", str(_policy_dir(a)), "--budget-steps", str(a.budget_steps), "--seed", str(a.seed),
           "--export-every-updates", str(a.export_every_updates), "--stall-s", str(a.stall_s),
           "--threads", str(a.threads)]  # fmt: skip
    return out + residual_argv(a)
