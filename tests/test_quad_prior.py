"""The quadrotor policy's PD prior: the same law as the PD baseline, inside the exported graph, and
an untrained residual policy that is that PD exactly."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import onnxruntime as ort
import pytest
import torch

from sim2real.onnx_export import export_actor, make_actor
from sim2real.quad.baseline import pd_ctbr
from sim2real.quad.env import task_specs
from sim2real.quad.task import build_contract, default_config
from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.quad_terms import CtbrAction
from sim2real_runtime.rotations import quat_to_matrix

G = 9.80665


def _obs(contract, err_b, rot, dv_b, aggressiveness):
    """A raw observation with the prior's terms set (the others zero)."""
    names = [t.name for t in contract.observation]
    sizes = [t.size for t in contract.observation]
    starts = dict(zip(names, np.cumsum([0, *sizes[:-1]])))
    x = np.zeros((len(err_b), contract.obs_size), np.float32)
    x[:, starts["position_error"] : starts["position_error"] + 3] = err_b
    x[:, starts["attitude"] : starts["attitude"] + 9] = rot.reshape(-1, 9)
    x[:, starts["reference_feedforward"] : starts["reference_feedforward"] + 3] = dv_b
    x[:, starts["aggressiveness"]] = aggressiveness
    return x


@pytest.fixture(scope="module")
def untrained():
    cfg = default_config()
    contract = build_contract(cfg)
    actor = make_actor(cfg.ppo, contract.obs_size, contract.action_size).eval()
    # Normaliser statistics far from identity: the prior must still see the raw observation.
    gen = torch.Generator().manual_seed(0)
    actor.obs_normalizer._mean.copy_(torch.rand(actor.obs_normalizer._mean.shape, generator=gen) - 0.5)
    actor.obs_normalizer._std.copy_(0.1 + 2 * torch.rand(actor.obs_normalizer._std.shape, generator=gen))
    _, act_spec = task_specs(cfg.task)
    return cfg, contract, actor, CtbrAction(act_spec)


def _act(actor, x):
    with torch.no_grad():
        return actor.mlp(actor.obs_normalizer(torch.from_numpy(x))).numpy()


def test_hand_computed_command(untrained):
    # Level, 0.1 m behind the reference along body x, at rest: a = (0.6, 0, g) m/s^2, so the
    # collective acceleration is g (normalised 0) and the pitch rate 8 * 0.6 / |a| (/ 4 rad/s).
    _, contract, actor, _ = untrained
    x = _obs(contract, np.array([[0.1, 0, 0]]), np.eye(3)[None], np.zeros((1, 3)), 1.0)
    a = _act(actor, x)[0]
    pitch = 8.0 * 0.6 / math.hypot(0.6, G)
    np.testing.assert_allclose(a, [0.0, 0.0, pitch / 4.0, 0.0], atol=1e-6)


def test_tilt_follows_aggressiveness(untrained):
    # A 0.5 m error demands 3 m/s^2 sideways (17 deg): at aggressiveness 1 (40 deg) it passes; at
    # 0 the prior caps it at the 12 deg of tilt_range_deg: horizontal acceleration g * tan(12 deg).
    _, contract, actor, term = untrained
    x = _obs(contract, np.array([[0.5, 0, 0]] * 2), np.stack([np.eye(3)] * 2), np.zeros((2, 3)), 0.0)
    x[1, -1] = 1.0
    cmd = term(_act(actor, x))
    horiz = [G * math.tan(math.radians(12.0)), 3.0]
    for c, h in zip(cmd, horiz):
        np.testing.assert_allclose(c[2], 8.0 * h / math.hypot(h, G), rtol=1e-5)


def test_untrained_policy_is_the_pd_baseline(untrained):
    _, contract, actor, term = untrained
    rng = np.random.default_rng(1)
    b = 64
    pos, vel = rng.normal(0, 0.1, (b, 3)), rng.normal(0, 0.3, (b, 3))
    quat = np.concatenate([np.ones((b, 1)), rng.normal(0, 0.1, (b, 3))], axis=1)
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    rot = quat_to_matrix(quat)
    x = _obs(
        contract,
        np.einsum("bji,bj->bi", rot, -pos),
        rot,
        np.einsum("bji,bj->bi", rot, -vel),
        1.0,
    )
    zero = np.zeros((b, 3))
    want = pd_ctbr(pos, quat, vel, zero, zero, zero, max_tilt_rad=math.radians(40))
    # The action term clips to the policy's command limits (the baseline's command is not clipped).
    want = np.clip(want, term.low, term.high)
    np.testing.assert_allclose(term(_act(actor, x)), want, atol=2e-5)


def test_exported_graph_carries_the_prior(untrained, tmp_path):
    _, contract, actor, _ = untrained
    out = export_actor(actor, contract, tmp_path / "p")
    sess = ort.InferenceSession(str(out / "policy.onnx"), providers=["CPUExecutionProvider"])
    x = _obs(contract, np.array([[0.1, 0, 0]] * 3), np.stack([np.eye(3)] * 3), np.zeros((3, 3)), 1.0)
    np.testing.assert_allclose(sess.run(None, {"obs": x})[0], _act(actor, x), atol=1e-6)


def test_a_prior_of_another_layout_is_refused():
    cfg = default_config()
    kw = dict(cfg.ppo.actor_kwargs)
    prior = {
        **kw["prior"],
        "kwargs": {**kw["prior"]["kwargs"], "observation": kw["prior"]["kwargs"]["observation"][1:]},
    }
    bad = dataclasses.replace(
        cfg, ppo=dataclasses.replace(cfg.ppo, actor_kwargs=(("cond_index", -1), ("prior", prior)))
    )
    with pytest.raises(Sim2RealError, match=r"ppo\.actor_kwargs\.prior"):
        build_contract(bad)
