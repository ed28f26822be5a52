"""The registry of training tasks, tested over every registered task: each builds, resets and steps
through the VecEnv API, PPO runs an iteration on it, DAgger runs where there is an expert and
refuses where there is none, its draft contract round-trips and is refused when wrong, export
refuses a changed description file, and ``sim2real list`` names it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from sim2real.cli import main
from sim2real.draft import DRAFT_NAME, REPO, build_draft
from sim2real.export import export_run
from sim2real.tasks import Task, all_tasks, get_task, register_task
from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.errors import ConfigError, Sim2RealError

TASKS = all_tasks()
IDS = [t.key for t in TASKS]
NUM_ENVS = 4


def small_config(task: Task):
    """The task's default config with few worlds (nav) so that building an env takes < 1 s."""
    cfg = task.default_config()
    if hasattr(cfg.task, "num_worlds"):
        cfg = dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, num_worlds=4))
    if hasattr(cfg, "threads"):
        cfg = dataclasses.replace(cfg, threads=1)
    if hasattr(cfg, "validation_worlds"):  # nav: checkpoint selection on 2 worlds, not 60
        cfg = dataclasses.replace(cfg, validation_worlds=2)
    return cfg


def test_the_tasks_of_today_are_registered_with_one_default_per_domain() -> None:
    assert {t.key for t in TASKS} >= {"nav/goal", "quad/track", "manip/pick_place", "manip/reach"}
    for domain in {t.domain for t in TASKS}:
        assert sum(t.default for t in TASKS if t.domain == domain) == 1
    assert get_task("manip").name == "pick_place" and get_task("nav").name == "goal"


def test_registering_a_task_twice_or_for_an_unknown_domain_is_an_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_task(get_task("nav", "goal"))
    with pytest.raises(ConfigError, match="unknown domain"):
        register_task(dataclasses.replace(get_task("nav", "goal"), domain="boat", default=False))
    with pytest.raises(ValueError, match="trainer"):
        register_task(dataclasses.replace(get_task("nav", "goal"), name="x", trainer="sac", default=False))
    with pytest.raises(Sim2RealError, match=r"unknown task 'nope'.*goal"):
        get_task("nav", "nope")


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_task_builds_resets_and_steps_through_the_vecenv_api(task: Task) -> None:
    env = task.make_env(small_config(task), NUM_ENVS, 0)
    obs = env.get_observations()
    assert set(obs.keys()) >= {"policy", "critic"} and obs["policy"].shape[0] == NUM_ENVS
    assert env.num_envs == NUM_ENVS and env.max_episode_length > 0 and str(env.device) == "cpu"
    assert env.episode_length_buf.shape == (NUM_ENVS,)
    rng = np.random.default_rng(0)
    for _ in range(3):
        act = torch.from_numpy(rng.uniform(-1, 1, (NUM_ENVS, env.num_actions)).astype(np.float32))
        obs, rew, dones, extras = env.step(act)
        for group in ("policy", "critic"):
            assert torch.isfinite(obs[group]).all()
        assert rew.shape == (NUM_ENVS,) and torch.isfinite(rew).all()
        assert dones.shape == (NUM_ENVS,) and extras["time_outs"].shape == (NUM_ENVS,)
        assert isinstance(extras["log"], dict)
    assert obs["policy"].shape[1] == task.build_contract(small_config(task)).obs_size


def tiny_ppo(cfg):
    from sim2real.rl import PPOConfig

    base = getattr(cfg, "ppo", PPOConfig())
    return dataclasses.replace(base, num_envs=NUM_ENVS, steps_per_env=4, hidden_dims=(16, 16),
                               critic_hidden_dims=(), num_mini_batches=1, num_learning_epochs=1)  # fmt: skip


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_ppo_runs_an_iteration_on_every_task(task: Task, tmp_path: Path) -> None:
    """rsl-rl's OnPolicyRunner on the task's VecEnv (the arm through its wrapper and dense reward)."""
    import time

    from sim2real import rl

    cfg = small_config(task)
    env = task.make_env(cfg, NUM_ENVS, 0)
    limits = rl.RunLimits(max_iterations=1, max_wall_time_s=60.0, save_interval=1, torch_threads=1)
    final = rl.run_ppo(env, tiny_ppo(cfg), limits, tmp_path, dict, time.time())
    assert final.is_file()
    summary = json.loads((tmp_path / "train_summary.json").read_text())
    assert summary["iterations"] == 1 and summary["env_steps"] == NUM_ENVS * 4


def tiny_dagger_config(task: Task):
    from sim2real.dagger import DaggerConfig

    cfg = small_config(task)
    dagger = DaggerConfig(num_envs=4, steps_per_iteration=5, iterations=2, expert_only_iterations=1,
                          hidden_dims=(16, 16), updates_per_iteration=2, batch_size=8)  # fmt: skip
    return dataclasses.replace(cfg, dagger=dagger)


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_dagger_runs_where_there_is_an_expert_and_refuses_elsewhere(task: Task, tmp_path: Path) -> None:
    from sim2real.trainers import train

    run = tmp_path / "run"
    if not hasattr(task.default_config(), "dagger"):
        with pytest.raises(Sim2RealError, match="dagger"):
            train(task, small_config(task), run, progress=False, trainer="dagger")
        assert not run.exists()  # nothing written
        return
    final = train(task, tiny_dagger_config(task), run, progress=False, trainer="dagger")
    assert final.name == "model_1.pt" and (run / DRAFT_NAME).is_file()
    s = json.loads((run / "train_summary.json").read_text())
    assert s["env_steps"] == 40 and s["iterations"] == 2


def test_dagger_through_the_wrapper_sees_the_bare_environment() -> None:
    """The VecEnv wrapper draws nothing from the env's generator: same seed, same actions -> the
    same observations and outcomes as ManipEnv itself."""
    from sim2real.manip.config import ManipTaskConfig
    from sim2real.manip.env import ManipEnv
    from sim2real.manip.vecenv import ManipVecEnv

    cfg = ManipTaskConfig(episode_time_s=0.4)
    bare = ManipEnv(cfg, 3, seed=4, threads=1)
    wrapped = ManipVecEnv(cfg, 3, seed=4, threads=1)
    np.testing.assert_array_equal(bare.observe(), wrapped.get_observations()["policy"].numpy())
    for _ in range(15):  # past the 10-step time limit: auto-reset included
        a = bare.expert_action()
        np.testing.assert_array_equal(a, wrapped.expert_action())
        r = bare.step(a)
        obs, _, dones, extras = wrapped.step(torch.from_numpy(a))
        np.testing.assert_array_equal(r.obs, obs["policy"].numpy())
        np.testing.assert_array_equal(r.done, dones.numpy())
        np.testing.assert_array_equal(r.success, extras["episode_success"].numpy())


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_draft_contract_round_trips_and_records_its_description_files(task: Task) -> None:
    draft = build_draft(task, small_config(task))
    again = PolicyContract.from_json(draft.to_json(), "draft")
    assert again.to_json() == draft.to_json() and draft.domain == task.domain
    files = draft.provenance["description_files"]
    # inside the repository: recorded relative to it (a run exports from another checkout)
    assert files and all(not Path(f["path"]).is_absolute() for f in files)
    assert all((REPO / f["path"]).is_file() and len(f["sha256"]) == 64 for f in files)
    assert draft.provenance["task"] == task.key


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_contract_with_an_unknown_term_kind_or_another_domain_is_refused(task: Task) -> None:
    d = build_draft(task, small_config(task)).to_dict()
    bad = json.loads(json.dumps(d))
    bad["observation"]["terms"][0]["kind"] = "no_such_term"
    with pytest.raises(ConfigError, match="kind"):
        PolicyContract.from_dict(bad, "c")
    other = next(t.domain for t in TASKS if t.domain != task.domain)
    wrong = json.loads(json.dumps(d))
    wrong["domain"] = other
    with pytest.raises(ConfigError):
        PolicyContract.from_dict(wrong, "c")
    wrong["domain"] = "boat"
    with pytest.raises(ConfigError, match="domain"):
        PolicyContract.from_dict(wrong, "c")


def _copy_run(tiny_run, tmp_path: Path) -> Path:
    run, _ = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy


def test_export_refuses_a_changed_description_file_naming_it(tiny_run, tmp_path: Path) -> None:
    from sim2real_runtime.config_files import ASSETS_DIR

    run = _copy_run(tiny_run, tmp_path)
    robot = tmp_path / "jackal.yaml"
    shutil.copy(ASSETS_DIR / "jackal" / "robot.yaml", robot)
    draft_file = run / DRAFT_NAME
    d = json.loads(draft_file.read_text())
    d["provenance"]["description_files"][0]["path"] = str(robot)
    draft_file.write_text(json.dumps(d))
    export_run(run, tmp_path / "ok")  # unchanged: exports
    robot.write_text(robot.read_text() + "\n# edited\n")
    with pytest.raises(Sim2RealError, match=f"{robot}.*changed since training"):
        export_run(run, tmp_path / "pol")
    assert not (tmp_path / "pol").exists()
    assert main(["export", "--run", str(run), "--out", str(tmp_path / "pol")]) == 2


def test_export_of_a_run_without_draft_warns_and_uses_its_config(tiny_run, tmp_path: Path, capsys) -> None:
    run = _copy_run(tiny_run, tmp_path)
    (run / DRAFT_NAME).unlink()
    out = export_run(run, tmp_path / "pol")
    assert "no contract.draft.json" in capsys.readouterr().err
    from sim2real_runtime.policy import OnnxPolicy

    assert OnnxPolicy(out).contract.provenance["task"] == "nav/goal"


def test_export_with_the_wrong_domain_is_refused(tiny_run, tmp_path: Path, capsys) -> None:
    run, _ = tiny_run
    assert main(["export", "quad", "--run", str(run), "--out", str(tmp_path / "p")]) == 2
    assert "domain" in capsys.readouterr().err and not (tmp_path / "p").exists()
    assert main(["export", "nav", "--run", str(run), "--out", str(tmp_path / "p")]) == 0


def test_list_prints_one_line_per_task(capsys) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [" ".join(line.split()[:2]) for line in lines] == [f"{t.domain} {t.name}" for t in TASKS]


@pytest.mark.parametrize("domain", sorted({t.domain for t in TASKS}))
def test_random_policy_fixture_exports_each_domain(random_policy, domain: str) -> None:
    from sim2real_runtime.policy import OnnxPolicy

    pol = OnnxPolicy(random_policy(domain))
    assert pol.contract.domain == domain
    out = pol(np.zeros((1, pol.contract.obs_size), dtype=np.float32))
    assert out.shape == (1, pol.contract.action_size) and np.isfinite(out).all()
