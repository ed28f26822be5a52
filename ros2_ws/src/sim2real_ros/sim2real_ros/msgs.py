"""ROS 2 message types as Cyclone DDS IDL structs, for the ``dds`` transport.

Each class mirrors one ROS 2 interface field for field, in order, with the DDS type name that
rosidl generates for it (``sensor_msgs/msg/LaserScan`` -> ``sensor_msgs::msg::dds_::LaserScan_``).
All are ``@final`` and pinned to plain CDR (XCDR1, ``cdrv0``), as rmw_cyclonedds expects: an
appendable or mutable struct would switch to XCDR2 and a ROS 2 node would silently not match.
``tests/test_ros_msgs.py`` checks every type name and compares the serialized bytes with rosbags'
ROS 2 (Jazzy) serializer.

Field names and types are those of the ROS message, so code that reads ``msg.ranges`` or
``msg.header.stamp.sec`` works on these and on rclpy's messages alike.

The hot messages of the control loop (LaserScan, Odometry, Twist, TwistStamped) also have a direct
little-endian XCDR1 codec: the generic IDL machinery packs a 720-beam scan float by float (about
75 us to decode, 100 us to encode here), the direct one with numpy in a few microseconds. Anything
else (big-endian data, XCDR2, a caller's buffer) falls back to the generic path, and the same
byte-equality tests against rosbags cover both.
"""

import struct
from dataclasses import dataclass, field, replace

import numpy as np
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import cdrv0, final
from cyclonedds.idl.types import array, float32, float64, int32, sequence, uint32


def _dds_name(ros_type: str) -> str:
    """``pkg/msg/Name`` -> ``pkg::msg::dds_::Name_``, the DDS type name rmw_cyclonedds uses."""
    pkg, kind, name = ros_type.split("/")
    return f"{pkg}::{kind}::dds_::{name}_"


_CDR_LE = b"\x00\x01\x00\x00"  # encapsulation: plain CDR, little endian
_HEAD = struct.Struct("<iII")  # stamp.sec, stamp.nanosec, frame_id length (incl. NUL)


def _fast(use_version_2: object, *extra: object) -> bool:
    """Whether the direct codec applies: XCDR1, no caller buffer, native (little-endian) order."""
    return not use_version_2 and all(e is None for e in extra)


def _pack_header(header: "Header") -> list[bytes]:
    """A Header at payload offset 0: the parts and (implicitly) the 4-aligned end."""
    fid = header.frame_id.encode() + b"\x00"
    pad = b"\x00" * (-(12 + len(fid)) % 4)
    return [_HEAD.pack(header.stamp.sec, header.stamp.nanosec, len(fid)), fid, pad]


def _unpack_header(buf: memoryview, off: int) -> tuple["Header", int]:
    sec, nsec, n = _HEAD.unpack_from(buf, off)
    frame = bytes(buf[off + 12 : off + 11 + n]).decode()
    end = off + 12 + n
    return Header(stamp=Time(sec=sec, nanosec=nsec), frame_id=frame), end + (-end % 4)


# --------------------------------------------------------------------------- builtin / std


@final
@cdrv0
@dataclass
class Time(IdlStruct, typename=_dds_name("builtin_interfaces/msg/Time")):
    sec: int32 = 0
    nanosec: uint32 = 0


@final
@cdrv0
@dataclass
class Header(IdlStruct, typename=_dds_name("std_msgs/msg/Header")):
    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@final
@cdrv0
@dataclass
class Bool(IdlStruct, typename=_dds_name("std_msgs/msg/Bool")):
    data: bool = False


@final
@cdrv0
@dataclass
class String(IdlStruct, typename=_dds_name("std_msgs/msg/String")):
    data: str = ""


@final
@cdrv0
@dataclass
class Clock(IdlStruct, typename=_dds_name("rosgraph_msgs/msg/Clock")):
    clock: Time = field(default_factory=Time)


# --------------------------------------------------------------------------- geometry_msgs


@final
@cdrv0
@dataclass
class Vector3(IdlStruct, typename=_dds_name("geometry_msgs/msg/Vector3")):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@final
@cdrv0
@dataclass
class Point(IdlStruct, typename=_dds_name("geometry_msgs/msg/Point")):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@final
@cdrv0
@dataclass
class Quaternion(IdlStruct, typename=_dds_name("geometry_msgs/msg/Quaternion")):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0
    w: float64 = 1.0


@final
@cdrv0
@dataclass
class Pose(IdlStruct, typename=_dds_name("geometry_msgs/msg/Pose")):
    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@final
@cdrv0
@dataclass
class PoseStamped(IdlStruct, typename=_dds_name("geometry_msgs/msg/PoseStamped")):
    header: Header = field(default_factory=Header)
    pose: Pose = field(default_factory=Pose)


@final
@cdrv0
@dataclass
class PoseWithCovariance(IdlStruct, typename=_dds_name("geometry_msgs/msg/PoseWithCovariance")):
    pose: Pose = field(default_factory=Pose)
    covariance: array[float64, 36] = field(default_factory=lambda: [0.0] * 36)


@final
@cdrv0
@dataclass
class Twist(IdlStruct, typename=_dds_name("geometry_msgs/msg/Twist")):
    linear: Vector3 = field(default_factory=Vector3)
    angular: Vector3 = field(default_factory=Vector3)

    def _values(self) -> tuple[float, ...]:
        a, b = self.linear, self.angular
        return a.x, a.y, a.z, b.x, b.y, b.z

    def serialize(self, buffer=None, endianness=None, use_version_2=None) -> bytes:
        if not _fast(use_version_2, buffer, endianness):
            return super().serialize(buffer, endianness, use_version_2)
        return _CDR_LE + _SIX.pack(*self._values())

    @classmethod
    def deserialize(cls, data: bytes, has_header: bool = True, use_version_2=None) -> "Twist":
        if not has_header or use_version_2 or bytes(data[:4]) != _CDR_LE:
            return super().deserialize(data, has_header=has_header, use_version_2=use_version_2)
        return _twist(_SIX.unpack_from(data, 4))


_SIX = struct.Struct("<6d")


def _twist(v: tuple[float, ...]) -> Twist:
    return Twist(linear=Vector3(v[0], v[1], v[2]), angular=Vector3(v[3], v[4], v[5]))


@final
@cdrv0
@dataclass
class TwistStamped(IdlStruct, typename=_dds_name("geometry_msgs/msg/TwistStamped")):
    header: Header = field(default_factory=Header)
    twist: Twist = field(default_factory=Twist)

    def serialize(self, buffer=None, endianness=None, use_version_2=None) -> bytes:
        if not _fast(use_version_2, buffer, endianness):
            return super().serialize(buffer, endianness, use_version_2)
        parts = _pack_header(self.header)
        end = sum(map(len, parts))
        return b"".join([_CDR_LE, *parts, b"\x00" * (-end % 8), _SIX.pack(*self.twist._values())])

    @classmethod
    def deserialize(cls, data: bytes, has_header: bool = True, use_version_2=None) -> "TwistStamped":
        if not has_header or use_version_2 or bytes(data[:4]) != _CDR_LE:
            return super().deserialize(data, has_header=has_header, use_version_2=use_version_2)
        buf = memoryview(data)[4:]
        header, off = _unpack_header(buf, 0)
        off += -off % 8
        return cls(header=header, twist=_twist(_SIX.unpack_from(buf, off)))


@final
@cdrv0
@dataclass
class TwistWithCovariance(IdlStruct, typename=_dds_name("geometry_msgs/msg/TwistWithCovariance")):
    twist: Twist = field(default_factory=Twist)
    covariance: array[float64, 36] = field(default_factory=lambda: [0.0] * 36)


@final
@cdrv0
@dataclass
class Transform(IdlStruct, typename=_dds_name("geometry_msgs/msg/Transform")):
    translation: Vector3 = field(default_factory=Vector3)
    rotation: Quaternion = field(default_factory=Quaternion)


@final
@cdrv0
@dataclass
class TransformStamped(IdlStruct, typename=_dds_name("geometry_msgs/msg/TransformStamped")):
    header: Header = field(default_factory=Header)
    child_frame_id: str = ""
    transform: Transform = field(default_factory=Transform)


# --------------------------------------------------------------------------- sensors, nav, tf


@final
@cdrv0
@dataclass
class LaserScan(IdlStruct, typename=_dds_name("sensor_msgs/msg/LaserScan")):
    header: Header = field(default_factory=Header)
    angle_min: float32 = 0.0
    angle_max: float32 = 0.0
    angle_increment: float32 = 0.0
    time_increment: float32 = 0.0
    scan_time: float32 = 0.0
    range_min: float32 = 0.0
    range_max: float32 = 0.0
    ranges: sequence[float32] = field(default_factory=list)
    intensities: sequence[float32] = field(default_factory=list)

    _FLOATS = struct.Struct("<7fI")

    def serialize(self, buffer=None, endianness=None, use_version_2=None) -> bytes:
        if not _fast(use_version_2, buffer, endianness):
            # The generic machinery takes lists (the direct decoder gives numpy arrays).
            plain = replace(self, ranges=[float(x) for x in self.ranges])
            plain.intensities = [float(x) for x in self.intensities]
            return IdlStruct.serialize(plain, buffer, endianness, use_version_2)
        r = np.asarray(self.ranges, dtype="<f4")
        i = np.asarray(self.intensities, dtype="<f4")
        f = self._FLOATS.pack(
            self.angle_min, self.angle_max, self.angle_increment, self.time_increment,
            self.scan_time, self.range_min, self.range_max, r.size,
        )  # fmt: skip
        parts = [_CDR_LE, *_pack_header(self.header), f, r.tobytes(), struct.pack("<I", i.size), i.tobytes()]
        return b"".join(parts)

    @classmethod
    def deserialize(cls, data: bytes, has_header: bool = True, use_version_2=None) -> "LaserScan":
        if not has_header or use_version_2 or bytes(data[:4]) != _CDR_LE:
            return super().deserialize(data, has_header=has_header, use_version_2=use_version_2)
        buf = memoryview(data)[4:]
        header, off = _unpack_header(buf, 0)
        *floats, n = cls._FLOATS.unpack_from(buf, off)
        off += 32
        ranges = np.frombuffer(buf, "<f4", n, off).astype(np.float32)
        off += 4 * n
        (m,) = struct.unpack_from("<I", buf, off)
        intensities = np.frombuffer(buf, "<f4", m, off + 4).astype(np.float32)
        return cls(header, *floats, ranges=ranges, intensities=intensities)


@final
@cdrv0
@dataclass
class JointState(IdlStruct, typename=_dds_name("sensor_msgs/msg/JointState")):
    header: Header = field(default_factory=Header)
    name: sequence[str] = field(default_factory=list)
    position: sequence[float64] = field(default_factory=list)
    velocity: sequence[float64] = field(default_factory=list)
    effort: sequence[float64] = field(default_factory=list)


@final
@cdrv0
@dataclass
class Odometry(IdlStruct, typename=_dds_name("nav_msgs/msg/Odometry")):
    header: Header = field(default_factory=Header)
    child_frame_id: str = ""
    pose: PoseWithCovariance = field(default_factory=PoseWithCovariance)
    twist: TwistWithCovariance = field(default_factory=TwistWithCovariance)

    # After the header and child_frame_id, 85 float64 (8-aligned): position 3, orientation 4,
    # pose covariance 36, linear 3, angular 3, twist covariance 36.
    _DOUBLES = struct.Struct("<85d")

    def serialize(self, buffer=None, endianness=None, use_version_2=None) -> bytes:
        if not _fast(use_version_2, buffer, endianness):
            return super().serialize(buffer, endianness, use_version_2)
        parts = _pack_header(self.header)
        child = self.child_frame_id.encode() + b"\x00"
        parts += [struct.pack("<I", len(child)), child]
        end = sum(map(len, parts))
        p, q = self.pose.pose.position, self.pose.pose.orientation
        values = (p.x, p.y, p.z, q.x, q.y, q.z, q.w, *self.pose.covariance,
                  *self.twist.twist._values(), *self.twist.covariance)  # fmt: skip
        return b"".join([_CDR_LE, *parts, b"\x00" * (-end % 8), self._DOUBLES.pack(*values)])

    @classmethod
    def deserialize(cls, data: bytes, has_header: bool = True, use_version_2=None) -> "Odometry":
        if not has_header or use_version_2 or bytes(data[:4]) != _CDR_LE:
            return super().deserialize(data, has_header=has_header, use_version_2=use_version_2)
        buf = memoryview(data)[4:]
        header, off = _unpack_header(buf, 0)
        (n,) = struct.unpack_from("<I", buf, off)
        child = bytes(buf[off + 4 : off + 3 + n]).decode()
        off += 4 + n
        off += -off % 8
        v = cls._DOUBLES.unpack_from(buf, off)
        pose = Pose(Point(v[0], v[1], v[2]), Quaternion(v[3], v[4], v[5], v[6]))
        return cls(
            header=header,
            child_frame_id=child,
            pose=PoseWithCovariance(pose=pose, covariance=list(v[7:43])),
            twist=TwistWithCovariance(twist=_twist(v[43:49]), covariance=list(v[49:85])),
        )


@final
@cdrv0
@dataclass
class TFMessage(IdlStruct, typename=_dds_name("tf2_msgs/msg/TFMessage")):
    transforms: sequence[TransformStamped] = field(default_factory=list)


MESSAGES: dict[str, type[IdlStruct]] = {
    "builtin_interfaces/msg/Time": Time,
    "std_msgs/msg/Header": Header,
    "std_msgs/msg/Bool": Bool,
    "std_msgs/msg/String": String,
    "rosgraph_msgs/msg/Clock": Clock,
    "geometry_msgs/msg/Vector3": Vector3,
    "geometry_msgs/msg/Point": Point,
    "geometry_msgs/msg/Quaternion": Quaternion,
    "geometry_msgs/msg/Pose": Pose,
    "geometry_msgs/msg/PoseStamped": PoseStamped,
    "geometry_msgs/msg/PoseWithCovariance": PoseWithCovariance,
    "geometry_msgs/msg/Twist": Twist,
    "geometry_msgs/msg/TwistStamped": TwistStamped,
    "geometry_msgs/msg/TwistWithCovariance": TwistWithCovariance,
    "geometry_msgs/msg/Transform": Transform,
    "geometry_msgs/msg/TransformStamped": TransformStamped,
    "sensor_msgs/msg/LaserScan": LaserScan,
    "sensor_msgs/msg/JointState": JointState,
    "nav_msgs/msg/Odometry": Odometry,
    "tf2_msgs/msg/TFMessage": TFMessage,
}
"""ROS 2 type name -> IDL class, for every message the ``dds`` transport can carry."""


def dds_type_name(ros_type: str) -> str:
    """The DDS type name of a ROS 2 type name, checked against :data:`MESSAGES`."""
    if ros_type not in MESSAGES:
        raise KeyError(f"unknown message type {ros_type!r}; known: {', '.join(sorted(MESSAGES))}")
    return _dds_name(ros_type)
