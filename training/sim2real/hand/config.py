"""Hand task and training configuration: frozen dataclasses, units in the names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sim2real_runtime.hand_control import HandSafetyConfig

from ..dagger import DaggerConfig
from ..rl import PPOConfig

ASSETS = Path(__file__).resolve().parents[3] / "sim_assets" / "leap_hand"
"""``sim_assets/leap_hand``: hand.yaml + leap_hand.urdf (runtime), leap_hand.xml (MuJoCo)."""

HOME_POSE_RAD = (0.8, 0.0, 0.6, 0.4, 0.8, 0.0, 0.6, 0.4, 0.8, 0.0, 0.6, 0.4, 1.4, 0.6, 0.2, 0.4)
"""The start pose (simulation order): long fingers curled up beside the cube, thumb over it (rad)."""


@dataclass(frozen=True)
class HandRandomization:
    """Per-episode randomisation (the anchors' list: friction, cube mass and size, joint offsets,
    gains, damping, armature; added here: sensing noise, calibration offsets, object pose noise
    and latency, command latency)."""

    cube_half_size_m: tuple[float, float] = (0.030, 0.035)
    cube_mass_kg: tuple[float, float] = (0.06, 0.12)
    """Playground scales the cube's mass by U(0.8, 1.2); a wider range here."""
    fingertip_friction: tuple[float, float] = (0.5, 1.0)
    """Playground's fingertip friction range."""
    cube_friction: tuple[float, float] = (0.6, 1.0)
    kp_scale: tuple[float, float] = (0.8, 1.2)
    """Servo stiffness scale (Playground: U(0.8, 1.2))."""
    damping_scale: tuple[float, float] = (0.8, 1.2)
    armature_scale: tuple[float, float] = (1.0, 1.05)
    frictionloss_scale: tuple[float, float] = (0.5, 2.0)
    joint_offset_rad: float = 0.05
    """Calibration offset per joint, uniform +- this (Playground's qpos0 jitter): the measured
    joint is the true one plus the offset, fixed per episode."""
    joint_noise_rad: float = 0.01
    """Per-step Gaussian noise of the measured joints (rad)."""
    start_joint_noise_rad: float = 0.1
    cube_pos_noise_m: float = 0.002
    """Per-step Gaussian noise of the perceived cube position (m)."""
    cube_rot_noise_rad: float = 0.03
    """Per-step noise of the perceived cube orientation (rad, random axis)."""
    cube_latency_steps: tuple[int, int] = (0, 2)
    """The perceived cube pose is this many control steps old (per episode, inclusive)."""
    command_latency_substeps: tuple[int, int] = (0, 1)
    """Physics steps (10 ms) before a new target reaches the servos (per episode)."""


@dataclass(frozen=True)
class HandTaskConfig:
    """What the policy observes and commands, and what it is rewarded for."""

    task: str = "rotate_z"
    """``rotate_z`` (turn the cube about the palm normal) or ``reorient`` (to goal orientations)."""
    hand: str = "leap_hand"
    control_rate_hz: float = 20.0
    episode_time_s: float = 20.0
    success_tolerance_rad: float = 0.4
    """reorient: a goal counts as reached below this orientation error (rad); then a new goal."""
    safety: HandSafetyConfig = field(default_factory=HandSafetyConfig)
    action: str = "delta"
    """``delta``: each action is a change of the joint targets (at most ``max_speed_radps / rate``
    per step; what DAgger on the gait learns). ``offset``: each action is the target itself, an
    offset of at most ``offset_scale_rad`` from the home pose (MuJoCo Playground's LEAP action;
    what PPO from scratch learns with). Both go through the same safety layer."""
    offset_scale_rad: float = 0.6
    """``offset`` actions: the largest offset from the home pose, every joint (Playground: 0.6)."""
    observe_cube: bool = False
    """rotate_z: also observe the cube's pose in the palm frame (as reorient does, from the same
    perception topic, with its noise and latency). The anchors' rotate_z is blind (joints only);
    a policy that sees the cube can re-centre it before it slips off."""
    target_error_scale_rad: float = 0.3
    drop_distance_m: float = 0.07
    """The episode ends (a drop) when the cube's centre is further than this from the palm
    centre point one half size above the palm (m)."""
    # rewards (per control step)
    reward_angvel: float = 1.0
    """rotate_z: times the cube's angular speed about the palm normal (rad/s), clipped."""
    angvel_clip_radps: float = 3.0
    reward_position: float = 0.0
    """Times the cube's distance from its rest point (m) (the anchors use none)."""
    reward_drop: float = -5.0
    """Per drop (the anchors': -100 x dt); with a ramp, the penalty it starts from."""
    reward_drop_final: float | None = None
    """A curriculum on the drop penalty: if set, the penalty moves linearly from ``reward_drop``
    to this between the control steps of ``drop_ramp_steps`` (counted per world since the
    environment was made; a resumed run starts the count again). Turning is learned first with
    the anchors' mild penalty, then dropping the cube becomes expensive."""
    drop_ramp_steps: tuple[int, int] = (0, 0)
    """(start, end) of the ramp in control steps per world (PPO takes 32 per iteration here)."""
    reward_action_rate: float = -0.001
    """Times the squared change of the normalised action."""
    reward_orientation: float = -0.5
    """reorient: times the orientation error (rad)."""
    reward_success: float = 10.0
    """reorient: per goal reached."""
    reward_orientation_progress: float = 0.0
    """reorient: times the reduction of the orientation error this step (rad). Its sum over an
    episode is the error removed, so, unlike ``reward_orientation`` (a cost every step, which an
    early drop ends), it never pays the policy to drop the cube."""
    goal_max_angle_rad: tuple[float, float] | None = None
    """reorient: a curriculum on the goals. If set, each new goal is the cube's orientation turned
    about a uniformly random axis by an angle drawn uniformly between ``success_tolerance_rad`` and
    a maximum, which moves linearly from the first value to the second between the control steps
    of ``goal_ramp_steps``. Once the maximum reaches pi the goals are uniformly random
    orientations, as the task defines them (and as evaluation always draws them unless told)."""
    goal_ramp_steps: tuple[int, int] = (0, 0)
    """(start, end) of the goal ramp in control steps per world, counted like ``drop_ramp_steps``."""
    dr: HandRandomization = field(default_factory=HandRandomization)


@dataclass(frozen=True)
class HandTrainConfig:
    task: HandTaskConfig = field(default_factory=HandTaskConfig)
    ppo: PPOConfig = field(
        default_factory=lambda: PPOConfig(
            num_envs=64,
            steps_per_env=32,
            hidden_dims=(256, 128),
            num_mini_batches=4,
            init_noise_std=0.5,
            entropy_coef=0.002,
        )
    )
    dagger: DaggerConfig = field(
        default_factory=lambda: DaggerConfig(
            num_envs=64,
            steps_per_iteration=100,
            iterations=20,
            expert_only_iterations=2,
            hidden_dims=(256, 128),
            batch_size=2048,
            updates_per_iteration=200,
            gripper_loss_weight=1.0,
            max_wall_time_s=900.0,
        )
    )
    """rotate_z: DAgger on the scripted gait (:mod:`sim2real.hand.scripted`); the hand has no
    gripper, so the last joint is weighted like the others."""
    seed: int = 0
    max_iterations: int = 300
    max_wall_time_s: float = 600.0
    save_interval: int = 50
    torch_threads: int = 1
    threads: int = 2
    """MuJoCo rollout threads."""
