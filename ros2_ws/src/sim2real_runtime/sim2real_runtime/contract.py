"""The policy contract: everything a deployment must agree on with training, in one JSON document.

It travels inside ``policy.onnx`` (``metadata_props["sim2real_contract"]``) and beside it as
``policy.yaml``. Loading is strict: the ``domain`` must be a registered domain
(:mod:`sim2real_runtime.domains`), every term kind one of that domain's, and values stored twice
must agree; each refusal names the field. Whether a contract fits a given robot is the domain's
compatibility check (``get_domain(contract.domain).check_compatible``).

Schema history: 1 spelled the domains ``navigation`` / ``quadrotor`` / ``manipulation``; 2 uses
the registry's names (``nav`` / ``quad`` / ``manip``). A schema-1 contract is read as schema 2.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
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
        """Parse and validate a contract; errors name the field."""
        if not isinstance(d, dict):
            raise ConfigError(source, "<root>", "contract is not a JSON object")
        for key in ("schema_version", "domain", "robot", "control_rate_hz", "observation", "action"):
            if key not in d:
                raise ConfigError(source, key, "missing")
        if d["schema_version"] not in SUPPORTED_SCHEMA_VERSIONS:
            raise ConfigError(
                source,
                "schema_version",
                f"unsupported version {d['schema_version']!r} (this reads {SUPPORTED_SCHEMA_VERSIONS})",
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

        def terms(key: str, kinds: tuple[str, ...]) -> tuple[TermSpec, ...]:
            block = d[key]
            if not isinstance(block, dict) or not isinstance(block.get("terms"), list):
                raise ConfigError(source, f"{key}.terms", "missing or not a list")
            out = []
            for i, t in enumerate(block["terms"]):
                try:
                    spec = TermSpec(**t)
                except TypeError as exc:
                    raise ConfigError(source, f"{key}.terms[{i}]", f"malformed term: {exc}") from exc
                if spec.kind not in kinds:
                    raise ConfigError(
                        source,
                        f"{key}.terms[{i}].kind",
                        f"{spec.kind!r} is not a {key} term kind of domain {domain.name!r} "
                        f"(known: {', '.join(kinds)})",
                    )
                out.append(spec)
            size = sum(t.size for t in out)
            if block.get("size", size) != size:
                raise ConfigError(source, f"{key}.size", f"{block['size']} != sum of term sizes {size}")
            return tuple(out)

        observation = terms("observation", domain.observation_kinds)
        action = terms("action", domain.action_kinds)
        _check_derived(source, float(rate), action)
        return PolicyContract(
            domain=domain.name,
            robot=d["robot"],
            control_rate_hz=float(rate),
            observation=observation,
            action=action,
            joint_names=tuple(d.get("joint_names", ())),
            recurrent_state=tuple(d.get("recurrent_state", ())),
            provenance=d.get("provenance", {}),
            evaluation=d.get("evaluation", {}),
            schema_version=SCHEMA_VERSION,
        )

    @staticmethod
    def from_json(text: str, source: str = "<contract>") -> PolicyContract:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(source, METADATA_KEY, f"not valid JSON: {exc}") from exc
        return PolicyContract.from_dict(d, source)


def _check_derived(source: str, control_rate_hz: float, action: tuple[TermSpec, ...]) -> None:
    """Values the contract stores twice must agree: an action term's period ``dt_s`` is
    ``1 / control_rate_hz`` (a policy whose rate-limits were computed for another period would be
    accepted and run at the wrong rate)."""
    for i, spec in enumerate(action):
        dt = spec.params.get("dt_s")
        if dt is not None and not math.isclose(float(dt), 1.0 / control_rate_hz, rel_tol=1e-6):
            raise ConfigError(
                source,
                f"action.terms[{i}].params.dt_s",
                f"{dt} s contradicts control_rate_hz {control_rate_hz:g} "
                f"(period {1.0 / control_rate_hz:g} s)",
            )


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
