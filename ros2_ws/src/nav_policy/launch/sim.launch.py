"""Validate a policy in the MuJoCo sim bridge with ROS 2 in the loop:
``ros2 launch nav_policy sim.launch.py policy:=DIR scenario:=FILE``.

Starts ``sim2real sim nav`` (MuJoCo publishing /scan, /odom, /tf, /tf_static, /clock,
/joint_states over Cyclone DDS with the ROS 2 wire conventions; ``pip install`` the repository
into the Python that ROS 2 uses) and the nav_policy node on rclpy with ``use_sim_time``. The node
must run on rmw_cyclonedds_cpp (set here) to share the bridge's DDS domain (``ROS_DOMAIN_ID``).
With ``send_goal:=true`` the bridge publishes the scenario's goal on /goal_pose, as RViz would.
"""

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration

from nav_policy.launch_args import ARGUMENTS, node_parameters, policy_node

SIM_ARGUMENTS = {
    "scenario": ("", "a *.scenario.yaml (BARN or `sim2real worlds` output)"),
    "real_time_factor": ("1.0", "simulated seconds per wall-clock second"),
    "send_goal": ("false", "publish the scenario's goal on /goal_pose"),
}


def _processes(context, *args, **kwargs):
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    sim = {name: LaunchConfiguration(name).perform(context) for name in SIM_ARGUMENTS}
    if not sim["scenario"]:
        raise ValueError("launch argument scenario:=<file.scenario.yaml> is required")
    share = get_package_share_directory("nav_policy")
    params = node_parameters(values, share, use_sim_time=True)
    cmd = ["sim2real", "sim", "nav", "--scenario", sim["scenario"], "--robot", params[1]["robot"],
           "--real-time-factor", sim["real_time_factor"]]  # fmt: skip
    if params[1]["cmd_vel_stamped"]:
        cmd.append("--cmd-vel-stamped")
    if sim["send_goal"].lower() == "true":
        cmd.append("--send-goal")
    return [
        ExecuteProcess(cmd=cmd, output="screen", name="sim_bridge"),
        policy_node(params),
    ]


def generate_launch_description():
    args = {**ARGUMENTS, **SIM_ARGUMENTS}
    return LaunchDescription(
        [SetEnvironmentVariable("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")]
        + [DeclareLaunchArgument(n, default_value=d, description=h) for n, (d, h) in args.items()]
        + [OpaqueFunction(function=_processes)]
    )
