"""Recording demonstrations from a running policy node: per control step the contract's
observation, the action commanded and who commanded it, into a LeRobot v3.0 dataset, and the raw
topics into one rosbag2 MCAP bag per episode.

The node is the deployed one (``<domain>_policy.node``), constructed on a
:class:`RecordingTransport`: a wrapper of its transport (Cyclone DDS here, rclpy on a robot) that
passes every call through and, on the way,

- hands every message the node receives or publishes to the bag writer (:class:`EpisodeBags`,
  its own thread), with the topic's type and QoS as the node declared them;
- after every node callback (a timer tick, a message) asks :class:`ControlStepTap` whether the
  node took a control step, which it sees as a new ``controller.last_obs`` (the observation the
  domain's controller built from the contract's terms: nothing is rebuilt here). The frame is
  that observation, the action executed at that step (``node.last_action`` where the node's
  teleop arbitration provides it, else the controller's ``prev_action``: the policy's output in
  the action space, clipped to [-1, 1]) and ``node.intervention`` (False without teleop).

An episode's frames are kept in memory; at its end the bag is closed and the episode committed to
the dataset (:class:`~.lerobot_v3.LeRobotV3Writer`), or both dropped when it is discarded.
``next.done`` is set on the last frame, ``next.success`` and a sparse ``next.reward`` of 1 on it
when the episode succeeded.

Two ways to run a session: :func:`record_sim` against a domain's MuJoCo sim bridge in this process
(a fresh node per episode, the bridge reset to the episode's seed; the outcome is the bridge's), and
:func:`record_live` on live topics (a robot, or a simulator started elsewhere: one node for the
session, episodes delimited by the teleop device's episode buttons or a time limit, each committed
on a thread so the node keeps its rate). Either way an episode also ends on the device's
``discard`` (not written), ``success`` or ``episode_end`` button.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_ros.transport import QoS
from sim2real_runtime.errors import Sim2RealError

from .bag import EpisodeBags
from .lerobot_v3 import DatasetSpec, LeRobotV3Dataset, LeRobotV3Writer


@dataclass
class Step:
    """One control step as recorded."""

    t_s: float
    """Node clock (s): simulated time under use_sim_time."""
    obs: np.ndarray
    """float32 [N], the contract's observation."""
    action: np.ndarray
    """float32 [A], the action executed, in the policy's action space."""
    intervention: bool
    """A human (or scripted teleoperator) commanded this step."""


class ControlStepTap:
    """Sees the node's control steps: after each node callback, a new ``controller.last_obs``.

    Attributes:
        node: the node (set once constructed). steps: the steps since :meth:`reset`.
    """

    def __init__(self) -> None:
        self.node: Any = None
        self.steps: list[Step] = []
        self._last: Any = None

    def reset(self, node: Any = None) -> None:
        self.node, self.steps, self._last = node, [], None

    def after_callback(self) -> None:
        c = getattr(self.node, "controller", None)
        obs = getattr(c, "last_obs", None)
        if obs is None or obs is self._last:
            return
        self._last = obs
        action = getattr(self.node, "last_action", None)
        if action is None:
            action = c.prev_action
        self.steps.append(
            Step(
                t_s=float(self.node.t.now_s()),
                obs=np.asarray(obs, dtype=np.float32).reshape(-1).copy(),
                action=np.asarray(action, dtype=np.float32).reshape(-1).copy(),
                intervention=bool(getattr(self.node, "intervention", False)),
            )
        )


class _RecordingPublisher:
    def __init__(self, inner: Any, topic: str, bags: EpisodeBags | None) -> None:
        self._inner, self._topic, self._bags = inner, topic, bags

    def publish(self, msg: Any) -> None:
        self._inner.publish(msg)
        if self._bags is not None:
            self._bags.put(self._topic, msg)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class RecordingTransport:
    """A transport that records what passes through it (see the module doc); everything else is
    the wrapped transport's."""

    def __init__(self, inner: Any, bags: EpisodeBags | None, after_callback: Callable[[], None]) -> None:
        self.inner = inner
        self.bags = bags
        self.after_callback = after_callback
        self.log = inner.log

    def publisher(self, topic: str, ros_type: str, qos: QoS) -> Any:
        if self.bags is not None:
            self.bags.topic(topic, ros_type, qos)
        return _RecordingPublisher(self.inner.publisher(topic, ros_type, qos), topic, self.bags)

    def subscribe(self, topic: str, ros_type: str, qos: QoS, callback: Callable[[Any], None]) -> None:
        bags, after = self.bags, self.after_callback
        if bags is not None:
            bags.topic(topic, ros_type, qos)

        def recorded(msg: Any) -> None:
            if bags is not None:
                bags.put(topic, msg)
            callback(msg)
            after()

        self.inner.subscribe(topic, ros_type, qos, recorded)

    def timer(self, period_s: float, callback: Callable[[], None]) -> None:
        after = self.after_callback

        def ticked() -> None:
            callback()
            after()

        self.inner.timer(period_s, ticked)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class EpisodeResult:
    """How an episode ended and what was kept."""

    seed: int | None
    outcome: str
    """``success``, ``timeout``, ``dropped``, ``stopped`` (by key/button), ``discarded``..."""
    steps: int
    kept: bool
    episode_index: int | None = None
    missed_periods: int = 0
    save_s: float = 0.0
    """Wall time of the dataset commit (s)."""
    extra: dict[str, Any] = field(default_factory=dict)


def missed_periods(times_s: Sequence[float], period_s: float) -> int:
    """Control periods without a step between consecutive steps at ``times_s`` (s): a gap of
    ``g`` seconds holds ``round(g / period) - 1`` missed ones."""
    t = np.asarray(times_s, dtype=np.float64)
    if len(t) < 2:
        return 0
    return int(np.maximum(np.round(np.diff(t) / period_s) - 1, 0).sum())


class Recorder:
    """Episodes -> dataset (+ bags). One per recording session.

    Args:
        dataset: the dataset folder. spec: its spec (from the policy's contract).
        task: the task's words for meta/tasks.parquet.
        bag: the bag folder, or None.
        resume: append to an existing dataset (and bag folder); else both must be new.
    """

    def __init__(
        self,
        dataset: str | Path,
        spec: DatasetSpec,
        task: str,
        bag: str | Path | None = None,
        resume: bool = False,
    ) -> None:
        self.spec = spec
        self.task = task
        if bag is not None and not resume:  # before the dataset is created: a refusal leaves nothing
            EpisodeBags.refuse_existing(bag)
        self.writer = (LeRobotV3Writer.resume if resume else LeRobotV3Writer.create)(dataset, spec)
        try:
            self.bags = EpisodeBags.open(bag, resume, self.writer.num_episodes) if bag is not None else None
        except BaseException:
            self.writer.close()
            raise
        self.tap = ControlStepTap()
        self.results: list[EpisodeResult] = []
        self._pending: threading.Thread | None = None
        self._error: BaseException | None = None

    def wrap(self, transport: Any) -> RecordingTransport:
        """The transport to construct the node on."""
        return RecordingTransport(transport, self.bags, self.tap.after_callback)

    def begin(self) -> None:
        """A new episode starts (the previous one's commit finished first)."""
        self.wait()
        self.tap.reset(self.tap.node)
        if self.bags is not None:
            self.bags.begin(self.writer.num_episodes)

    def wait(self) -> None:
        """Wait for an episode committed in the background (:meth:`end` with ``background``);
        an error that commit met (a full disk...) is raised here."""
        if self._pending is not None:
            self._pending.join()
            self._pending = None
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def _commit_in_background(self, *args: Any) -> None:
        try:
            self._commit(*args)
        except BaseException as exc:  # raised by the next wait() on the caller's thread
            self._error = exc

    def end(
        self,
        outcome: str,
        keep: bool,
        seed: int | None = None,
        extra: Mapping[str, Any] | None = None,
        background: bool = False,
        report: Callable[[EpisodeResult], None] | None = None,
    ) -> EpisodeResult | None:
        """End the episode: commit it (bag, then dataset) when ``keep`` and it has steps, else
        drop it. ``outcome == "success"`` marks the last frame's success and reward.

        With ``background`` (a node that keeps running, on a robot) the episode's steps are taken
        now and committed on a thread (``report`` is called with the result there; None is
        returned); the next :meth:`begin` waits for it."""
        self.wait()
        steps = list(self.tap.steps)
        self.tap.reset(self.tap.node)
        keep = keep and len(steps) > 0
        done = None
        if self.bags is not None and background:
            done = threading.Event()
            self.bags.end(keep, done=done)
        if background:
            args = (steps, outcome, keep, seed, extra, done, report)
            self._pending = threading.Thread(
                target=self._commit_in_background, args=args, name="episode-commit"
            )
            self._pending.start()
            return None
        return self._commit(steps, outcome, keep, seed, extra, None, report)

    def _commit(
        self,
        steps: list[Step],
        outcome: str,
        keep: bool,
        seed: int | None,
        extra: Mapping[str, Any] | None,
        bag_done: threading.Event | None,
        report: Callable[[EpisodeResult], None] | None,
    ) -> EpisodeResult:
        period = 1.0 / self.spec.fps
        missed = missed_periods([s.t_s for s in steps], period)
        res = EpisodeResult(seed, outcome, len(steps), keep, missed_periods=missed, extra=dict(extra or {}))
        if self.bags is not None:
            if bag_done is None:
                self.bags.end(keep)
            else:
                self.bags.finish(bag_done, keep, None)
        if keep:
            t0 = time.perf_counter()
            w = self.writer
            n = len(steps)
            for i, s in enumerate(steps):
                last = i == n - 1
                w.add_frame({
                    "observation.state": s.obs, "action": s.action, "intervention": s.intervention,
                    "next.reward": 1.0 if last and outcome == "success" else 0.0,
                    "next.done": last, "next.success": last and outcome == "success",
                })  # fmt: skip
            info = {"outcome": outcome, "missed_periods": res.missed_periods,
                    "interventions": int(sum(s.intervention for s in steps)), **res.extra}  # fmt: skip
            if seed is not None:
                info["seed"] = seed
            res.episode_index = w.save_episode(self.task, info)
            res.save_s = time.perf_counter() - t0
        self.results.append(res)
        if report is not None:
            report(res)
        return res

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self.bags is not None:
                self.bags.close()
            self.writer.close()

    def summary(self) -> dict[str, Any]:
        kept = [r for r in self.results if r.kept]
        return {
            "episodes_recorded": len(kept),
            "episodes_discarded": len(self.results) - len(kept),
            "frames": int(sum(r.steps for r in kept)),
            "successes": sum(r.outcome == "success" for r in kept),
            "missed_periods": int(sum(r.missed_periods for r in kept)),
            "dataset_episodes": self.writer.num_episodes,
        }


def read_back(dataset: str | Path) -> LeRobotV3Dataset:
    """The dataset as recorded (checked), for a summary after a session."""
    return LeRobotV3Dataset.load(dataset)


# ---------------------------------------------------------------------------------- sim sessions


@dataclass
class SimEpisodes:
    """What a domain's recording against its MuJoCo sim bridge provides.

    Attributes:
        bridge_transport: the bridge's transport (its timers are spun with the node's).
        reset: ``seed -> None``: the bridge starts an episode (start, target or world for ``seed``).
        advance: one physics step of the bridge (it publishes what is due).
        clock_s: ``() -> float``: the bridge's simulated time (s).
        outcome: ``() -> str | None``: ``success``, ``timeout``... once the episode is over.
        started: ``() -> bool``: the node has commanded (the episode clock runs).
        make_node: ``transport -> node``: the domain's policy node on the given (recording) transport.
        attach_teleop: ``(node, seed) -> None``: give the node its teleoperator (None: the policy alone).
        on_step: ``node -> None`` called every loop (nav: send the goal once the node listens).
        real_time_factor: simulated seconds per wall second (> 0: the node's loop runs on the
            wall clock and samples the simulated one).
        startup_timeout_s: wall seconds an episode may wait for the node's first command.
    """

    bridge_transport: Any
    reset: Callable[[int], None]
    advance: Callable[[], None]
    clock_s: Callable[[], float]
    outcome: Callable[[], str | None]
    started: Callable[[], bool]
    make_node: Callable[[Any], Any]
    attach_teleop: Callable[[Any, int], None] | None = None
    on_step: Callable[[Any], None] | None = None
    real_time_factor: float = 1.0
    startup_timeout_s: float = 30.0


BUTTON_OUTCOMES = (("discard", "discarded"), ("success", "success"), ("episode_end", "stopped"))
"""Episode buttons of a teleop device (or scripted source) that end an episode, and how: a
discarded episode is not written; ``success`` marks it successful; ``episode_end`` just ends it."""


def episode_buttons(node: Any) -> frozenset[str]:
    """The episode buttons pressed at the node's last control step (none without teleop)."""
    last = getattr(getattr(node, "teleop", None), "last", None)
    return frozenset(getattr(last, "buttons", ()) or ())


class _Both:
    """Spin the node's and the bridge's transports from one loop (their timers; messages arrive
    on Cyclone's threads)."""

    def __init__(self, node_t: Any, bridge_t: Any) -> None:
        self.node_t, self.bridge_t = node_t, bridge_t

    def spin_once(self, timeout_s: float) -> None:
        self.node_t.spin_once(timeout_s)
        self.bridge_t.spin_once(0.0)


def record_sim(
    recorder: Recorder,
    sim: SimEpisodes,
    episodes: int,
    seed: int = 0,
    node_transport: Callable[[], Any] | None = None,
    report: Callable[[EpisodeResult], None] | None = None,
    max_attempts: int | None = None,
) -> list[EpisodeResult]:
    """Record ``episodes`` kept episodes against the sim bridge, seeds ``seed``, ``seed + 1``...
    Each episode: the bridge resets (the training distribution of starts and targets for that
    seed), a fresh node comes up on a recording transport (use_sim_time), runs until the bridge
    reports an outcome (success, dropped, timeout), and is shut down. An episode whose node never
    commanded (``no_commands``) is discarded and another seed tried.

    Args:
        node_transport: ``() -> transport`` for the node (default: a DdsTransport on sim time).
        max_attempts: give up after this many episodes in all (default ``2 * episodes + 5``).
    """
    from sim2real_ros.transport import run_paced

    if node_transport is None:
        from sim2real_ros.dds import DdsTransport

        def node_transport() -> Any:
            return DdsTransport("record_node", use_sim_time=True)

    attempts = 0
    limit = max_attempts if max_attempts is not None else 2 * episodes + 5
    kept = 0
    out: list[EpisodeResult] = []
    while kept < episodes and attempts < limit:
        s = seed + attempts
        attempts += 1
        sim.reset(s)
        recorder.begin()
        nt = node_transport()
        node = sim.make_node(recorder.wrap(nt))
        recorder.tap.reset(node)
        if sim.attach_teleop is not None:
            sim.attach_teleop(node, s)
        ended: list[str] = []
        wall0 = time.monotonic()

        def done(wall0: float = wall0, node: Any = node, ended: list[str] = ended) -> bool:
            if sim.on_step is not None:
                sim.on_step(node)
            outcome = sim.outcome()
            pressed = episode_buttons(node)
            for button, by_button in BUTTON_OUTCOMES:
                if outcome is None and button in pressed:
                    outcome = by_button
            if outcome is None and not sim.started() and time.monotonic() - wall0 > sim.startup_timeout_s:
                outcome = "no_commands"
            if outcome is not None:
                ended.append(outcome)
            return outcome is not None

        try:
            run_paced(_Both(nt, sim.bridge_transport), sim.advance, sim.clock_s, done, sim.real_time_factor)
        finally:
            node.shutdown()
            nt.close()
        outcome = ended[0] if ended else "stopped"
        res = recorder.end(outcome, keep=outcome not in ("no_commands", "discarded"), seed=s)
        kept += res.kept
        out.append(res)
        if report is not None:
            report(res)
    return out


TELEOP_CHOICES = ("none", "scripted", "keyboard", "gamepad", "spacemouse", "joy")
"""``--teleop``: ``none`` records the policy alone (its rollouts, intervention always False)."""


def add_record_args(p: Any, default_policy: str | None = None) -> None:
    """The options of ``sim2real record <domain>`` every domain shares."""
    p.add_argument("--teleop", choices=TELEOP_CHOICES, required=True,
                   help="who may take over: a scripted operator, a device, or none")  # fmt: skip
    p.add_argument(
        "--policy", default=default_policy, help="the policy directory (its contract names the features)"
    )
    p.add_argument("--episodes", type=int, required=True, help="episodes to keep")
    p.add_argument("--dataset", required=True, help="LeRobot v3.0 dataset folder (new, or with --resume)")
    p.add_argument("--bag", help="also write the raw topics as rosbag2 MCAP, one bag per episode, here")
    p.add_argument("--resume", action="store_true", help="append episodes to an existing dataset (and bag)")
    p.add_argument(
        "--seed", type=int, default=0, help="first episode's seed (starts, targets); +1 per episode"
    )
    p.add_argument("--real-time-factor", type=float, default=1.0, help="simulated seconds per wall second")
    p.add_argument("--episode-time-s", type=float, help="episode time limit (default: the task's)")
    p.add_argument(
        "--startup-timeout-s", type=float, default=30.0, help="wall s to wait for the node's first command"
    )
    p.add_argument(
        "--robot-topics",
        action="store_true",
        help="record from the robot (or any ROS 2 graph already running, e.g. a separate `sim2real sim`): "
        "no simulator is started; the node runs on the live topics, episodes start with the device's "
        "episode_start button (or at once without one) and end with episode_end / success / discard "
        "or after --episode-time-s",
    )
    p.add_argument("--use-sim-time", action="store_true", help="--robot-topics: the node follows /clock")
    p.add_argument(
        "--reset-time-s", type=float, default=2.0,
        help="--robot-topics without an episode_start button: pause between episodes (s, node clock)",
    )  # fmt: skip


def print_result(r: EpisodeResult) -> None:
    what = f"episode {r.episode_index}" if r.kept else "discarded"
    print(f"seed {r.seed}: {r.outcome} after {r.steps} steps ({what}; missed periods {r.missed_periods}; "
          f"saved in {r.save_s * 1000:.0f} ms)", flush=True)  # fmt: skip


def run_record(
    a: Any,
    spec: DatasetSpec,
    make_sim: Callable[[Any], SimEpisodes],
    make_node: Callable[[Any], Any] | None = None,
    attach_teleop: Callable[[Any, int], None] | None = None,
) -> int:
    """``sim2real record <domain>``: the recorder (dataset, bag) first, so an existing folder is
    refused before anything starts, then the episodes: against the domain's sim bridge, or with
    ``--robot-topics`` on the live topics (``make_node(transport)``, ``attach_teleop(node, seed)``)."""
    import json

    from sim2real_ros.dds import DdsTransport

    rec = Recorder(a.dataset, spec, a.task, a.bag, a.resume)
    try:
        if getattr(a, "robot_topics", False):
            if make_node is None:
                raise Sim2RealError("this domain cannot record from live topics yet")
            nt = DdsTransport("record_node", use_sim_time=a.use_sim_time)
            try:
                limit = a.episode_time_s or math.inf
                record_live(rec, nt, make_node, a.episodes, limit, attach_teleop, a.reset_time_s, a.seed,
                            report=print_result)  # fmt: skip
            finally:
                nt.close()
        else:
            bt = DdsTransport("sim_bridge")
            try:
                record_sim(rec, make_sim(bt), a.episodes, a.seed, report=print_result)
            finally:
                bt.close()
        print(json.dumps({"dataset": str(a.dataset), "bag": a.bag, **rec.summary()}), flush=True)
    finally:
        rec.close()
    return 0


def record_live(
    recorder: Recorder,
    transport: Any,
    make_node: Callable[[Any], Any],
    episodes: int,
    episode_time_s: float,
    attach_teleop: Callable[[Any, int], None] | None = None,
    reset_time_s: float = 2.0,
    seed: int = 0,
    report: Callable[[EpisodeResult], None] | None = None,
    until: Callable[[], bool] | None = None,
) -> list[EpisodeResult]:
    """Record from live topics (a robot): one node for the session on ``transport``.

    An episode starts when the teleop device's ``episode_start`` button is pressed, or, when no
    device has pressed one, ``reset_time_s`` (node clock) after the previous one, once the node
    takes control steps; it ends with ``episode_end`` / ``success`` / ``discard`` or after ``episode_time_s``
    (node clock). Ctrl-C ends the session: the episode in progress is not written.
    """
    from sim2real_ros.transport import spin

    node = make_node(recorder.wrap(transport))
    recorder.tap.reset(node)
    if attach_teleop is not None:
        attach_teleop(node, seed)
    state: dict[str, Any] = {"active": False, "t0": None, "next_s": None, "kept": 0, "buttons": False}
    n0 = len(recorder.results)

    def step() -> bool:
        now = transport.now_s()
        pressed = episode_buttons(node)
        state["buttons"] = state["buttons"] or bool(pressed)
        if not state["active"]:
            # without buttons: once the node takes control steps, after the reset pause
            due = state["next_s"] is None or now >= state["next_s"]
            if "episode_start" in pressed or (not state["buttons"] and recorder.tap.steps and due):
                recorder.begin()
                state.update(active=True, t0=now)
            return until is not None and until()
        outcome = next((o for button, o in BUTTON_OUTCOMES if button in pressed), None)
        if outcome is None and now - state["t0"] >= episode_time_s:
            outcome = "timeout"
        if outcome is not None:
            keep = outcome != "discarded" and bool(recorder.tap.steps)
            # committed on a thread: the node keeps its rate while the episode is written
            recorder.end(outcome, keep=keep, background=True, report=report)
            state.update(active=False, next_s=now + reset_time_s, kept=state["kept"] + keep)
        return state["kept"] >= episodes or (until is not None and until())

    try:
        spin(transport, until=step, max_wait_s=0.01)
    finally:
        if state["active"]:
            recorder.end("interrupted", keep=False)
        recorder.wait()
        node.shutdown()
    return recorder.results[n0:]
