"""Run an arm policy on a robot: ``ros2 launch manip_policy real.launch.py policy:=DIR``.

Starts the manip_policy node only. ros2_control must run with joint_state_broadcaster (publishing
/joint_states with the arm and finger joints), an arm controller (a forward_command_controller
position controller on /<arm_controller>/commands, or with ``command_interface:=trajectory`` a
joint_trajectory_controller) and a gripper controller (``gripper_interface``); a perception node
must publish the object's pose on /object_pose (geometry_msgs/PoseStamped in panda_link0). Send the
target on /target_pose (PoseStamped in panda_link0); stop with
``ros2 topic pub --once /estop std_msgs/msg/Bool '{data: true}'``; watch /manip_policy/state.
"""

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from manip_policy.launch_args import ARGUMENTS, node_parameters, policy_node


def _node(context, *args, **kwargs):
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    share = get_package_share_directory("manip_policy")
    return [policy_node(node_parameters(values, share, use_sim_time=False))]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(n, default_value=d, description=h) for n, (d, h) in ARGUMENTS.items()]
        + [OpaqueFunction(function=_node)]
    )
