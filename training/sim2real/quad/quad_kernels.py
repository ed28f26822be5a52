"""Numba kernel of :class:`~sim2real.quad.batch_sim.BatchQuadSim`: the same rate loop, mixer,
motors and RK4 rigid body, one vehicle per loop iteration (``prange`` over both cores).

``tests/test_quad_sim.py`` holds it to the numpy implementation (and that to MuJoCo), so the
kernel is a faster copy of tested maths, not a second model.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

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
    pos, vel, quat, omega, speed, integral, prev_omega,
    thrust, rates_sp, mass, inertia, max_thrust, alpha, torque_rows, alloc_inv, ext,
    kp, ki, kd, i_limit, dt, n_steps,
):  # fmt: skip
    """Advance every vehicle ``n_steps`` physics steps of ``dt`` under held CTBR commands, in place.
    Shapes as in BatchQuadSim (B leading)."""
    b = pos.shape[0]
    for i in nb.prange(b):
        k = np.empty((4, 10))
        d = np.empty(10)
        q = np.empty(4)
        w = np.empty(3)
        tq = np.empty(3)
        rotor = np.empty(4)
        wrench = np.empty(4)
        ix, iy, iz = inertia[i, 0], inertia[i, 1], inertia[i, 2]
        for _ in range(n_steps):
            for a in range(3):
                err = rates_sp[i, a] - omega[i, a]
                integral[i, a] = min(max(integral[i, a] + err * dt, -i_limit), i_limit)
                d_om = (omega[i, a] - prev_omega[i, a]) / dt
                prev_omega[i, a] = omega[i, a]
                wrench[a + 1] = inertia[i, a] * (kp[a] * err + ki[a] * integral[i, a] - kd[a] * d_om)
            wrench[0] = thrust[i]
            f_total = 0.0
            for r in range(4):
                t = 0.0
                for c in range(4):
                    t += alloc_inv[i, r, c] * wrench[c]
                t = min(max(t, 0.0), max_thrust[i])
                cmd = math.sqrt(t / max_thrust[i])
                speed[i, r] += alpha[i] * (cmd - speed[i, r])
                rotor[r] = max_thrust[i] * speed[i, r] ** 2
                f_total += rotor[r]
            for a in range(3):
                s = 0.0
                for r in range(4):
                    s += torque_rows[i, a, r] * rotor[r]
                tq[a] = s
            # RK4 with the wrench held over the step
            for stage in range(4):
                h = 0.0 if stage == 0 else (0.5 * dt if stage < 3 else dt)
                for c in range(4):
                    q[c] = quat[i, c] + (h * k[stage - 1, 3 + c] if stage else 0.0)
                for c in range(3):
                    w[c] = omega[i, c] + (h * k[stage - 1, 7 + c] if stage else 0.0)
                _deriv(q, w, f_total, tq, mass[i], ix, iy, iz, ext[i], d)
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
