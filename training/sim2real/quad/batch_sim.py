"""A batched numpy quadrotor simulator for training: B vehicles, each with its own airframe and
its own autopilot (rate PID, mixer, thrust model, motors, thrust curve, sag, rotor drag).

The autopilot is :func:`sim2real.quad.flight_controller.fc_step`, the very function the MuJoCo
model (:mod:`sim2real.quad.mujoco_quad`) calls; the rigid body is integrated here by RK4 at the
physics rate, so thousands of randomised vehicles step at once. ``tests/test_quad_sim.py`` holds it
to MuJoCo's trajectories for the same commands; MuJoCo stays the validation simulator.

Frames: world ENU, body FLU; quaternions (w, x, y, z), body to world.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim2real_runtime.vehicle import VehicleConfig

from .flight_controller import NUM_PARAMS, allocation_matrix, pack_params, rotor_signs


class BatchQuadSim:
    """B quadrotors under CTBR commands.

    Args:
        vehicles: one vehicle per environment (randomised copies, or the same one B times).
        physics_rate_hz: rigid-body, motor and rate-loop rate (Hz).
        backend: ``"numba"`` (the compiled kernel, both cores) or ``"python"`` (the same kernel
            interpreted, for debugging).
    """

    def __init__(
        self, vehicles: Sequence[VehicleConfig], physics_rate_hz: float = 500.0, backend: str = "numba"
    ) -> None:
        if backend not in ("numba", "python"):
            raise ValueError(f"backend must be 'numba' or 'python', got {backend!r}")
        self.backend = backend
        b = len(vehicles)
        self.num = b
        self.dt = 1.0 / physics_rate_hz
        self.mass = np.zeros(b)
        self.inertia = np.zeros((b, 3))
        self.params = np.zeros((b, NUM_PARAMS))
        self.signs = np.zeros((b, 4, 3))
        self.torque_rows = np.zeros((b, 3, 4))
        self.drag = np.zeros(b)
        self.hover_speed = np.zeros(b)
        self.set_vehicles(np.arange(b), vehicles)
        self.external_accel = np.zeros((b, 3))
        """[B, 3] extra world-frame acceleration (m/s^2), e.g. wind force / mass."""
        self.pos = np.zeros((b, 3))
        self.vel = np.zeros((b, 3))
        self.quat = np.tile([1.0, 0.0, 0.0, 0.0], (b, 1))
        self.omega = np.zeros((b, 3))
        self.speed = np.zeros((b, 4))
        self.integral = np.zeros((b, 3))
        self.dfilt = np.zeros((b, 3))
        self.prev_omega = np.zeros((b, 3))
        self.time_s = np.zeros(b)

    def set_vehicles(self, ids: np.ndarray, vehicles: Sequence[VehicleConfig]) -> None:
        """Give environments ``ids`` new vehicles (domain randomisation at reset)."""
        ids = np.asarray(ids)
        self.mass[ids] = [v.mass_kg for v in vehicles]
        self.inertia[ids] = [v.inertia_kgm2 for v in vehicles]
        self.params[ids] = np.stack([pack_params(v, self.dt) for v in vehicles])
        self.signs[ids] = np.stack([rotor_signs(v) for v in vehicles])
        self.torque_rows[ids] = np.stack([allocation_matrix(v)[1:, :] for v in vehicles])
        self.drag[ids] = [v.flight_controller.rotor_drag_per_s for v in vehicles]
        self.hover_speed[ids] = [v.hover_command for v in vehicles]

    def reset(self, ids: np.ndarray, position_m: np.ndarray, hover: bool = True) -> None:
        """Put vehicles ``ids`` at rest, level, at ``position_m`` [len(ids), 3]."""
        self.pos[ids] = position_m
        self.vel[ids] = 0.0
        self.quat[ids] = (1.0, 0.0, 0.0, 0.0)
        self.omega[ids] = 0.0
        self.speed[ids] = self.hover_speed[ids, None] if hover else 0.0
        self.integral[ids] = 0.0
        self.dfilt[ids] = 0.0
        self.prev_omega[ids] = 0.0
        self.time_s[ids] = 0.0

    def step(
        self,
        setpoint: np.ndarray,
        body_rates_radps: np.ndarray,
        n_steps: int,
        previous: tuple[np.ndarray, np.ndarray] | None = None,
        delay_steps: np.ndarray | None = None,
    ) -> None:
        """Hold commands (normalised collective setpoint [B] in [0, 1], as the autopilot receives
        it; body rates [B, 3] (rad/s)) for ``n_steps`` physics steps; with ``previous`` (setpoint,
        rates) and ``delay_steps`` [B], vehicle i keeps the previous command for its first
        ``delay_steps[i]`` steps (latency, in one call). Non-finite commands must be stopped before
        here (the safety filter does)."""
        from .quad_kernels import step_batch

        sp = np.ascontiguousarray(setpoint, dtype=np.float64)
        rates = np.ascontiguousarray(body_rates_radps, dtype=np.float64)
        if previous is None:
            previous, delay_steps = (sp, rates), np.zeros(self.num, dtype=np.int64)

        fn = step_batch if self.backend == "numba" else step_batch.py_func
        fn(
            self.pos, self.vel, self.quat, self.omega, self.speed, self.integral, self.dfilt,
            self.prev_omega, sp, rates, self.mass, self.inertia, self.params, self.signs,
            self.torque_rows, self.drag, self.external_accel, self.dt, int(n_steps),
            np.ascontiguousarray(previous[0], dtype=np.float64),
            np.ascontiguousarray(previous[1], dtype=np.float64),
            np.ascontiguousarray(delay_steps, dtype=np.int64),
        )  # fmt: skip
        self.time_s += self.dt * n_steps


def hover_setpoint(vehicles: Sequence[VehicleConfig]) -> np.ndarray:
    """[B] the collective setpoint each vehicle's file says holds its weight."""
    return np.array([v.collective_setpoint(v.mass_kg * 9.80665) for v in vehicles])


def roll_rate_step(
    vehicles: Sequence[VehicleConfig],
    step_radps: float = 1.0,
    duration_s: float = 0.3,
    physics_rate_hz: float = 500.0,
) -> tuple[np.ndarray, np.ndarray]:
    """How fast each vehicle's rate loop answers: a roll-rate step of ``step_radps`` from level
    hover, all vehicles at once. Returns (time to 63 % of the step [B] (s; inf if never), peak
    roll rate [B] (rad/s)). A CTBR policy flies through this loop, so the spread of these times
    over the training draws is the range of rate loops it has learned to fly."""
    n = len(vehicles)
    sim = BatchQuadSim(vehicles, physics_rate_hz)
    sim.reset(np.arange(n), np.tile([0.0, 0.0, 1.0], (n, 1)))
    setpoint = hover_setpoint(vehicles)
    rates = np.tile([step_radps, 0.0, 0.0], (n, 1))
    steps = int(round(duration_s * physics_rate_hz))
    roll = np.empty((steps, n))
    for k in range(steps):
        sim.step(setpoint, rates, 1)
        roll[k] = sim.omega[:, 0]
    reached = roll > 0.63 * step_radps
    t63 = np.where(reached.any(axis=0), (reached.argmax(axis=0) + 1) / physics_rate_hz, np.inf)
    return t63, roll.max(axis=0)


__all__ = ["BatchQuadSim", "hover_setpoint", "math", "roll_rate_step"]
