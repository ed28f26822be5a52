"""Behaviour cloning: a tiny dataset trained a few epochs, exported, ONNX equal to torch, the
dataset's path and hash in the run and the contract; datasets that do not fit the task's contract
refused naming the field, with nothing written."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from sim2real.bc import BCConfig, dataset_sha256, split_episodes
from sim2real.datasets.lerobot_v3 import DatasetSpec, open_writer
from sim2real.draft import build_draft
from sim2real.export import export_run, load_run_actor, run_task
from sim2real.manip.config import ManipTaskConfig, ManipTrainConfig
from sim2real.onnx_export import latest_checkpoint
from sim2real.tasks import get_task
from sim2real.trainers import Overrides, get_trainer, train, with_overrides
from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.policy import OnnxPolicy

TASK = get_task("manip", "pick_place")


def _write(
    root: Path,
    contract: dict,
    episodes: int = 4,
    length: int = 30,
    seed: int = 0,
    failed: tuple[int, ...] = (),
) -> Path:
    """A dataset of ``episodes`` synthetic episodes whose action is a fixed linear map of the
    observation (so a network can learn it): a = tanh(W obs), gripper = sign of obs[0]. Each
    succeeds at its last frame, except the episodes in ``failed``."""
    rng = np.random.default_rng(seed)
    spec = DatasetSpec.from_contract(contract, "pick_place")
    n_obs, n_act = int(contract["observation"]["size"]), int(contract["action"]["size"])
    w = np.random.default_rng(123).normal(0, 0.3, (n_act - 1, n_obs))
    with open_writer(root, spec, fsync=False) as wr:
        for e in range(episodes):
            for k in range(length):
                obs = rng.normal(0, 1, n_obs).astype(np.float32)
                act = np.append(np.tanh(w @ obs), 1.0 if obs[0] > 0 else -1.0).astype(np.float32)
                wr.add_frame({
                    "observation.state": obs, "action": act, "intervention": True,
                    "next.reward": 0.0, "next.done": k == length - 1,
                    "next.success": k == length - 1 and e not in failed,
                })  # fmt: skip
            wr.save_episode("pick_place")
    return root


def _cfg(dataset: Path, epochs: int = 3) -> ManipTrainConfig:
    return ManipTrainConfig(
        bc=BCConfig(
            dataset=str(dataset),
            epochs=epochs,
            hidden_dims=(32, 32),
            batch_size=32,
            save_every_epochs=2,
            reaction_delay_s=0.0,  # the synthetic actions answer their own frame's observation
        )
    )


def _contract(cfg: ManipTrainConfig | None = None) -> dict:
    return json.loads(build_draft(TASK, cfg or ManipTrainConfig()).to_json())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("bc") / "demos", _contract())


@pytest.fixture(scope="module")
def bc_run(tmp_path_factory: pytest.TempPathFactory, dataset: Path) -> Path:
    run = tmp_path_factory.mktemp("bc_run")
    train(TASK, _cfg(dataset), run, progress=False, trainer="bc")
    return run


def test_tiny_dataset_trains_exports_and_onnx_matches_torch(
    bc_run: Path, dataset: Path, tmp_path: Path
) -> None:
    summary = json.loads((bc_run / "train_summary.json").read_text())
    assert summary["iterations"] == 3 and summary["dataset_frames"] == 120
    assert summary["validation_episodes"] == 1 and summary["train_frames"] == 90
    # early stopping: a checkpoint at each new best validation loss; the latest is the best
    log = json.loads((bc_run / "train_log.json").read_text())
    vals = [e["val_loss"] for e in log]
    saved = sorted(int(p.stem.split("_")[1]) for p in bc_run.glob("model_*.pt"))
    assert saved == [k for k in range(3) if vals[k] < min(vals[:k], default=np.inf)]
    assert summary["checkpoint_epoch"] == saved[-1] == int(np.argmin(vals))
    # BC draws its own loss curve, though the task's plot is its DAgger trainer's
    assert (bc_run / "training_curve.png").read_bytes()[:4] == b"\x89PNG"
    out = export_run(bc_run, tmp_path / "policy")
    policy = OnnxPolicy(out)
    task, cfg, _ = run_task(bc_run)
    actor = load_run_actor(task, cfg, latest_checkpoint(bc_run), policy.contract)
    from sim2real.datasets.lerobot_v3 import LeRobotV3Dataset

    obs = LeRobotV3Dataset.load(dataset).frames["observation.state"][:50]
    with torch.no_grad():
        ref = actor.mlp(actor.obs_normalizer(torch.from_numpy(obs))).numpy()
    got = policy.session.run(None, {policy.session.get_inputs()[0].name: obs})[0]
    assert np.abs(got - ref).max() < 1e-4
    assert policy.contract.provenance["trainer"] == "bc"


def test_the_run_and_the_contract_record_the_dataset_and_its_hash(
    bc_run: Path, dataset: Path, tmp_path: Path
) -> None:
    cfg = json.loads((bc_run / "config.json").read_text())
    assert cfg["bc"]["dataset"] == str(dataset)
    prov = json.loads((bc_run / "contract.draft.json").read_text())["provenance"]
    assert prov["trainer"] == "bc"
    assert prov["dataset"]["sha256"] == dataset_sha256(dataset)
    assert prov["dataset"]["path"] == str(dataset.resolve())
    assert (prov["dataset"]["episodes"], prov["dataset"]["frames"], prov["dataset"]["fps"]) == (4, 120, 25.0)
    exported = OnnxPolicy(export_run(bc_run, tmp_path / "p")).contract.provenance
    assert exported["dataset"] == prov["dataset"] and exported["trainer"] == "bc"


def test_dataset_hash_follows_the_content_not_the_folder(dataset: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    assert dataset_sha256(copy) == dataset_sha256(dataset)
    other = _write(tmp_path / "other", _contract(), seed=1)
    assert dataset_sha256(other) != dataset_sha256(dataset)


def test_bc_learns_the_demonstrated_map(tmp_path: Path) -> None:
    data = _write(tmp_path / "d", _contract(), episodes=10, length=40)
    run = tmp_path / "run"
    cfg = replace(
        _cfg(data, epochs=40),
        bc=replace(_cfg(data).bc, epochs=40, hidden_dims=(64, 64), save_every_epochs=40),
    )
    train(TASK, cfg, run, progress=False, trainer="bc")
    log = json.loads((run / "train_log.json").read_text())
    assert log[-1]["train_loss"] < 0.3 * log[0]["train_loss"]
    assert log[-1]["val_loss"] < log[0]["val_loss"]  # it generalises to held-out episodes


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: {**c, "control_rate_hz": 20.0}, "fps"),
        (lambda c: {**c, "robot": {**c["robot"], "name": "fr3"}}, "robot_type"),
        (
            lambda c: json.loads(
                build_draft(
                    get_task("manip", "reach"), ManipTrainConfig(task=ManipTaskConfig(task="reach"))
                ).to_json()
            ),
            "features.observation.state",
        ),
        (
            lambda c: {
                **c,
                "robot": {**c["robot"], "gripper": {**c["robot"]["gripper"], "max_width_m": 0.1}},
            },
            "contract.robot.gripper.max_width_m",
        ),
    ],
)
def test_a_dataset_that_does_not_fit_the_contract_is_refused_naming_the_field(
    tmp_path: Path, change, field: str
) -> None:
    data = _write(tmp_path / "d", change(_contract()), episodes=2, length=5)
    run = tmp_path / "run"
    with pytest.raises(Sim2RealError, match=field.replace(".", r"\.")):
        train(TASK, _cfg(data), run, progress=False, trainer="bc")
    assert not run.exists()  # refused before anything was written


def test_missing_or_absent_dataset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Sim2RealError, match="--dataset"):
        train(TASK, ManipTrainConfig(), tmp_path / "r1", progress=False, trainer="bc")
    with pytest.raises(Sim2RealError, match="no such dataset"):
        train(TASK, _cfg(tmp_path / "nope"), tmp_path / "r2", progress=False, trainer="bc")
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()


def test_bc_takes_no_environments() -> None:
    tr = get_trainer("bc")
    with pytest.raises(Sim2RealError, match="--num-envs"):
        with_overrides(tr, ManipTrainConfig(), Overrides(num_envs=8))
    cfg = with_overrides(tr, ManipTrainConfig(), Overrides(iterations=7, seed=3))
    assert cfg.bc.epochs == 7 and cfg.seed == 3


def test_validation_split() -> None:
    tr, va = split_episodes(20, 0.1, seed=0)
    assert len(va) == 2 and len(tr) == 18 and not set(tr) & set(va)
    assert split_episodes(2, 0.1, 0)[1].size == 1 and split_episodes(1, 0.1, 0)[1].size == 0
    assert split_episodes(5, 0.0, 0)[1].size == 0


def test_cli_trains_from_a_dataset(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from sim2real.cli import main

    run = tmp_path / "cli_run"
    assert main(["train", "manip", "--task", "pick_place", "--dataset", str(dataset), "--iterations", "1",
                 "--run-dir", str(run)]) == 0  # fmt: skip
    assert "(bc)" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["bc"]["dataset"] == str(dataset.resolve())


def test_actions_are_paired_with_the_observation_they_responded_to() -> None:
    from sim2real.bc import shifted_index

    ep = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    assert shifted_index(ep, 2).tolist() == [2, 2, 2, 4, 4, 7, 8, 8, 8]
    assert shifted_index(ep, 0).tolist() == list(range(9))


def test_ignored_terms_are_not_read_by_the_exported_policy(dataset: Path, tmp_path: Path) -> None:
    from sim2real.bc import ignored_columns

    contract = build_draft(TASK, ManipTrainConfig())
    cols = ignored_columns(contract, ("previous_action",))
    assert cols.tolist() == list(range(contract.obs_size - 8, contract.obs_size))  # the last term, 8 wide
    cfg = _cfg(dataset)
    cfg = replace(cfg, bc=replace(cfg.bc, ignored_terms=("previous_action",)))
    run = tmp_path / "run"
    train(TASK, cfg, run, progress=False, trainer="bc")
    policy = OnnxPolicy(export_run(run, tmp_path / "p"))
    obs = np.random.default_rng(0).normal(size=(5, contract.obs_size)).astype(np.float32)
    other = obs.copy()
    other[:, cols] = 1.0
    assert np.array_equal(policy(obs), policy(other))
    with pytest.raises(Sim2RealError, match="ignored_terms"):
        ignored_columns(contract, ("no_such_term",))


def test_folded_checkpoint_outputs_the_destandardised_action() -> None:
    from sim2real.bc import actor_ppo_config, folded_state
    from sim2real.onnx_export import make_actor

    torch.manual_seed(0)
    actor = make_actor(actor_ppo_config(BCConfig(hidden_dims=(16, 16))), 6, 3)
    mean, std = torch.tensor([0.1, -0.2, 0.0]), torch.tensor([0.02, 0.5, 1.0])
    folded = make_actor(actor_ppo_config(BCConfig(hidden_dims=(16, 16))), 6, 3)
    folded.load_state_dict(folded_state(actor, mean, std))
    x = torch.randn(4, 6)
    with torch.no_grad():
        want = actor.mlp(actor.obs_normalizer(x)) * std + mean
        got = folded.mlp(folded.obs_normalizer(x))
    assert torch.allclose(got, want, atol=1e-6)


def test_only_successful_episodes_are_learned_from(tmp_path: Path) -> None:
    data = _write(tmp_path / "d", _contract(), episodes=4, length=10, failed=(1,))
    run = tmp_path / "run"
    train(TASK, _cfg(data, epochs=1), run, progress=False, trainer="bc")
    s = json.loads((run / "train_summary.json").read_text())
    assert (s["dataset_episodes_recorded"], s["dataset_episodes_used"], s["dataset_frames"]) == (4, 3, 30)
    none = _write(tmp_path / "none", _contract(), episodes=2, length=5, failed=(0, 1))
    with pytest.raises(Sim2RealError, match="no episode reached the goal"):
        train(TASK, _cfg(none), tmp_path / "run2", progress=False, trainer="bc")


def test_nav_trains_from_a_dataset_too(tmp_path: Path) -> None:
    """The same trainer for another domain: a nav dataset (its contract's features) trains,
    exports and matches torch; an arm dataset is refused for nav naming the field."""
    nav = get_task("nav")
    contract = json.loads(build_draft(nav, nav.default_config()).to_json())
    data = _write(tmp_path / "nav_demos", contract, episodes=3, length=10)
    cfg = nav.default_config()
    cfg = replace(cfg, bc=replace(_cfg(data).bc, epochs=2))
    run = tmp_path / "nav_run"
    train(nav, cfg, run, progress=False, trainer="bc")
    policy = OnnxPolicy(export_run(run, tmp_path / "nav_policy"))
    assert policy.contract.domain == "nav" and policy.contract.provenance["trainer"] == "bc"
    arm = _write(tmp_path / "arm", _contract(), episodes=2, length=5)
    with pytest.raises(Sim2RealError, match=r"fps|robot_type|features\."):
        train(
            nav,
            replace(cfg, bc=replace(cfg.bc, dataset=str(arm))),
            tmp_path / "r",
            progress=False,
            trainer="bc",
        )
    assert not (tmp_path / "r").exists()
