"""The actor -> learner transition stream of human-in-the-loop fine-tuning, over DDS topics.

One transition per message, ``std_msgs/msg/Float64MultiArray`` on ``/hil/transitions`` (reliable,
keep last :data:`STREAM_DEPTH`, volatile). Why DDS topics and not a local socket: the project's
transport is already Cyclone DDS (rclpy on a robot), so the stream is an ordinary ROS 2 topic
(``ros2 topic echo``, ``ros2 bag record`` and a learner on another machine work unchanged, with
the same discovery and QoS as every other topic); RELIABLE gives retransmission and per-writer
ordering, so nothing is lost or reordered while the learner keeps up with a backlog of up to
:data:`STREAM_DEPTH` messages (40 s at 25 Hz); a message is ~0.8 kB (the arm: 46 + 8 + 46 values),
far below any fragmentation limit. A sequence number in every message lets the learner count what
was lost anyway (a learner that fell further behind, a restarted actor) instead of guessing.

Layout (``layout.dim``: one segment per dimension, concatenated in ``data`` in this order; a
segment's ``stride`` is its size):

    ``hil_transition_v1`` [7]: seq, episode, step, reward, terminated, truncated, intervention
    ``obs`` [N], ``action`` [A], ``next_obs`` [N]

``obs`` and ``next_obs`` are the contract's observation vectors the node's controller built (float32
values, exact in float64), ``action`` the action executed in the policy's action space (the
policy's, or the human's command mapped into it), ``reward`` the success signal, ``terminated``
success or failure (no bootstrapping), ``truncated`` a time limit (bootstrap from ``next_obs``),
``intervention`` whether a human commanded that step. Integers (seq, episode, step) are exact in
float64 up to 2^53.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim2real_ros.transport import QoS

TRANSITIONS_TOPIC = "/hil/transitions"
SUCCESS_TOPIC = "/hil/success"
"""std_msgs/Bool True: the episode succeeded (the sim bridge's success, an operator's button)."""
LEARNER_STATE_TOPIC = "/hil/learner/state"
ARRAY = "std_msgs/msg/Float64MultiArray"
BOOL = "std_msgs/msg/Bool"
STRING = "std_msgs/msg/String"
STREAM_DEPTH = 1000
STREAM_QOS = QoS(reliable=True, depth=STREAM_DEPTH)
"""Reliable, keep last 1000, volatile (a late learner starts with what comes next)."""
HEADER = "hil_transition_v1"
SCALARS = ("seq", "episode", "step", "reward", "terminated", "truncated", "intervention")


class StreamError(ValueError):
    """A message that is not a transition of the expected sizes (names the field)."""


@dataclass(frozen=True)
class Transition:
    """One control step as the node took it, and what followed."""

    seq: int
    """Message number on the stream (0, 1, ...; per actor session)."""
    episode: int
    step: int
    """Control step in the episode (0, 1, ...)."""
    obs: np.ndarray
    """float32 [N]."""
    action: np.ndarray
    """float32 [A], the action executed (policy or human), in [-1, 1]."""
    reward: float
    next_obs: np.ndarray
    """float32 [N], the observation at the next control step (a terminal step: its own)."""
    terminated: bool
    truncated: bool
    intervention: bool


def layout(obs_size: int, action_size: int) -> list[tuple[str, int]]:
    """The message's segments (label, size), in order (see the module)."""
    return [(HEADER, len(SCALARS)), ("obs", obs_size), ("action", action_size), ("next_obs", obs_size)]


def encode(tr: Transition, transport: Any) -> Any:
    """``tr`` as a ``std_msgs/Float64MultiArray`` built with ``transport.msg``."""
    dim_cls = transport.msg("std_msgs/msg/MultiArrayDimension")
    msg = transport.msg(ARRAY)()
    msg.layout.dim = [
        dim_cls(label=label, size=size, stride=size) for label, size in layout(len(tr.obs), len(tr.action))
    ]
    msg.layout.data_offset = 0
    head = [tr.seq, tr.episode, tr.step, tr.reward, tr.terminated, tr.truncated, tr.intervention]
    msg.data = [float(v) for v in head] + [
        float(v) for part in (tr.obs, tr.action, tr.next_obs) for v in np.asarray(part, dtype=np.float32)
    ]
    return msg


def decode(msg: Any, obs_size: int, action_size: int, topic: str = TRANSITIONS_TOPIC) -> Transition:
    """A transition from a ``Float64MultiArray``; ``obs_size`` / ``action_size`` are the
    learner's contract's.

    Raises:
        StreamError: another layout, sizes or a non-finite value, naming the field.
    """
    dims = [(d.label, int(d.size)) for d in msg.layout.dim]
    want = layout(obs_size, action_size)
    if [d[0] for d in dims] != [w[0] for w in want]:
        labels = [d[0] for d in dims]
        raise StreamError(f"{topic}: layout.dim labels {labels}, expected {[w[0] for w in want]}")
    for (label, got), (_, size) in zip(dims, want):
        if got != size:
            raise StreamError(f"{topic}: {label} has {got} values, the learner's contract {size}")
    data = np.asarray(msg.data, dtype=np.float64)
    if len(data) != sum(s for _, s in want):
        raise StreamError(f"{topic}: data has {len(data)} values, the layout {sum(s for _, s in want)}")
    h, n, a = len(SCALARS), obs_size, action_size
    parts = {"obs": data[h : h + n], "action": data[h + n : h + n + a], "next_obs": data[h + n + a :]}
    for name, v in [*zip(SCALARS, data[:h]), *parts.items()]:
        if not np.all(np.isfinite(v)):
            raise StreamError(f"{topic}: {name} is not finite")
    seq, ep, step, rew, term, trunc, interv = data[:h]
    return Transition(
        int(seq), int(ep), int(step),
        parts["obs"].astype(np.float32), parts["action"].astype(np.float32), float(rew),
        parts["next_obs"].astype(np.float32), bool(term), bool(trunc), bool(interv),
    )  # fmt: skip


class TransitionPublisher:
    """The actor's end: numbers the transitions and publishes them (see the module)."""

    def __init__(self, transport: Any, topic: str = TRANSITIONS_TOPIC) -> None:
        self.t = transport
        self.topic = topic
        self.pub = transport.publisher(topic, ARRAY, STREAM_QOS)
        self.seq = 0

    def publish(self, **fields: Any) -> Transition:
        """Publish a transition (the fields of :class:`Transition` but ``seq``); returns it."""
        tr = Transition(seq=self.seq, **fields)
        self.pub.publish(encode(tr, self.t))
        self.seq += 1
        return tr

    def learners(self) -> int:
        """Matched readers (learners) of the stream."""
        return self.pub.subscriber_count()


class TransitionInbox:
    """The learner's end: decodes each message on the transport's thread into a queue.

    Attributes:
        received: transitions accepted. refused: messages refused (bad layout...), with
        ``last_error`` the latest reason. lost: transitions missing by sequence number.
        restarts: times the sequence went back to 0 (a new actor session).
        last_rx_s: steady time (s) of the last message, None before any.
    """

    def __init__(
        self, transport: Any, obs_size: int, action_size: int, topic: str = TRANSITIONS_TOPIC
    ) -> None:
        self.t = transport
        self.topic = topic
        self.sizes = (obs_size, action_size)
        self.queue: queue.Queue[Transition] = queue.Queue()
        self.received = self.refused = self.lost = self.restarts = 0
        self.last_error = ""
        self.last_rx_s: float | None = None
        self._next_seq: int | None = None
        self._lock = threading.Lock()
        transport.subscribe(topic, ARRAY, STREAM_QOS, self._on_msg)

    def _on_msg(self, msg: Any) -> None:
        with self._lock:
            self.last_rx_s = time.monotonic()
            try:
                tr = decode(msg, *self.sizes, topic=self.topic)
            except StreamError as exc:
                self.refused += 1
                if str(exc) != self.last_error or self.refused % 100 == 1:
                    self.t.log.error(f"refused a transition: {exc}")
                self.last_error = str(exc)
                return
            if self._next_seq is not None and tr.seq != self._next_seq:
                if tr.seq > self._next_seq:
                    self.lost += tr.seq - self._next_seq
                    self.t.log.error(
                        f"{self.topic}: {tr.seq - self._next_seq} transitions lost "
                        f"(seq {self._next_seq}..{tr.seq - 1})"
                    )
                else:
                    self.restarts += 1
                    self.t.log.warning(f"{self.topic}: sequence restarted at {tr.seq} (a new actor)")
            self._next_seq = tr.seq + 1
            self.received += 1
            self.queue.put(tr)

    def get(self, timeout_s: float) -> Transition | None:
        """The next transition, waiting at most ``timeout_s``; None if none came."""
        try:
            return self.queue.get(timeout=timeout_s) if timeout_s > 0 else self.queue.get_nowait()
        except queue.Empty:
            return None
