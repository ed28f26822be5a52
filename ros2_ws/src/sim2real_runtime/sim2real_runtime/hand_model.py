"""A dexterous hand as the runtime knows it: joint names in the simulation's order, limits, the
fingertip chains, and the mapping to the real driver's joint order and zero.

Read from ``sim_assets/<hand>/hand.yaml`` plus the URDF it names (:func:`load_hand`). The joint
order of the policy (the contract's ``joint_names``) is the order of the URDF's finger chains
(palm to each fingertip, in ``fingertip_links`` order). The driver's order (``hardware_joint_order``)
and zero (``hardware_zero_offset_rad``) are used only at the very edge: the node reads joints by
name and converts its command with :meth:`HandDescription.to_hardware`; nothing else ever sees
hardware numbers.

For the LEAP Hand the two orders differ in the first two joints of every long finger (the driver
numbers MCP side before MCP forward; the simulation's chains put MCP forward first), and the
driver's angles are the simulation's plus pi (LEAP_Hand_API ``LEAPsim_to_LEAPhand``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config_files import asset_file, read_fields, read_yaml
from .errors import ConfigError
from .kinematics import SerialChain


@dataclass(frozen=True)
class HandFile:
    """The fields of ``hand.yaml``."""

    name: str
    urdf: str
    """The URDF, relative to the hand file's folder (or absolute)."""
    palm_link: str
    fingertip_links: tuple[str, ...] = ()
    """One chain palm -> fingertip per finger; their joints, concatenated, are the sim order."""
    hardware_joint_order: tuple[str, ...] = ()
    """The driver's joint order: joint names by motor id."""
    hardware_zero_offset_rad: float = 0.0
    """Driver angle = simulation angle + this (rad)."""


@dataclass(frozen=True)
class HandDescription:
    """One hand: joints (simulation order), limits, fingertip chains, and the driver mapping.

    Arrays are float64 [n] in :attr:`joint_names` order (rad, rad/s)."""

    name: str
    urdf: Path
    palm_link: str
    fingers: tuple[SerialChain, ...]
    hardware_joint_order: tuple[str, ...]
    hardware_zero_offset_rad: float
    source: str = ""

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(n for c in self.fingers for n in c.joint_names)

    @property
    def lower(self) -> np.ndarray:
        return np.concatenate([c.lower for c in self.fingers])

    @property
    def upper(self) -> np.ndarray:
        return np.concatenate([c.upper for c in self.fingers])

    @property
    def velocity_limits(self) -> np.ndarray:
        return np.concatenate([c.velocity_limits for c in self.fingers])

    @property
    def hardware_index(self) -> np.ndarray:
        """int [n]: ``q_hw[k] = q_sim[hardware_index[k]] + offset``."""
        pos = {n: i for i, n in enumerate(self.joint_names)}
        return np.array([pos[n] for n in self.hardware_joint_order], dtype=int)

    def to_hardware(self, q_sim: np.ndarray) -> np.ndarray:
        """Simulation-order angles [..., n] (rad) -> the driver's order and zero [..., n]."""
        return np.asarray(q_sim, dtype=np.float64)[..., self.hardware_index] + self.hardware_zero_offset_rad

    def from_hardware(self, q_hw: np.ndarray) -> np.ndarray:
        """The driver's angles [..., n] (its order and zero) -> simulation order and zero."""
        q = np.empty_like(np.asarray(q_hw, dtype=np.float64))
        q[..., self.hardware_index] = np.asarray(q_hw, dtype=np.float64) - self.hardware_zero_offset_rad
        return q

    def fingertips(self, q_sim: np.ndarray) -> np.ndarray:
        """Fingertip positions [B, F, 3] (m, palm frame) of joint angles [B, n] (sim order)."""
        q = np.atleast_2d(np.asarray(q_sim, dtype=np.float64))
        out, i = [], 0
        for c in self.fingers:
            k = len(c.joints)
            out.append(c.forward(q[:, i : i + k])[0])
            i += k
        return np.stack(out, axis=1)

    def as_dict(self) -> dict[str, Any]:
        """What the contract records as ``robot.joints`` and ``robot.hardware``."""
        return {
            "joints": {
                "lower": [float(v) for v in self.lower],
                "upper": [float(v) for v in self.upper],
                "velocity_limit": [float(v) for v in self.velocity_limits],
            },
            "hardware": {
                "joint_order": list(self.hardware_joint_order),
                "zero_offset_rad": float(self.hardware_zero_offset_rad),
            },
        }


def hand_file(name_or_path: str | Path) -> Path:
    """A hand name (``sim_assets/<name>/hand.yaml``), a ``*.yaml`` path, or the hand's URDF (the
    ``hand.yaml`` beside it, as a contract's ``robot.urdf`` names it) -> the hand file."""
    p = Path(name_or_path)
    if p.suffix == ".urdf":
        if not (p.parent / "hand.yaml").is_file():
            raise ConfigError(str(p), "hand", "no hand.yaml beside this URDF")
        return p.parent / "hand.yaml"
    return asset_file(name_or_path, "hand.yaml", "hand")


def load_hand(name_or_path: str | Path = "leap_hand", **_: Any) -> HandDescription:
    """Read a hand file and its URDF; every error names the file and the field.

    Raises:
        ConfigError: a missing or unknown field, a URDF without a fingertip chain, or a hardware
            order that is not a permutation of the joints.
    """
    p = hand_file(name_or_path)
    src = str(p)
    data = read_yaml(p)
    kw = read_fields(HandFile, data, src, skip=("fingertip_links", "hardware_joint_order"))
    for key in ("fingertip_links", "hardware_joint_order"):
        v = data.get(key)
        if not isinstance(v, list) or not v or not all(isinstance(s, str) and s for s in v):
            raise ConfigError(src, key, "missing" if v is None else f"expected a list of names, got {v!r}")
        kw[key] = tuple(v)
    hf = HandFile(**kw)
    if not math.isfinite(hf.hardware_zero_offset_rad):
        raise ConfigError(src, "hardware_zero_offset_rad", "must be finite")
    urdf = Path(hf.urdf) if Path(hf.urdf).is_absolute() else p.parent / hf.urdf
    if not urdf.is_file():
        raise ConfigError(src, "urdf", f"no such file {urdf}")
    fingers = []
    for tip in hf.fingertip_links:
        try:
            fingers.append(SerialChain.from_urdf(urdf, hf.palm_link, tip))
        except Exception as exc:
            raise ConfigError(
                src, "fingertip_links", f"no chain {hf.palm_link} -> {tip} in {urdf}: {exc}"
            ) from exc
    hand = HandDescription(
        hf.name, urdf, hf.palm_link, tuple(fingers), hf.hardware_joint_order, hf.hardware_zero_offset_rad, src
    )
    names = hand.joint_names
    if sorted(hf.hardware_joint_order) != sorted(names):
        missing = sorted(set(names) - set(hf.hardware_joint_order)) or sorted(
            set(hf.hardware_joint_order) - set(names)
        )
        raise ConfigError(
            src, "hardware_joint_order", f"not a permutation of the URDF joints (check {missing})"
        )
    return hand


def with_joint_order(hand: HandDescription, order: tuple[str, ...]) -> HandDescription:
    """The same hand listed in another joint order (for tests of order mistakes): the chains are
    regrouped so that ``joint_names`` reads ``order`` (each finger's joints stay in one chain)."""
    return dataclasses.replace(hand, fingers=tuple(_reordered(c, order) for c in hand.fingers))


def _reordered(chain: SerialChain, order: tuple[str, ...]) -> SerialChain:
    mine = [n for n in order if n in chain.joint_names]
    by = {j.name: j for j in chain.joints}
    return dataclasses.replace(chain, joints=tuple(by[n] for n in mine))
