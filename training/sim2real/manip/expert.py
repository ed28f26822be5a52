"""A scripted expert for reach and pick-and-place: the teacher the policy imitates (DAgger).

Privileged (it reads the simulator's true cube pose and size) and stateless (its action depends
only on the current state), so it can label any state the learner visits. Batched over B worlds.

It steers the tool centre point with resolved-rate control: a Cartesian velocity toward a waypoint
and an angular velocity toward "pointing down, fingers across the cube" become joint velocities
through the damped least-squares inverse of the geometric Jacobian, with a null-space pull toward
the ready posture. The goal is a continuous function of the state (DAgger regresses on it, and
labels that jump between neighbouring states average away): the tool descends onto the cube down
a funnel whose allowed height grows with the misalignment, closes when it is there, lifts, moves
sideways as the lift completes, and lowers the cube onto the target as it nears.

The output is the policy's normalised action: joint deltas / max_delta_rad, clipped to [-1, 1],
and the gripper (+1 close, -1 open).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim2real_runtime.kinematics import SerialChain
from sim2real_runtime.manip_terms import tcp_yaw, yaw_of_quat

from .config import READY_POSE_RAD


@dataclass(frozen=True)
class ExpertGains:
    position_gain_per_s: float = 6.0
    """Cartesian velocity per metre of error (1/s)."""
    max_speed_mps: float = 0.5
    orientation_gain_per_s: float = 5.0
    damping: float = 0.05
    """Damped least squares: lambda (m) of (J J^T + lambda^2 I)^-1."""
    posture_gain_per_s: float = 0.5
    hover_m: float = 0.08
    """Height above the cube centre the tool approaches from (m)."""
    funnel_slope: float = 3.0
    """Allowed height above the cube centre per metre of horizontal misalignment (1)."""
    carry_height_m: float = 0.12
    """Lowest cube height while carrying it sideways (m)."""
    align_xy_m: float = 0.012
    align_yaw_rad: float = 0.15
    grasp_z_m: float = 0.01
    """Tool within this height of the cube centre (and aligned) -> close (m)."""


def _wrap(a: np.ndarray, period: float) -> np.ndarray:
    return (a + period / 2) % period - period / 2


def _rotation_error(rot: np.ndarray, desired_yaw: np.ndarray) -> np.ndarray:
    """Angular velocity direction [B, 3] (axis * angle) from the tool rotation [B, 3, 3] to
    "z down, x at ``desired_yaw``"."""
    c, s = np.cos(desired_yaw), np.sin(desired_yaw)
    des = np.zeros_like(rot)
    des[:, 0, 0], des[:, 1, 0] = c, s  # x axis
    des[:, 0, 1], des[:, 1, 1] = s, -c  # y = z x x with z = (0, 0, -1)
    des[:, 2, 2] = -1.0
    # error rotation R_e = R_des R^T; its axis-angle from the skew part (small-angle safe enough)
    r_e = des @ np.transpose(rot, (0, 2, 1))
    w = 0.5 * np.stack(
        [r_e[:, 2, 1] - r_e[:, 1, 2], r_e[:, 0, 2] - r_e[:, 2, 0], r_e[:, 1, 0] - r_e[:, 0, 1]], axis=1
    )
    # near 180 deg the skew part vanishes: push around x to get out
    flipped = np.trace(r_e, axis1=1, axis2=2) < -0.5
    w[flipped] += np.array([1.0, 0.0, 0.0])
    return w


class ScriptedExpert:
    """The teacher. ``max_delta_rad`` [n] scales joint deltas to the normalised action."""

    def __init__(
        self,
        chain: SerialChain,
        max_delta_rad: np.ndarray,
        control_rate_hz: float,
        gains: ExpertGains | None = None,
    ) -> None:
        self.chain = chain
        self.max_delta = np.asarray(max_delta_rad)
        self.dt = 1.0 / control_rate_hz
        self.g = gains or ExpertGains()
        self.ready = np.asarray(READY_POSE_RAD)

    def twist(self, goal: np.ndarray, yaw: np.ndarray, kin: tuple[np.ndarray, ...]) -> np.ndarray:
        """The TCP twist [B, 6] (m/s, rad/s; linear then angular, base frame) toward the TCP
        ``goal`` [B, 3] and tool yaw [B] (rad): what an operator's 6-DoF input commands."""
        g = self.g
        _, pos, rot = kin
        v = g.position_gain_per_s * (goal - pos)
        speed = np.linalg.norm(v, axis=1, keepdims=True)
        v = v * np.minimum(1.0, g.max_speed_mps / np.maximum(speed, 1e-9))
        w = g.orientation_gain_per_s * _rotation_error(rot, yaw)
        return np.concatenate([v, w], axis=1)

    def _joint_action(
        self, q: np.ndarray, goal: np.ndarray, yaw: np.ndarray, kin: tuple[np.ndarray, ...]
    ) -> np.ndarray:
        """Normalised joint actions [B, n] toward the TCP ``goal`` and tool yaw; ``kin`` is
        ``chain.jacobian(q)`` (Jacobian, TCP position and rotation), computed once by the caller."""
        return self.joint_action_of_twist(q, self.twist(goal, yaw, kin), kin)

    def joint_action_of_twist(
        self, q: np.ndarray, twist: np.ndarray, kin: tuple[np.ndarray, ...]
    ) -> np.ndarray:
        """Normalised joint actions [B, n] realising the TCP ``twist`` [B, 6] at joints ``q`` [B, n]
        (damped least squares, null-space pull toward the ready posture), clipped to [-1, 1]."""
        g = self.g
        jac = kin[0]
        jjt = jac @ np.transpose(jac, (0, 2, 1)) + g.damping**2 * np.eye(6)
        pinv = np.transpose(jac, (0, 2, 1)) @ np.linalg.inv(jjt)  # [B, n, 6]
        qd = np.einsum("bij,bj->bi", pinv, twist)
        null = np.eye(q.shape[1]) - pinv @ jac
        qd += np.einsum("bij,bj->bi", null, g.posture_gain_per_s * (self.ready - q))
        return np.clip(qd * self.dt / self.max_delta, -1.0, 1.0)

    def reach(self, q: np.ndarray, target_pos: np.ndarray, target_yaw: np.ndarray) -> np.ndarray:
        """Actions [B, n + 1] moving the TCP to ``target_pos`` [B, 3] with tool x at ``target_yaw``
        [B] (rad), gripper open."""
        a = self._joint_action(q, target_pos, target_yaw, self.chain.jacobian(q))
        return np.concatenate([a, -np.ones((q.shape[0], 1))], axis=1)

    def pick_place(
        self,
        q: np.ndarray,
        width: np.ndarray,
        obj_pos: np.ndarray,
        obj_quat: np.ndarray,
        half_size: np.ndarray,
        target: np.ndarray,
    ) -> np.ndarray:
        """Actions [B, n + 1]. ``width`` [B] finger pad distance (m), object pose [B, 3] + [B, 4]
        (w, x, y, z), ``half_size`` [B] half the cube edge (m), ``target`` [B, 3] (m)."""
        kin = self.chain.jacobian(q)
        goal, yaw, close = self.pick_place_goal(kin, width, obj_pos, obj_quat, half_size, target)
        a = self._joint_action(q, goal, yaw, kin)
        return np.concatenate([a, np.where(close, 1.0, -1.0)[:, None]], axis=1)

    def pick_place_goal(
        self,
        kin: tuple[np.ndarray, ...],
        width: np.ndarray,
        obj_pos: np.ndarray,
        obj_quat: np.ndarray,
        half_size: np.ndarray,
        target: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The TCP goal [B, 3] (m), tool yaw [B] (rad) and whether to close the gripper (bool [B])
        of :meth:`pick_place`; ``kin`` is ``chain.jacobian(q)``."""
        g = self.g
        _, pos, rot = kin
        rel = obj_pos - pos
        horiz = np.linalg.norm(rel[:, :2], axis=1)
        # Fingers across the cube: tool x along a cube face, the quarter turn nearest the tool's.
        hand = tcp_yaw(rot)
        yaw = hand + _wrap(yaw_of_quat(obj_quat) - hand, np.pi / 2)
        yaw_err = np.abs(_wrap(yaw - hand, 2 * np.pi))
        # Holding: fingers stopped by the cube, the cube between the pads.
        holding = (
            (width > 2 * half_size - 0.012)
            & (width < 2 * half_size + 0.004)
            & (np.linalg.norm(rel, axis=1) < 0.025)
        )
        aligned = (horiz < g.align_xy_m) & (yaw_err < g.align_yaw_rad)
        at_grasp = aligned & (np.abs(rel[:, 2]) < g.grasp_z_m)

        # Approach down a funnel: the tool may be lower over the cube the better it is aligned,
        # so the label is a continuous function of the state (phase switches would make the
        # learner's targets jump between nearby states).
        misalign = np.maximum(horiz - 0.004, 0.0) + 0.05 * np.maximum(yaw_err - 0.05, 0.0)
        height = np.minimum(g.hover_m, g.funnel_slope * misalign)
        goal = obj_pos + height[:, None] * np.array([0.0, 0.0, 1.0])
        # Carrying: lift, cross at carry height, lower onto the target (continuous in the state:
        # sideways motion fades in over the first 4 cm of lift, descent as the target nears).
        dxy = np.linalg.norm(target[:, :2] - obj_pos[:, :2], axis=1)
        lift_frac = np.clip((obj_pos[:, 2] - half_size - 0.01) / 0.04, 0.0, 1.0)
        carry = np.maximum(g.carry_height_m - target[:, 2], 0.0)
        cube_goal = np.concatenate(
            [obj_pos[:, :2] + lift_frac[:, None] * (target[:, :2] - obj_pos[:, :2]),
             (target[:, 2] + np.minimum(carry, 3.0 * dxy))[:, None]], axis=1
        )  # fmt: skip
        goal = np.where(holding[:, None], pos + (cube_goal - obj_pos), goal)
        yaw = np.where(holding, hand, yaw)  # keep the grasp's yaw while carrying

        # Keep closing once started while the cube stays between the pads (stateless hysteresis:
        # the open width itself says whether closing has begun); open again after a miss.
        between = np.linalg.norm(rel, axis=1) < 0.02
        missed = width < 2 * half_size - 0.012
        closing = between & (width < 0.075) & ~missed
        return goal, yaw, holding | at_grasp | closing
