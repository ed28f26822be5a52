"""Running a navigation policy on a differential-drive robot: the compatibility check of a
contract against a robot file, and :class:`NavController`, which turns a raw scan, odometry and a
goal into a safe (v, w) with the very terms training used (and the collision guard, where the
policy was trained with it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .contract import PolicyContract, check_control_rate, check_domain, get_path
from .controller import PolicyController
from .errors import ContractMismatchError
from .nav_fallback import DwaFallback
from .nav_terms import scan_fault
from .policy import OnnxPolicy
from .robot import RobotConfig
from .safety import CollisionGuard

# Robot fields a navigation policy depends on, with the absolute tolerance of the comparison.
_EXACT_NAV_FIELDS: dict[str, float] = {
    "footprint_length_m": 0.01,
    "footprint_width_m": 0.01,
    "lidar.num_beams": 0.0,
    "lidar.fov_rad": 1e-3,
    "lidar.mount_x_m": 0.02,
}


def twist_limit_violation(
    low: Sequence[float], high: Sequence[float], accel: Sequence[float], robot: RobotConfig
) -> tuple[str, float, float, str] | None:
    """The first entry of a twist action's limits (``low`` / ``high`` [2]: m/s, rad/s; ``accel``
    [2]: m/s^2, rad/s^2) that ``robot`` cannot execute, as (entry such as ``high[0]``, the value,
    the robot's limit, the robot field), or None when it can execute them all."""
    r = robot
    # (entry, value, the robot's limit, the robot field, whether the limit bounds from above)
    checks = (
        ("low[0]", low[0], r.min_linear_speed_mps, "min_linear_speed_mps", False),
        ("high[0]", high[0], r.max_linear_speed_mps, "max_linear_speed_mps", True),
        ("high[1]", high[1], r.max_angular_speed_radps, "max_angular_speed_radps", True),
        ("low[1]", low[1], -r.max_angular_speed_radps, "max_angular_speed_radps", False),
        ("accel[0]", accel[0], r.max_linear_accel_mps2, "max_linear_accel_mps2", True),
        ("accel[1]", accel[1], r.max_angular_accel_radps2, "max_angular_accel_radps2", True),
    )
    for entry, value, limit, field_, upper in checks:
        if not (value <= limit + 1e-9 if upper else value >= limit - 1e-9):
            return entry, value, limit, field_
    return None


def check_nav_compatible(
    contract: PolicyContract, robot: RobotConfig, source: str, control_rate_hz: float | None = None
) -> None:
    """Refuse to drive ``robot`` with a policy whose contract does not fit it.

    Checks the geometry and sensor fields the observation depends on, that the robot can execute
    the policy's action range and accelerations, and (if given) the control rate.

    Raises:
        ContractMismatchError: naming the first mismatching contract field.
    """
    check_domain(contract, "nav", source)
    trained = contract.robot
    actual = robot.as_dict()
    for key, tol in _EXACT_NAV_FIELDS.items():
        want, have = get_path(trained, key), get_path(actual, key)
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
        p = spec.params
        bad = twist_limit_violation(p["low"], p["high"], p["accel"], robot)
        if bad is not None:
            entry, want, have, _ = bad
            raise ContractMismatchError(source, f"action.{spec.name}.params.{entry}", want, have)
    check_control_rate(contract, control_rate_hz, source)


def contract_wants_fallback(contract: PolicyContract) -> bool:
    """Whether the contract's twist action asks for the runtime's DWA fallback
    (``action.<name>.params.dwa_fallback``; absent, as in policies exported before it: False)."""
    return any(bool(spec.params.get("dwa_fallback", False)) for spec in contract.action)


class NavController(PolicyController):
    """Navigation policy + the contract's observation and action terms for one robot.

    A scan that cannot be trusted (:func:`sim2real_runtime.nav_terms.scan_fault`: too many invalid
    beams, or none measured) gives a zero command without running the policy (:meth:`scan_fault`
    says why). ``fallback``: the DWA planner checks every command's arc and drives when the robot
    is stuck (:class:`~sim2real_runtime.nav_fallback.DwaFallback`); None: as the contract asks
    (:func:`contract_wants_fallback`). ``collision_guard`` None: as in training.

    Raises :class:`~sim2real_runtime.errors.ContractMismatchError` at construction if the policy was
    trained for a different robot.
    """

    def __init__(
        self,
        policy: OnnxPolicy,
        robot: RobotConfig,
        control_rate_hz: float | None = None,
        collision_guard: bool | None = None,
        fallback: bool | None = None,
    ) -> None:
        check_nav_compatible(policy.contract, robot, str(policy.path), control_rate_hz)
        period = 1.0 / policy.contract.control_rate_hz
        if collision_guard is None:  # as in training (policies exported before the flag had none)
            collision_guard = bool(policy.contract.action[0].params.get("collision_guard", False))
        self.guard = CollisionGuard(robot, period) if collision_guard else None
        self.robot = robot
        # DWA checks the policy's arcs and takes over when the robot is stuck (nav_fallback).
        if fallback is None:  # as the contract asks (policies exported before the flag had none)
            fallback = contract_wants_fallback(policy.contract)
        self.fallback = DwaFallback(robot, policy.contract.control_rate_hz) if fallback else None
        super().__init__(policy)
        self.action_term = self.action_terms[0]
        self.reset()

    def reset(self) -> None:
        """Forget the previous action and command (call at every new goal)."""
        super().reset()
        self.prev_cmd = np.zeros((1, 2))
        self.last_cap: np.ndarray | None = None  # the guard's speed cap [1] (m/s) at the last step
        if getattr(self, "fallback", None) is not None:
            self.fallback.reset()

    def scan_fault(self, ranges_m: np.ndarray) -> str | None:
        """Why the scan [num_beams] cannot be trusted for this robot's lidar, or None."""
        return scan_fault(ranges_m, self.robot.lidar)

    def step(
        self,
        ranges_m: np.ndarray,
        pose: np.ndarray,
        twist: np.ndarray,
        goal_xy: np.ndarray,
        scan_checked: bool = False,
    ) -> np.ndarray:
        """One control step: raw scan [num_beams], pose [3], twist [2], goal [2] -> command (v, w) [2].

        An untrusted scan (:meth:`scan_fault`) gives (0, 0) at once and forgets the previous
        command, as a stop does. ``scan_checked``: the caller has refused untrusted scans already
        (the node checks every scan on arrival), so the check is not run twice."""
        if not scan_checked and self.scan_fault(ranges_m) is not None:
            self.prev_cmd = np.zeros((1, 2))
            self.last_cap = np.zeros(1)
            return np.zeros(2)
        signals = {
            "scan_ranges": np.asarray(ranges_m, dtype=np.float32)[None],
            "pose": np.asarray(pose, dtype=np.float64)[None],
            "goal_xy": np.asarray(goal_xy, dtype=np.float64)[None],
            "twist": np.asarray(twist, dtype=np.float64)[None],
        }
        if self.fallback is None:
            return self._command(self.infer(signals), signals["scan_ranges"])
        cmd = self.fallback.step(
            lambda: self._command(self.infer(signals), signals["scan_ranges"]), ranges_m, pose, twist, goal_xy
        )
        if self.fallback.source != "policy":  # DWA drove: the next action is rate-limited from it
            if self.guard is not None:  # one safety layer for every source: DWA's command too
                self.last_cap = self.guard.max_speed(signals["scan_ranges"])
                cmd = self.guard.apply(cmd[None], self.last_cap)[0]
            self.prev_cmd = cmd[None].copy()
            self.prev_action = np.zeros_like(self.prev_action)
        return cmd

    def act(
        self,
        action: np.ndarray,
        ranges_m: np.ndarray,
        pose: np.ndarray,
        twist: np.ndarray,
        goal_xy: np.ndarray,
    ) -> np.ndarray:
        """A control step with an action [2] from outside the policy (a teleop command mapped into
        the action space), through the same action term and collision guard -> command (v, w) [2].
        Arguments as for :meth:`step`; the observation is computed as for the policy (``last_obs``)
        and the action is the next previous action."""
        signals = {
            "scan_ranges": np.asarray(ranges_m, dtype=np.float32)[None],
            "pose": np.asarray(pose, dtype=np.float64)[None],
            "goal_xy": np.asarray(goal_xy, dtype=np.float64)[None],
            "twist": np.asarray(twist, dtype=np.float64)[None],
        }
        return self._command(self.act_from_outside(signals, action), signals["scan_ranges"])

    def _command(self, action: np.ndarray, scan: np.ndarray) -> np.ndarray:
        cmd = self.action_term(action, self.prev_cmd)
        if self.guard is not None:
            self.last_cap = self.guard.max_speed(scan)
            cmd = self.guard.apply(cmd, self.last_cap)
        self.prev_cmd = cmd
        return cmd[0]
