"""Dexterous hand observation terms and the joint-offset action (the joint position term and the
joint-delta action are the arm's: :class:`~sim2real_runtime.manip_terms.JointPosition`,
:class:`~sim2real_runtime.manip_terms.JointDeltaAction`).

Signals (batched, leading dimension B) the terms read:

- ``joint_pos``: float [B, n], joint positions (rad), simulation order and zero (the contract's
  ``joint_names``; sensor_msgs/JointState matched by name).
- ``joint_target``: float [B, n], the joint position targets last sent (rad), same order.
- ``object_pos``: float [B, 3] (m) and ``object_quat`` [B, 4] (w, x, y, z): the cube's pose in the
  palm frame, as a perception node publishes it (geometry_msgs/PoseStamped, frame = palm link).
- ``goal_quat``: float [B, 4] (w, x, y, z): the goal orientation in the palm frame.
- ``prev_action``: float [B, n], the previous normalised action.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .rotations import quat_mul, quat_to_matrix
from .terms import ActionTerm, ObsTerm


def _unit(q: np.ndarray) -> np.ndarray:
    """Quaternions [B, 4] normalised; a zero or non-finite one becomes the identity."""
    q = np.asarray(q, dtype=np.float64)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    ok = np.isfinite(n) & (n > 1e-9)
    return np.where(ok, q / np.where(ok, n, 1.0), np.array([1.0, 0.0, 0.0, 0.0]))


def quat_error_vector(q_obj: np.ndarray, q_goal: np.ndarray) -> np.ndarray:
    """Axis times angle [B, 3] (rad, angle in [0, pi]) of the rotation taking each orientation
    [B, 4] to its goal [B, 4] (both w, x, y, z, same frame): ``q_goal * conj(q_obj)``."""
    a, b = _unit(q_goal), _unit(q_obj) * np.array([1.0, -1.0, -1.0, -1.0])
    q = quat_mul(a, b)
    q = np.where(q[..., :1] < 0, -q, q)  # the shorter way round
    v = q[..., 1:]
    s = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    # angle / s -> 2 as s -> 0 (small rotations: the vector part is half the rotation vector)
    return v * np.where(s > 1e-12, angle / np.where(s > 1e-12, s, 1.0), 2.0)


def orientation_error_rad(q_obj: np.ndarray, q_goal: np.ndarray) -> np.ndarray:
    """The angle [B] (rad, in [0, pi]) of the rotation from each orientation to its goal."""
    dot = np.abs(np.sum(_unit(q_obj) * _unit(q_goal), axis=-1))
    return 2.0 * np.arccos(np.clip(dot, 0.0, 1.0))


class JointTargetError(ObsTerm):
    """(target - measured position) over ``scale_rad``, clipped to [-1.5, 1.5]: float [B, n]. What a
    position servo is still chasing (a blocked finger shows a large error)."""

    kind = "joint_target_error"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        e = np.asarray(signals["joint_target"], dtype=np.float64) - np.asarray(signals["joint_pos"])
        e = np.nan_to_num(e) / float(self.spec.params["scale_rad"])
        return np.clip(e, -1.5, 1.5).astype(np.float32)


class ObjectPosition(ObsTerm):
    """The object's position in the palm frame minus ``center_m``, over ``scale_m``, clipped to
    [-1.5, 1.5]: float [B, 3]."""

    kind = "object_position"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        d = np.nan_to_num(np.asarray(signals["object_pos"], dtype=np.float64)) - np.asarray(
            self.spec.params["center_m"]
        )
        return np.clip(d / float(self.spec.params["scale_m"]), -1.5, 1.5).astype(np.float32)


class ObjectOrientation(ObsTerm):
    """The object's orientation in the palm frame as the first two columns of its rotation
    matrix (continuous, unlike a quaternion's sign): float [B, 6] in [-1, 1]."""

    kind = "object_orientation"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        r = quat_to_matrix(_unit(signals["object_quat"]))
        return np.concatenate([r[..., :, 0], r[..., :, 1]], axis=-1).astype(np.float32)


class OrientationError(ObsTerm):
    """The rotation from the object's orientation to the goal's, in the palm frame, as axis times
    angle over pi: float [B, 3] (norm in [0, 1])."""

    kind = "orientation_error"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        e = quat_error_vector(signals["object_quat"], signals["goal_quat"])
        return (e / np.pi).astype(np.float32)


class JointOffsetAction(ActionTerm):
    """Normalised action [B, n] in [-1, 1] -> joint position targets ``home_rad + a * scale_rad``
    (rad): an offset from a fixed home pose, MuJoCo Playground's LEAP hand action. A policy's
    Gaussian exploration then stays around the home pose instead of random-walking the targets
    away from the cube as integrated deltas do. The request is still a change of the targets,
    which the safety layer limits per step (``max_speed_radps / control_rate_hz``), to the joint
    limits and to the measured joints: the servos never see a jump.

    Params: ``home_rad`` [n] (rad), ``scale_rad`` (rad, every joint), ``joint_names`` [n].
    """

    kind = "joint_position_offset"

    def requested(self, action: np.ndarray) -> np.ndarray:
        """The target [B, n] (rad) the action asks for (non-finite entries count as 0: home)."""
        a = np.clip(np.nan_to_num(np.asarray(action, dtype=np.float64), nan=0.0), -1.0, 1.0)
        return np.asarray(self.spec.params["home_rad"]) + a * float(self.spec.params["scale_rad"])

    def target_change(self, action: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The requested change [B, n] (rad) of the current targets [B, n]."""
        return self.requested(action) - np.asarray(target, dtype=np.float64)

    def action_towards(self, next_target: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The normalised action [B, n] asking for ``next_target`` [B, n] (rad; clipped to what
        the offset can reach; ``target`` is unused)."""
        home = np.asarray(self.spec.params["home_rad"])
        return np.clip((np.asarray(next_target) - home) / float(self.spec.params["scale_rad"]), -1.0, 1.0)
