"""Navigation: a differential-drive base with a 2-D lidar (``sim_assets/<robot>/robot.yaml``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .. import nav_terms
from ..config_files import asset_file
from ..contract import require_number, require_numbers, robot_field_error
from ..errors import ConfigError
from ..nav_control import NavController, check_nav_compatible, twist_limit_violation
from ..robot import load_robot, robot_from_dict
from ..safety import SafetyFilter
from ..teleop.mapping import NavTeleop
from ..terms import PreviousAction
from . import Domain, register_domain


def robot_file(name_or_path: str | Path) -> Path:
    """A robot name (``sim_assets/<name>/robot.yaml``) or a YAML path -> the file."""
    return asset_file(name_or_path, "robot.yaml", "robot")


# Lidar term parameters that repeat the contract's robot.lidar (stored twice: must agree).
_LIDAR_REPEATS = ("num_beams", "fov_rad", "range_min_m", "range_max_m")


def validate_nav_contract(contract: Any, source: str) -> None:
    """The nav part of strict contract loading.

    ``robot`` is a robot file's content (``RobotConfig.as_dict()``), read by the robot file's own
    loader: every RobotConfig field required unless it has a default, unknown fields refused, the
    same ranges (mass > 0...). Values stored twice agree: a ``lidar_sectors`` term's beam count,
    field of view and range limits are the robot's lidar's, its clip lies in (range_min, range_max];
    the twist action's ``low`` / ``high`` / ``accel`` are 2 numbers inside the robot's own speed and
    acceleration limits; its optional ``collision_guard`` and ``dwa_fallback`` are booleans.
    """
    try:
        robot = robot_from_dict(dict(contract.robot), source)
    except ConfigError as exc:
        raise robot_field_error(exc, source) from exc
    lidar = robot.as_dict()["lidar"]
    for i, spec in enumerate(contract.observation):
        where = f"observation.terms[{i}].params"
        if spec.kind == nav_terms.LidarSectors.kind:
            for key in _LIDAR_REPEATS:
                value = require_number(spec.params, key, source, where)
                if not math.isclose(value, lidar[key], rel_tol=1e-9, abs_tol=1e-9):
                    raise ConfigError(source, f"{where}.{key}", f"{value} != robot.lidar.{key} {lidar[key]}")
            clip = require_number(spec.params, "range_clip_m", source, where, positive=True)
            if not lidar["range_min_m"] < clip <= lidar["range_max_m"]:
                raise ConfigError(
                    source,
                    f"{where}.range_clip_m",
                    f"{clip} outside (robot.lidar.range_min_m, range_max_m] = "
                    f"({lidar['range_min_m']}, {lidar['range_max_m']}]",
                )
            sectors = require_number(spec.params, "num_sectors", source, where, positive=True, integer=True)
            if sectors != spec.size:
                raise ConfigError(
                    source, f"{where}.num_sectors", f"{sectors:g} != the term's size {spec.size}"
                )
        elif spec.kind == nav_terms.GoalPolar.kind:
            require_number(spec.params, "distance_clip_m", source, where, positive=True)
    for i, spec in enumerate(contract.action):
        where = f"action.terms[{i}].params"
        if spec.kind != nav_terms.DiffDriveTwistAction.kind:
            continue
        lo = require_numbers(spec.params, "low", 2, source, where)
        hi = require_numbers(spec.params, "high", 2, source, where)
        acc = require_numbers(spec.params, "accel", 2, source, where, positive=True)
        bad = twist_limit_violation(lo, hi, acc, robot)
        if bad is not None:
            entry, value, _, field_ = bad
            raise ConfigError(source, f"{where}.{entry}", f"{value} exceeds the contract's robot.{field_}")
        require_number(spec.params, "dt_s", source, where, positive=True)
        for key in ("collision_guard", "dwa_fallback"):  # optional (older contracts lack them)
            if key in spec.params and not isinstance(spec.params[key], bool):
                raise ConfigError(
                    source, f"{where}.{key}", f"expected true or false, got {spec.params[key]!r}"
                )


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
        validate_contract=validate_nav_contract,
        teleop=NavTeleop.from_controller,
    )
)
