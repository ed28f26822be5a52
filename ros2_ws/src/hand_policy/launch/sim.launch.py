"""Validate a hand policy in the MuJoCo sim bridge with ROS 2 in the loop:
``ros2 launch hand_policy sim.launch.py policy:=DIR task:=rotate_z seed:=3``.

Starts ``sim2real sim hand`` (MuJoCo publishing /joint_states, /clock, /cube_pose and /goal_pose,
obeying /cmd_leap in the LEAP driver's order and zero, over Cyclone DDS with the ROS 2 wire
conventions) and the hand_policy node on rclpy with ``use_sim_time``.
"""

from launch.actions import ExecuteProcess

from hand_policy.launch_args import ARGUMENTS, PACKAGE, node_parameters, policy_node
from sim2real_ros.launch_args import launch_description

SIM_ARGUMENTS = {
    "task": ("rotate_z", "rotate_z or reorient"),
    "seed": ("0", "the episode's cube and start pose"),
    "real_time_factor": ("1.0", "simulated seconds per wall-clock second"),
}


def _processes(values, share):
    params = node_parameters(values, share, use_sim_time=True)
    cmd = [
        "sim2real",
        "sim",
        "hand",
        "--task",
        values["task"],
        "--seed",
        values["seed"],
        "--real-time-factor",
        values["real_time_factor"],
    ]
    return [ExecuteProcess(cmd=cmd, output="screen", name="sim_bridge"), policy_node(params)]


def generate_launch_description():
    return launch_description(PACKAGE, {**ARGUMENTS, **SIM_ARGUMENTS}, _processes, cyclonedds=True)
