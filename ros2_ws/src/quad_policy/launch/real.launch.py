"""Fly a quadrotor policy: ``ros2 launch quad_policy real.launch.py policy:=DIR interface:=px4``.

Starts the quad_policy node only. PX4: the uXRCE-DDS agent must run (``MicroXRCEAgent udp4 -p
8888``); the node reads /fmu/out/vehicle_odometry and /fmu/out/vehicle_status and streams
/fmu/in/offboard_control_mode + /fmu/in/vehicle_rates_setpoint; the pilot arms and switches to
offboard. Crazyflie: Crazyswarm2 must run with the Crazyflie in rate mode and publish odometry on
/<cf>/odom (ENU, frame ``world``). Send /reference_pose (PoseStamped) or /reference_path (Path with
stamps); stop with ``ros2 topic pub --once /estop std_msgs/msg/Bool '{data: true}'``; watch
/quad_policy/state; change the user input with ``ros2 param set /quad_policy aggressiveness 0.8``.
"""

from quad_policy.launch_args import ARGUMENTS, PACKAGE, node_parameters, policy_node
from sim2real_ros.launch_args import launch_description


def _node(values, share):
    return [policy_node(node_parameters(values, share, use_sim_time=False))]


def generate_launch_description():
    return launch_description(PACKAGE, ARGUMENTS, _node)
