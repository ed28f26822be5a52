"""Quadrotors: an X-quadrotor under collective thrust + body rates (``sim_assets/<v>/vehicle.yaml``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .. import quad_terms
from ..config_files import asset_file
from ..contract import check_object, require_number, require_numbers, robot_field_error
from ..errors import ConfigError
from ..quad_control import QuadController, QuadSafety, check_quad_compatible
from ..teleop.mapping import QuadTeleop
from ..terms import PreviousAction
from ..vehicle import VehicleConfig, load_vehicle, vehicle_from_dict
from . import Domain, register_domain


def vehicle_file(name_or_path: str | Path) -> Path:
    """A vehicle name (``sim_assets/<name>/vehicle.yaml``) or a YAML path -> the file."""
    return asset_file(name_or_path, "vehicle.yaml", "vehicle")


_EXTRA_ROBOT_FIELDS = ("training_envelope", "rate_loop")
"""Robot fields of a quad contract beside the vehicle file's (VehicleConfig's)."""
_ENVELOPE_FIELDS = ("thrust_to_weight", "motor_time_constant_s")


def validate_quad_contract(contract: Any, source: str) -> None:
    """The quad part of strict contract loading.

    ``robot`` is a vehicle file's content (``VehicleConfig.as_dict()``, read by the vehicle file's
    own loader: every field required, unknown ones refused, the same ranges) plus two required
    blocks: ``training_envelope`` (exactly ``thrust_to_weight`` and ``motor_time_constant_s``, each
    ``[low, high]`` with 0 < low <= high, and the contract's own vehicle inside both) and
    ``rate_loop`` (the training simulator's rate-loop gains: ``model``, a non-empty string, and any
    number of gains, each a finite number >= 0; the names are the training side's RateGains, which
    the runtime does not import). The ``reference_lookahead`` term's size is 3 x ``num_points``; the
    ``ctbr`` action's ranges are positive and hold the hover acceleration; a ``user_input``'s
    ``default`` lies in [low, high].
    """
    robot = dict(contract.robot)
    for key in _EXTRA_ROBOT_FIELDS:
        if key not in robot:
            raise ConfigError(source, f"robot.{key}", "missing")
    try:
        vehicle = vehicle_from_dict({k: v for k, v in robot.items() if k not in _EXTRA_ROBOT_FIELDS}, source)
    except ConfigError as exc:
        if exc.message.startswith("unknown field"):
            known = [f.name for f in dataclasses.fields(VehicleConfig) if f.name != "source"]
            raise ConfigError(
                source,
                f"robot.{exc.field}",
                f"unknown field (known: {', '.join([*known, *_EXTRA_ROBOT_FIELDS])})",
            ) from exc
        raise robot_field_error(exc, source) from exc
    env = check_object(robot["training_envelope"], "robot.training_envelope", source, known=_ENVELOPE_FIELDS)
    for key, have in (
        ("thrust_to_weight", vehicle.thrust_to_weight),
        ("motor_time_constant_s", vehicle.motor_time_constant_s),
    ):
        lo, hi = require_numbers(env, key, 2, source, "robot.training_envelope", positive=True)
        if lo > hi:
            raise ConfigError(source, f"robot.training_envelope.{key}", f"[{lo}, {hi}]: low > high")
        if not lo - 1e-9 <= have <= hi + 1e-9:
            raise ConfigError(
                source,
                f"robot.training_envelope.{key}",
                f"[{lo:.4g}, {hi:.4g}] does not hold the contract's own vehicle: {key} {have:.4g}"
                + (" (4 x motor_max_thrust_n / (mass_kg x g))" if key == "thrust_to_weight" else ""),
            )
    loop = robot["rate_loop"]
    if not isinstance(loop, dict):
        raise ConfigError(source, "robot.rate_loop", f"expected a JSON object, got {loop!r}")
    if not isinstance(loop.get("model"), str) or not loop["model"]:
        raise ConfigError(
            source, "robot.rate_loop.model", "missing" if "model" not in loop else "expected a string"
        )
    for key in loop:
        if key != "model" and require_number(loop, key, source, "robot.rate_loop") < 0:
            raise ConfigError(source, f"robot.rate_loop.{key}", f"must be >= 0, got {loop[key]!r}")
    for i, spec in enumerate(contract.observation):
        where = f"observation.terms[{i}].params"
        p = spec.params
        if spec.kind == quad_terms.ReferenceLookahead.kind:
            k = require_number(p, "num_points", source, where, positive=True, integer=True)
            require_number(p, "horizon_s", source, where, positive=True)
            if spec.size != 3 * k:
                raise ConfigError(
                    source, f"observation.terms[{i}].size", f"{spec.size} != 3 x num_points {k:g}"
                )
        elif spec.kind == quad_terms.UserInput.kind:
            lo, hi = require_number(p, "low", source, where), require_number(p, "high", source, where)
            if "tilt_range_deg" in p:
                t_lo, t_hi = require_numbers(p, "tilt_range_deg", 2, source, where)
                if not 0 <= t_lo <= t_hi < 90:
                    raise ConfigError(
                        source,
                        f"{where}.tilt_range_deg",
                        f"expected 0 <= low <= high < 90, got {[t_lo, t_hi]}",
                    )
            if not lo <= require_number(p, "default", source, where) <= hi:
                raise ConfigError(
                    source, f"{where}.default", f"{p['default']} outside [low, high] = [{lo}, {hi}]"
                )
        elif spec.kind == quad_terms.ReferenceFeedforward.kind:
            require_number(p, "spacing_s", source, where, positive=True)
            if spec.size != 6:
                raise ConfigError(source, f"observation.terms[{i}].size", f"{spec.size} != 6")
        elif spec.kind == quad_terms.PositionErrorIntegral.kind:
            require_number(p, "time_constant_s", source, where, positive=True)
            if spec.size != 3:
                raise ConfigError(source, f"observation.terms[{i}].size", f"{spec.size} != 3")
        for key in ("clip_m", "clip_mps", "clip_mps2", "clip_radps", "clip_ms"):
            if key in p:
                require_number(p, key, source, where, positive=True)
    for i, spec in enumerate(contract.action):
        where = f"action.terms[{i}].params"
        if spec.kind == quad_terms.CtbrAction.kind:
            require_number(spec.params, "hover_accel_mps2", source, where, positive=True)
            require_number(spec.params, "accel_scale_mps2", source, where, positive=True)
            lo, hi = require_numbers(spec.params, "accel_range_mps2", 2, source, where)
            if not 0 <= lo < hi:
                raise ConfigError(
                    source, f"{where}.accel_range_mps2", f"[{lo}, {hi}]: expected 0 <= low < high"
                )
            require_numbers(spec.params, "max_rates_radps", 3, source, where, positive=True)


DOMAIN = register_domain(
    Domain(
        name="quad",
        title="quadrotor: collective thrust + body rates (PX4 offboard, Crazyswarm2)",
        description_kind="vehicle file (sim_assets/<vehicle>/vehicle.yaml)",
        description_file=vehicle_file,
        load_description=load_vehicle,
        observation_kinds=(
            quad_terms.PositionError.kind,
            quad_terms.AttitudeMatrix.kind,
            quad_terms.LinearVelocity.kind,
            quad_terms.BodyRates.kind,
            quad_terms.ReferenceLookahead.kind,
            quad_terms.ReferenceFeedforward.kind,
            quad_terms.PositionErrorIntegral.kind,
            quad_terms.UserInput.kind,
            PreviousAction.kind,
        ),
        action_kinds=(quad_terms.CtbrAction.kind,),
        check_compatible=check_quad_compatible,
        safety=QuadSafety,
        controller=QuadController,
        aliases=("quadrotor",),
        validate_contract=validate_quad_contract,
        teleop=QuadTeleop.from_controller,
    )
)
