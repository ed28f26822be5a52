"""Conversions between ROS 2 messages and the runtime's arrays, for both transports.

Readers use field names only, so they take rclpy messages and :mod:`sim2real_ros.msgs` alike.
Builders take the message classes from :meth:`Transport.msg`. Frames follow REP-105: ``odom`` ->
``base_link``, odometry twist in the child (``base_link``) frame, the laser frame parallel to
``base_link``.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

import numpy as np

from sim2real_runtime.robot import LidarConfig

from .transport import fill_stamp


def yaw_of(q: Any) -> float:
    """Yaw (rad) of a quaternion with fields x, y, z, w (the rotation about z of a planar pose)."""
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def set_yaw(q: Any, yaw: float) -> None:
    """Write a pure rotation of ``yaw`` (rad) about z into quaternion ``q`` in place."""
    q.x, q.y, q.z, q.w = 0.0, 0.0, math.sin(0.5 * yaw), math.cos(0.5 * yaw)


def scan_ranges(msg: Any) -> np.ndarray:
    """``LaserScan.ranges`` as float32 [num_beams] (a copy-free view where the message allows)."""
    r = msg.ranges
    if isinstance(r, np.ndarray):
        return r.astype(np.float32, copy=False)
    try:  # rclpy gives array.array('f'): read its buffer directly
        return np.frombuffer(r, dtype=np.float32)
    except TypeError:
        return np.asarray(r, dtype=np.float32)


def scan_mismatch(msg: Any, lidar: LidarConfig, tol_rad: float = 1e-3) -> str | None:
    """Why a LaserScan does not fit the lidar the policy was trained with, or None if it does.

    Checks the beam count, the first beam's angle and the angular increment (what the observation's
    sector pooling depends on).
    """
    n = len(msg.ranges)
    if n != lidar.num_beams:
        return f"{n} beams, the robot's lidar has {lidar.num_beams}"
    if not math.isfinite(msg.angle_min) or abs(msg.angle_min - lidar.angle_min_rad) > tol_rad:
        return f"angle_min {msg.angle_min:.4f} rad, the robot's lidar starts at {lidar.angle_min_rad:.4f}"
    # Compare the whole sweep (increment x beams), where a small increment error adds up.
    inc = lidar.angle_increment_rad
    if not math.isfinite(msg.angle_increment) or abs(msg.angle_increment - inc) * n > tol_rad:
        return f"angle_increment {msg.angle_increment:.6f} rad, the robot's lidar has {inc:.6f}"
    return None


def odom_state(msg: Any) -> tuple[np.ndarray, np.ndarray]:
    """``nav_msgs/Odometry`` -> pose [3] (x, y (m), yaw (rad), odom frame) and twist [2] (forward
    speed (m/s), yaw rate (rad/s), base_link frame)."""
    p = msg.pose.pose
    t = msg.twist.twist
    pose = np.array([p.position.x, p.position.y, yaw_of(p.orientation)])
    twist = np.array([t.linear.x, t.angular.z])
    return pose, twist


def pose_in_frame(msg: Any, frame: str, what: str) -> tuple[np.ndarray, np.ndarray] | str:
    """A ``geometry_msgs/PoseStamped`` in ``frame`` -> (position [3] (m), unit quaternion [4]
    (w, x, y, z)), or why it is refused (another frame: nothing is transformed; non-finite; an
    orientation far from a unit quaternion). ``what`` names the pose in the reason."""
    got = msg.header.frame_id
    if got != frame:
        return f"{what} in frame '{got}', expected '{frame}' (the node transforms nothing)"
    pp, o = msg.pose.position, msg.pose.orientation
    pos = np.array([pp.x, pp.y, pp.z], dtype=np.float64)
    quat = np.array([o.w, o.x, o.y, o.z], dtype=np.float64)
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(quat))):
        return f"non-finite {what}"
    n = float(np.linalg.norm(quat))
    # a (near) zero quaternion has no orientation to normalise to
    if not n > 0.5:
        return f"{what} orientation is not a unit quaternion (norm {n:.3g})"
    return pos, quat / n


def fill_header(header: Any, t_s: float, frame_id: str) -> None:
    fill_stamp(header.stamp, t_s)
    header.frame_id = frame_id


def make_scan(
    cls: type, ranges_m: np.ndarray, t_s: float, lidar: LidarConfig, frame_id: str = "laser"
) -> Any:
    """A LaserScan of ``ranges_m`` [num_beams] (m; +inf = no return, as Gazebo publishes) at ``t_s``."""
    msg = cls()
    fill_header(msg.header, t_s, frame_id)
    msg.angle_min = lidar.angle_min_rad
    msg.angle_increment = lidar.angle_increment_rad
    msg.angle_max = lidar.angle_min_rad + (lidar.num_beams - 1) * lidar.angle_increment_rad
    msg.scan_time = 1.0 / lidar.rate_hz
    msg.time_increment = msg.scan_time / lidar.num_beams
    msg.range_min = lidar.range_min_m
    msg.range_max = lidar.range_max_m
    # array('f') is what rclpy's setter takes without a per-element check, and what the DDS
    # message's codec reads through the buffer protocol.
    msg.ranges = array("f", np.asarray(ranges_m, dtype=np.float32).tobytes())
    return msg


def make_odom(
    cls: type,
    pose: np.ndarray,
    twist: np.ndarray,
    t_s: float,
    frame_id: str = "odom",
    child_frame_id: str = "base_link",
) -> Any:
    """An Odometry message of pose [3] (x, y, yaw) and twist [2] (v, yaw rate) at ``t_s``."""
    msg = cls()
    fill_header(msg.header, t_s, frame_id)
    msg.child_frame_id = child_frame_id
    p = msg.pose.pose
    p.position.x, p.position.y, p.position.z = float(pose[0]), float(pose[1]), 0.0
    set_yaw(p.orientation, float(pose[2]))
    msg.twist.twist.linear.x = float(twist[0])
    msg.twist.twist.angular.z = float(twist[1])
    return msg


def twist_command(msg: Any) -> tuple[float, float]:
    """(v (m/s), yaw rate (rad/s)) of a Twist or TwistStamped."""
    t = msg.twist if hasattr(msg, "header") else msg
    return float(t.linear.x), float(t.angular.z)


def make_twist(
    cls: type, v_mps: float, w_radps: float, t_s: float | None = None, frame_id: str = "base_link"
) -> Any:
    """A Twist, or a TwistStamped when ``cls`` has a header (stamped at ``t_s``), of (v, w)."""
    msg = cls()
    t = msg
    if hasattr(msg, "header"):
        fill_header(msg.header, 0.0 if t_s is None else t_s, frame_id)
        t = msg.twist
    t.linear.x = float(v_mps)
    t.angular.z = float(w_radps)
    return msg
