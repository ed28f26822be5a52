"""The nav_policy node's parameters: one frozen dataclass, read from ROS 2 parameters or a
``--params-file`` YAML in the ROS 2 format (``nav_policy: {ros__parameters: {...}}``).

Limits given as 0 take the robot file's value; a limit above the robot's is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim2real_ros import node_params


@dataclass(frozen=True)
class NavNodeParams(node_params.NodeParams):
    """Parameters of the nav_policy node (ROS 2 parameter names are the field names); the common
    ones (policy_path, estop_topic, state_topic, loop_rate_hz, control_rate_hz, use_sim_time) are
    :class:`sim2real_ros.node_params.NodeParams`'. The policy runs at its contract's rate on the
    scans' stamps; ``loop_rate_hz`` (50 Hz) is the watchdog and command heartbeat."""

    POSITIVE = (
        "scan_timeout_s", "odom_timeout_s", "goal_tolerance_m", "blocked_timeout_s", "lookahead_m",
        "tf_cache_time_s",
    )  # fmt: skip
    robot: str = "jackal"
    """Robot name under ``sim_assets/`` or a path to a ``robot.yaml``."""
    scan_topic: str = "/scan"
    """sensor_msgs/LaserScan input, read with sensor-data QoS (best effort)."""
    odom_topic: str = "/odom"
    """nav_msgs/Odometry input (REP-105: pose in ``odom``, twist in ``base_link``)."""
    goal_topic: str = "/goal_pose"
    """geometry_msgs/PoseStamped goals (what RViz's 2D Goal Pose sends), in any frame that /tf and
    /tf_static connect to the odometry frame (``map`` on a localised robot); an empty frame_id is
    the odometry frame."""
    path_topic: str = "/plan"
    """nav_msgs/Path global plans (what Nav2's planner publishes): the policy drives to a lookahead
    point on the path, and stops at its last pose. Any frame /tf connects to the odometry frame."""
    lookahead_m: float = 3.0
    """Arc length along a path from the robot's progress to the policy's goal (m)."""
    tf_cache_time_s: float = 10.0
    """History of the transform buffer (s, tf2's cache_time): a goal frame whose newest transform
    is older than this stops the robot."""
    cmd_vel_topic: str = "/cmd_vel"
    """geometry_msgs/Twist (or TwistStamped, see ``cmd_vel_stamped``) output."""
    cmd_vel_stamped: bool = False
    """Publish TwistStamped (Jazzy's diff_drive_controller) instead of Twist."""
    state_topic: str = "/nav_policy/state"
    """std_msgs/String state output (latched): idle, driving, goal_reached, blocked, stopped:..., error:..."""
    base_frame: str = "base_link"
    """frame_id of TwistStamped commands."""
    scan_timeout_s: float = 0.25
    """A scan older than this (host steady clock) stops the robot."""
    odom_timeout_s: float = 0.25
    """An odometry message older than this stops the robot."""
    goal_tolerance_m: float = 0.3
    """Distance to the goal at which the node stops and reports goal_reached."""
    blocked_timeout_s: float = 10.0
    """No 0.1 m of progress towards the goal for this long (node clock) -> state ``blocked``."""
    max_linear_speed_mps: float = 0.0
    """Forward speed limit (m/s); 0 = the robot's."""
    max_reverse_speed_mps: float = 0.0
    """Reverse speed limit (m/s, positive); 0 = the robot's."""
    max_angular_speed_radps: float = 0.0
    """Yaw rate limit (rad/s); 0 = the robot's."""
    max_linear_accel_mps2: float = 0.0
    """Linear acceleration limit (m/s^2); 0 = the robot's."""
    max_angular_accel_radps2: float = 0.0
    """Angular acceleration limit (rad/s^2); 0 = the robot's."""
    collision_guard: bool = True
    """Cap the forward speed from the raw scan on every scan (independent of the policy)."""
    fallback: bool = False
    """Run the runtime's DWA fallback (:class:`sim2real_runtime.nav_fallback.DwaFallback`: DWA
    vetoes a policy command whose arc hits an obstacle, and drives while the robot is stuck). A
    policy whose contract asks for it (``action.cmd_vel.params.dwa_fallback: true``) runs with it
    whatever this says; see :meth:`nav_policy.node.NavPolicyNode.make_controller`."""


params_from_mapping, read_params_file = node_params.readers(NavNodeParams, "nav_policy")
