"""Dexterous hand: a 16-joint LEAP-class hand, described by ``sim_assets/<hand>/hand.yaml`` and its
URDF (finger chains), with the driver's joint order and zero."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from .. import hand_terms, manip_terms
from ..config_files import build_config
from ..contract import check_object, require_number, require_numbers, robot_field_error
from ..errors import ConfigError
from ..hand_control import HandController, HandSafety, HandSafetyConfig, check_hand_compatible
from ..hand_model import hand_file, load_hand
from ..terms import PreviousAction
from . import Domain, register_domain


@dataclass(frozen=True)
class HandTaskRecord:
    """The ``robot.task`` block of a hand contract: what the policy was trained to do."""

    name: str
    """``rotate_z`` or ``reorient``."""
    episode_time_s: float
    """Training episode length (s)."""
    success_tolerance_rad: float
    """reorient: orientation error counted as reaching the goal (rad)."""


_ROBOT_FIELDS = ("name", "urdf", "palm_link", "joints", "hardware", "safety", "task")
_JOINT_FIELDS = ("lower", "upper", "velocity_limit")
_HARDWARE_FIELDS = ("joint_order", "zero_offset_rad")


def validate_hand_contract(contract: Any, source: str) -> None:
    """The hand part of strict contract loading.

    ``robot`` holds exactly ``name``, ``urdf``, ``palm_link`` (non-empty strings), ``joints``
    (``lower``, ``upper``, ``velocity_limit``: one number per joint, lower below upper, limits > 0),
    ``hardware`` (``joint_order``: a permutation of ``joint_names``; ``zero_offset_rad``),
    ``safety`` (every field of :class:`HandSafetyConfig`, none defaulted) and ``task``
    (:class:`HandTaskRecord`). Values stored twice agree: the joint position term's ``lower`` /
    ``upper`` are ``robot.joints``'; the joint-delta action's ``joint_names`` are ``joint_names``
    and its ``max_delta_rad`` is ``robot.safety.max_speed_radps / control_rate_hz`` for every
    joint; the joint-offset action's ``joint_names`` are ``joint_names``, its ``home_rad`` lies
    inside ``robot.joints`` and its ``scale_rad`` is > 0; the joint terms are as long as
    ``joint_names``.
    """
    robot = check_object(dict(contract.robot), "robot", source, _ROBOT_FIELDS)
    for key in ("name", "urdf", "palm_link"):
        if not isinstance(robot[key], str) or not robot[key]:
            raise ConfigError(source, f"robot.{key}", f"expected a non-empty string, got {robot[key]!r}")
    names = list(contract.joint_names)
    n = len(names)
    if n == 0 or len(set(names)) != n:
        raise ConfigError(source, "joint_names", f"expected distinct joint names, got {names}")
    joints = check_object(robot["joints"], "robot.joints", source, _JOINT_FIELDS)
    lower = require_numbers(joints, "lower", n, source, "robot.joints")
    upper = require_numbers(joints, "upper", n, source, "robot.joints")
    require_numbers(joints, "velocity_limit", n, source, "robot.joints", positive=True)
    for i, (lo, hi) in enumerate(zip(lower, upper, strict=True)):
        if not lo < hi:
            raise ConfigError(source, f"robot.joints.lower[{i}]", f"{lo} >= upper {hi} ({names[i]})")
    hw = check_object(robot["hardware"], "robot.hardware", source, _HARDWARE_FIELDS)
    order = hw["joint_order"]
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(names) or len(order) != n:
        raise ConfigError(
            source, "robot.hardware.joint_order", f"{order!r} is not a permutation of joint_names"
        )
    require_number(hw, "zero_offset_rad", source, "robot.hardware")
    if isinstance(robot["safety"], dict):  # every safety limit stated: a contract has no defaults
        for f in fields(HandSafetyConfig):
            if f.name not in robot["safety"]:
                raise ConfigError(source, f"robot.safety.{f.name}", "missing")
    try:
        safety = build_config(
            HandSafetyConfig, robot["safety"], source, "safety.", positive=("max_speed_radps",)
        )
        build_config(HandTaskRecord, robot["task"], source, "task.", positive=("episode_time_s",))
    except ConfigError as exc:
        raise robot_field_error(exc, source) from exc
    require_number(robot["task"], "success_tolerance_rad", source, "robot.task", positive=True)
    if not safety.max_lead_rad > 0:
        raise ConfigError(source, "robot.safety.max_lead_rad", f"must be > 0, got {safety.max_lead_rad}")
    for block, specs in (("observation", contract.observation), ("action", contract.action)):
        for i, spec in enumerate(specs):
            where = f"{block}.terms[{i}]"
            if (
                spec.kind
                in (
                    manip_terms.JointPosition.kind,
                    hand_terms.JointTargetError.kind,
                    manip_terms.JointDeltaAction.kind,
                    hand_terms.JointOffsetAction.kind,
                )
                and spec.size != n
            ):
                raise ConfigError(source, f"{where}.size", f"{spec.size} != the hand's {n} joints")
            if spec.kind == manip_terms.JointPosition.kind:
                for key, want in (("lower", lower), ("upper", upper)):
                    got = require_numbers(spec.params, key, n, source, f"{where}.params")
                    bad = [
                        j
                        for j, (a, b) in enumerate(zip(got, want, strict=True))
                        if not math.isclose(a, b, abs_tol=1e-9)
                    ]
                    if bad:
                        j = bad[0]
                        raise ConfigError(
                            source,
                            f"{where}.params.{key}[{j}]",
                            f"{got[j]} != robot.joints.{key}[{j}] {want[j]} ({names[j]})",
                        )
            if spec.kind == hand_terms.JointTargetError.kind:
                require_number(spec.params, "scale_rad", source, f"{where}.params", positive=True)
            if spec.kind == hand_terms.ObjectPosition.kind:
                require_number(spec.params, "scale_m", source, f"{where}.params", positive=True)
                require_numbers(spec.params, "center_m", 3, source, f"{where}.params")
            if spec.kind == manip_terms.JointDeltaAction.kind:
                got = require_numbers(
                    spec.params, "max_delta_rad", n, source, f"{where}.params", positive=True
                )
                step = safety.max_speed_radps / contract.control_rate_hz
                if not all(math.isclose(g, step, rel_tol=1e-6) for g in got):
                    raise ConfigError(
                        source,
                        f"{where}.params.max_delta_rad",
                        f"{got} != robot.safety.max_speed_radps / control_rate_hz = {step:.9g} (every joint)",
                    )
            if spec.kind == hand_terms.JointOffsetAction.kind:
                require_number(spec.params, "scale_rad", source, f"{where}.params", positive=True)
                home = require_numbers(spec.params, "home_rad", n, source, f"{where}.params")
                for j, (h, lo, hi) in enumerate(zip(home, lower, upper, strict=True)):
                    if not lo <= h <= hi:
                        raise ConfigError(
                            source,
                            f"{where}.params.home_rad[{j}]",
                            f"{h} outside robot.joints [{lo}, {hi}] ({names[j]})",
                        )
            joint_action = (manip_terms.JointDeltaAction.kind, hand_terms.JointOffsetAction.kind)
            if spec.kind in joint_action and spec.params.get("joint_names") != names:
                raise ConfigError(
                    source, f"{where}.params.joint_names", f"{spec.params.get('joint_names')} != joint_names"
                )


DOMAIN = register_domain(
    Domain(
        name="hand",
        title="dexterous hand: 16-joint LEAP-class hand turning a cube",
        description_kind="hand file (sim_assets/<hand>/hand.yaml) + its URDF's finger chains",
        description_file=hand_file,
        load_description=load_hand,
        observation_kinds=(
            manip_terms.JointPosition.kind,
            hand_terms.JointTargetError.kind,
            hand_terms.ObjectPosition.kind,
            hand_terms.ObjectOrientation.kind,
            hand_terms.OrientationError.kind,
            PreviousAction.kind,
        ),
        action_kinds=(manip_terms.JointDeltaAction.kind, hand_terms.JointOffsetAction.kind),
        check_compatible=check_hand_compatible,
        safety=HandSafety,
        controller=HandController,
        validate_contract=validate_hand_contract,
    )
)
