"""Arm task and training configuration: frozen dataclasses, units in the names.

The reference policy in ``policies/manip_panda_pick_place`` is trained with ``sim2real train manip``
and exactly these defaults; a change here changes what that command produces, so retrain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..bc import BCConfig
from ..dagger import DaggerConfig

ASSETS = Path(__file__).resolve().parents[3] / "sim_assets" / "panda"
"""``sim_assets/panda``: panda.urdf (ROS, kinematics), panda.xml + pick_place.xml (MuJoCo)."""

READY_POSE_RAD = (0.0, -0.785398, 0.0, -2.356194, 0.0, 1.570796, 0.785398)
"""Franka's "ready" configuration, the centre of the start distribution (rad)."""


@dataclass(frozen=True)
class ManipRandomization:
    """Per-episode randomisation of the object, the start, the sensing and the timing."""

    cube_half_size_m: tuple[float, float] = (0.02, 0.03)
    """Half the cube's edge (m): 4-6 cm cubes (the Franka hand opens to 8 cm)."""
    cube_mass_kg: tuple[float, float] = (0.05, 0.3)
    cube_friction: tuple[float, float] = (0.6, 1.2)
    """Sliding friction coefficient of the cube (MuJoCo takes the larger of the two geoms')."""
    cube_xy_min_m: tuple[float, float] = (0.4, -0.2)
    cube_xy_max_m: tuple[float, float] = (0.65, 0.2)
    target_min_m: tuple[float, float, float] = (0.35, -0.3, 0.0)
    """Lower corner of the target box (m); z is above the cube's resting height."""
    target_max_m: tuple[float, float, float] = (0.65, 0.3, 0.25)
    start_joint_noise_rad: float = 0.15
    """Uniform noise on the ready pose at the start of an episode (rad, each joint)."""
    joint_pos_noise_rad: float = 0.002
    joint_vel_noise_radps: float = 0.02
    object_pos_noise_m: float = 0.004
    """Per-step Gaussian noise of the perceived object position (m)."""
    object_yaw_noise_rad: float = 0.05
    object_latency_steps: tuple[int, int] = (0, 2)
    """The perceived object pose is this many control steps old (drawn per episode, inclusive)."""
    command_latency_substeps: tuple[int, int] = (0, 4)
    """Physics steps (5 ms) before a new command reaches the servos (drawn per episode)."""


@dataclass(frozen=True)
class ManipTaskConfig:
    """What the policy observes and commands, and when an episode succeeds."""

    task: str = "pick_place"
    """``reach`` (the TCP to a target position and yaw) or ``pick_place`` (the cube to a target)."""
    control_rate_hz: float = 25.0
    """Policy rate (Hz); MuJoCo steps at 200 Hz (pick_place.xml's 5 ms)."""
    episode_time_s: float = 10.0
    max_velocity_fraction: float = 0.5
    """The action's full scale, as a fraction of each joint's velocity limit (1)."""
    max_width_m: float = 0.08
    success_tolerance_m: float = 0.03
    """Pick-and-place succeeds when the cube's centre is this close to the target (m); reach when
    the TCP is within it."""
    reach_yaw_tolerance_rad: float = 0.15
    far_clip_m: float = 1.0
    fine_clip_m: float = 0.05
    dr: ManipRandomization = field(default_factory=ManipRandomization)


@dataclass(frozen=True)
class ManipTrainConfig:
    task: ManipTaskConfig = field(default_factory=ManipTaskConfig)
    dagger: DaggerConfig = field(default_factory=DaggerConfig)
    bc: BCConfig = field(
        default_factory=lambda: BCConfig(ignored_terms=("previous_action", "joint_velocity"))
    )
    """Behaviour cloning (``sim2real train manip --dataset DIR``). The network does not read the
    previous action nor the joint velocities (which follow the recent commands): with them a cloned
    policy copies its own last motion (50 scripted-human demonstrations, 200 held-out episodes:
    21 % success without them, 10 % with them)."""
    seed: int = 0
    threads: int = 2
    """MuJoCo rollout threads."""


__all__ = [
    "ASSETS",
    "READY_POSE_RAD",
    "BCConfig",
    "DaggerConfig",
    "ManipRandomization",
    "ManipTaskConfig",
    "ManipTrainConfig",
]
