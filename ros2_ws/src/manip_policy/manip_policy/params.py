"""The manip_policy node's parameters: one frozen dataclass, read from ROS 2 parameters or a
``--params-file`` YAML in the ROS 2 format (``manip_policy: {ros__parameters: {...}}``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from sim2real_ros import node_params
from sim2real_runtime.errors import ConfigError

COMMAND_INTERFACES = ("forward", "trajectory")
GRIPPER_INTERFACES = ("forward", "action")
SOURCE_URDF = Path(__file__).resolve().parents[4] / "sim_assets" / "panda" / "panda.urdf"
"""The Panda's URDF in a source checkout (an installed package has it in its share directory)."""


@dataclass(frozen=True)
class ManipNodeParams(node_params.NodeParams):
    """Parameters of the manip_policy node (ROS 2 parameter names are the field names); the common
    ones (policy_path, estop_topic, state_topic, loop_rate_hz, control_rate_hz, use_sim_time) are
    :class:`sim2real_ros.node_params.NodeParams`'. ``loop_rate_hz`` (100 Hz) checks the watchdog
    and the e-stop; the policy and the commands run inside it at the contract's rate on the node
    clock (so also at any simulation speed)."""

    POSITIVE = ("watchdog_timeout_s", "max_velocity_fraction", "max_lead_rad")
    urdf: str = ""
    """The arm's URDF; its chain from ``base_frame`` to ``tip_link`` must equal the contract's
    (joint names, origins, axes, limits). Empty: ``share/manip_policy/urdf/panda.urdf`` when
    installed with colcon, else ``sim_assets/panda/panda.urdf``."""
    base_frame: str = "panda_link0"
    """The arm's base link: the frame of the kinematics, the object pose and the target. Poses in
    another frame are refused (the node transforms nothing)."""
    tip_link: str = "panda_hand_tcp"
    """The tool centre point link of the chain."""
    finger_joints: str = "panda_finger_joint1,panda_finger_joint2"
    """Comma-separated finger joint names in /joint_states; the gripper width (m, pad to pad) is
    the sum of their positions."""
    joint_states_topic: str = "/joint_states"
    """sensor_msgs/JointState (joint_state_broadcaster), matched by name: other joints are
    ignored; the finger joints may come in messages of their own (a separate gripper driver)."""
    object_pose_topic: str = "/object_pose"
    """geometry_msgs/PoseStamped of the object, from perception, in ``base_frame``."""
    target_pose_topic: str = "/target_pose"
    """geometry_msgs/PoseStamped: where the object (pick_place) or the TCP (reach, with its yaw)
    should go, in ``base_frame``."""
    state_topic: str = "/manip_policy/state"
    """std_msgs/String state output (latched)."""
    command_interface: str = "forward"
    """``forward``: std_msgs/Float64MultiArray of the 7 joint positions (rad, contract joint order)
    on ``/<arm_controller>/commands`` (ros2_control forward_command_controller / position
    controller). ``trajectory``: trajectory_msgs/JointTrajectory on
    ``/<arm_controller>/joint_trajectory`` with the joint names and one point reached one control
    period later (joint_trajectory_controller)."""
    arm_controller: str = "arm_controller"
    """Name of the ros2_control arm controller (topic prefix)."""
    gripper_interface: str = "forward"
    """``forward``: std_msgs/Float64MultiArray ``[width / 2]`` (m) on
    ``/<gripper_controller>/commands``: the position of the first finger joint, the second
    mimicking it (a forward position controller on panda_finger_joint1, as Franka MuJoCo and
    Gazebo ros2_control setups use). ``action``: control_msgs/action/GripperCommand on
    ``gripper_action`` with ``command.position = width / 2`` (m) and ``command.max_effort =
    gripper_max_effort_n``: gripper_action_controller reads position as its (one finger) joint's
    position, and franka_gripper's gripper_action server takes ``2 * position`` as the width; a
    goal is sent only when the command changes."""
    gripper_controller: str = "gripper_controller"
    """Name of the ros2_control gripper controller (topic or action prefix)."""
    gripper_action: str = ""
    """The GripperCommand action name; empty: ``/<gripper_controller>/gripper_cmd``
    (gripper_action_controller). A real Franka hand (franka_gripper): ``/panda_gripper/gripper_action``
    or as its launch file names it."""
    gripper_max_effort_n: float = 40.0
    """Grasp force limit sent with every GripperCommand goal (N)."""
    loop_rate_hz: float = 100.0
    """Steady-clock loop (Hz) that checks the watchdog and the e-stop (e-stop: hold the arm where
    it is commanded to be until a False arrives)."""
    watchdog_timeout_s: float = 0.2
    """Joint states or (pick_place) object poses older than this (host steady clock): hold."""
    joint_margin_rad: float = 0.05
    """Targets stay this far inside the URDF joint limits (rad)."""
    max_velocity_fraction: float = 0.5
    """Target change per control step at most this fraction of the velocity limit times the period."""
    max_lead_rad: float = 0.25
    """Targets stay within this distance of the measured joint positions (rad)."""
    workspace_min_m: tuple[float, float, float] = (0.15, -0.6, 0.012)
    """Lower corner of the box the TCP must stay in, base frame (m); z = 0 is the table top."""
    workspace_max_m: tuple[float, float, float] = (0.85, 0.6, 0.75)
    """Upper corner of the TCP workspace box, base frame (m)."""

    def check(self, source: str) -> list[ConfigError]:
        return _check(self, source)

    @property
    def finger_joint_names(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.finger_joints.split(",") if n.strip())

    @property
    def urdf_path(self) -> Path:
        return Path(self.urdf) if self.urdf else default_urdf()

    @property
    def gripper_action_name(self) -> str:
        return self.gripper_action or f"/{self.gripper_controller.strip('/')}/gripper_cmd"


def default_urdf() -> Path:
    """The installed ``share/manip_policy/urdf/panda.urdf`` (ROS 2) or the source tree's."""
    try:
        from ament_index_python.packages import get_package_share_directory

        p = Path(get_package_share_directory("manip_policy")) / "urdf" / "panda.urdf"
        if p.is_file():
            return p
    except Exception:  # no ROS 2, or the package is not installed with colcon
        pass
    return SOURCE_URDF


def _check(params: ManipNodeParams, source: str) -> list[ConfigError]:
    errors: list[ConfigError] = []
    if params.command_interface not in COMMAND_INTERFACES:
        errors.append(
            ConfigError(
                source,
                "command_interface",
                f"expected one of {COMMAND_INTERFACES}, got {params.command_interface!r}",
            )
        )
    if params.gripper_interface not in GRIPPER_INTERFACES:
        errors.append(
            ConfigError(
                source,
                "gripper_interface",
                f"expected one of {GRIPPER_INTERFACES}, got {params.gripper_interface!r}",
            )
        )
    if len(params.finger_joint_names) != 2:
        errors.append(
            ConfigError(
                source, "finger_joints", f"expected two comma-separated names, got {params.finger_joints!r}"
            )
        )
    if not params.joint_margin_rad >= 0.0:
        errors.append(ConfigError(source, "joint_margin_rad", f"must be >= 0, got {params.joint_margin_rad}"))
    if not params.max_velocity_fraction <= 1.0:
        errors.append(
            ConfigError(source, "max_velocity_fraction", f"must be <= 1, got {params.max_velocity_fraction}")
        )
    for name in ("workspace_min_m", "workspace_max_m"):
        if not all(math.isfinite(v) for v in getattr(params, name)):
            errors.append(ConfigError(source, name, f"must be finite, got {getattr(params, name)}"))
    if not (math.isfinite(params.gripper_max_effort_n) and params.gripper_max_effort_n >= 0.0):
        errors.append(
            ConfigError(
                source, "gripper_max_effort_n", f"must be finite and >= 0, got {params.gripper_max_effort_n}"
            )
        )
    if any(lo >= hi for lo, hi in zip(params.workspace_min_m, params.workspace_max_m, strict=True)):
        errors.append(
            ConfigError(
                source,
                "workspace_max_m",
                f"{params.workspace_max_m} not above workspace_min_m {params.workspace_min_m}",
            )
        )
    for name in ("arm_controller", "gripper_controller", "base_frame", "tip_link"):
        if not getattr(params, name).strip("/"):
            errors.append(ConfigError(source, name, "must not be empty"))
    return errors


params_from_mapping, read_params_file = node_params.readers(ManipNodeParams, "manip_policy")
