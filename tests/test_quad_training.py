"""Quadrotor training pieces: references, the environment, the FiLM actor, the numba kernel,
export with the contract, evaluation and the CLI."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from sim2real_runtime.quad_reference import SampledReference, circle, figure_eight, hover, lookahead_times
from sim2real_runtime.vehicle import load_vehicle

CF = load_vehicle("crazyflie_2_1")


def test_figure_eight_has_the_size_and_period_asked_for():
    ref = figure_eight((1.0, 0.5), 6.0, (0.0, 0.0, 1.0))
    t = np.linspace(0, 6, 6001)[None]
    p = ref.position(t)[0]
    assert p[:, 0].max() - p[:, 0].min() == pytest.approx(1.0, abs=1e-6)
    assert p[:, 1].max() - p[:, 1].min() == pytest.approx(0.5, abs=1e-6)
    assert np.allclose(p[0], [0, 0, 1]) and np.allclose(p[-1], p[0], atol=1e-9)
    # passes the centre twice per period (t = 0 and 3 s): the crossing of a figure-eight
    assert np.allclose(ref.position(np.array([3.0]))[0], [0, 0, 1], atol=1e-12)
    # derivatives match finite differences
    h = 1e-5
    for t0 in (0.3, 2.0, 4.7):
        tt = np.array([t0])
        v = (ref.position(tt + h) - ref.position(tt - h)) / (2 * h)
        a = (ref.velocity(tt + h) - ref.velocity(tt - h)) / (2 * h)
        assert np.allclose(ref.velocity(tt), v, atol=1e-6)
        assert np.allclose(ref.acceleration(tt), a, atol=1e-5)


def test_circle_and_hover():
    c = circle(0.5, 4.0, (1.0, 2.0, 1.5))
    p = c.position(np.array([[0.0, 1.0, 2.0]]))[0]
    assert np.allclose(p, [[1.5, 2.0, 1.5], [1.0, 2.5, 1.5], [0.5, 2.0, 1.5]], atol=1e-12)  # CCW from +x
    assert np.allclose(hover((1, 2, 3)).position(np.array([7.0])), [[1, 2, 3]])


def test_sampled_reference_interpolates_and_holds_the_ends():
    ref = SampledReference(np.array([10.0, 11.0]), np.array([[0.0, 0, 1], [1.0, 0, 1]]))
    assert np.allclose(ref.position(np.array([9.0, 10.25, 12.0])), [[0, 0, 1], [0.25, 0, 1], [1, 0, 1]])
    assert np.allclose(lookahead_times(10.0, 5, 0.5), [10.1, 10.2, 10.3, 10.4, 10.5])
    for bad in ((np.array([1.0, 1.0]), np.zeros((2, 3))), (np.array([0.0]), np.full((1, 3), np.nan))):
        with pytest.raises(ValueError):
            SampledReference(*bad)


def test_numba_kernel_equals_the_interpreted_kernel():
    """The compiled kernel (parallel, both cores) against its own Python source run by the
    interpreter, with per-vehicle latency: same numbers (the parallel loop shares no state)."""
    from sim2real.quad.batch_sim import BatchQuadSim

    x500 = load_vehicle("x500")
    vehicles = [CF, x500] * 8
    sims = [BatchQuadSim(vehicles, backend=b) for b in ("python", "numba")]
    rng = np.random.default_rng(1)
    start = rng.normal(size=(16, 3))
    for s in sims:
        s.reset(np.arange(16), start)
        s.external_accel[:] = [0.3, -0.2, 0.1]
    delay = rng.integers(0, 3, 16)
    old = (np.full(16, 0.5), np.zeros((16, 3)))
    for _ in range(50):
        setpoint = rng.uniform(0.3, 0.9, 16)
        rates = rng.normal(0, 2, (16, 3))
        for s in sims:
            s.step(setpoint, rates, 3, previous=old, delay_steps=delay)
        old = (setpoint, rates)
    for name in ("pos", "vel", "quat", "omega", "speed", "integral", "dfilt"):
        np.testing.assert_allclose(getattr(sims[1], name), getattr(sims[0], name), atol=1e-9, err_msg=name)


def test_roll_rate_step_times_the_rate_loop_and_weaker_gains_are_slower():
    from sim2real.quad.batch_sim import roll_rate_step

    fc = CF.flight_controller
    weak = dataclasses.replace(
        CF,
        flight_controller=dataclasses.replace(
            fc, rate_p=tuple(0.5 * np.asarray(fc.rate_p)), rate_i=tuple(0.5 * np.asarray(fc.rate_i))
        ),
    )
    t63, peak = roll_rate_step([CF, weak])
    # the nominal Crazyflie reaches 63 % of a 1 rad/s step within tens of milliseconds, the
    # half-gain copy measurably later; both reach the step
    assert 0.01 < t63[0] < 0.06 and t63[1] > t63[0] + 0.005
    assert np.all(peak > 0.9) and np.all(peak < 2.0)


def test_training_draws_cover_the_rate_loops_of_the_px4_frames():
    """The policy flies through the autopilot's rate loop: the rate loops it trains on (the
    Crazyflie's, randomised) must include ones as slow as the x500's and the Iris's, or it meets
    an untrained plant there (policies trained with rate gains x0.6-1.5, where 2 of 2,000 draws
    were as slow as the Iris, swung it 30-70 cm in hover)."""
    from sim2real.quad.batch_sim import roll_rate_step
    from sim2real.quad.config import QuadTaskConfig
    from sim2real.quad.env import QuadEnv

    env = QuadEnv(QuadTaskConfig(), CF, 1, seed=0)
    drawn, _ = env.sample_vehicles(2000)
    t_drawn, _ = roll_rate_step(drawn)
    t_x500, t_iris = roll_rate_step([load_vehicle("x500"), load_vehicle("iris")])[0]
    # x0.45-1.5 (the config): 4.3 % of the draws slower than the x500, 0.4 % than the Iris;
    # x0.6-1.5 (before): 1.8 % and 0.1 % (2 of 2,000)
    assert np.mean(t_drawn > t_x500) > 0.03
    assert np.mean(t_drawn > t_iris) >= 0.0025


def test_every_environment_builds_resets_and_steps_finite():
    from sim2real.quad.config import QuadTaskConfig
    from sim2real.quad.env import PRIVILEGED_SIZE, QuadEnv

    env = QuadEnv(QuadTaskConfig(), CF, 64, seed=0)
    obs = env.get_observations()
    n_obs = env.observation.size
    assert obs["policy"].shape == (64, n_obs) and obs["critic"].shape == (64, n_obs + PRIVILEGED_SIZE)
    for _ in range(env.max_episode_length + 5):  # through at least one episode end
        obs, rew, _, _ = env.step(torch.rand(64, 4) * 2 - 1)
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()
    assert env.stats["episodes"] > 0
    # the randomisation stays inside its ranges, and every vehicle can fly
    from sim2real.quad.flight_controller import P_KP, P_MALPHA, P_TMAX

    tw = 4 * env.sim.params[:, P_TMAX] / (env.sim.mass * 9.80665)
    assert tw.min() > 1.0 and np.all(env.sim.params[:, P_MALPHA] > 0)
    # the autopilots differ: rate gains drawn per vehicle around the file's
    kp = env.sim.params[:, P_KP] / CF.flight_controller.rate_p[0]
    lo, hi = env.cfg.dr.rate_gain_scale
    assert kp.min() >= lo - 1e-9 and kp.max() <= hi + 1e-9 and kp.std() > 0.1


def test_zero_action_is_hover_and_a_crash_ends_the_episode():
    from sim2real.quad.config import QuadTaskConfig
    from sim2real.quad.env import QuadEnv

    env = QuadEnv(QuadTaskConfig(), CF, 4, seed=0, randomize=False)
    ids = np.arange(4)
    env.ref.amplitude_m[:] = 0.0  # hover references
    env.sim.reset(ids, env.ref.position(env.ref_t))
    env.steps[:] = 0
    env.prev_err[:] = 0.0
    for _ in range(25):
        _, rew, done, _ = env.step(torch.zeros(4, 4))
    assert not done.any()
    assert np.allclose(env.sim.pos, env.ref.position(env.ref_t), atol=1e-3)  # zero action = hover
    cfg = env.cfg
    best = (cfg.reward_alive + cfg.reward_precision) * env.dt
    assert rew.numpy() == pytest.approx(best, rel=0.02)
    env.sim.pos[0] += 5.0  # far from the reference: a crash
    _, rew, done, extras = env.step(torch.zeros(4, 4))
    assert done[0] and not extras["time_outs"][0] and rew[0] == cfg.reward_crash


def test_film_layers_start_neutral_and_modulate_after_training():
    from sim2real.models import FiLMMLP

    torch.manual_seed(0)
    net = FiLMMLP(5, 2, [8, 8], "elu", cond_index=-1)
    x = torch.randn(3, 5)
    x2 = x.clone()
    x2[:, -1] += 1.0
    # at init the user input acts only through the trunk, as in a plain MLP
    plain = net.head(net.activation(net.layers[1](net.activation(net.layers[0](x)))))
    assert torch.allclose(net(x), plain)
    with torch.no_grad():
        net.film[0].weight.fill_(0.5)
    assert not torch.allclose(net(x), net(x2))
    with pytest.raises(ValueError):
        FiLMMLP(5, 2, [8], "elu", cond_index=5)


def test_export_writes_the_quadrotor_contract(tiny_quad_policy, tiny_quad_run):
    from sim2real.export import load_run_actor, run_task
    from sim2real_runtime.policy import OnnxPolicy

    pol = OnnxPolicy(tiny_quad_policy)
    c = pol.contract
    assert c.domain == "quad" and c.control_rate_hz == 50.0
    assert [t.name for t in c.observation][-1] == "aggressiveness"
    assert c.action[0].kind == "ctbr" and c.action_size == 4
    env = c.robot["training_envelope"]
    assert env["thrust_to_weight"][0] < CF.thrust_to_weight < env["thrust_to_weight"][1]
    assert c.provenance["config"]["ppo"]["actor_class"] == "sim2real.models:FiLMMLPModel"
    # ONNX (with the normaliser inside) equals the torch actor
    run, ckpt = tiny_quad_run
    task, cfg, _ = run_task(run)
    actor = load_run_actor(task, cfg, ckpt, c).as_onnx(verbose=False).eval()
    obs = np.random.default_rng(0).normal(size=(16, c.obs_size)).astype(np.float32)
    with torch.no_grad():
        ref = actor(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(pol(obs), ref, atol=1e-5)


def test_eval_cli_flies_and_writes_results_and_plot(tiny_quad_policy, tmp_path, capsys):
    from sim2real.cli import main

    out = tmp_path / "hover.json"
    rc = main(["eval", "quad", "--policy", str(tiny_quad_policy), "--vehicle", "crazyflie_2_1",
               "--task", "hover", "--episodes", "1", "--out", str(out)])  # fmt: skip
    assert rc == 0 and out.is_file() and out.with_suffix(".png").is_file()
    data = json.loads(out.read_text())
    assert data["summary"]["task"] == "hover" and len(data["episodes"]) == 1
    assert "rmse_m_median" in capsys.readouterr().out


def test_pd_baseline_tracks_the_figure_eight_in_mujoco():
    """The evaluator's scoring against a controller we understand: a PD loop tracks the issue's
    figure-eight to a few centimetres."""
    from sim2real.quad.evaluate import evaluate

    summary, results = evaluate(None, CF, "figure8", episodes=1, controller="pd")
    assert summary["crash_rate"] == 0.0
    assert summary["rmse_m_median"] < 0.05
    r = results[0]
    assert r.times_s[-1] == pytest.approx(18.0, abs=0.05)  # three periods


def test_bad_vehicle_and_missing_policy_are_clear_cli_errors(tmp_path, capsys):
    from sim2real.cli import main

    bad = tmp_path / "v.yaml"
    bad.write_text(
        "name: v\nmass_kg: -1\narm_length_m: 0.1\ninertia_kgm2: [1, 1, 1]\n"
        "motor_max_thrust_n: 1\ntorque_to_thrust_m: 0.01\nmotor_time_constant_s: 0.02\n"
    )
    assert main(["eval", "quad", "--controller", "pd", "--vehicle", str(bad)]) == 2
    assert "mass_kg" in capsys.readouterr().err
    assert main(["eval", "quad", "--vehicle", "crazyflie_2_1"]) == 2
    assert "--policy" in capsys.readouterr().err


def test_tilt_reward_depends_on_aggressiveness():
    from sim2real_runtime.quad_terms import max_tilt_rad

    assert max_tilt_rad(0.0, (15.0, 50.0)) == pytest.approx(math.radians(15))
    assert max_tilt_rad(1.0, (15.0, 50.0)) == pytest.approx(math.radians(50))
    assert max_tilt_rad(7.0, (15.0, 50.0)) == pytest.approx(math.radians(50))  # clipped
    assert max_tilt_rad(-3.0, (15.0, 50.0)) == pytest.approx(math.radians(15))
    assert max_tilt_rad(math.nan, (15.0, 50.0)) == pytest.approx(math.radians(15))  # the gentlest
