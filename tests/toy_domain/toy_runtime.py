"""The toy domain's runtime: a cart (point mass) on a 1-D rail, pushed by one force to a goal.

Everything the runtime needs from a domain, in one module (a real domain spreads it over
``sim2real_runtime/domains/<name>.py``, ``<name>_terms.py`` and ``<name>_control.py``): the
description (``assets/<cart>.yaml``), its observation and action terms, the contract of a cart,
the compatibility check, the safety layer, the controller, and the :class:`Domain`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_runtime.config_files import build_config, read_yaml, require_positive
from sim2real_runtime.contract import PolicyContract, check_control_rate, check_domain
from sim2real_runtime.controller import PolicyController
from sim2real_runtime.domains import Domain, register_domain, unregister_domain
from sim2real_runtime.errors import ConfigError, ContractMismatchError
from sim2real_runtime.policy import OnnxPolicy
from sim2real_runtime.terms import ActionTerm, ObsTerm, PreviousAction, TermSpec

NAME = "toy"
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
"""The toy domain's description files (``<cart>.yaml``)."""


# --------------------------------------------------------------------------- the description


@dataclass(frozen=True)
class RailCart:
    """One cart on a rail, read from ``assets/<name>.yaml``."""

    name: str
    mass_kg: float
    max_force_n: float
    """The actuator's force limit (N), both directions."""
    rail_half_length_m: float
    """The rail runs from -this to +this (m); the ends are hard stops."""
    max_speed_mps: float
    damping_per_s: float = 0.0
    """Viscous friction: deceleration per unit speed (1/s)."""
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        """What the contract records as ``robot``."""
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


def cart_file(name_or_path: str | Path) -> Path:
    """A cart name (``assets/<name>.yaml``) or a ``*.yaml`` path -> the file.

    Raises:
        ConfigError: an unknown name (listing the known ones) or a missing file.
    """
    p = Path(name_or_path)
    if p.suffix not in (".yaml", ".yml"):
        p = ASSETS_DIR / f"{name_or_path}.yaml"
        if not p.is_file():
            known = ", ".join(sorted(f.stem for f in ASSETS_DIR.glob("*.yaml")))
            raise ConfigError(str(name_or_path), "cart", f"unknown cart (known: {known})")
    if not p.is_file():
        raise ConfigError(str(p), "<file>", "no such file")
    return p


def load_cart(name_or_path: str | Path, **_: Any) -> RailCart:
    """Read a cart; every error names the file and the field."""
    p = cart_file(name_or_path)
    cart = build_config(RailCart, read_yaml(p), str(p))
    require_positive(cart, ("mass_kg", "max_force_n", "rail_half_length_m", "max_speed_mps"), str(p))
    return dataclasses.replace(cart, source=str(p))


# --------------------------------------------------------------------------- terms


def _column(signals: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    """``signals[key]`` as float64 [B, 1] with NaN -> 0 and infinities -> huge (then clipped)."""
    return np.nan_to_num(np.asarray(signals[key], dtype=np.float64).reshape(-1, 1))


class RailGoalOffset(ObsTerm):
    """(goal - position) in m, clipped to +-``clip_m`` and divided by it, float32 [B, 1]."""

    kind = "rail_goal_offset"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        c = float(self.spec.params["clip_m"])
        d = _column(signals, "goal_m") - _column(signals, "position_m")
        return (np.clip(d, -c, c) / c).astype(np.float32)


class RailPosition(ObsTerm):
    """The position over the rail's half length, clipped to [-1, 1], float32 [B, 1]."""

    kind = "rail_position"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        h = float(self.spec.params["half_length_m"])
        return np.clip(_column(signals, "position_m") / h, -1.0, 1.0).astype(np.float32)


class RailVelocity(ObsTerm):
    """The velocity over ``scale_mps``, clipped to [-1.5, 1.5], float32 [B, 1]."""

    kind = "rail_velocity"

    def __call__(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        s = float(self.spec.params["scale_mps"])
        return np.clip(_column(signals, "velocity_mps") / s, -1.5, 1.5).astype(np.float32)


class RailForce(ActionTerm):
    """A normalised action [B, 1] -> force (N) in [-max_force_n, max_force_n]; non-finite -> 0."""

    kind = "rail_force"

    def __call__(self, action: np.ndarray) -> np.ndarray:
        a = np.asarray(action, dtype=np.float64)
        a = np.clip(np.where(np.isfinite(a), a, 0.0), -1.0, 1.0)
        return float(self.spec.params["max_force_n"]) * a


def rail_specs(cart: RailCart, goal_clip_m: float) -> tuple[list[TermSpec], TermSpec]:
    """The observation and action terms of a policy for ``cart`` (training and the node alike)."""
    obs = [
        TermSpec("goal_offset", RailGoalOffset.kind, 1, "1", "goal (std_msgs/Float64) - position",
                 {"clip_m": goal_clip_m}),
        TermSpec("position", RailPosition.kind, 1, "1", "/joint_states position[rail_joint]",
                 {"half_length_m": cart.rail_half_length_m}),
        TermSpec("velocity", RailVelocity.kind, 1, "1", "/joint_states velocity[rail_joint]",
                 {"scale_mps": cart.max_speed_mps}),
        TermSpec("previous_action", PreviousAction.kind, 1, "1", "policy"),
    ]  # fmt: skip
    act = TermSpec(
        "force", RailForce.kind, 1, "N", "effort controller (std_msgs/Float64MultiArray) data[0]",
        {"max_force_n": cart.max_force_n},
    )  # fmt: skip
    return obs, act


# --------------------------------------------------------------------------- compatibility


def check_rail_compatible(
    contract: PolicyContract, cart: RailCart, source: str, control_rate_hz: float | None = None, **_: Any
) -> None:
    """Refuse a policy that does not fit ``cart``, naming the contract field.

    Raises:
        ContractMismatchError: another domain, another mass or rail (``robot.<field>``), a force
            beyond the cart's actuator, or another rate.
    """
    check_domain(contract, NAME, source)
    for key in ("mass_kg", "rail_half_length_m"):
        trained = contract.robot.get(key)
        actual = getattr(cart, key)
        if not isinstance(trained, int | float) or not math.isclose(trained, actual, rel_tol=1e-6):
            raise ContractMismatchError(source, f"robot.{key}", trained, actual)
    force = contract.action[0].params.get("max_force_n")
    if not isinstance(force, int | float) or force > cart.max_force_n + 1e-9:
        raise ContractMismatchError(source, "action.terms[force].params.max_force_n", force, cart.max_force_n)
    check_control_rate(contract, control_rate_hz, source)


# --------------------------------------------------------------------------- safety


class RailSafety:
    """The last layer before the actuator (training and the node alike): finite, inside
    +-``max_force_n``, never pushing into a rail end, zero when the position is unknown.
    Batched: force and position float [B, 1]."""

    def __init__(self, max_force_n: float, rail_half_length_m: float) -> None:
        self.max_force_n = float(max_force_n)
        self.rail_half_length_m = float(rail_half_length_m)
        self.low = np.array([-self.max_force_n])
        self.high = np.array([self.max_force_n])

    def __call__(self, force: np.ndarray, position_m: np.ndarray) -> np.ndarray:
        f = np.asarray(force, dtype=np.float64)
        x = np.asarray(position_m, dtype=np.float64)
        f = np.clip(np.where(np.isfinite(f), f, 0.0), -self.max_force_n, self.max_force_n)
        h = self.rail_half_length_m
        with np.errstate(invalid="ignore"):
            blocked = ~np.isfinite(x) | ((x >= h) & (f > 0)) | ((x <= -h) & (f < 0))
        return np.where(blocked, 0.0, f)


# --------------------------------------------------------------------------- controller


class RailController(PolicyController):
    """Policy + the contract's terms + :class:`RailSafety` for one cart: (position, velocity,
    goal) in, force (N) out.

    Raises:
        ContractMismatchError: the policy does not fit ``cart`` (see :func:`check_rail_compatible`).
    """

    def __init__(self, policy: OnnxPolicy, cart: RailCart, control_rate_hz: float | None = None) -> None:
        check_rail_compatible(policy.contract, cart, str(policy.path), control_rate_hz)
        super().__init__(policy)
        self.cart = cart
        self.safety = RailSafety(cart.max_force_n, cart.rail_half_length_m)

    def step(self, position_m: float, velocity_mps: float, goal_m: float) -> np.ndarray:
        """One policy step: the force (N), float [1]."""
        x = np.array([[position_m]], dtype=np.float64)
        signals = {
            "position_m": x,
            "velocity_mps": np.array([[velocity_mps]], dtype=np.float64),
            "goal_m": np.array([[goal_m]], dtype=np.float64),
        }
        action = self.infer(signals)
        return self.safety(self.action_terms[0](action), x)[0]


# --------------------------------------------------------------------------- the domain

DOMAIN = Domain(
    name=NAME,
    title="toy: a cart on a 1-D rail pushed to a goal",
    description_kind="cart file (tests/toy_domain/assets/<cart>.yaml)",
    description_file=cart_file,
    load_description=load_cart,
    observation_kinds=(RailGoalOffset.kind, RailPosition.kind, RailVelocity.kind, PreviousAction.kind),
    action_kinds=(RailForce.kind,),
    check_compatible=check_rail_compatible,
    safety=RailSafety,
    controller=RailController,
)


def register() -> Domain:
    """``register_domain(DOMAIN)`` (a real domain module does this on import)."""
    return register_domain(DOMAIN)


def unregister() -> None:
    unregister_domain(NAME)
