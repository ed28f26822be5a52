"""The policy contract: everything a deployment must agree on with training, in one JSON document.

It travels inside ``policy.onnx`` (``metadata_props["sim2real_contract"]``) and beside it as
``policy.yaml``. Loading is strict: the ``domain`` must be a registered domain
(:mod:`sim2real_runtime.domains`), every term kind one of that domain's, and values stored twice
must agree; each refusal names the field. Whether a contract fits a given robot is the domain's
compatibility check (``get_domain(contract.domain).check_compatible``).

Strictness: every top-level field, term field and robot field is either required or has a documented
default, and an unknown field is refused, naming it (:meth:`PolicyContract.from_dict`). The robot
block is domain-specific: each domain checks it in its ``Domain.validate_contract`` (nav: the
robot file's RobotConfig; quad: the vehicle file's VehicleConfig, ``training_envelope`` and
``rate_loop``; manip: name, urdf, kinematics, gripper, safety, task), together with the values the
contract stores twice (a term parameter repeating a robot field).

Schema history: 1 spelled the domains ``navigation`` / ``quadrotor`` / ``manipulation``; 2 uses
the registry's names (``nav`` / ``quad`` / ``manip``). A schema-1 contract is read as schema 2.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from .errors import ConfigError, ContractMismatchError
from .terms import TermSpec

SCHEMA_VERSION = 2
SUPPORTED_SCHEMA_VERSIONS = (1, 2)
METADATA_KEY = "sim2real_contract"


@dataclass(frozen=True)
class PolicyContract:
    """What a policy expects and produces, and where it came from."""

    domain: str
    """A registered domain name (``nav``, ``quad``, ``manip``...; see :mod:`sim2real_runtime.domains`)."""
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
        """Parse and validate a contract; errors name the field.

        The generic rules (every domain): the fields of :data:`REQUIRED_FIELDS` are required, those
        of :data:`OPTIONAL_FIELDS` default to empty, any other top-level field is refused; each
        ``observation`` / ``action`` block holds ``terms`` (and ``size``, checked when given); each
        term holds exactly the :class:`TermSpec` fields (``params`` defaults to ``{}``), with unique
        names, a kind of the contract's domain and params its term class can be built from; every
        number in ``robot`` and in a term's ``params`` is finite; values stored twice agree (see
        :func:`_check_derived`). Then the domain's own ``validate_contract`` (the robot block's
        schema and the domain's cross-checks); a domain that registers none has its ``robot``
        block checked only for being a JSON object of finite numbers.
        """
        if not isinstance(d, dict):
            raise ConfigError(source, "<root>", "contract is not a JSON object")
        for key in REQUIRED_FIELDS:
            if key not in d:
                raise ConfigError(source, key, "missing")
        unknown = sorted(set(d) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
        if unknown:
            raise ConfigError(
                source,
                str(unknown[0]),
                f"unknown field (known: {', '.join((*REQUIRED_FIELDS, *OPTIONAL_FIELDS))})",
            )
        version = d["schema_version"]
        if isinstance(version, bool) or version not in SUPPORTED_SCHEMA_VERSIONS:
            raise ConfigError(
                source,
                "schema_version",
                f"unsupported version {version!r} (this reads {SUPPORTED_SCHEMA_VERSIONS})",
            )
        rate = d["control_rate_hz"]
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float))
            or not rate > 0
            or not math.isfinite(rate)
        ):
            raise ConfigError(source, "control_rate_hz", f"expected a positive number, got {rate!r}")
        from .domains import get_domain  # the registry imports the domains, which import this module

        domain = get_domain(d["domain"], source)
        if not isinstance(d["robot"], dict):
            raise ConfigError(source, "robot", f"expected a JSON object, got {type(d['robot']).__name__}")
        check_finite(d["robot"], source, "robot")

        observation = _terms(d, "observation", domain.observation_kinds, domain.name, source)
        action = _terms(d, "action", domain.action_kinds, domain.name, source)
        joint_names = d.get("joint_names", [])
        if not isinstance(joint_names, list) or not all(isinstance(n, str) and n for n in joint_names):
            raise ConfigError(
                source, "joint_names", f"expected a list of non-empty names, got {joint_names!r}"
            )
        if len(set(joint_names)) != len(joint_names):
            raise ConfigError(source, "joint_names", f"a name appears twice: {joint_names}")
        recurrent = d.get("recurrent_state", [])
        if not isinstance(recurrent, list) or not all(isinstance(r, dict) for r in recurrent):
            raise ConfigError(source, "recurrent_state", f"expected a list of objects, got {recurrent!r}")
        for key in ("provenance", "evaluation"):
            if not isinstance(d.get(key, {}), dict):
                raise ConfigError(source, key, f"expected a JSON object, got {type(d[key]).__name__}")
        _check_derived(source, float(rate), observation, action)
        contract = PolicyContract(
            domain=domain.name,
            robot=d["robot"],
            control_rate_hz=float(rate),
            observation=observation,
            action=action,
            joint_names=tuple(joint_names),
            recurrent_state=tuple(recurrent),
            provenance=d.get("provenance", {}),
            evaluation=d.get("evaluation", {}),
            schema_version=SCHEMA_VERSION,
        )
        if domain.validate_contract is not None:
            domain.validate_contract(contract, source)
        return contract

    @staticmethod
    def from_json(text: str, source: str = "<contract>") -> PolicyContract:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(source, METADATA_KEY, f"not valid JSON: {exc}") from exc
        return PolicyContract.from_dict(d, source)


REQUIRED_FIELDS = ("schema_version", "domain", "robot", "control_rate_hz", "observation", "action")
"""Top-level fields every contract holds."""
OPTIONAL_FIELDS = ("joint_names", "recurrent_state", "provenance", "evaluation")
"""Top-level fields that default to empty (no joints, feed-forward, no provenance, no evaluation)."""
_TERM_FIELDS = tuple(f.name for f in fields(TermSpec))
_TERM_REQUIRED = tuple(
    f.name for f in fields(TermSpec) if f.default is MISSING and f.default_factory is MISSING
)


def check_object(
    d: Any, where: str, source: str, required: Sequence[str] = (), known: Sequence[str] | None = None
) -> dict:
    """``d`` if it is a JSON object holding every ``required`` field and no field outside ``known``
    (default: ``required``); else a ConfigError naming ``where`` or the first offending field."""
    if not isinstance(d, dict):
        raise ConfigError(source, where, f"expected a JSON object, got {d!r}")
    for key in required:
        if key not in d:
            raise ConfigError(source, f"{where}.{key}", "missing")
    known = tuple(required if known is None else known)
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise ConfigError(source, f"{where}.{unknown[0]}", f"unknown field (known: {', '.join(known)})")
    return d


def _terms(
    d: Mapping[str, Any], key: str, kinds: tuple[str, ...], domain: str, source: str
) -> tuple[TermSpec, ...]:
    """The ``observation`` or ``action`` block's terms, each checked field by field."""
    block = d[key]
    if not isinstance(block, dict) or not isinstance(block.get("terms"), list):
        raise ConfigError(source, f"{key}.terms", "missing or not a list")
    unknown = sorted(set(block) - {"size", "terms"})
    if unknown:
        raise ConfigError(source, f"{key}.{unknown[0]}", "unknown field (known: size, terms)")
    if not block["terms"]:
        raise ConfigError(source, f"{key}.terms", "empty: a policy needs at least one term")
    out: list[TermSpec] = []
    for i, t in enumerate(block["terms"]):
        where = f"{key}.terms[{i}]"
        check_object(t, where, source, _TERM_REQUIRED, _TERM_FIELDS)
        for name in ("name", "kind", "units", "source"):
            if not isinstance(t[name], str) or (name in ("name", "kind") and not t[name]):
                raise ConfigError(source, f"{where}.{name}", f"expected a string, got {t[name]!r}")
        size = t["size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(source, f"{where}.size", f"expected an integer >= 1, got {size!r}")
        params = t.get("params", {})
        if not isinstance(params, dict):
            raise ConfigError(source, f"{where}.params", f"expected a JSON object, got {params!r}")
        check_finite(params, source, f"{where}.params")
        spec = TermSpec(**t)
        if spec.kind not in kinds:
            raise ConfigError(
                source,
                f"{where}.kind",
                f"{spec.kind!r} is not a {key} term kind of domain {domain!r} (known: {', '.join(kinds)})",
            )
        if any(o.name == spec.name for o in out):
            raise ConfigError(source, f"{where}.name", f"{spec.name!r} names two {key} terms")
        _build_term(spec, key, source, where)
        out.append(spec)
    size = sum(t.size for t in out)
    given = block.get("size", size)
    if isinstance(given, bool) or given != size:
        raise ConfigError(source, f"{key}.size", f"{given!r} != sum of term sizes {size}")
    return tuple(out)


def _build_term(spec: TermSpec, key: str, source: str, where: str) -> None:
    """Refuse a term its class cannot be built from (a parameter missing or of the wrong kind)."""
    from .terms import ActionTerm, ObsTerm

    cls = (ObsTerm if key == "observation" else ActionTerm).registry[spec.kind]
    try:
        cls(spec)
    except KeyError as exc:
        raise ConfigError(source, f"{where}.params.{exc.args[0]}", "missing") from exc
    except (TypeError, ValueError, IndexError) as exc:
        raise ConfigError(source, f"{where}.params", f"the {spec.kind} term cannot be built: {exc}") from exc


def check_finite(value: Any, source: str, path: str) -> None:
    """Refuse a NaN or infinite number anywhere in ``value`` (nested objects and lists), naming it."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(source, path, f"expected a finite number, got {value!r}")
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, source, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_finite(v, source, f"{path}[{i}]")


def _check_derived(
    source: str, control_rate_hz: float, observation: tuple[TermSpec, ...], action: tuple[TermSpec, ...]
) -> None:
    """Values the contract stores twice must agree, whatever the domain:

    - an action term's period ``dt_s`` is ``1 / control_rate_hz`` (a policy whose rate limits were
      computed for another period would be accepted and run at the wrong rate);
    - a ``previous_action`` observation term is as long as the action;
    - a term's ``low`` / ``high`` (and ``lower`` / ``upper``) bounds are ordered, entry by entry.
    """
    action_size = sum(t.size for t in action)
    for key, specs in (("observation", observation), ("action", action)):
        for i, spec in enumerate(specs):
            where = f"{key}.terms[{i}]"
            if spec.kind == "previous_action" and spec.size != action_size:
                raise ConfigError(source, f"{where}.size", f"{spec.size} != the action size {action_size}")
            for lo_key, hi_key in (("low", "high"), ("lower", "upper")):
                if lo_key in spec.params and hi_key in spec.params:
                    lo, hi = spec.params[lo_key], spec.params[hi_key]
                    los = lo if isinstance(lo, list | tuple) else [lo]
                    his = hi if isinstance(hi, list | tuple) else [hi]
                    for k, vals in ((lo_key, los), (hi_key, his)):
                        for j, v in enumerate(vals):
                            if not _is_number(v):
                                at = f"{where}.params.{k}" + (f"[{j}]" if len(vals) > 1 else "")
                                raise ConfigError(source, at, f"expected a number, got {v!r}")
                    if len(los) != len(his):
                        raise ConfigError(
                            source, f"{where}.params.{hi_key}", f"{hi!r} does not pair with {lo_key} {lo!r}"
                        )
                    for j, (a, b) in enumerate(zip(los, his, strict=True)):
                        if a > b:
                            raise ConfigError(
                                source,
                                f"{where}.params.{lo_key}"
                                + (f"[{j}]" if isinstance(lo, list | tuple) else ""),
                                f"{a} > {hi_key} {b}",
                            )
    for i, spec in enumerate(action):
        dt = spec.params.get("dt_s")
        if dt is None:
            continue
        if not _is_number(dt) or not math.isclose(float(dt), 1.0 / control_rate_hz, rel_tol=1e-6):
            raise ConfigError(
                source,
                f"action.terms[{i}].params.dt_s",
                f"{dt} s contradicts control_rate_hz {control_rate_hz:g} "
                f"(period {1.0 / control_rate_hz:g} s)",
            )


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def robot_field_error(exc: ConfigError, source: str, prefix: str = "robot.") -> ConfigError:
    """A description loader's error (``mass_kg``) restated for the contract (``robot.mass_kg``)."""
    if exc.field in ("<root>", ""):
        return ConfigError(source, prefix.rstrip("."), exc.message)
    field_ = exc.field if exc.field.startswith(prefix) else f"{prefix}{exc.field}"
    return ConfigError(source, field_, exc.message)


def require_number(
    d: Mapping[str, Any], key: str, source: str, where: str, positive: bool = False, integer: bool = False
) -> float:
    """``d[key]``: a finite number (> 0 when ``positive``; an integer when ``integer``), or a
    ConfigError naming ``where.key``."""
    value = d.get(key)
    ok = _is_number(value) and math.isfinite(value) and (not integer or isinstance(value, int))
    if not ok or (positive and not value > 0):
        what = "an integer" if integer else "a finite number"
        raise ConfigError(
            source,
            f"{where}.{key}",
            "missing" if key not in d else f"expected {what}{' > 0' if positive else ''}, got {value!r}",
        )
    return float(value)


def require_numbers(
    d: Mapping[str, Any], key: str, n: int, source: str, where: str, positive: bool = False
) -> list[float]:
    """``d[key]``: a list of ``n`` finite numbers (each > 0 when ``positive``), naming ``where.key``."""
    value = d.get(key)
    if not isinstance(value, list | tuple) or len(value) != n:
        raise ConfigError(
            source, f"{where}.{key}", "missing" if key not in d else f"expected {n} numbers, got {value!r}"
        )
    out = []
    for i, v in enumerate(value):
        if not _is_number(v) or not math.isfinite(v) or (positive and not v > 0):
            raise ConfigError(
                source,
                f"{where}.{key}[{i}]",
                f"expected a finite number{' > 0' if positive else ''}, got {v!r}",
            )
        out.append(float(v))
    return out


def check_control_rate(contract: PolicyContract, control_rate_hz: float | None, source: str) -> None:
    """Refuse a node or evaluator that would query the policy at another rate than it was trained
    at (``control_rate_hz`` None: the caller takes the contract's).

    Raises:
        ContractMismatchError: naming ``control_rate_hz``.
    """
    if control_rate_hz is not None and not math.isclose(
        contract.control_rate_hz, control_rate_hz, rel_tol=1e-6
    ):
        raise ContractMismatchError(source, "control_rate_hz", contract.control_rate_hz, control_rate_hz)


def check_domain(contract: PolicyContract, domain: str, source: str) -> None:
    """Refuse a contract of another domain, naming ``domain``."""
    if contract.domain != domain:
        raise ContractMismatchError(source, "domain", contract.domain, domain)


def get_path(d: Mapping[str, Any], dotted: str) -> Any:
    """``d["a"]["b"]`` for ``"a.b"``."""
    for part in dotted.split("."):
        d = d[part]
    return d


def close(a: Any, b: Any, tol: float) -> bool:
    """Two equally long number sequences agree entry by entry within ``tol``."""
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= tol for x, y in zip(a, b, strict=True))
