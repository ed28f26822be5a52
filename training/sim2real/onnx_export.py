"""Writing a trained actor as ``policy.onnx`` + ``policy.yaml``, for every domain.

The ONNX graph takes ``obs`` float32 [B, N] and returns ``actions`` float32 [B, A]; the observation
normaliser is inside the graph. The contract (:mod:`sim2real_runtime.contract`) is stored in the
graph's ``metadata_props`` and written beside it as YAML. onnxruntime is checked against torch on
random observations before anything is written; on a mismatch nothing is written. The policy
folder is written whole to a temporary sibling and swapped in; an existing one is replaced only
when asked (``overwrite``), and then nothing of it survives.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
import yaml
from tensordict import TensorDict

from sim2real_runtime.contract import METADATA_KEY, PolicyContract
from sim2real_runtime.errors import Sim2RealError

from .gitinfo import git_commit
from .rl import PPOConfig, rsl_rl_config

EXPORT_TOLERANCE = 1e-4
"""Largest |onnxruntime - torch| accepted on any action entry."""


class ExportCheckError(Sim2RealError):
    """onnxruntime and torch disagree on the exported policy."""


def latest_checkpoint(run_dir: Path) -> Path:
    cps = [p for p in Path(run_dir).glob("model_*.pt") if p.stem.split("_", 1)[1].isdigit()]
    cps.sort(key=lambda p: int(p.stem.split("_", 1)[1]))
    if not cps:
        raise Sim2RealError(f"{run_dir}: no model_*.pt checkpoints")
    return cps[-1]


def selected_checkpoint(run_dir: Path) -> Path:
    """The checkpoint a run stands for: ``train_summary.json``'s ``selected_checkpoint`` (chosen on
    the task's validation split) when the run has one, else the latest ``model_<it>.pt``."""
    summary_path = Path(run_dir) / "train_summary.json"
    try:
        chosen = json.loads(summary_path.read_text()).get("selected_checkpoint")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        chosen = None  # no summary (an interrupted run): the latest checkpoint, as before
    return Path(run_dir) / chosen if isinstance(chosen, str) else latest_checkpoint(run_dir)


def environment_versions() -> dict[str, str]:
    """Versions of what trained the policy (for the contract's provenance)."""
    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "rsl-rl-lib": version("rsl-rl-lib"),
        "numpy": np.__version__,
        "mujoco": version("mujoco"),
    }


def provenance(
    run_dir: Path, checkpoint: Path, cfg_dict: dict[str, Any], seed: int, simulator: str
) -> dict[str, Any]:
    """Where a policy came from: commits, the full config, seed, steps, wall time, simulator,
    library versions and machine (``train_summary.json`` in ``run_dir`` gives the run's facts)."""
    summary_path = run_dir / "train_summary.json"
    try:
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Sim2RealError(f"{summary_path}: not a readable JSON file ({exc})") from exc
    if not isinstance(summary, dict):
        raise Sim2RealError(f"{summary_path}: expected a JSON object")
    return {
        "commit": git_commit(Path(__file__).resolve().parents[2]),
        "train_commit": summary.get("commit"),
        "config": cfg_dict,
        "seed": seed,
        "checkpoint": checkpoint.name,
        "env_steps": summary.get("env_steps"),
        "iterations": summary.get("iterations"),
        "wall_time_s": summary.get("wall_time_s"),
        "simulator": simulator,
        "versions": environment_versions(),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
    }


def make_actor(ppo: PPOConfig, obs_size: int, num_actions: int) -> torch.nn.Module:
    """An untrained rsl-rl actor (the class and layers of ``ppo``) with its observation normaliser."""
    from rsl_rl.utils import resolve_class

    rl_cfg = rsl_rl_config(ppo, save_interval=1)
    cls, kwargs = resolve_class(rl_cfg["actor"])
    dummy = TensorDict(
        {"policy": torch.zeros(1, obs_size), "critic": torch.zeros(1, obs_size)}, batch_size=[1]
    )
    return cls(dummy, rl_cfg["obs_groups"], "actor", num_actions, **kwargs)


def load_actor(ppo: PPOConfig, checkpoint: Path, obs_size: int, num_actions: int) -> torch.nn.Module:
    """The trained actor (an rsl-rl model) with its observation normaliser, in eval mode.

    Raises:
        Sim2RealError: naming the checkpoint when it cannot be read (truncated, not a checkpoint,
            another architecture).
    """
    actor = make_actor(ppo, obs_size, num_actions)
    checkpoint = Path(checkpoint)
    state = read_checkpoint(checkpoint)
    try:
        actor.load_state_dict(state["actor_state_dict"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise Sim2RealError(
            f"{checkpoint}: does not fit this run's actor ({obs_size} observations, {num_actions} "
            f"actions): {_first_line(exc)}"
        ) from exc
    actor.eval()
    return actor


def read_checkpoint(checkpoint: Path) -> dict[str, Any]:
    """An rsl-rl checkpoint's contents.

    Raises:
        Sim2RealError: naming the file when it is missing, truncated, not a checkpoint, or holds no
            ``actor_state_dict``.
    """
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise Sim2RealError(f"{checkpoint}: no such checkpoint")
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as exc:  # a user's file: truncated zip, garbage, a pickle of something else...
        raise Sim2RealError(
            f"{checkpoint}: not a readable checkpoint, truncated or not one ({_first_line(exc)})"
        ) from exc
    if not isinstance(state, dict) or "actor_state_dict" not in state:
        raise Sim2RealError(f"{checkpoint}: not an rsl-rl checkpoint (no actor_state_dict)")
    return state


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def export_actor(
    actor: torch.nn.Module,
    contract: PolicyContract,
    out_dir: Path,
    overwrite: bool = False,
    extra_files: dict[str, Path] | None = None,
) -> Path:
    """Write ``out_dir/policy.onnx`` + ``policy.yaml`` (+ ``extra_files``: name in the folder ->
    file to copy) for an rsl-rl actor; returns ``out_dir``.

    The whole folder is written to a temporary sibling and swapped in: an existing ``out_dir`` is
    refused unless ``overwrite``, and then replaced wholly (nothing of the old folder survives: a
    README, evaluation or training curve of another policy would describe the wrong one).

    Raises:
        Sim2RealError: ``out_dir`` exists and not ``overwrite``.
        ExportCheckError: onnxruntime disagrees with torch by more than EXPORT_TOLERANCE.
    """
    check_out_dir(Path(out_dir), overwrite)
    wrapper = actor.as_onnx(verbose=False).eval()
    # Batch 2, not 1: torch.export specialises a dimension whose example size is 1 when an op
    # broadcasts over it (the quadrotor's PD prior does), which would fix the ONNX batch at 1.
    example = (torch.zeros(2, contract.obs_size),)
    program = torch.onnx.export(
        wrapper,
        example,
        None,
        input_names=["obs"],
        output_names=["actions"],
        opset_version=18,
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        verbose=False,
    )
    model = program.model_proto
    meta = model.metadata_props.add()
    meta.key, meta.value = METADATA_KEY, contract.to_json()
    model.producer_name = "sim2real"
    onnx.checker.check_model(model)
    blob = model.SerializeToString()

    # Check onnxruntime against torch on observations spread like the training data.
    norm = actor.obs_normalizer
    rng = np.random.default_rng(0)
    mean = norm.mean.numpy()
    std = norm.std.numpy()
    obs = (mean + std * rng.standard_normal((512, contract.obs_size)) * 2.0).astype(np.float32)
    with torch.no_grad():
        ref = wrapper(torch.from_numpy(obs)).numpy()
    sess = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    got = sess.run(["actions"], {"obs": obs})[0]
    err = float(np.abs(got - ref).max())
    if not err <= EXPORT_TOLERANCE:
        raise ExportCheckError(
            f"onnxruntime differs from torch by {err:.3g} > {EXPORT_TOLERANCE}; nothing written"
        )

    return write_policy_dir(Path(out_dir), blob, contract, err, extra_files, overwrite)


def write_policy_dir(
    out_dir: Path,
    blob: bytes,
    contract: PolicyContract,
    export_check_max_abs_error: float,
    extra_files: dict[str, Path] | None,
    overwrite: bool,
) -> Path:
    """Write ``policy.onnx`` (``blob``), its card and ``extra_files`` (name -> source) as the
    policy folder ``out_dir``, whole or not at all (a temporary sibling swapped in)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        (tmp / "policy.onnx").write_bytes(blob)
        write_card(tmp / "policy.yaml", contract, export_check_max_abs_error=export_check_max_abs_error)
        for name, src in (extra_files or {}).items():
            shutil.copy2(src, tmp / name)
        tmp.chmod(0o755)  # mkdtemp makes it private; a policy folder is meant to be shared
        check_out_dir(out_dir, overwrite)  # again: another export may have written it meanwhile
        swap_in(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out_dir


def check_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse an existing policy folder unless ``overwrite`` (then export replaces it wholly)."""
    if out_dir.exists() and not overwrite:
        raise Sim2RealError(
            f"{out_dir}: exists; pass --overwrite to replace the whole folder "
            "(its README, evaluation and training curve describe the policy it holds now)"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise Sim2RealError(f"{out_dir}: exists and is not a folder")


def swap_in(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target`` (a sibling): two renames, the old folder moved aside
    first and deleted after, so ``target`` is always either the old folder or the new one."""
    if not target.exists():
        os.replace(new, target)
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, trash / target.name)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(trash / target.name, target)
        raise
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def write_card(path: Path, contract: PolicyContract, **extra: Any) -> None:
    """The human-readable card: the contract as YAML (plus export facts)."""
    d = json.loads(contract.to_json())  # plain JSON types only (e.g. torch's version is a str subclass)
    d["provenance"] = {k: v for k, v in d["provenance"].items() if k != "config"} | {
        "config": "see provenance.config inside policy.onnx"
    }
    d.update(extra)
    header = (
        "# sim2real policy card: the contract this policy was trained and exported with.\n"
        "# The same contract is stored inside policy.onnx (metadata_props['sim2real_contract']).\n"
    )
    path.write_text(header + yaml.safe_dump(d, sort_keys=False, width=110))


def update_evaluation(policy_dir: Path, evaluation: dict[str, Any]) -> None:
    """Store an evaluation summary in both the ONNX metadata and policy.yaml (atomically per file)."""
    p = Path(policy_dir) / "policy.onnx"
    model = onnx.load(str(p))
    meta = {m.key: m for m in model.metadata_props}
    contract = PolicyContract.from_json(meta[METADATA_KEY].value, str(p))
    d = contract.to_dict()
    d["evaluation"] = evaluation
    new = PolicyContract.from_dict(d, str(p))
    meta[METADATA_KEY].value = new.to_json()
    tmp = p.with_suffix(".onnx.tmp")
    tmp.write_bytes(model.SerializeToString())
    card = Path(policy_dir) / "policy.yaml"
    old = yaml.safe_load(card.read_text()) if card.is_file() else {}
    tmp_card = card.with_suffix(".yaml.tmp")
    write_card(tmp_card, new, export_check_max_abs_error=old.get("export_check_max_abs_error"))
    tmp.replace(p)
    tmp_card.replace(card)
