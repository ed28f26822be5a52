"""Residual policy as one ONNX file (a zero residual reproduces the base bit for bit; otherwise
base + residual as torch computes it; the contract records the base's hash, the scale and both
provenances, and keeps the base's interface), and ``sim2real finetune`` end to end on a tiny
budget: checkpoints and replay restored exactly on resume, ``sim2real export --run``, and a base
or dataset that does not fit the task refused naming the field."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from sim2real.cli import main
from sim2real.datasets.lerobot_v3 import DatasetSpec, open_writer
from sim2real.draft import build_draft
from sim2real.manip.config import ManipTaskConfig, ManipTrainConfig
from sim2real.residual.export import export_residual, file_sha256, residual_contract
from sim2real.residual.finetune import REPLAY_FILE, FinetuneConfig, Finetuner, latest
from sim2real.residual.learner import ResidualConfig
from sim2real.residual.nets import ResidualActor
from sim2real.residual.replay import FIELDS
from sim2real.tasks import get_task
from sim2real_runtime.controller import SWAP_FIELDS
from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.policy import OnnxPolicy

TASK = get_task("manip", "pick_place")


def _run(policy: Path, obs: np.ndarray) -> np.ndarray:
    return OnnxPolicy(policy).session.run(["actions"], {"obs": obs})[0]


def test_zero_residual_onnx_is_the_base_and_records_it(random_policy, tmp_path):
    base = random_policy("manip", "pick_place")
    contract = residual_contract(base, [0.1] * 7 + [2.0], {"residual": {"seed": 0}})
    actor = ResidualActor(contract.obs_size, contract.action_size, (32, 32), 0.1)
    out = export_residual(actor, base, contract, tmp_path / "res")
    obs = np.random.default_rng(1).normal(0, 2, (256, contract.obs_size)).astype(np.float32)
    assert np.array_equal(_run(out, obs), _run(base, obs))  # exactly, not approximately
    c = OnnxPolicy(out).contract
    b = OnnxPolicy(base).contract
    for key in SWAP_FIELDS:  # the interface stays the base's: the nodes (and a hot reload) accept it
        assert c.to_dict()[key] == b.to_dict()[key]
    prov = c.provenance
    assert prov["trainer"] == "residual"
    assert prov["base"]["sha256"] == file_sha256(Path(base) / "policy.onnx")
    assert prov["base"]["provenance"] == json.loads(b.to_json())["provenance"]
    assert prov["residual"] == {"scale": [0.1] * 7 + [2.0], "seed": 0}
    for key in ("config", "task", "description_files"):  # what evaluators read, as in the base
        assert prov.get(key) == json.loads(b.to_json())["provenance"].get(key)


def test_a_run_from_before_the_discrete_scale_keeps_one_scale():
    from sim2real.residual.finetune import FinetuneConfig, config_from_dict
    from sim2real.residual.learner import ResidualLearner

    d = json.loads(json.dumps(asdict(FinetuneConfig())))
    del d["residual"]["discrete_scale"]  # finetune.json of an older run
    d["residual"]["scale"] = 0.2
    rc = config_from_dict(d).residual
    assert rc.discrete_scale is None
    assert ResidualLearner(rc, 4, 8, 0, np.array([False] * 7 + [True])).scales.tolist() == pytest.approx(
        [0.2] * 8
    )


def test_the_grippers_residual_scale_can_flip_it():
    from sim2real.draft import build_draft
    from sim2real.residual.finetune import discrete_actions
    from sim2real.residual.learner import ResidualConfig, ResidualLearner

    contract = build_draft(TASK, TASK.default_config())
    mask = discrete_actions(contract)
    assert mask.tolist() == [False] * 7 + [True]  # seven joint deltas, the binary gripper
    lr = ResidualLearner(ResidualConfig(scale=0.1, discrete_scale=2.0), contract.obs_size, 8, 0, mask)
    assert lr.scales.tolist() == pytest.approx([0.1] * 7 + [2.0])
    assert lr.actor.scale.tolist() == pytest.approx([0.1] * 7 + [2.0])


def test_nonzero_residual_is_base_plus_scaled_residual(random_policy, tmp_path):
    base = random_policy("manip", "pick_place")
    scales = [0.2] * 7 + [2.0]  # the gripper (a switch) gets a residual that can flip it
    contract = residual_contract(base, scales, {})
    torch.manual_seed(0)
    actor = ResidualActor(contract.obs_size, contract.action_size, (32,), scales)
    torch.nn.init.normal_(actor.net[-1].weight, std=1.0)
    out = export_residual(actor, base, contract, tmp_path / "res")
    obs = np.random.default_rng(2).normal(0, 1, (64, contract.obs_size)).astype(np.float32)
    b = _run(base, obs)
    with torch.no_grad():
        res = actor(torch.from_numpy(obs), torch.from_numpy(b)).numpy()
    assert np.abs(res[:, :7]).max() > 0.05 and np.abs(res[:, :7]).max() <= 0.2
    assert np.abs(res[:, 7]).max() > 0.2 and np.abs(res[:, 7]).max() <= 2.0
    np.testing.assert_allclose(_run(out, obs), b + res, atol=1e-5)
    # the base changed after fine-tuning: export refuses naming it
    other = random_policy("manip", "reach")
    with pytest.raises(Sim2RealError, match=r"provenance\.base\.sha256"):
        export_residual(actor, other, contract, tmp_path / "res2")


def _dataset(root: Path, contract: dict, episodes: int = 3, length: int = 12) -> Path:
    """Synthetic demonstrations in the task's terms; every other episode ends in success."""
    rng = np.random.default_rng(0)
    spec = DatasetSpec.from_contract(contract, "pick_place")
    n_obs, n_act = int(contract["observation"]["size"]), int(contract["action"]["size"])
    with open_writer(root, spec, fsync=False) as wr:
        for e in range(episodes):
            for k in range(length):
                end = k == length - 1
                wr.add_frame(
                    {
                        "observation.state": rng.normal(0, 1, n_obs).astype(np.float32),
                        "action": rng.uniform(-1, 1, n_act).astype(np.float32),
                        "intervention": False,
                        "next.reward": float(end and e % 2 == 0),
                        "next.done": end,
                        "next.success": end and e % 2 == 0,
                    }
                )
            wr.save_episode("pick_place")
    return root


TINY = FinetuneConfig(
    residual=ResidualConfig(
        actor_hidden=(16,),
        critic_hidden=(16, 16),
        ensemble=3,
        batch_size=8,
        critic_warmup_updates=4,
        utd_ratio=1.0,
        nstep=2,
    ),
    budget_steps=16,
    num_envs=2,
    checkpoint_every_steps=8,
    online_capacity=1000,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return _dataset(
        tmp_path_factory.mktemp("demo") / "ds", json.loads(build_draft(TASK, TASK.default_config()).to_json())
    )


def test_demo_transitions_count(random_policy, demo, tmp_path):
    ft = Finetuner(TASK, random_policy("manip", "pick_place"), demo, TINY, tmp_path / "run", progress=False)
    # 2 successful episodes keep their 12 frames, the one without success drops its last frame
    assert len(ft.demo) == 12 + 11 + 12
    d = ft.demo.data
    assert np.count_nonzero(d["discount"] == 0) == 2 * 2  # the last n=2 windows of each success
    assert d["ret"].max() == pytest.approx(1.0)


def test_finetune_resume_restores_buffers_and_counts_then_exports(random_policy, demo, tmp_path):
    base = random_policy("manip", "pick_place")
    run = tmp_path / "run"
    live = tmp_path / "live"  # what a node with reload_watch would watch
    ft = Finetuner(
        TASK, base, demo, replace(TINY, export_every_steps=8, export_to=str(live)), run, progress=False
    )
    s = ft.run()
    assert OnnxPolicy(live).contract.provenance["residual"]["env_steps"] == 16  # the last export
    assert s["env_steps"] == 16 and s["updates"] == 16  # utd 1: one update per transition
    assert latest(run).name == "finetune_16.pt"
    saved = {f: ft.online.data[f][: len(ft.online)].copy() for f in FIELDS}
    with pytest.raises(Sim2RealError, match="--resume"):
        Finetuner(TASK, base, demo, TINY, run, progress=False)
    back = Finetuner(TASK, base, demo, replace(TINY, budget_steps=24), run, resume=True, progress=False)
    assert (back.steps, back.learner.updates, back.online.added) == (16, 16, ft.online.added)
    for f in FIELDS:
        assert np.array_equal(back.online.data[f][: len(back.online)], saved[f])
    for pa, pb in zip(ft.learner.critic.parameters(), back.learner.critic.parameters()):
        assert torch.equal(pa, pb)
    back.run()
    assert back.steps == 24 and latest(run).name == "finetune_24.pt"
    # the replay file and the checkpoint must agree: a replay from another moment is refused
    np.savez(run / REPLAY_FILE, **{**ft.online.state()})
    with pytest.raises(Sim2RealError, match="interrupted between"):
        Finetuner(TASK, base, demo, TINY, run, resume=True, progress=False)
    # sim2real export --run: one ONNX, its contract the base's interface + the residual's provenance
    out = tmp_path / "pol"
    assert main(["export", "--run", str(run), "--out", str(out)]) == 0
    c = OnnxPolicy(out).contract
    assert c.provenance["base"]["sha256"] == file_sha256(Path(base) / "policy.onnx")
    assert c.provenance["residual"]["env_steps"] == 24
    assert c.provenance["residual"]["checkpoint"] == "finetune_24.pt"
    # the config it records is the resumed command's, the first budget kept
    assert c.provenance["residual"]["config"]["budget_steps"] == 24
    assert json.loads((run / "finetune.json").read_text())["resumed_from_budgets"] == [16]


def test_a_base_of_another_task_is_refused_naming_the_field(random_policy, demo, tmp_path):
    with pytest.raises(Sim2RealError, match=r"robot\.task\.name"):
        Finetuner(TASK, random_policy("manip", "reach"), demo, TINY, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_dataset_of_another_contract_is_refused_naming_the_field(random_policy, tmp_path):
    other = ManipTrainConfig(task=replace(ManipTaskConfig(), control_rate_hz=20.0))
    ds = _dataset(tmp_path / "ds20", json.loads(build_draft(TASK, other).to_json()), episodes=1)
    with pytest.raises(Sim2RealError, match="fps"):
        Finetuner(TASK, random_policy("manip", "pick_place"), ds, TINY, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    rc = main(
        [
            "finetune",
            "manip",
            "--base",
            str(random_policy("manip", "pick_place")),
            "--dataset",
            str(ds),
            "--run-dir",
            str(tmp_path / "run"),
        ]
    )
    assert rc == 2


def test_online_adapter_sees_the_last_observation_of_a_truncated_episode():
    from sim2real.residual.online import online_env

    cfg = ManipTrainConfig(task=replace(ManipTaskConfig(), episode_time_s=0.2))  # 5 control steps
    env = online_env(TASK, cfg, 2, seed=0)
    action = np.full((2, 8), 0.3, dtype=np.float32)
    for k in range(5):
        s = env.step(action)
        assert s.truncated.all() == (k == 4) and not s.terminated.any()
    # the last observation of the ended episode: its previous action is the one taken
    np.testing.assert_allclose(s.next_obs[:, -8:], action, atol=1e-6)
    # what the policy sees next is the new episode's first observation (previous action zero)
    assert np.all(s.obs[:, -8:] == 0.0)
    assert env.env.t.tolist() == [0, 0]


def test_residual_flags_from_either_command_line_are_applied_and_checked():
    """`sim2real finetune` and `sim2real hil` read the residual learner's flags through one
    function: given flags override, absent or unset ones keep the config, bad ones are named."""
    import argparse

    from sim2real.residual.finetune import residual_from_args
    from sim2real.residual.learner import ResidualConfig
    from sim2real_runtime.errors import Sim2RealError

    rc = ResidualConfig()
    got = residual_from_args(argparse.Namespace(scale=0.05, critic_hidden=[64, 64], ensemble=None), rc)
    assert (got.scale, got.critic_hidden, got.ensemble) == (0.05, (64, 64), rc.ensemble)
    assert residual_from_args(argparse.Namespace(bc_weight=0.5), rc).bc_weight == 0.5
    assert residual_from_args(argparse.Namespace(), rc) == rc
    with pytest.raises(Sim2RealError, match="--bc-weight"):
        residual_from_args(argparse.Namespace(bc_weight=-1.0), rc)
    with pytest.raises(Sim2RealError, match="--scale"):
        residual_from_args(argparse.Namespace(scale=2.0), rc)
    with pytest.raises(Sim2RealError, match="--batch-size"):
        residual_from_args(argparse.Namespace(batch_size=3), rc)


def test_hil_passes_the_residual_flags_to_its_learner_process():
    """`sim2real hil --role both` starts the learner with the residual flags it was given, and the
    learner's parser reads them back to the same config (one list of flags for both commands)."""
    import argparse

    from sim2real.hil.cli import add_hil_args, learner_argv
    from sim2real.residual.finetune import residual_from_args
    from sim2real.residual.learner import ResidualConfig

    p = argparse.ArgumentParser()
    add_hil_args(p)
    given = ["--base", "b", "--dataset", "d", "--run-dir", "r", "--bc-weight", "1", "--discrete-scale", "2",
             "--critic-hidden", "64", "64", "--utd-ratio", "1.5"]  # fmt: skip
    a = p.parse_args(given)
    learner = p.parse_args(learner_argv(a))
    assert learner.role == "learner"
    rc = residual_from_args(learner, ResidualConfig())
    assert (rc.bc_weight, rc.discrete_scale, rc.critic_hidden, rc.utd_ratio) == (1.0, 2.0, (64, 64), 1.5)
    assert rc.scale == ResidualConfig().scale  # unset flags stay the config's


def test_the_shipped_residual_stays_within_its_range_of_the_shipped_base():
    """policies/manip_panda_residual = the shipped BC base + a residual of at most 0.25 per arm
    entry and 0.1 on the gripper (before the action terms clip), on the demonstrations' states."""
    from sim2real.bc import load_checked

    repo = Path(__file__).resolve().parents[1]
    shipped, base = repo / "policies" / "manip_panda_residual", repo / "policies" / "manip_panda_bc"
    pol, bc = OnnxPolicy(shipped), OnnxPolicy(base)
    prov = pol.contract.provenance
    assert prov["base"]["sha256"] == file_sha256(base / "policy.onnx")  # the base it was trained on
    assert prov["residual"]["env_steps"] == 50000
    # the demonstrations, read and checked against the shipped policy's contract as finetune does
    ds = load_checked(repo / "datasets" / "manip_pick_place_demos", pol.contract, TASK.name)
    obs = np.asarray(ds.frames["observation.state"], dtype=np.float32)
    diff = np.abs(pol(obs) - bc(obs))
    scale = np.asarray(prov["residual"]["scale"])
    np.testing.assert_allclose(scale, [0.25] * 7 + [0.1], rtol=1e-6)
    assert np.all(diff <= scale + 1e-5)
    assert diff[:, :7].max() > 0.05  # the residual is not a zero
