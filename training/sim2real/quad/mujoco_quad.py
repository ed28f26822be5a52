"""An X-configuration quadrotor in MuJoCo, driven like a flight controller in rate mode.

The policy's action is CTBR: a collective thrust (N) and body rates (rad/s, FLU). Between it and
the rigid body sit the parts of a flight controller that a companion computer cannot bypass on
PX4 (offboard VehicleRatesSetpoint) or a Crazyflie (rate mode):

- a body-rate PID loop (:class:`RateController`), gains scaled by the vehicle's inertia, so one set
  of gains serves a 30 g and a 2 kg vehicle;
- a mixer (:func:`allocation_matrix`, :meth:`QuadSim.mix`): collective thrust and body torques ->
  four rotor thrusts, clipped to [0, motor_max_thrust_n];
- first-order motors (:class:`Motors`): rotor speed lags the command by motor_time_constant_s,
  thrust = motor_max_thrust_n * speed**2;
- MuJoCo: one free rigid body with the vehicle's mass and principal inertia, four site actuators
  applying each rotor's thrust along body z and its drag torque about body z.

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

ROTOR_SPIN = np.array([1.0, 1.0, -1.0, -1.0])
"""+1: the rotor spins counter-clockwise seen from above (its drag torque on the body is -z)."""


def rotor_positions(vehicle: VehicleConfig) -> np.ndarray:
    """Rotor centres [4, 2] (x, y) in the body frame (m): on the diagonals at arm_length_m."""
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


class Motors:
    """Four first-order motors: normalised speed in [0, 1] follows the command with time constant
    ``motor_time_constant_s``; thrust (N) = ``motor_max_thrust_n * speed**2``."""

    def __init__(self, vehicle: VehicleConfig, dt_s: float) -> None:
        self.max_thrust = vehicle.motor_max_thrust_n
        self.alpha = 1.0 - math.exp(-dt_s / vehicle.motor_time_constant_s)
        self.speed = np.zeros(4)

    def reset(self, speed: float) -> None:
        self.speed[:] = speed

    def step(self, command: np.ndarray) -> np.ndarray:
        """Advance one step towards ``command`` [4] (clipped to [0, 1]); thrusts [4] (N)."""
        self.speed += self.alpha * (np.clip(command, 0.0, 1.0) - self.speed)
        return self.max_thrust * self.speed**2


@dataclass(frozen=True)
class RateGains:
    """Body-rate PID gains in angular-acceleration units (torque = inertia * gain * error), so they
    carry over between vehicles. Roll and pitch share one set; yaw has its own."""

    kp_rp_per_s: float = 18.0
    """Roll/pitch proportional gain (1/s)."""
    ki_rp_per_s2: float = 20.0
    """Roll/pitch integral gain (1/s^2)."""
    kd_rp: float = 0.2
    """Roll/pitch derivative gain (1)."""
    kp_yaw_per_s: float = 8.0
    """Yaw proportional gain (1/s)."""
    ki_yaw_per_s2: float = 4.0
    """Yaw integral gain (1/s^2)."""
    integral_limit_radps_s: float = 0.3
    """Clamp of each axis' integrated rate error (rad)."""


DEFAULT_GAINS = RateGains()


class RateController:
    """Body-rate PID with inertia scaling, as a flight controller's rate loop (PX4's structure).

    ``__call__`` returns the body torque [3] (N m) for a rate setpoint [3] and measured rates [3].
    """

    def __init__(self, vehicle: VehicleConfig, dt_s: float, gains: RateGains = DEFAULT_GAINS) -> None:
        self.inertia = np.asarray(vehicle.inertia_kgm2)
        self.dt = dt_s
        self.kp = np.array([gains.kp_rp_per_s, gains.kp_rp_per_s, gains.kp_yaw_per_s])
        self.ki = np.array([gains.ki_rp_per_s2, gains.ki_rp_per_s2, gains.ki_yaw_per_s2])
        self.kd = np.array([gains.kd_rp, gains.kd_rp, 0.0])
        self.limit = gains.integral_limit_radps_s
        self.integral = np.zeros(3)
        self.prev_rate = np.zeros(3)

    def reset(self) -> None:
        self.integral[:] = 0.0
        self.prev_rate[:] = 0.0

    def __call__(self, rate_sp: np.ndarray, rate: np.ndarray) -> np.ndarray:
        err = rate_sp - rate
        self.integral = np.clip(self.integral + err * self.dt, -self.limit, self.limit)
        # Derivative on the measurement (no kick on setpoint steps), as PX4 does.
        d_rate = (rate - self.prev_rate) / self.dt
        self.prev_rate = rate.copy()
        return self.inertia * (self.kp * err + self.ki * self.integral - self.kd * d_rate)


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
    """One quadrotor in MuJoCo under CTBR commands.

    Args:
        vehicle: the vehicle file.
        physics_rate_hz: MuJoCo step, motor and rate-loop rate (Hz).
        gains: the rate loop's gains.
    """

    def __init__(
        self, vehicle: VehicleConfig, physics_rate_hz: float = 500.0, gains: RateGains = DEFAULT_GAINS
    ):
        self.vehicle = vehicle
        self.dt = 1.0 / physics_rate_hz
        self.model = mujoco.MjModel.from_xml_string(quad_mjcf(vehicle, physics_rate_hz))
        self.data = mujoco.MjData(self.model)
        self.motors = Motors(vehicle, self.dt)
        self.rates = RateController(vehicle, self.dt, gains)
        self.alloc_inv = np.linalg.inv(allocation_matrix(vehicle))

    def reset(self, position_m: np.ndarray = (0.0, 0.0, 1.0), hover: bool = True) -> QuadState:
        """At rest, level, at ``position_m``; motors spinning at the hover command if ``hover``."""
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[0:3] = position_m
        self.data.qpos[3:7] = (1.0, 0.0, 0.0, 0.0)
        mujoco.mj_forward(self.model, self.data)
        self.motors.reset(self.vehicle.hover_command if hover else 0.0)
        self.rates.reset()
        return self.state()

    def state(self) -> QuadState:
        d = self.data
        return QuadState(
            d.qpos[0:3].copy(), d.qpos[3:7].copy(), d.qvel[0:3].copy(), d.qvel[3:6].copy(), d.time
        )

    def mix(self, thrust_n: float, torque_nm: np.ndarray) -> np.ndarray:
        """Rotor thrusts [4] (N) for a collective thrust and body torque, clipped to the motors'
        range. A simple mixer: PX4's also desaturates (shifts collective thrust, gives up yaw
        first); that is not modelled here."""
        t = self.alloc_inv @ np.array([thrust_n, *torque_nm])
        return np.clip(t, 0.0, self.vehicle.motor_max_thrust_n)

    def step(self, thrust_n: float, body_rates_radps: np.ndarray, duration_s: float) -> QuadState:
        """Hold a CTBR command for ``duration_s`` (whole physics steps) and return the state.

        A non-finite command is refused (ValueError): the safety layer stops NaN before here.
        """
        sp = np.asarray(body_rates_radps, dtype=np.float64)
        if not (math.isfinite(thrust_n) and np.all(np.isfinite(sp))):
            raise ValueError(f"non-finite CTBR command ({thrust_n}, {sp})")
        m, d = self.model, self.data
        t_max = self.vehicle.motor_max_thrust_n
        for _ in range(max(1, round(duration_s / self.dt))):
            torque = self.rates(sp, d.qvel[3:6])
            thrusts = self.mix(thrust_n, torque)
            d.ctrl[:] = self.motors.step(np.sqrt(thrusts / t_max))
            mujoco.mj_step(m, d)
        return self.state()
