"""The learner of human-in-the-loop fine-tuning: transitions from the actor's stream into the
residual learner's buffers, updates, and a new policy exported to the folder the node watches.

It is the fine-tuning run of :mod:`sim2real.residual.finetune` (same checks of the base and the
dataset, same learner, buffers, checkpoints and export, so ``sim2real export --run R`` works on a
HIL run folder), fed by :class:`~sim2real.hil.stream.TransitionInbox` instead of a simulator:

- transitions are grouped per episode (``episode``, consecutive ``step``) and turned into n-step
  transitions (:func:`~sim2real.residual.replay.nstep_targets`) when the episode ends (terminal:
  no bootstrap; truncated: bootstrap from the true next observation). A segment cut short (a
  sequence gap, another episode starting, the stream stalling) ends as a truncation at its last
  transition, whose next observation is known;
- every transition goes to the online buffer; those a human commanded (``intervention``) also go
  to the demonstration buffer (HIL-SERL, Luo et al. 2024), which grows from the dataset's;
- updates: ``utd_ratio`` per transition received, done as fast as the machine allows (the learner
  may run behind; the backlog is reported as the achieved ratio);
- every ``export_every_updates`` updates (once the actor has been updated) the policy is exported
  with :func:`~sim2real.residual.export.export_residual` (onnxruntime checked against torch,
  written whole, swapped in with two renames) to ``export_to``, where the node hot-reloads it;
  an export that fails its check is logged and nothing is written;
- states (logged on change, latched std_msgs/String on ``/hil/learner/state``): ``waiting: no
  transitions on <topic> yet``, ``learning``, ``stalled: no transitions on <topic> for N s (...)``
  (the learner finishes its backlog and waits; the node keeps driving its last policy), ``done``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..onnx_export import ExportCheckError
from ..residual.finetune import FinetuneConfig, Finetuner
from ..residual.replay import FIELDS, MixedSampler, ReplayBuffer, segment_transitions
from .actor import seed_policy_dir
from .stream import LEARNER_STATE_TOPIC, STRING, TRANSITIONS_TOPIC, Transition, TransitionInbox

INTERVENTIONS_FILE = "replay_interventions.npz"
LOG_FILE = "hil_log.jsonl"


@dataclass(frozen=True)
class HilConfig:
    """The learner's side of a HIL run (the rest is :class:`FinetuneConfig`; its ``budget_steps``
    counts transitions received, ``export_to`` is the folder the node watches)."""

    export_every_updates: int = 500
    stall_s: float = 5.0
    """No transition for this long: the ``stalled`` state (s)."""
    progress_every_s: float = 10.0
    transitions_topic: str = TRANSITIONS_TOPIC


class HilLearner(Finetuner):
    """A fine-tuning run fed by the actor's transition stream (see the module).

    Args:
        transport: the learner's transport (a DdsTransport), or None to make one.
        print_progress: print a progress line every ``hil.progress_every_s``.
    """

    def __init__(
        self,
        task: Any,
        base_dir: Path,
        dataset: Path,
        cfg: FinetuneConfig,
        hil: HilConfig,
        run_dir: Path,
        transport: Any = None,
        resume: bool = False,
        print_progress: bool = True,
    ) -> None:
        from sim2real_ros.transport import LATCHED

        super().__init__(task, base_dir, dataset, cfg, run_dir, resume=resume, progress=False)
        if not cfg.export_to:
            raise ValueError("HilLearner: FinetuneConfig.export_to (the folder the node watches) is required")
        self.hil = hil
        self.print_progress = print_progress
        # HIL-SERL: the demonstration buffer grows with the human's interventions
        n0 = len(self.demo)
        grown = ReplayBuffer(n0 + cfg.online_capacity, self.demo.sizes)
        grown.add(self.demo.get(np.arange(n0)))
        self.demo, self.demo_dataset_size = grown, n0
        self.sampler = MixedSampler(
            self.online, self.demo, self.learner.rng, min_online=cfg.residual.batch_size // 2
        )
        if resume:
            self._load_interventions()
        self.record["hil"] = asdict(hil)
        (self.run_dir / "finetune.json").write_text(json.dumps(self.record, indent=1) + "\n")
        seed_policy_dir(Path(self.base.path).parent, Path(cfg.export_to))
        if transport is None:
            from sim2real_ros.dds import DdsTransport

            transport = DdsTransport("hil_learner")
            self._own_transport = True
        else:
            self._own_transport = False
        self.t = transport
        n_obs, n_act = self.online.sizes.obs, self.online.sizes.action
        self.inbox = TransitionInbox(transport, n_obs, n_act, hil.transitions_topic)
        self.state_pub = transport.publisher(LEARNER_STATE_TOPIC, STRING, LATCHED)
        self._str = transport.msg(STRING)
        self.state = ""
        self.segment: list[Transition] = []
        self.interventions = 0
        """Transitions received that a human commanded."""
        self.episode_log: list[dict[str, Any]] = []
        self.exports = 0
        self.export_failures = 0
        self._exported_actor_updates = 0
        self._next_export = hil.export_every_updates
        self.stop = threading.Event()
        self._set_state(f"waiting: no transitions on {hil.transitions_topic} yet")

    # ------------------------------------------------------------------ state
    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            (self.t.log.warning if state.startswith("stalled") else self.t.log.info)(f"hil learner: {state}")
            self.state_pub.publish(self._str(data=state))

    def check_stall(self, now_s: float | None = None) -> str:
        """The stream's state from the time of the last message (steady clock, s)."""
        now = time.monotonic() if now_s is None else now_s
        last = self.inbox.last_rx_s
        topic = self.hil.transitions_topic
        if last is None:
            self._set_state(f"waiting: no transitions on {topic} yet")
        elif now - last > self.hil.stall_s:
            if self.segment:  # the running episode's transitions are kept, cut as a truncation
                self._flush(cut=True)
            self._set_state(
                f"stalled: no transitions on {topic} for {now - last:.1f} s (the actor stopped, died or "
                f"lost the connection); waiting, the node drives its last policy"
            )
        else:
            self._set_state("learning")
        return self.state

    # ------------------------------------------------------------------ data
    def ingest(self, tr: Transition) -> None:
        """One transition from the stream into the running episode's segment (see the module)."""
        seg = self.segment
        if seg and (tr.episode != seg[-1].episode or tr.step != seg[-1].step + 1):
            self._flush(cut=True)
        self.segment.append(tr)
        self.steps += 1
        self.pending += self.cfg.residual.utd_ratio
        self.interventions += int(tr.intervention)
        if tr.terminated or tr.truncated:
            self._flush(cut=False)

    def _flush(self, cut: bool) -> None:
        seg, self.segment = self.segment, []
        if not seg:
            return
        rc = self.cfg.residual
        rew = np.array([t.reward for t in seg], dtype=np.float64)
        term = np.array([t.terminated for t in seg])
        trunc = np.array([t.truncated for t in seg])
        ended = bool(term[-1] or trunc[-1])
        if cut and not ended:
            trunc[-1] = True
        obs = np.stack([t.obs for t in seg])
        nxt = np.stack([t.next_obs for t in seg])
        action = np.stack([t.action for t in seg])
        batch = segment_transitions(
            obs, self.base(obs), action, rew, term, trunc, nxt, self.base(nxt), rc.nstep, rc.gamma
        )
        self.online.add(batch)
        human = np.array([t.intervention for t in seg])
        if human.any():
            self.demo.add({k: v[human] for k, v in batch.items()})
        if ended:
            self.episodes += 1
            success = bool(term[-1] and rew[-1] > 0)
            self.successes += int(success)
            self.episode_log.append(
                {"episode": seg[-1].episode, "steps": len(seg), "success": success,
                 "intervention_steps": int(human.sum()), "received": self.steps}
            )  # fmt: skip

    # ------------------------------------------------------------------ checkpoints
    def save(self) -> Path:
        extra = {f: self.demo.data[f][self.demo_dataset_size : len(self.demo)] for f in FIELDS}
        tmp = self.run_dir / f".{INTERVENTIONS_FILE}.tmp"
        with open(tmp, "wb") as fh:
            np.savez(fh, **extra)
        tmp.replace(self.run_dir / INTERVENTIONS_FILE)
        return super().save()

    def _load_interventions(self) -> None:
        p = self.run_dir / INTERVENTIONS_FILE
        if p.is_file():
            with np.load(p) as z:
                self.demo.add({f: z[f] for f in FIELDS})

    # ------------------------------------------------------------------ export
    def export_now(self) -> bool:
        """Export the current policy to the watched folder; False (logged) when refused."""
        t0 = time.perf_counter()
        try:
            self.export(Path(self.cfg.export_to), overwrite=True)
        except ExportCheckError as exc:
            self.export_failures += 1
            self.t.log.error(f"hil learner: export refused, nothing written: {exc}")
            return False
        self.exports += 1
        self._exported_actor_updates = self.learner.actor_updates
        self.t.log.info(
            f"hil learner: exported policy {self.exports} ({self.learner.updates} updates) to "
            f"{self.cfg.export_to} in {time.perf_counter() - t0:.1f} s"
        )
        return True

    # ------------------------------------------------------------------ the loop
    def run(self) -> dict[str, Any]:
        cfg, rc, hil = self.cfg, self.cfg.residual, self.hil
        t0 = time.perf_counter() - self.wall_s
        next_ckpt = (self.steps // cfg.checkpoint_every_steps + 1) * cfg.checkpoint_every_steps
        next_print = time.monotonic() + hil.progress_every_s
        stats: dict[str, float] = {}
        log = self.run_dir / LOG_FILE
        try:
            while self.steps < cfg.budget_steps and not self.stop.is_set():
                while (tr := self.inbox.get(0.0)) is not None and self.steps < cfg.budget_steps:
                    self.ingest(tr)
                if self.pending >= 1.0:
                    batch, online_rows = self.sampler.sample(rc.batch_size)
                    stats = self.learner.update(batch, ~online_rows)
                    self.pending -= 1.0
                    if (
                        self.learner.updates >= self._next_export
                        and self.learner.actor_updates > self._exported_actor_updates
                    ):
                        self.export_now()
                        self._next_export = self.learner.updates + hil.export_every_updates
                else:
                    tr = self.inbox.get(0.05)
                    if tr is not None:
                        self.ingest(tr)
                self.check_stall()
                if self.steps >= next_ckpt:
                    self.wall_s = time.perf_counter() - t0
                    self._log_point(stats)
                    self.save()
                    next_ckpt += cfg.checkpoint_every_steps
                if time.monotonic() >= next_print:
                    next_print += hil.progress_every_s
                    self.wall_s = time.perf_counter() - t0
                    point = self._log_point(stats, keep=False)
                    with open(log, "a") as fh:
                        fh.write(json.dumps(point) + "\n")
                    if self.print_progress:
                        print(self.progress_line(point), flush=True)
        finally:
            self.wall_s = time.perf_counter() - t0
            self._flush(cut=True)
            self._log_point(stats)
            self.save()
            if self.learner.actor_updates > self._exported_actor_updates:
                self.export_now()
            self._set_state("done")
        summary = {
            "algorithm": "HIL residual off-policy RL (actor/learner over DDS, interventions in both buffers)",
            "commit": self.record["commit"],
            "transitions": self.steps,
            "episodes": self.episodes,
            "successes": self.successes,
            "intervention_transitions": self.interventions,
            "demo_buffer": len(self.demo),
            "demo_from_dataset": self.demo_dataset_size,
            "updates": self.learner.updates,
            "actor_updates": self.learner.actor_updates,
            "exports": self.exports,
            "export_failures": self.export_failures,
            "lost": self.inbox.lost,
            "refused": self.inbox.refused,
            "wall_time_s": self.wall_s,
            "episodes_log": self.episode_log,
        }
        (self.run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
        return summary

    def _log_point(self, stats: dict[str, float], keep: bool = True) -> dict[str, Any]:
        recent = self.episode_log[-20:]
        point = {
            "transitions": self.steps,
            "episodes": self.episodes,
            "success_rate_last_20": float(np.mean([e["success"] for e in recent])) if recent else None,
            "intervention_rate_last_20": (
                sum(e["intervention_steps"] for e in recent) / max(1, sum(e["steps"] for e in recent))
                if recent
                else None
            ),
            "updates": self.learner.updates,
            "utd_achieved": self.learner.updates / max(1, self.steps),
            "exports": self.exports,
            "lost": self.inbox.lost,
            "state": self.state,
            "wall_time_s": self.wall_s,
            **stats,
        }
        if keep:
            self.log.append(point)
        return point

    def progress_line(self, p: dict[str, Any]) -> str:
        sr, ir = p["success_rate_last_20"], p["intervention_rate_last_20"]
        return (
            f"hil learner: {p['transitions']}/{self.cfg.budget_steps} transitions, {p['episodes']} episodes, "
            f"success(last 20) {'-' if sr is None else f'{sr:.2f}'}, interventions(last 20) "
            f"{'-' if ir is None else f'{100 * ir:.0f} %'}, {p['updates']} updates "
            f"(UTD {p['utd_achieved']:.2f}), "
            f"{p['exports']} exports, {p['lost']} lost; {p['state']}"
        )

    def close(self) -> None:
        if self._own_transport:
            self.t.close()
