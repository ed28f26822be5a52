"""Manipulation: a serial arm with a parallel gripper, described by its URDF (a kinematic chain)."""

from __future__ import annotations

from pathlib import Path

from .. import manip_terms
from ..errors import ConfigError
from ..kinematics import SerialChain
from ..manip_control import ManipController, ManipSafety, check_manip_compatible
from ..terms import PreviousAction
from . import Domain, register_domain


def urdf_file(path: str | Path) -> Path:
    """The arm's URDF (a path)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), "<file>", "no such URDF file")
    return p


def load_chain(
    path: str | Path, base_link: str = "panda_link0", tip_link: str = "panda_hand_tcp"
) -> SerialChain:
    """The kinematic chain from ``base_link`` to ``tip_link`` of a URDF."""
    return SerialChain.from_urdf(urdf_file(path), base_link, tip_link)


DOMAIN = register_domain(
    Domain(
        name="manip",
        title="manipulation: 7-DoF arm + parallel gripper over ros2_control",
        description_kind="kinematic chain (URDF, base link to tool centre point)",
        description_file=urdf_file,
        load_description=load_chain,
        observation_kinds=(
            manip_terms.JointPosition.kind,
            manip_terms.JointVelocity.kind,
            manip_terms.GripperWidth.kind,
            manip_terms.TcpPosition.kind,
            manip_terms.TcpAxes.kind,
            manip_terms.RelativePosition.kind,
            manip_terms.YawError.kind,
            PreviousAction.kind,
        ),
        action_kinds=(manip_terms.JointDeltaAction.kind, manip_terms.GripperAction.kind),
        check_compatible=check_manip_compatible,
        safety=ManipSafety,
        controller=ManipController,
        aliases=("manipulation",),
    )
)
