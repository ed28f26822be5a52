"""The interface every navigation simulator offers the evaluator (and the ROS 2 sim bridge).

Two implementations: :mod:`sim2real.nav.kinematic_sim` (fast, vectorised, used for training) and
:mod:`sim2real.nav.mujoco_sim` (rigid-body physics with wheel contacts, used for validation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sim2real_runtime.robot import RobotConfig

from .scenario import Scenario


@dataclass
class SensorFrame:
    """What the robot's drivers would publish at one control step."""

    ranges_m: np.ndarray
    """float32 [num_beams], as sensor_msgs/LaserScan.ranges: +inf where a beam has no return."""
    pose: np.ndarray
    """float64 [3]: x (m), y (m), yaw (rad) of base_link in the map frame (odometry with perfect
    localisation)."""
    twist: np.ndarray
    """float64 [2]: forward speed v (m/s) and yaw rate w (rad/s) in base_link, as nav_msgs/Odometry."""
    time_s: float
    """Simulation time since reset (s)."""
    collided: bool
    """True once the robot body has touched an obstacle since reset."""


class NavSim(Protocol):
    """A single-robot navigation simulator."""

    robot: RobotConfig
    control_rate_hz: float

    def reset(self, scenario: Scenario, seed: int) -> SensorFrame:
        """Load ``scenario``, put the robot at its start pose at rest, return the first frame."""
        ...

    def step(self, cmd_v_mps: float, cmd_w_radps: float) -> SensorFrame:
        """Apply a velocity command (as geometry_msgs/Twist on /cmd_vel) for one control period."""
        ...
