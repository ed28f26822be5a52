"""Validate a quadrotor policy in the MuJoCo sim bridge with ROS 2 in the loop:
``ros2 launch quad_policy sim.launch.py policy:=DIR interface:=px4 task:=figure8``.

Starts ``sim2real sim quad`` (MuJoCo speaking PX4's /fmu topics or Crazyswarm2's, plus /clock,
over Cyclone DDS with the ROS 2 wire conventions; it also streams the task's reference on
/reference_path) and the quad_policy node on rclpy with ``use_sim_time``. The node must run on
rmw_cyclonedds_cpp (set here) to share the bridge's DDS domain (``ROS_DOMAIN_ID``).
"""

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration

from quad_policy.launch_args import ARGUMENTS, node_parameters, policy_node

SIM_ARGUMENTS = {
    "task": ("figure8", "reference the bridge streams: hover, figure8 or circle"),
    "real_time_factor": ("1.0", "simulated seconds per wall-clock second"),
}


def _processes(context, *args, **kwargs):
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    sim = {name: LaunchConfiguration(name).perform(context) for name in SIM_ARGUMENTS}
    share = get_package_share_directory("quad_policy")
    params = node_parameters(values, share, use_sim_time=True)
    p = params[1]
    cmd = ["sim2real", "sim", "quad", "--vehicle", p["vehicle"], "--interface", p["interface"],
           "--task", sim["task"], "--real-time-factor", sim["real_time_factor"]]  # fmt: skip
    return [ExecuteProcess(cmd=cmd, output="screen", name="sim_bridge"), policy_node(params)]


def generate_launch_description():
    args = {**ARGUMENTS, **SIM_ARGUMENTS}
    return LaunchDescription(
        [SetEnvironmentVariable("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")]
        + [DeclareLaunchArgument(n, default_value=d, description=h) for n, (d, h) in args.items()]
        + [OpaqueFunction(function=_processes)]
    )
