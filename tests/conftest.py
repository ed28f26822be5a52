"""Shared fixtures: robots, paths to ../shared, a tiny trained-and-exported policy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BARN = SHARED / "benchmarks" / "barn"


@pytest.fixture(scope="session")
def jackal():
    from sim2real_runtime.robot import load_robot

    return load_robot("jackal")


@pytest.fixture(scope="session")
def turtlebot():
    from sim2real_runtime.robot import load_robot

    return load_robot("turtlebot3_burger")


@pytest.fixture(scope="session")
def barn_dir() -> Path:
    if not BARN.is_dir():
        pytest.skip("../shared/benchmarks/barn is not present")
    return BARN


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A 2-iteration training run on 4 small worlds (seconds): exercises train + checkpoint."""
    from sim2real.nav.config import NavTaskConfig, NavTrainConfig, PPOConfig
    from sim2real.tasks import get_task
    from sim2real.trainers import train

    cfg = NavTrainConfig(
        task=dataclasses.replace(NavTaskConfig(), num_worlds=4),
        ppo=dataclasses.replace(PPOConfig(), num_envs=16, steps_per_env=8, hidden_dims=(32, 32)),
        max_iterations=2,
        save_interval=1,
        validation_worlds=2,  # checkpoint selection exercised on 2 worlds, not the 60 of a real run
    )
    run = tmp_path_factory.mktemp("run")
    ckpt = train(get_task("nav", "goal"), cfg, run)
    return run, ckpt


@pytest.fixture(scope="session")
def tiny_policy(tiny_run, tmp_path_factory):
    from sim2real.export import export_run

    run, ckpt = tiny_run
    return export_run(run, tmp_path_factory.mktemp("pol") / "nav_tiny", ckpt)


@pytest.fixture(scope="session")
def tiny_quad_run(tmp_path_factory):
    """A 2-iteration quadrotor training run (seconds): exercises train + checkpoint + FiLM actor."""
    from sim2real.quad.config import QuadTrainConfig
    from sim2real.tasks import get_task
    from sim2real.trainers import train

    base = QuadTrainConfig()
    cfg = dataclasses.replace(
        base,
        ppo=dataclasses.replace(base.ppo, num_envs=32, steps_per_env=8, hidden_dims=(16, 16)),
        max_iterations=2,
        save_interval=1,
    )
    run = tmp_path_factory.mktemp("quad_run")
    return run, train(get_task("quad", "track"), cfg, run)


@pytest.fixture(scope="session")
def tiny_quad_policy(tiny_quad_run, tmp_path_factory):
    from sim2real.export import export_run

    run, ckpt = tiny_quad_run
    return export_run(run, tmp_path_factory.mktemp("quad_pol") / "quad_tiny", ckpt)


class TestClock:
    """A clock the test advances by hand, installed as a transport's node and steady clocks."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def clocked_transport(name: str):
    """A DDS transport whose clocks are a :class:`TestClock` (``transport.clock``), so that
    watchdog and scheduling behaviour is exact."""
    from sim2real_ros.dds import DdsTransport

    t = DdsTransport(name)
    clock = TestClock()
    t.now_s = clock  # type: ignore[method-assign]
    t.monotonic_s = clock  # type: ignore[method-assign]
    t.clock = clock  # type: ignore[attr-defined]
    return t


_DDS_COUNTER = iter(range(10**6))


@pytest.fixture
def dds_env(monkeypatch) -> dict[str, str]:
    """An isolated DDS network for one test: a fresh domain id and discovery tag, loopback only.

    Sets ``ROS_DOMAIN_ID`` and ``CYCLONEDDS_URI`` in this process (Cyclone reads them when a domain
    is first used) and returns the environment to hand to subprocesses.
    """
    import os
    import uuid

    from sim2real_ros.dds import loopback_config

    # Every test gets a domain of its own in this process (Cyclone configures a domain once).
    domain = str(1 + (os.getpid() * 31 + next(_DDS_COUNTER)) % 200)
    tag = f"s2r-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("ROS_DOMAIN_ID", domain)
    monkeypatch.setenv("CYCLONEDDS_URI", loopback_config(tag))
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def tiny_manip_policy(tmp_path_factory):
    """An untrained (random weights) pick-and-place arm policy with a real contract, exported as
    training would: rsl-rl MLPModel with its observation normaliser, ONNX checked against torch."""
    import torch
    from rsl_rl.models import MLPModel
    from tensordict import TensorDict

    from sim2real.onnx_export import export_actor
    from sim2real.tasks import get_task

    torch.manual_seed(0)
    task = get_task("manip", "pick_place")
    contract = task.build_contract(task.default_config())  # complete: loading is strict (issue 12)
    n_obs, n_act = contract.obs_size, contract.action_size
    dummy = TensorDict({"policy": torch.zeros(1, n_obs)}, batch_size=[1])
    actor = MLPModel(
        dummy, {"actor": ["policy"]}, "actor", n_act, hidden_dims=(32, 32), obs_normalization=True
    )
    actor.train()
    actor.obs_normalizer.update(torch.randn(256, n_obs) * 0.5)  # a normaliser that is not the identity
    actor.eval()
    return export_actor(actor, contract, tmp_path_factory.mktemp("manip_pol") / "manip_tiny")


@pytest.fixture(scope="session")
def random_policy(tmp_path_factory):
    """A factory: ``random_policy(domain, task=None)`` -> a policy directory (policy.onnx +
    policy.yaml) exported with random weights from the task's draft contract (the default task of
    the domain), as training would export it: rsl-rl actor with a non-identity observation
    normaliser, onnxruntime checked against torch. Cached per (domain, task) for the session."""
    cache: dict = {}

    def make(domain: str, task: str | None = None) -> Path:
        from sim2real.export import random_policy as export_random
        from sim2real.tasks import get_task

        t = get_task(domain, task)
        if t.key not in cache:
            out = tmp_path_factory.mktemp("random_policy") / t.key.replace("/", "_")
            cache[t.key] = export_random(t, out, seed=0)
        return cache[t.key]

    return make
