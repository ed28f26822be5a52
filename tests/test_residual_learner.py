"""Residual off-policy learning against hand-computed numbers: n-step returns (terminal and
truncation inside the window), the batched n-step accumulator, the target as the min over the
drawn pair of target critics, the 50/50 sampler and the buffers' sizes, a zero residual giving the
base's actions, and a restored learner making the same next update as one never interrupted."""

from __future__ import annotations

import copy
import io

import numpy as np
import pytest
import torch

from sim2real.residual.learner import ResidualConfig, ResidualLearner
from sim2real.residual.nets import CriticEnsemble, clip_box, pair_min_target
from sim2real.residual.replay import (
    FIELDS,
    MixedSampler,
    NStepAccumulator,
    ReplayBuffer,
    Sizes,
    nstep_targets,
)
from sim2real_runtime.controller import clip_action

G = 0.5


def test_nstep_terminal_inside_the_window():
    # rewards 1, 2, 3, 4; the episode terminates at step 3; n = 3, gamma = 0.5
    ret, disc, last = nstep_targets([1, 2, 3, 4], [0, 0, 0, 1], [0, 0, 0, 0], 3, G)
    assert ret.tolist() == [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3 + 0.25 * 4, 3 + 0.5 * 4, 4]
    assert disc.tolist() == [0.125, 0.0, 0.0, 0.0]  # only t=0's window ends before the terminal
    assert last.tolist() == [2, 3, 3, 3]


def test_nstep_truncation_bootstraps_from_the_last_step():
    ret, disc, last = nstep_targets([1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 0, 1], 3, G)
    assert ret.tolist() == [2.75, 4.5, 5.0, 4.0]
    assert disc.tolist() == [0.125, 0.125, 0.25, 0.5]  # gamma^k, k = steps to the cut
    assert last.tolist() == [2, 3, 3, 3]


def test_nstep_refuses_two_episodes_in_one_call():
    with pytest.raises(ValueError, match="ends at step 1"):
        nstep_targets([1, 2, 3], [0, 1, 0], [0, 0, 1], 2, G)


def _feed(acc: NStepAccumulator, t: int, r: float, term: bool = False, trunc: bool = False) -> dict:
    """Step t of one environment: obs = t, next_obs = t + 1 (scalars in 1-wide arrays)."""
    o = np.array([[t]], dtype=np.float32)
    a = np.zeros((1, 1), dtype=np.float32)
    return acc.add(o, a, a, np.array([r]), o + 1, a, np.array([term]), np.array([trunc]))


def test_accumulator_matches_the_episode_function_and_never_crosses_episodes():
    acc = NStepAccumulator(1, 3, G)
    out = [_feed(acc, t, r, term=(t == 3)) for t, r in enumerate([1, 2, 3, 4])]
    assert [len(o.get("obs", [])) for o in out] == [0, 0, 1, 3]  # one when full, the rest at the end
    got = {f: np.concatenate([o[f] for o in out if o]) for f in FIELDS}
    assert got["obs"][:, 0].tolist() == [0, 1, 2, 3]
    assert got["ret"].tolist() == [2.75, 4.5, 5.0, 4.0]
    assert got["discount"].tolist() == [0.125, 0.0, 0.0, 0.0]
    assert got["next_obs"][:, 0].tolist() == [3, 4, 4, 4]  # obs after steps 2, 3, 3, 3
    # a new episode starts empty: its first window holds none of the last episode's rewards
    out2 = [_feed(acc, 10 + t, 1.0, trunc=(t == 1)) for t in range(2)]
    b = out2[1]
    assert b["obs"][:, 0].tolist() == [10, 11]
    assert b["ret"].tolist() == [1.5, 1.0]
    assert b["discount"].tolist() == [0.25, 0.5]
    assert b["next_obs"][:, 0].tolist() == [12, 12]


def test_target_is_the_min_over_the_chosen_pair():
    q_next = torch.tensor([[1.0, 5.0], [2.0, 3.0], [0.5, 4.0]])
    y = pair_min_target(q_next, (0, 2), torch.tensor([1.0, 2.0]), torch.tensor([0.9, 0.0]))
    assert y.tolist() == pytest.approx([1.0 + 0.9 * 0.5, 2.0 + 0.0 * 4.0])
    y = pair_min_target(q_next, (1, 0), torch.tensor([0.0, 0.0]), torch.tensor([1.0, 1.0]))
    assert y.tolist() == [1.0, 3.0]


def _buffer(capacity: int, values: np.ndarray) -> ReplayBuffer:
    buf = ReplayBuffer(capacity, Sizes(2, 1))
    k = len(values)
    buf.add({
        "obs": np.repeat(values[:, None], 2, 1), "base": np.zeros((k, 1)), "action": np.zeros((k, 1)),
        "ret": values, "discount": np.ones(k), "next_obs": np.zeros((k, 2)), "next_base": np.zeros((k, 1)),
    })  # fmt: skip
    return buf


def test_sampler_half_online_half_demo_within_the_filled_part():
    online = _buffer(100, np.arange(1, 11, dtype=np.float32))  # 10 of 100 filled, values 1..10
    demo = _buffer(7, -np.arange(1, 8, dtype=np.float32))  # values -1..-7
    s = MixedSampler(online, demo, np.random.default_rng(0))
    for _ in range(50):
        b, is_online = s.sample(32)
        assert is_online.sum() == 16
        assert np.all((b["ret"][is_online] >= 1) & (b["ret"][is_online] <= 10))  # never an empty slot (0)
        assert np.all((b["ret"][~is_online] <= -1) & (b["ret"][~is_online] >= -7))
    with pytest.raises(ValueError, match="even"):
        s.sample(31)
    # before the online buffer holds min_online transitions, all from the demonstrations
    b, is_online = MixedSampler(online, demo, np.random.default_rng(0), min_online=11).sample(8)
    assert not is_online.any() and np.all(b["ret"] < 0)


def test_ring_buffer_overwrites_the_oldest_and_round_trips(tmp_path):
    buf = _buffer(4, np.arange(1, 7, dtype=np.float32))  # 6 added into 4 slots
    assert len(buf) == 4 and buf.added == 6 and buf.pos == 2
    assert sorted(buf.data["ret"].tolist()) == [3, 4, 5, 6]
    buf.save(tmp_path / "r.npz")
    other = ReplayBuffer(4, Sizes(2, 1))
    other.load(tmp_path / "r.npz")
    assert (other.size, other.pos, other.added) == (4, 2, 6)
    for f in FIELDS:
        assert np.array_equal(other.data[f], buf.data[f])
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(5, Sizes(2, 1)).load(tmp_path / "r.npz")


CFG = ResidualConfig(actor_hidden=(16,), critic_hidden=(16, 16), ensemble=4, batch_size=8,
                     critic_warmup_updates=2, actor_delay=1, nstep=2)  # fmt: skip


def test_zero_residual_gives_the_base_actions():
    lr = ResidualLearner(CFG, 5, 3, seed=0)
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(20, 5)).astype(np.float32)
    base = rng.uniform(-1.2, 1.2, size=(20, 3)).astype(np.float32)
    assert np.array_equal(lr.act(obs, base, explore=False), clip_action(base))  # the runtime's clip
    with torch.no_grad():
        assert torch.equal(clip_box(torch.from_numpy(base)), torch.from_numpy(clip_action(base)))


def test_ensemble_members_are_independent_and_layer_normed():
    c = CriticEnsemble(5, 3, (8, 8), 3)
    q = c(torch.randn(4, 5), torch.randn(4, 3))
    assert q.shape == (3, 4)
    assert not torch.allclose(q[0], q[1])  # different initial weights per member


def _batch(rng: np.random.Generator, k: int = 8) -> dict[str, np.ndarray]:
    return {
        "obs": rng.normal(size=(k, 5)), "base": rng.uniform(-1, 1, (k, 3)),
        "action": rng.uniform(-1, 1, (k, 3)),
        "ret": rng.normal(size=k), "discount": rng.choice([0.0, 0.9801], k),
        "next_obs": rng.normal(size=(k, 5)), "next_base": rng.uniform(-1, 1, (k, 3)),
    }  # fmt: skip


def test_update_uses_the_pair_drawn_by_the_learner():
    lr = ResidualLearner(ResidualConfig(**{**CFG.__dict__, "target_noise_std": 0.0}), 5, 3, seed=3)
    b = _batch(np.random.default_rng(0))
    pair = tuple(int(i) for i in copy.deepcopy(lr.rng).choice(lr.cfg.ensemble, 2, replace=False))
    with torch.no_grad():
        t = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in b.items()}
        q = lr.critic_target(
            t["next_obs"], clip_box(t["next_base"] + lr.actor_target(t["next_obs"], t["next_base"]))
        )
        expect = (t["ret"] + t["discount"] * torch.minimum(q[pair[0]], q[pair[1]])).mean()
    out = lr.update(b)
    assert out["target_mean"] == pytest.approx(float(expect), abs=1e-6)
    assert "actor_loss" not in out  # critic warm-up: no actor update yet


def test_actor_updates_only_after_the_warm_up():
    lr = ResidualLearner(CFG, 5, 3, seed=0)
    rng = np.random.default_rng(0)
    outs = [lr.update(_batch(rng)) for _ in range(4)]
    assert ["actor_loss" in o for o in outs] == [False, False, True, True]
    assert lr.actor_updates == 2


def test_restored_learner_makes_the_same_next_update(tmp_path):
    rng = np.random.default_rng(0)
    demo, online = ReplayBuffer(64, Sizes(5, 3)), ReplayBuffer(64, Sizes(5, 3))
    demo.add(_batch(rng, 40))
    online.add(_batch(rng, 30))
    a = ResidualLearner(CFG, 5, 3, seed=0)
    sa = MixedSampler(online, demo, a.rng)
    for _ in range(5):
        a.update(sa.sample(8)[0])
    blob = io.BytesIO()
    torch.save(a.state_dict(), blob)
    online.save(tmp_path / "online.npz")
    # the interrupted run: new objects, state loaded
    b = ResidualLearner(CFG, 5, 3, seed=123)
    blob.seek(0)
    b.load_state_dict(torch.load(blob, weights_only=False))
    online_b = ReplayBuffer(64, Sizes(5, 3))
    online_b.load(tmp_path / "online.npz")
    sb = MixedSampler(online_b, demo, b.rng)
    for _ in range(3):
        oa, ob = a.update(sa.sample(8)[0]), b.update(sb.sample(8)[0])
        assert oa == ob
    for pa, pb in zip(a.actor.parameters(), b.actor.parameters()):
        assert torch.equal(pa, pb)
    for pa, pb in zip(a.critic_target.parameters(), b.critic_target.parameters()):
        assert torch.equal(pa, pb)
    assert (
        (a.updates, a.actor_updates) == (b.updates, b.actor_updates) == (8, 6)
    )  # updates 3..8 after a warm-up of 2


def test_q_filtered_bc_term_by_hand():
    # scale 0.1; two demonstration rows and one online row. Row 0: the demo asks for +0.3 on
    # action 0 (more than the residual can give: clipped to +0.1), row 1: -0.05 on action 1.
    # A zero residual (fresh actor) has error ((0 - target) / scale)^2 summed over actions:
    # row 0: (0.1/0.1)^2 = 1, row 1: (0.05/0.1)^2 = 0.25. The online row never counts.
    lr = ResidualLearner(ResidualConfig(scale=0.1, ensemble=2, batch_size=4), 2, 2, seed=0)
    base = torch.zeros(3, 2)
    t = {
        "obs": torch.zeros(3, 2),
        "base": base,
        "action": torch.tensor([[0.3, 0.0], [0.0, -0.05], [0.7, 0.7]]),
    }
    res = lr.actor(t["obs"], base)
    assert torch.equal(res, torch.zeros(3, 2))
    demo = torch.tensor([True, True, False])
    # the filter: keep both demo rows (q_demo >= q_pi) -> (1 + 0.25) / 2 demo rows
    with torch.no_grad():
        q_demo = lr.critic(t["obs"], t["action"]).mean(dim=0)
    loss, kept = lr._bc_term(t, res, q_demo - 1.0, demo)
    assert float(loss) == pytest.approx(0.625, abs=1e-6)
    assert kept == 1.0
    # the critic prefers the policy's action on every row: nothing is cloned
    loss, kept = lr._bc_term(t, res, q_demo + 1.0, demo)
    assert float(loss) == 0.0 and kept == 0.0
    # only row 1 kept: 0.25 / 2
    q_pi = q_demo + torch.tensor([1.0, -1.0, -1.0])
    loss, kept = lr._bc_term(t, res, q_pi, demo)
    assert float(loss) == pytest.approx(0.125, abs=1e-6)
    assert kept == 0.5


def test_bc_weight_pulls_the_residual_towards_the_demonstrations():
    # a flat critic (zero output layer, not trained): Q gives no gradient and rates every action
    # alike, so the filter keeps every demo row and only the bc term moves the residual, which
    # reaches the demonstrated correction within a few actor updates
    cfg = ResidualConfig(
        scale=0.1,
        ensemble=2,
        batch_size=8,
        critic_warmup_updates=0,
        actor_delay=1,
        bc_weight=1.0,
        actor_lr=1e-2,
        critic_lr=0.0,
    )
    lr = ResidualLearner(cfg, 5, 3, seed=0)
    for net in (lr.critic, lr.critic_target):
        torch.nn.init.zeros_(net.out.weight)
        torch.nn.init.zeros_(net.out.bias)
    b = _batch(np.random.default_rng(1))
    b["action"] = np.clip(b["base"] + 0.08, -1, 1)  # every demo row asks for +0.08
    demo = np.ones(8, dtype=bool)
    obs, base = (torch.as_tensor(b[k], dtype=torch.float32) for k in ("obs", "base"))
    before = lr.actor(obs, base)
    for _ in range(30):
        out = lr.update(b, demo)
    after = lr.actor(obs, base)
    target = torch.as_tensor(b["action"] - b["base"], dtype=torch.float32)
    assert float((after - target).abs().mean()) < 0.25 * float((before - target).abs().mean())
    assert out["bc_kept"] == 1.0


def test_a_checkpoint_from_before_per_entry_scales_loads():
    a = ResidualLearner(CFG, 5, 3, seed=0)
    st = a.state_dict()
    for key in ("actor", "actor_target"):
        del st[key]["scale"]  # written when the scale was a plain float attribute
    b = ResidualLearner(CFG, 5, 3, seed=1)
    b.load_state_dict(st)
    assert b.actor.scale.tolist() == pytest.approx([CFG.scale] * 3)
    for pa, pb in zip(a.actor.parameters(), b.actor.parameters()):
        assert torch.equal(pa, pb)
