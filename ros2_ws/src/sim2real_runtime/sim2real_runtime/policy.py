"""Loading and running an exported policy: ONNX graph + the contract inside it.

:class:`OnnxPolicy` is the only way the project runs a trained policy, in the evaluator and on the
robot alike. :class:`NavController` wraps it with the navigation observation and action terms that
the contract names, so a caller hands in raw sensor data and gets a safe (v, w) back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from .contract import METADATA_KEY, PolicyContract, check_compatible
from .errors import ConfigError
from .robot import RobotConfig
from .safety import CollisionGuard
from .terms import Observation, action_from_spec


def policy_file(path: str | Path) -> Path:
    """``policy.onnx`` itself, or the ``policy.onnx`` inside a policy directory."""
    p = Path(path)
    if p.is_dir():
        p = p / "policy.onnx"
    if not p.is_file():
        raise ConfigError(str(p), "<file>", "no such policy file")
    return p


def _session(p: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several types for corrupt or invalid graphs
        raise ConfigError(str(p), "<onnx>", f"not a loadable ONNX model: {exc}") from exc


def _contract_of(session: ort.InferenceSession, p: Path) -> PolicyContract:
    meta = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in meta:
        raise ConfigError(str(p), f"metadata_props.{METADATA_KEY}", "missing: not a sim2real policy")
    return PolicyContract.from_json(meta[METADATA_KEY], str(p))


def read_contract(path: str | Path) -> PolicyContract:
    """The contract stored in an ONNX file's metadata (read with onnxruntime: no onnx package needed)."""
    p = policy_file(path)
    return _contract_of(_session(p), p)


class OnnxPolicy:
    """An exported policy: ``obs`` float32 [1, N] -> ``actions`` float32 [1, A].

    One onnxruntime session, one thread, sequential execution: the policies are small and the
    robot's other processes need the cores more than the MLP does.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = policy_file(path)
        self.session = _session(self.path)
        self.contract = _contract_of(self.session, self.path)
        inp = self.session.get_inputs()[0]
        out = self.session.get_outputs()[0]
        if inp.name != "obs" or out.name != "actions":
            raise ConfigError(
                str(self.path),
                "<onnx graph>",
                f"expected input 'obs' and output 'actions', got {inp.name!r} -> {out.name!r}",
            )
        if inp.shape[-1] != self.contract.obs_size:
            raise ConfigError(
                str(self.path),
                "observation.size",
                f"graph input has {inp.shape[-1]} entries, contract says {self.contract.obs_size}",
            )
        if out.shape[-1] != self.contract.action_size:
            raise ConfigError(
                str(self.path),
                "action.size",
                f"graph output has {out.shape[-1]} entries, contract says {self.contract.action_size}",
            )

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Raw policy output float32 [B, A] for observations [B, N]."""
        return self.session.run(["actions"], {"obs": np.asarray(obs, dtype=np.float32)})[0]


class NavController:
    """Navigation policy + the contract's observation and action terms for one robot.

    Raises :class:`~sim2real_runtime.errors.ContractMismatchError` at construction if the policy was
    trained for a different robot.
    """

    def __init__(
        self,
        policy: OnnxPolicy,
        robot: RobotConfig,
        control_rate_hz: float | None = None,
        collision_guard: bool | None = None,
    ) -> None:
        check_compatible(policy.contract, robot, str(policy.path), control_rate_hz)
        period = 1.0 / policy.contract.control_rate_hz
        if collision_guard is None:  # as in training (policies exported before the flag had none)
            collision_guard = bool(policy.contract.action[0].params.get("collision_guard", False))
        self.guard = CollisionGuard(robot, period) if collision_guard else None
        self.policy = policy
        self.robot = robot
        self.observation = Observation(policy.contract.observation)
        self.action_term = action_from_spec(policy.contract.action[0])
        self.control_rate_hz = policy.contract.control_rate_hz
        self.reset()

    def reset(self) -> None:
        """Forget the previous action and command (call at every new goal)."""
        self.prev_action = np.zeros((1, self.policy.contract.action_size), dtype=np.float32)
        self.prev_cmd = np.zeros((1, 2))
        self.last_obs: np.ndarray | None = None
        self.last_cap: np.ndarray | None = None  # the guard's speed cap [1] (m/s) at the last step

    def step(
        self, ranges_m: np.ndarray, pose: np.ndarray, twist: np.ndarray, goal_xy: np.ndarray
    ) -> np.ndarray:
        """One control step: raw scan [num_beams], pose [3], twist [2], goal [2] -> command (v, w) [2]."""
        signals = {
            "scan_ranges": np.asarray(ranges_m, dtype=np.float32)[None],
            "pose": np.asarray(pose, dtype=np.float64)[None],
            "goal_xy": np.asarray(goal_xy, dtype=np.float64)[None],
            "twist": np.asarray(twist, dtype=np.float64)[None],
            "prev_action": self.prev_action,
        }
        obs = self.observation(signals)
        self.last_obs = obs  # kept for logging and for the tests that compare it with training's
        action = self.policy(obs)
        cmd = self.action_term(action, self.prev_cmd)
        if self.guard is not None:
            self.last_cap = self.guard.max_speed(signals["scan_ranges"])
            cmd = self.guard.apply(cmd, self.last_cap)
        a = np.where(np.isfinite(action), action, 0.0)
        self.prev_action = np.minimum(np.maximum(a, -1.0), 1.0).astype(np.float32)
        self.prev_cmd = cmd
        return cmd[0]
