"""Manipulation: a serial arm with a parallel gripper, described by its URDF (a kinematic chain)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import manip_terms
from ..config_files import build_config
from ..contract import check_object, require_number, require_numbers, robot_field_error
from ..errors import ConfigError
from ..kinematics import SerialChain
from ..manip_control import ManipController, ManipSafety, ManipSafetyConfig, check_manip_compatible
from ..teleop.mapping import ManipTeleop
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


@dataclass(frozen=True)
class ManipTaskRecord:
    """The ``robot.task`` block of an arm contract: what the policy was trained to do."""

    name: str
    """The training task (``pick_place``, ``reach``...)."""
    success_tolerance_m: float
    """Distance to the goal counted as success (m)."""
    episode_time_s: float
    """Training episode length (s)."""


_ROBOT_FIELDS = ("name", "urdf", "kinematics", "gripper", "safety", "task")
"""The robot block of an arm contract, every field required."""
_GRIPPER_FIELDS = ("joints", "max_width_m")


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9) for x, y in zip(a, b, strict=True)
    )


def validate_manip_contract(contract: Any, source: str) -> None:
    """The manip part of strict contract loading.

    ``robot`` holds exactly ``name`` and ``urdf`` (non-empty strings), ``kinematics``
    (:meth:`SerialChain.from_dict`, strict), ``gripper`` (``joints``: names, ``max_width_m`` > 0),
    ``safety`` (:class:`ManipSafetyConfig`'s fields, each defaulting to its documented value; the
    workspace box's min below its max) and ``task`` (:class:`ManipTaskRecord`). Values stored twice
    agree: ``joint_names`` are the chain's joints; the joint position / velocity terms' limits and
    the joint-delta action's ``joint_names`` are the chain's; the joint terms are as long as the
    chain; the joint-delta action's ``max_delta_rad`` is the safety layer's budget per period
    (``velocity_limit x safety.max_velocity_fraction / control_rate_hz``); the gripper width term's
    ``max_width_m`` is the gripper's; the open width fits in it.
    """
    robot = check_object(dict(contract.robot), "robot", source, _ROBOT_FIELDS)
    for key in ("name", "urdf"):
        if not isinstance(robot[key], str) or not robot[key]:
            raise ConfigError(source, f"robot.{key}", f"expected a non-empty string, got {robot[key]!r}")
    chain = SerialChain.from_dict(robot["kinematics"], source, "robot.kinematics")
    gripper = check_object(robot["gripper"], "robot.gripper", source, known=_GRIPPER_FIELDS)
    joints = gripper.get("joints")
    if not isinstance(joints, list) or not joints or not all(isinstance(j, str) and j for j in joints):
        raise ConfigError(
            source,
            "robot.gripper.joints",
            "missing" if joints is None else f"expected joint names, got {joints!r}",
        )
    max_width = require_number(gripper, "max_width_m", source, "robot.gripper", positive=True)
    try:
        safety = build_config(
            ManipSafetyConfig,
            robot["safety"],
            source,
            "safety.",
            signed=("workspace_min_m", "workspace_max_m"),
        )
        build_config(ManipTaskRecord, robot["task"], source, "task.")
    except ConfigError as exc:
        raise robot_field_error(exc, source) from exc
    for k, (lo, hi) in enumerate(zip(safety.workspace_min_m, safety.workspace_max_m, strict=True)):
        if not lo < hi:
            raise ConfigError(
                source, f"robot.safety.workspace_min_m[{k}]", f"{lo} >= workspace_max_m[{k}] {hi}"
            )
    if not 0 < safety.max_velocity_fraction <= 1:
        raise ConfigError(
            source,
            "robot.safety.max_velocity_fraction",
            f"must be in (0, 1], got {safety.max_velocity_fraction}",
        )
    for key in ("success_tolerance_m", "episode_time_s"):
        require_number(robot["task"], key, source, "robot.task", positive=True)
    names = list(chain.joint_names)
    n = len(names)
    if list(contract.joint_names) != names:
        raise ConfigError(
            source, "joint_names", f"{list(contract.joint_names)} != robot.kinematics joints {names}"
        )
    repeats = {
        (manip_terms.JointPosition.kind, "lower"): [j.lower for j in chain.joints],
        (manip_terms.JointPosition.kind, "upper"): [j.upper for j in chain.joints],
        (manip_terms.JointVelocity.kind, "velocity_limits"): [j.velocity_limit for j in chain.joints],
        (manip_terms.JointDeltaAction.kind, "max_delta_rad"): None,
    }
    for block, specs in (("observation", contract.observation), ("action", contract.action)):
        for i, spec in enumerate(specs):
            where = f"{block}.terms[{i}]"
            for (kind, key), want in repeats.items():
                if spec.kind != kind:
                    continue
                if spec.size != n:
                    raise ConfigError(source, f"{where}.size", f"{spec.size} != the chain's {n} joints")
                got = require_numbers(spec.params, key, n, source, f"{where}.params", positive=want is None)
                if want is not None and not _same(got, want):
                    raise ConfigError(source, f"{where}.params.{key}", f"{got} != robot.kinematics' {want}")
            if spec.kind == manip_terms.JointDeltaAction.kind:
                # the action's full scale is the safety layer's per-period budget (stored thrice)
                budget = [
                    j.velocity_limit * safety.max_velocity_fraction / contract.control_rate_hz
                    for j in chain.joints
                ]
                got = require_numbers(
                    spec.params, "max_delta_rad", n, source, f"{where}.params", positive=True
                )
                if not all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(got, budget, strict=True)):
                    raise ConfigError(
                        source,
                        f"{where}.params.max_delta_rad",
                        f"{got} != velocity_limit x robot.safety.max_velocity_fraction / control_rate_hz "
                        f"= {[round(b, 9) for b in budget]}",
                    )
            if (
                spec.kind == manip_terms.JointDeltaAction.kind
                and spec.params.get("joint_names", names) != names
            ):
                raise ConfigError(
                    source,
                    f"{where}.params.joint_names",
                    f"{spec.params['joint_names']} != robot.kinematics joints",
                )
            if spec.kind == manip_terms.GripperWidth.kind:
                got = require_number(spec.params, "max_width_m", source, f"{where}.params", positive=True)
                if not math.isclose(got, max_width, rel_tol=1e-9):
                    raise ConfigError(
                        source,
                        f"{where}.params.max_width_m",
                        f"{got} != robot.gripper.max_width_m {max_width}",
                    )
            if spec.kind == manip_terms.GripperAction.kind:
                got = require_number(spec.params, "open_width_m", source, f"{where}.params", positive=True)
                if got > max_width + 1e-9:
                    raise ConfigError(
                        source,
                        f"{where}.params.open_width_m",
                        f"{got} > robot.gripper.max_width_m {max_width}",
                    )
            if spec.kind == manip_terms.RelativePosition.kind:
                require_number(spec.params, "clip_m", source, f"{where}.params", positive=True)
            if spec.kind == manip_terms.YawError.kind:
                require_number(
                    spec.params, "symmetry", source, f"{where}.params", positive=True, integer=True
                )


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
        validate_contract=validate_manip_contract,
        teleop=ManipTeleop.from_controller,
    )
)
