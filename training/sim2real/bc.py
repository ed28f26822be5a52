"""Behaviour cloning: a base policy regressed on a LeRobot v3 demonstration dataset.

``sim2real train <domain> --task T --dataset DIR`` runs this trainer (``bc`` in
:mod:`sim2real.trainers`). Before anything is written the dataset is checked against the task's
contract (:meth:`~sim2real.datasets.lerobot_v3.LeRobotV3Dataset.check_compatible`: fps = control
rate, robot_type, every feature's dtype/shape/names, and the contract's interface: domain, rate,
robot description, joint names, observation and action terms) and refused naming the first field
that differs. The run records the dataset's path, sha256 (:func:`dataset_sha256`), episode and
frame counts in ``config.json`` (``bc.dataset``) and in the contract's ``provenance.dataset``.

The network is the rsl-rl ``MLPModel`` actor the other trainers use (observation normaliser +
MLP; :func:`sim2real.onnx_export.make_actor`), so the export and a later fine-tuning start from the
same module. The normaliser is set once from the training frames' mean and std (not updated while
fitting); the loss is the mean squared error on the action (optionally standardised,
``standardize_actions``), the gripper entry (last) weighted by ``gripper_loss_weight``. Each
observation is paired with the action recorded ``reaction_delay_s`` later (the action that
responded to it).
A tenth of the episodes (at least one when there are two or more) is held
out for the validation loss. A checkpoint ``model_<epoch>.pt`` is written at each new best
validation loss (early stopping: the latest checkpoint, which export takes, is the best; without
held-out episodes every ``save_every_epochs``); ``train_log.json`` (per-epoch train and validation
loss) and ``train_summary.json`` go to the run too.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.errors import Sim2RealError

from .gitinfo import git_commit
from .rl import PPOConfig

SAVE_NAME = "model_{}.pt"


@dataclass(frozen=True)
class BCConfig:
    """Behaviour cloning from demonstrations (``sim2real train ... --dataset DIR``)."""

    dataset: str = ""
    """The LeRobot v3 dataset folder (set by ``--dataset``)."""
    epochs: int = 300
    """Passes over the training frames."""
    hidden_dims: tuple[int, ...] = (256, 256, 128)
    activation: str = "elu"
    learning_rate: float = 1e-3
    batch_size: int = 256
    weight_decay: float = 1e-4
    gripper_loss_weight: float = 2.0
    validation_fraction: float = 0.1
    """Share of the episodes held out for the validation loss (0: none)."""
    reaction_delay_s: float = 0.2
    """The demonstrator's reaction delay (s): each observation is paired with the action recorded
    this much later (``round(delay * fps)`` frames, the episode's last action at its end), the
    action that responded to it. A person acts on what they saw ~0.2 s before; cloned unshifted,
    the policy learns to wait out a delay it does not have (it hovers over the cube, because
    whether the hand has closed yet depends on time since alignment, not on the state). 0 for
    demonstrations without delay (a policy's or a controller's)."""
    successful_only: bool = True
    """Learn only from episodes that reached the goal (a frame with ``next.success``): a timed-out
    or failed demonstration teaches what not to do."""
    standardize_actions: bool = False
    """Regress standardised actions (each entry's mean and std over the training frames), the
    de-standardisation folded into the last layer of every checkpoint. Measured on 50 scripted-human
    pick-and-place demonstrations: 1.5 % success with it, 10 % without (200 held-out episodes), so off."""
    ignored_terms: tuple[str, ...] = ()
    """Observation terms the network may not read: their first-layer weights are held at zero, so
    the exported policy provably ignores them. The previous action by default: a demonstrator's
    actions are smooth, so a cloned policy that sees its last action learns to repeat it (the
    "copycat" problem of behaviour cloning with history, Wen et al. 2020) and never starts or
    stops a motion itself."""
    save_every_epochs: int = 50
    max_wall_time_s: float = 1800.0
    threads: int = 1
    """torch threads (the network is small: more threads mostly wait on each other)."""


def actor_ppo_config(bc: BCConfig) -> PPOConfig:
    """The PPO settings whose actor has this network's architecture (for loading and export)."""
    return PPOConfig(hidden_dims=bc.hidden_dims, activation=bc.activation, init_noise_std=0.3)


DATASET_HASHED = ("meta/info.json", "meta/contract.json", "meta/tasks.parquet", "meta/episodes", "data")
"""What :func:`dataset_sha256` hashes: everything a reader uses (not stats.json, which is derived)."""


def dataset_sha256(root: Path) -> str:
    """sha256 over the dataset's files (relative path and bytes, sorted by path) under
    :data:`DATASET_HASHED`: two folders with the same demonstrations hash the same."""
    root = Path(root)
    h = hashlib.sha256()
    files: list[Path] = []
    for name in DATASET_HASHED:
        p = root / name
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files.extend(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
    for f in sorted(files, key=lambda f: f.relative_to(root).as_posix()):
        rel = f.relative_to(root).as_posix().encode()
        h.update(len(rel).to_bytes(4, "little") + rel)
        data = f.read_bytes()
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def load_checked(dataset: str | Path, contract: PolicyContract, task_name: str) -> Any:
    """The dataset at ``dataset``, refused (naming the field) when it does not fit ``contract``.

    Raises:
        Sim2RealError: no dataset given, not a dataset, a mismatching feature/rate/robot/contract,
            or no frames.
    """
    from .datasets.lerobot_v3 import DatasetSpec, LeRobotV3Dataset

    if not dataset:
        raise Sim2RealError("behaviour cloning needs a dataset (--dataset DIR)")
    root = Path(dataset)
    if not root.is_dir():
        raise Sim2RealError(f"{root}: no such dataset folder")
    ds = LeRobotV3Dataset.load(root)
    # compared as JSON (lists, not the contract's tuples), as the dataset stores it
    ds.check_compatible(DatasetSpec.from_contract(json.loads(contract.to_json()), task_name))
    if len(ds) == 0:
        raise Sim2RealError(f"{root}: the dataset has no frames")
    return ds


def dataset_provenance(dataset: str | Path, contract: PolicyContract, task_name: str) -> dict[str, Any]:
    """Checks the dataset against ``contract`` and returns what the run records of it."""
    from .draft import _recorded_path

    ds = load_checked(dataset, contract, task_name)
    root = Path(dataset).resolve()
    return {
        "path": _recorded_path(root),  # relative to the repository when inside it
        "sha256": dataset_sha256(root),
        "episodes": ds.num_episodes,
        "frames": len(ds),
        "fps": ds.fps,
        "robot_type": ds.info.get("robot_type"),
        "recorded_contract_sha256": (ds.info.get("sim2real") or {}).get("contract_sha256"),
    }


def split_episodes(num_episodes: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) episode indices: ``round(fraction * E)`` held out (at least one when
    ``fraction`` > 0 and E >= 2; none when E < 2), drawn with ``seed``."""
    idx = np.random.default_rng(seed).permutation(num_episodes)
    k = round(fraction * num_episodes)
    if fraction > 0 and num_episodes >= 2:
        k = max(1, k)
    k = min(k, num_episodes - 1) if num_episodes >= 1 else 0
    return np.sort(idx[k:]), np.sort(idx[:k])


def ignored_columns(contract: PolicyContract, terms: tuple[str, ...]) -> np.ndarray:
    """Indices of the observation entries of ``terms`` in ``contract``'s observation vector.

    Raises:
        Sim2RealError: a term the contract's observation does not have.
    """
    cols, at = [], 0
    names = [t.name for t in contract.observation]
    for t in contract.observation:
        if t.name in terms:
            cols.extend(range(at, at + t.size))
        at += t.size
    unknown = sorted(set(terms) - set(names))
    if unknown:
        raise Sim2RealError(f"bc.ignored_terms: {unknown} not in the observation ({', '.join(names)})")
    return np.asarray(cols, dtype=int)


def shifted_index(episode_index: np.ndarray, shift: int) -> np.ndarray:
    """For frames [T] (episodes contiguous), the index ``shift`` frames later in the same episode,
    clamped to the episode's last frame: int [T]."""
    ep = np.asarray(episode_index).reshape(-1)
    idx = np.arange(len(ep))
    if shift <= 0 or len(ep) == 0:
        return idx
    starts = np.flatnonzero(np.r_[True, ep[1:] != ep[:-1]])
    ends = np.r_[starts[1:], len(ep)] - 1  # last frame of each run
    last = np.repeat(ends, np.diff(np.r_[starts, len(ep)]))
    return np.minimum(idx + shift, last)


def folded_state(actor: torch.nn.Module, mean: torch.Tensor, std: torch.Tensor) -> dict[str, torch.Tensor]:
    """``actor``'s state dict with ``y * std + mean`` folded into its last linear layer
    (``W' = diag(std) W``, ``b' = std * b + mean``): the same network outputting de-standardised
    actions."""
    last = [m for m in actor.mlp.modules() if isinstance(m, torch.nn.Linear)][-1]
    name = next(n for n, m in actor.named_modules() if m is last)
    state = {k: v.detach().clone() for k, v in actor.state_dict().items()}
    state[f"{name}.weight"] = last.weight.detach() * std[:, None]
    state[f"{name}.bias"] = last.bias.detach() * std + mean
    return state


def run_bc(
    ds: Any,
    actor: torch.nn.Module,
    bc: BCConfig,
    seed: int,
    run_dir: Path,
    t0: float,
    progress: bool = True,
    ignored: np.ndarray | None = None,
) -> dict[str, Any]:
    """Fit ``actor`` (an rsl-rl model with ``obs_normalizer`` and ``mlp``) on ``ds``; writes
    checkpoints, ``train_log.json`` and ``train_summary.json`` to ``run_dir``; returns the summary.
    ``ignored``: observation columns whose first-layer weights stay zero."""
    from tqdm import tqdm

    obs_all = np.asarray(ds.frames["observation.state"], dtype=np.float32)
    ep = np.asarray(ds.frames["episode_index"]).reshape(-1)
    shift = round(bc.reaction_delay_s * float(ds.fps))
    act_all = np.asarray(ds.frames["action"], dtype=np.float32)[shifted_index(ep, shift)]
    recorded_episodes = len(np.unique(ep))
    if bc.successful_only:
        good = np.unique(ep[np.asarray(ds.frames["next.success"]).reshape(-1).astype(bool)])
        if len(good) == 0:
            raise Sim2RealError(f"{bc.dataset}: no episode reached the goal (bc.successful_only)")
        keep = np.isin(ep, good)
        obs_all, act_all, ep = obs_all[keep], act_all[keep], ep[keep]
    episodes = np.unique(ep)
    tr_ep, va_ep = split_episodes(len(episodes), bc.validation_fraction, seed)
    tr = np.isin(ep, episodes[tr_ep])
    va = np.isin(ep, episodes[va_ep])
    obs, act = torch.from_numpy(obs_all[tr]), torch.from_numpy(act_all[tr])
    obs_va, act_va = torch.from_numpy(obs_all[va]), torch.from_numpy(act_all[va])

    # The normaliser from the training frames in one update (its running mean/var of one batch
    # are that batch's), then frozen: eval mode does not update it.
    actor.train()
    actor.obs_normalizer.update(obs)
    actor.obs_normalizer.eval()
    # With standardize_actions the network regresses standardised actions (each entry's mean and
    # std over the training frames), so that joint deltas of a few hundredths weigh as much as the
    # gripper's +-1. The de-standardisation is folded into the last layer of every saved checkpoint, so the
    # checkpoint (and the exported policy) output the action itself.
    a_mean = act.mean(dim=0) if bc.standardize_actions else torch.zeros(act.shape[1])
    a_std = act.std(dim=0).clamp_min(1e-3) if bc.standardize_actions else torch.ones(act.shape[1])
    act = (act - a_mean) / a_std
    act_va = (act_va - a_mean) / a_std
    weights = torch.ones(act.shape[1])
    weights[-1] = bc.gripper_loss_weight
    first = actor.mlp[0]
    cut = torch.from_numpy(np.asarray(ignored if ignored is not None else [], dtype=np.int64))

    def mask() -> None:
        with torch.no_grad():
            first.weight[:, cut] = 0.0

    mask()
    opt = torch.optim.AdamW(actor.mlp.parameters(), lr=bc.learning_rate, weight_decay=bc.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, bc.epochs))
    gen = torch.Generator().manual_seed(seed)

    def loss_of(o: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return (((actor.mlp(actor.obs_normalizer(o)) - a) ** 2) * weights).mean()

    log: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    epoch = 0
    bar = tqdm(range(bc.epochs), desc="BC", unit="epoch", disable=not progress)
    for epoch in bar:
        actor.mlp.train()
        perm = torch.randperm(len(obs), generator=gen)
        losses = []
        for s in range(0, len(obs), bc.batch_size):
            b = perm[s : s + bc.batch_size]
            loss = loss_of(obs[b], act[b])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(actor.mlp.parameters(), 1.0)
            opt.step()
            mask()
            losses.append(float(loss.detach()))
        sched.step()
        actor.eval()
        with torch.no_grad():
            val = float(loss_of(obs_va, act_va)) if len(obs_va) else None
        entry = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "val_loss": val,
            "wall_time_s": time.perf_counter() - t0,
        }
        log.append(entry)
        bar.set_postfix(loss=f"{entry['train_loss']:.4g}", val=f"{val:.4g}" if val is not None else "-")
        last = epoch + 1 >= bc.epochs or time.perf_counter() - t0 > bc.max_wall_time_s
        if val is not None:  # early stopping: a checkpoint at each new best validation loss
            save = best is None or val < best["val_loss"]
        else:
            save = (epoch + 1) % bc.save_every_epochs == 0 or last
        if save:
            best = entry
            state = {"actor_state_dict": folded_state(actor, a_mean, a_std), "iter": epoch}
            torch.save(state, run_dir / SAVE_NAME.format(epoch))
        if save or last:
            (run_dir / "train_log.json").write_text(json.dumps(log, indent=1))
        if last:
            break
    wall = time.perf_counter() - t0
    summary = {
        "algorithm": "behaviour cloning (MSE regression on demonstrations), rsl-rl MLPModel actor",
        "commit": git_commit(Path(__file__).resolve().parents[2]),
        "iterations": epoch + 1,
        "checkpoint_epoch": best["epoch"] if best else None,
        "action_shift_frames": shift,
        "env_steps": 0,
        "dataset_frames": int(len(obs_all)),
        "dataset_episodes_used": int(len(episodes)),
        "dataset_episodes_recorded": recorded_episodes,
        "train_frames": int(tr.sum()),
        "validation_frames": int(va.sum()),
        "train_episodes": int(len(tr_ep)),
        "validation_episodes": int(len(va_ep)),
        "wall_time_s": wall,
        "final": log[-1],
    }
    (run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
