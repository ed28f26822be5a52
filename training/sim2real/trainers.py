"""Trainers behind one interface, and the one ``sim2real train`` implementation.

A :class:`Trainer` fits a :class:`~sim2real.tasks.Task`'s policy on the task's VecEnv:

- ``ppo``: rsl-rl's OnPolicyRunner (:func:`sim2real.rl.run_ppo`);
- ``dagger``: imitation of the environment's expert (:func:`sim2real.dagger.run_dagger`);
- ``bc``: behaviour cloning from a demonstration dataset (:func:`sim2real.bc.run_bc`; ``--dataset``).

:func:`train` is the one entry point: it applies the common overrides (:class:`Overrides`: seed,
iterations, environments, wall-clock limit) in one place, writes ``config.json`` and the draft
contract (:mod:`sim2real.export`) before any work, then runs the trainer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.errors import Sim2RealError

from . import rl
from .draft import build_draft, write_draft
from .tasks import Task


@dataclass(frozen=True)
class Overrides:
    """The ``sim2real train`` options every task shares; None leaves the config's value."""

    seed: int | None = None
    iterations: int | None = None
    num_envs: int | None = None
    max_wall_time_s: float | None = None


@dataclass(frozen=True)
class Trainer:
    """One training algorithm, and where its settings live in a task's config."""

    name: str
    num_envs_field: str | None
    """Dotted config field of the number of parallel environments (``ppo.num_envs``); None for a
    trainer without environments (behaviour cloning)."""
    iterations_field: str
    """Dotted config field of the number of iterations / rounds."""
    max_wall_time_field: str
    """Dotted config field of the wall-clock limit (s)."""
    actor_config: Callable[[Any], rl.PPOConfig]
    """``cfg -> PPOConfig`` whose actor has the trained network's architecture (export)."""
    run: Callable[[Task, Any, Path, Path | None, bool, float], Path]
    """``(task, cfg, run_dir, resume, progress, t0) -> final checkpoint``."""
    plot: Callable[[Callable[..., Any] | None, Any, Path, dict[str, Any]], None]
    """``(the task's plot function or None, cfg, run_dir, summary)``: draw ``training_curve.png``."""
    prepare: Callable[[Task, Any, PolicyContract], dict[str, Any]] | None = None
    """``(task, cfg, draft) -> provenance entries``: checks the trainer's inputs against the draft
    contract before anything is written (raises naming the field) and returns what the contract's
    provenance records of them (BC: the dataset and its hash)."""


def _get(cfg: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def replace_field(cfg: Any, dotted: str, value: Any) -> Any:
    head, _, rest = dotted.partition(".")
    if not rest:
        return dataclasses.replace(cfg, **{head: value})
    return dataclasses.replace(cfg, **{head: replace_field(getattr(cfg, head), rest, value)})


def with_overrides(trainer: Trainer, cfg: Any, o: Overrides) -> Any:
    """``cfg`` with the common overrides applied (each only when given)."""
    if o.num_envs and trainer.num_envs_field is None:
        raise Sim2RealError(f"--num-envs: the {trainer.name} trainer runs no environments")
    for field, value in (
        ("seed", o.seed),
        (trainer.iterations_field, o.iterations or None),
        (trainer.num_envs_field, o.num_envs or None),
        (trainer.max_wall_time_field, o.max_wall_time_s or None),
    ):
        if value is not None and field is not None:
            cfg = replace_field(cfg, field, value)
    return cfg


def num_envs(trainer: Trainer, cfg: Any) -> int:
    return _get(cfg, trainer.num_envs_field) if trainer.num_envs_field else 0


# --------------------------------------------------------------------------------------------- PPO
def _run_ppo(task: Task, cfg: Any, run_dir: Path, resume: Path | None, progress: bool, t0: float) -> Path:
    rl.seed_everything(cfg.seed)
    env = task.make_env(cfg, cfg.ppo.num_envs, cfg.seed)
    stats = task.iteration_stats(env) if task.iteration_stats else dict
    limits = rl.RunLimits(cfg.max_iterations, cfg.max_wall_time_s, cfg.save_interval, cfg.torch_threads)
    final = rl.run_ppo(env, cfg.ppo, limits, run_dir, stats, t0, resume, postfix_keys=task.postfix_keys)
    return final


# ------------------------------------------------------------------------------------------ DAgger
def _run_dagger(task: Task, cfg: Any, run_dir: Path, resume: Path | None, progress: bool, t0: float) -> Path:
    import torch

    from .dagger import SAVE_NAME, check_expert, run_dagger

    if resume is not None:
        raise Sim2RealError(f"task {task.key}: DAgger does not resume from a checkpoint (--resume)")
    rl.seed_everything(cfg.seed)
    torch.set_num_threads(max(1, cfg.threads))
    env = task.make_env(cfg, cfg.dagger.num_envs, cfg.seed)
    check_expert(env, task.key)
    summary = run_dagger(env, cfg.dagger, cfg.seed, run_dir, t0, progress)
    return run_dir / SAVE_NAME.format(summary["iterations"] - 1)


def _plot_ppo(plot: Callable[..., Any] | None, cfg: Any, run_dir: Path, summary: dict[str, Any]) -> None:
    if plot is not None and summary["history"]:
        plot(run_dir / "training_curve.png", summary["history"], cfg.ppo.num_envs * cfg.ppo.steps_per_env)


def _plot_dagger(plot: Callable[..., Any] | None, cfg: Any, run_dir: Path, summary: dict[str, Any]) -> None:
    if plot is not None:
        plot(json.loads((run_dir / "train_log.json").read_text()), run_dir / "training_curve.png")


def _dagger_actor(cfg: Any) -> rl.PPOConfig:
    from .dagger import actor_ppo_config

    return actor_ppo_config(cfg.dagger)


# --------------------------------------------------------------------------- behaviour cloning
def _run_bc(task: Task, cfg: Any, run_dir: Path, resume: Path | None, progress: bool, t0: float) -> Path:
    import torch

    from .bc import SAVE_NAME, actor_ppo_config, ignored_columns, load_checked, run_bc
    from .draft import DRAFT_NAME
    from .onnx_export import make_actor

    if resume is not None:
        raise Sim2RealError(
            f"task {task.key}: behaviour cloning does not resume from a checkpoint (--resume)"
        )
    rl.seed_everything(cfg.seed)
    torch.set_num_threads(max(1, cfg.bc.threads))
    draft = PolicyContract.from_dict(
        json.loads((run_dir / DRAFT_NAME).read_text()), str(run_dir / DRAFT_NAME)
    )
    ds = load_checked(cfg.bc.dataset, draft, task.name)
    actor = make_actor(actor_ppo_config(cfg.bc), draft.obs_size, draft.action_size)
    ignored = ignored_columns(draft, cfg.bc.ignored_terms)
    summary = run_bc(ds, actor, cfg.bc, cfg.seed, run_dir, t0, progress, ignored)
    return run_dir / SAVE_NAME.format(summary["checkpoint_epoch"])


def _prepare_bc(task: Task, cfg: Any, draft: PolicyContract) -> dict[str, Any]:
    from .bc import dataset_provenance, ignored_columns

    ignored_columns(draft, cfg.bc.ignored_terms)  # an unknown term: refused before anything is written
    return {"dataset": dataset_provenance(cfg.bc.dataset, draft, task.name)}


def _bc_actor(cfg: Any) -> rl.PPOConfig:
    from .bc import actor_ppo_config

    return actor_ppo_config(cfg.bc)


def _plot_bc(plot: Callable[..., Any] | None, cfg: Any, run_dir: Path, summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = json.loads((run_dir / "train_log.json").read_text())
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([e["epoch"] for e in log], [e["train_loss"] for e in log], label="train")
    if log and log[0]["val_loss"] is not None:
        ax.plot(
            [e["epoch"] for e in log], [e["val_loss"] for e in log], label="validation (held-out episodes)"
        )
    ax.set(xlabel="epoch", ylabel="MSE (gripper weighted)", yscale="log", title="behaviour cloning")
    ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir / "training_curve.png", dpi=100)
    plt.close(fig)


TRAINERS: dict[str, Trainer] = {
    "ppo": Trainer(
        "ppo", "ppo.num_envs", "max_iterations", "max_wall_time_s", lambda cfg: cfg.ppo, _run_ppo, _plot_ppo
    ),
    "dagger": Trainer(
        "dagger",
        "dagger.num_envs",
        "dagger.iterations",
        "dagger.max_wall_time_s",
        _dagger_actor,
        _run_dagger,
        _plot_dagger,
    ),
    "bc": Trainer("bc", None, "bc.epochs", "bc.max_wall_time_s", _bc_actor, _run_bc, _plot_bc, _prepare_bc),
}


def get_trainer(name: str, task: Task | None = None) -> Trainer:
    if name not in TRAINERS:
        where = f"task {task.key}: " if task else ""
        raise Sim2RealError(f"{where}trainer {name!r} is not implemented (available: {', '.join(TRAINERS)})")
    return TRAINERS[name]


def check_config(task: Task, trainer: Trainer, cfg: Any) -> None:
    """Refuse a config that lacks the trainer's settings (e.g. DAgger on a PPO-only task)."""
    for field in (trainer.num_envs_field, trainer.iterations_field, trainer.max_wall_time_field):
        if field is None:
            continue
        try:
            _get(cfg, field)
        except AttributeError:
            raise Sim2RealError(
                f"task {task.key}: its config ({type(cfg).__name__}) has no {field!r}, which the "
                f"{trainer.name} trainer needs (this task trains with {task.trainer})"
            ) from None


def train(
    task: Task,
    cfg: Any,
    run_dir: Path,
    resume: Path | None = None,
    progress: bool = True,
    trainer: str | None = None,
) -> Path:
    """Train ``task`` with ``cfg`` into ``run_dir``; returns the final checkpoint, or the one the
    task's ``select_checkpoint`` chose on its validation split.

    Writes ``config.json`` and ``contract.draft.json`` first (the latter from the task's contract
    builder and the sha256 of every description file it used), then ``model_<it>.pt``,
    ``train_summary.json`` and ``training_curve.png``.

    Raises:
        Sim2RealError: a bad config or description file, or a trainer the task cannot use;
            nothing is written then.
    """

    t0 = time.time() if (trainer or task.trainer) == "ppo" else time.perf_counter()
    tr = get_trainer(trainer or task.trainer, task)
    check_config(task, tr, cfg)
    draft = build_draft(task, cfg)  # resolves the description files: fails before anything is written
    extra = tr.prepare(task, cfg, draft) if tr.prepare else {}  # e.g. BC's dataset check
    d = draft.to_dict()
    d["provenance"] = {**d["provenance"], "trainer": tr.name, **extra}
    draft = PolicyContract.from_dict(d, f"<draft contract of {task.key}>")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(rl.config_to_dict(cfg), indent=2))
    write_draft(run_dir, draft)
    final = tr.run(task, cfg, run_dir, resume, progress, t0)
    summary_path = run_dir / "train_summary.json"
    summary = json.loads(summary_path.read_text())
    if task.summary_aliases:
        for key, final_key in task.summary_aliases:
            summary[key] = summary["final"].get(final_key)
        summary_path.write_text(json.dumps(summary, indent=2))
    if task.select_checkpoint is not None and tr.name == task.trainer:  # on the task's validation split
        final, record = task.select_checkpoint(cfg, run_dir, final)
        summary["selected_checkpoint"] = final.name
        summary["validation"] = record
        summary_path.write_text(json.dumps(summary, indent=2))
    with contextlib.suppress(ImportError):  # matplotlib is optional at training time
        # The task's plot reads its own trainer's history; another trainer (--trainer) logs
        # otherwise, so it gets None (BC draws its own loss curve either way).
        plot = None
        if task.plot_training is not None and tr.name == task.trainer:
            module, _, name = task.plot_training.partition(":")
            plot = getattr(importlib.import_module(module), name)
        tr.plot(plot, cfg, run_dir, summary)
    return final
