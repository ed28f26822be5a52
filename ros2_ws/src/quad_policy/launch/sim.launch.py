"""Validate a quadrotor policy in the MuJoCo sim bridge with ROS 2 in the loop:
``ros2 launch quad_policy sim.launch.py policy:=DIR interface:=px4 task:=figure8``.

Starts ``sim2real sim quad`` (MuJoCo speaking PX4's /fmu topics or Crazyswarm2's, plus /clock,
over Cyclone DDS with the ROS 2 wire conventions; it also streams the task's reference on
/reference_path) and the quad_policy node on rclpy with ``use_sim_time``. The node must run on
rmw_cyclonedds_cpp (set here) to share the bridge's DDS domain (``ROS_DOMAIN_ID``).
"""

from launch.actions import ExecuteProcess

from quad_policy.launch_args import ARGUMENTS, PACKAGE, node_parameters, policy_node
from sim2real_ros.launch_args import launch_description

SIM_ARGUMENTS = {
    "task": ("figure8", "reference the bridge streams: hover, figure8 or circle"),
    "real_time_factor": ("1.0", "simulated seconds per wall-clock second"),
}


def _processes(values, share):
    params = node_parameters(values, share, use_sim_time=True)
    p = params[1]
    cmd = ["sim2real", "sim", "quad", "--vehicle", p["vehicle"], "--interface", p["interface"],
           "--task", values["task"], "--real-time-factor", values["real_time_factor"]]  # fmt: skip
    return [ExecuteProcess(cmd=cmd, output="screen", name="sim_bridge"), policy_node(params)]


def generate_launch_description():
    return launch_description(PACKAGE, {**ARGUMENTS, **SIM_ARGUMENTS}, _processes, cyclonedds=True)
