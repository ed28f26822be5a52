"""Navigation task and training configuration: frozen dataclasses, units in the names.

The reference policy in ``policies/nav_jackal`` is trained with ``sim2real train nav`` and exactly
these defaults; a change here changes what that command produces, so retrain and re-export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..bc import BCConfig
from ..rl import PPOConfig
from .kinematic_sim import DomainRandomization


@dataclass(frozen=True)
class NavTaskConfig:
    """What the policy observes, commands and is rewarded for."""

    robot: str = "jackal"
    """Robot name (``sim_assets/<robot>/robot.yaml``) or path to a robot YAML."""
    control_rate_hz: float = 10.0
    """Policy rate (Hz)."""
    num_sectors: int = 72
    """Lidar sectors after min-pooling (720 beams -> 72 sectors of 3.75 degrees on the Jackal)."""
    range_clip_m: float = 4.0
    """Ranges beyond this are reported as this (m)."""
    goal_clip_m: float = 5.0
    """Goal distances beyond this are reported as this (m)."""
    v_limits_mps: tuple[float, float] = (-0.25, 1.0)
    """Forward speed range of the policy's action (m/s); within the robot's limits. BARN's score
    saturates at an average of 1 m/s along the reference path, so going faster only adds risk."""
    w_max_radps: float = 2.5
    """Yaw-rate magnitude range of the policy's action (rad/s)."""
    collision_guard: bool = True
    """Train with the runtime's collision guard (forward-speed cap from the raw scan) in the loop, as
    it runs on the robot."""
    dwa_fallback: bool = True
    """Export a contract that asks the deployment to run the runtime's DWA fallback
    (``action.cmd_vel.params.dwa_fallback``): the shipped policy is selected and reported with the
    fallback (``sim2real eval nav`` runs it as the contract asks; ``--no-fallback`` runs the policy
    alone). Training itself does not run the fallback."""
    episode_time_s: float = 50.0
    """Training episode time limit (s); evaluation uses the scenario's own limit."""
    num_worlds: int = 240
    """Procedural worlds generated for training."""
    difficulty_range: tuple[float, float] = (0.0, 1.0)
    """Difficulty range of the generated training worlds (0 sparse, 1 densest)."""
    sim_resolution_m: float = 0.15
    """Grid cell size of the training simulator (m); 0.15 m is the lattice of BARN-style worlds."""
    dr: DomainRandomization = field(default_factory=DomainRandomization)
    """Domain randomisation of the simulator."""
    reward_progress_per_m: float = 1.0
    """Reward per metre of progress along the geodesic (shortest collision-free) path to the goal."""
    reward_success: float = 10.0
    """Reward for reaching the goal."""
    reward_collision: float = -10.0
    """Reward (penalty) for touching an obstacle; ends the episode."""
    reward_time_per_s: float = -0.3
    """Reward per second spent (pushes for speed, i.e. BARN score)."""
    reward_proximity: float = -0.5
    """Reward per second scaled by how far the nearest obstacle is inside ``proximity_margin_m``."""
    proximity_margin_m: float = 0.25
    """Clearance from the footprint below which the proximity penalty starts (m)."""
    reward_action_rate: float = -0.02
    """Reward per step times the squared change of the normalised action."""


@dataclass(frozen=True)
class NavTrainConfig:
    """One training run."""

    task: NavTaskConfig = field(default_factory=NavTaskConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    bc: BCConfig = field(default_factory=BCConfig)
    """Behaviour cloning (``sim2real train nav --dataset DIR``) instead of PPO."""
    seed: int = 0
    """Seeds world generation, domain randomisation, and torch."""
    max_iterations: int = 600
    """PPO iterations, each ``ppo.num_envs * ppo.steps_per_env`` environment steps: the training
    budget is 600 x 256 x 32 = 4,915,200 environment steps, whatever the machine's speed."""
    max_wall_time_s: float = 0.0
    """Stop after this much wall-clock time even if iterations remain (s); 0 = no wall-clock stop,
    so the same command trains the same number of steps on a fast or a slow day. A wall-clock stop
    is a user option (``--max-wall-time-s``), never the default: it made the result depend on the
    machine's load."""
    save_interval: int = 50
    """Checkpoint every this many iterations."""
    validation_worlds: int = 60
    """Validation split: this many worlds of ``sim2real worlds --seed <validation_seed>`` (evenly
    from difficulty 0 to 1). After training, every checkpoint from ``validation_from_fraction`` of
    the run on is evaluated on them (the runtime's controller, the fast simulator) and the best
    (success, then BARN score) is the run's selected checkpoint, which ``sim2real export`` exports.
    Never the BARN test worlds nor the held-out split (:mod:`sim2real.nav.splits`)."""
    validation_seed: int = 11
    """Seed of the validation worlds (:func:`sim2real.nav.worldgen.write_benchmark`)."""
    validation_from_fraction: float = 0.5
    """Checkpoints before this fraction of ``max_iterations`` are not candidates (an early policy
    that stalls costs a full time limit per world to evaluate, and is never the best)."""
    validation_sim: str = "kinematic"
    """Simulator of the validation episodes: ``kinematic`` (the training simulator, about 3x faster)
    or ``mujoco``."""
    torch_threads: int = 2
    """torch intra-op threads for the PPO update (the simulator runs between updates, not beside)."""
