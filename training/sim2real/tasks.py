"""The registry of training tasks: one :class:`Task` per (domain, task), and nothing domain-specific.

A task says everything the pipeline needs to train, export, evaluate and simulate one thing a
robot of a domain does: its config class and default config, a factory of rsl-rl VecEnvs, the
trainer that fits it (:mod:`sim2real.trainers`), the builder of its draft contract and the
description files that contract is built from, and the hooks of ``sim2real eval`` / ``sim``
(each with its own command-line options). ``sim2real <verb> <domain> [--task T]`` is generated
from this registry (:mod:`sim2real.cli`), and the tests iterate it.

Tasks register themselves: every ``sim2real/<domain>/task.py`` module is imported on first use,
so adding a domain adds such a file and touches no list. The domain must be one the runtime knows
(:mod:`sim2real_runtime.domains`). Registering a (domain, task) twice is an error.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.domains import all_domains, get_domain
from sim2real_runtime.errors import Sim2RealError

TRAINERS = ("ppo", "dagger", "bc", "residual")
"""Trainer names a task may name (:mod:`sim2real.trainers` implements ``ppo`` and ``dagger``)."""


@dataclass(frozen=True)
class TrainOption:
    """A ``sim2real train`` option of a task that sets one config field when given."""

    flag: str
    """e.g. ``--robot``."""
    field: str
    """Dotted config field, e.g. ``task.robot``."""
    help: str


@dataclass(frozen=True)
class Task:
    """One trainable task of one domain."""

    domain: str
    """The runtime domain's one spelling (``nav``, ``quad``, ``manip``...)."""
    name: str
    """The task's name within its domain (``goal``, ``track``, ``pick_place``...)."""
    description: str
    """One line for ``sim2real list``."""
    config_class: type
    """The training config dataclass (frozen; saved as the run's ``config.json``)."""
    default_config: Callable[[], Any]
    """The config ``sim2real train <domain> --task <name>`` starts from."""
    make_env: Callable[[Any, int, int], Any]
    """``(cfg, num_envs, seed) -> VecEnv`` (rsl-rl's API: TensorDict observations with ``policy``
    and ``critic`` groups, ``step(actions) -> (obs, rewards, dones, extras)``)."""
    trainer: str
    """The trainer that fits it: ``ppo`` or ``dagger`` (later ``bc``, ``residual``)."""
    build_contract: Callable[[Any], PolicyContract]
    """``cfg -> PolicyContract`` without provenance: what the policy will observe and command."""
    description_files: Callable[[Any], tuple[Path, ...]]
    """``cfg -> files`` the contract is built from (robot.yaml, vehicle.yaml, panda.urdf); their
    sha256 are recorded in the draft contract, and export refuses when one changed."""
    simulator: str
    """What the policy trained in (for the contract's provenance)."""
    run_name: Callable[[Any], str]
    """``cfg -> default run folder name`` (``runs/<name>_<time>``)."""
    default: bool = False
    """The task ``sim2real <verb> <domain>`` means without ``--task`` (one per domain)."""
    iteration_stats: Callable[[Any], Callable[[], dict[str, float]]] | None = None
    """PPO: ``env -> stats()`` called once per iteration (success rate, tracking error...)."""
    postfix_keys: tuple[str, ...] = ()
    """Stats shown on the progress bar."""
    summary_aliases: tuple[tuple[str, str], ...] = ()
    select_checkpoint: Callable[[Any, Path, Path], tuple[Path, dict[str, Any]]] | None = None
    """``(cfg, run_dir, final checkpoint) -> (chosen checkpoint, record)``, run after training:
    the checkpoint chosen on the task's validation split (never its test cases). ``train`` returns
    it and writes it to ``train_summary.json`` as ``selected_checkpoint`` (with the record as
    ``validation``); ``sim2real export`` exports it by default. None: the final checkpoint."""
    """(summary key, key of ``summary["final"]``) copied into ``train_summary.json``."""
    plot_training: str | None = None
    """``module:function`` drawing ``training_curve.png`` (imported only when plotting, matplotlib
    being optional); the task's own ``trainer`` calls it with its history (:mod:`sim2real.trainers`);
    a run with another trainer draws no curve."""
    accepts_config: Callable[[Any], bool] = lambda cfg: True
    """Whether a config (of ``config_class``) is this task's (for runs written before the draft)."""
    train_options: tuple[TrainOption, ...] = ()
    """Extra ``sim2real train`` options (``--robot``...), each setting one config field."""
    add_eval_args: Callable[[argparse.ArgumentParser], None] | None = None
    evaluator: Callable[[argparse.Namespace], int] | None = None
    """``sim2real eval <domain>``: ``args -> exit status`` (``args.task_record`` is this task)."""
    add_sim_args: Callable[[argparse.ArgumentParser], None] | None = None
    sim_bridge: Callable[[argparse.Namespace], int] | None = None
    """``sim2real sim <domain>``: ``args -> exit status``."""
    add_record_args: Callable[[argparse.ArgumentParser], None] | None = None
    recorder: Callable[[argparse.Namespace], int] | None = None
    """``sim2real record <domain>``: demonstrations into a LeRobot v3 dataset (and rosbag2 MCAP),
    ``args -> exit status`` (:mod:`sim2real.datasets.recorder`)."""

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.name}"


_TASKS: dict[tuple[str, str], Task] = {}
_discovered = False


def register_task(task: Task) -> Task:
    """Add ``task`` to the registry; returns it.

    Raises:
        ValueError: (domain, task) is taken, the domain is not a runtime domain (or is not spelled
            its one way), the trainer is unknown, or a second default for the domain.
    """
    domain = get_domain(task.domain, "<task registry>", "domain")
    if domain.name != task.domain:
        raise ValueError(f"task {task.key}: spell the domain {domain.name!r}")
    if (task.domain, task.name) in _TASKS:
        raise ValueError(f"task {task.key} is already registered; a task registers once")
    if task.trainer not in TRAINERS:
        raise ValueError(f"task {task.key}: unknown trainer {task.trainer!r} (known: {', '.join(TRAINERS)})")
    if task.default and any(t.default for t in _TASKS.values() if t.domain == task.domain):
        raise ValueError(f"task {task.key}: domain {task.domain!r} already has a default task")
    _TASKS[(task.domain, task.name)] = task
    return task


def unregister_task(domain: str, name: str) -> None:
    """Remove a task (for tests that register a toy one)."""
    del _TASKS[(domain, name)]


def _discover() -> None:
    """Import every ``sim2real.<package>.task`` module once (each registers its tasks)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    root = Path(__file__).resolve().parent
    for info in sorted(pkgutil.iter_modules([str(root)]), key=lambda i: i.name):
        if info.ispkg and (root / info.name / "task.py").is_file():
            importlib.import_module(f"{__package__}.{info.name}.task")


def all_tasks() -> tuple[Task, ...]:
    """Every registered task, ordered by domain then registration."""
    _discover()
    order = [d.name for d in all_domains()]
    return tuple(sorted(_TASKS.values(), key=lambda t: order.index(t.domain)))


def domains() -> tuple[str, ...]:
    """The domains that have at least one task, in order."""
    return tuple(dict.fromkeys(t.domain for t in all_tasks()))


def domain_tasks(domain: str) -> tuple[Task, ...]:
    return tuple(t for t in all_tasks() if t.domain == domain)


def get_task(domain: str, name: str | None = None) -> Task:
    """The task ``name`` of ``domain`` (its default task when ``name`` is None).

    Raises:
        Sim2RealError: an unknown domain or task, listing the registered ones.
    """
    _discover()
    tasks = domain_tasks(domain)
    if not tasks:
        raise Sim2RealError(f"unknown domain {domain!r} (domains with tasks: {', '.join(domains())})")
    if name is None:
        defaults = [t for t in tasks if t.default]
        return defaults[0] if defaults else tasks[0]
    if (domain, name) not in _TASKS:
        raise Sim2RealError(
            f"{domain}: unknown task {name!r} (registered: {', '.join(t.name for t in tasks)})"
        )
    return _TASKS[(domain, name)]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
