"""The one ``sim2real export``: a training run's draft contract (:mod:`sim2real.draft`) completed
and written with the trained actor.

Export completes the draft (provenance of the
run, evaluation) and writes ``policy.onnx`` + ``policy.yaml`` through :mod:`sim2real.onnx_export`
(onnxruntime checked against torch, atomic write). It refuses, naming the file, when a description
file changed since training. A run from before the draft existed is exported with the contract
built from its ``config.json`` and a warning.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.errors import Sim2RealError

from . import rl
from .draft import DRAFT_NAME, build_draft, check_description_files
from .onnx_export import (
    check_out_dir,
    export_actor,
    load_actor,
    make_actor,
    provenance,
    selected_checkpoint,
)
from .tasks import Task, all_tasks, get_task
from .trainers import get_trainer


def read_json(path: Path) -> Any:
    """A run's JSON file; unreadable, not UTF-8 or not JSON is one error naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Sim2RealError(f"{path}: not a readable JSON file ({exc})") from exc


def _task_of_config(cfg_dict: dict[str, Any], domain: str | None, source: str) -> tuple[Task, Any]:
    """The task whose config class reads ``cfg_dict`` (runs written before the draft)."""
    for task in all_tasks():
        if domain is not None and task.domain != domain:
            continue
        try:
            cfg = rl.config_from_dict(task.config_class, cfg_dict)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if task.accepts_config(cfg):
            return task, cfg
    raise Sim2RealError(f"{source}: not the config of any registered task")


def run_task(run_dir: Path, domain: str | None = None) -> tuple[Task, Any, PolicyContract | None]:
    """The task, config and draft contract (None for older runs) of a training run.

    Raises:
        Sim2RealError: not a run, a draft of another domain, or a changed description file.
    """
    run = Path(run_dir)
    cfg_file = run / "config.json"
    if not cfg_file.is_file():
        raise Sim2RealError(f"{run}: not a training run (no config.json)")
    cfg_dict = read_json(cfg_file)
    draft_file = run / DRAFT_NAME
    if not draft_file.is_file():
        task, cfg = _task_of_config(cfg_dict, domain, str(cfg_file))
        print(
            f"warning: {run} has no {DRAFT_NAME} (a run from before drafts); the contract is built "
            f"from its config.json as task {task.key}",
            file=sys.stderr,
        )
        return task, cfg, None
    draft = PolicyContract.from_dict(read_json(draft_file), str(draft_file))
    if domain is not None and draft.domain != domain:
        raise Sim2RealError(f"{draft_file}: domain: the run is {draft.domain!r}, not {domain!r}")
    key = draft.provenance.get("task", "")
    if "/" not in str(key):
        raise Sim2RealError(f"{draft_file}: provenance.task: expected 'domain/task', got {key!r}")
    task = get_task(*str(key).split("/", 1))
    try:
        cfg = rl.config_from_dict(task.config_class, cfg_dict)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Sim2RealError(f"{cfg_file}: not a {task.key} config ({exc!r})") from exc
    check_description_files(draft, str(draft_file))
    return task, cfg, draft


KEPT_PROVENANCE = ("trainer", "dataset")
"""Draft provenance entries the export keeps: the trainer that ran and its inputs (BC's dataset)."""


def load_run_actor(task: Task, cfg: Any, checkpoint: Path, contract: PolicyContract) -> torch.nn.Module:
    """The trained actor of a run (rsl-rl model with its observation normaliser), eval mode; its
    architecture is the trainer's recorded in the contract (``provenance.trainer``, else the
    task's)."""
    ppo = get_trainer(str(contract.provenance.get("trainer") or task.trainer), task).actor_config(cfg)
    return load_actor(ppo, checkpoint, contract.obs_size, contract.action_size)


def export_run(
    run_dir: Path,
    out_dir: Path,
    checkpoint: Path | None = None,
    evaluation: dict[str, Any] | None = None,
    domain: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Export a training run to ``out_dir``: ``policy.onnx`` + ``policy.yaml``, with the run's
    ``config.json`` as ``train_config.json`` and its ``training_curve.png`` when present; returns
    ``out_dir``. An existing ``out_dir`` is refused unless ``overwrite``, and then replaced whole
    (a hand-written README.md is written again for the new policy).

    Raises:
        Sim2RealError: naming the file: not a run, a bad draft or checkpoint, a changed description
            file, an existing ``out_dir``.
    """
    run_dir = Path(run_dir)
    check_out_dir(Path(out_dir), overwrite)
    from .residual.finetune import RUN_FILE, export_finetune_run

    if (run_dir / RUN_FILE).is_file():  # a fine-tuning run: base + residual in one graph
        return export_finetune_run(run_dir, Path(out_dir), checkpoint, overwrite=overwrite)
    task, cfg, draft = run_task(run_dir, domain)
    checkpoint = Path(checkpoint) if checkpoint else selected_checkpoint(run_dir)
    if not checkpoint.is_file():
        raise Sim2RealError(f"{checkpoint}: no such checkpoint")
    if draft is None:
        draft = build_draft(task, cfg)
    prov = provenance(run_dir, checkpoint, rl.config_to_dict(cfg), cfg.seed, task.simulator)
    d = draft.to_dict()
    kept = {k: draft.provenance[k] for k in KEPT_PROVENANCE if k in draft.provenance}
    d["provenance"] = {
        **prov,
        "task": task.key,
        "description_files": draft.provenance["description_files"],
        **kept,
    }
    d["evaluation"] = evaluation or {}
    contract = PolicyContract.from_dict(d, str(run_dir / DRAFT_NAME))
    actor = load_run_actor(task, cfg, checkpoint, contract)
    extra = {"train_config.json": run_dir / "config.json"}
    if (run_dir / "training_curve.png").is_file():
        extra["training_curve.png"] = run_dir / "training_curve.png"
    return export_actor(actor, contract, out_dir, overwrite=overwrite, extra_files=extra)


def random_policy(task: Task, out_dir: Path, seed: int = 0, cfg: Any = None, overwrite: bool = False) -> Path:
    """Export an untrained (random weights) policy of ``task`` with its draft contract (for node
    and runtime tests): the task's actor architecture, a non-identity observation normaliser."""
    cfg = task.default_config() if cfg is None else cfg
    draft = build_draft(task, cfg)
    torch.manual_seed(seed)
    actor = make_actor(get_trainer(task.trainer, task).actor_config(cfg), draft.obs_size, draft.action_size)
    actor.train()
    actor.obs_normalizer.update(torch.randn(256, draft.obs_size) * 0.5 + 0.1)
    actor.eval()
    d = draft.to_dict()
    d["provenance"] = {**d["provenance"], "checkpoint": "random weights (untrained)", "seed": seed}
    contract = PolicyContract.from_dict(d, f"<random policy of {task.key}>")
    return export_actor(actor, contract, out_dir, overwrite=overwrite)
