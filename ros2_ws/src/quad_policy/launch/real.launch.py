"""Fly a quadrotor policy: ``ros2 launch quad_policy real.launch.py policy:=DIR interface:=px4``.

Starts the quad_policy node only. PX4: the uXRCE-DDS agent must run (``MicroXRCEAgent udp4 -p
8888``); the node reads /fmu/out/vehicle_odometry and /fmu/out/vehicle_status and streams
/fmu/in/offboard_control_mode + /fmu/in/vehicle_rates_setpoint; the pilot arms and switches to
offboard. Crazyflie: Crazyswarm2 must run with the Crazyflie in rate mode and publish odometry on
/<cf>/odom (ENU, frame ``world``). Send /reference_pose (PoseStamped) or /reference_path (Path with
stamps); stop with ``ros2 topic pub --once /estop std_msgs/msg/Bool '{data: true}'``; watch
/quad_policy/state; change the user input with ``ros2 param set /quad_policy aggressiveness 0.8``.
"""

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from quad_policy.launch_args import ARGUMENTS, node_parameters, policy_node


def _node(context, *args, **kwargs):
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    share = get_package_share_directory("quad_policy")
    return [policy_node(node_parameters(values, share, use_sim_time=False))]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(n, default_value=d, description=h) for n, (d, h) in ARGUMENTS.items()]
        + [OpaqueFunction(function=_node)]
    )
