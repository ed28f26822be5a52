"""Numba kernel of :class:`~sim2real.quad.batch_sim.BatchQuadSim`: each vehicle's own autopilot
(:func:`~sim2real.quad.flight_controller.fc_step`, the function MuJoCo's model calls too), rotor
drag and the RK4 rigid body, one vehicle per loop iteration (``prange`` over both cores).

``tests/test_quad_sim.py`` holds it to MuJoCo's trajectories for the same commands.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .flight_controller import fc_step

_G = 9.80665


@nb.njit(cache=True, fastmath=False, inline="always")
def _deriv(q, w, f_total, tq, mass, ix, iy, iz, ext, out):
    """out[0:3] = acceleration, out[3:7] = quaternion rate, out[7:10] = angular acceleration."""
    qw, qx, qy, qz = q[0], q[1], q[2], q[3]
    # third column of the rotation matrix (body z in world) times the collective thrust
    out[0] = f_total * 2 * (qx * qz + qw * qy) / mass + ext[0]
    out[1] = f_total * 2 * (qy * qz - qw * qx) / mass + ext[1]
    out[2] = f_total * (1 - 2 * (qx * qx + qy * qy)) / mass - _G + ext[2]
    wx, wy, wz = w[0], w[1], w[2]
    out[3] = 0.5 * (-qx * wx - qy * wy - qz * wz)
    out[4] = 0.5 * (qw * wx + qy * wz - qz * wy)
    out[5] = 0.5 * (qw * wy - qx * wz + qz * wx)
    out[6] = 0.5 * (qw * wz + qx * wy - qy * wx)
    # Euler's equations, principal axes: J w_dot = tau - w x (J w)
    out[7] = (tq[0] - (wy * iz * wz - wz * iy * wy)) / ix
    out[8] = (tq[1] - (wz * ix * wx - wx * iz * wz)) / iy
    out[9] = (tq[2] - (wx * iy * wy - wy * ix * wx)) / iz


@nb.njit(cache=True, parallel=True)
def step_batch(
    pos, vel, quat, omega, speed, integral, dfilt, prev_omega,
    setpoint, rates_sp, mass, inertia, params, signs, torque_rows, drag, ext, dt, n_steps,
    setpoint_old, rates_old, delay_steps,
):  # fmt: skip
    """Advance every vehicle ``n_steps`` physics steps of ``dt`` under held commands (normalised
    collective setpoint [B], body rates [B, 3]), in place; vehicle i holds the previous command
    (``setpoint_old``, ``rates_old``) for its first ``delay_steps[i]`` steps (latency). Shapes as
    in BatchQuadSim (B leading)."""
    b = pos.shape[0]
    for i in nb.prange(b):
        k = np.empty((4, 10))
        d = np.empty(10)
        q = np.empty(4)
        w = np.empty(3)
        tq = np.empty(3)
        rotor = np.empty(4)
        e = np.empty(3)
        work = np.empty(7)
        ix, iy, iz = inertia[i, 0], inertia[i, 1], inertia[i, 2]
        for j in range(n_steps):
            late = j < delay_steps[i]
            fc_step(params[i], signs[i], rates_old[i] if late else rates_sp[i],
                    setpoint_old[i] if late else setpoint[i], omega[i], integral[i],
                    dfilt[i], prev_omega[i], speed[i], dt, rotor, work)  # fmt: skip
            f_total = rotor[0] + rotor[1] + rotor[2] + rotor[3]
            for a in range(3):
                s = 0.0
                for r in range(4):
                    s += torque_rows[i, a, r] * rotor[r]
                tq[a] = s
            # rotor drag against the velocity across the rotor discs, held over the step
            qw, qx, qy, qz = quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3]
            zx, zy, zz = 2 * (qx * qz + qw * qy), 2 * (qy * qz - qw * qx), 1 - 2 * (qx * qx + qy * qy)
            vz = vel[i, 0] * zx + vel[i, 1] * zy + vel[i, 2] * zz
            e[0] = ext[i, 0] - drag[i] * (vel[i, 0] - vz * zx)
            e[1] = ext[i, 1] - drag[i] * (vel[i, 1] - vz * zy)
            e[2] = ext[i, 2] - drag[i] * (vel[i, 2] - vz * zz)
            # RK4 with the wrench held over the step
            for stage in range(4):
                h = 0.0 if stage == 0 else (0.5 * dt if stage < 3 else dt)
                for c in range(4):
                    q[c] = quat[i, c] + (h * k[stage - 1, 3 + c] if stage else 0.0)
                for c in range(3):
                    w[c] = omega[i, c] + (h * k[stage - 1, 7 + c] if stage else 0.0)
                _deriv(q, w, f_total, tq, mass[i], ix, iy, iz, e, d)
                for c in range(10):
                    k[stage, c] = d[c]
            # position uses the velocity stages: v, v + dt/2 k1, v + dt/2 k2, v + dt k3
            for c in range(3):
                v0 = vel[i, c]
                pos[i, c] += (
                    dt
                    / 6.0
                    * (
                        v0
                        + 2 * (v0 + 0.5 * dt * k[0, c])
                        + 2 * (v0 + 0.5 * dt * k[1, c])
                        + (v0 + dt * k[2, c])
                    )
                )
                vel[i, c] += dt / 6.0 * (k[0, c] + 2 * k[1, c] + 2 * k[2, c] + k[3, c])
            norm = 0.0
            for c in range(4):
                quat[i, c] += dt / 6.0 * (k[0, 3 + c] + 2 * k[1, 3 + c] + 2 * k[2, 3 + c] + k[3, 3 + c])
                norm += quat[i, c] ** 2
            norm = math.sqrt(norm)
            for c in range(4):
                quat[i, c] /= norm
            for c in range(3):
                omega[i, c] += dt / 6.0 * (k[0, 7 + c] + 2 * k[1, 7 + c] + 2 * k[2, 7 + c] + k[3, 7 + c])
