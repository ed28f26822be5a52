"""The ``dds`` transport: Eclipse Cyclone DDS speaking the ROS 2 wire conventions.

Conventions (those of rmw_cyclonedds): ROS topic ``/scan`` is DDS topic ``rt/scan``; the DDS type
name of ``sensor_msgs/msg/LaserScan`` is ``sensor_msgs::msg::dds_::LaserScan_``; samples are
key-less, ``@final`` structs in plain CDR (XCDR1), which the writers and readers pin with the
DataRepresentation QoS; ``ROS_DOMAIN_ID`` is the DDS domain id. Cyclone reads its configuration
(interfaces, discovery peers, tags) from ``CYCLONEDDS_URI`` exactly as under ROS 2.

Threads: messages are delivered on Cyclone's receive thread as they arrive (a listener, not a
waitset: no hand-over to another thread, which cut the latency's tail on a small machine), timers fire
from :meth:`DdsTransport.spin_once` on the caller's thread, and one lock serialises the two, so a
node's callbacks never run concurrently.

Actions (:meth:`DdsTransport.action_client`, :meth:`DdsTransport.action_server`) follow
rmw_cyclonedds' service wire format; see :mod:`sim2real_ros.actions` for what is verified.

What it does not do: ROS 2 node names (``ros2 node list`` reads them from the
``ros_discovery_info`` topic, which is not published), general services and parameter services.
Topics, types, QoS and bytes on the wire are what a ROS 2 graph sees and are tested.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from cyclonedds.builtin import BuiltinDataReader, BuiltinTopicDcpsPublication
from cyclonedds.core import InstanceState, Listener, Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

from .actions import DdsActionClient, DdsActionServer, _user_data
from .msgs import MESSAGES, PX4_VERSIONED, dds_type_name
from .transport import CLOCK, DEFAULT, QoS, stamp_to_s


def dds_topic_name(topic: str) -> str:
    """ROS topic name -> DDS topic name (``/scan`` -> ``rt/scan``)."""
    if not topic or topic.endswith("/") or "//" in topic:
        raise ValueError(f"invalid ROS topic name {topic!r}")
    return "rt" + (topic if topic.startswith("/") else "/" + topic)


def ros_type_name(dds_type: str) -> str:
    """DDS type name -> ROS 2 type name (``pkg::msg::dds_::Name_`` -> ``pkg/msg/Name``); other names
    (not from a ROS 2 graph) come back unchanged."""
    parts = dds_type.split("::")
    if len(parts) == 4 and parts[2] == "dds_" and parts[3].endswith("_"):
        return f"{parts[0]}/{parts[1]}/{parts[3][:-1]}"
    return dds_type


def loopback_config(tag: str, max_participants: int = 20) -> str:
    """A Cyclone DDS configuration (the ``CYCLONEDDS_URI`` value) for isolated runs on one host.

    Loopback interface only, no multicast (discovery by unicast to the local participant ports), and
    a discovery tag: participants with another tag ignore each other even on the same domain id,
    so parallel test runs never cross-talk.
    """
    return (
        "<CycloneDDS><Domain Id='any'><General><Interfaces><NetworkInterface address='127.0.0.1'/>"
        "</Interfaces><AllowMulticast>false</AllowMulticast></General><Discovery>"
        f"<Tag>{tag}</Tag><ParticipantIndex>auto</ParticipantIndex>"
        f"<MaxAutoParticipantIndex>{max_participants}</MaxAutoParticipantIndex>"
        "<Peers><Peer address='127.0.0.1'/></Peers></Discovery></Domain></CycloneDDS>"
    )


def dds_qos(qos: QoS, user_data: bytes | None = None) -> Qos:
    """Our QoS profile as a Cyclone DDS Qos, with the XCDR1 data representation pinned, and
    ``user_data`` (such as rmw_cyclonedds' ``clientid=...;``) in USER_DATA."""
    policies = [
        Policy.Reliability.Reliable(max_blocking_time=100_000_000)
        if qos.reliable
        else Policy.Reliability.BestEffort,
        Policy.History.KeepLast(qos.depth),
        Policy.Durability.TransientLocal if qos.transient_local else Policy.Durability.Volatile,
        Policy.DataRepresentation(use_cdrv0_representation=True),
    ]
    if user_data is not None:
        policies.append(Policy.Userdata(data=user_data))
    return Qos(*policies)


class _Writer:
    def __init__(self, writer: DataWriter) -> None:
        self._writer = writer

    def publish(self, msg: Any) -> None:
        self._writer.write(msg)

    def subscriber_count(self) -> int:
        """Readers currently matched with this writer (RViz-style one-shot publishers wait for one)."""
        return len(self._writer.get_matched_subscriptions())


class DdsTransport:
    """One DDS participant for one node.

    Args:
        name: the node's name (used for logging).
        domain_id: DDS domain; ``ROS_DOMAIN_ID`` (default 0) when None.
        use_sim_time: :meth:`now_s` follows ``/clock`` (0 until the first message, as in ROS 2).
    """

    def __init__(self, name: str, domain_id: int | None = None, use_sim_time: bool = False) -> None:
        self.name = name
        self.log = logging.getLogger(name)
        if domain_id is None:
            domain_id = int(os.environ.get("ROS_DOMAIN_ID", "0"))
        self.domain_id = domain_id
        self.participant = DomainParticipant(domain_id)
        self._lock = threading.RLock()
        self._closed = False
        self._topics: dict[str, Topic] = {}
        self._writers: list[_Writer] = []
        self._actions: list[Any] = []  # action clients and servers: they hold Cyclone entities
        self._subs: list[tuple[DataReader, Listener]] = []
        self._timers: list[list[Any]] = []  # [next due (steady s), period (s), callback]
        self._endpoints: dict[Any, tuple[str, str]] = {}  # publication key -> (dds topic, dds type)
        self._pub_info = BuiltinDataReader(self.participant, BuiltinTopicDcpsPublication)
        self._own_key = self.participant.guid
        self._sim_time_s: float | None = None
        self.use_sim_time = use_sim_time
        if use_sim_time:
            self.subscribe("/clock", "rosgraph_msgs/msg/Clock", CLOCK, self._on_clock)

    # ----------------------------------------------------------------------------- interface

    def watch_parameter(self, name: str, callback: Callable[[float], str | None]) -> None:
        topic = f"/{self.name}/set_parameter/{name}"

        def on_msg(msg: Any) -> None:
            why = callback(msg.data)
            if why is not None:
                self.log.error(f"{topic}: refused {msg.data!r}: {why}")
            else:
                self.log.info(f"parameter {name} = {msg.data!r}")

        self.subscribe(topic, "std_msgs/msg/Float64", DEFAULT, on_msg)

    def msg(self, ros_type: str) -> type:
        if ros_type in PX4_VERSIONED:  # "<type>#v<N>": a px4_msgs layout of PX4 >= 1.16
            return PX4_VERSIONED[ros_type]
        dds_type_name(ros_type)  # raises KeyError naming the known types
        return MESSAGES[ros_type]

    def _topic(self, topic: str, ros_type: str) -> Topic:
        return self._dds_topic(dds_topic_name(topic), self.msg(ros_type))

    def _dds_topic(self, name: str, cls: type) -> Topic:
        existing = self._topics.get(name)
        if existing is not None:
            if existing.data_type is not cls:
                raise ValueError(f"DDS topic {name} is already used with another type in node {self.name}")
            return existing
        t = Topic(self.participant, name, cls)
        self._topics[name] = t
        return t

    def publisher(self, topic: str, ros_type: str, qos: QoS) -> _Writer:
        writer = _Writer(DataWriter(self.participant, self._topic(topic, ros_type), qos=dds_qos(qos)))
        self._writers.append(writer)  # held, as rclpy's node holds its publishers
        return writer

    def subscribe(self, topic: str, ros_type: str, qos: QoS, callback: Callable[[Any], None]) -> None:
        self._reader(self._topic(topic, ros_type), qos, callback, topic)

    def action_client(self, name: str, action_type: str) -> DdsActionClient:
        """A client of the ROS 2 action ``name`` (such as ``/gripper/gripper_cmd``) of type
        ``action_type`` (such as ``control_msgs/action/GripperCommand``)."""
        client = DdsActionClient(self, name, action_type)
        self._actions.append(client)
        return client

    def action_server(self, name: str, action_type: str, execute: Callable[[Any], Any]) -> DdsActionServer:
        """Serve the ROS 2 action ``name``: ``execute(goal)`` returns the result; see
        :class:`sim2real_ros.actions.DdsActionServer`."""
        server = DdsActionServer(self, name, action_type, execute)
        self._actions.append(server)
        return server

    def _dds_writer(self, dds_topic: str, cls: type, qos: QoS, user_data: bytes | None = None) -> DataWriter:
        """A writer on a DDS topic named in full (``rq/...Request``), for the action layer."""
        t = self._dds_topic(dds_topic, cls)
        writer = _Writer(DataWriter(self.participant, t, qos=dds_qos(qos, user_data)))
        self._writers.append(writer)
        return writer._writer

    def _dds_reader(
        self,
        dds_topic: str,
        cls: type,
        qos: QoS,
        callback: Callable[..., None],
        user_data: bytes | None = None,
        with_writer: bool = False,
    ) -> DataReader:
        """A reader on a DDS topic named in full, for the action layer. ``with_writer``: call
        ``callback(sample, clientid)`` with the ``clientid`` in the sending writer's USER_DATA."""
        return self._reader(self._dds_topic(dds_topic, cls), qos, callback, dds_topic, user_data, with_writer)

    def _reader(
        self,
        t: Topic,
        qos: QoS,
        callback: Callable[..., None],
        topic: str,
        user_data: bytes | None = None,
        with_writer: bool = False,
    ) -> DataReader:
        cls = t.data_type

        def sender(reader: DataReader, sample: Any) -> str | None:
            ep = reader.get_matched_publication_data(sample.sample_info.publication_handle)
            return None if ep is None else _user_data(ep).get("clientid")

        constructed = False

        def on_data_available(reader: DataReader) -> None:
            if not constructed or reader is None:
                # Cyclone may call the listener from inside DataReader() (a latched sample already
                # matched), before the Python object can take(): the call below collects it. And a
                # call racing close() can find the reader already gone (None): nothing to take.
                return
            # Runs on Cyclone's receive thread, as soon as the sample is in: no hand-over to a
            # waiting thread (two hops' p99 fell from 4.7 to 2.0 ms here; benchmarks/RESULTS.md).
            # The lock serialises it with the timers, so the node sees one thread.
            # Decoding happens outside the lock, so a large message (a long nav_msgs/Path) does not
            # hold up the timers; only the callbacks are serialised with them.
            try:
                while not self._closed and (samples := reader.take(N=64)):
                    with self._lock:
                        if self._closed:
                            return
                        for sample in samples:
                            if not isinstance(sample, cls):  # an InvalidSample (a writer went away)
                                continue
                            if with_writer:
                                callback(sample, sender(reader, sample))
                            else:
                                callback(sample)
            except Exception:  # an exception must not unwind into Cyclone's thread
                self.log.exception(f"callback for {topic} raised")

        listener = Listener(on_data_available=on_data_available)
        reader = DataReader(self.participant, t, qos=dds_qos(qos, user_data), listener=listener)
        self._subs.append((reader, listener))
        constructed = True
        # Samples that arrived between matching and the listener's installation, or while the
        # reader was being constructed.
        on_data_available(reader)
        return reader

    def timer(self, period_s: float, callback: Callable[[], None]) -> None:
        if not period_s > 0:
            raise ValueError(f"timer period must be > 0 s, got {period_s}")
        self._timers.append([time.monotonic() + period_s, float(period_s), callback])

    def publisher_types(self, topic: str) -> set[str]:
        for s in self._pub_info.take(N=256):
            info = getattr(s, "sample_info", None)
            if info is not None and info.instance_state != InstanceState.Alive:
                self._endpoints.pop(s.key, None)
            elif s.participant_key != self._own_key:
                self._endpoints[s.key] = (s.topic_name, s.type_name)
        name = dds_topic_name(topic)
        return {ros_type_name(ty) for t, ty in self._endpoints.values() if t == name}

    def now_s(self) -> float:
        if self.use_sim_time:
            return self._sim_time_s or 0.0
        return time.time()

    def monotonic_s(self) -> float:
        return time.monotonic()

    def spin_once(self, timeout_s: float) -> None:
        """Fire due timers, sleeping at most ``timeout_s`` until the next one (messages are
        delivered as they arrive, from Cyclone's receive thread)."""
        now = time.monotonic()
        wait_s = timeout_s
        for t in self._timers:
            wait_s = min(wait_s, t[0] - now)
        if wait_s > 0:
            time.sleep(wait_s)
        now = time.monotonic()
        with self._lock:
            for t in self._timers:
                if now >= t[0]:
                    # Skip missed periods instead of bursting to catch up (as rclpy's timers do).
                    t[0] += t[1] * max(1, int((now - t[0]) / t[1]) + 1)
                    t[2]()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        # Drop every reference to this participant's Cyclone entities, the ones the node's
        # publisher objects hold included, and collect them now, on this thread. Left to the
        # garbage collector, an entity can be finalised inside another participant's listener
        # callback on Cyclone's receive thread, and deleting it there deadlocks Cyclone.
        for w in self._writers:
            w._writer = None
        for a in self._actions:
            a.__dict__.clear()
        self._actions.clear()
        self._subs.clear()
        self._writers.clear()
        self._timers.clear()
        self._topics.clear()
        self._pub_info = None  # type: ignore[assignment]
        self.participant = None  # type: ignore[assignment]
        gc.collect()

    # ----------------------------------------------------------------------------- internals

    def _on_clock(self, msg: Any) -> None:
        self._sim_time_s = stamp_to_s(msg.clock)
