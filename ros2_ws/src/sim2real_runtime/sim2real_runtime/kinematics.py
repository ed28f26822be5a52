"""Forward kinematics and geometric Jacobians of a serial arm, batched, in numpy.

The arm's node computes its end-effector terms from ``/joint_states`` with the same code the
training environment uses, so the chain comes from the robot's URDF (parsed with the standard
library: no ROS, no MuJoCo, no urdfdom on the robot) and travels inside the policy contract as
plain numbers (:meth:`SerialChain.to_dict`).

Conventions: positions in metres in the chain's base link frame; rotations as 3x3 matrices
(columns are the tool frame's axes in the base frame); joint values in rad (revolute) or m
(prismatic). Shapes carry a leading batch dimension B.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config_files import build_config, read_fields
from .errors import ConfigError

_SIGNED = ("origin_xyz_m", "origin_rpy_rad", "axis", "lower", "upper", "tool_xyz_m", "tool_rpy_rad")
"""Chain fields that may be negative (the others are limits: velocity > 0, effort >= 0)."""


def rpy_to_matrix(rpy: Sequence[float]) -> np.ndarray:
    """URDF roll-pitch-yaw (fixed axes x, y, z; R = Rz(yaw) Ry(pitch) Rx(roll)) -> 3x3."""
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


@dataclass(frozen=True)
class ChainJoint:
    """One moving joint and the fixed transform that precedes it (URDF ``<joint>``)."""

    name: str
    origin_xyz_m: tuple[float, float, float]
    origin_rpy_rad: tuple[float, float, float]
    axis: tuple[float, float, float]
    lower: float
    """Position limit (rad or m)."""
    upper: float
    velocity_limit: float
    """rad/s or m/s."""
    effort_limit: float
    """N m or N."""
    prismatic: bool = False


@dataclass(frozen=True)
class SerialChain:
    """Base link -> moving joints -> a fixed tool transform (the tool centre point)."""

    base_link: str
    tip_link: str
    joints: tuple[ChainJoint, ...]
    tool_xyz_m: tuple[float, float, float]
    tool_rpy_rad: tuple[float, float, float]

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def lower(self) -> np.ndarray:
        return np.array([j.lower for j in self.joints])

    @property
    def upper(self) -> np.ndarray:
        return np.array([j.upper for j in self.joints])

    @property
    def velocity_limits(self) -> np.ndarray:
        return np.array([j.velocity_limit for j in self.joints])

    def _frames(self, q: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
        """Joint origins [B,3] and axes [B,3] in the base frame, and the tool pose."""
        q = np.asarray(q, dtype=np.float64)
        b = q.shape[0]
        rot = np.broadcast_to(np.eye(3), (b, 3, 3)).copy()
        pos = np.zeros((b, 3))
        origins, axes = [], []
        for i, j in enumerate(self.joints):
            pos = pos + rot @ np.asarray(j.origin_xyz_m)
            rot = rot @ rpy_to_matrix(j.origin_rpy_rad)
            axis = rot @ np.asarray(j.axis, dtype=np.float64)
            origins.append(pos)
            axes.append(axis)
            if j.prismatic:
                pos = pos + axis * q[:, i : i + 1]
            else:
                rot = rot @ _axis_angle(np.asarray(j.axis, dtype=np.float64), q[:, i])
        pos = pos + rot @ np.asarray(self.tool_xyz_m)
        rot = rot @ rpy_to_matrix(self.tool_rpy_rad)
        return origins, axes, pos, rot

    def forward(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tool position [B,3] (m) and rotation [B,3,3] for joint values q [B,n]."""
        _, _, pos, rot = self._frames(q)
        return pos, rot

    def jacobian(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Geometric Jacobian [B,6,n] of the tool (rows: linear m/unit, then angular rad/unit,
        both in the base frame), with the tool position [B,3] and rotation [B,3,3]."""
        origins, axes, pos, rot = self._frames(q)
        cols = []
        for j, o, a in zip(self.joints, origins, axes, strict=True):
            if j.prismatic:
                cols.append(np.concatenate([a, np.zeros_like(a)], axis=1))
            else:
                cols.append(np.concatenate([np.cross(a, pos - o), a], axis=1))
        return np.stack(cols, axis=2), pos, rot

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_link": self.base_link,
            "tip_link": self.tip_link,
            "joints": [
                {
                    "name": j.name,
                    "origin_xyz_m": list(j.origin_xyz_m),
                    "origin_rpy_rad": list(j.origin_rpy_rad),
                    "axis": list(j.axis),
                    "lower": j.lower,
                    "upper": j.upper,
                    "velocity_limit": j.velocity_limit,
                    "effort_limit": j.effort_limit,
                    "prismatic": j.prismatic,
                }
                for j in self.joints
            ],
            "tool_xyz_m": list(self.tool_xyz_m),
            "tool_rpy_rad": list(self.tool_rpy_rad),
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any], source: str = "<chain>", prefix: str = "kinematics") -> SerialChain:
        """The chain of :meth:`to_dict`, read strictly: every field required (``prismatic``
        defaults to false), unknown fields refused, numbers finite, each joint's ``lower`` <=
        ``upper``, ``velocity_limit`` > 0, ``effort_limit`` >= 0 and a non-zero ``axis``.

        Raises:
            ConfigError: naming ``source`` and the field, e.g. ``kinematics.joints[2].lower``.
        """
        top = read_fields(SerialChain, d, source, f"{prefix}.", signed=_SIGNED, skip=("joints",))
        if "joints" not in d:
            raise ConfigError(source, f"{prefix}.joints", "missing")
        joints = d["joints"]
        if not isinstance(joints, list) or not joints:
            raise ConfigError(
                source, f"{prefix}.joints", f"expected a non-empty list of joints, got {joints!r}"
            )
        out = []
        for i, j in enumerate(joints):
            where = f"{prefix}.joints[{i}]"
            joint = build_config(
                ChainJoint, j, source, f"{where}.", signed=_SIGNED, positive=("velocity_limit",)
            )
            if joint.lower > joint.upper:
                raise ConfigError(source, f"{where}.lower", f"{joint.lower} > upper {joint.upper}")
            if not any(joint.axis):
                raise ConfigError(source, f"{where}.axis", "the zero vector is no axis")
            out.append(joint)
        names = [j.name for j in out]
        if len(set(names)) != len(names):
            raise ConfigError(source, f"{prefix}.joints", f"a joint name appears twice: {names}")
        return SerialChain(joints=tuple(out), **top)

    @staticmethod
    def from_urdf(path: str | Path, base_link: str, tip_link: str) -> SerialChain:
        """The chain from ``base_link`` to ``tip_link``: moving joints become :class:`ChainJoint`,
        fixed joints are folded into the next joint's origin (or into the tool transform)."""
        path = Path(path)
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            raise ConfigError(str(path), "<root>", f"cannot read URDF: {exc}") from exc
        by_child: dict[str, ET.Element] = {}
        for je in root.iter("joint"):
            child = je.find("child")
            if child is not None:
                by_child[child.get("link", "")] = je
        path_joints: list[ET.Element] = []
        link = tip_link
        while link != base_link:
            je = by_child.get(link)
            if je is None:
                raise ConfigError(str(path), tip_link, f"no joint chain from {base_link!r} to {tip_link!r}")
            path_joints.append(je)
            link = je.find("parent").get("link", "")  # type: ignore[union-attr]
        path_joints.reverse()

        joints: list[ChainJoint] = []
        pending = np.eye(4)  # fixed transforms accumulated since the last moving joint
        for je in path_joints:
            o = je.find("origin")
            xyz = _floats(o.get("xyz", "0 0 0")) if o is not None else (0.0, 0.0, 0.0)
            rpy = _floats(o.get("rpy", "0 0 0")) if o is not None else (0.0, 0.0, 0.0)
            tf = np.eye(4)
            tf[:3, :3] = rpy_to_matrix(rpy)
            tf[:3, 3] = xyz
            tf = pending @ tf
            kind = je.get("type")
            if kind == "fixed":
                pending = tf
                continue
            if kind not in ("revolute", "continuous", "prismatic"):
                raise ConfigError(str(path), je.get("name", "?"), f"unsupported joint type {kind!r}")
            lim = je.find("limit")
            ax = je.find("axis")
            joints.append(
                ChainJoint(
                    name=je.get("name", ""),
                    origin_xyz_m=tuple(float(v) for v in tf[:3, 3]),  # type: ignore[arg-type]
                    origin_rpy_rad=_matrix_to_rpy(tf[:3, :3]),
                    axis=_floats(ax.get("xyz", "1 0 0")) if ax is not None else (1.0, 0.0, 0.0),
                    lower=float(lim.get("lower", -math.inf)) if lim is not None else -math.inf,
                    upper=float(lim.get("upper", math.inf)) if lim is not None else math.inf,
                    velocity_limit=float(lim.get("velocity", math.inf)) if lim is not None else math.inf,
                    effort_limit=float(lim.get("effort", math.inf)) if lim is not None else math.inf,
                    prismatic=kind == "prismatic",
                )
            )
            pending = np.eye(4)
        return SerialChain(
            base_link=base_link,
            tip_link=tip_link,
            joints=tuple(joints),
            tool_xyz_m=tuple(float(v) for v in pending[:3, 3]),  # type: ignore[arg-type]
            tool_rpy_rad=_matrix_to_rpy(pending[:3, :3]),
        )


def _floats(text: str) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in text.split())
    return a, b, c


def _matrix_to_rpy(r: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`rpy_to_matrix` (pitch in [-pi/2, pi/2])."""
    pitch = math.asin(max(-1.0, min(1.0, -r[2, 0])))
    if abs(r[2, 0]) < 1.0 - 1e-9:
        roll = math.atan2(r[2, 1], r[2, 2])
        yaw = math.atan2(r[1, 0], r[0, 0])
    else:  # gimbal lock: put everything in yaw
        roll = 0.0
        yaw = math.atan2(-r[0, 1], r[1, 1])
    return roll, pitch, yaw


def _axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotations [B,3,3] about a fixed unit axis by angles [B] (Rodrigues)."""
    x, y, z = axis / np.linalg.norm(axis)
    c, s = np.cos(angle), np.sin(angle)
    t = 1.0 - c
    out = np.empty((angle.shape[0], 3, 3))
    out[:, 0, 0] = t * x * x + c
    out[:, 0, 1] = t * x * y - s * z
    out[:, 0, 2] = t * x * z + s * y
    out[:, 1, 0] = t * x * y + s * z
    out[:, 1, 1] = t * y * y + c
    out[:, 1, 2] = t * y * z - s * x
    out[:, 2, 0] = t * x * z - s * y
    out[:, 2, 1] = t * y * z + s * x
    out[:, 2, 2] = t * z * z + c
    return out
