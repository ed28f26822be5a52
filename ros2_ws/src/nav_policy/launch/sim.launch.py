"""Validate a policy in the MuJoCo sim bridge with ROS 2 in the loop:
``ros2 launch nav_policy sim.launch.py policy:=DIR scenario:=FILE``.

Starts ``sim2real sim nav`` (MuJoCo publishing /scan, /odom, /tf, /tf_static, /clock,
/joint_states over Cyclone DDS with the ROS 2 wire conventions; ``pip install`` the repository
into the Python that ROS 2 uses) and the nav_policy node on rclpy with ``use_sim_time``. The node
must run on rmw_cyclonedds_cpp (set here) to share the bridge's DDS domain (``ROS_DOMAIN_ID``).
With ``send_goal:=true`` the bridge publishes the scenario's goal on /goal_pose, as RViz would.
"""

from launch.actions import ExecuteProcess

from nav_policy.launch_args import ARGUMENTS, PACKAGE, node_parameters, policy_node
from sim2real_ros.launch_args import launch_description

SIM_ARGUMENTS = {
    "scenario": ("", "a *.scenario.yaml (BARN or `sim2real worlds` output)"),
    "real_time_factor": ("1.0", "simulated seconds per wall-clock second"),
    "send_goal": ("false", "publish the scenario's goal on /goal_pose"),
}


def _processes(values, share):
    if not values["scenario"]:
        raise ValueError("launch argument scenario:=<file.scenario.yaml> is required")
    params = node_parameters(values, share, use_sim_time=True)
    cmd = ["sim2real", "sim", "nav", "--scenario", values["scenario"], "--robot", params[1]["robot"],
           "--real-time-factor", values["real_time_factor"]]  # fmt: skip
    if params[1]["cmd_vel_stamped"]:
        cmd.append("--cmd-vel-stamped")
    if values["send_goal"].lower() == "true":
        cmd.append("--send-goal")
    return [ExecuteProcess(cmd=cmd, output="screen", name="sim_bridge"), policy_node(params)]


def generate_launch_description():
    return launch_description(PACKAGE, {**ARGUMENTS, **SIM_ARGUMENTS}, _processes, cyclonedds=True)
