"""Loading and running an exported policy: ONNX graph + the contract inside it.

:class:`OnnxPolicy` is the only way the project runs a trained policy, in the evaluator and on the
robot alike. Each domain's controller (:mod:`sim2real_runtime.controller`) wraps it with the
observation and action terms its contract names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from .contract import METADATA_KEY, PolicyContract
from .errors import ConfigError


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
