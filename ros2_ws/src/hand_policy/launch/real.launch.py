"""Run a hand policy on a LEAP Hand: ``ros2 launch hand_policy real.launch.py policy:=DIR``.

Starts the hand_policy node only. The LEAP driver (LEAP_Hand_API's leaphand_node: ``cmd_leap``
and the ``leap_position`` service) must run, with ``hardware/leap_hand/joint_state_adapter.py``
publishing /joint_states from it; a perception node publishes the cube on /cube_pose and the goal
on /goal_pose (PoseStamped in the palm frame; reorient only). Stop with
``ros2 topic pub --once /estop std_msgs/msg/Bool '{data: true}'``; watch /hand_policy/state.
"""

from hand_policy.launch_args import ARGUMENTS, PACKAGE, node_parameters, policy_node
from sim2real_ros.launch_args import launch_description


def _node(values, share):
    return [policy_node(node_parameters(values, share, use_sim_time=False))]


def generate_launch_description():
    return launch_description(PACKAGE, ARGUMENTS, _node)
