"""Navigation: a differential-drive base with a 2-D lidar (``sim_assets/<robot>/robot.yaml``)."""

from __future__ import annotations

from pathlib import Path

from .. import nav_terms
from ..config_files import asset_file
from ..nav_control import NavController, check_nav_compatible
from ..robot import load_robot
from ..safety import SafetyFilter
from ..terms import PreviousAction
from . import Domain, register_domain


def robot_file(name_or_path: str | Path) -> Path:
    """A robot name (``sim_assets/<name>/robot.yaml``) or a YAML path -> the file."""
    return asset_file(name_or_path, "robot.yaml", "robot")


DOMAIN = register_domain(
    Domain(
        name="nav",
        title="navigation: differential-drive base + 2-D lidar",
        description_kind="diff-drive robot file (sim_assets/<robot>/robot.yaml)",
        description_file=robot_file,
        load_description=load_robot,
        observation_kinds=(
            nav_terms.LidarSectors.kind,
            nav_terms.GoalPolar.kind,
            nav_terms.BaseTwist.kind,
            PreviousAction.kind,
        ),
        action_kinds=(nav_terms.DiffDriveTwistAction.kind,),
        check_compatible=check_nav_compatible,
        safety=SafetyFilter,
        controller=NavController,
        aliases=("navigation",),
    )
)
