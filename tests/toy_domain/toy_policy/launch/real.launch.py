"""Run the toy policy on a rail: ``ros2 launch toy_policy real.launch.py policy:=DIR``."""

from toy_policy.launch_args import ARGUMENTS, PACKAGE, node_parameters, policy_node

from sim2real_ros.launch_args import launch_description


def _nodes(values, share):
    return [policy_node(node_parameters(values, share, use_sim_time=False))]


def generate_launch_description():
    return launch_description(PACKAGE, ARGUMENTS, _nodes)
