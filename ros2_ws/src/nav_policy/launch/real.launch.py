"""Run a navigation policy on a real robot: ``ros2 launch nav_policy real.launch.py policy:=DIR``.

Starts the nav_policy node only: the robot's own bringup provides /scan (LaserScan), /odom
(Odometry, REP-105 odom -> base_link) and consumes /cmd_vel. Send goals in the odometry frame (RViz:
fixed frame ``odom``, "2D Goal Pose"); stop with ``ros2 topic pub --once /estop std_msgs/msg/Bool
'{data: true}'``; watch ``/nav_policy/state``. The node refuses a policy whose contract does not
match the robot file (beam count, rate, limits) and then publishes only zeros.
"""

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from nav_policy.launch_args import ARGUMENTS, node_parameters, policy_node


def _node(context, *args, **kwargs):
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    share = get_package_share_directory("nav_policy")
    return [policy_node(node_parameters(values, share, use_sim_time=False))]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(n, default_value=d, description=h) for n, (d, h) in ARGUMENTS.items()]
        + [OpaqueFunction(function=_node)]
    )
