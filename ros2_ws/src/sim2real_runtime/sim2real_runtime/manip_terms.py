"""Arm (manipulation) observation and action terms, in the arm's base frame (``panda_link0``).

Signals (batched, leading dimension B) the terms read:

- ``joint_pos``: float [B, n], arm joint positions (rad), in the contract's joint order
  (sensor_msgs/JointState matched by name).
- ``joint_vel``: float [B, n], arm joint velocities (rad/s).
- ``gripper_width``: float [B, 1], distance between the finger pads (m): the sum of the two
  finger joint positions.
- ``tcp_pos``: float [B, 3] and ``tcp_rot`` [B, 3, 3]: the tool centre point, computed from
  ``joint_pos`` by the contract's kinematic chain (:func:`with_tcp`), never measured separately.
- ``object_pos``: float [B, 3] (m) and ``object_quat`` [B, 4] (w, x, y, z): the object's pose as
  the perception node publishes it (geometry_msgs/PoseStamped in the base frame).
- ``target_pos``: float [B, 3] (m), and ``target_yaw`` [B, 1] (rad) for the reach task: the
  target pose (geometry_msgs/PoseStamped).
- ``prev_action``: float [B, n + 1], the previous normalised action.

The action is a delta on the joint position targets (rad per control step, what a ros2_control
position interface takes after integration) and a binary gripper command (close / open).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .kinematics import SerialChain
from .terms import ActionTerm, ObsTerm, PreviousAction, TermSpec

OBJECT_SYMMETRY = 4
"""A cube looks the same every quarter turn: yaw differences are reported modulo 90 deg."""


def with_tcp(signals: dict[str, np.ndarray], chain: SerialChain) -> dict[str, np.ndarray]:
    """``signals`` plus ``tcp_pos`` [B, 3] and ``tcp_rot`` [B, 3, 3] from ``joint_pos``: one FK
    per step, shared by all terms (and by the safety layer's workspace check)."""
    signals["tcp_pos"], signals["tcp_rot"] = chain.forward(signals["joint_pos"])
    return signals


def yaw_of_quat(q_wxyz: np.ndarray) -> np.ndarray:
    """Heading (rad) [B] of rotations given as quaternions [B, 4] (rotation of the body x axis
    projected on the base xy plane)."""
    w, x, y, z = (q_wxyz[:, i] for i in range(4))
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def tcp_yaw(tcp_rot: np.ndarray) -> np.ndarray:
    """Heading (rad) [B] of the tool x axis projected on the base xy plane (for a gripper pointing
    down, the fingers close along the axis 90 deg from it)."""
    return np.arctan2(tcp_rot[:, 1, 0], tcp_rot[:, 0, 0])


class JointPosition(ObsTerm):
    """Joint positions scaled to [-1, 1] over the joint limits: float [B, n] (1)."""

    kind = "joint_position"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        lo = np.asarray(self.spec.params["lower"])
        hi = np.asarray(self.spec.params["upper"])
        return (2.0 * (np.asarray(signals["joint_pos"]) - lo) / (hi - lo) - 1.0).astype(np.float32)


class JointVelocity(ObsTerm):
    """Joint velocities divided by the velocity limits, clipped to [-1.5, 1.5]: float [B, n]."""

    kind = "joint_velocity"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        v = np.asarray(signals["joint_vel"]) / np.asarray(self.spec.params["velocity_limits"])
        return np.clip(v, -1.5, 1.5).astype(np.float32)


class GripperWidth(ObsTerm):
    """Finger pad distance divided by the fully open width: float [B, 1] in [0, 1]."""

    kind = "gripper_width"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        return (np.asarray(signals["gripper_width"]) / float(self.spec.params["max_width_m"])).astype(
            np.float32
        )


class TcpPosition(ObsTerm):
    """The tool centre point in the base frame: float [B, 3] (m)."""

    kind = "tcp_position"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray(signals["tcp_pos"], dtype=np.float32)


class TcpAxes(ObsTerm):
    """The tool's z (approach) and y (closing) axes in the base frame: float [B, 6] (1)."""

    kind = "tcp_axes"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        rot = np.asarray(signals["tcp_rot"])
        return np.concatenate([rot[:, :, 2], rot[:, :, 1]], axis=1).astype(np.float32)


class RelativePosition(ObsTerm):
    """``signals[params.to] - signals[params.frm]`` in the base frame, each axis clipped to
    ``clip_m``: float [B, 3] (m). A second copy with a small clip gives the policy centimetre
    resolution near the goal after normalisation."""

    kind = "relative_position"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        d = np.asarray(signals[self.spec.params["to"]]) - np.asarray(signals[self.spec.params["frm"]])
        c = float(self.spec.params["clip_m"])
        return np.clip(d, -c, c).astype(np.float32)


class YawError(ObsTerm):
    """Yaw of ``params.of`` (the object's quaternion, or the reach target's yaw) relative to the
    gripper's, modulo ``2 pi / symmetry``, as (sin, cos) of ``symmetry`` times it: float [B, 2]."""

    kind = "yaw_error"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        of = self.spec.params["of"]
        yaw = yaw_of_quat(np.asarray(signals[of])) if of.endswith("quat") else np.asarray(signals[of])[:, 0]
        k = int(self.spec.params["symmetry"])
        d = k * (yaw - tcp_yaw(np.asarray(signals["tcp_rot"])))
        return np.stack([np.sin(d), np.cos(d)], axis=1).astype(np.float32)


class JointDeltaAction(ActionTerm):
    """Normalised action [B, n] in [-1, 1] -> joint position target change (rad) per control step.

    The target integrates: ``target = previous target + a * max_delta_rad``. Integration happens
    in :class:`~sim2real_runtime.manip_control.ManipSafety`, which also keeps it inside the limits.
    """

    kind = "joint_position_delta"

    def delta(self, action: np.ndarray) -> np.ndarray:
        a = np.clip(np.nan_to_num(np.asarray(action, dtype=np.float64), nan=0.0), -1.0, 1.0)
        return a * np.asarray(self.spec.params["max_delta_rad"])

    def target_change(self, action: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The requested target change [B, n] (rad) from the current targets [B, n] (unused
        here: a delta does not depend on them); the safety layer limits and integrates it."""
        return self.delta(action)

    def action_towards(self, next_target: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The normalised action [B, n] that moves ``target`` towards ``next_target`` (both
        [B, n], rad) as far as one step allows (a scripted expert's label)."""
        step = np.asarray(self.spec.params["max_delta_rad"])
        return np.clip((np.asarray(next_target) - np.asarray(target)) / step, -1.0, 1.0)


class GripperAction(ActionTerm):
    """Normalised action [B, 1]: > 0 closes (grasp), <= 0 opens; -> commanded width (m)."""

    kind = "gripper_binary"
    discrete = True

    def closed(self, action: np.ndarray) -> np.ndarray:
        return np.nan_to_num(np.asarray(action, dtype=np.float64)[:, 0], nan=-1.0) > 0.0

    def width_m(self, action: np.ndarray) -> np.ndarray:
        return np.where(self.closed(action), 0.0, float(self.spec.params["open_width_m"]))


def manip_specs(
    task: str,
    chain: SerialChain,
    max_delta_rad: tuple[float, ...],
    max_width_m: float,
    far_clip_m: float = 1.0,
    fine_clip_m: float = 0.05,
) -> tuple[list[TermSpec], list[TermSpec]]:
    """Observation and action specs of the ``reach`` or ``pick_place`` policy.

    ``max_delta_rad`` is the largest target change per control step for each joint (rad);
    ``far_clip_m`` / ``fine_clip_m`` clip the two copies of each relative position.
    """
    if task not in ("reach", "pick_place"):
        raise ValueError(f"unknown manipulation task {task!r}; known: reach, pick_place")
    n = len(chain.joints)
    js = "/joint_states (sensor_msgs/msg/JointState, by name)"
    obj = "/object_pose (geometry_msgs/msg/PoseStamped, base frame)"
    tgt = "/target_pose (geometry_msgs/msg/PoseStamped, base frame)"
    fk = f"forward kinematics of {js} positions (contract robot.kinematics)"
    lower, upper = [j.lower for j in chain.joints], [j.upper for j in chain.joints]
    obs = [
        TermSpec(
            "joint_position", JointPosition.kind, n, "1", f"{js} position", {"lower": lower, "upper": upper}
        ),
        TermSpec(
            "joint_velocity",
            JointVelocity.kind,
            n,
            "1",
            f"{js} velocity",
            {"velocity_limits": [j.velocity_limit for j in chain.joints]},
        ),
        TermSpec(
            "gripper_width",
            GripperWidth.kind,
            1,
            "1",
            f"{js} finger positions, summed",
            {"max_width_m": max_width_m},
        ),
        TermSpec("tcp_position", TcpPosition.kind, 3, "m", fk, {}),
        TermSpec("tcp_axes", TcpAxes.kind, 6, "1", fk, {"layout": "tool z axis, tool y axis"}),
    ]
    rel = []
    if task == "reach":
        rel.append(("target_minus_tcp", "tcp_pos", "target_pos", f"{tgt} minus {fk}"))
    else:
        rel.append(("object_minus_tcp", "tcp_pos", "object_pos", f"{obj} minus {fk}"))
        rel.append(("target_minus_object", "object_pos", "target_pos", f"{tgt} minus {obj}"))
    for name, frm, to, src in rel:
        obs.append(
            TermSpec(name, RelativePosition.kind, 3, "m", src, {"frm": frm, "to": to, "clip_m": far_clip_m})
        )
        obs.append(
            TermSpec(
                f"{name}_fine",
                RelativePosition.kind,
                3,
                "m",
                src,
                {"frm": frm, "to": to, "clip_m": fine_clip_m},
            )
        )
    if task == "reach":
        obs.append(
            TermSpec(
                "target_yaw_error",
                YawError.kind,
                2,
                "1",
                f"{tgt} orientation yaw",
                {"of": "target_yaw", "symmetry": 1},
            )
        )
    else:
        obs.append(
            TermSpec(
                "object_yaw_error",
                YawError.kind,
                2,
                "1",
                f"{obj} orientation yaw",
                {"of": "object_quat", "symmetry": OBJECT_SYMMETRY},
            )
        )
    obs.append(
        TermSpec("previous_action", PreviousAction.kind, n + 1, "1", "the previous output, clipped", {})
    )
    action = [
        TermSpec("joint_delta", JointDeltaAction.kind, n, "rad", "joint target change per control step",
                 {"max_delta_rad": list(max_delta_rad), "joint_names": list(chain.joint_names)}),
        TermSpec("gripper", GripperAction.kind, 1, "1", "close (> 0) or open (<= 0) the gripper",
                 {"open_width_m": max_width_m}),
    ]  # fmt: skip
    return obs, action
