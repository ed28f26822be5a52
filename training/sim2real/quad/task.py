"""The quadrotor task: ``quad/track``, collective thrust + body rates tracking hover, figure-eight
and circle references (one policy, the reference drawn per episode).

Registered in :mod:`sim2real.tasks`: config, VecEnv (:class:`~sim2real.quad.env.QuadEnv` on the
batched simulator), PPO, the draft contract (from the vehicle file), ``sim2real eval quad`` and
``sim2real sim quad``. In ``eval quad`` and ``sim quad``, ``--task`` is the reference flown
(hover, figure8, circle), all of them the one registered task.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.domains import get_domain
from sim2real_runtime.errors import Sim2RealError

from ..tasks import Task, TrainOption, register_task
from .config import QuadTrainConfig
from .record import add_record_args, record_cli

SIMULATOR = "sim2real batched quadrotor (numba RK4), validated against MuJoCo"


PD_PRIOR_CLASS = "sim2real.quad.baseline:QuadPDPrior"
RESIDUAL_MODEL_CLASS = "sim2real.models:PriorResidualModel"
RESIDUAL_INIT_NOISE_STD = 0.15
"""Exploration noise of the residual (normalised action units): half the from-scratch policy's,
since it explores around a controller that already flies."""


def prior_terms(obs_specs: list[Any], act_spec: Any) -> dict[str, Any]:
    """The term specs the PD prior reads, as the plain JSON a run's config.json keeps."""
    return json.loads(
        json.dumps({"observation": [s.to_dict() for s in obs_specs], "action": act_spec.to_dict()})
    )


def with_pd_prior(cfg: QuadTrainConfig) -> QuadTrainConfig:
    """``cfg`` with a policy that learns a residual on the PD baseline's law (the prior,
    :class:`~sim2real.quad.baseline.QuadPDPrior`, built from the task's own term specs), so PPO
    starts from a controller that flies and only has to learn what PD misses."""
    from .baseline import PDGains
    from .env import task_specs

    obs, act = task_specs(cfg.task)
    prior = {
        "class": PD_PRIOR_CLASS,
        "kwargs": {**prior_terms(obs, act), "gains": dataclasses.asdict(PDGains())},
    }
    ppo = dataclasses.replace(
        cfg.ppo,
        actor_class=RESIDUAL_MODEL_CLASS,
        actor_kwargs=(("cond_index", -1), ("prior", prior)),
        init_noise_std=RESIDUAL_INIT_NOISE_STD,
    )
    return dataclasses.replace(cfg, ppo=ppo)


def default_config() -> QuadTrainConfig:
    """What ``sim2real train quad`` trains: the PPO settings of :class:`QuadTrainConfig` with the
    residual-on-PD policy (:func:`with_pd_prior`)."""
    return with_pd_prior(QuadTrainConfig())


def check_prior(cfg: QuadTrainConfig, obs_specs: list[Any], act_spec: Any) -> None:
    """Refuse a config whose PD prior reads another observation layout or action scaling than the
    task's terms (a config edited by hand, or the terms changed since it was written)."""
    prior = dict(cfg.ppo.actor_kwargs).get("prior")
    if not prior:
        return
    kwargs = prior.get("kwargs", {})
    want = prior_terms(obs_specs, act_spec)
    if any(kwargs.get(k) != v for k, v in want.items()):
        raise Sim2RealError(
            "config ppo.actor_kwargs.prior: its observation/action terms differ from the task's; "
            "rebuild the config with sim2real.quad.task.with_pd_prior"
        )


def build_contract(cfg: QuadTrainConfig) -> PolicyContract:
    """The quadrotor contract of a training config: the vehicle with its training envelope and
    rate loop, the task's terms."""
    from sim2real_runtime.quad_control import quad_training_envelope
    from sim2real_runtime.vehicle import load_vehicle

    from .env import task_specs

    t = cfg.task
    obs_specs, act_spec = task_specs(t)
    check_prior(cfg, obs_specs, act_spec)
    robot = load_vehicle(t.vehicle).as_dict()
    robot["training_envelope"] = quad_training_envelope(
        robot, t.dr.mass_scale, t.dr.thrust_scale, t.dr.motor_time_constant_s
    )
    dr = t.dr
    robot["rate_loop"] = {
        "model": "the vehicle file's flight_controller (sim2real.quad.flight_controller.fc_step), randomised",
        "rate_gain_scale_low": dr.rate_gain_scale[0],
        "rate_gain_scale_high": dr.rate_gain_scale[1],
        "mixer_scale_low": dr.mixer_scale[0],
        "mixer_scale_high": dr.mixer_scale[1],
        "thrust_curve_blend": dr.thrust_curve_blend,
        "battery_sag_fraction_high": dr.battery_sag_fraction[1],
        "rotor_drag_scale_high": dr.rotor_drag_scale[1],
    }
    return PolicyContract(
        domain="quad",
        robot=robot,
        control_rate_hz=t.control_rate_hz,
        observation=tuple(obs_specs),
        action=(act_spec,),
    )


def make_env(cfg: QuadTrainConfig, num_envs: int, seed: int) -> Any:
    from sim2real_runtime.vehicle import load_vehicle

    from .env import QuadEnv

    return QuadEnv(cfg.task, load_vehicle(cfg.task.vehicle), num_envs, seed=seed)


def tracking_stats(env: Any):
    """Per PPO iteration: mean position error (m) and the share of episodes that crashed."""
    last = dict(env.stats)

    def stats() -> dict[str, float]:
        s = env.stats
        d = {k: s[k] - last[k] for k in s}
        last.update(s)
        return {
            "position_error_m": d["err_sum"] / max(d["err_n"], 1),
            "crash_rate": d["crashes"] / max(d["episodes"], 1),
        }

    return stats


def run_name(cfg: QuadTrainConfig) -> str:
    from sim2real_runtime.vehicle import load_vehicle

    return f"quad_{load_vehicle(cfg.task.vehicle).name}"


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", help="policy directory (policy.onnx + policy.yaml)")
    p.add_argument(
        "--controller", choices=["policy", "pd"], default="policy", help="pd: the classical baseline"
    )
    p.add_argument("--vehicle", required=True, help="vehicle name or YAML file")
    p.add_argument("--task", choices=["hover", "figure8", "circle"], default="hover")
    p.add_argument("--episodes", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--aggressiveness", type=float, default=1.0)
    p.add_argument("--wind-accel-mps2", type=float, default=0.0, help="constant wind along +x (m/s^2)")
    p.add_argument(
        "--allow-outside-envelope", action="store_true", help="fly a vehicle the policy was not trained for"
    )
    p.add_argument("--out", help="results JSON (a plot is written beside it)")


def evaluate_cli(a: argparse.Namespace) -> int:
    """``sim2real eval quad``: fly a policy (or the PD baseline) in MuJoCo on a vehicle file."""
    from sim2real_runtime.vehicle import load_vehicle

    from .evaluate import EvalConditions, evaluate, write_results
    from .plots import plot_episodes

    if a.controller == "policy" and not a.policy:
        raise Sim2RealError("eval quad: give --policy DIR (or --controller pd for the baseline)")
    vehicle = load_vehicle(a.vehicle)
    cond = dataclasses.replace(
        EvalConditions(), aggressiveness=a.aggressiveness, wind_accel_mps2=a.wind_accel_mps2
    )
    summary, results = evaluate(
        a.policy, vehicle, a.task, a.episodes, a.seed, cond, a.controller, a.allow_outside_envelope
    )
    keys = (
        "crash_rate",
        "rmse_m_median",
        "rmse_m_worst",
        "max_error_m",
        "settling_time_s_median",
        "max_tilt_deg",
    )
    for k in keys:
        v = summary[k]
        print(f"{k:>24}: {v:.4f}" if isinstance(v, float) else f"{k:>24}: {v}")
    if a.out:
        out = Path(a.out)
        write_results(out, summary, results)
        plot = plot_episodes(out.with_suffix(".png"), summary, results)
        print(f"wrote {out} and {plot}")
    return 0


def add_sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vehicle", default="crazyflie_2_1", help="vehicle name or YAML")
    p.add_argument("--interface", choices=["px4", "crazyflie"], default="crazyflie")
    p.add_argument("--task", choices=["hover", "figure8", "circle"], default="figure8")
    p.add_argument("--start-delay-s", type=float, default=2.0, help="hold the start point this long first")
    p.add_argument("--real-time-factor", type=float, default=1.0, help="sim seconds per wall second (0: max)")
    p.add_argument("--duration-s", type=float, help="exit after this much simulated time")
    p.add_argument(
        "--px4-version",
        choices=["1.15", "1.16", "1.17", "1.18"],
        default="1.15",
        help="px4: publish VehicleStatus as this release does (1.16+: versioned, on vehicle_status_v<N>)",
    )


def sim_cli(a: argparse.Namespace) -> int:
    """``sim2real sim quad``: MuJoCo sim bridge speaking PX4 or Crazyswarm2 topics."""
    import numpy as np

    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.transport import DEFAULT
    from sim2real_runtime.quad_reference import TASKS
    from sim2real_runtime.vehicle import load_vehicle

    from .sim_bridge import BridgeConfig, QuadSimBridge, reference_window

    vehicle = load_vehicle(a.vehicle)
    ref = TASKS[a.task]()
    start = tuple(float(v) for v in ref.position(np.zeros(1))[0])
    from sim2real_ros.px4 import vehicle_status_version

    cfg = BridgeConfig(
        interface=a.interface,
        real_time_factor=a.real_time_factor,
        start_position_m=start,
        px4_status_version=vehicle_status_version(a.px4_version),
    )
    transport = DdsTransport("sim_bridge")
    bridge = QuadSimBridge(transport, vehicle, cfg)
    path_pub = transport.publisher("/reference_path", "nav_msgs/msg/Path", DEFAULT)
    state: dict[str, Any] = {"next_s": 0.0}
    print(
        f"{vehicle.name} over {a.interface} topics at {start}; reference: {a.task} on /reference_path",
        flush=True,
    )

    def done() -> bool:
        now = bridge.clock_s
        if now >= state["next_s"]:  # a fresh 2.5 s window of the reference, twice a second
            state["next_s"] = now + 0.5
            path_pub.publish(reference_window(transport, ref, now, a.start_delay_s))
        return a.duration_s is not None and now >= a.duration_s

    with contextlib.suppress(KeyboardInterrupt):
        bridge.run(done)
    print(json.dumps(bridge.status()), flush=True)
    transport.close()
    return 0


register_task(
    Task(
        domain="quad",
        name="track",
        description="quadrotor CTBR tracking of hover, figure-eight and circle references (PPO)",
        config_class=QuadTrainConfig,
        default_config=default_config,
        make_env=make_env,
        trainer="ppo",
        build_contract=build_contract,
        description_files=lambda cfg: (get_domain("quad").description_file(cfg.task.vehicle),),
        simulator=SIMULATOR,
        run_name=run_name,
        default=True,
        iteration_stats=tracking_stats,
        postfix_keys=("position_error_m", "crash_rate"),
        plot_training="sim2real.quad.plots:plot_training",
        train_options=(
            TrainOption("--vehicle", "task.vehicle", "nominal vehicle name or YAML (default: crazyflie_2_1)"),
        ),
        add_eval_args=add_eval_args,
        evaluator=evaluate_cli,
        add_sim_args=add_sim_args,
        sim_bridge=sim_cli,
        add_record_args=add_record_args,
        recorder=record_cli,
    )
)
