"""The HIL transition stream (``/hil/transitions``, std_msgs/Float64MultiArray over Cyclone DDS):
hand-built transitions arrive exactly, in order and numbered; a message of another layout or size is
refused naming the field; a gap in the sequence is counted as lost."""

from __future__ import annotations

import time

import numpy as np
import pytest

from sim2real.hil.stream import (
    HEADER,
    StreamError,
    Transition,
    TransitionInbox,
    TransitionPublisher,
    decode,
    encode,
)
from sim2real_ros import msgs
from sim2real_ros.dds import DdsTransport

N, A = 5, 3


def fields(i: int) -> dict:
    """Hand-built values: float32 extremes, a negative zero, big integers, every flag."""
    obs = np.array([1.5, -0.0, np.float32(3.4e38), np.float32(1e-45), -7.25 + i], dtype=np.float32)
    return {
        "episode": 2**40 + i,
        "step": 1000 + i,
        "obs": obs,
        "action": np.array([-1.0, 0.333333343, 1.0], dtype=np.float32),
        "reward": 1.0 if i == 2 else 0.0,
        "next_obs": obs[::-1].copy(),
        "terminated": i == 2,
        "truncated": i == 1,
        "intervention": i % 2 == 0,
    }


def same(a: Transition, b: dict, seq: int) -> None:
    assert a.seq == seq
    for k, v in b.items():
        got = getattr(a, k)
        if isinstance(v, np.ndarray):
            assert got.dtype == np.float32 and np.array_equal(got.view(np.uint32), v.view(np.uint32)), k
        else:
            assert got == v and type(got) is type(v), k


def wait(cond, timeout_s=10.0):
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout_s, "timed out"
        time.sleep(0.005)


def test_transitions_round_trip_exactly_over_dds(dds_env):
    pub_t, sub_t = DdsTransport("actor"), DdsTransport("learner")
    try:
        inbox = TransitionInbox(sub_t, N, A)
        pub = TransitionPublisher(pub_t)
        wait(lambda: pub.learners() > 0)
        sent = [fields(i) for i in range(3)]
        for f in sent:
            pub.publish(**f)
        wait(lambda: inbox.received == 3)
        got = [inbox.get(0.0) for _ in range(3)]
        for i, (g, f) in enumerate(zip(got, sent)):
            same(g, f, seq=i)  # bit for bit, in order
        assert inbox.get(0.0) is None and inbox.lost == 0 and inbox.refused == 0
    finally:
        pub_t.close()
        sub_t.close()


def test_message_layout_is_labelled_and_checked():
    tr = Transition(seq=7, **fields(0))
    m = encode(tr, _Msgs())
    assert [(d.label, d.size) for d in m.layout.dim] == [
        (HEADER, 7),
        ("obs", N),
        ("action", A),
        ("next_obs", N),
    ]
    assert len(m.data) == 7 + N + A + N
    same(decode(m, N, A), fields(0), seq=7)
    with pytest.raises(StreamError, match=r"/hil/transitions: obs has 5 values, the learner's contract 6"):
        decode(m, N + 1, A)
    m.layout.dim[0].label = "something_else"
    with pytest.raises(StreamError, match=r"layout\.dim labels"):
        decode(m, N, A)
    m = encode(tr, _Msgs())
    m.data[7 + N] = float("nan")  # the first action entry
    with pytest.raises(StreamError, match="action is not finite"):
        decode(m, N, A)
    m = encode(tr, _Msgs())
    m.data = m.data[:-1]
    with pytest.raises(StreamError, match="data has 19 values, the layout 20"):
        decode(m, N, A)


class _Msgs:
    """``transport.msg`` without a transport (the DDS message classes)."""

    @staticmethod
    def msg(name: str):
        return msgs.MESSAGES[name]


class _Log:
    def __init__(self):
        self.lines = []

    def error(self, m):
        self.lines.append(m)

    warning = info = error


class _Fake:
    """Records the subscription callback so messages can be handed in directly."""

    def __init__(self):
        self.log = _Log()

    def subscribe(self, topic, ros_type, qos, cb):
        assert qos.reliable and qos.depth >= 1000
        self.cb = cb


def test_inbox_counts_lost_and_refused_transitions():
    t = _Fake()
    inbox = TransitionInbox(t, N, A)
    for seq in (0, 1, 4, 5):
        t.cb(encode(Transition(seq=seq, **fields(0)), _Msgs()))
    t.cb(encode(Transition(seq=6, **{**fields(0), "obs": np.zeros(N + 1, np.float32)}), _Msgs()))
    assert inbox.received == 4 and inbox.lost == 2 and inbox.refused == 1
    assert any("2 transitions lost (seq 2..3)" in m for m in t.log.lines)
    assert any("obs has 6 values" in m for m in t.log.lines)
