"""The quadrotor training environment: rsl-rl's VecEnv over the batched simulator.

Each of B environments flies one randomised vehicle (:class:`QuadDomainRandomization`) along one
reference (hover, figure-eight or circle of random size, period, heading and phase) with a random
aggressiveness, starting off the reference. Observations come from the runtime's quadrotor terms
(:mod:`sim2real_runtime.quad_terms`) applied to noisy odometry, exactly as the deployed node
computes them; the action goes through the runtime's CTBR action term, then a latency, then the
flight controller's rate loop in :class:`~sim2real.quad.batch_sim.BatchQuadSim`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from tensordict import TensorDict

from sim2real_runtime.quad_reference import Lissajous, lookahead_times
from sim2real_runtime.quad_terms import (
    CtbrAction,
    ErrorIntegral,
    limit_tilt,
    max_tilt_rad,
    quad_specs,
    with_rotation,
)
from sim2real_runtime.rotations import quat_mul, quat_to_matrix
from sim2real_runtime.terms import Observation, TermSpec
from sim2real_runtime.vehicle import VehicleConfig

from .batch_sim import BatchQuadSim
from .config import QuadTaskConfig

PRIVILEGED_SIZE = 21
"""Entries the critic sees beyond the policy's observation (true errors, velocities, rates,
randomised parameters, wind)."""


def task_specs(cfg: QuadTaskConfig) -> tuple[list[TermSpec], TermSpec]:
    """The contract's observation and action specs for a task configuration."""
    return quad_specs(
        cfg.lookahead_points,
        cfg.lookahead_horizon_s,
        cfg.position_clip_m,
        cfg.velocity_clip_mps,
        cfg.rates_clip_radps,
        cfg.accel_scale_mps2,
        cfg.accel_range_mps2,
        cfg.max_rates_radps,
        cfg.tilt_range_deg,
        cfg.observation_frame,
        cfg.fine_position_clip_m,
        cfg.integral_time_constant_s,
        cfg.integral_clip_ms,
    )


def random_tilt_quats(rng: np.random.Generator, n: int, max_tilt_rad: float) -> np.ndarray:
    """[n, 4] attitudes (w, x, y, z): uniform heading, tilt up to ``max_tilt_rad`` about a random
    horizontal axis."""
    yaw = rng.uniform(-math.pi, math.pi, n)
    tilt = rng.uniform(0.0, max_tilt_rad, n)
    axis = rng.uniform(-math.pi, math.pi, n)
    q_yaw = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], axis=1)
    s = np.sin(tilt / 2)
    q_tilt = np.stack([np.cos(tilt / 2), s * np.cos(axis), s * np.sin(axis), 0 * tilt], axis=1)
    return quat_mul(q_tilt, q_yaw)


def perturb_quats(rng: np.random.Generator, q: np.ndarray, std_rad: float) -> np.ndarray:
    """Attitudes [n, 4] rotated by a small random body rotation (std ``std_rad`` per axis)."""
    if std_rad <= 0:
        return q
    d = rng.normal(0.0, std_rad / 2, (len(q), 3))
    dq = np.concatenate([np.ones((len(q), 1)), d], axis=1)
    out = quat_mul(q, dq / np.linalg.norm(dq, axis=1, keepdims=True))
    return out


class QuadEnv:
    """rsl-rl VecEnv: B randomised quadrotors tracking references under CTBR commands.

    Observation groups: ``policy`` (the contract's observation, from noisy odometry) and
    ``critic`` (the same plus the true state and the randomised parameters, for the value
    function only).
    """

    def __init__(
        self,
        cfg: QuadTaskConfig,
        vehicle: VehicleConfig,
        num_envs: int,
        seed: int = 0,
        randomize: bool = True,
    ) -> None:
        self.cfg = cfg
        self.nominal = vehicle
        self.num_envs = num_envs
        self.device = "cpu"
        self.randomize = randomize
        self.rng = np.random.default_rng(seed)
        obs_specs, act_spec = task_specs(cfg)
        self.obs_specs, self.action_spec = obs_specs, act_spec
        self.observation = Observation(obs_specs)
        self.action_term = CtbrAction(act_spec)
        self.num_actions = act_spec.size
        self.dt = 1.0 / cfg.control_rate_hz
        self.substeps = int(round(cfg.physics_rate_hz / cfg.control_rate_hz))
        if self.substeps < 1 or not math.isclose(self.substeps, cfg.physics_rate_hz / cfg.control_rate_hz):
            raise ValueError("physics_rate_hz must be a multiple of control_rate_hz")
        self.max_episode_length = int(round(cfg.episode_time_s * cfg.control_rate_hz))
        b = num_envs
        self.sim = BatchQuadSim([vehicle] * b, cfg.physics_rate_hz)
        self.base_latency_s = np.full(b, vehicle.flight_controller.odometry_latency_s)
        self.ref = Lissajous(
            np.zeros((b, 3)), np.zeros((b, 2)), np.ones(b), np.ones(b), np.zeros((b, 2)), np.zeros(b)
        )
        self.ref_t = np.zeros(b)
        self.aggressiveness = np.zeros(b)
        self.delay_substeps = np.zeros(b, dtype=np.int64)
        self.thrust_gain = np.ones(b)
        self.wind = np.zeros((b, 3))
        self.gust = np.zeros((b, 3))
        self.params = np.zeros((b, 6))  # privileged: mass, inertia, thrust scales, tau, latency, gain
        self.prev_action = np.zeros((b, 4), dtype=np.float32)
        # the integral term's state, as the runtime's QuadController keeps it (None: no such term)
        self.integral = ErrorIntegral.for_terms(obs_specs, b)
        self.cmd = np.tile(self.action_term.hold, (b, 1))  # the command the flight controller holds
        self.steps = np.zeros(b, dtype=np.int64)
        self.prev_err = np.zeros(b)  # distance to the reference after the last step (m)
        self.episode_length_buf = torch.zeros(b, dtype=torch.long)
        self.stats = {"episodes": 0, "crashes": 0, "err_sum": 0.0, "err_n": 0}
        self._reset(np.arange(b))
        # Stagger episode ends so that resets (and timeouts) spread over the iterations.
        self.steps[:] = self.rng.integers(0, self.max_episode_length, b)
        self._obs = self._observe()

    # -------------------------------------------------------------------------------- resets
    def sample_vehicles(self, n: int) -> tuple[list[VehicleConfig], np.ndarray]:
        """n randomised copies of the nominal vehicle and their scales [n, 5]: airframe (mass,
        inertia, thrust, drag torque, motor time constant) and autopilot (rate gains, mixer
        scaling, thrust curve, battery sag, odometry latency, rotor drag)."""
        dr, v0, r = self.cfg.dr, self.nominal, self.rng
        if not self.randomize:
            return [v0] * n, np.tile([1.0, 1.0, 1.0, v0.motor_time_constant_s, 0.0], (n, 1))
        m = r.uniform(*dr.mass_scale, n)
        inertia = r.uniform(*dr.inertia_scale, (n, 3))
        inertia[:, 1] = inertia[:, 0] * r.uniform(0.9, 1.1, n)  # roll/pitch stay alike
        thrust = r.uniform(*dr.thrust_scale, n)
        k = r.uniform(*dr.torque_to_thrust_scale, n)
        lo, hi = dr.motor_time_constant_s
        tau = np.exp(r.uniform(math.log(lo), math.log(hi), n))
        gain = r.uniform(*dr.rate_gain_scale, (n, 3))
        mix = r.uniform(*dr.mixer_scale, n)
        bend = r.uniform(0.0, dr.thrust_curve_blend, n)
        toward_quadratic = r.random(n) < 0.5
        sag = r.uniform(*dr.battery_sag_fraction, n)
        comp = r.random(n) < 0.5
        drag = r.uniform(*dr.rotor_drag_scale, n)
        fc0 = v0.flight_controller
        out = []
        for i in range(n):
            ix = np.array(v0.inertia_kgm2) * inertia[i]
            ix[2] = min(ix[2], ix[0] + ix[1])  # keep the triangle inequality of a real body
            other = np.array([0.0, 0.0, 1.0]) if toward_quadratic[i] else np.array([0.0, 1.0, 0.0])
            curve = (1 - bend[i]) * np.asarray(fc0.thrust_curve) + bend[i] * other
            fc = dataclasses.replace(
                fc0,
                rate_p=tuple(np.asarray(fc0.rate_p) * gain[i, 0]),
                rate_i=tuple(np.asarray(fc0.rate_i) * gain[i, 1]),
                rate_d=tuple(np.asarray(fc0.rate_d) * gain[i, 2]),
                mixer_per_output=tuple(np.asarray(fc0.mixer_per_output) * mix[i]),
                thrust_curve=tuple(curve),
                battery_sag_fraction=float(sag[i]),
                battery_compensated=bool(comp[i]),
                rotor_drag_per_s=fc0.rotor_drag_per_s * float(drag[i]),
            )
            out.append(
                dataclasses.replace(
                    v0,
                    mass_kg=v0.mass_kg * m[i],
                    inertia_kgm2=tuple(ix),
                    motor_max_thrust_n=v0.motor_max_thrust_n * thrust[i],
                    torque_to_thrust_m=v0.torque_to_thrust_m * k[i],
                    motor_time_constant_s=float(tau[i]),
                    flight_controller=fc,
                )
            )
        return out, np.stack([m, inertia.mean(axis=1), thrust, tau, np.zeros(n)], axis=1)

    def _sample_references(self, ids: np.ndarray) -> None:
        cfg, r, n = self.cfg, self.rng, len(ids)
        kind = r.choice(3, n, p=np.asarray(cfg.task_weights) / sum(cfg.task_weights))
        half = r.uniform(*cfg.traj_half_extent_m, n)
        amp = np.stack([half, half * np.where(kind == 1, r.uniform(0.3, 0.7, n), 1.0)], axis=1)
        amp[kind == 0] = 0.0
        period = r.uniform(*cfg.traj_period_s, n)
        omega = 2 * math.pi / period * r.choice([-1.0, 1.0], n)
        ratio = np.where(kind == 1, 2.0, 1.0)
        phase = np.where((kind == 2)[:, None], [[math.pi / 2, 0.0]], 0.0)
        self.ref.center_m[ids] = np.stack(
            [r.uniform(-1, 1, n), r.uniform(-1, 1, n), r.uniform(0.8, 1.5, n)], axis=1
        )
        self.ref.amplitude_m[ids] = amp
        self.ref.omega_radps[ids] = omega
        self.ref.ratio[ids] = ratio
        self.ref.phase_rad[ids] = phase
        self.ref.yaw_rad[ids] = r.uniform(-math.pi, math.pi, n)
        self.ref_t[ids] = r.uniform(0.0, period)

    def _reset(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        cfg, dr, r, n = self.cfg, self.cfg.dr, self.rng, len(ids)
        vehicles, scales = self.sample_vehicles(n)
        self.sim.set_vehicles(ids, vehicles)
        self._sample_references(ids)
        t = self.ref_t[ids]
        ref_p = self._sub(ids).position(t)
        far = r.random(n) < cfg.far_start_fraction
        off = r.uniform(-1, 1, (n, 3)) * np.where(far, cfg.start_offset_m, 0.05)[:, None]
        self.sim.reset(ids, ref_p + off)
        if self.randomize:
            self.sim.vel[ids] = self._sub(ids).velocity(t) + r.normal(0, 0.3, (n, 3))
            self.sim.quat[ids] = random_tilt_quats(r, n, math.radians(cfg.start_tilt_deg))
            self.sim.omega[ids] = r.normal(0.0, 0.5, (n, 3))
            lat = self.base_latency_s[ids] * r.uniform(0.5, 1.5, n) + r.uniform(*dr.latency_s, n)
            lat = np.minimum(lat, self.dt)  # at most one control period (the command buffer)
            self.delay_substeps[ids] = np.round(lat * cfg.physics_rate_hz).astype(np.int64)
            scales[:, 4] = lat
            self.thrust_gain[ids] = r.uniform(0.95, 1.05, n)
            w = r.uniform(*dr.wind_accel_mps2, n)
            heading = r.uniform(-math.pi, math.pi, n)
            self.wind[ids] = np.stack([w * np.cos(heading), w * np.sin(heading), np.zeros(n)], axis=1)
            self.gust[ids] = r.normal(0.0, dr.gust_accel_std_mps2, (n, 3)) * [1, 1, 0.3]
        self.params[ids] = np.concatenate([scales, self.thrust_gain[ids, None]], axis=1)
        self.aggressiveness[ids] = r.uniform(0.0, 1.0, n)
        self.prev_action[ids] = 0.0
        self.cmd[ids] = self.action_term.hold
        if self.integral is not None:
            self.integral.reset(ids)
        self.steps[ids] = 0
        self.prev_err[ids] = np.linalg.norm(ref_p - self.sim.pos[ids], axis=1)

    def _sub(self, ids: np.ndarray) -> Lissajous:
        r = self.ref
        return Lissajous(
            r.center_m[ids],
            r.amplitude_m[ids],
            r.omega_radps[ids],
            r.ratio[ids],
            r.phase_rad[ids],
            r.yaw_rad[ids],
        )

    # ---------------------------------------------------------------------------- observation
    def signals(self, noisy: bool = True) -> dict[str, np.ndarray]:
        """The signals the observation terms read, as the robot's odometry would deliver them."""
        s, dr, r, b = self.sim, self.cfg.dr, self.rng, self.num_envs
        pos, vel, quat, rates = s.pos, s.vel, s.quat, s.omega
        if noisy and self.randomize:
            pos = pos + r.normal(0, dr.position_noise_std_m, (b, 3))
            vel = vel + r.normal(0, dr.velocity_noise_std_mps, (b, 3))
            quat = perturb_quats(r, quat, dr.attitude_noise_std_rad)
            rates = rates + r.normal(0, dr.rates_noise_std_radps, (b, 3))
        ahead = lookahead_times(self.ref_t, self.cfg.lookahead_points, self.cfg.lookahead_horizon_s)
        return {
            "position": pos,
            "quat_wxyz": quat,
            "velocity": vel,
            "body_rates": rates,
            "ref_position": self.ref.position(self.ref_t),
            "ref_lookahead": self.ref.position(ahead),
            "prev_action": self.prev_action,
            "aggressiveness": self.aggressiveness[:, None],
            # the state as it stands (``_observe`` first integrates this step's error into it)
            **({"position_error_integral": self.integral.value} if self.integral is not None else {}),
        }

    def _observe(self) -> TensorDict:
        signals = with_rotation(self.signals())
        if self.integral is not None:  # once per control step, from the observed (noisy) error
            err_obs = signals["ref_position"] - signals["position"]
            signals["position_error_integral"] = self.integral.update(err_obs, self.dt)
        policy_obs = self.observation(signals)
        s = self.sim
        err = signals["ref_position"] - s.pos
        privileged = np.concatenate(
            [
                np.clip(err, -2, 2),
                np.clip(s.vel, -5, 5),
                self.ref.velocity(self.ref_t),
                np.clip(s.omega, -20, 20),
                self.params,
                self.wind + self.gust,
            ],
            axis=1,
        ).astype(np.float32)
        return TensorDict(
            {
                "policy": torch.from_numpy(policy_obs),
                "critic": torch.from_numpy(np.concatenate([policy_obs, privileged], axis=1)),
            },
            batch_size=[self.num_envs],
        )

    # ---------------------------------------------------------------------------- VecEnv API
    def get_observations(self) -> TensorDict:
        return self._obs

    def apply(self, actions: np.ndarray) -> np.ndarray:
        """Step the simulator one control period under normalised actions [B, 4]; returns the
        physical command [B, 4] (collective acceleration, body rates)."""
        s = self.sim
        cmd = self.action_term(actions)
        # The runtime's tilt limiter (QuadController does the same): the aggressiveness sets the tilt.
        limit = max_tilt_rad(self.aggressiveness, self.cfg.tilt_range_deg)
        cmd = limit_tilt(cmd, quat_to_matrix(s.quat), limit, s.omega)
        old, new = self.cmd, cmd
        s.external_accel = self.wind + self.gust
        # The node knows only the nominal vehicle file: it turns the collective acceleration into
        # the autopilot's setpoint with the nominal mass and curves (the thrust gain is its error).
        nom = self.nominal
        sp_old = nom.collective_setpoint(old[:, 0] * nom.mass_kg * self.thrust_gain)
        sp_new = nom.collective_setpoint(new[:, 0] * nom.mass_kg * self.thrust_gain)
        s.step(
            sp_new, new[:, 1:], self.substeps, previous=(sp_old, old[:, 1:]), delay_steps=self.delay_substeps
        )
        self.cmd = cmd
        if self.randomize:  # the gust: Ornstein-Uhlenbeck with a 1 s correlation time
            k = self.dt / 1.0
            sd = self.cfg.dr.gust_accel_std_mps2 * math.sqrt(2 * k)
            self.gust += -k * self.gust + self.rng.normal(0.0, sd, self.gust.shape) * [1, 1, 0.3]
        self.ref_t += self.dt
        return cmd

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        cfg = self.cfg
        a = actions.detach().cpu().numpy().astype(np.float64)
        self.apply(a)
        self.steps += 1
        s = self.sim
        err = np.linalg.norm(self.ref.position(self.ref_t) - s.pos, axis=1)
        verr = np.linalg.norm(self.ref.velocity(self.ref_t) - s.vel, axis=1)
        rot22 = quat_to_matrix(s.quat)[:, 2, 2]
        tilt = np.arccos(np.clip(rot22, -1.0, 1.0))
        excess = np.maximum(tilt - max_tilt_rad(self.aggressiveness, cfg.tilt_range_deg), 0.0)
        clipped = np.clip(np.nan_to_num(a), -1.0, 1.0).astype(np.float32)
        action_rate = ((clipped - self.prev_action) ** 2).sum(axis=1)
        w_lo, w_hi = cfg.reward_action_rate
        w_rate = w_lo + (w_hi - w_lo) * self.aggressiveness
        crashed = (err > cfg.crash_distance_m) | (rot22 < 0.0) | ~np.isfinite(err)
        err = np.nan_to_num(err, nan=cfg.crash_distance_m)
        cap = cfg.penalty_cap
        reward = (
            cfg.reward_alive
            + cfg.reward_position_per_m * np.minimum(err, cfg.crash_distance_m)
            + cfg.reward_precision * np.exp(-err / cfg.precision_scale_m)
            + np.maximum(cfg.reward_velocity_per_mps * np.nan_to_num(verr, nan=1e3), -cap)
            + np.maximum(cfg.reward_rates * (np.nan_to_num(s.omega, nan=1e3) ** 2).sum(axis=1), -cap)
            + np.maximum(w_rate * action_rate, -cap)
            + np.maximum(cfg.reward_tilt_excess_per_rad * excess, -cap)
        )
        # Rates times the step, plus the progress shaping (per metre, not per second).
        reward = reward * self.dt + cfg.reward_progress_per_m * np.clip(self.prev_err - err, -0.1, 0.1)
        reward = np.where(crashed, cfg.reward_crash, reward)
        self.prev_action = clipped
        self.prev_err = err
        timeout = (self.steps >= self.max_episode_length) & ~crashed
        done = crashed | timeout
        self.stats["err_sum"] += float(err[~crashed].sum())
        self.stats["err_n"] += int((~crashed).sum())
        log = {}
        if done.any():
            self.stats["episodes"] += int(done.sum())
            self.stats["crashes"] += int(crashed.sum())
            log = {"/quad/crash_rate": float(crashed[done].mean())}
        ids = np.nonzero(done)[0]
        self._reset(ids)
        self._obs = self._observe()
        self.episode_length_buf = torch.from_numpy(self.steps.copy())
        extras = {"time_outs": torch.from_numpy(timeout), "log": log}
        return self._obs, torch.from_numpy(reward.astype(np.float32)), torch.from_numpy(done), extras
