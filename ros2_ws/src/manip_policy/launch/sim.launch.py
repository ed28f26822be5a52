"""Validate an arm policy in the MuJoCo sim bridge with ROS 2 in the loop:
``ros2 launch manip_policy sim.launch.py policy:=DIR task:=pick_place seed:=3``.

Starts ``sim2real sim manip`` (MuJoCo publishing /joint_states, /clock, the object pose on
/object_pose and the target on /target_pose, obeying the arm and gripper controller topics, over
Cyclone DDS with the ROS 2 wire conventions) and the manip_policy node on rclpy with
``use_sim_time``, both on the same command and gripper interfaces. The node must run on
rmw_cyclonedds_cpp (set here) to share the bridge's DDS domain (``ROS_DOMAIN_ID``).
"""

from launch.actions import ExecuteProcess

from manip_policy.launch_args import ARGUMENTS, PACKAGE, effective, node_parameters, policy_node
from sim2real_ros.launch_args import launch_description

SIM_ARGUMENTS = {
    "task": ("pick_place", "pick_place or reach"),
    "seed": ("0", "the episode's cube, arm start and target"),
    "real_time_factor": ("1.0", "simulated seconds per wall-clock second"),
}


def _processes(values, share):
    params = node_parameters(values, share, use_sim_time=True)
    cmd = ["sim2real", "sim", "manip", "--task", values["task"], "--seed", values["seed"],
           "--real-time-factor", values["real_time_factor"],
           "--command-interface", effective(params, "command_interface", "forward"),
           "--arm-controller", effective(params, "arm_controller", "arm_controller"),
           "--gripper-interface", effective(params, "gripper_interface", "forward"),
           "--gripper-controller", effective(params, "gripper_controller", "gripper_controller")]  # fmt: skip
    return [ExecuteProcess(cmd=cmd, output="screen", name="sim_bridge"), policy_node(params)]


def generate_launch_description():
    return launch_description(PACKAGE, {**ARGUMENTS, **SIM_ARGUMENTS}, _processes, cyclonedds=True)
