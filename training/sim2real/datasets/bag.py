"""rosbag2 MCAP bags of the raw topics a policy node reads and writes, one bag per episode.

Written with rosbags' :class:`~rosbags.rosbag2.Writer` (bag format version 9, as ``ros2 bag`` of
Jazzy writes it, storage ``mcap``): ``<bag>/episode_NNNNNN/`` holds ``metadata.yaml`` and the
``.mcap`` file, each topic with its ROS 2 type, the message definition from rosbags' Jazzy type
store, and the QoS profile its publisher offers (history, depth, reliability, durability;
deadline, lifespan and lease infinite, liveliness automatic, as ``ros2 bag`` records them), so
``ros2 bag play``, ``ros2 bag info`` and Foxglove read it. The messages are the CDR bytes the
transport puts on the wire (``msg.serialize()`` of :mod:`sim2real_ros.msgs`, byte-identical to
rosbags' serializer, see ``tests/test_ros_msgs.py``), stamped with the wall-clock time they were
received or published (nanoseconds, as ``ros2 bag record`` stamps them).

Messages are serialized and written on a thread of their own, so the node's callbacks only queue
them. An episode's bag is complete once its ``metadata.yaml`` exists (written at close, with the
MCAP footer); episode ``i``'s bag is closed before the dataset commits episode ``i``, and
:meth:`EpisodeBags.open` removes bags of episodes the dataset does not hold (a discarded
episode, or one a crash interrupted).
"""

from __future__ import annotations

import queue
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from sim2real_ros.transport import QoS

from .lerobot_v3 import DatasetError, DatasetExistsError

BAG_VERSION = 9
INFINITE = QosTime(sec=9223372036, nsec=854775807)
"""RMW_DURATION_INFINITE as ``ros2 bag`` writes it into metadata.yaml."""


def rosbag_qos(qos: QoS) -> Qos:
    """The rosbag2 QoS profile of one of our :class:`~sim2real_ros.transport.QoS` profiles."""
    return Qos(
        history=QosHistory.KEEP_LAST,
        depth=qos.depth,
        reliability=QosReliability.RELIABLE if qos.reliable else QosReliability.BEST_EFFORT,
        durability=QosDurability.TRANSIENT_LOCAL if qos.transient_local else QosDurability.VOLATILE,
        deadline=INFINITE,
        lifespan=INFINITE,
        liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=INFINITE,
        avoid_ros_namespace_conventions=False,
    )


def episode_dir(root: Path, episode: int) -> Path:
    return Path(root) / f"episode_{episode:06d}"


class EpisodeBags:
    """One MCAP bag per recorded episode under ``root``.

    Call :meth:`topic` for every topic (type and offered QoS; before or during an episode),
    :meth:`begin` at the start of an episode, :meth:`put` for each message (any thread), and
    :meth:`end` to close the episode's bag (kept) or delete it (discarded).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.typestore = get_typestore(Stores.ROS2_JAZZY)
        self.topics: dict[str, tuple[str, QoS]] = {}
        self.written: dict[str, int] = {}
        self._q: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._writer: Writer | None = None
        self._conns: dict[str, Any] = {}
        self._episode: int | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bag-writer", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, root: str | Path, resume: bool, committed_episodes: int) -> EpisodeBags:
        """The bag folder for a recording: a new one (an existing non-empty folder is refused
        unless ``resume``), or on resume the existing one without the bags of episodes at or
        past ``committed_episodes`` (the dataset's count) or without ``metadata.yaml``."""
        root = Path(root)
        if not resume:
            cls.refuse_existing(root)
        if root.exists() and any(root.iterdir()):
            for d in sorted(root.glob("episode_*")):
                idx = d.name.removeprefix("episode_")
                if not idx.isdigit() or int(idx) >= committed_episodes or not (d / "metadata.yaml").is_file():
                    shutil.rmtree(d)
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    @staticmethod
    def refuse_existing(root: str | Path) -> None:
        """Raise :class:`DatasetExistsError` when ``root`` exists and is not empty (a new
        recording must not mix with another's bags)."""
        root = Path(root)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise DatasetExistsError(root, "", "already exists; pass --resume to append episodes to it")

    # ------------------------------------------------------------------ caller side

    def topic(self, topic: str, ros_type: str, qos: QoS) -> None:
        """Declare a topic (its first declaration's QoS is kept); types outside rosbags' Jazzy
        store (px4_msgs, control_msgs) are not recorded."""
        if topic in self.topics:
            return
        if ros_type not in self.typestore.fielddefs:
            self.topics[topic] = (ros_type, qos)  # known, not recordable
            return
        self.topics[topic] = (ros_type, qos)
        self._q.put(("topic", topic))

    def put(self, topic: str, msg: Any, t_ns: int | None = None) -> None:
        """Queue one message (received or published now) for the open episode's bag."""
        if self._episode is not None:
            self._q.put(("msg", topic, time.time_ns() if t_ns is None else t_ns, msg))

    def begin(self, episode: int) -> None:
        self._episode = episode
        self._q.put(("begin", episode))

    def end(self, keep: bool, timeout_s: float = 30.0, done: threading.Event | None = None) -> Path | None:
        """Close the episode's bag; delete it unless ``keep``. Returns its folder when kept.
        Messages put after this call are not in it. With ``done`` given, the caller waits:
        :meth:`finish` (``end(keep, done=...)`` then ``finish(done)``)."""
        episode = self._episode
        self._episode = None
        wait = done is None
        done = done or threading.Event()
        self._q.put(("end", keep, done))
        if not wait:
            return None
        return self.finish(done, keep, episode, timeout_s)

    def finish(
        self, done: threading.Event, keep: bool, episode: int | None, timeout_s: float = 30.0
    ) -> Path | None:
        """Wait for an :meth:`end` given ``done``."""
        if not done.wait(timeout_s):
            raise DatasetError(self.root, "", f"the bag writer did not finish within {timeout_s} s")
        if self._error is not None:
            err, self._error = self._error, None
            raise DatasetError(self.root, "", f"writing the bag failed: {err}") from err
        return episode_dir(self.root, episode) if keep and episode is not None else None

    def close(self) -> None:
        if self._episode is not None:
            self.end(keep=False)
        self._q.put(("stop",))
        self._thread.join(10.0)

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        handlers: dict[str, Callable[..., None]] = {
            "topic": self._add, "msg": self._write, "begin": self._begin, "end": self._end
        }  # fmt: skip
        while True:
            item = self._q.get()
            if item[0] == "stop":
                return
            try:
                handlers[item[0]](*item[1:])
            except BaseException as exc:  # reported by end(); the node never sees it
                self._error = self._error or exc
                if item[0] == "end":
                    item[2].set()

    def _begin(self, episode: int) -> None:
        path = episode_dir(self.root, episode)
        if path.exists():
            shutil.rmtree(path)
        self._writer = Writer(path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._conns = {}
        for topic in self.topics:
            self._add(topic)

    def _add(self, topic: str) -> None:
        ros_type, qos = self.topics[topic]
        if self._writer is None or topic in self._conns or ros_type not in self.typestore.fielddefs:
            return
        self._conns[topic] = self._writer.add_connection(
            topic, ros_type, typestore=self.typestore, offered_qos_profiles=[rosbag_qos(qos)]
        )

    def _write(self, topic: str, t_ns: int, msg: Any) -> None:
        conn = self._conns.get(topic)
        if conn is None or self._writer is None:
            return
        self._writer.write(conn, t_ns, msg.serialize())
        self.written[topic] = self.written.get(topic, 0) + 1

    def _end(self, keep: bool, done: threading.Event) -> None:
        try:
            if self._writer is not None:
                path = self._writer.path
                self._writer.close()
                self._writer = None
                if not keep:
                    shutil.rmtree(path, ignore_errors=True)
        finally:
            done.set()
