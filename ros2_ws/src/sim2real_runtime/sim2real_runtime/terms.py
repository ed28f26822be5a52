"""Observation and action terms: plain numpy functions shared by training and deployment.

A term is built from a :class:`TermSpec` (name, kind, units, source, parameters). Training builds
the terms, writes their specs into the policy contract, and the deployment node rebuilds the very
same terms from the contract it loads, so the numbers a policy sees on the robot are computed by
the code that computed them in simulation. All functions are batched: inputs carry a leading
batch dimension B (B = 1 on the robot).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class TermSpec:
    """How one slice of the observation (or action) vector is produced; stored in the contract."""

    name: str
    """Unique name within the observation (or action)."""
    kind: str
    """Registered term class name, e.g. ``lidar_sectors``."""
    size: int
    """Number of entries this term contributes."""
    units: str
    """Physical units of the entries, e.g. ``m``, ``m/s``, ``1`` (dimensionless)."""
    source: str
    """Where the raw data comes from on the robot: topic (message type) and field."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Preprocessing parameters (beam count, clip, pooling...); JSON-serialisable."""

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["params"] = dict(self.params)
        return d


def _register(registry: dict[str, Any], cls: type, what: str) -> None:
    """Add a term class under its ``kind``; a kind registered twice is an error (two classes
    computing one kind differently would make a contract mean two things)."""
    other = registry.get(cls.kind)  # type: ignore[attr-defined]
    if other is not None and (other.__module__, other.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(
            f"{what} term kind {cls.kind!r} is already registered by "  # type: ignore[attr-defined]
            f"{other.__module__}.{other.__qualname__}; "
            f"pick another kind for {cls.__module__}.{cls.__qualname__}"
        )
    registry[cls.kind] = cls  # type: ignore[attr-defined]


class ObsTerm:
    """Base class: subclasses set ``kind`` and implement ``__call__(signals) -> [B, size]``."""

    kind: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[ObsTerm]]] = {}

    def __init__(self, spec: TermSpec) -> None:
        self.spec = spec

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _register(ObsTerm.registry, cls, "observation")

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError


class PreviousAction(ObsTerm):
    """The previous normalised policy action, float [B, A], each entry in [-1, 1]."""

    kind = "previous_action"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray(signals["prev_action"], dtype=np.float32)


class Observation:
    """An ordered list of observation terms; ``__call__`` concatenates them into float32 [B, N]."""

    def __init__(self, specs: list[TermSpec] | tuple[TermSpec, ...]) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate observation term names: {names}")
        unknown = [s.kind for s in specs if s.kind not in ObsTerm.registry]
        if unknown:
            raise ValueError(f"unknown observation term kind(s) {unknown}; known: {sorted(ObsTerm.registry)}")
        self.specs = tuple(specs)
        self.terms = [ObsTerm.registry[s.kind](s) for s in specs]
        self.size = sum(s.size for s in specs)

    def slices(self) -> dict[str, slice]:
        """Name -> slice of the observation vector."""
        out, i = {}, 0
        for s in self.specs:
            out[s.name] = slice(i, i + s.size)
            i += s.size
        return out

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        parts = [t(signals) for t in self.terms]
        return np.concatenate(parts, axis=1).astype(np.float32, copy=False)


class ActionTerm:
    """Base class of action terms: subclasses set ``kind`` and map a normalised action [B, A] to
    a command in physical units; the contract names the kind and its parameters."""

    kind: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[ActionTerm]]] = {}
    discrete: ClassVar[bool] = False
    """True for a switch (the command is the action's sign, e.g. a gripper's close / open): a
    small correction cannot change it, so residual fine-tuning lets such entries have their own
    residual range (:attr:`sim2real.residual.learner.ResidualConfig.discrete_scale`)."""

    def __init__(self, spec: TermSpec) -> None:
        self.spec = spec

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _register(ActionTerm.registry, cls, "action")


def action_from_spec(spec: TermSpec) -> Any:
    """Build the action term of a contract's action spec; an unknown kind is refused naming it."""
    cls = ActionTerm.registry.get(spec.kind)
    if cls is None:
        raise ValueError(
            f"unknown action kind {spec.kind!r}; known: {', '.join(sorted(ActionTerm.registry))}"
        )
    return cls(spec)
