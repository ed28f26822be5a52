"""The registry of domains: every domain plugs into the contract, the nodes, training and the CLI
once, here.

A domain is a module in this package that calls :func:`register_domain` with a :class:`Domain`:
its one name (the spelling used by the CLI, the contract's ``domain`` field and the ROS package
``<name>_policy``), the kind of description file that describes one robot of it (a diff-drive
robot file, a vehicle file, a kinematic chain from a URDF), its observation and action term
kinds, its compatibility check, its safety layer and its controller (signals in, command out).
Every module in this package is imported on first use, so adding a domain adds a file here and
touches nothing else in the runtime.

Registering a name or an alias twice is an error, never a silent overwrite; asking for an
unknown domain names the ``domain`` field and lists the registered ones. No torch, MuJoCo or rclpy
here: this is what a robot installs.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..terms import ActionTerm, ObsTerm


@dataclass(frozen=True)
class Domain:
    """One domain of the pipeline, as the runtime knows it."""

    name: str
    """The one spelling: ``nav``, ``quad``, ``manip``... (CLI, contract, ``<name>_policy`` package)."""
    title: str
    """One line for people, e.g. ``navigation: differential-drive base + 2-D lidar``."""
    description_kind: str
    """What describes one robot of this domain, e.g. ``diff-drive robot file (robot.yaml)``."""
    description_file: Callable[[str | Path], Path]
    """A description name or path -> the file it resolves to (hashed into the training draft)."""
    load_description: Callable[..., Any]
    """``(name_or_path, **options) -> description`` (RobotConfig, VehicleConfig, SerialChain...)."""
    observation_kinds: tuple[str, ...]
    """Observation term kinds a contract of this domain may use (each a registered ObsTerm)."""
    action_kinds: tuple[str, ...]
    """Action term kinds (each a registered ActionTerm)."""
    check_compatible: Callable[..., None]
    """``(contract, description, source, control_rate_hz=None, **options)``: raises a
    ContractMismatchError naming the field when the policy does not fit the robot."""
    safety: type
    """The safety layer class between the policy and the robot."""
    controller: type
    """The controller class: ``controller(policy, description, ...)``, signals in, command out (a
    :class:`sim2real_runtime.controller.PolicyController`)."""
    aliases: tuple[str, ...] = ()
    """Earlier spellings read from schema-1 contracts (``navigation``...)."""
    validate_contract: Callable[..., None] | None = None
    """``(contract, source)``: the domain's part of strict contract loading, called by
    ``PolicyContract.from_dict`` after the generic checks. It checks the ``robot`` block against
    the domain's schema (every field required or defaulted, unknown fields refused; derive it from
    the description class where there is one, so the two stay in step) and the values the contract
    stores twice (a term parameter that repeats a robot field). Raises a ConfigError naming the
    field, e.g. ``robot.mass_kg``. None: the robot block only has to be a JSON object whose numbers
    are finite; nothing else about it is checked (and the compatibility check must then cope with
    whatever it holds)."""
    teleop: Callable[..., Any] | None = None
    """``(controller, config: TeleopConfig) -> TeleopMapping``: the domain's teleop command (a
    twist) mapped into its policy's action space (:mod:`sim2real_runtime.teleop.mapping`), which
    the policy node's takeover runs through the same action terms and safety layer. None: the
    domain has no teleop (a node refuses a ``teleop`` parameter other than ``none``)."""

    @property
    def node_package(self) -> str:
        """The ROS 2 package of the domain's node and I/O adapter (``<name>_policy``)."""
        return f"{self.name}_policy"


_DOMAINS: dict[str, Domain] = {}
_ALIASES: dict[str, str] = {}
_discovered = False


def register_domain(domain: Domain) -> Domain:
    """Add ``domain`` to the registry; returns it.

    Raises:
        ValueError: the name or an alias is taken, or a term kind it names is not registered.
    """
    for name in (domain.name, *domain.aliases):
        if name in _DOMAINS or name in _ALIASES:
            raise ValueError(f"domain {name!r} is already registered; a domain registers once")
    for kinds, registry, what in (
        (domain.observation_kinds, ObsTerm.registry, "observation"),
        (domain.action_kinds, ActionTerm.registry, "action"),
    ):
        unknown = [k for k in kinds if k not in registry]
        if unknown:
            raise ValueError(f"domain {domain.name!r}: unregistered {what} term kind(s) {unknown}")
    _DOMAINS[domain.name] = domain
    for alias in domain.aliases:
        _ALIASES[alias] = domain.name
    return domain


def unregister_domain(name: str) -> None:
    """Remove a domain (for tests that register a toy one)."""
    domain = _DOMAINS.pop(name)
    for alias in domain.aliases:
        _ALIASES.pop(alias, None)


def _discover() -> None:
    """Import every domain module of this package once (each registers itself)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        importlib.import_module(f"{__name__}.{info.name}")


def get_domain(name: Any, source: str = "<contract>", field: str = "domain") -> Domain:
    """The registered domain called ``name`` (or an earlier spelling of it).

    Raises:
        ConfigError: naming ``source`` and ``field`` and listing the registered domains.
    """
    _discover()
    key = _ALIASES.get(name, name) if isinstance(name, str) else None
    if key not in _DOMAINS:
        raise ConfigError(source, field, f"unknown domain {name!r} (registered: {', '.join(_DOMAINS)})")
    return _DOMAINS[key]


def all_domains() -> tuple[Domain, ...]:
    """Every registered domain, in registration order."""
    _discover()
    return tuple(_DOMAINS.values())
