"""One ONNX file for base + residual: ``actions = base(obs) + scale * tanh(f(obs, base(obs)))``.

The base policy's own ONNX graph is copied in unchanged (its nodes and weights prefixed
``base/``), the residual is exported from torch (prefixed ``residual/``), and one ``Add`` joins
them. The graph keeps the base's interface (``obs`` [B, N] -> ``actions`` [B, A]) and the contract
is the base's with a new provenance::

    provenance.trainer = "residual"
    provenance.base = {path, sha256 (of the base's policy.onnx), provenance (the base's)}
    provenance.residual = {scale (per action entry), ... the fine-tuning run's provenance}

so every node runs it unchanged (their action terms clip as for any policy) and a hot reload
accepts it in place of the base. Before anything is written, onnxruntime on the combined file is
checked against onnxruntime on the base + torch on the residual; the folder is written through
:func:`sim2real.onnx_export.swap_in` (whole or not at all).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import compose, helper

from sim2real_runtime.contract import METADATA_KEY, PolicyContract
from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.policy import policy_file, read_contract

from ..onnx_export import EXPORT_TOLERANCE, ExportCheckError, check_out_dir, write_policy_dir
from .nets import ResidualActor


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def residual_onnx(actor: ResidualActor, obs_size: int, action_size: int) -> onnx.ModelProto:
    """The residual alone: ``obs`` [B, N], ``base_action`` [B, A] -> ``residual`` [B, A]."""
    batch = torch.export.Dim("batch")
    program = torch.onnx.export(
        actor.eval(),
        (torch.zeros(1, obs_size), torch.zeros(1, action_size)),
        None,
        input_names=["obs", "base_action"],
        output_names=["residual"],
        opset_version=18,
        dynamic_shapes=({0: batch}, {0: batch}),
        verbose=False,
    )
    return program.model_proto


def _opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def compose_models(base: onnx.ModelProto, residual: onnx.ModelProto) -> onnx.ModelProto:
    """``obs -> base -> (+ residual(obs, base)) -> actions``; both graphs kept, names prefixed.

    Raises:
        Sim2RealError: the base graph is not ``obs -> actions``.
    """
    b_in = [i.name for i in base.graph.input]
    b_out = [o.name for o in base.graph.output]
    if b_in != ["obs"] or b_out != ["actions"]:
        raise Sim2RealError(f"base graph: expected input 'obs' and output 'actions', got {b_in} -> {b_out}")
    opset = max(_opset(base), _opset(residual))
    if _opset(base) != opset:
        base = onnx.version_converter.convert_version(base, opset)
    if _opset(residual) != opset:
        residual = onnx.version_converter.convert_version(residual, opset)
    base = compose.add_prefix(base, "base/")
    residual = compose.add_prefix(residual, "residual/")
    joins = [
        helper.make_node("Identity", ["obs"], ["base/obs"], name="feed_base"),
        helper.make_node("Identity", ["obs"], ["residual/obs"], name="feed_residual_obs"),
        helper.make_node("Identity", ["base/actions"], ["residual/base_action"], name="feed_residual_base"),
        helper.make_node(
            "Add", ["base/actions", "residual/residual"], ["actions"], name="base_plus_residual"
        ),
    ]
    obs_in = onnx.ValueInfoProto()
    obs_in.CopyFrom(base.graph.input[0])
    obs_in.name = "obs"
    act_out = onnx.ValueInfoProto()
    act_out.CopyFrom(base.graph.output[0])
    act_out.name = "actions"
    graph = helper.make_graph(
        [joins[0], joins[1], *base.graph.node, joins[2], *residual.graph.node, joins[3]],
        "base_plus_residual",
        [obs_in],
        [act_out],
        initializer=[*base.graph.initializer, *residual.graph.initializer],
        value_info=[*base.graph.value_info, *residual.graph.value_info],
    )
    opsets = {o.domain: o.version for o in [*base.opset_import, *residual.opset_import]}
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
        functions=[*base.functions, *residual.functions],
        producer_name="sim2real",
    )
    model.ir_version = max(base.ir_version, residual.ir_version)
    onnx.checker.check_model(model)
    return model


INHERITED = ("config", "simulator", "description_files", "task")
"""Base provenance entries the combined policy's contract repeats at the top level."""


def residual_contract(
    base_path: Path, scale: list[float], residual_provenance: dict[str, Any]
) -> PolicyContract:
    """The base's contract with the residual's provenance (the interface stays the base's);
    ``scale``: the largest residual per action entry [A]."""
    p = policy_file(base_path)
    base = read_contract(p)
    d = base.to_dict()
    # the task-level facts evaluators and bridges read (the task config the base was trained
    # with, its simulator and description files) stay where they are in every policy's contract
    kept = {k: base.provenance[k] for k in INHERITED if k in base.provenance}
    d["provenance"] = {
        **kept,
        **{k: v for k, v in residual_provenance.items() if k not in ("base", "residual")},
        "trainer": "residual",
        "base": {"path": str(p), "sha256": file_sha256(p), "provenance": dict(base.provenance)},
        "residual": {"scale": scale, **residual_provenance.get("residual", {})},
    }
    d["evaluation"] = {}
    return PolicyContract.from_dict(d, f"<residual on {p}>")


def export_residual(
    actor: ResidualActor,
    base_path: Path,
    contract: PolicyContract,
    out_dir: Path,
    overwrite: bool = False,
    extra_files: dict[str, Path] | None = None,
    check_rows: int = 512,
) -> Path:
    """Write ``out_dir/policy.onnx`` (base + residual) + ``policy.yaml``; returns ``out_dir``.

    Raises:
        Sim2RealError: ``out_dir`` exists and not ``overwrite``; the base's sha256 is not the one
            ``contract`` records (the base changed since training).
        ExportCheckError: the combined graph differs from base (onnxruntime) + residual (torch).
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir, overwrite)
    bp = policy_file(base_path)
    recorded = contract.provenance.get("base", {}).get("sha256")
    if recorded != file_sha256(bp):
        raise Sim2RealError(
            f"{bp}: provenance.base.sha256: the base policy file changed since fine-tuning "
            f"(recorded {str(recorded)[:12]}..., now {file_sha256(bp)[:12]}...)"
        )
    base_model = onnx.load(str(bp))
    model = compose_models(base_model, residual_onnx(actor, contract.obs_size, contract.action_size))
    del model.metadata_props[:]
    meta = model.metadata_props.add()
    meta.key, meta.value = METADATA_KEY, contract.to_json()
    blob = model.SerializeToString()

    rng = np.random.default_rng(0)
    mean, std = actor.norm.mean.numpy(), actor.norm.std.numpy()
    obs = (mean + std * rng.standard_normal((check_rows, contract.obs_size)) * 2.0).astype(np.float32)
    base_sess = ort.InferenceSession(bp.read_bytes(), providers=["CPUExecutionProvider"])
    base_act = base_sess.run(["actions"], {"obs": obs})[0]
    with torch.no_grad():
        ref = base_act + actor(torch.from_numpy(obs), torch.from_numpy(base_act)).numpy()
    got = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(["actions"], {"obs": obs})[0]
    err = float(np.abs(got - ref).max())
    if not err <= EXPORT_TOLERANCE:
        raise ExportCheckError(f"combined ONNX differs from base + residual by {err:.3g}; nothing written")

    return write_policy_dir(out_dir, blob, contract, err, extra_files, overwrite)
