"""Every domain's node in an ``error:`` state (a policy it cannot load, another domain's policy,
a bad parameter, a rate other than the contract's) publishes only the domain's safe command, a
zero one, or nothing, whatever arrives on its inputs. Inputs are generated from each input
topic's message type (every float NaN, infinite, huge or random; strings, sequences of any
length) and delivered over a real DDS network."""

from __future__ import annotations

import dataclasses
import math
import time
import typing

import numpy as np
import pytest
from conftest import clocked_transport
from test_policy_node import DOMAINS, make_node, policy_for

from sim2real_ros.dds import DdsTransport
from sim2real_ros.transport import QoS

ODD = [math.nan, math.inf, -math.inf, 1e9, -1e9, 0.0]
FRAMES = ["", "world", "odom", "map", "panda_link0", "base_link", "camera_optical"]


def _elem_type(tp):
    """The element type of a (possibly Annotated) sequence annotation, else None."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Annotated:
        return _elem_type(args[0])
    return args[0] if args else None


def fuzz(msg, rng, names=()):
    """Fill every float of ``msg`` (recursively) with odd or random values, strings with frame
    or joint names, sequences with random lengths."""
    for f in dataclasses.fields(msg):
        v = getattr(msg, f.name)
        if isinstance(v, bool):
            setattr(msg, f.name, bool(rng.random() < 0.5))
        elif isinstance(v, float):
            setattr(msg, f.name, _num(rng))
        elif isinstance(v, int):
            continue  # enums and stamps: left as they are
        elif isinstance(v, str):
            setattr(msg, f.name, str(rng.choice([*FRAMES, *names])))
        elif dataclasses.is_dataclass(v):
            fuzz(v, rng, names)
        elif isinstance(v, list):
            el = _elem_type(f.type)
            el = typing.get_args(el)[0] if typing.get_origin(el) is typing.Annotated else el
            n = len(v) if v else int(rng.integers(0, 12))  # fixed-size arrays keep their length
            if el is float:
                setattr(msg, f.name, [_num(rng) for _ in range(n)])
            elif el is str:
                setattr(msg, f.name, [str(rng.choice([*FRAMES, *names])) for _ in range(n)])
            elif isinstance(el, type) and dataclasses.is_dataclass(el):
                items = [el() for _ in range(min(n, 4))]
                for it in items:
                    fuzz(it, rng, names)
                setattr(msg, f.name, items)
    return msg


def _num(rng):
    return float(rng.choice(ODD)) if rng.random() < 0.3 else float(rng.normal(scale=3.0))


def _numbers(msg):
    """Every number in a message (recursively)."""
    if isinstance(msg, bool | int | float):
        yield float(msg)
    elif isinstance(msg, list | tuple):
        for v in msg:
            yield from _numbers(v)
    elif dataclasses.is_dataclass(msg):
        for f in dataclasses.fields(msg):
            if f.name not in ("header", "stamp", "timestamp", "timestamp_sample"):
                yield from _numbers(getattr(msg, f.name))


def _other(domain: str) -> str:
    return next(o for o in DOMAINS if o != domain)


ERRORS = {
    "missing policy": lambda req, d: {"policy_path": "/nonexistent/policy"},
    "another domain's policy": lambda req, d: {"policy_path": str(policy_for(req, _other(d)))},
    "bad parameter": lambda req, d: {"policy_path": str(policy_for(req, d)), "control_rate_hz": -1.0},
    "rate mismatch": lambda req, d: {"policy_path": str(policy_for(req, d)), "control_rate_hz": 1234.0},
}  # fmt: skip


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("error_state_test")
    yield t
    t.close()


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("cause", list(ERRORS))
def test_a_node_in_error_publishes_only_a_zero_command_or_nothing(request, transport, domain, cause):
    published: list = []
    real_publisher = transport.publisher

    def publisher(topic, ros_type, qos):  # record what the node publishes on every topic
        pub = real_publisher(topic, ros_type, qos)
        real = pub.publish
        pub.publish = lambda m, _t=topic: (published.append((_t, m)), real(m))[1]
        return pub

    transport.publisher = publisher
    overrides = ERRORS[cause](request, domain)
    policy = overrides.pop("policy_path")
    node = make_node(domain, transport, policy, **overrides)
    assert node.state.startswith("error:"), node.state
    rng = np.random.default_rng(sorted(ERRORS).index(cause))
    feeder = DdsTransport("feeder")
    try:
        # Transient local matches every reader: latched inputs (/tf_static) as well as volatile ones.
        qos = QoS(reliable=True, depth=10, transient_local=True)
        pubs = [(feeder.publisher(topic, ty, qos), feeder.msg(ty)) for topic, ty in node.inputs.items()]
        deadline = time.monotonic() + 5.0
        while any(p.subscriber_count() == 0 for p, _ in pubs) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert all(p.subscriber_count() > 0 for p, _ in pubs), "the node's inputs did not match"
        names = [f"panda_joint{i}" for i in range(1, 8)]
        for k in range(60):
            for p, cls in pubs:
                msg = fuzz(cls(), rng, names)
                if type(msg).__name__ == "Bool" and k % 20 == 10:
                    msg.data = not msg.data  # e-stop cycles
                p.publish(msg)
            time.sleep(0.002)
            with transport._lock:  # the node's callbacks are serialised with its timers
                transport.clock.t += 0.01
                node.on_tick()
        time.sleep(0.2)
        with transport._lock:
            node.on_tick()
            node.shutdown()
    finally:
        feeder.close()
    assert node.state == "stopped: shutdown"
    state_topic = node.p.state_topic
    for topic, msg in published:
        if topic == state_topic:
            continue
        values = list(_numbers(msg))
        assert all(v == 0.0 for v in values), f"{domain} in error published on {topic}: {msg}"
