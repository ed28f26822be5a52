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
    # Level, 0.1 m behind the reference along body x, at rest. At aggressiveness 1 the position
    # gain is 6 x 1.4 = 8.4: a = (0.84, 0, g) m/s^2, so the collective acceleration is g
    # (normalised 0) and the pitch rate 8 * 0.84 / |a| (/ 4 rad/s). At 0.5 the gains are the
    # nominal ones (x 1.0): a = (0.6, 0, g).
    _, contract, actor, _ = untrained
    x = _obs(contract, np.array([[0.1, 0, 0]] * 2), np.stack([np.eye(3)] * 2), np.zeros((2, 3)), 1.0)
    x[1, -1] = 0.5
    a = _act(actor, x)
    for row, h in zip(a, (0.84, 0.6)):
        np.testing.assert_allclose(row, [0.0, 0.0, 8.0 * h / math.hypot(h, G) / 4.0, 0.0], atol=1e-6)


def test_velocity_gain_keeps_the_damping_ratio(untrained):
    # Level, on the reference, 0.1 m/s slower than it along body x: the velocity gain is
    # 4 x sqrt(1.4) at aggressiveness 1 and 4 x sqrt(0.6) at 0.
    _, contract, actor, _ = untrained
    x = _obs(contract, np.zeros((2, 3)), np.stack([np.eye(3)] * 2), np.array([[0.1, 0, 0]] * 2), 1.0)
    x[1, -1] = 0.0
    a = _act(actor, x)
    for row, scale in zip(a, (1.4, 0.6)):
        h = 0.4 * math.sqrt(scale)
        np.testing.assert_allclose(row[2], 8.0 * h / math.hypot(h, G) / 4.0, atol=1e-6)


def test_tilt_follows_aggressiveness(untrained):
    # A 0.6 m error demands 6 x 0.6 x 0.6 = 2.16 m/s^2 sideways (12.4 deg) at aggressiveness 0,
    # which the prior caps at the 12 deg of tilt_range_deg (horizontal g * tan(12 deg) = 2.08); at
    # 1 it demands 6 x 1.4 x 0.6 = 5.04 m/s^2 (27 deg), within the 40 deg limit, so it passes (and
    # its pitch rate, 3.6 rad/s, within the 4 rad/s the action allows).
    _, contract, actor, term = untrained
    x = _obs(contract, np.array([[0.6, 0, 0]] * 2), np.stack([np.eye(3)] * 2), np.zeros((2, 3)), 0.0)
    x[1, -1] = 1.0
    cmd = term(_act(actor, x))
    horiz = [G * math.tan(math.radians(12.0)), 5.04]
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
    zero = np.zeros((b, 3))
    for aggressiveness in (0.0, 0.3, 1.0):
        x = _obs(
            contract,
            np.einsum("bji,bj->bi", rot, -pos),
            rot,
            np.einsum("bji,bj->bi", rot, -vel),
            aggressiveness,
        )
        want = pd_ctbr(pos, quat, vel, zero, zero, zero, aggressiveness=aggressiveness)
        # The action term clips to the policy's command limits (the baseline's is not clipped).
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
