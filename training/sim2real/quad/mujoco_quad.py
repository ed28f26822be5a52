"""An X-configuration quadrotor in MuJoCo, driven like its flight controller in rate mode.

The policy's action is CTBR: a collective thrust and body rates (rad/s, FLU). Between it and the
rigid body sits the vehicle's own autopilot as its file describes it
(:mod:`sim2real.quad.flight_controller`: the firmware's rate PID with its gains and units, its
mixer and desaturation, its thrust-model inversion, first-order motors, the real thrust curve,
battery sag), then MuJoCo: one free rigid body with the vehicle's mass and principal inertia,
four site actuators applying each rotor's thrust along body z and its drag torque about body z,
and rotor drag (a force against the velocity across the rotor discs).

Frames follow REP-103: world ENU (z up), body FLU. Rotors: 0 front-right, 1 back-left, 2
front-left, 3 back-right (diagonal pairs spin the same way); a rotor spinning counter-clockwise
seen from above pushes the body clockwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2, VehicleConfig

from .flight_controller import (
    ROTOR_SPIN,
    allocation_matrix,
    fc_step,
    pack_params,
    rotor_positions,
    rotor_signs,
)

__all__ = ["ROTOR_SPIN", "QuadSim", "QuadState", "allocation_matrix", "quad_mjcf", "rotor_positions"]


def quad_mjcf(vehicle: VehicleConfig, physics_rate_hz: float = 500.0) -> str:
    """MJCF (XML text) of the vehicle as one free body with four rotor-site actuators."""
    m = vehicle.mass_kg
    ixx, iyy, izz = vehicle.inertia_kgm2
    arm = vehicle.arm_length_m
    xy = rotor_positions(vehicle)
    k = vehicle.torque_to_thrust_m
    sites = "\n".join(
        f'      <site name="rotor{i}" pos="{x} {y} 0" size="{0.3 * arm}" type="cylinder"/>'
        for i, (x, y) in enumerate(xy)
    )
    actuators = "\n".join(
        f'    <general name="rotor{i}" site="rotor{i}" gear="0 0 1 0 0 {-ROTOR_SPIN[i] * k}"'
        f' ctrllimited="true" ctrlrange="0 {vehicle.motor_max_thrust_n}"/>'
        for i in range(4)
    )
    return f"""<mujoco model="{vehicle.name}">
  <option timestep="{1.0 / physics_rate_hz}" gravity="0 0 {-STANDARD_GRAVITY_MPS2}" integrator="RK4"/>
  <worldbody>
    <body name="base" pos="0 0 1">
      <freejoint name="base_free"/>
      <inertial pos="0 0 0" mass="{m}" diaginertia="{ixx} {iyy} {izz}"/>
      <geom type="box" size="{0.5 * arm} {0.5 * arm} {0.1 * arm}" contype="0" conaffinity="0" mass="0"/>
{sites}
    </body>
  </worldbody>
  <actuator>
{actuators}
  </actuator>
</mujoco>
"""


@dataclass
class QuadState:
    """The vehicle's state, as odometry reports it (ENU world, FLU body)."""

    position_m: np.ndarray
    """[3] world position (m)."""
    quat_wxyz: np.ndarray
    """[4] body-to-world rotation (w, x, y, z)."""
    velocity_mps: np.ndarray
    """[3] world-frame linear velocity (m/s)."""
    body_rates_radps: np.ndarray
    """[3] body-frame angular velocity (rad/s)."""
    time_s: float
    """Time since reset (s)."""


class QuadSim:
    """One quadrotor in MuJoCo under CTBR commands, through its own autopilot.

    Args:
        vehicle: the vehicle file (airframe and ``flight_controller``).
        physics_rate_hz: MuJoCo step and autopilot rate (Hz).
    """

    def __init__(self, vehicle: VehicleConfig, physics_rate_hz: float = 500.0):
        self.vehicle = vehicle
        self.dt = 1.0 / physics_rate_hz
        self.model = mujoco.MjModel.from_xml_string(quad_mjcf(vehicle, physics_rate_hz))
        self.data = mujoco.MjData(self.model)
        self.params = pack_params(vehicle, self.dt)
        self.signs = rotor_signs(vehicle)
        self.speed = np.zeros(4)
        self.integral = np.zeros(3)
        self.dfilt = np.zeros(3)
        self.prev_omega = np.zeros(3)
        self.rotor = np.zeros(4)
        self._work = np.zeros(7)
        self.wind_force_n = np.zeros(3)
        """Extra world-frame force (N) held on the body (wind); rotor drag is added to it."""
        # The autopilot's first call loads its compiled code (about 0.25 s): pay it here, on
        # scratch state, not inside the first physics step of a bridge publishing at 100 Hz
        # (a node judged that pause as stale odometry and descended).
        z3, z4 = np.zeros(3), np.zeros(4)
        fc_step(self.params, self.signs, z3, 0.0, z3.copy(), z3.copy(), z3.copy(), z3.copy(),
                z4.copy(), self.dt, z4.copy(), np.zeros(7))  # fmt: skip

    def reset(self, position_m: np.ndarray = (0.0, 0.0, 1.0), hover: bool = True) -> QuadState:
        """At rest, level, at ``position_m``; motors at the hover output if ``hover``."""
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[0:3] = position_m
        self.data.qpos[3:7] = (1.0, 0.0, 0.0, 0.0)
        mujoco.mj_forward(self.model, self.data)
        self.speed[:] = self.vehicle.hover_command if hover else 0.0
        self.integral[:] = 0.0
        self.dfilt[:] = 0.0
        self.prev_omega[:] = 0.0
        return self.state()

    def state(self) -> QuadState:
        d = self.data
        return QuadState(
            d.qpos[0:3].copy(), d.qpos[3:7].copy(), d.qvel[0:3].copy(), d.qvel[3:6].copy(), d.time
        )

    def step(self, thrust_n: float, body_rates_radps: np.ndarray, duration_s: float) -> QuadState:
        """Hold a CTBR command for ``duration_s`` (whole physics steps) and return the state. The
        thrust (N) goes to the autopilot as the node sends it: the vehicle file's
        :meth:`~sim2real_runtime.vehicle.VehicleConfig.collective_setpoint`.

        A non-finite command is refused (ValueError): the safety layer stops NaN before here.
        """
        if not math.isfinite(thrust_n):
            raise ValueError(f"non-finite CTBR command ({thrust_n}, {body_rates_radps})")
        return self.step_setpoint(self.vehicle.collective_setpoint(thrust_n), body_rates_radps, duration_s)

    def step_setpoint(self, setpoint: float, body_rates_radps: np.ndarray, duration_s: float) -> QuadState:
        """As :meth:`step` with the autopilot's normalised collective setpoint in [0, 1]."""
        sp = np.asarray(body_rates_radps, dtype=np.float64)
        if not (math.isfinite(setpoint) and np.all(np.isfinite(sp))):
            raise ValueError(f"non-finite CTBR command ({setpoint}, {sp})")
        m, d = self.model, self.data
        drag = self.vehicle.flight_controller.rotor_drag_per_s * self.vehicle.mass_kg
        for _ in range(max(1, round(duration_s / self.dt))):
            fc_step(self.params, self.signs, sp, float(setpoint), d.qvel[3:6].copy(), self.integral,
                    self.dfilt, self.prev_omega, self.speed, self.dt, self.rotor, self._work)  # fmt: skip
            d.ctrl[:] = self.rotor
            z = _body_z(d.qpos[3:7])
            v = d.qvel[0:3]
            d.xfrc_applied[1, 0:3] = self.wind_force_n - drag * (v - np.dot(v, z) * z)
            mujoco.mj_step(m, d)
        return self.state()


def _body_z(q: np.ndarray) -> np.ndarray:
    """Body z axis in the world of a (w, x, y, z) attitude."""
    w, x, y, z = q
    return np.array([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)])
