"""A classical baseline: cascaded PD position control on CTBR, as a flight stack's position and
attitude loops would fly the same references.

Position loop: a_des = kp * (p_ref - p) + kd * (v_ref - v) + a_ref + g z; the collective
acceleration is a_des projected on the body z axis; the attitude loop turns the body z axis
towards a_des with body rates proportional to the tilt error (and damps yaw). Batched numpy,
ENU/FLU like everything else; it commands physical CTBR, no policy involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim2real_runtime.rotations import quat_to_matrix
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2


@dataclass(frozen=True)
class PDGains:
    kp_per_s2: float = 6.0
    """Position gain (m/s^2 per m)."""
    kd_per_s: float = 4.0
    """Velocity gain (m/s^2 per m/s)."""
    k_att_per_s: float = 8.0
    """Tilt error to body rate (rad/s per rad)."""
    k_yaw_per_s: float = 2.0
    """Heading error to yaw rate (rad/s per rad); the heading reference is 0 (east)."""


def pd_ctbr(
    position: np.ndarray,
    quat_wxyz: np.ndarray,
    velocity: np.ndarray,
    ref_position: np.ndarray,
    ref_velocity: np.ndarray,
    ref_accel: np.ndarray,
    gains: PDGains = PDGains(),
    max_tilt_rad: float = np.radians(35.0),
) -> np.ndarray:
    """CTBR commands [B, 4] (collective acceleration m/s^2, body rates rad/s FLU) for states [B, ...]."""
    rot = quat_to_matrix(np.asarray(quat_wxyz, dtype=np.float64))
    a = gains.kp_per_s2 * (ref_position - position) + gains.kd_per_s * (ref_velocity - velocity) + ref_accel
    a[:, 2] += STANDARD_GRAVITY_MPS2
    # Limit the tilt of the demanded acceleration.
    horiz = np.linalg.norm(a[:, :2], axis=1)
    cap = np.maximum(a[:, 2], 1.0) * np.tan(max_tilt_rad)
    a[:, :2] *= np.minimum(1.0, cap / np.maximum(horiz, 1e-9))[:, None]
    z_des = a / np.linalg.norm(a, axis=1, keepdims=True)
    z_body = rot[:, :, 2]
    accel = np.einsum("bi,bi->b", a, z_body)
    err_world = np.cross(z_body, z_des)  # rotation axis * sin(angle), world frame
    err_body = np.einsum("bji,bj->bi", rot, err_world)
    rates = gains.k_att_per_s * err_body
    yaw = np.arctan2(rot[:, 1, 0], rot[:, 0, 0])
    rates[:, 2] = -gains.k_yaw_per_s * yaw
    return np.concatenate([accel[:, None], rates], axis=1)
