"""The observation and action terms of a hand policy (training and the draft contract alike)."""

from __future__ import annotations

from sim2real_runtime.hand_model import HandDescription
from sim2real_runtime.hand_terms import (
    JointOffsetAction,
    JointTargetError,
    ObjectOrientation,
    ObjectPosition,
    OrientationError,
)
from sim2real_runtime.manip_terms import JointDeltaAction, JointPosition
from sim2real_runtime.terms import PreviousAction, TermSpec

from .config import HOME_POSE_RAD, HandTaskConfig

JOINTS = "/joint_states (sensor_msgs/msg/JointState, by name; simulation zero)"
CUBE = "/cube_pose (geometry_msgs/msg/PoseStamped, palm frame)"
GOAL = "/goal_pose (geometry_msgs/msg/PoseStamped orientation, palm frame)"
CUBE_CENTER_M = (-0.050, -0.032, -0.067)
"""Where the cube's centre rests in the palm frame (m): the palm face centre, one half size out."""


def task_specs(cfg: HandTaskConfig, hand: HandDescription) -> tuple[list[TermSpec], list[TermSpec]]:
    """(observation specs, action specs) of the ``rotate_z`` or ``reorient`` policy.

    rotate_z sees only the hand (joints, the targets' error, its previous action), as in the
    anchors, unless ``observe_cube``; reorient also sees the cube's pose in the palm frame and the
    rotation to the goal.
    """
    n = len(hand.joint_names)
    lower, upper = [float(v) for v in hand.lower], [float(v) for v in hand.upper]
    obs = [
        TermSpec(
            "joint_position",
            JointPosition.kind,
            n,
            "1",
            f"{JOINTS} position",
            {"lower": lower, "upper": upper},
        ),
        TermSpec(
            "joint_target_error",
            JointTargetError.kind,
            n,
            "1",
            f"last joint targets minus {JOINTS} position",
            {"scale_rad": cfg.target_error_scale_rad},
        ),
    ]
    if cfg.task == "reorient" or cfg.observe_cube:
        obs += [
            TermSpec(
                "cube_position",
                ObjectPosition.kind,
                3,
                "1",
                f"{CUBE} position",
                {"center_m": list(CUBE_CENTER_M), "scale_m": 0.03},
            ),
            TermSpec("cube_orientation", ObjectOrientation.kind, 6, "1", f"{CUBE} orientation", {}),
        ]
    if cfg.task == "reorient":
        obs.append(
            TermSpec("orientation_error", OrientationError.kind, 3, "1", f"{GOAL} relative to {CUBE}", {})
        )
    obs.append(TermSpec("previous_action", PreviousAction.kind, n, "1", "the previous output, clipped", {}))
    if cfg.action == "delta":
        act = TermSpec(
            "joint_delta",
            JointDeltaAction.kind,
            n,
            "rad",
            "joint target change per control step",
            {
                "max_delta_rad": [cfg.safety.max_speed_radps / cfg.control_rate_hz] * n,
                "joint_names": list(hand.joint_names),
            },
        )
    elif cfg.action == "offset":
        act = TermSpec(
            "joint_offset",
            JointOffsetAction.kind,
            n,
            "rad",
            "joint targets as offsets from the home pose",
            {
                "home_rad": list(HOME_POSE_RAD),
                "scale_rad": cfg.offset_scale_rad,
                "joint_names": list(hand.joint_names),
            },
        )
    else:
        raise ValueError(f"hand task action must be 'delta' or 'offset', not {cfg.action!r}")
    return obs, [act]
