"""Run a navigation policy on a real robot: ``ros2 launch nav_policy real.launch.py policy:=DIR``.

Starts the nav_policy node only: the robot's own bringup provides /scan (LaserScan), /odom
(Odometry, REP-105 odom -> base_link) and consumes /cmd_vel. Send goals in the odometry frame (RViz:
fixed frame ``odom``, "2D Goal Pose"); stop with ``ros2 topic pub --once /estop std_msgs/msg/Bool
'{data: true}'``; watch ``/nav_policy/state``. The node refuses a policy whose contract does not
match the robot file (beam count, rate, limits) and then publishes only zeros.
"""

from nav_policy.launch_args import ARGUMENTS, PACKAGE, node_parameters, policy_node
from sim2real_ros.launch_args import launch_description


def _node(values, share):
    return [policy_node(node_parameters(values, share, use_sim_time=False))]


def generate_launch_description():
    return launch_description(PACKAGE, ARGUMENTS, _node)
