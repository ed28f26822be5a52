"""Quadrotor task and training configuration: frozen dataclasses, units in the names.

The reference policy in ``policies/quad_crazyflie`` is trained with ``sim2real train quad``: these
defaults, with the actor made a residual on the PD baseline's law by
:func:`sim2real.quad.task.with_pd_prior` (the task's ``default_config``). A change here changes what
that command produces, so retrain and re-export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..rl import PPOConfig


@dataclass(frozen=True)
class QuadDomainRandomization:
    """Per-episode randomisation of the vehicle and its sensing. Scales multiply the nominal
    vehicle file's value; each is drawn uniformly (log-uniformly for the motor time constant)."""

    mass_scale: tuple[float, float] = (0.8, 1.25)
    inertia_scale: tuple[float, float] = (0.7, 1.4)
    thrust_scale: tuple[float, float] = (0.85, 1.2)
    """Motor max thrust; with the mass scale this spans thrust-to-weight +-35 %."""
    torque_to_thrust_scale: tuple[float, float] = (0.7, 1.3)
    motor_time_constant_s: tuple[float, float] = (0.01, 0.1)
    """Absolute range (s), log-uniform: covers brushed micro motors (~0.08 s) to 2 kg frames
    (~0.0125 s)."""
    latency_s: tuple[float, float] = (0.0, 0.008)
    """Extra delay from observation to the command reaching the flight controller (s), added to
    the vehicle file's odometry_latency_s (itself scaled x0.5-1.5); the sum is capped at one
    control period."""
    rate_gain_scale: tuple[float, float] = (0.45, 1.5)
    """The autopilot's rate P, I and D gains (each its own factor, all axes). Down to 0.45 so that
    the rate loops trained on include ones as slow as PX4 frames with little torque authority
    (``benchmarks/quad_rate_loops.py``: a 1 rad/s roll-rate step reaches 63 % in 36 ms on the
    nominal Crazyflie, 50 ms on the x500, 64 ms on the Iris; slower than the Iris: 0.1 % of the
    draws at 0.6, 0.4 % at 0.45, 2.6 % at 0.3). Policies trained with 0.6 swung the Iris 30-70 cm
    in hover at aggressiveness 1; 0.3 flew it as well as the PD but made the Crazyflie's
    figure-eight ~30 % worse (3.76 vs 2.86 cm, mean of the seeds; benchmarks/RESULTS.md)."""
    mixer_scale: tuple[float, float] = (0.8, 1.25)
    """The mixer's thrust change per unit of rate-loop output."""
    thrust_curve_blend: float = 0.4
    """Largest blend of the real thrust curve towards linear or quadratic (random which): the
    firmware's model and the node's conversion keep the nominal curve, so the vehicle's thrust is
    off by up to ~10 % in the middle of the range."""
    battery_sag_fraction: tuple[float, float] = (0.0, 0.15)
    """Loss of available thrust at full load; compensated or not (random)."""
    rotor_drag_scale: tuple[float, float] = (0.0, 2.0)
    """Rotor drag x the vehicle file's."""
    position_noise_std_m: float = 0.004
    velocity_noise_std_mps: float = 0.02
    attitude_noise_std_rad: float = 0.01
    rates_noise_std_radps: float = 0.05
    wind_accel_mps2: tuple[float, float] = (0.0, 1.0)
    """Constant horizontal wind force per unit mass (m/s^2), random direction, per episode."""
    gust_accel_std_mps2: float = 0.3
    """Standard deviation of a slowly varying (1 s correlation) wind component (m/s^2)."""


@dataclass(frozen=True)
class QuadTaskConfig:
    """What the policy observes, commands and is rewarded for."""

    vehicle: str = "crazyflie_2_1"
    """Nominal vehicle: name (``sim_assets/<name>/vehicle.yaml``) or a vehicle file path."""
    control_rate_hz: float = 50.0
    """Policy rate (Hz)."""
    physics_rate_hz: float = 250.0
    """Rigid body, motors and the flight controller's rate loop in training (Hz). Half the
    firmware's 500 Hz: it halves the cost of a step, and a rate step on the Crazyflie differs by
    one 4 ms step in rise time (MuJoCo evaluation runs the loop at 500 Hz)."""
    episode_time_s: float = 6.0
    lookahead_points: int = 5
    lookahead_horizon_s: float = 0.5
    observation_frame: str = "body FLU"
    """Frame of the position error, velocity and lookahead observations (``world ENU`` or
    ``body FLU``); the body frame makes the policy heading-invariant and trains much faster."""
    position_clip_m: float = 1.0
    fine_position_clip_m: float = 0.1
    """Clip of the second, fine-resolution position error observation (m)."""
    integral_time_constant_s: float = 2.0
    """Leak of the position error's integral observation (s): a steady error e reads e * 2 s."""
    integral_clip_ms: float = 0.3
    """Anti-windup clip of that integral, per axis (m s)."""
    velocity_clip_mps: float = 3.0
    rates_clip_radps: float = 10.0
    accel_scale_mps2: float = 6.0
    """Collective acceleration per unit of normalised thrust action, around hover (m/s^2)."""
    accel_range_mps2: tuple[float, float] = (2.0, 16.0)
    """Collective acceleration limits of the action (m/s^2); the motors may saturate earlier."""
    max_rates_radps: tuple[float, float, float] = (4.0, 4.0, 1.5)
    """Body-rate limits of the action (rad/s): roll, pitch, yaw."""
    tilt_range_deg: tuple[float, float] = (12.0, 40.0)
    """Tilt limit at aggressiveness 0 and 1 (deg)."""
    task_weights: tuple[float, float, float] = (0.2, 0.55, 0.25)
    """Probability of hover, figure-eight and circle episodes."""
    traj_half_extent_m: tuple[float, float] = (0.2, 0.9)
    """Figure-eight half-length / circle radius range (m)."""
    traj_period_s: tuple[float, float] = (4.0, 10.0)
    start_offset_m: float = 0.5
    """Largest initial position offset from the reference, per axis (m)."""
    far_start_fraction: float = 0.3
    """Fraction of episodes that start up to ``start_offset_m`` away; the rest within 5 cm."""
    start_tilt_deg: float = 20.0
    dr: QuadDomainRandomization = field(default_factory=QuadDomainRandomization)
    reward_alive: float = 3.0
    """Per second while flying; larger than the sum of the (capped) penalties, so flying on always
    beats crashing. Every reward term except the crash is a rate (per second) multiplied by the
    step time, which keeps returns (and the critic's targets) of order one."""
    reward_position_per_m: float = -1.0
    reward_progress_per_m: float = 0.4
    """Per metre the distance to the reference shrank this step (not a rate: potential-based
    shaping, which does not move the optimum and rewards closing in at once)."""
    reward_precision: float = 1.0
    """Weight of exp(-error / precision_scale_m): sharpens the optimum to centimetres."""
    precision_scale_m: float = 0.05
    reward_velocity_per_mps: float = -0.5
    reward_rates: float = -0.005
    """Per (rad/s)^2 of body rate."""
    reward_action_rate: tuple[float, float] = (-0.4, -0.05)
    """Per squared change of the normalised action, at aggressiveness 0 and 1."""
    reward_tilt_excess_per_rad: float = -2.0
    reward_crash: float = -5.0
    penalty_cap: float = 0.5
    """Largest magnitude of each penalty term except position (per second)."""
    crash_distance_m: float = 1.5
    """Farther than this from the reference ends the episode as a crash (m)."""


@dataclass(frozen=True)
class QuadTrainConfig:
    """One training run."""

    task: QuadTaskConfig = field(default_factory=QuadTaskConfig)
    ppo: PPOConfig = field(
        default_factory=lambda: PPOConfig(
            num_envs=2048,
            steps_per_env=24,
            hidden_dims=(64, 64),
            critic_hidden_dims=(128, 128),
            activation="elu",
            init_noise_std=0.3,
            learning_rate=1e-3,
            schedule="fixed",
            num_learning_epochs=2,
            num_mini_batches=4,
            gamma=0.99,
            lam=0.95,
            entropy_coef=0.002,
            desired_kl=0.01,
            actor_class="sim2real.models:FiLMMLPModel",
            actor_kwargs=(("cond_index", -1),),
        )
    )
    seed: int = 0
    max_iterations: int = 200
    """The budget, in PPO iterations of num_envs x steps_per_env steps (9.8 M steps)."""
    max_wall_time_s: float = 3600.0
    """A guard only (s): the step budget ends a run first (on a loaded shared machine too)."""
    save_interval: int = 100
    torch_threads: int = 1
    """One torch thread: the networks are small, and two OpenMP threads stall each other on a
    loaded machine (measured: minutes per iteration on the shared 2-core VM)."""
