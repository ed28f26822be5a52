"""The actor of human-in-the-loop fine-tuning: the deployed arm policy node with hot reload, a
scripted human beside it through the node's teleop path, and the transitions it takes streamed to
the learner (:mod:`sim2real.hil.stream`).

The node is the one ``sim2real deploy manip`` runs (``manip_policy.node``), with ``reload_watch``
on the folder the learner exports to, constructed on a
:class:`~sim2real.datasets.recorder.RecordingTransport` whose hook (:class:`TransitionTap`) sees
every control step the node takes (``controller.last_obs``, ``node.last_action``,
``node.intervention``: :class:`~sim2real.datasets.recorder.ControlStepTap`, the recorder's own),
so a transition is what the node observed and sent, nothing rebuilt from the simulator.

Transition ``t`` is complete when step ``t + 1`` is taken (its observation is ``next_obs``); it is
held back one more step so that the episode's end can be put on the right transition:

- success (``/hil/success`` std_msgs/Bool True: the sim bridge's success signal here, an
  operator's button on a robot) or a failure (the cube dropped): the last step is terminal, reward 1
  on success, 0 otherwise (its ``next_obs`` is unused);
- a time limit: the last step has no observation after it and is dropped; the one before is
  truncated (the learner bootstraps from its true next observation).

Sim sessions (:func:`run_sim_actor`): one MuJoCo sim bridge (:mod:`sim2real.manip.sim_bridge`)
reset per episode, a fresh node per episode (as ``sim2real record`` runs it: the bridge's reset
teleports the arm, which a running node would take for a jump), on Cyclone DDS; the node loads the
newest policy in the watched folder when it starts and hot-reloads newer ones mid-episode.

Live sessions (:func:`run_live_actor`, ``--robot-topics``): one node on a robot's topics for the
whole session, the operator's device beside the policy (node parameter ``teleop``); the reward is
the ``/hil/success`` message or the device's ``success`` button, and nothing knows a simulator.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_runtime.errors import Sim2RealError

from ..datasets.recorder import ControlStepTap, RecordingTransport, Step, _Both, episode_buttons
from .stream import BOOL, SUCCESS_TOPIC, TRANSITIONS_TOPIC, TransitionPublisher
from .takeover import TakeoverConfig, TakeoverOperator

SUCCESS_QOS_DEPTH = 10


class TransitionTap:
    """The node's hook: control steps -> transitions on the stream (see the module).

    Args:
        stream: the publisher of transitions.
        transport: the actor's transport, for the success channel.
        success_topic: std_msgs/Bool; True marks the running episode a success.
    """

    def __init__(
        self, stream: TransitionPublisher, transport: Any, success_topic: str = SUCCESS_TOPIC
    ) -> None:
        from sim2real_ros.transport import QoS

        self.stream = stream
        self.tap = ControlStepTap()
        self.lock = threading.Lock()
        self.episode = -1
        self.success_seen = False
        self._pending: Step | None = None
        self._held: dict[str, Any] | None = None
        self._seen = 0
        self.published = 0
        self.interventions = 0
        transport.subscribe(
            success_topic, BOOL, QoS(reliable=True, depth=SUCCESS_QOS_DEPTH), self._on_success
        )

    def _on_success(self, msg: Any) -> None:
        if bool(msg.data):
            self.success_seen = True

    def begin(self, node: Any, episode: int) -> None:
        """A new episode driven by ``node``."""
        with self.lock:
            self.tap.reset(node)
            self.episode = episode
            self.success_seen = False
            self._pending, self._held, self._seen = None, None, 0
            self.published = self.interventions = 0

    def after_callback(self) -> None:
        """Called after every node callback (the recording transport's hook)."""
        with self.lock:
            if self.tap.node is not None and "success" in episode_buttons(self.tap.node):
                self.success_seen = True  # the teleop device's success key / button
            self.tap.after_callback()
            steps = self.tap.steps
            while self._seen < len(steps):
                s = steps[self._seen]
                if self._pending is not None:
                    if self._held is not None:
                        self._publish(self._held)
                    self._held = self._transition(self._pending, self._seen - 1, s.obs)
                self._pending = s
                self._seen += 1

    def _transition(self, s: Step, index: int, next_obs: np.ndarray, **flags: Any) -> dict[str, Any]:
        return {
            "episode": self.episode,
            "step": index,
            "obs": s.obs,
            "action": s.action,
            "reward": flags.get("reward", 0.0),
            "next_obs": next_obs,
            "terminated": flags.get("terminated", False),
            "truncated": flags.get("truncated", False),
            "intervention": s.intervention,
        }

    def _publish(self, tr: dict[str, Any]) -> None:
        self.stream.publish(**tr)
        self.published += 1
        self.interventions += int(tr["intervention"])

    def end(self, kind: str) -> None:
        """End the episode: ``success`` / ``failure`` (terminal) or ``truncated`` (see the module)."""
        if kind not in ("success", "failure", "truncated"):
            raise ValueError(f"episode end: 'success', 'failure' or 'truncated', not {kind!r}")
        with self.lock:
            if kind == "truncated":
                if self._held is not None:
                    self._publish({**self._held, "truncated": True})
            else:
                if self._held is not None:
                    self._publish(self._held)
                if self._pending is not None:
                    p = self._pending
                    reward = 1.0 if kind == "success" else 0.0
                    tr = self._transition(p, self._seen - 1, p.obs, terminated=True, reward=reward)
                    self._publish(tr)
            self._pending, self._held = None, None
            self.tap.reset(None)  # later callbacks of the closing node add nothing


@dataclass(frozen=True)
class ActorConfig:
    """One actor session against the arm's sim bridge."""

    policy_dir: str
    """The policy folder the node watches (the learner exports there)."""
    episodes: int = 0
    """Episodes to run (0: until stopped)."""
    seed: int = 0
    """First episode's seed (starts, targets); +1 per episode."""
    real_time_factor: float = 1.0
    reload_period_s: float = 0.5
    startup_timeout_s: float = 30.0
    """Wall s an episode may wait for the node's first command."""
    success_wait_s: float = 2.0
    """Wall s to wait for the success message to come back over the success topic."""
    human: bool = True
    """A scripted human beside the policy (:mod:`sim2real.hil.takeover`)."""
    takeover: TakeoverConfig = field(default_factory=TakeoverConfig)
    transitions_topic: str = TRANSITIONS_TOPIC
    success_topic: str = SUCCESS_TOPIC
    episodes_log: str = ""
    """A JSON-lines file, one line per episode ("": none)."""


def node_params(policy_dir: str, reload_period_s: float, use_sim_time: bool = True, **more: Any) -> Any:
    """The manip node's parameters for the actor (hot reload on; ``more``: other parameters)."""
    from sim2real_ros.node_params import params_from_mapping
    from sim2real_ros.policy_node import domain_nodes

    cls = domain_nodes()["manip"]
    values = {
        "policy_path": policy_dir,
        "use_sim_time": use_sim_time,
        "reload_watch": True,
        "reload_period_s": reload_period_s,
        **more,
    }
    params, errors = params_from_mapping(cls.PARAMS, values, "<sim2real hil actor>")
    if errors:
        raise errors[0]
    return cls, params


def attach_human(node: Any, cfg: TakeoverConfig, half_size_m: float | None, seed: int) -> TakeoverOperator:
    """The scripted takeover operator beside ``node``'s policy, through its teleop path."""
    c = node.controller
    if c is None:
        raise Sim2RealError(f"the node did not load the policy: {node.fault}")
    max_delta = np.asarray(c.joint_term.spec.params["max_delta_rad"], dtype=np.float64)
    op = TakeoverOperator.for_arm(node.description, max_delta, c.control_rate_hz, cfg, seed=seed)
    op.reset(half_size_m)
    node.attach_teleop(op)
    return op


def make_node_retrying(make: Callable[[], Any], tries: int = 20, wait_s: float = 0.05) -> Any:
    """A node that loaded its policy: a learner swapping the folder in (two renames) can leave it
    missing for a moment, so a node that could not load is shut down and made again."""
    for i in range(tries):
        node = make()
        if node.controller is not None or i == tries - 1:
            return node
        node.shutdown()
        node.t.close()
        time.sleep(wait_s)
    raise AssertionError("unreachable")


@dataclass
class ActorSession:
    """A running sim actor: its bridge, the tap, the current node (for tests and benchmarks)."""

    bridge: Any = None
    tap: TransitionTap | None = None
    node: Any = None
    episodes: list[dict[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def run_sim_actor(
    cfg: ActorConfig,
    session: ActorSession | None = None,
    on_episode: Callable[[dict[str, Any]], None] | None = None,
    on_loop: Callable[[ActorSession], None] | None = None,
) -> ActorSession:
    """Run episodes against the arm's sim bridge (see the module) until ``cfg.episodes`` are done
    or ``session.stop`` is set. ``on_loop(session)`` is called every physics step (tests)."""
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.transport import QoS, run_paced

    from ..manip.sim_bridge import ArmBridgeConfig, ManipSimBridge

    s = session or ActorSession()
    if not Path(cfg.policy_dir).exists():
        raise Sim2RealError(f"{cfg.policy_dir}: no policy to watch (the learner puts the base there first)")
    node_cls, params = node_params(cfg.policy_dir, cfg.reload_period_s)
    bt = DdsTransport("sim_bridge")
    at = DdsTransport("hil_actor")
    log = Path(cfg.episodes_log) if cfg.episodes_log else None
    try:
        s.bridge = bridge = ManipSimBridge(
            bt, ArmBridgeConfig(task="pick_place", real_time_factor=cfg.real_time_factor)
        )
        success_pub = bt.publisher(cfg.success_topic, BOOL, QoS(reliable=True, depth=SUCCESS_QOS_DEPTH))
        bool_cls = bt.msg(BOOL)
        s.tap = tap = TransitionTap(TransitionPublisher(at, cfg.transitions_topic), at, cfg.success_topic)
        ep = 0
        while not s.stop.is_set() and (cfg.episodes <= 0 or ep < cfg.episodes):
            seed = cfg.seed + ep
            bridge.reset(seed)
            wall0 = time.monotonic()
            nt = DdsTransport("hil_node", use_sim_time=True)
            node = make_node_retrying(
                lambda nt=nt: node_cls(RecordingTransport(nt, None, tap.after_callback), params, [])
            )
            s.node = node
            op = (
                attach_human(node, cfg.takeover, bridge.half_size_m, seed)
                if cfg.human and node.controller
                else None
            )
            tap.begin(node, ep)
            sent = [False]

            def done(wall0: float = wall0, sent: list[bool] = sent) -> bool:
                if on_loop is not None:
                    on_loop(s)
                if s.stop.is_set():
                    return True
                out = bridge.outcome
                if out == "success" and not sent[0]:
                    success_pub.publish(bool_cls(data=True))  # the reward channel a robot's button uses
                    sent[0] = True
                if out is None and bridge.episode_start_s is None:
                    return time.monotonic() - wall0 > cfg.startup_timeout_s
                return out is not None

            try:
                run_paced(_Both(nt, bt), bridge.advance, lambda: bridge.clock_s, done, cfg.real_time_factor)
                outcome = bridge.outcome or ("stopped" if s.stop.is_set() else "no_commands")
                if outcome == "success":
                    t0 = time.monotonic()
                    while not tap.success_seen and time.monotonic() - t0 < cfg.success_wait_s:
                        time.sleep(0.002)
                    if not tap.success_seen:
                        bt.log.error(
                            f"{cfg.success_topic}: the success message did not come back; truncating"
                        )
                kind = "success" if tap.success_seen else "failure" if outcome == "dropped" else "truncated"
                tap.end(kind)
                rec = {
                    "episode": ep, "seed": seed, "outcome": outcome, "reward_kind": kind,
                    "transitions": tap.published, "intervention_steps": tap.interventions,
                    "takeovers": op.takeovers if op is not None else 0,
                    "policy_version": node.policy_version, "swaps": node.reload.swaps,
                    "refusals": list(node.reload.refusals), "published_commands": node.published,
                    "episode_time_s": bridge.outcome_s, "wall_s": round(time.monotonic() - wall0, 3),
                    "stream_seq": tap.stream.seq, "learners": tap.stream.learners(),
                }  # fmt: skip
            finally:
                node.shutdown()
                nt.close()
                s.node = None
            s.episodes.append(rec)
            if log is not None:
                with open(log, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
            if on_episode is not None:
                on_episode(rec)
            ep += 1
    finally:
        at.close()
        bt.close()
    return s


def seed_policy_dir(base: Path, policy_dir: Path) -> None:
    """Put a copy of the base policy folder at ``policy_dir`` (whole: a sibling renamed) when
    nothing is there yet, so the node has a policy before the learner's first export."""
    if policy_dir.exists():
        return
    policy_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = policy_dir.with_name(f".{policy_dir.name}.seed.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(base, tmp)
    tmp.rename(policy_dir)


@dataclass(frozen=True)
class LiveActorConfig:
    """An actor on live topics (a robot, or a simulator started elsewhere)."""

    policy_dir: str
    episodes: int = 0
    """Episodes to run (0: until stopped)."""
    episode_time_s: float = 30.0
    """Node-clock seconds after which an episode is truncated."""
    reset_time_s: float = 5.0
    """Node-clock pause between episodes (the operator resets the scene)."""
    teleop: str = "none"
    """The node's ``teleop`` parameter: the operator's device (``keyboard``, ``spacemouse``, ``joy``...)."""
    use_sim_time: bool = False
    reload_period_s: float = 0.5
    transitions_topic: str = TRANSITIONS_TOPIC
    success_topic: str = SUCCESS_TOPIC
    episodes_log: str = ""


def run_live_actor(
    cfg: LiveActorConfig,
    session: ActorSession | None = None,
    transport: Any = None,
    on_episode: Callable[[dict[str, Any]], None] | None = None,
) -> ActorSession:
    """One node for the session on the live topics, the operator's device beside the policy (node
    parameter ``teleop``). An episode starts once the node takes control steps, ``reset_time_s``
    after the previous one; it ends in success when ``/hil/success`` says True (an operator's
    button node, or the sim's signal) or the device's ``success`` key/button is pressed (terminal,
    reward 1), and is truncated by the device's ``episode_end`` / ``discard`` or after
    ``episode_time_s``. Nothing here knows the simulator."""
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.transport import spin

    s = session or ActorSession()
    node_cls, params = node_params(cfg.policy_dir, cfg.reload_period_s, cfg.use_sim_time, teleop=cfg.teleop)
    nt = transport or DdsTransport("hil_node", use_sim_time=cfg.use_sim_time)
    s.tap = tap = TransitionTap(TransitionPublisher(nt, cfg.transitions_topic), nt, cfg.success_topic)
    s.node = node = node_cls(RecordingTransport(nt, None, tap.after_callback), params, [])
    st: dict[str, Any] = {"ep": 0, "t0": None, "next_s": None}

    def step() -> bool:
        if s.stop.is_set():
            return True
        now = nt.now_s()
        if st["t0"] is None:
            if node.controller is not None and node.engaged and (st["next_s"] is None or now >= st["next_s"]):
                tap.begin(node, st["ep"])
                st["t0"] = now
            return False
        pressed = episode_buttons(node)
        if tap.success_seen:
            kind = "success"
        elif pressed & {"episode_end", "discard"} or now - st["t0"] >= cfg.episode_time_s:
            kind = "truncated"
        else:
            return False
        tap.end(kind)
        rec = {"episode": st["ep"], "outcome": kind, "transitions": tap.published,
               "intervention_steps": tap.interventions, "policy_version": node.policy_version,
               "swaps": node.reload.swaps, "refusals": list(node.reload.refusals)}  # fmt: skip
        s.episodes.append(rec)
        if cfg.episodes_log:
            with open(cfg.episodes_log, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
        if on_episode is not None:
            on_episode(rec)
        st.update(ep=st["ep"] + 1, t0=None, next_s=now + cfg.reset_time_s)
        return cfg.episodes > 0 and st["ep"] >= cfg.episodes

    try:
        spin(nt, until=step, max_wait_s=0.01)
    finally:
        node.shutdown()
        if transport is None:
            nt.close()
    return s
