"""A transform buffer with tf2's semantics, for nodes that run without ROS 2 (the DDS transport).

What it keeps (as ``tf2::BufferCore`` does):

- one parent per child frame; dynamic transforms (``/tf``) by stamp, a bounded history of
  ``cache_time_s`` seconds per link, interpolated between stamps (linear in translation, slerp in
  rotation); static transforms (``/tf_static``) valid at every time;
- lookups through the tree: source -> ... -> common ancestor <- ... <- target;
- "latest" lookups at the latest time every dynamic link of the chain has data for (tf2's
  ``getLatestCommonTime``; ``rclpy.time.Time()`` in tf2_ros).

Errors (all :class:`TransformError`, each naming the frames):

- :class:`ConnectivityError`: a frame is unknown, or the two frames are in different trees;
- :class:`ExtrapolationError`: the time asked for is after the newest or before the oldest stamp
  of a link, or the newest data of a link is older than the history when ``now_s`` is given;
- :class:`LoopError`: walking up from a frame meets it again (``/tf`` holds a loop).

Refused on insertion (the reason is returned, nothing stored): empty or equal frame ids, non-finite
values, a quaternion far from unit length, data older than the history (tf2's ``TF_OLD_DATA``).

Transforms are ``T_parent_child``: a point p in the child frame is ``R p + t`` in the parent frame.
Quaternions are (x, y, z, w), as in geometry_msgs.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from .errors import Sim2RealError

DEFAULT_CACHE_TIME_S = 10.0
"""tf2's default buffer history (s)."""
MAX_DEPTH = 1000
"""tf2's MAX_GRAPH_DEPTH: a longer chain is a loop."""
_TIME_EPS_S = 1e-9


class TransformError(Sim2RealError):
    """A transform cannot be looked up; the message names the frames and why."""


class ConnectivityError(TransformError):
    """A frame does not exist, or the frames are not connected."""


class ExtrapolationError(TransformError):
    """The lookup needs data newer or older than the buffer holds."""


class LoopError(TransformError):
    """The tree holds a loop (a frame is its own ancestor)."""


@dataclass(frozen=True)
class Transform:
    """A rigid transform: translation [3] (m) and unit quaternion [4] (x, y, z, w)."""

    translation: np.ndarray
    rotation: np.ndarray

    @staticmethod
    def identity() -> Transform:
        return Transform(np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]))

    @staticmethod
    def planar(x: float, y: float, yaw: float) -> Transform:
        """A transform in the plane: translation (x, y, 0) (m), rotation ``yaw`` (rad) about z."""
        return Transform(np.array([x, y, 0.0]), np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]))

    def __mul__(self, other: Transform) -> Transform:
        """Composition: ``(A * B)(p) = A(B(p))``."""
        return Transform(
            self.translation + _rotate(self.rotation, other.translation), _qmul(self.rotation, other.rotation)
        )

    def inverse(self) -> Transform:
        qi = self.rotation * np.array([-1.0, -1.0, -1.0, 1.0])
        return Transform(-_rotate(qi, self.translation), qi)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform points [..., 3] (or [..., 2], taken at z = 0, returned as [..., 2])."""
        p = np.asarray(points, dtype=np.float64)
        if p.shape[-1] == 2:
            p3 = np.concatenate([p, np.zeros((*p.shape[:-1], 1))], axis=-1)
            return (_rotate(self.rotation, p3) + self.translation)[..., :2]
        return _rotate(self.rotation, p) + self.translation

    @property
    def yaw(self) -> float:
        """Rotation about z (rad) of the transform's projection onto the plane."""
        x, y, z, w = self.rotation
        return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))

    def as_planar(self) -> tuple[float, float, float]:
        """(x (m), y (m), yaw (rad)): the transform projected onto the plane."""
        return float(self.translation[0]), float(self.translation[1]), self.yaw


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vector(s) v [..., 3] by the unit quaternion q [4]."""
    u, w = q[:3], q[3]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def _slerp(a: np.ndarray, b: np.ndarray, f: float) -> np.ndarray:
    d = float(np.dot(a, b))
    if d < 0.0:  # the shorter way round
        b, d = -b, -d
    if d > 0.9995:
        q = a + f * (b - a)
        return q / np.linalg.norm(q)
    th = math.acos(d)
    return (math.sin((1 - f) * th) * a + math.sin(f * th) * b) / math.sin(th)


def strip_frame(frame_id: str) -> str:
    """tf2 ignores a leading '/' in frame ids."""
    return frame_id[1:] if frame_id.startswith("/") else frame_id


class _Link:
    """The history of one child frame: (stamp (s), parent, Transform), sorted by stamp."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.entries: list[tuple[str, Transform]] = []
        self.static: tuple[str, Transform] | None = None

    def newest_s(self) -> float | None:
        return self.stamps[-1] if self.stamps else None

    def parent_at(self, time_s: float | None) -> str:
        if self.static is not None:
            return self.static[0]
        if time_s is None:
            return self.entries[-1][0]
        i = min(bisect.bisect_left(self.stamps, time_s), len(self.stamps) - 1)
        return self.entries[i][0]


class TfBuffer:
    """Transforms from ``/tf`` and ``/tf_static``, looked up as tf2 does (see the module doc).

    Args:
        cache_time_s: history kept per dynamic link (s), tf2's ``cache_time`` (default 10 s).
    """

    def __init__(self, cache_time_s: float = DEFAULT_CACHE_TIME_S) -> None:
        if not cache_time_s > 0:
            raise ValueError(f"cache_time_s must be > 0, got {cache_time_s}")
        self.cache_time_s = float(cache_time_s)
        self._links: dict[str, _Link] = {}

    def frames(self) -> set[str]:
        """Every frame named as a parent or a child."""
        out = set(self._links)
        for link in self._links.values():
            if link.static is not None:
                out.add(link.static[0])
            out.update(p for p, _ in link.entries)
        return out

    def clear(self) -> None:
        self._links.clear()

    def set_transform(
        self,
        parent: str,
        child: str,
        stamp_s: float,
        translation: np.ndarray,
        rotation: np.ndarray,
        static: bool = False,
        now_s: float | None = None,
    ) -> str | None:
        """Store ``T_parent_child`` at ``stamp_s``; a static one holds at every time.

        ``now_s`` (the node clock): data stamped more than the history before it is refused.

        Returns:
            None when stored; else why it was refused (nothing is stored).
        """
        parent, child = strip_frame(parent), strip_frame(child)
        if not parent or not child:
            return f"empty frame id (parent '{parent}', child '{child}')"
        if parent == child:
            return f"transform from '{parent}' to itself"
        t = np.asarray(translation, dtype=np.float64).reshape(3)
        q = np.asarray(rotation, dtype=np.float64).reshape(4)
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(q)) and math.isfinite(stamp_s)):
            return (
                f"non-finite transform '{parent}' -> '{child}' "
                f"(translation {t}, rotation {q}, stamp {stamp_s})"
            )
        n2 = float(q @ q)
        if abs(n2 - 1.0) > 0.01:
            return f"transform '{parent}' -> '{child}': quaternion {q} is not of unit length"
        tf = Transform(t, q / math.sqrt(n2))
        link = self._links.get(child) or _Link()  # stored only once the transform is accepted
        if static:
            self._links[child] = link
            link.static = (parent, tf)
            link.stamps.clear()
            link.entries.clear()
            return None
        if link.static is not None:
            return f"'{parent}' -> '{child}' on /tf: '{child}' has a static parent '{link.static[0]}'"
        newest = link.newest_s()
        floor = max(newest if newest is not None else -math.inf, now_s if now_s is not None else -math.inf)
        if stamp_s < floor - self.cache_time_s:
            return (
                f"transform '{parent}' -> '{child}' stamped {stamp_s:.3f} s is older than the history "
                f"({self.cache_time_s:g} s before {floor:.3f} s); ignored"
            )
        self._links[child] = link
        i = bisect.bisect_right(link.stamps, stamp_s)
        if i > 0 and abs(link.stamps[i - 1] - stamp_s) <= _TIME_EPS_S:  # same stamp: replace
            link.entries[i - 1] = (parent, tf)
        else:
            link.stamps.insert(i, stamp_s)
            link.entries.insert(i, (parent, tf))
        # Keep the history bounded (tf2's pruneList): older than the newest minus the cache time.
        cut = bisect.bisect_left(link.stamps, link.stamps[-1] - self.cache_time_s)
        if cut > 0:
            del link.stamps[:cut]
            del link.entries[:cut]
        return None

    # ----------------------------------------------------------------------------- lookup

    def _chain(self, frame: str, time_s: float | None) -> list[str]:
        """``frame`` and its ancestors up to the root (parents as of ``time_s``; None: newest)."""
        chain = [frame]
        seen = {frame}
        while (link := self._links.get(chain[-1])) is not None and (link.static or link.entries):
            parent = link.parent_at(time_s)
            if parent in seen or len(chain) > MAX_DEPTH:
                loop = [*chain[chain.index(parent) :], parent] if parent in seen else chain[-5:]
                raise LoopError(f"the transform tree has a loop: {' -> '.join(reversed(loop))}")
            chain.append(parent)
            seen.add(parent)
        return chain

    def _link_at(self, child: str, time_s: float | None, target: str, source: str) -> Transform:
        link = self._links[child]
        if link.static is not None:
            return link.static[1]
        stamps, entries = link.stamps, link.entries
        what = f"'{entries[-1][0]}' -> '{child}' (looking up '{target}' <- '{source}')"
        if time_s is None:
            return entries[-1][1]
        if time_s > stamps[-1] + _TIME_EPS_S:
            raise ExtrapolationError(
                f"lookup of {what} at {time_s:.3f} s would extrapolate into the future: "
                f"newest data at {stamps[-1]:.3f} s"
            )
        if time_s < stamps[0] - _TIME_EPS_S:
            raise ExtrapolationError(
                f"lookup of {what} at {time_s:.3f} s would extrapolate into the past: oldest data at "
                f"{stamps[0]:.3f} s (history {self.cache_time_s:g} s)"
            )
        i = bisect.bisect_left(stamps, time_s - _TIME_EPS_S)
        if abs(stamps[i] - time_s) <= _TIME_EPS_S or i == 0:
            return entries[i][1]
        (t0, (_, a)), (t1, (_, b)) = (stamps[i - 1], entries[i - 1]), (stamps[i], entries[i])
        f = (time_s - t0) / (t1 - t0)
        return Transform(
            a.translation + f * (b.translation - a.translation), _slerp(a.rotation, b.rotation, f)
        )

    def latest_common_time(self, target: str, source: str) -> float | None:
        """The newest time at which every dynamic link between the two frames has data (s);
        None when the chain is static only (any time works)."""
        up_s, up_t, _ = self._paths(target, source, None)
        newest = [self._links[f].newest_s() for f in up_s + up_t if self._links[f].static is None]
        return min(newest) if newest else None  # type: ignore[type-var]

    def _paths(self, target: str, source: str, time_s: float | None) -> tuple[list[str], list[str], str]:
        """(children below the common ancestor on the source side, the same on the target side,
        the common ancestor)."""
        for f in (source, target):
            if f not in self.frames():
                known = ", ".join(sorted(self.frames())) or "none"
                raise ConnectivityError(f"frame '{f}' does not exist (known frames: {known})")
        cs, ct = self._chain(source, time_s), self._chain(target, time_s)
        common = next((f for f in cs if f in set(ct)), None)
        if common is None:
            raise ConnectivityError(
                f"'{target}' and '{source}' are not connected: their trees have the roots "
                f"'{ct[-1]}' and '{cs[-1]}'"
            )
        return cs[: cs.index(common)], ct[: ct.index(common)], common

    def lookup(
        self, target: str, source: str, time_s: float | None = None, now_s: float | None = None
    ) -> tuple[Transform, float | None]:
        """``T_target_source`` (maps points in ``source`` to ``target``) at ``time_s``.

        Args:
            time_s: the time (s); None: the latest common time (tf2's ``Time()``).
            now_s: the node clock (s): when given, a chain whose newest data is older than the
                history before it is refused (:class:`ExtrapolationError`), so a localisation
                that stopped publishing stops the robot after ``cache_time_s``.

        Returns:
            (the transform, the time it was looked up at: None for a static-only chain).

        Raises:
            ConnectivityError, ExtrapolationError, LoopError: naming the frames.
        """
        target, source = strip_frame(target), strip_frame(source)
        if target == source:
            return Transform.identity(), time_s
        if time_s is None:
            time_s = self.latest_common_time(target, source)
            if time_s is not None and now_s is not None and now_s - time_s > self.cache_time_s:
                raise ExtrapolationError(
                    f"the newest transform between '{target}' and '{source}' is stamped {time_s:.3f} s, "
                    f"{now_s - time_s:.1f} s before the node clock: older than the history "
                    f"({self.cache_time_s:g} s)"
                )
        up_s, up_t, _ = self._paths(target, source, time_s)
        t_common_source = Transform.identity()
        for f in up_s:  # source upwards: T_common_source = T_p1 * ... * T_source
            t_common_source = self._link_at(f, time_s, target, source) * t_common_source
        t_common_target = Transform.identity()
        for f in up_t:
            t_common_target = self._link_at(f, time_s, target, source) * t_common_target
        return t_common_target.inverse() * t_common_source, time_s
