"""What every domain's controller shares: the policy, the contract's observation and action terms,
the previous action, and the seam where a new policy is swapped in between two control steps.

A domain's controller (``NavController``, ``QuadController``, ``ManipController``...) subclasses
:class:`PolicyController`, checks that the policy fits its robot description, turns the domain's
signals into the signal dict its terms read, calls :meth:`PolicyController.infer`, and maps the
action to a command through its action terms and safety layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .contract import PolicyContract
from .errors import ContractMismatchError
from .policy import OnnxPolicy
from .terms import Observation, action_from_spec

SWAP_FIELDS = ("domain", "control_rate_hz", "robot", "joint_names", "observation", "action")
"""Contract fields a swapped-in policy must share with the running one (the interface; provenance
and evaluation may differ)."""


class PolicyController:
    """Policy + the contract's terms for one robot, batch size 1 (the robot).

    Attributes:
        policy: the running :class:`OnnxPolicy`.
        observation: the contract's observation terms.
        action_terms: the contract's action terms, in contract order.
        control_rate_hz: the contract's rate (Hz).
        prev_action: float32 [1, A], the last policy output clipped to [-1, 1] (NaN -> 0).
        last_obs: float32 [1, N], the last observation (for logging and tests), None before any.
    """

    def __init__(self, policy: OnnxPolicy) -> None:
        self.policy = policy
        c = policy.contract
        self.observation = Observation(c.observation)
        self.action_terms = [action_from_spec(s) for s in c.action]
        self.control_rate_hz = c.control_rate_hz
        PolicyController.reset(self)

    @property
    def contract(self) -> PolicyContract:
        return self.policy.contract

    def reset(self) -> None:
        """Forget the previous action (call when control (re)starts)."""
        self.prev_action = np.zeros((1, self.policy.contract.action_size), dtype=np.float32)
        self.last_obs: np.ndarray | None = None

    def infer(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        """Observation from ``signals`` (single-row arrays; ``prev_action`` is added here), the
        policy's raw action float32 [1, A]; remembers the action for the next observation."""
        action = self.policy(self.observe(signals))
        self.prev_action = clip_action(action)
        return action

    def observe(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        """The observation float32 [1, N] of ``signals`` (``prev_action`` is added here), kept as
        :attr:`last_obs`; :meth:`infer` runs the policy on it."""
        signals["prev_action"] = self.prev_action
        self.last_obs = self.observation(signals)
        return self.last_obs

    def act_from_outside(self, signals: dict[str, np.ndarray], action: np.ndarray) -> np.ndarray:
        """A control step whose action comes from outside the policy (a teleop command mapped into
        the action space): the observation is computed as for the policy (so a recorder sees the
        same state), the action [A] becomes the next previous action; returns it float32 [1, A]."""
        self.observe(signals)
        a = np.asarray(action, dtype=np.float32).reshape(1, -1)
        self.prev_action = clip_action(a)
        return a

    def swap_policy(self, policy: OnnxPolicy) -> None:
        """Run ``policy`` from the next control step on, keeping the controller's state (previous
        action, targets): call it between two steps. The new policy must have the same interface
        (domain, rate, robot, joints, observation and action terms) as the running one.

        Raises:
            ContractMismatchError: naming the first field that differs; the running policy stays.
        """
        old, new = self.policy.contract.to_dict(), policy.contract.to_dict()
        for key in SWAP_FIELDS:
            diff = first_difference(new[key], old[key], key)
            if diff is not None:
                raise ContractMismatchError(str(policy.path), *diff)
        self.policy = policy


def clip_action(action: np.ndarray) -> np.ndarray:
    """An action float32 [B, A] clipped to [-1, 1], non-finite entries 0 (the previous action)."""
    a = np.where(np.isfinite(action), action, 0.0)
    return np.minimum(np.maximum(a, -1.0), 1.0).astype(np.float32)


def first_difference(a: Any, b: Any, path: str) -> tuple[str, Any, Any] | None:
    """The first leaf where two JSON-like values differ: (dotted path, a's value, b's value), or
    None when they are equal. Terms are named by their ``name`` (``observation.terms[goal].size``)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in [*a, *(k for k in b if k not in a)]:
            if k not in a or k not in b:
                return f"{path}.{k}", a.get(k, "<absent>"), b.get(k, "<absent>")
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d is not None:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (length)", len(a), len(b)
        for i, (x, y) in enumerate(zip(a, b)):
            label = x.get("name", i) if isinstance(x, Mapping) else i
            d = first_difference(x, y, f"{path}[{label}]")
            if d is not None:
                return d
        return None
    return None if a == b else (path, a, b)
