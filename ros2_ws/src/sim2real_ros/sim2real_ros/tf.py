"""Transform lookups for nodes: tf2_ros on rclpy, :class:`sim2real_runtime.tf_buffer.TfBuffer`
fed from ``/tf`` and ``/tf_static`` on the DDS transport. Same semantics, same errors
(:class:`sim2real_runtime.tf_buffer.TransformError` naming the frames).

Both look up at the latest common time (tf2_ros' ``Time()``) and refuse a chain whose newest data
is older than the buffer's history before the node clock.

QoS as tf2_ros' listener: ``/tf`` reliable, keep last 100, volatile; ``/tf_static`` reliable, keep
last 100, transient local (a static broadcaster latches, so a node started late still gets it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol

from sim2real_runtime.tf_buffer import ExtrapolationError, TfBuffer, Transform, TransformError

from .transport import QoS, Transport, stamp_to_s

TF_MESSAGE = "tf2_msgs/msg/TFMessage"
TF_QOS = QoS(reliable=True, depth=100)
TF_STATIC_QOS = QoS(reliable=True, depth=100, transient_local=True)


class TfLookup(Protocol):
    def lookup(self, target: str, source: str) -> Transform:
        """``T_target_source`` at the latest common time.

        Raises:
            TransformError: naming the frames (no path, too old, a loop...)."""
        ...


class BufferLookup:
    """:class:`TfBuffer` fed from ``/tf`` and ``/tf_static`` through ``subscribe``.

    Args:
        subscribe: ``subscribe(topic, ros_type, qos, callback)`` (a node's, so the input types
            are checked as its others are).
        now_s: the node clock (s).
        warn: ``warn(key, text)``: a refused transform is reported (throttled by the caller).
        cache_time_s: history per dynamic link (s).
    """

    def __init__(
        self,
        subscribe: Callable[[str, str, QoS, Callable[[Any], None]], None],
        now_s: Callable[[], float],
        warn: Callable[[str, str], None],
        cache_time_s: float,
    ) -> None:
        self.buffer = TfBuffer(cache_time_s)
        self._now_s = now_s
        self._warn = warn
        subscribe("/tf", TF_MESSAGE, TF_QOS, lambda m: self.on_tf(m, "/tf"))
        subscribe("/tf_static", TF_MESSAGE, TF_STATIC_QOS, lambda m: self.on_tf(m, "/tf_static"))

    def on_tf(self, msg: Any, topic: str) -> None:
        """Store every transform of a TFMessage; each refused one is reported with its topic."""
        now = self._now_s()
        for ts in msg.transforms:
            t, q = ts.transform.translation, ts.transform.rotation
            why = self.buffer.set_transform(
                ts.header.frame_id,
                ts.child_frame_id,
                stamp_to_s(ts.header.stamp),
                (t.x, t.y, t.z),
                (q.x, q.y, q.z, q.w),
                static=topic == "/tf_static",
                now_s=now,
            )
            if why is not None:
                self._warn(f"tf:{ts.child_frame_id}", f"{topic}: refused a transform: {why}")

    def lookup(self, target: str, source: str) -> Transform:
        return self.buffer.lookup(target, source, now_s=self._now_s())[0]


class Tf2RosLookup:
    """tf2_ros' Buffer and TransformListener on the rclpy node (verified only where ROS 2 is
    installed). tf2's own exceptions are re-raised as :class:`TransformError`."""

    def __init__(self, node: Any, cache_time_s: float) -> None:
        import tf2_ros
        from rclpy.duration import Duration

        self._tf2 = tf2_ros
        self._node = node
        self.cache_time_s = cache_time_s
        self.buffer = tf2_ros.Buffer(cache_time=Duration(seconds=cache_time_s))
        self.listener = tf2_ros.TransformListener(self.buffer, node)

    def lookup(self, target: str, source: str) -> Transform:
        import numpy as np
        from rclpy.time import Time

        t = self._tf2
        try:
            ts = self.buffer.lookup_transform(target, source, Time())
        except (
            t.LookupException,
            t.ConnectivityException,
            t.ExtrapolationException,
            t.InvalidArgumentException,
        ) as e:
            raise TransformError(f"'{target}' <- '{source}': {type(e).__name__}: {e}") from e
        now = self._node.get_clock().now().nanoseconds * 1e-9
        stamp = stamp_to_s(ts.header.stamp)
        if stamp > 0 and now - stamp > self.cache_time_s:  # static transforms are stamped 0 by some
            raise ExtrapolationError(
                f"the newest transform between '{target}' and '{source}' is {now - stamp:.1f} s old: "
                f"older than the history ({self.cache_time_s:g} s)"
            )
        tr, q = ts.transform.translation, ts.transform.rotation
        return Transform(np.array([tr.x, tr.y, tr.z]), np.array([q.x, q.y, q.z, q.w]))


def make_lookup(
    transport: Transport,
    subscribe: Callable[[str, str, QoS, Callable[[Any], None]], None],
    warn: Callable[[str, str], None],
    cache_time_s: float,
) -> TfLookup:
    """tf2_ros on an rclpy transport, the DDS buffer on any other."""
    node = getattr(transport, "node", None)
    if node is not None and "rclpy" in sys.modules:
        from rclpy.node import Node

        if isinstance(node, Node):
            return Tf2RosLookup(node, cache_time_s)
    return BufferLookup(subscribe, transport.now_s, warn, cache_time_s)
