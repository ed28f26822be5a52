"""The hand_policy node's parameters: one frozen dataclass, read from ROS 2 parameters or a
``--params-file`` YAML in the ROS 2 format (``hand_policy: {ros__parameters: {...}}``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from sim2real_ros import node_params
from sim2real_runtime.errors import ConfigError

COMMAND_INTERFACES = ("leap", "forward")
SOURCE_HAND = Path(__file__).resolve().parents[4] / "sim_assets" / "leap_hand" / "hand.yaml"
"""The LEAP Hand's description in a source checkout (an installed package has it in its share)."""


@dataclass(frozen=True)
class HandNodeParams(node_params.NodeParams):
    """Parameters of the hand_policy node (ROS 2 parameter names are the field names); the common
    ones are :class:`sim2real_ros.node_params.NodeParams`'. ``loop_rate_hz`` checks the watchdog
    and the e-stop; the policy runs inside it at the contract's rate on the node clock."""

    POSITIVE = ("watchdog_timeout_s", "max_speed_radps", "max_lead_rad", "joint_limit_tolerance_rad")
    hand: str = ""
    """The hand file (``hand.yaml``: its URDF, fingertip chains, the driver's joint order and
    zero); must match the contract's joints, order, limits and driver mapping. Empty:
    ``share/hand_policy/hand/leap_hand/hand.yaml`` when installed, else the source tree's."""
    palm_frame: str = "palm"
    """The frame of the cube pose and the goal (the palm link); other frames are refused."""
    joint_states_topic: str = "/joint_states"
    """sensor_msgs/JointState in the simulation's zero, matched by name (other joints ignored):
    from ros2_control's joint_state_broadcaster, the sim bridge, or the LEAP adapter
    (hardware/leap_hand), which converts the driver's order and zero."""
    cube_pose_topic: str = "/cube_pose"
    """geometry_msgs/PoseStamped of the cube in ``palm_frame`` (perception); read only by policies
    that observe the cube (reorient)."""
    goal_topic: str = "/goal_pose"
    """geometry_msgs/PoseStamped whose orientation is the goal, in ``palm_frame`` (reorient)."""
    state_topic: str = "/hand_policy/state"
    command_interface: str = "leap"
    """``leap``: sensor_msgs/JointState on ``leap_command_topic`` with the 16 positions in the
    LEAP driver's order and zero (its ``cmd_leap``). ``forward``: std_msgs/Float64MultiArray on
    ``/<controller>/commands`` in the contract's joint order and zero (a ros2_control forward
    position controller, e.g. an Allegro-class hand; its ``joints`` must list that order)."""
    leap_command_topic: str = "/cmd_leap"
    controller: str = "hand_controller"
    """Name of the ros2_control position controller (``forward``)."""
    loop_rate_hz: float = 100.0
    watchdog_timeout_s: float = 0.25
    """Joint states (and the cube pose, when observed) older than this: hold."""
    joint_margin_rad: float = 0.02
    max_speed_radps: float = 4.0
    """Largest target speed (rad/s): the per-step change limit is this over the policy rate; must
    not exceed the contract's."""
    max_lead_rad: float = 0.6
    """Current-safe mode: targets within this of the measured joints (rad)."""
    current_safe: bool = True
    joint_limit_tolerance_rad: float = 0.3
    """A measured joint further than this outside its limits is refused (e.g. the driver's zero,
    pi away, sent where the simulation's is expected)."""

    def check(self, source: str) -> list[ConfigError]:
        errors: list[ConfigError] = []
        if self.command_interface not in COMMAND_INTERFACES:
            errors.append(
                ConfigError(
                    source,
                    "command_interface",
                    f"expected one of {COMMAND_INTERFACES}, got {self.command_interface!r}",
                )
            )
        if not (math.isfinite(self.joint_margin_rad) and self.joint_margin_rad >= 0):
            errors.append(
                ConfigError(source, "joint_margin_rad", f"must be >= 0, got {self.joint_margin_rad}")
            )
        for name in ("palm_frame", "controller", "leap_command_topic"):
            if not getattr(self, name).strip("/"):
                errors.append(ConfigError(source, name, "must not be empty"))
        return errors

    @property
    def hand_path(self) -> Path:
        return Path(self.hand) if self.hand else default_hand()


def default_hand() -> Path:
    """The installed ``share/hand_policy/hand/leap_hand/hand.yaml`` (ROS 2) or the source tree's."""
    try:
        from ament_index_python.packages import get_package_share_directory

        p = Path(get_package_share_directory("hand_policy")) / "hand" / "leap_hand" / "hand.yaml"
        if p.is_file():
            return p
    except Exception:  # no ROS 2, or not installed with colcon
        pass
    return SOURCE_HAND


params_from_mapping, read_params_file = node_params.readers(HandNodeParams, "hand_policy")
