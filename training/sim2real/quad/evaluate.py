"""``sim2real eval quad``: fly an exported policy in MuJoCo on a vehicle file and score it.

The policy runs through the runtime's :class:`~sim2real_runtime.quad_control.QuadController` and
:class:`~sim2real_runtime.quad_control.QuadSafety` (what the ROS 2 node runs), on MuJoCo (not the
batched training simulator), with odometry noise and an optional latency and wind.

Scoring (per episode; the summary gives medians and worst cases):

- hover: start at rest ``start_offset_m`` from the hover point, 10 s. Settling time: when the
  error enters and stays within 5 cm. RMSE and maximum error over t >= ``settle_window_s``.
- figure8 / circle: start at rest on the reference's start point, three periods. RMSE and
  maximum error over the last two periods (the first is the take-up), and over the whole run.
- crash: tilt beyond 90 deg, more than 1.5 m from the reference, or below the ground (z < 0).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_runtime.policy import OnnxPolicy
from sim2real_runtime.quad_control import QuadController, QuadSafety, QuadSafetyConfig
from sim2real_runtime.quad_reference import TASKS, Lissajous, lookahead_times
from sim2real_runtime.rotations import quat_to_matrix
from sim2real_runtime.vehicle import VehicleConfig

from .baseline import pd_ctbr
from .env import perturb_quats
from .mujoco_quad import QuadSim

SETTLED_M = 0.05
"""Hover settling band (m)."""
CRASH_DISTANCE_M = 1.5


@dataclass(frozen=True)
class EvalConditions:
    """What the evaluation flies through."""

    position_noise_std_m: float = 0.002
    """Odometry position noise (m); a motion-capture system is about 1 mm."""
    velocity_noise_std_mps: float = 0.01
    attitude_noise_std_rad: float = 0.005
    rates_noise_std_radps: float = 0.02
    latency_s: float = 0.004
    """Odometry-to-motor delay (s) on top of the vehicle file's odometry_latency_s (the sum is
    capped at one control period)."""
    wind_accel_mps2: float = 0.0
    """Constant horizontal wind force per unit mass (m/s^2), along +x."""
    gust_accel_std_mps2: float = 0.2
    """Standard deviation of the gusts (m/s^2; horizontal, a third of it vertical): an
    Ornstein-Uhlenbeck process with a 1 s correlation time, seeded per episode."""
    start_offset_m: float = 0.3
    """Hover: initial distance from the hover point (m), in a random direction."""
    aggressiveness: float = 1.0
    hover_time_s: float = 10.0
    settle_window_s: float = 3.0
    periods: int = 3


@dataclass
class EpisodeResult:
    task: str
    seed: int
    crashed: bool
    rmse_m: float
    max_error_m: float
    rmse_full_m: float
    settling_time_s: float | None
    max_tilt_deg: float
    safety_events: dict[str, int] = field(default_factory=dict)
    times_s: list[float] = field(default_factory=list)
    positions_m: list[list[float]] = field(default_factory=list)
    references_m: list[list[float]] = field(default_factory=list)


def _reference(task: str) -> Lissajous:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    return TASKS[task]()


def fly(
    controller: Callable[
        [np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray
    ],
    vehicle: VehicleConfig,
    task: str,
    seed: int,
    cond: EvalConditions,
    control_rate_hz: float,
    lookahead: tuple[int, float],
    safety: QuadSafety,
) -> EpisodeResult:
    """One episode in MuJoCo. ``controller(pos, quat, vel, rates, ref_now [3], ahead [K, 3])``
    returns the CTBR command [4] (collective acceleration, body rates)."""
    rng = np.random.default_rng(seed)
    ref = _reference(task)
    sim = QuadSim(vehicle)
    dt = 1.0 / control_rate_hz
    start = ref.position(np.zeros(1))[0]
    if task == "hover":
        d = rng.normal(size=3)
        start = start + cond.start_offset_m * d / np.linalg.norm(d)
        duration = cond.hover_time_s
        window = cond.settle_window_s
    else:
        period = 2 * math.pi / abs(float(ref.omega_radps[0]))
        duration = cond.periods * period
        window = period
    sim.reset(start)
    n = int(round(duration * control_rate_hz))
    delay = max(0.0, min(cond.latency_s + vehicle.flight_controller.odometry_latency_s, dt))
    gust = np.zeros(3)
    cmd = safety.level(np.array([1.0, 0, 0, 0]))
    times, pos_log, ref_log, tilts = [], [], [], []
    crashed = False
    events: dict[str, int] = {}
    k_look, h_look = lookahead
    for i in range(n):
        t = i * dt
        s = sim.state()
        noisy_q = perturb_quats(rng, s.quat_wxyz[None], cond.attitude_noise_std_rad)[0]
        obs = (
            s.position_m + rng.normal(0, cond.position_noise_std_m, 3),
            noisy_q,
            s.velocity_mps + rng.normal(0, cond.velocity_noise_std_mps, 3),
            s.body_rates_radps + rng.normal(0, cond.rates_noise_std_radps, 3),
        )
        ref_now = ref.position(np.array([t]))[0]
        ahead = ref.position(lookahead_times(np.array([t]), k_look, h_look))[0]
        new = controller(*obs, safety.fence_reference(ref_now), safety.fence_reference(ahead))
        new, why = safety(new, obs[1], obs[0])
        if why:
            events[why] = events.get(why, 0) + 1
        # latency: the previous command stays in force for ``delay`` of this period
        sd = cond.gust_accel_std_mps2 * math.sqrt(2 * dt)
        gust += -dt * gust + rng.normal(0.0, sd, 3) * [1.0, 1.0, 0.3]
        sim.wind_force_n = (np.array([cond.wind_accel_mps2, 0.0, 0.0]) + gust) * vehicle.mass_kg
        if delay > 0:
            sim.step(cmd[0] * vehicle.mass_kg, cmd[1:], delay)
        s = sim.step(new[0] * vehicle.mass_kg, new[1:], dt - delay)
        cmd = new
        err = float(np.linalg.norm(s.position_m - ref.position(np.array([t + dt]))[0]))
        tilt = math.degrees(math.acos(min(max(quat_to_matrix(s.quat_wxyz)[2, 2], -1.0), 1.0)))
        times.append(t + dt)
        pos_log.append(s.position_m.tolist())
        ref_log.append(ref.position(np.array([t + dt]))[0].tolist())
        tilts.append(tilt)
        if tilt > 90 or err > CRASH_DISTANCE_M or s.position_m[2] < 0.0 or not np.isfinite(err):
            crashed = True
            break
    tt = np.array(times)
    e = np.linalg.norm(np.array(pos_log) - np.array(ref_log), axis=1)
    scored = e[tt >= window] if np.any(tt >= window) else e
    settling = None
    if task == "hover" and not crashed:
        outside = np.nonzero(e > SETTLED_M)[0]
        settling = (
            0.0 if len(outside) == 0 else (float(tt[outside[-1]]) if outside[-1] < len(e) - 1 else None)
        )
    return EpisodeResult(
        task=task,
        seed=seed,
        crashed=crashed,
        rmse_m=float(np.sqrt(np.mean(scored**2))),
        max_error_m=float(scored.max()),
        rmse_full_m=float(np.sqrt(np.mean(e**2))),
        settling_time_s=settling,
        max_tilt_deg=float(max(tilts)),
        safety_events=events,
        times_s=times,
        positions_m=pos_log,
        references_m=ref_log,
    )


def policy_controller(
    policy_dir: str | Path, vehicle: VehicleConfig, aggressiveness: float, allow_outside: bool
):
    """(controller function, control rate, lookahead) for an exported policy."""
    c = QuadController(OnnxPolicy(policy_dir), vehicle, allow_outside_envelope=allow_outside)

    def run(pos, quat, vel, rates, ref_now, ahead):
        return c.step(pos, quat, vel, rates, ref_now, ahead, aggressiveness)

    return run, c, (c.lookahead_points, c.lookahead_horizon_s)


def pd_controller(task: str, control_rate_hz: float, aggressiveness: float):
    """The classical baseline on the same reference (it reads the reference's velocity and
    acceleration analytically, which a policy does not get), its gains and tilt limit set by the
    same aggressiveness as the policy's."""
    ref = _reference(task)
    step = {"i": 0}

    def run(pos, quat, vel, rates, ref_now, ahead):
        t = np.array([step["i"] / control_rate_hz])
        step["i"] += 1
        va = ref.velocity(t), ref.acceleration(t)
        return pd_ctbr(pos[None], quat[None], vel[None], ref_now[None], *va, aggressiveness)[0]

    return run


def summarize(results: list[EpisodeResult]) -> dict[str, Any]:
    ok = [r for r in results if not r.crashed]
    settle = [r.settling_time_s for r in ok if r.settling_time_s is not None]
    return {
        "episodes": len(results),
        "crash_rate": 1.0 - len(ok) / max(len(results), 1),
        "rmse_m_median": float(np.median([r.rmse_m for r in ok])) if ok else None,
        "rmse_m_worst": float(max(r.rmse_m for r in ok)) if ok else None,
        "max_error_m": float(max(r.max_error_m for r in ok)) if ok else None,
        "rmse_full_m_median": float(np.median([r.rmse_full_m for r in ok])) if ok else None,
        "settling_time_s_median": float(np.median(settle)) if settle else None,
        "unsettled_episodes": sum(1 for r in ok if results[0].task == "hover" and r.settling_time_s is None),
        "max_tilt_deg": float(max(r.max_tilt_deg for r in results)) if results else None,
    }


def evaluate(
    policy_dir: str | Path | None,
    vehicle: VehicleConfig,
    task: str,
    episodes: int = 5,
    seed: int = 0,
    cond: EvalConditions = EvalConditions(),
    controller: str = "policy",
    allow_outside_envelope: bool = False,
) -> tuple[dict[str, Any], list[EpisodeResult]]:
    """Fly ``episodes`` episodes; returns (summary, episodes)."""
    if controller == "policy":
        if policy_dir is None:
            raise ValueError("controller 'policy' needs a policy directory")
        run, c, look = policy_controller(policy_dir, vehicle, cond.aggressiveness, allow_outside_envelope)
        rate = c.control_rate_hz
        max_rates = tuple(c.action_term.high[1:])
    else:
        rate, look, max_rates = 50.0, (5, 0.5), (4.0, 4.0, 1.5)
    fence = QuadSafetyConfig(
        geofence_min_m=(-3, -3, -0.5), geofence_max_m=(3, 3, 4), max_rates_radps=max_rates
    )
    results = []
    for k in range(episodes):
        if controller == "policy":
            c.reset()
        else:
            run = pd_controller(task, rate, cond.aggressiveness)
        results.append(fly(run, vehicle, task, seed + k, cond, rate, look, QuadSafety(vehicle, fence)))
    summary = {
        "task": task,
        "vehicle": vehicle.name,
        "controller": controller,
        "policy": str(policy_dir) if policy_dir else None,
        "conditions": asdict(cond),
        **summarize(results),
    }
    return summary, results


def write_results(path: Path, summary: dict[str, Any], results: list[EpisodeResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"summary": summary, "episodes": [asdict(r) for r in results]}))
    tmp.replace(path)
