"""The arm's training side: the simulator, the scripted expert in closed loop, a tiny DAgger run
exported and evaluated through the ONNX file, and the same observation in the env and the node's
controller."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim2real.export import export_run
from sim2real.manip.config import DaggerConfig, ManipRandomization, ManipTaskConfig, ManipTrainConfig
from sim2real.manip.env import ManipEnv, panda_chain
from sim2real.manip.evaluate import evaluate_policy
from sim2real.manip.mujoco_arm import ArmWorlds
from sim2real.tasks import get_task
from sim2real.trainers import train
from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.manip_control import ManipController, ManipSafetyConfig
from sim2real_runtime.policy import OnnxPolicy


def test_cube_randomisation_reaches_the_physics() -> None:
    w = ArmWorlds(2, threads=1)
    dr = ManipRandomization(cube_half_size_m=(0.03, 0.03), cube_mass_kg=(0.2, 0.2))
    w.reset(np.arange(2), np.random.default_rng(0), dr)
    for _ in range(10):
        w.step(w.ctrl.copy())
    assert w.object_pos[:, 2] == pytest.approx([0.03, 0.03], abs=1e-3)  # resting on the table
    assert w.models[0].body_mass[w.cube_body] == pytest.approx(0.2)


@pytest.mark.parametrize("task", ["reach", "pick_place"])
def test_scripted_expert_succeeds_in_closed_loop(task: str) -> None:
    env = ManipEnv(ManipTaskConfig(task=task, episode_time_s=6.0), 16, seed=3, threads=1, auto_reset=False)
    env.observe()
    done = np.zeros(16, bool)
    for _ in range(env.max_steps):
        done |= env.step(env.expert_action()).success
    assert done.mean() >= 0.9


@pytest.fixture(scope="module")
def tiny_manip_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("manip_run")
    cfg = ManipTrainConfig(
        task=ManipTaskConfig(episode_time_s=4.0),
        dagger=DaggerConfig(num_envs=8, steps_per_iteration=10, iterations=2, expert_only_iterations=1,
                            hidden_dims=(32, 32), updates_per_iteration=5, batch_size=32),
        threads=1,
    )  # fmt: skip
    train(get_task("manip", "pick_place"), cfg, run, progress=False)
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["env_steps"] == 160 and summary["iterations"] == 2
    assert (run / "model_1.pt").is_file() and (run / "train_log.json").is_file()
    return run


def test_export_writes_a_checked_manipulation_contract(tiny_manip_run: Path, tmp_path: Path) -> None:
    out = export_run(tiny_manip_run, tmp_path / "policy")
    policy = OnnxPolicy(out)
    c = policy.contract
    assert c.domain == "manip" and c.control_rate_hz == 25.0
    assert c.joint_names == panda_chain().joint_names
    assert [t.name for t in c.action] == ["joint_delta", "gripper"] and c.action_size == 8
    assert c.robot["task"]["success_tolerance_m"] == 0.03
    assert json.loads(json.dumps(c.provenance["config"]))["dagger"]["iterations"] == 2


def test_eval_reports_and_refuses_the_training_seed(tiny_manip_run: Path, tmp_path: Path) -> None:
    out = export_run(tiny_manip_run, tmp_path / "policy")
    with pytest.raises(Sim2RealError, match="training seed"):
        evaluate_policy(out, episodes=2, seed=0, progress=False)
    report = evaluate_policy(out, episodes=3, seed=7, progress=False)
    s = report["summary"]
    assert s["episodes"] == 3 and 0.0 <= s["success_rate"] <= 1.0
    assert len(report["episodes"]) == 3
    # whatever an untrained policy does, the safety layer keeps the arm inside its speed budget
    assert s["peak_joint_speed_radps_max"] < 2.61
    # the baseline on the same episodes: the scripted expert
    expert = evaluate_policy(out, episodes=3, seed=7, progress=False, controller="expert")["summary"]
    assert expert["success_rate"] == 1.0 and expert["controller"].startswith("scripted expert")


def test_node_controller_sees_the_training_observation(tiny_manip_run: Path, tmp_path: Path) -> None:
    """The deployment controller, given the env's signals, builds the env's observation and
    moves the target as the env does."""
    policy = OnnxPolicy(export_run(tiny_manip_run, tmp_path / "policy"))
    cfg = ManipTaskConfig(dr=replace(ManipRandomization(), joint_pos_noise_rad=0.0, joint_vel_noise_radps=0.0,
                                     object_pos_noise_m=0.0, object_yaw_noise_rad=0.0))  # fmt: skip
    env = ManipEnv(cfg, 1, seed=5, threads=1, auto_reset=False)
    ctl = ManipController(policy, panda_chain(), ManipSafetyConfig(), 25.0)
    for _ in range(5):
        obs = env.observe()
        sig = {
            k: v.copy()
            for k, v in env._last_signals.items()
            if k not in ("tcp_pos", "tcp_rot", "prev_action")
        }
        target, closed, _ = ctl.step(sig)
        assert ctl.last_obs == pytest.approx(obs, abs=1e-6)
        action = policy(obs)
        env.step(action)
        assert target == pytest.approx(env.joint_target[0], abs=1e-9)
        assert closed == bool(action[0, 7] > 0)
