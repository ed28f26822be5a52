"""Scripted-human demonstrations of the arm, recorded in-process to a LeRobot v3 dataset.

The same episodes ``sim2real record manip --teleop scripted`` records through the node, without
the node and topics: B :class:`~sim2real.manip.env.ManipEnv` worlds (the simulator, the runtime's
observation terms and safety layer) driven by :class:`~sim2real.manip.scripted_human.ScriptedHuman`
through the teleop mapping. Each frame is the contract's observation before the step, the mapped
action, ``intervention`` True (the human drives), ``next.reward`` 1 at success else 0,
``next.done``, ``next.success``. Only successful episodes are saved (an operator discards a failed
demonstration); each saved episode records its world seed and index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets.lerobot_v3 import DatasetSpec, open_writer
from ..draft import build_draft
from ..tasks import get_task
from .config import ManipTrainConfig
from .env import ManipEnv, max_delta_rad
from .scripted_human import HumanConfig, ScriptedHuman, mapped_actions

EPISODE_SEED_STRIDE = 1000
"""Batch b of a recording with seed s draws its worlds from seed ``s * 1000 + b``, as
``sim2real eval manip`` does: a recording seed other than the evaluation seed never repeats a world."""


@dataclass(frozen=True)
class DemoStats:
    saved: int
    attempted: int
    frames: int
    wall_time_s: float

    @property
    def success_rate(self) -> float:
        return self.saved / max(1, self.attempted)


def record_demos(
    root: Path,
    episodes: int,
    seed: int,
    cfg: ManipTrainConfig | None = None,
    human: HumanConfig | None = None,
    batch: int = 20,
    resume: bool = False,
    max_attempts: int | None = None,
) -> DemoStats:
    """Record ``episodes`` successful scripted-human episodes of ``cfg.task`` into ``root``.

    Args:
        root: the dataset folder (refused when it exists, unless ``resume``).
        episodes: successful episodes to save.
        seed: world and operator seed (use one no evaluation uses).
        batch: worlds simulated at once.
        max_attempts: stop after this many episodes were tried (default ``4 * episodes``).
    """
    cfg = cfg or ManipTrainConfig()
    task = get_task("manip", cfg.task.task)
    contract = build_draft(task, cfg)
    spec = DatasetSpec.from_contract(contract, task.name)
    limit = max_attempts or 4 * episodes
    t0 = time.perf_counter()
    saved = attempted = frames = 0
    with open_writer(root, spec, resume=resume) as w:
        b = 0
        while saved < episodes and attempted < limit:
            n = min(batch, limit - attempted)
            rows = _run_batch(cfg, n, seed * EPISODE_SEED_STRIDE + b, human)
            for i, (ep, ok) in enumerate(rows):
                attempted += 1
                if not ok or saved >= episodes:
                    continue
                for frame in ep:
                    w.add_frame(frame)
                w.save_episode(
                    task.name,
                    extra={
                        "outcome": "success",
                        "world_seed": seed * EPISODE_SEED_STRIDE + b,
                        "world_index": i,
                    },
                )
                saved += 1
                frames += len(ep)
            b += 1
    return DemoStats(saved, attempted, frames, time.perf_counter() - t0)


def _run_batch(
    cfg: ManipTrainConfig, n: int, world_seed: int, human: HumanConfig | None
) -> list[tuple[list[dict[str, Any]], bool]]:
    """n episodes from worlds ``world_seed``: each episode's frames and whether it succeeded."""
    t = cfg.task
    env = ManipEnv(t, n, seed=world_seed, threads=cfg.threads, auto_reset=False)
    from sim2real_runtime.teleop import TeleopConfig
    from sim2real_runtime.teleop.mapping import ManipTeleop

    md = max_delta_rad(env.chain, t)
    op = ScriptedHuman(env.chain, md, t.control_rate_hz, human, seed=world_seed)
    op.reset(n)
    maps = [ManipTeleop(env.chain, md, t.control_rate_hz, TeleopConfig()) for _ in range(n)]
    obs = env.observe()
    eps: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    over = np.zeros(n, dtype=bool)
    ok = np.zeros(n, dtype=bool)
    for k in range(env.max_steps):
        sig = env._last_signals
        twist, grip = op.command(sig)
        act = mapped_actions(maps, twist, grip, sig["joint_pos"])
        r = env.step(act)
        end = r.success | r.failed | (k + 1 >= env.max_steps)
        for i in np.flatnonzero(~over):
            eps[i].append({
                "observation.state": obs[i], "action": act[i], "intervention": True,
                "next.reward": float(r.success[i]), "next.done": bool(end[i]),
                "next.success": bool(r.success[i]),
            })  # fmt: skip
        ok |= r.success & ~over
        over |= end
        obs = r.obs
        if over.all():
            break
    return [(eps[i], bool(ok[i])) for i in range(n)]
