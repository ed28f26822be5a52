"""``sim2real eval hand``: run an exported hand policy (ONNX, the contract's terms, the runtime's
safety layer inside the environment) on randomised MuJoCo episodes and report, per episode, the
cube's total turn about the palm normal, its mean angular speed, whether it dropped, and (reorient)
the goals reached in a row.

Episodes are drawn from ``--seed``, which must differ from the training seed recorded in the
policy's contract. Baselines on the very same episodes: ``scripted`` (the open-loop finger gait of
:mod:`sim2real.hand.scripted`, rotate_z's classical baseline and DAgger expert) and ``hold`` (the
hand keeps its start pose; the cube only moves by itself).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.hand_control import check_hand_compatible
from sim2real_runtime.policy import OnnxPolicy

from ..rl import config_from_dict
from .config import HandTrainConfig


def run_episodes(
    cfg: HandTrainConfig, act: Any, episodes: int, seed: int, threads: int = 2
) -> list[dict[str, Any]]:
    """``episodes`` episodes of ``cfg.task`` in parallel worlds; ``act(env, obs) -> actions [n, 16]``.

    Each world's first episode counts (the env resets worlds by itself; later episodes are
    ignored). Returns one row per episode."""
    from .env import HandVecEnv

    env = HandVecEnv(cfg.task, episodes, seed=seed, threads=threads)
    obs = env.get_observations()["policy"].numpy()
    rows: list[dict[str, Any] | None] = [None] * episodes
    for k in range(env.max_episode_length):
        _, _, done, extras = env.step(np.asarray(act(env, obs), dtype=np.float32))
        obs = env.get_observations()["policy"].numpy()
        done = done.numpy()
        for i in np.nonzero(done)[0]:
            if rows[i] is None:
                turn = float(extras["episode_turn_rad"][i])
                dropped = bool(extras["dropped"][i])
                rows[i] = {
                    "turn_rad": turn,
                    "dropped": dropped,
                    "goals": int(extras["episode_goals"][i]),
                    # how long the cube stayed on the palm: the step of the drop (k + 1 steps done)
                    "duration_s": (k + 1) / cfg.task.control_rate_hz,
                }
        if all(r is not None for r in rows):
            break
    return [r for r in rows if r is not None]


def summarize(rows: list[dict[str, Any]], episode_time_s: float) -> dict[str, Any]:
    turns = np.array([r["turn_rad"] for r in rows])
    dropped = np.array([r["dropped"] for r in rows])
    goals = np.array([r["goals"] for r in rows])
    return {
        "episodes": len(rows),
        "drop_rate": float(dropped.mean()),
        "full_turn_rate": float(np.mean(np.abs(turns) >= 2 * np.pi)),
        "full_turn_ccw_rate": float(np.mean(turns >= 2 * np.pi)),
        # rotate_z's success, as the environment scores it: a full turn (positive, about the palm
        # normal) in the episode and the cube still on the palm at its end.
        "full_turn_kept_rate": float(np.mean((turns >= 2 * np.pi) & ~dropped)),
        "median_turn_rad": float(np.median(turns)),
        "mean_turn_rad": float(turns.mean()),
        "mean_angvel_radps": float(turns.mean() / episode_time_s),
        # reorient: goals reached in a row (an episode ends at a drop or at its time limit), and
        # its success rate, the share of episodes that reach at least one goal
        "mean_goals_per_episode": float(goals.mean()),
        "max_goals_per_episode": int(goals.max()),
        "goal_episode_rate": float(np.mean(goals > 0)),
        # when drops happen: at the start (a grasp that never held) or late (a gait that slips)
        "median_drop_time_s": float(np.median([r["duration_s"] for r in rows if r["dropped"]]))
        if dropped.any()
        else math.nan,
    }


def evaluate_policy(
    policy_dir: Path,
    episodes: int = 50,
    seed: int = 1000,
    controller: str = "policy",
    goal_max_angle_rad: float | None = None,
) -> dict[str, Any]:
    """Evaluate ``policy_dir`` (or a baseline on its episodes); returns per-episode rows and a summary.

    reorient's goals are uniformly random orientations, whatever curriculum the policy trained
    with, unless ``goal_max_angle_rad`` asks for goals at most that far from the cube (rad).

    Raises:
        Sim2RealError: not a hand policy, one that does not fit the hand, the training seed, or a
            goal angle that is not a positive number.
    """
    if goal_max_angle_rad is not None and not goal_max_angle_rad > 0.0:
        raise Sim2RealError(f"--goal-max-angle-rad must be a positive angle (rad), not {goal_max_angle_rad}")
    policy = OnnxPolicy(policy_dir)
    c = policy.contract
    if c.domain != "hand":
        raise Sim2RealError(f"{policy.path}: a {c.domain} policy, not a hand one")
    from sim2real_runtime.hand_model import load_hand

    from .env import HandVecEnv  # noqa: F401  (MuJoCo only when evaluating)
    from .task import HAND_FILE

    check_hand_compatible(c, load_hand(HAND_FILE), str(policy.path))
    cfg = config_from_dict(HandTrainConfig, c.provenance["config"])
    angle = None if goal_max_angle_rad is None else (goal_max_angle_rad, goal_max_angle_rad)
    cfg = replace(cfg, task=replace(cfg.task, goal_max_angle_rad=angle))
    if seed == cfg.seed:
        raise Sim2RealError(f"--seed {seed} is the training seed of {policy.path}; pick another")
    if controller == "policy":
        act = lambda env, obs: policy(obs)  # noqa: E731
    elif controller == "hold":
        act = lambda env, obs: np.zeros((env.num_envs, 16))  # noqa: E731
    elif controller == "scripted":
        from .scripted import ScriptedGait

        gait = ScriptedGait()
        act = lambda env, obs: gait.action(env)  # noqa: E731
    else:
        raise ValueError(f"controller must be policy, scripted or hold, not {controller!r}")
    rows = run_episodes(cfg, act, episodes, seed)
    return {
        "controller": controller,
        "seed": seed,
        "task": cfg.task.task,
        "goal_max_angle_rad": goal_max_angle_rad,
        "episodes": rows,
        "summary": {"controller": controller, **summarize(rows, cfg.task.episode_time_s)},
    }
