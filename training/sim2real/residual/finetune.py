"""``sim2real finetune <domain> --task T --base DIR --dataset DIR --run-dir R``: residual RL on a
behaviour-cloned base, from its demonstrations and the task's simulator; then ``sim2real export
--run R --out O`` writes base + residual as one policy.

Before anything is written the base's contract is compared with the task's (the interface fields
a hot reload compares: domain, rate, robot, joints, observation and action terms) and the
dataset with the task's contract (:func:`sim2real.bc.load_checked`); a mismatch is refused naming
the field. The run folder holds:

- ``finetune.json``: task, base (path, sha256), dataset provenance, the config (what export reads);
- ``finetune_<steps>.pt``: learner state (networks, optimisers, generators, counters) + run counters;
- ``replay_online.npz``: the online buffer (the demonstration buffer is rebuilt from the dataset,
  whose sha256 is checked on resume);
- ``finetune_log.json``, ``train_summary.json``.

A checkpoint is written after its replay file and records how many transitions that file holds,
so a crash between the two is detected on resume. Resuming (``--resume``) restores the learner and
both buffers exactly; the simulator restarts with new episodes (its MuJoCo state is not saved) and
the n-step windows of the episodes that were running are dropped.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from sim2real_runtime.controller import SWAP_FIELDS, clip_action, first_difference
from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.policy import OnnxPolicy

from ..gitinfo import git_commit
from .cli import RESIDUAL_FLAGS
from .export import export_residual, file_sha256, residual_contract
from .learner import ResidualConfig, ResidualLearner
from .online import online_env
from .replay import MixedSampler, NStepAccumulator, ReplayBuffer, Sizes, segment_transitions

RUN_FILE = "finetune.json"
REPLAY_FILE = "replay_online.npz"
CKPT = "finetune_{}.pt"


@dataclass(frozen=True)
class FinetuneConfig:
    """One fine-tuning run (``finetune.json``)."""

    residual: ResidualConfig = field(default_factory=ResidualConfig)
    budget_steps: int = 20_000
    """Environment transitions to collect (all worlds together)."""
    num_envs: int = 8
    seed: int = 0
    online_capacity: int = 500_000
    checkpoint_every_steps: int = 2_000
    export_every_steps: int = 0
    """Also export the current policy to ``export_to`` every this many steps (0: never): what a
    running node with ``reload_watch`` picks up."""
    export_to: str = ""
    threads: int = 1


class BasePolicy:
    """The base ONNX policy on batches: obs float32 [B, N] -> actions float32 [B, A]."""

    def __init__(self, path: Path) -> None:
        self.policy = OnnxPolicy(path)
        self.path = self.policy.path
        self.sha256 = file_sha256(self.path)
        self.contract = self.policy.contract
        self.session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.session.run(["actions"], {"obs": np.asarray(obs, dtype=np.float32)})[0]


def check_base(base: BasePolicy, task_contract: Any) -> None:
    """Refuse a base whose interface is not the task's, naming the first field that differs."""
    new = json.loads(base.contract.to_json())
    ref = json.loads(task_contract.to_json())
    for key in SWAP_FIELDS:
        diff = first_difference(new[key], ref[key], key)
        if diff is not None:
            path, a, b = diff
            raise Sim2RealError(f"{base.path}: {path}: the base has {a!r}, the task's contract {b!r}")


def discrete_actions(contract: Any) -> np.ndarray:
    """bool [A]: the action entries of ``contract`` whose term is a switch
    (:attr:`sim2real_runtime.terms.ActionTerm.discrete`, e.g. the arm's gripper)."""
    from sim2real_runtime.terms import action_from_spec

    return np.concatenate(
        [np.full(t.size, bool(type(action_from_spec(t)).discrete)) for t in contract.action]
    )


def demo_transitions(ds: Any, base: BasePolicy, n: int, gamma: float) -> dict[str, np.ndarray]:
    """n-step transitions of every demonstration episode (reward = ``next.success``, which also
    terminates). An episode not ended by success has no observation after its last frame: its
    last frame is dropped and the one before is a truncation bootstrapped from the last frame."""
    from .replay import FIELDS

    parts: dict[str, list[np.ndarray]] = {f: [] for f in FIELDS}
    for i in range(ds.num_episodes):
        ep = ds.episode(i)
        obs = np.asarray(ep["observation.state"], dtype=np.float32)
        act = clip_action(np.asarray(ep["action"], dtype=np.float32))
        succ = np.asarray(ep["next.success"], dtype=bool).reshape(-1)
        T = len(obs)
        if T == 0:
            continue
        b = base(obs)
        if succ.any():
            T = int(np.flatnonzero(succ)[0]) + 1  # ends at the first success
            m = T
            nxt = np.concatenate([obs[1:T], obs[T - 1 : T]])  # the terminal's next is unused
            nb = np.concatenate([b[1:T], b[T - 1 : T]])
            term = np.zeros(m, dtype=bool)
            term[-1] = True
            trunc = np.zeros(m, dtype=bool)
        else:
            m = T - 1
            if m < 1:
                continue
            nxt, nb = obs[1:T], b[1:T]
            term = np.zeros(m, dtype=bool)
            trunc = np.zeros(m, dtype=bool)
            trunc[-1] = True
        rew = succ[:m].astype(np.float64)
        seg = segment_transitions(obs[:m], b[:m], act[:m], rew, term, trunc, nxt, nb, n, gamma)
        for f, v in seg.items():
            parts[f].append(v)
    if not parts["obs"]:
        raise Sim2RealError(f"{ds.root}: no usable demonstration transitions")
    return {f: np.concatenate(v) for f, v in parts.items()}


def read_run(run_dir: Path) -> dict[str, Any]:
    p = Path(run_dir) / RUN_FILE
    try:
        return json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Sim2RealError(f"{p}: not a readable fine-tuning run file ({exc})") from exc


def config_from_dict(d: dict[str, Any]) -> FinetuneConfig:
    r = dict(d["residual"])
    r.setdefault("discrete_scale", None)  # runs from before it: one scale for every entry
    for k in ("actor_hidden", "critic_hidden"):
        r[k] = tuple(r[k])
    return FinetuneConfig(**{**d, "residual": ResidualConfig(**r)})


def latest(run_dir: Path) -> Path | None:
    cps = sorted(Path(run_dir).glob("finetune_*.pt"), key=lambda p: int(p.stem.split("_")[1]))
    return cps[-1] if cps else None


class Finetuner:
    """A fine-tuning run: buffers, learner, environment; :meth:`run` collects and learns."""

    def __init__(
        self,
        task: Any,
        base_dir: Path,
        dataset: Path,
        cfg: FinetuneConfig,
        run_dir: Path,
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        from ..bc import dataset_provenance, load_checked
        from ..draft import build_draft

        torch.set_num_threads(cfg.threads)
        self.task, self.cfg, self.run_dir, self.progress = task, cfg, Path(run_dir), progress
        task_cfg = task.default_config()
        contract = build_draft(task, task_cfg)
        self.base = BasePolicy(base_dir)
        check_base(self.base, contract)
        ds = load_checked(dataset, contract, task.name)
        dprov = dataset_provenance(dataset, contract, task.name)
        run_file = self.run_dir / RUN_FILE
        if resume:
            rec = read_run(self.run_dir)
            if rec["base"]["sha256"] != self.base.sha256:
                raise Sim2RealError(f"{self.base.path}: base.sha256 differs from the one {run_file} records")
            if rec["dataset"]["sha256"] != dprov["sha256"]:
                raise Sim2RealError(f"{dataset}: dataset.sha256 differs from the one {run_file} records")
        elif self.run_dir.exists() and any(self.run_dir.iterdir()):
            raise Sim2RealError(
                f"{self.run_dir}: exists and is not empty; pass --resume to continue that run"
            )
        self.record = {
            "task": task.key,
            "base": {"path": str(self.base.path), "sha256": self.base.sha256},
            "dataset": dprov,
            "config": asdict(cfg),
            "commit": git_commit(Path(__file__).resolve().parents[3]),
        }
        n_obs, n_act = contract.obs_size, contract.action_size
        rc = cfg.residual
        self.learner = ResidualLearner(rc, n_obs, n_act, cfg.seed, discrete_actions(contract))
        demo = demo_transitions(ds, self.base, rc.nstep, rc.gamma)
        self.demo = ReplayBuffer(len(demo["obs"]), Sizes(n_obs, n_act))
        self.demo.add(demo)
        self.online = ReplayBuffer(cfg.online_capacity, Sizes(n_obs, n_act))
        self.learner.set_normaliser(np.asarray(ds.frames["observation.state"], dtype=np.float32))
        self.sampler = MixedSampler(self.online, self.demo, self.learner.rng, min_online=rc.batch_size // 2)
        self.steps = 0
        self.episodes = 0
        self.successes = 0
        self.pending = 0.0
        self.log: list[dict[str, Any]] = []
        self.wall_s = 0.0
        if resume:
            self._restore()
            # The resumed command's config (a larger --budget-steps) is what the policy is now
            # trained under: an export reads it from the run file, so it is rewritten; the earlier
            # budgets stay listed.
            self.record["resumed_from_budgets"] = [
                *rec.get("resumed_from_budgets", []),
                rec["config"]["budget_steps"],
            ]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = run_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.record, indent=1) + "\n")
        tmp.replace(run_file)

    # ------------------------------------------------------------------ checkpoints
    def save(self) -> Path:
        self.online.save(self.run_dir / REPLAY_FILE)
        path = self.run_dir / CKPT.format(self.steps)
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save(
            {
                "learner": self.learner.state_dict(),
                "steps": self.steps,
                "episodes": self.episodes,
                "successes": self.successes,
                "pending": self.pending,
                "online_added": self.online.added,
                "log": self.log,
                "wall_s": self.wall_s,
            },
            tmp,
        )
        tmp.replace(path)
        (self.run_dir / "finetune_log.json").write_text(json.dumps(self.log, indent=1))
        return path

    def _restore(self) -> None:
        ck = latest(self.run_dir)
        if ck is None:
            raise Sim2RealError(f"{self.run_dir}: --resume: no finetune_<steps>.pt checkpoint")
        try:
            st = torch.load(ck, map_location="cpu", weights_only=False)
            self.learner.load_state_dict(st["learner"])
        except Exception as exc:
            raise Sim2RealError(f"{ck}: not a readable fine-tuning checkpoint ({exc})") from exc
        try:
            self.online.load(self.run_dir / REPLAY_FILE)
        except ValueError as exc:
            raise Sim2RealError(str(exc)) from exc
        if self.online.added != st["online_added"]:
            raise Sim2RealError(
                f"{self.run_dir / REPLAY_FILE}: holds {self.online.added} transitions added, {ck.name} "
                f"expects {st['online_added']} (interrupted between the two writes?)"
            )
        self.steps, self.episodes, self.successes = st["steps"], st["episodes"], st["successes"]
        self.pending, self.log, self.wall_s = st["pending"], st["log"], st["wall_s"]

    # ------------------------------------------------------------------ the loop
    def run(self) -> dict[str, Any]:
        from tqdm import tqdm

        cfg, rc = self.cfg, self.cfg.residual
        task_cfg = self.task.default_config()
        # a resumed run meets new episodes (the simulator's state is not saved)
        env = online_env(self.task, task_cfg, cfg.num_envs, cfg.seed + 7919 * self.steps)
        acc = NStepAccumulator(cfg.num_envs, rc.nstep, rc.gamma)
        obs = env.obs
        base = self.base(obs)
        t0 = time.perf_counter() - self.wall_s
        next_ckpt = (self.steps // cfg.checkpoint_every_steps + 1) * cfg.checkpoint_every_steps
        next_export = (
            (self.steps // cfg.export_every_steps + 1) * cfg.export_every_steps
            if cfg.export_every_steps
            else None
        )
        window: list[bool] = []
        stats: dict[str, float] = {}
        bar = tqdm(
            total=cfg.budget_steps,
            initial=self.steps,
            desc="finetune",
            unit="step",
            disable=not self.progress,
        )
        while self.steps < cfg.budget_steps:
            action = self.learner.act(obs, base, explore=True)
            s = env.step(action)
            next_base = self.base(s.next_obs)
            self.online.add(
                acc.add(obs, base, action, s.reward, s.next_obs, next_base, s.terminated, s.truncated)
            )
            ended = s.terminated | s.truncated
            self.episodes += int(ended.sum())
            self.successes += int(s.success.sum())
            window = (window + list(s.success[ended]))[-100:]
            obs = s.obs
            base = np.where(ended[:, None], self.base(obs), next_base)
            self.steps += cfg.num_envs
            bar.update(cfg.num_envs)
            self.pending += rc.utd_ratio * cfg.num_envs
            while self.pending >= 1.0:
                batch, online_rows = self.sampler.sample(rc.batch_size)
                stats = self.learner.update(batch, ~online_rows)
                self.pending -= 1.0
            if self.steps >= next_ckpt or self.steps >= cfg.budget_steps:
                self.wall_s = time.perf_counter() - t0
                self.log.append(
                    {
                        "steps": self.steps,
                        "episodes": self.episodes,
                        "updates": self.learner.updates,
                        "success_rate_last_100": float(np.mean(window)) if window else None,
                        "wall_time_s": self.wall_s,
                        **stats,
                    }
                )
                bar.set_postfix(succ=f"{self.log[-1]['success_rate_last_100'] or 0:.2f}")
                self.save()
                next_ckpt += cfg.checkpoint_every_steps
            if next_export is not None and self.steps >= next_export:
                self.export(Path(cfg.export_to), overwrite=True)
                next_export += cfg.export_every_steps
        bar.close()
        self.wall_s = time.perf_counter() - t0
        summary = {
            "algorithm": "residual off-policy RL (TD3-style actor, LayerNorm critic ensemble, RLPD 50/50 "
            "sampling, n-step returns) on a base policy",
            "commit": self.record["commit"],
            "env_steps": self.steps,
            "episodes": self.episodes,
            "successes": self.successes,
            "updates": self.learner.updates,
            "actor_updates": self.learner.actor_updates,
            "iterations": self.learner.updates,
            "wall_time_s": self.wall_s,
            "final": self.log[-1] if self.log else {},
        }
        (self.run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
        return summary

    def export(self, out_dir: Path, overwrite: bool = False) -> Path:
        return export_residual(
            self.learner.actor, self.base.path, self.contract(), out_dir, overwrite=overwrite
        )

    def contract(self) -> Any:
        return residual_contract(self.base.path, self.learner.actor.scale.tolist(), self.provenance())

    def provenance(self) -> dict[str, Any]:
        return run_provenance(self.record, self.steps, self.wall_s, self.learner.updates)


def run_provenance(record: dict[str, Any], steps: int, wall_s: float, updates: int) -> dict[str, Any]:
    from ..onnx_export import environment_versions

    return {
        "commit": record["commit"],
        "task": record["task"],
        "dataset": record["dataset"],
        "residual": {
            "config": record["config"],
            "env_steps": steps,
            "updates": updates,
            "wall_time_s": wall_s,
        },
        "versions": environment_versions(),
    }


def export_finetune_run(
    run_dir: Path, out_dir: Path, checkpoint: Path | None = None, overwrite: bool = False
) -> Path:
    """``sim2real export --run R`` for a fine-tuning run: base + the checkpoint's residual.

    Raises:
        Sim2RealError: no checkpoint, an unreadable one, or a base file that changed since.
    """
    run_dir = Path(run_dir)
    rec = read_run(run_dir)
    cfg = config_from_dict(rec["config"])
    ck = Path(checkpoint) if checkpoint else latest(run_dir)
    if ck is None or not ck.is_file():
        raise Sim2RealError(f"{run_dir}: no finetune_<steps>.pt checkpoint")
    base = Path(rec["base"]["path"])
    contract0 = OnnxPolicy(base).contract
    learner = ResidualLearner(
        cfg.residual, contract0.obs_size, contract0.action_size, cfg.seed, discrete_actions(contract0)
    )
    try:
        st = torch.load(ck, map_location="cpu", weights_only=False)
        learner.load_state_dict(st["learner"])
    except Exception as exc:
        raise Sim2RealError(f"{ck}: not a readable fine-tuning checkpoint ({exc})") from exc
    prov = run_provenance(rec, st["steps"], st["wall_s"], learner.updates)
    prov["residual"]["checkpoint"] = ck.name
    contract = residual_contract(base, learner.actor.scale.tolist(), prov)
    if contract.provenance["base"]["sha256"] != rec["base"]["sha256"]:
        raise Sim2RealError(
            f"{base}: base.sha256: the base policy changed since fine-tuning ({run_dir / RUN_FILE})"
        )
    return export_residual(learner.actor, base, contract, out_dir, overwrite=overwrite)


def residual_from_args(a: Any, rc: ResidualConfig) -> ResidualConfig:
    """``rc`` with the :data:`RESIDUAL_FLAGS` that ``a`` has and sets, checked (a clear error
    naming the flag)."""
    given = {k: getattr(a, k, None) for k in RESIDUAL_FLAGS}
    if given["critic_hidden"] is not None:
        given["critic_hidden"] = tuple(given["critic_hidden"]) or None
    rc = replace(rc, **{k: v for k, v in given.items() if v is not None})
    if rc.batch_size < 2 or rc.batch_size % 2:
        raise Sim2RealError(f"--batch-size: expected an even number >= 2, got {rc.batch_size}")
    if rc.bc_weight < 0:
        raise Sim2RealError(f"--bc-weight: expected >= 0, got {rc.bc_weight}")
    if rc.discrete_scale is not None and not 0 < rc.discrete_scale <= 2:
        raise Sim2RealError(f"--discrete-scale: expected 0 < scale <= 2, got {rc.discrete_scale}")
    if not 0 < rc.scale <= 1:
        raise Sim2RealError(f"--scale: expected 0 < scale <= 1, got {rc.scale}")
    return rc


def finetune_cli(a: Any) -> int:
    """``sim2real finetune <domain>``."""
    from ..tasks import get_task

    task = get_task(a.domain, a.task)
    cfg = FinetuneConfig()
    if a.resume:
        cfg = config_from_dict(read_run(Path(a.run_dir))["config"])
    over = {
        k: v
        for k, v in (
            ("budget_steps", a.budget_steps),
            ("num_envs", a.num_envs),
            ("seed", a.seed),
            ("export_every_steps", a.export_every_steps),
            ("export_to", a.export_to),
        )
        if v is not None
    }
    cfg = replace(cfg, **over, residual=residual_from_args(a, cfg.residual))
    if cfg.export_every_steps and not cfg.export_to:
        raise Sim2RealError("--export-every-steps needs --export-to DIR (the policy folder a node watches)")
    if cfg.num_envs < 1 or cfg.budget_steps < 1:
        raise Sim2RealError("--num-envs and --budget-steps must be >= 1")
    ft = Finetuner(task, Path(a.base), Path(a.dataset), cfg, Path(a.run_dir), resume=a.resume)
    print(
        f"finetuning {task.key} on {ft.base.path} -> {a.run_dir} ({len(ft.demo)} demonstration transitions)"
    )
    s = ft.run()
    print(
        f"done: {s['env_steps']} env steps, {s['episodes']} episodes, {s['updates']} updates, "
        f"{s['wall_time_s']:.0f} s wall; success (last 100) {s['final'].get('success_rate_last_100')}"
    )
    return 0
