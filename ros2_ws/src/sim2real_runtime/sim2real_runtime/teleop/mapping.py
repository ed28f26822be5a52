"""Each domain's teleop mapping: its teleop command (a twist) -> its policy's action space.

- nav (:class:`NavTeleop`): the body twist (vx, wz) inverts the ``diff_drive_twist`` action term's
  affine map, so the node runs it through the same term (acceleration limit), collision guard and
  safety filter as a policy action.
- manip (:class:`ManipTeleop`): the tool-centre-point twist becomes joint velocities by damped
  least squares on the runtime's kinematics (:class:`~sim2real_runtime.kinematics.SerialChain`),
  ``qd = J^T (J J^T + lambda^2 I)^-1 v``, then a joint delta per control period normalised by the
  action's ``max_delta_rad`` (scaled down as a whole when a joint would exceed it, so the tool keeps
  its direction); the gripper is the ``gripper_binary`` action (+1 close, -1 open). The node then
  integrates it through :class:`~sim2real_runtime.manip_control.ManipSafety`, as a policy action.
- quad (:class:`QuadTeleop`): the operator nudges the position reference (a velocity in world
  ENU, integrated over the control period); the policy keeps flying, so there is no action to
  replace (:meth:`to_action` returns None) and the recorded action is the policy's.

The dexterous hand has no teleop mapping yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..kinematics import SerialChain
from .command import TeleopCommand, TeleopConfig


class NavTeleop:
    """Body twist (vx m/s, wz rad/s) <-> the ``diff_drive_twist`` action [2].

    Args:
        action_term: the controller's :class:`~sim2real_runtime.nav_terms.DiffDriveTwistAction`.
        config: ``linear_scale_mps`` / ``angular_scale_radps`` (0: the action's largest forward
            speed and turn rate).
    """

    frame = "base_link body twist (vx m/s, wz rad/s)"

    def __init__(self, action_term: Any, config: TeleopConfig) -> None:
        self.term = action_term
        lin = config.linear_scale_mps or float(action_term.high[0])
        ang = config.angular_scale_radps or float(action_term.high[1])
        self.twist_scale = np.array([lin, 0.0, 0.0, 0.0, 0.0, ang])

    @classmethod
    def from_controller(cls, controller: Any, config: TeleopConfig) -> NavTeleop:
        """The mapping for a running :class:`~sim2real_runtime.nav_control.NavController`."""
        return cls(controller.action_term, config)

    def to_action(self, cmd: TeleopCommand, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        """float32 [2] in [-1, 1]: the action whose target is ``(vx, wz)`` clipped to the action's
        [low, high] (``action_term.target(a) == clip(twist)``)."""
        if cmd.action is not None:
            return cmd.action
        t = self.term
        v = np.array([cmd.twist[0], cmd.twist[5]])
        v = np.minimum(np.maximum(v, t.low), t.high)
        a = (v - t.offset) / np.where(t.scale > 0, t.scale, 1.0)
        return np.clip(a, -1.0, 1.0).astype(np.float32)


def dls_joint_velocity(jacobian: np.ndarray, twist: np.ndarray, damping: float) -> np.ndarray:
    """Damped least squares: joint velocities [n] for a tool twist [6] (m/s, rad/s, base frame),
    ``J^T (J J^T + damping^2 I)^-1 v`` with the geometric Jacobian [6, n]. Near a singularity the
    damping trades tracking for bounded joint speeds; far from one it is ``J^+ v`` up to O(damping^2)."""
    j = np.asarray(jacobian, dtype=np.float64)
    v = np.asarray(twist, dtype=np.float64)
    rows, cols = j.shape
    if cols < rows:  # the same solution through the smaller system: (J^T J + l^2 I)^-1 J^T v
        return np.linalg.solve(j.T @ j + damping**2 * np.eye(cols), j.T @ v)
    return j.T @ np.linalg.solve(j @ j.T + damping**2 * np.eye(rows), v)


class ManipTeleop:
    """Tool twist + gripper -> (joint delta action [n], gripper action [1]).

    Args:
        chain: the arm's kinematic chain (the contract's).
        max_delta_rad: float [n], the joint delta action's full scale per control step (rad).
        control_rate_hz: the policy rate (Hz): a joint velocity becomes ``qd / rate`` per step.
        config: ``linear_scale_mps`` (0: 0.1 m/s), ``angular_scale_radps`` (0: 0.5 rad/s).
        damping: lambda of the damped least squares (m; ~rad for the rotation rows).
    """

    frame = "tool-centre-point twist in the arm's base frame (m/s, rad/s)"
    DEFAULT_LINEAR_MPS = 0.1
    DEFAULT_ANGULAR_RADPS = 0.5

    def __init__(
        self,
        chain: SerialChain,
        max_delta_rad: np.ndarray,
        control_rate_hz: float,
        config: TeleopConfig,
        damping: float = 0.02,
    ) -> None:
        self.chain = chain
        self.max_delta_rad = np.asarray(max_delta_rad, dtype=np.float64)
        self.rate_hz = float(control_rate_hz)
        self.damping = float(damping)
        lin = config.linear_scale_mps or self.DEFAULT_LINEAR_MPS
        ang = config.angular_scale_radps or self.DEFAULT_ANGULAR_RADPS
        self.twist_scale = np.array([lin, lin, lin, ang, ang, ang])
        self.closed = False  # the gripper as last commanded (open until asked)
        self.controller: Any = None  # with one, the gripper as last commanded is read from it

    @classmethod
    def from_controller(cls, controller: Any, config: TeleopConfig) -> ManipTeleop:
        """The mapping for a running :class:`~sim2real_runtime.manip_control.ManipController`; the
        gripper state a toggle flips is the controller's last gripper action (policy or human)."""
        m = cls(
            controller.chain,
            np.asarray(controller.joint_term.spec.params["max_delta_rad"]),
            controller.control_rate_hz,
            config,
        )
        m.controller = controller
        return m

    def gripper_closed(self, cmd: TeleopCommand) -> bool:
        """The gripper ``cmd`` asks for: its ``gripper_closed``, else the last command flipped on
        ``gripper_toggle``, else the last command."""
        if self.controller is not None:
            n = len(self.chain.joints)
            self.closed = bool(self.controller.prev_action[0, n] > 0.0)
        if cmd.gripper_closed is not None:
            self.closed = bool(cmd.gripper_closed)
        elif cmd.gripper_toggle:
            self.closed = not self.closed
        return self.closed

    def joint_delta(self, q: np.ndarray, twist: np.ndarray) -> np.ndarray:
        """The joint position change [n] (rad) over one control period for the tool twist [6]
        at joint positions ``q`` [n], before normalisation."""
        jac = self.chain.jacobian(np.asarray(q, dtype=np.float64).reshape(1, -1))[0][0]
        return dls_joint_velocity(jac, twist, self.damping) / self.rate_hz

    def to_action(self, cmd: TeleopCommand, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        """float32 [n + 1]: the joint delta normalised by ``max_delta_rad`` (all joints scaled by
        the same factor when one exceeds 1), then +1 (close) or -1 (open) (:meth:`gripper_closed`)."""
        closed = self.gripper_closed(cmd)
        if cmd.action is not None:
            return cmd.action
        q = np.asarray(signals["joint_pos"], dtype=np.float64).reshape(-1)
        a = self.joint_delta(q, cmd.twist) / self.max_delta_rad
        peak = float(np.max(np.abs(a))) if a.size else 0.0
        if peak > 1.0:
            a = a / peak
        return np.append(a, 1.0 if closed else -1.0).astype(np.float32)


class QuadTeleop:
    """Reference velocity (world ENU, m/s) -> a nudge of the position reference; no action.

    Args:
        config: ``linear_scale_mps`` (0: 0.5 m/s).
    """

    frame = "reference velocity in world ENU (m/s)"
    DEFAULT_LINEAR_MPS = 0.5

    def __init__(self, config: TeleopConfig) -> None:
        lin = config.linear_scale_mps or self.DEFAULT_LINEAR_MPS
        self.twist_scale = np.array([lin, lin, lin, 0.0, 0.0, 0.0])

    @classmethod
    def from_controller(cls, controller: Any, config: TeleopConfig) -> QuadTeleop:
        return cls(config)

    def to_action(self, cmd: TeleopCommand, signals: Mapping[str, np.ndarray]) -> None:
        """None: the operator moves the reference (:meth:`nudge`), the policy flies."""
        return None

    @staticmethod
    def nudge(reference_m: np.ndarray, cmd: TeleopCommand, dt_s: float) -> np.ndarray:
        """The reference point [3] (m) moved by the command's velocity for ``dt_s`` seconds."""
        return np.asarray(reference_m, dtype=np.float64) + cmd.twist[:3] * dt_s
