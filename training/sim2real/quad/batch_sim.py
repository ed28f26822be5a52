"""A batched numpy quadrotor simulator for training: B vehicles, each with its own parameters.

The same flight-controller model as :mod:`sim2real.quad.mujoco_quad` (inertia-scaled rate PID,
mixer clipped to the motors' range, first-order motors, thrust ~ speed**2), with the rigid body
integrated here by RK4 at the physics rate, so thousands of randomised vehicles step at once.
``tests/test_quad_sim.py`` holds it to MuJoCo's trajectories for the same commands (the
simulator gap); MuJoCo stays the validation simulator, as for navigation.

Frames: world ENU, body FLU; quaternions (w, x, y, z), body to world.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim2real_runtime.rotations import quat_mul, quat_to_matrix
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, VehicleConfig

from .mujoco_quad import DEFAULT_GAINS, RateGains, allocation_matrix


class BatchQuadSim:
    """B quadrotors under CTBR commands.

    Args:
        vehicles: one vehicle per environment (randomised copies, or the same one B times).
        physics_rate_hz: rigid-body, motor and rate-loop rate (Hz).
        gains: the rate loop's gains (shared).
        backend: ``"numba"`` (a compiled kernel, both cores) or ``"numpy"`` (the reference the
            kernel is tested against).
    """

    def __init__(
        self,
        vehicles: Sequence[VehicleConfig],
        physics_rate_hz: float = 500.0,
        gains: RateGains = DEFAULT_GAINS,
        backend: str = "numba",
    ) -> None:
        if backend not in ("numba", "numpy"):
            raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
        self.backend = backend
        b = len(vehicles)
        self.num = b
        self.dt = 1.0 / physics_rate_hz
        self.mass = np.zeros(b)
        self.inertia = np.zeros((b, 3))
        self.max_thrust = np.zeros(b)
        self.alpha = np.zeros(b)
        self.torque_rows = np.zeros((b, 3, 4))
        self.alloc_inv = np.zeros((b, 4, 4))
        self.hover_speed = np.zeros(b)
        self.set_vehicles(np.arange(b), vehicles)
        self.kp = np.array([gains.kp_rp_per_s, gains.kp_rp_per_s, gains.kp_yaw_per_s])
        self.ki = np.array([gains.ki_rp_per_s2, gains.ki_rp_per_s2, gains.ki_yaw_per_s2])
        self.kd = np.array([gains.kd_rp, gains.kd_rp, 0.0])
        self.i_limit = gains.integral_limit_radps_s
        self.external_accel = np.zeros((b, 3))
        """[B, 3] extra world-frame acceleration (m/s^2), e.g. wind force / mass."""
        self.pos = np.zeros((b, 3))
        self.vel = np.zeros((b, 3))
        self.quat = np.tile([1.0, 0.0, 0.0, 0.0], (b, 1))
        self.omega = np.zeros((b, 3))
        self.speed = np.zeros((b, 4))
        self.integral = np.zeros((b, 3))
        self.prev_omega = np.zeros((b, 3))
        self.time_s = np.zeros(b)

    def set_vehicles(self, ids: np.ndarray, vehicles: Sequence[VehicleConfig]) -> None:
        """Give environments ``ids`` new vehicle parameters (domain randomisation at reset)."""
        ids = np.asarray(ids)
        self.mass[ids] = [v.mass_kg for v in vehicles]
        self.inertia[ids] = [v.inertia_kgm2 for v in vehicles]
        self.max_thrust[ids] = [v.motor_max_thrust_n for v in vehicles]
        self.alpha[ids] = [1.0 - math.exp(-self.dt / v.motor_time_constant_s) for v in vehicles]
        alloc = np.stack([allocation_matrix(v) for v in vehicles])  # [k, 4, 4]
        self.torque_rows[ids] = alloc[:, 1:, :]
        self.alloc_inv[ids] = np.linalg.inv(alloc)
        self.hover_speed[ids] = [v.hover_command for v in vehicles]

    def reset(self, ids: np.ndarray, position_m: np.ndarray, hover: bool = True) -> None:
        """Put vehicles ``ids`` at rest, level, at ``position_m`` [len(ids), 3]."""
        self.pos[ids] = position_m
        self.vel[ids] = 0.0
        self.quat[ids] = (1.0, 0.0, 0.0, 0.0)
        self.omega[ids] = 0.0
        self.speed[ids] = self.hover_speed[ids, None] if hover else 0.0
        self.integral[ids] = 0.0
        self.prev_omega[ids] = 0.0
        self.time_s[ids] = 0.0

    def _derivatives(
        self, vel: np.ndarray, quat: np.ndarray, omega: np.ndarray, force_b: np.ndarray, torque_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rot = quat_to_matrix(quat)
        acc = np.einsum("bij,bj->bi", rot, force_b) / self.mass[:, None]
        acc[:, 2] -= STANDARD_GRAVITY_MPS2
        acc += self.external_accel
        j_omega = self.inertia * omega
        omega_dot = (torque_b - np.cross(omega, j_omega)) / self.inertia
        quat_dot = 0.5 * quat_mul(quat, np.concatenate([np.zeros((len(quat), 1)), omega], axis=1))
        return vel, acc, quat_dot, omega_dot

    def step(self, thrust_n: np.ndarray, body_rates_radps: np.ndarray, n_steps: int) -> None:
        """Hold CTBR commands (thrust [B] (N), body rates [B, 3] (rad/s)) for ``n_steps`` physics
        steps. Non-finite commands must be stopped before here (the safety filter does)."""
        sp = np.asarray(body_rates_radps, dtype=np.float64)
        thrust = np.asarray(thrust_n, dtype=np.float64)
        dt = self.dt
        if self.backend == "numba":
            from .quad_kernels import step_batch

            step_batch(
                self.pos, self.vel, self.quat, self.omega, self.speed, self.integral, self.prev_omega,
                np.ascontiguousarray(thrust), np.ascontiguousarray(sp), self.mass, self.inertia,
                self.max_thrust, self.alpha, self.torque_rows, self.alloc_inv, self.external_accel,
                self.kp, self.ki, self.kd, float(self.i_limit), dt, int(n_steps),
            )  # fmt: skip
            self.time_s += dt * n_steps
            return
        for _ in range(n_steps):
            # Rate loop (derivative on the measurement), mixer, motors: held over the step.
            err = sp - self.omega
            self.integral = np.clip(self.integral + err * dt, -self.i_limit, self.i_limit)
            d_omega = (self.omega - self.prev_omega) / dt
            self.prev_omega = self.omega.copy()
            torque_sp = self.inertia * (self.kp * err + self.ki * self.integral - self.kd * d_omega)
            wrench = np.concatenate([thrust[:, None], torque_sp], axis=1)
            rotor = np.clip(np.einsum("bij,bj->bi", self.alloc_inv, wrench), 0.0, self.max_thrust[:, None])
            cmd = np.sqrt(rotor / self.max_thrust[:, None])
            self.speed += self.alpha[:, None] * (cmd - self.speed)
            rotor_thrust = self.max_thrust[:, None] * self.speed**2
            force_b = np.zeros((self.num, 3))
            force_b[:, 2] = rotor_thrust.sum(axis=1)
            torque_b = np.einsum("bij,bj->bi", self.torque_rows, rotor_thrust)
            # RK4 on (position, velocity, attitude, body rates) with the wrench held.
            y0 = (self.pos, self.vel, self.quat, self.omega)
            k1 = self._derivatives(y0[1], y0[2], y0[3], force_b, torque_b)
            y1 = [a + 0.5 * dt * k for a, k in zip(y0, k1, strict=True)]
            k2 = self._derivatives(y1[1], y1[2], y1[3], force_b, torque_b)
            y2 = [a + 0.5 * dt * k for a, k in zip(y0, k2, strict=True)]
            k3 = self._derivatives(y2[1], y2[2], y2[3], force_b, torque_b)
            y3 = [a + dt * k for a, k in zip(y0, k3, strict=True)]
            k4 = self._derivatives(y3[1], y3[2], y3[3], force_b, torque_b)
            new = [
                a + dt / 6.0 * (p + 2 * q + 2 * r + s)
                for a, p, q, r, s in zip(y0, k1, k2, k3, k4, strict=True)
            ]
            self.pos, self.vel, quat, self.omega = new
            self.quat = quat / np.linalg.norm(quat, axis=1, keepdims=True)
            self.time_s += dt
