"""Validate an arm policy in the MuJoCo sim bridge with ROS 2 in the loop:
``ros2 launch manip_policy sim.launch.py policy:=DIR task:=pick_place seed:=3``.

Starts ``sim2real sim manip`` (MuJoCo publishing /joint_states, /clock, the object pose on
/object_pose and the target on /target_pose, obeying the arm and gripper controller topics, over
Cyclone DDS with the ROS 2 wire conventions) and the manip_policy node on rclpy with
``use_sim_time``, both on the same command and gripper interfaces. The node must run on
rmw_cyclonedds_cpp (set here) to share the bridge's DDS domain (``ROS_DOMAIN_ID``).
"""

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration

from manip_policy.launch_args import ARGUMENTS, effective, node_parameters, policy_node

SIM_ARGUMENTS = {
    "task": ("pick_place", "pick_place or reach"),
    "seed": ("0", "the episode's cube, arm start and target"),
    "real_time_factor": ("1.0", "simulated seconds per wall-clock second"),
}


def _processes(context, *args, **kwargs):
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    sim = {name: LaunchConfiguration(name).perform(context) for name in SIM_ARGUMENTS}
    share = get_package_share_directory("manip_policy")
    params = node_parameters(values, share, use_sim_time=True)
    cmd = ["sim2real", "sim", "manip", "--task", sim["task"], "--seed", sim["seed"],
           "--real-time-factor", sim["real_time_factor"],
           "--command-interface", effective(params, "command_interface", "forward"),
           "--arm-controller", effective(params, "arm_controller", "arm_controller"),
           "--gripper-interface", effective(params, "gripper_interface", "forward"),
           "--gripper-controller", effective(params, "gripper_controller", "gripper_controller")]  # fmt: skip
    return [ExecuteProcess(cmd=cmd, output="screen", name="sim_bridge"), policy_node(params)]


def generate_launch_description():
    args = {**ARGUMENTS, **SIM_ARGUMENTS}
    return LaunchDescription(
        [SetEnvironmentVariable("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")]
        + [DeclareLaunchArgument(n, default_value=d, description=h) for n, (d, h) in args.items()]
        + [OpaqueFunction(function=_processes)]
    )
