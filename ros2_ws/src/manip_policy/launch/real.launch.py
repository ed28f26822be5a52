"""Run an arm policy on a robot: ``ros2 launch manip_policy real.launch.py policy:=DIR``.

Starts the manip_policy node only. ros2_control must run with joint_state_broadcaster (publishing
/joint_states with the arm and finger joints), an arm controller (a forward_command_controller
position controller on /<arm_controller>/commands, or with ``command_interface:=trajectory`` a
joint_trajectory_controller) and a gripper controller (``gripper_interface``); a perception node
must publish the object's pose on /object_pose (geometry_msgs/PoseStamped in panda_link0). Send the
target on /target_pose (PoseStamped in panda_link0); stop with
``ros2 topic pub --once /estop std_msgs/msg/Bool '{data: true}'``; watch /manip_policy/state.
"""

from manip_policy.launch_args import ARGUMENTS, PACKAGE, node_parameters, policy_node
from sim2real_ros.launch_args import launch_description


def _node(values, share):
    return [policy_node(node_parameters(values, share, use_sim_time=False))]


def generate_launch_description():
    return launch_description(PACKAGE, ARGUMENTS, _node)
