"""The arm tasks: ``manip/pick_place`` (the cube to a target) and ``manip/reach`` (the TCP to a
target position and yaw), a Franka Panda in MuJoCo.

Registered in :mod:`sim2real.tasks`: config, VecEnv (:class:`~sim2real.manip.vecenv.ManipVecEnv`
over :class:`~sim2real.manip.env.ManipEnv`, with the scripted expert's action and a dense reward),
DAgger on the expert, the draft contract (from ``sim_assets/panda/panda.urdf``), ``sim2real eval
manip`` and ``sim2real sim manip``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.domains import get_domain

from ..task_cli import add_policy_eval_args, finish_evaluation, run_sim_bridge
from ..tasks import Task, register_task
from .config import ASSETS, ManipTaskConfig, ManipTrainConfig
from .record import add_record_args, record_cli

SIMULATOR = "MuJoCo (sim_assets/panda/pick_place.xml), batched with mujoco.rollout"
URDF = ASSETS / "panda.urdf"


def build_contract(cfg: ManipTrainConfig) -> PolicyContract:
    """The arm contract of a training config: the URDF's chain, gripper, safety limits, task."""
    from .env import panda_chain, safety_config, task_specs

    t = cfg.task
    chain = panda_chain()
    obs_specs, act_specs = task_specs(t, chain)
    robot = {
        "name": "panda",
        "urdf": "sim_assets/panda/panda.urdf",
        "kinematics": chain.to_dict(),
        "gripper": {"joints": ["panda_finger_joint1", "panda_finger_joint2"], "max_width_m": t.max_width_m},
        "safety": asdict(safety_config(t)),
        "task": {
            "name": t.task,
            "success_tolerance_m": t.success_tolerance_m,
            "episode_time_s": t.episode_time_s,
        },
    }
    return PolicyContract(
        domain="manip",
        robot=robot,
        control_rate_hz=t.control_rate_hz,
        observation=tuple(obs_specs),
        action=tuple(act_specs),
        joint_names=chain.joint_names,
    )


def make_env(cfg: ManipTrainConfig, num_envs: int, seed: int) -> Any:
    from .vecenv import ManipVecEnv

    return ManipVecEnv(cfg.task, num_envs, seed=seed, threads=cfg.threads)


def add_eval_args(p: argparse.ArgumentParser) -> None:
    add_policy_eval_args(
        p,
        episodes=200,
        controllers=("policy", "expert"),
        controller_help="expert: the privileged scripted expert on the same episodes (the baseline)",
    )


def evaluate_cli(a: argparse.Namespace) -> int:
    """``sim2real eval manip``: success rate, time to success, peak joint speed and contact force."""
    from .evaluate import evaluate_policy, format_summary, write_report

    report = evaluate_policy(Path(a.policy), episodes=a.episodes, seed=a.seed, controller=a.controller)
    return finish_evaluation(a, report, format_summary(report), write_report)


def add_sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="the episode's cube, start pose and target")
    p.add_argument("--target", type=float, nargs=3, metavar=("X", "Y", "Z"), help="target (m, panda_link0)")
    p.add_argument("--target-yaw-rad", type=float, help="reach: the target's yaw (default: drawn)")
    p.add_argument("--command-interface", choices=["forward", "trajectory"], default="forward")
    p.add_argument("--arm-controller", default="arm_controller")
    p.add_argument("--gripper-interface", choices=["forward", "action"], default="forward")
    p.add_argument("--gripper-controller", default="gripper_controller")
    p.add_argument("--real-time-factor", type=float, default=1.0, help="sim seconds per wall second (0: max)")
    p.add_argument("--no-noise", action="store_true", help="no joint state or object pose noise")
    p.add_argument("--episode", action="store_true", help="exit at success, a dropped cube or the time limit")
    p.add_argument("--episode-time-s", type=float, default=10.0, help="from the first arm command")
    p.add_argument(
        "--startup-timeout-s", type=float, default=60.0, help="--episode: give up (wall s) without commands"
    )
    p.add_argument("--duration-s", type=float, help="exit after this much simulated time")
    p.add_argument("--result", help="write the episode's result (JSON) here on exit")


def sim_cli(a: argparse.Namespace) -> int:
    """``sim2real sim manip``: a Panda + cube over ros2_control-style topics (Cyclone DDS)."""
    from sim2real_ros.dds import DdsTransport

    from .sim_bridge import ArmBridgeConfig, ManipSimBridge

    cfg = ArmBridgeConfig(
        task=a.task,
        command_interface=a.command_interface,
        arm_controller=a.arm_controller,
        gripper_interface=a.gripper_interface,
        gripper_controller=a.gripper_controller,
        real_time_factor=a.real_time_factor,
        episode_time_s=a.episode_time_s,
        **({"object_pos_noise_std_m": 0.0, "object_yaw_noise_std_rad": 0.0, "joint_pos_noise_std_rad": 0.0,
            "joint_vel_noise_std_radps": 0.0} if a.no_noise else {}),
    )  # fmt: skip
    transport = DdsTransport("sim_bridge")
    bridge = ManipSimBridge(transport, cfg)
    bridge.reset(a.seed, tuple(a.target) if a.target else None, a.target_yaw_rad)
    tg = bridge.target_m
    print(
        f"panda {a.task} (seed {a.seed}): cube {bridge.half_size_m * 200:.1f} cm at "
        f"{[round(float(v), 3) for v in bridge.object_pos]}, target {[round(float(v), 3) for v in tg]} "
        f"yaw {bridge.target_yaw_rad:.2f} in panda_link0; arm {a.command_interface} on "
        f"/{a.arm_controller}, gripper {a.gripper_interface} on /{a.gripper_controller}",
        flush=True,
    )
    wall0 = time.monotonic()

    def done() -> bool:
        if a.episode and bridge.outcome is not None:
            return True
        if a.episode and bridge.episode_start_s is None and time.monotonic() - wall0 > a.startup_timeout_s:
            bridge.outcome = "no_commands"
            return True
        return a.duration_s is not None and bridge.clock_s >= a.duration_s

    return run_sim_bridge(bridge, transport, a, done)


for _name, _description, _default in (
    (
        "pick_place",
        "Panda pick-and-place of a randomised cube to a target (DAgger on a scripted expert)",
        True,
    ),
    ("reach", "Panda reach: the TCP to a target position and yaw (DAgger on a scripted expert)", False),
):
    register_task(
        Task(
            domain="manip",
            name=_name,
            description=_description,
            config_class=ManipTrainConfig,
            default_config=(lambda n=_name: ManipTrainConfig(task=replace(ManipTaskConfig(), task=n))),
            make_env=make_env,
            trainer="dagger",
            build_contract=build_contract,
            description_files=lambda cfg: (get_domain("manip").description_file(URDF),),
            simulator=SIMULATOR,
            run_name=lambda cfg: f"manip_{cfg.task.task}",
            default=_default,
            accepts_config=(lambda cfg, n=_name: cfg.task.task == n),
            plot_training="sim2real.manip.plots:plot_training",
            add_eval_args=add_eval_args,
            evaluator=evaluate_cli,
            add_sim_args=add_sim_args,
            sim_bridge=sim_cli,
            add_record_args=add_record_args,
            recorder=record_cli,
        )
    )
