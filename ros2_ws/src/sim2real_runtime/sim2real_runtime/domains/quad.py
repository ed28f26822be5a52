"""Quadrotors: an X-quadrotor under collective thrust + body rates (``sim_assets/<v>/vehicle.yaml``)."""

from __future__ import annotations

from pathlib import Path

from .. import quad_terms
from ..config_files import asset_file
from ..quad_control import QuadController, QuadSafety, check_quad_compatible
from ..terms import PreviousAction
from ..vehicle import load_vehicle
from . import Domain, register_domain


def vehicle_file(name_or_path: str | Path) -> Path:
    """A vehicle name (``sim_assets/<name>/vehicle.yaml``) or a YAML path -> the file."""
    return asset_file(name_or_path, "vehicle.yaml", "vehicle")


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
            quad_terms.UserInput.kind,
            PreviousAction.kind,
        ),
        action_kinds=(quad_terms.CtbrAction.kind,),
        check_compatible=check_quad_compatible,
        safety=QuadSafety,
        controller=QuadController,
        aliases=("quadrotor",),
    )
)
