"""The fast simulator: motion, lidar and collisions against hand-computed values; the env's shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sim2real.nav.config import NavTaskConfig
from sim2real.nav.env import NavEnv, footprint_extent
from sim2real.nav.grid_kernels import geodesic_distance
from sim2real.nav.kinematic_sim import DomainRandomization, KinematicNavSim, WorldBank
from sim2real.nav.scenario import Scenario


def one_post(x=5.0, y=0.0, r=0.5):
    return Scenario("post", (0.0, 0.0, 0.0), (20.0, 0.0), 1.0, 100.0, 20.0, np.array([[x, y, r]]))


def test_straight_line_and_turn(jackal):
    sim = KinematicNavSim(jackal, 10.0)
    sim.reset(one_post(x=50.0), seed=0)
    for _ in range(30):
        f = sim.step(1.0, 0.0)
    # Substeps of 25 ms; response tau 0.05 s (gain 0.3935 per substep) and at most 4 m/s^2 * 25 ms =
    # 0.1 m/s per substep: v = 0.1, ..., 0.8 (8 substeps, lost h * (8 - 3.6) = 0.110 m), then the gap
    # 0.2 shrinks by 0.6065 per substep (lost h * 0.2 * 0.6065 / 0.3935 = 0.0077 m): 3 m - 0.1177 m.
    assert f.pose[0] == pytest.approx(3.0 - 0.1177, abs=0.002)
    assert f.pose[1] == pytest.approx(0.0, abs=1e-9) and f.twist[0] == pytest.approx(1.0, abs=1e-3)
    sim.reset(one_post(x=50.0), seed=0)
    for _ in range(20):
        f = sim.step(0.0, 1.0)
    # 8 rad/s^2 -> 0.2 rad/s per substep: 0.2, 0.4, 0.6 (lost h * 1.8), then gap 0.243 decays by
    # 0.6065 per substep (lost h * 0.243 / 0.3935): 2 rad - 0.0604 rad.
    assert f.pose[2] == pytest.approx(2.0 - 0.0604, abs=0.002)


def test_lidar_range_to_a_post(jackal):
    sim = KinematicNavSim(jackal, 10.0)
    f = sim.reset(one_post(x=5.0, r=0.5), seed=0)
    mid = jackal.lidar.num_beams // 2
    # Beam 360 of 720 points 0.19 degrees left of straight ahead; the post's face is 4.5 m from the
    # base, 4.38 m from the lidar; the 0.05 m grid rounds the surface by up to one cell.
    assert f.ranges_m[mid] == pytest.approx(4.5 - jackal.lidar.mount_x_m, abs=0.06)
    assert np.isinf(f.ranges_m[0]) and np.isinf(f.ranges_m[-1])  # looking sideways: nothing


def test_collision_with_post(jackal):
    sim = KinematicNavSim(jackal, 10.0)
    sim.reset(one_post(x=1.2, r=0.3), seed=0)
    hit = False
    for _ in range(20):
        hit = sim.step(0.5, 0.0).collided
        if hit:
            break
    assert hit
    # It stops touching at the front face: x + half length ~= 1.2 - 0.3 (within a cell + one step).
    assert sim.sim.pose[0, 0] + 0.254 == pytest.approx(0.9, abs=0.11)


def test_geodesic_distance_by_hand():
    free = np.ones((5, 5), dtype=bool)
    free[1:4, 2] = False  # a wall in column 2, rows 1-3
    d = geodesic_distance(free, 2, 0, 1.0)
    assert d[2, 1] == 1.0
    assert d[0, 0] == 2.0
    # Around the wall: (2,0) -> (1,1) -> (0,2) -> (1,3) -> (2,4)? corner cutting is forbidden next to
    # the wall, so the path is (2,0)-(1,1)-(0,1)... hand count: 1.414 + 1 + 1 + 1 + 1.414 + 1
    assert d[2, 4] == pytest.approx(2 * np.sqrt(2) + 4, abs=1e-9)
    assert np.isinf(d[1, 2])


def test_footprint_extent(jackal):
    e = footprint_extent(jackal)
    mid = jackal.lidar.num_beams // 2
    assert e[mid] == pytest.approx(0.254 - 0.12, abs=1e-3)  # straight ahead: front edge
    # Beam at +90 degrees: the side edge at half width.
    i = int(np.argmin(np.abs(jackal.lidar.beam_angles_rad() - np.pi / 2)))
    assert e[i] == pytest.approx(0.215, abs=2e-3)


def test_env_steps_and_shapes(jackal):
    from sim2real.nav.worldgen import generate_training_world

    rng = np.random.default_rng(0)
    worlds = [generate_training_world(rng, d) for d in (0.0, 0.5, 1.0)]
    env = NavEnv(NavTaskConfig(), jackal, WorldBank(worlds, jackal, 0.15), num_envs=8, seed=0)
    obs = env.get_observations()
    assert obs["policy"].shape == (8, 79) and obs["critic"].shape == (8, 81)
    for _ in range(40):
        obs, rew, done, extras = env.step(torch.randn(8, 2))
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()
        assert done.dtype == torch.bool and extras["time_outs"].shape == (8,)
        assert np.all(np.abs(env.sim.cmd[:, 0]) <= 1.6 + 1e-9)


def test_nominal_dr_is_deterministic(jackal):
    dr = DomainRandomization.none()
    assert dr.latency_s == (0.0, 0.0) and dr.beam_dropout == (0.0, 0.0)
