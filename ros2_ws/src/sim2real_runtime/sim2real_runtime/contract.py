"""The policy contract: everything a deployment must agree on with training, in one JSON document.

It travels inside ``policy.onnx`` (``metadata_props["sim2real_contract"]``) and beside it as
``policy.yaml``. Loading is strict: :func:`check_compatible` refuses a robot configuration that
differs from what the policy was trained with, naming the contract field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, ContractMismatchError
from .robot import RobotConfig
from .terms import TermSpec

SCHEMA_VERSION = 1
METADATA_KEY = "sim2real_contract"


@dataclass(frozen=True)
class PolicyContract:
    """What a policy expects and produces, and where it came from."""

    domain: str
    """``navigation``, ``quadrotor``, ``manipulation`` or ``dexterous_hand``."""
    robot: Mapping[str, Any]
    """The robot configuration the policy was trained for (RobotConfig.as_dict())."""
    control_rate_hz: float
    """Rate at which the policy must be queried (Hz)."""
    observation: tuple[TermSpec, ...]
    """Observation terms, in the order they are concatenated into the ``obs`` input."""
    action: tuple[TermSpec, ...]
    """Action terms, in the order of the ``actions`` output."""
    joint_names: tuple[str, ...] = ()
    """Joint names and order (empty for a mobile base)."""
    recurrent_state: tuple[Mapping[str, Any], ...] = ()
    """Recurrent state inputs/outputs: name and shape (empty for a feed-forward policy)."""
    provenance: Mapping[str, Any] = field(default_factory=dict)
    """Commit, config, seed, steps, wall time, simulator and version."""
    evaluation: Mapping[str, Any] = field(default_factory=dict)
    """Evaluation summary at export time."""
    schema_version: int = SCHEMA_VERSION

    @property
    def obs_size(self) -> int:
        return sum(t.size for t in self.observation)

    @property
    def action_size(self) -> int:
        return sum(t.size for t in self.action)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "domain": self.domain,
            "robot": dict(self.robot),
            "control_rate_hz": self.control_rate_hz,
            "observation": {"size": self.obs_size, "terms": [t.to_dict() for t in self.observation]},
            "action": {"size": self.action_size, "terms": [t.to_dict() for t in self.action]},
            "joint_names": list(self.joint_names),
            "recurrent_state": [dict(r) for r in self.recurrent_state],
            "provenance": dict(self.provenance),
            "evaluation": dict(self.evaluation),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    @staticmethod
    def from_dict(d: Any, source: str = "<contract>") -> PolicyContract:
        """Parse and validate a contract; errors name the field."""
        if not isinstance(d, dict):
            raise ConfigError(source, "<root>", "contract is not a JSON object")
        for key in ("schema_version", "domain", "robot", "control_rate_hz", "observation", "action"):
            if key not in d:
                raise ConfigError(source, key, "missing")
        if d["schema_version"] != SCHEMA_VERSION:
            raise ConfigError(
                source,
                "schema_version",
                f"unsupported version {d['schema_version']!r} (this is {SCHEMA_VERSION})",
            )
        rate = d["control_rate_hz"]
        if not isinstance(rate, (int, float)) or not rate > 0:
            raise ConfigError(source, "control_rate_hz", f"expected a positive number, got {rate!r}")

        def terms(key: str) -> tuple[TermSpec, ...]:
            block = d[key]
            if not isinstance(block, dict) or not isinstance(block.get("terms"), list):
                raise ConfigError(source, f"{key}.terms", "missing or not a list")
            out = []
            for i, t in enumerate(block["terms"]):
                try:
                    out.append(TermSpec(**t))
                except TypeError as exc:
                    raise ConfigError(source, f"{key}.terms[{i}]", f"malformed term: {exc}") from exc
            size = sum(t.size for t in out)
            if block.get("size", size) != size:
                raise ConfigError(source, f"{key}.size", f"{block['size']} != sum of term sizes {size}")
            return tuple(out)

        return PolicyContract(
            domain=d["domain"],
            robot=d["robot"],
            control_rate_hz=float(rate),
            observation=terms("observation"),
            action=terms("action"),
            joint_names=tuple(d.get("joint_names", ())),
            recurrent_state=tuple(d.get("recurrent_state", ())),
            provenance=d.get("provenance", {}),
            evaluation=d.get("evaluation", {}),
            schema_version=d["schema_version"],
        )

    @staticmethod
    def from_json(text: str, source: str = "<contract>") -> PolicyContract:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(source, METADATA_KEY, f"not valid JSON: {exc}") from exc
        return PolicyContract.from_dict(d, source)


# Robot fields a navigation policy depends on, with the absolute tolerance of the comparison.
_EXACT_NAV_FIELDS: dict[str, float] = {
    "footprint_length_m": 0.01,
    "footprint_width_m": 0.01,
    "lidar.num_beams": 0.0,
    "lidar.fov_rad": 1e-3,
    "lidar.mount_x_m": 0.02,
}


def _get(d: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        d = d[part]
    return d


def check_compatible(
    contract: PolicyContract, robot: RobotConfig, source: str, control_rate_hz: float | None = None
) -> None:
    """Refuse to drive ``robot`` with a policy whose contract does not fit it.

    Checks the geometry and sensor fields the observation depends on, that the robot can execute
    the policy's action range and accelerations, and (if given) the control rate.

    Raises:
        ContractMismatchError: naming the first mismatching contract field.
    """
    if contract.domain != "navigation":
        raise ContractMismatchError(source, "domain", contract.domain, "navigation")
    trained = contract.robot
    actual = robot.as_dict()
    for key, tol in _EXACT_NAV_FIELDS.items():
        want, have = _get(trained, key), _get(actual, key)
        if abs(float(want) - float(have)) > tol:
            raise ContractMismatchError(source, f"robot.{key}", want, have)
    for spec in contract.observation:
        if spec.kind == "lidar_sectors":
            if spec.params["num_beams"] != robot.lidar.num_beams:
                raise ContractMismatchError(
                    source,
                    f"observation.{spec.name}.params.num_beams",
                    spec.params["num_beams"],
                    robot.lidar.num_beams,
                )
            if spec.params["range_clip_m"] > robot.lidar.range_max_m:
                raise ContractMismatchError(
                    source,
                    f"observation.{spec.name}.params.range_clip_m",
                    spec.params["range_clip_m"],
                    f"lidar.range_max_m={robot.lidar.range_max_m}",
                )
    for spec in contract.action:
        lo, hi, acc = spec.params["low"], spec.params["high"], spec.params["accel"]
        checks = [
            ("low[0]", lo[0], robot.min_linear_speed_mps, lo[0] >= robot.min_linear_speed_mps - 1e-9),
            ("high[0]", hi[0], robot.max_linear_speed_mps, hi[0] <= robot.max_linear_speed_mps + 1e-9),
            ("high[1]", hi[1], robot.max_angular_speed_radps, hi[1] <= robot.max_angular_speed_radps + 1e-9),
            ("low[1]", lo[1], -robot.max_angular_speed_radps, lo[1] >= -robot.max_angular_speed_radps - 1e-9),
            ("accel[0]", acc[0], robot.max_linear_accel_mps2, acc[0] <= robot.max_linear_accel_mps2 + 1e-9),
            (
                "accel[1]",
                acc[1],
                robot.max_angular_accel_radps2,
                acc[1] <= robot.max_angular_accel_radps2 + 1e-9,
            ),
        ]
        for name, want, have, ok in checks:
            if not ok:
                raise ContractMismatchError(source, f"action.{spec.name}.params.{name}", want, have)
    if control_rate_hz is not None and not math.isclose(
        contract.control_rate_hz, control_rate_hz, rel_tol=1e-6
    ):
        raise ContractMismatchError(source, "control_rate_hz", contract.control_rate_hz, control_rate_hz)


def quad_training_envelope(
    vehicle: Mapping[str, Any],
    mass_scale: tuple[float, float],
    thrust_scale: tuple[float, float],
    motor_time_constant_s: tuple[float, float],
) -> dict[str, list[float]]:
    """The vehicle properties a quadrotor policy was trained across (stored in the contract's
    ``robot.training_envelope``): thrust-to-weight and motor time constant ranges. The mass-
    normalised CTBR action and the inertia-scaled rate loop make the rest scale-free."""
    tw = 4.0 * vehicle["motor_max_thrust_n"] / (vehicle["mass_kg"] * 9.80665)
    return {
        "thrust_to_weight": [tw * thrust_scale[0] / mass_scale[1], tw * thrust_scale[1] / mass_scale[0]],
        "motor_time_constant_s": list(motor_time_constant_s),
    }


def check_quad_compatible(
    contract: PolicyContract,
    vehicle: Any,
    source: str,
    control_rate_hz: float | None = None,
    allow_outside_envelope: bool = False,
) -> None:
    """Refuse to fly ``vehicle`` (a VehicleConfig) with a policy that was not trained for it.

    The vehicle's thrust-to-weight and motor time constant must lie inside the contract's
    ``robot.training_envelope`` (unless ``allow_outside_envelope``), and the control rate must match.

    Raises:
        ContractMismatchError: naming the first mismatching contract field.
    """
    if contract.domain != "quadrotor":
        raise ContractMismatchError(source, "domain", contract.domain, "quadrotor")
    env = contract.robot.get("training_envelope")
    if env is None:
        raise ContractMismatchError(source, "robot.training_envelope", None, "a quadrotor contract")
    if not allow_outside_envelope:
        for key, have in (
            ("thrust_to_weight", vehicle.thrust_to_weight),
            ("motor_time_constant_s", vehicle.motor_time_constant_s),
        ):
            lo, hi = env[key]
            if not lo - 1e-9 <= have <= hi + 1e-9:
                raise ContractMismatchError(
                    source,
                    f"robot.training_envelope.{key}",
                    f"[{lo:.4g}, {hi:.4g}]",
                    f"{have:.4g} ({vehicle.name})",
                )
    if control_rate_hz is not None and not math.isclose(
        contract.control_rate_hz, control_rate_hz, rel_tol=1e-6
    ):
        raise ContractMismatchError(source, "control_rate_hz", contract.control_rate_hz, control_rate_hz)


def check_manip_compatible(
    contract: PolicyContract,
    chain: Any,
    source: str,
    control_rate_hz: float | None = None,
    tolerance_m: float = 1e-3,
) -> None:
    """Refuse to drive an arm (a :class:`~sim2real_runtime.kinematics.SerialChain`, e.g. parsed
    from the robot's URDF) with a policy trained on another one.

    Joint names and order must equal the contract's; every joint origin must agree within
    ``tolerance_m`` (m, or rad for the rotations), axes and the tool transform likewise; the arm's
    limits must not be narrower than the contract's (the policy was trained to use that range);
    and the control rate must match when given.

    Raises:
        ContractMismatchError: naming the first mismatching contract field.
    """
    if contract.domain != "manipulation":
        raise ContractMismatchError(source, "domain", contract.domain, "manipulation")
    if tuple(contract.joint_names) != tuple(chain.joint_names):
        raise ContractMismatchError(
            source, "joint_names", list(contract.joint_names), list(chain.joint_names)
        )
    trained = contract.robot.get("kinematics")
    if trained is None:
        raise ContractMismatchError(source, "robot.kinematics", None, "an arm contract")
    have = chain.to_dict()
    for key in ("tool_xyz_m", "tool_rpy_rad"):
        if not _close(trained[key], have[key], tolerance_m):
            raise ContractMismatchError(source, f"robot.kinematics.{key}", trained[key], have[key])
    for i, (tj, hj) in enumerate(zip(trained["joints"], have["joints"], strict=True)):
        for key in ("origin_xyz_m", "origin_rpy_rad", "axis"):
            if not _close(tj[key], hj[key], tolerance_m):
                raise ContractMismatchError(source, f"robot.kinematics.joints[{i}].{key}", tj[key], hj[key])
        if hj["lower"] > tj["lower"] + 1e-6 or hj["upper"] < tj["upper"] - 1e-6:
            raise ContractMismatchError(
                source, f"robot.kinematics.joints[{i}] limits",
                [tj["lower"], tj["upper"]], [hj["lower"], hj["upper"]],
            )  # fmt: skip
        if hj["velocity_limit"] < tj["velocity_limit"] - 1e-6:
            raise ContractMismatchError(
                source,
                f"robot.kinematics.joints[{i}].velocity_limit",
                tj["velocity_limit"],
                hj["velocity_limit"],
            )
    if control_rate_hz is not None and not math.isclose(
        contract.control_rate_hz, control_rate_hz, rel_tol=1e-6
    ):
        raise ContractMismatchError(source, "control_rate_hz", contract.control_rate_hz, control_rate_hz)


def _close(a: Any, b: Any, tol: float) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= tol for x, y in zip(a, b, strict=True))
