"""The toy_policy node's parameters: one frozen dataclass, read from ROS 2 parameters or a
``--params-file`` YAML in the ROS 2 format (``toy_policy: {ros__parameters: {...}}``)."""

from __future__ import annotations

from dataclasses import dataclass

from sim2real_ros import node_params


@dataclass(frozen=True)
class ToyNodeParams(node_params.NodeParams):
    """Parameters of the toy_policy node; the common ones are
    :class:`sim2real_ros.node_params.NodeParams`'. The policy runs at its contract's rate on the
    node clock, sampled by the loop at ``loop_rate_hz``."""

    POSITIVE = ("joint_state_timeout_s",)
    cart: str = "cart"
    """Cart name (the toy domain's ``assets/<cart>.yaml``) or a path to a cart YAML."""
    joint_name: str = "rail_joint"
    """The rail's prismatic joint in ``joint_states_topic``."""
    joint_states_topic: str = "/joint_states"
    """sensor_msgs/JointState input (position m, velocity m/s), sensor-data QoS."""
    goal_topic: str = "/toy/goal"
    """std_msgs/Float64 goal position on the rail (m)."""
    command_topic: str = "/rail_effort_controller/commands"
    """std_msgs/Float64MultiArray ``[force N]`` to a ros2_control effort controller."""
    state_topic: str = "/toy_policy/state"
    """std_msgs/String state output (latched): waiting..., running, stopped: ..., error: ..."""
    joint_state_timeout_s: float = 0.2
    """Joint states older than this (host steady clock) stop the cart."""
    max_force_n: float = 0.0
    """Force limit (N); 0 = the cart's; more than the cart's is refused."""


params_from_mapping, read_params_file = node_params.readers(ToyNodeParams, "toy_policy")
