"""The HIL learner: transitions from the stream become n-step transitions per episode (hand-computed
returns), every one in the online buffer and the human's also in the demonstration buffer
(HIL-SERL); a stalled stream gives a state naming the topic and the cause, and the running
episode's transitions are kept; a dataset of another contract is refused as fine-tuning refuses it."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import pytest
from test_residual_finetune import TASK, TINY, _dataset

from sim2real.cli import main
from sim2real.draft import build_draft
from sim2real.hil.learner import HilConfig, HilLearner
from sim2real.hil.stream import LEARNER_STATE_TOPIC, STRING, Transition, TransitionPublisher
from sim2real.manip.config import ManipTaskConfig, ManipTrainConfig
from sim2real_ros.dds import DdsTransport
from sim2real_ros.transport import LATCHED

GAMMA = 0.99


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return _dataset(
        tmp_path_factory.mktemp("demo") / "ds", json.loads(build_draft(TASK, TASK.default_config()).to_json())
    )


def make(random_policy, demo, tmp_path, transport, **hil):
    cfg = replace(TINY, export_to=str(tmp_path / "live"), budget_steps=6)
    return HilLearner(
        TASK,
        random_policy("manip", "pick_place"),
        demo,
        cfg,
        HilConfig(**hil),
        tmp_path / "run",
        transport=transport,
        print_progress=False,
    )


def episode(ep: int, n: int, human: set[int], end: str, n_obs: int, n_act: int) -> list[dict]:
    """``n`` steps of episode ``ep``; obs row k is filled with 100 * ep + k (so rows are traceable)."""
    out = []
    for k in range(n):
        last = k == n - 1
        out.append({
            "episode": ep, "step": k,
            "obs": np.full(n_obs, 100 * ep + k, np.float32),
            "action": np.full(n_act, 0.01 * k, np.float32),
            "reward": 1.0 if last and end == "success" else 0.0,
            "next_obs": np.full(n_obs, 100 * ep + k + 1, np.float32),
            "terminated": last and end in ("success", "failure"),
            "truncated": last and end == "truncated",
            "intervention": k in human,
        })  # fmt: skip
    return out


def test_interventions_go_to_both_buffers_with_nstep_returns(random_policy, demo, tmp_path, dds_env):
    t = DdsTransport("learner")
    try:
        lr = make(random_policy, demo, tmp_path, t)
        n_obs, n_act = lr.online.sizes.obs, lr.online.sizes.action
        assert lr.cfg.residual.nstep == 2
        demo0, on0 = len(lr.demo), len(lr.online)
        assert (tmp_path / "live" / "policy.onnx").is_file()  # the base, for the node to start with
        for seq, f in enumerate(episode(3, 4, {1, 2}, "success", n_obs, n_act)):
            lr.ingest(Transition(seq=seq, **f))
        assert len(lr.online) == on0 + 4 and len(lr.demo) == demo0 + 2
        on = lr.online.data
        # n = 2, gamma 0.99, reward 1 at the terminal step 3
        np.testing.assert_allclose(on["ret"][:4], [0.0, 0.0, GAMMA, 1.0], rtol=1e-6)
        np.testing.assert_allclose(on["discount"][:4], [GAMMA**2, GAMMA**2, 0.0, 0.0], rtol=1e-6)
        assert on["next_obs"][0, 0] == 302 and on["next_obs"][1, 0] == 303  # obs two steps on
        np.testing.assert_array_equal(on["base"][:4], lr.base(on["obs"][:4]))
        # the human's steps (1, 2) in the demonstration buffer, after the dataset's, identical rows
        added = {f: lr.demo.data[f][demo0 : demo0 + 2] for f in ("obs", "action", "ret", "discount")}
        assert list(added["obs"][:, 0]) == [301, 302]
        np.testing.assert_allclose(added["ret"], [0.0, GAMMA], rtol=1e-6)
        np.testing.assert_array_equal(added["action"], on["action"][1:3])
        assert lr.episodes == 1 and lr.successes == 1 and lr.interventions == 2
        # a truncated episode of 3 steps: every window bootstraps (step 2's window is cut at 1 step)
        for seq, f in enumerate(episode(4, 3, set(), "truncated", n_obs, n_act), start=4):
            lr.ingest(Transition(seq=seq, **f))
        np.testing.assert_allclose(lr.online.data["discount"][4:7], [GAMMA**2, GAMMA**2, GAMMA], rtol=1e-6)
        assert len(lr.demo) == demo0 + 2 and lr.successes == 1
        # saved with the run: the interventions file holds the human's rows
        lr.save()
        with np.load(tmp_path / "run" / "replay_interventions.npz") as z:
            assert list(z["obs"][:, 0]) == [301, 302]
    finally:
        t.close()


def test_stream_over_dds_then_stall_names_the_cause(random_policy, demo, tmp_path, dds_env):
    lt, at = DdsTransport("learner"), DdsTransport("actor")
    try:
        states: list[str] = []
        at.subscribe(LEARNER_STATE_TOPIC, STRING, LATCHED, lambda m: states.append(m.data))
        lr = make(random_policy, demo, tmp_path, lt, stall_s=0.3)
        n_obs, n_act = lr.online.sizes.obs, lr.online.sizes.action
        assert lr.state == "waiting: no transitions on /hil/transitions yet"
        pub = TransitionPublisher(at)
        t0 = time.monotonic()
        while pub.learners() == 0:
            assert time.monotonic() - t0 < 10
            time.sleep(0.01)
        # an episode still running when the actor stops: 3 steps, no end
        for f in episode(0, 5, {0}, "success", n_obs, n_act)[:3]:
            pub.publish(**f)
        while lr.inbox.received < 3:
            assert time.monotonic() - t0 < 10
            time.sleep(0.01)
        while (tr := lr.inbox.get(0.0)) is not None:
            lr.ingest(tr)
        assert lr.check_stall() == "learning" and len(lr.online) == 0  # the episode is still open
        time.sleep(0.4)
        state = lr.check_stall()
        assert state.startswith("stalled: no transitions on /hil/transitions for 0.")
        assert "the actor stopped, died or lost the connection" in state and "waiting" in state
        # the open episode is kept, cut as a truncation at its last transition
        assert len(lr.online) == 3 and lr.online.data["discount"][2] == pytest.approx(GAMMA)
        assert len(lr.demo) == lr.demo_dataset_size + 1
        while not any(s.startswith("stalled") for s in states):
            assert time.monotonic() - t0 < 10
            time.sleep(0.01)
        # the actor comes back: learning again
        pub.publish(**episode(1, 1, set(), "success", n_obs, n_act)[0])
        while lr.inbox.received < 4:
            assert time.monotonic() - t0 < 10
            time.sleep(0.01)
        assert lr.check_stall() == "learning"
    finally:
        at.close()
        lt.close()


def test_a_dataset_or_base_that_does_not_fit_is_refused_naming_the_field(
    random_policy, demo, tmp_path, capsys
):
    other = ManipTrainConfig(task=replace(ManipTaskConfig(), control_rate_hz=20.0))
    ds20 = _dataset(tmp_path / "ds20", json.loads(build_draft(TASK, other).to_json()), episodes=1)
    for base, ds, field in (
        (random_policy("manip", "pick_place"), ds20, "fps"),
        (random_policy("manip", "reach"), demo, "robot.task.name"),
    ):
        run = tmp_path / f"run_{field}"
        argv = ["hil", "manip", "--role", "learner", "--base", str(base), "--dataset", str(ds),
                "--run-dir", str(run)]  # fmt: skip
        assert main(argv) == 2
        assert field in capsys.readouterr().err
        assert not run.exists()  # nothing written, the watched folder included
