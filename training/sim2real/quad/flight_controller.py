"""The autopilot between a CTBR command and the rotors, as a vehicle file describes it
(:class:`~sim2real_runtime.vehicle.FlightControllerConfig`): the firmware's rate PID in its own
units and gains, its mixer with desaturation, its thrust-model inversion, first-order motors on
the motor output, the motors' real thrust curve and battery sag.

One compiled function (:func:`fc_step`) serves both simulators: the batched training kernel
(:mod:`sim2real.quad.quad_kernels`) and the MuJoCo validation model
(:mod:`sim2real.quad.mujoco_quad`), so they cannot drift apart. A vehicle's numbers travel as one
float row (:func:`pack_params`, layout in the ``P_*`` indices) so that every environment of a batch
can fly its own randomised autopilot.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from sim2real_runtime.vehicle import VehicleConfig

# Layout of a parameter row: slices of 3 are (roll, pitch, yaw).
P_KP, P_KI, P_KD, P_ILIM, P_MIX, P_MAXRATE = 0, 3, 6, 9, 12, 15
P_UNIT, P_DALPHA, P_CURVE, P_FWCURVE, P_SAG, P_COMP, P_MALPHA, P_TMAX = 18, 19, 20, 23, 26, 27, 28, 29
NUM_PARAMS = 30

ROTOR_SPIN = np.array([1.0, 1.0, -1.0, -1.0])
"""+1: the rotor spins counter-clockwise seen from above (its drag torque on the body is -z)."""


def rotor_positions(vehicle: VehicleConfig) -> np.ndarray:
    """Rotor centres [4, 2] (x, y) in the body frame (m): on the diagonals at arm_length_m.
    Rotors: 0 front-right, 1 back-left, 2 front-left, 3 back-right."""
    d = vehicle.arm_length_m / math.sqrt(2.0)
    return np.array([[d, -d], [-d, d], [d, d], [-d, -d]])


def allocation_matrix(vehicle: VehicleConfig) -> np.ndarray:
    """A [4, 4]: (collective thrust (N), torque x, y, z (N m)) = A @ rotor thrusts (N)."""
    xy = rotor_positions(vehicle)
    return np.stack(
        [
            np.ones(4),
            xy[:, 1],  # roll: thrust at +y lifts the left side -> +x torque
            -xy[:, 0],  # pitch: thrust at +x lifts the nose -> -y torque
            -ROTOR_SPIN * vehicle.torque_to_thrust_m,
        ]
    )


def rotor_signs(vehicle: VehicleConfig) -> np.ndarray:
    """[4, 3]: the sign with which each rotor's thrust makes a positive roll, pitch, yaw torque
    (the mixer adds ``sign * mixer_per_output * output`` to that rotor's thrust fraction)."""
    return np.sign(allocation_matrix(vehicle)[1:, :]).T.copy()


def pack_params(vehicle: VehicleConfig, dt_s: float) -> np.ndarray:
    """The vehicle's autopilot and motors as one row [NUM_PARAMS] for :func:`fc_step`."""
    fc = vehicle.flight_controller
    p = np.zeros(NUM_PARAMS)
    k = np.asarray(fc.rate_k)
    p[P_KP : P_KP + 3] = k * np.asarray(fc.rate_p)
    p[P_KI : P_KI + 3] = k * np.asarray(fc.rate_i)
    p[P_KD : P_KD + 3] = k * np.asarray(fc.rate_d)
    p[P_ILIM : P_ILIM + 3] = fc.rate_integrator_limit
    p[P_MIX : P_MIX + 3] = fc.mixer_per_output
    p[P_MAXRATE : P_MAXRATE + 3] = np.radians(fc.max_rates_dps)
    p[P_UNIT] = fc.error_scale
    p[P_DALPHA] = 1.0 - math.exp(-2.0 * math.pi * fc.rate_d_cutoff_hz * dt_s)
    p[P_CURVE : P_CURVE + 3] = fc.thrust_curve
    p[P_FWCURVE : P_FWCURVE + 3] = fc.firmware_thrust_curve
    p[P_SAG] = fc.battery_sag_fraction
    p[P_COMP] = 1.0 if fc.battery_compensated else 0.0
    p[P_MALPHA] = 1.0 - math.exp(-dt_s / vehicle.motor_time_constant_s)
    p[P_TMAX] = vehicle.motor_max_thrust_n
    return p


@nb.njit(cache=True, inline="always")
def _inverse(c0, c1, c2, f):
    """u in [0, 1] with c0 + c1 u + c2 u^2 = f (monotonic curve)."""
    f = min(max(f, c0), c0 + c1 + c2)
    if abs(c2) < 1e-12:
        u = (f - c0) / c1
    else:
        u = (-c1 + math.sqrt(max(c1 * c1 + 4.0 * c2 * (f - c0), 0.0))) / (2.0 * c2)
    return min(max(u, 0.0), 1.0)


@nb.njit(cache=True)
def fc_step(p, signs, rates_sp, setpoint, omega, integral, dfilt, prev_omega, speed, dt, rotor, work):
    """One physics step of the autopilot and motors, in place.

    Args:
        p: [NUM_PARAMS] the vehicle row (:func:`pack_params`).
        signs: [4, 3] :func:`rotor_signs`.
        rates_sp: [3] body-rate setpoint (rad/s, FLU).
        setpoint: the normalised collective thrust setpoint in [0, 1] (what the autopilot receives).
        omega: [3] measured body rates (rad/s).
        integral, dfilt, prev_omega: [3] the PID's state (I term in output units, filtered
            derivative in error units per second, the last measured rates).
        speed: [4] motor outputs after the motor lag (1), updated.
        dt: step (s).
        rotor: [4] out: rotor thrusts (N).
        work: [7] scratch (no allocation inside the kernel's hot loop).
    """
    out = work[0:3]
    unit = p[P_UNIT]
    for a in range(3):
        lim = p[P_MAXRATE + a]
        sp = min(max(rates_sp[a], -lim), lim)
        err = (sp - omega[a]) * unit
        i_lim = p[P_ILIM + a]
        integral[a] = min(max(integral[a] + p[P_KI + a] * err * dt, -i_lim), i_lim)
        # derivative of the measurement (no kick on setpoint steps), low-passed
        d_raw = (omega[a] - prev_omega[a]) * unit / dt
        prev_omega[a] = omega[a]
        dfilt[a] += p[P_DALPHA] * (d_raw - dfilt[a])
        out[a] = p[P_KP + a] * err + integral[a] - p[P_KD + a] * dfilt[a]
    frac = work[3:7]
    top = -1e9
    for r in range(4):
        f = setpoint
        for a in range(3):
            f += signs[r, a] * p[P_MIX + a] * out[a]
        frac[r] = f
        top = max(top, f)
    shift = top - 1.0 if top > 1.0 else 0.0  # desaturate: lower all four by the excess
    load = 0.0
    for r in range(4):
        f = min(max(frac[r] - shift, 0.0), 1.0)
        u_cmd = _inverse(p[P_FWCURVE], p[P_FWCURVE + 1], p[P_FWCURVE + 2], f) if f > 0.0 else 0.0
        speed[r] += p[P_MALPHA] * (u_cmd - speed[r])
        u = speed[r]
        frac[r] = max(p[P_CURVE] + p[P_CURVE + 1] * u + p[P_CURVE + 2] * u * u, 0.0) if u > 0.0 else 0.0
        load += 0.25 * frac[r]
    avail = 1.0 - p[P_SAG] * load
    for r in range(4):
        f = min(frac[r], avail) if p[P_COMP] > 0.5 else frac[r] * avail
        rotor[r] = p[P_TMAX] * f
