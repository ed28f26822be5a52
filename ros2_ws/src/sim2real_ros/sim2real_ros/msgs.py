"""ROS 2 message types as Cyclone DDS IDL structs, for the ``dds`` transport.

Each class mirrors one ROS 2 interface field for field, in order, with the DDS type name that
rosidl generates for it (``sensor_msgs/msg/LaserScan`` -> ``sensor_msgs::msg::dds_::LaserScan_``).
All are ``@final`` and pinned to plain CDR (XCDR1, ``cdrv0``), as rmw_cyclonedds expects: an
appendable or mutable struct would switch to XCDR2 and a ROS 2 node would silently not match.
``tests/test_ros_msgs.py`` checks every type name and compares the serialized bytes with rosbags'
ROS 2 (Jazzy) serializer; ``tests/test_px4_msgs.py`` does the same for the ``px4_msgs`` types, which
rosbags' Jazzy store lacks, after registering their ``.msg`` definitions in it, and
``tests/test_ros_actions.py`` for ``control_msgs`` and the action and service types.

Action and service types are plain messages too. rosidl derives them from the ``.action`` file
(``rosidl_parser.definition.Action``): ``control_msgs/action/GripperCommand`` gives
``control_msgs/action/GripperCommand_Goal`` (``_Result``, ``_Feedback``), the services
``GripperCommand_SendGoal`` and ``GripperCommand_GetResult`` (each with ``_Request`` and
``_Response`` messages) and ``GripperCommand_FeedbackMessage``; the DDS type name follows the same
rule, ``control_msgs::action::dds_::GripperCommand_SendGoal_Request_``. What rmw_cyclonedds puts in
front of a service sample (a request header) is added by :mod:`sim2real_ros.actions`, not here.

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
from cyclonedds.idl.types import (
    array,
    float32,
    float64,
    int8,
    int32,
    sequence,
    uint8,
    uint16,
    uint32,
    uint64,
)


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
class Duration(IdlStruct, typename=_dds_name("builtin_interfaces/msg/Duration")):
    """A signed duration: ``sec`` (s) + ``nanosec`` (ns, in [0, 1e9))."""

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
class Float64(IdlStruct, typename=_dds_name("std_msgs/msg/Float64")):
    data: float64 = 0.0


@final
@cdrv0
@dataclass
class String(IdlStruct, typename=_dds_name("std_msgs/msg/String")):
    data: str = ""


@final
@cdrv0
@dataclass
class MultiArrayDimension(IdlStruct, typename=_dds_name("std_msgs/msg/MultiArrayDimension")):
    label: str = ""
    size: uint32 = 0
    stride: uint32 = 0


@final
@cdrv0
@dataclass
class MultiArrayLayout(IdlStruct, typename=_dds_name("std_msgs/msg/MultiArrayLayout")):
    dim: sequence[MultiArrayDimension] = field(default_factory=list)
    data_offset: uint32 = 0


@final
@cdrv0
@dataclass
class Float64MultiArray(IdlStruct, typename=_dds_name("std_msgs/msg/Float64MultiArray")):
    """What a ros2_control ``forward_command_controller`` (e.g. a joint position or effort
    controller) reads on ``/<controller>/commands``: ``data`` in the controller's joint order and
    interface units (rad, m, N·m...); an empty layout is what those controllers expect."""

    layout: MultiArrayLayout = field(default_factory=MultiArrayLayout)
    data: sequence[float64] = field(default_factory=list)


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
class Path(IdlStruct, typename=_dds_name("nav_msgs/msg/Path")):
    header: Header = field(default_factory=Header)
    poses: sequence[PoseStamped] = field(default_factory=list)


@final
@cdrv0
@dataclass
class TFMessage(IdlStruct, typename=_dds_name("tf2_msgs/msg/TFMessage")):
    transforms: sequence[TransformStamped] = field(default_factory=list)


# --------------------------------------------------------------------------- trajectory_msgs


@final
@cdrv0
@dataclass
class JointTrajectoryPoint(IdlStruct, typename=_dds_name("trajectory_msgs/msg/JointTrajectoryPoint")):
    """One waypoint: positions (rad or m), velocities (per s), accelerations (per s²), effort
    (N·m or N), each empty or one per joint, reached ``time_from_start`` after the header stamp."""

    positions: sequence[float64] = field(default_factory=list)
    velocities: sequence[float64] = field(default_factory=list)
    accelerations: sequence[float64] = field(default_factory=list)
    effort: sequence[float64] = field(default_factory=list)
    time_from_start: Duration = field(default_factory=Duration)


@final
@cdrv0
@dataclass
class JointTrajectory(IdlStruct, typename=_dds_name("trajectory_msgs/msg/JointTrajectory")):
    """What ros2_control's ``joint_trajectory_controller`` reads on
    ``/<controller>/joint_trajectory`` (a zero stamp: start now)."""

    header: Header = field(default_factory=Header)
    joint_names: sequence[str] = field(default_factory=list)
    points: sequence[JointTrajectoryPoint] = field(default_factory=list)


# --------------------------------------------------------------------------- actions
#
# unique_identifier_msgs and action_msgs as in ros2/unique_identifier_msgs and
# ros2/rcl_interfaces (action_msgs), unchanged from Humble to Rolling.

STATUS_UNKNOWN = 0
STATUS_ACCEPTED = 1
STATUS_EXECUTING = 2
STATUS_CANCELING = 3
STATUS_SUCCEEDED = 4
STATUS_CANCELED = 5
STATUS_ABORTED = 6


@final
@cdrv0
@dataclass
class UUID(IdlStruct, typename=_dds_name("unique_identifier_msgs/msg/UUID")):
    """A goal id: 16 bytes (an RFC 4122 UUID): a list of 16 ints, or ``bytes`` as decoded."""

    uuid: array[uint8, 16] = field(default_factory=lambda: [0] * 16)


@final
@cdrv0
@dataclass
class GoalInfo(IdlStruct, typename=_dds_name("action_msgs/msg/GoalInfo")):
    goal_id: UUID = field(default_factory=UUID)
    stamp: Time = field(default_factory=Time)


@final
@cdrv0
@dataclass
class GoalStatus(IdlStruct, typename=_dds_name("action_msgs/msg/GoalStatus")):
    STATUS_UNKNOWN = STATUS_UNKNOWN
    STATUS_ACCEPTED = STATUS_ACCEPTED
    STATUS_EXECUTING = STATUS_EXECUTING
    STATUS_CANCELING = STATUS_CANCELING
    STATUS_SUCCEEDED = STATUS_SUCCEEDED
    STATUS_CANCELED = STATUS_CANCELED
    STATUS_ABORTED = STATUS_ABORTED

    goal_info: GoalInfo = field(default_factory=GoalInfo)
    status: int8 = 0


@final
@cdrv0
@dataclass
class GoalStatusArray(IdlStruct, typename=_dds_name("action_msgs/msg/GoalStatusArray")):
    status_list: sequence[GoalStatus] = field(default_factory=list)


@final
@cdrv0
@dataclass
class CancelGoal_Request(IdlStruct, typename=_dds_name("action_msgs/srv/CancelGoal_Request")):  # noqa: N801 - rosidl's name
    """Cancel the goal ``goal_info.goal_id`` (all goals: zero id; those accepted at or before
    ``stamp``: nonzero stamp)."""

    goal_info: GoalInfo = field(default_factory=GoalInfo)


@final
@cdrv0
@dataclass
class CancelGoal_Response(IdlStruct, typename=_dds_name("action_msgs/srv/CancelGoal_Response")):  # noqa: N801 - rosidl's name
    ERROR_NONE = 0
    ERROR_REJECTED = 1
    ERROR_UNKNOWN_GOAL_ID = 2
    ERROR_GOAL_TERMINATED = 3

    return_code: int8 = 0
    goals_canceling: sequence[GoalInfo] = field(default_factory=list)


# Class names with an underscore are rosidl's own (rclpy's ``GripperCommand_Goal``...).
#
# control_msgs (ros-controls/control_msgs, msg/GripperCommand.msg and action/GripperCommand.action,
# unchanged since they were copied from pr2_controllers_msgs): what ros2_control's
# gripper_action_controller (parallel_gripper_action_controller has its own action) serves.


@final
@cdrv0
@dataclass
class GripperCommand(IdlStruct, typename=_dds_name("control_msgs/msg/GripperCommand")):
    """``position``: the gripper's target (m of finger gap, or rad, as the controller's joint
    is); ``max_effort``: the most effort to apply (N or N·m; 0 or less: no limit)."""

    position: float64 = 0.0
    max_effort: float64 = 0.0


@final
@cdrv0
@dataclass
class GripperCommand_Goal(IdlStruct, typename=_dds_name("control_msgs/action/GripperCommand_Goal")):  # noqa: N801 - rosidl's name
    command: GripperCommand = field(default_factory=GripperCommand)


@final
@cdrv0
@dataclass
class GripperCommand_Result(IdlStruct, typename=_dds_name("control_msgs/action/GripperCommand_Result")):  # noqa: N801 - rosidl's name
    """``position`` (m or rad), ``effort`` (N or N·m), ``stalled``: exerting max effort and not
    moving, ``reached_goal``: at the commanded position."""

    position: float64 = 0.0
    effort: float64 = 0.0
    stalled: bool = False
    reached_goal: bool = False


@final
@cdrv0
@dataclass
class GripperCommand_Feedback(  # noqa: N801 - rosidl's name
    IdlStruct, typename=_dds_name("control_msgs/action/GripperCommand_Feedback")
):
    """The same fields as :class:`GripperCommand_Result`, while the goal runs."""

    position: float64 = 0.0
    effort: float64 = 0.0
    stalled: bool = False
    reached_goal: bool = False


@final
@cdrv0
@dataclass
class GripperCommand_SendGoal_Request(  # noqa: N801 - rosidl's name
    IdlStruct, typename=_dds_name("control_msgs/action/GripperCommand_SendGoal_Request")
):
    goal_id: UUID = field(default_factory=UUID)
    goal: GripperCommand_Goal = field(default_factory=GripperCommand_Goal)


@final
@cdrv0
@dataclass
class GripperCommand_SendGoal_Response(  # noqa: N801 - rosidl's name
    IdlStruct, typename=_dds_name("control_msgs/action/GripperCommand_SendGoal_Response")
):
    accepted: bool = False
    stamp: Time = field(default_factory=Time)


@final
@cdrv0
@dataclass
class GripperCommand_GetResult_Request(  # noqa: N801 - rosidl's name
    IdlStruct, typename=_dds_name("control_msgs/action/GripperCommand_GetResult_Request")
):
    goal_id: UUID = field(default_factory=UUID)


@final
@cdrv0
@dataclass
class GripperCommand_GetResult_Response(  # noqa: N801 - rosidl's name
    IdlStruct, typename=_dds_name("control_msgs/action/GripperCommand_GetResult_Response")
):
    status: int8 = 0
    result: GripperCommand_Result = field(default_factory=GripperCommand_Result)


@final
@cdrv0
@dataclass
class GripperCommand_FeedbackMessage(  # noqa: N801 - rosidl's name
    IdlStruct, typename=_dds_name("control_msgs/action/GripperCommand_FeedbackMessage")
):
    goal_id: UUID = field(default_factory=UUID)
    feedback: GripperCommand_Feedback = field(default_factory=GripperCommand_Feedback)


# --------------------------------------------------------------------------- px4_msgs
#
# PX4 v1.15, field for field from PX4/px4_msgs branch release/1.15, commit
# a1045ec4feb6d709bdecaf3895f1d5b43a5dabb8 (msg/VehicleOdometry.msg, OffboardControlMode.msg,
# VehicleRatesSetpoint.msg, VehicleStatus.msg, VehicleCommand.msg). PX4 1.16 and later version
# their messages (MESSAGE_VERSION): VehicleOdometry, VehicleRatesSetpoint, OffboardControlMode and
# VehicleCommand keep this layout, VehicleStatus does not (version 1 in release/1.16, 4 on main).
# Timestamps are microseconds. The constants below carry the values of the .msg files; each class
# also carries the ones of its message as class attributes, as rclpy's generated classes do, so
# ``transport.msg("px4_msgs/msg/VehicleStatus").NAVIGATION_STATE_OFFBOARD`` works with both
# transports.

POSE_FRAME_UNKNOWN = 0
POSE_FRAME_NED = 1
"""VehicleOdometry.pose_frame: NED earth-fixed frame."""
POSE_FRAME_FRD = 2
"""VehicleOdometry.pose_frame: FRD world-fixed frame, arbitrary heading reference."""
VELOCITY_FRAME_UNKNOWN = 0
VELOCITY_FRAME_NED = 1
"""VehicleOdometry.velocity_frame: NED earth-fixed frame."""
VELOCITY_FRAME_FRD = 2
VELOCITY_FRAME_BODY_FRD = 3

ARMING_STATE_DISARMED = 1
ARMING_STATE_ARMED = 2
NAVIGATION_STATE_MANUAL = 0
NAVIGATION_STATE_ALTCTL = 1
NAVIGATION_STATE_POSCTL = 2
NAVIGATION_STATE_AUTO_MISSION = 3
NAVIGATION_STATE_AUTO_LOITER = 4
NAVIGATION_STATE_AUTO_RTL = 5
NAVIGATION_STATE_ACRO = 10
NAVIGATION_STATE_DESCEND = 12
NAVIGATION_STATE_TERMINATION = 13
NAVIGATION_STATE_OFFBOARD = 14
NAVIGATION_STATE_STAB = 15
NAVIGATION_STATE_AUTO_TAKEOFF = 17
NAVIGATION_STATE_AUTO_LAND = 18
VEHICLE_TYPE_ROTARY_WING = 1

VEHICLE_CMD_NAV_LAND = 21
VEHICLE_CMD_DO_SET_MODE = 176
"""param1 = 1 (custom mode), param2 = 6 (PX4 main mode OFFBOARD), as px4_ros_com's example sends."""
VEHICLE_CMD_COMPONENT_ARM_DISARM = 400
"""param1 = ARMING_ACTION_ARM (1) or ARMING_ACTION_DISARM (0)."""
ARMING_ACTION_DISARM = 0
ARMING_ACTION_ARM = 1


@final
@cdrv0
@dataclass
class VehicleOdometry(IdlStruct, typename=_dds_name("px4_msgs/msg/VehicleOdometry")):
    """PX4's odometry (REP 147): position/velocity in ``pose_frame``/``velocity_frame`` (NED on
    /fmu/out/vehicle_odometry), ``q`` (w, x, y, z) FRD body -> reference frame, angular velocity in
    the FRD body frame (rad/s). NaN marks an invalid field (``q[0]`` for the attitude)."""

    POSE_FRAME_UNKNOWN = POSE_FRAME_UNKNOWN
    POSE_FRAME_NED = POSE_FRAME_NED
    POSE_FRAME_FRD = POSE_FRAME_FRD
    VELOCITY_FRAME_UNKNOWN = VELOCITY_FRAME_UNKNOWN
    VELOCITY_FRAME_NED = VELOCITY_FRAME_NED
    VELOCITY_FRAME_FRD = VELOCITY_FRAME_FRD
    VELOCITY_FRAME_BODY_FRD = VELOCITY_FRAME_BODY_FRD

    timestamp: uint64 = 0
    timestamp_sample: uint64 = 0
    pose_frame: uint8 = 0
    position: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    q: array[float32, 4] = field(default_factory=lambda: [0.0] * 4)
    velocity_frame: uint8 = 0
    velocity: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    angular_velocity: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    position_variance: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    orientation_variance: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    velocity_variance: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    reset_counter: uint8 = 0
    quality: int8 = 0


@final
@cdrv0
@dataclass
class OffboardControlMode(IdlStruct, typename=_dds_name("px4_msgs/msg/OffboardControlMode")):
    """The offboard heartbeat: which setpoint level the companion computer controls."""

    timestamp: uint64 = 0
    position: bool = False
    velocity: bool = False
    acceleration: bool = False
    attitude: bool = False
    body_rate: bool = False
    thrust_and_torque: bool = False
    direct_actuator: bool = False


@final
@cdrv0
@dataclass
class VehicleRatesSetpoint(IdlStruct, typename=_dds_name("px4_msgs/msg/VehicleRatesSetpoint")):
    """Body rates (rad/s, FRD: roll, pitch, yaw) and normalised thrust in the FRD body frame
    ([-1, 1]; a multicopter's is ``[0, 0, -throttle]``)."""

    timestamp: uint64 = 0
    roll: float32 = 0.0
    pitch: float32 = 0.0
    yaw: float32 = 0.0
    thrust_body: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    reset_integral: bool = False


@final
@cdrv0
@dataclass
class VehicleStatus(IdlStruct, typename=_dds_name("px4_msgs/msg/VehicleStatus")):
    """The commander's state (PX4 v1.15 layout: every field, in order, as the wire needs)."""

    ARMING_STATE_DISARMED = ARMING_STATE_DISARMED
    ARMING_STATE_ARMED = ARMING_STATE_ARMED
    NAVIGATION_STATE_MANUAL = NAVIGATION_STATE_MANUAL
    NAVIGATION_STATE_ALTCTL = NAVIGATION_STATE_ALTCTL
    NAVIGATION_STATE_POSCTL = NAVIGATION_STATE_POSCTL
    NAVIGATION_STATE_AUTO_MISSION = NAVIGATION_STATE_AUTO_MISSION
    NAVIGATION_STATE_AUTO_LOITER = NAVIGATION_STATE_AUTO_LOITER
    NAVIGATION_STATE_AUTO_RTL = NAVIGATION_STATE_AUTO_RTL
    NAVIGATION_STATE_ACRO = NAVIGATION_STATE_ACRO
    NAVIGATION_STATE_DESCEND = NAVIGATION_STATE_DESCEND
    NAVIGATION_STATE_TERMINATION = NAVIGATION_STATE_TERMINATION
    NAVIGATION_STATE_OFFBOARD = NAVIGATION_STATE_OFFBOARD
    NAVIGATION_STATE_STAB = NAVIGATION_STATE_STAB
    NAVIGATION_STATE_AUTO_TAKEOFF = NAVIGATION_STATE_AUTO_TAKEOFF
    NAVIGATION_STATE_AUTO_LAND = NAVIGATION_STATE_AUTO_LAND
    VEHICLE_TYPE_ROTARY_WING = VEHICLE_TYPE_ROTARY_WING

    timestamp: uint64 = 0
    armed_time: uint64 = 0
    takeoff_time: uint64 = 0
    arming_state: uint8 = 0
    latest_arming_reason: uint8 = 0
    latest_disarming_reason: uint8 = 0
    nav_state_timestamp: uint64 = 0
    nav_state_user_intention: uint8 = 0
    nav_state: uint8 = 0
    executor_in_charge: uint8 = 0
    valid_nav_states_mask: uint32 = 0
    can_set_nav_states_mask: uint32 = 0
    failure_detector_status: uint16 = 0
    hil_state: uint8 = 0
    vehicle_type: uint8 = 0
    failsafe: bool = False
    failsafe_and_user_took_over: bool = False
    failsafe_defer_state: uint8 = 0
    gcs_connection_lost: bool = False
    gcs_connection_lost_counter: uint8 = 0
    high_latency_data_link_lost: bool = False
    is_vtol: bool = False
    is_vtol_tailsitter: bool = False
    in_transition_mode: bool = False
    in_transition_to_fw: bool = False
    system_type: uint8 = 0
    system_id: uint8 = 0
    component_id: uint8 = 0
    safety_button_available: bool = False
    safety_off: bool = False
    power_input_valid: bool = False
    usb_connected: bool = False
    open_drone_id_system_present: bool = False
    open_drone_id_system_healthy: bool = False
    parachute_system_present: bool = False
    parachute_system_healthy: bool = False
    avoidance_system_required: bool = False
    avoidance_system_valid: bool = False
    rc_calibration_in_progress: bool = False
    calibration_enabled: bool = False
    pre_flight_checks_pass: bool = False


@final
@cdrv0
@dataclass
class VehicleCommand(IdlStruct, typename=_dds_name("px4_msgs/msg/VehicleCommand")):
    """A MAVLink-style command (arm, mode switch, land...) for /fmu/in/vehicle_command."""

    VEHICLE_CMD_NAV_LAND = VEHICLE_CMD_NAV_LAND
    VEHICLE_CMD_DO_SET_MODE = VEHICLE_CMD_DO_SET_MODE
    VEHICLE_CMD_COMPONENT_ARM_DISARM = VEHICLE_CMD_COMPONENT_ARM_DISARM
    ARMING_ACTION_DISARM = ARMING_ACTION_DISARM
    ARMING_ACTION_ARM = ARMING_ACTION_ARM

    timestamp: uint64 = 0
    param1: float32 = 0.0
    param2: float32 = 0.0
    param3: float32 = 0.0
    param4: float32 = 0.0
    param5: float64 = 0.0
    param6: float64 = 0.0
    param7: float32 = 0.0
    command: uint32 = 0
    target_system: uint8 = 0
    target_component: uint8 = 0
    source_system: uint8 = 0
    source_component: uint16 = 0
    confirmation: uint8 = 0
    from_external: bool = False


MESSAGES: dict[str, type[IdlStruct]] = {
    "builtin_interfaces/msg/Time": Time,
    "builtin_interfaces/msg/Duration": Duration,
    "std_msgs/msg/Header": Header,
    "std_msgs/msg/Bool": Bool,
    "std_msgs/msg/Float64": Float64,
    "std_msgs/msg/String": String,
    "std_msgs/msg/MultiArrayDimension": MultiArrayDimension,
    "std_msgs/msg/MultiArrayLayout": MultiArrayLayout,
    "std_msgs/msg/Float64MultiArray": Float64MultiArray,
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
    "nav_msgs/msg/Path": Path,
    "tf2_msgs/msg/TFMessage": TFMessage,
    "trajectory_msgs/msg/JointTrajectoryPoint": JointTrajectoryPoint,
    "trajectory_msgs/msg/JointTrajectory": JointTrajectory,
    "unique_identifier_msgs/msg/UUID": UUID,
    "action_msgs/msg/GoalInfo": GoalInfo,
    "action_msgs/msg/GoalStatus": GoalStatus,
    "action_msgs/msg/GoalStatusArray": GoalStatusArray,
    "action_msgs/srv/CancelGoal_Request": CancelGoal_Request,
    "action_msgs/srv/CancelGoal_Response": CancelGoal_Response,
    "control_msgs/msg/GripperCommand": GripperCommand,
    "control_msgs/action/GripperCommand_Goal": GripperCommand_Goal,
    "control_msgs/action/GripperCommand_Result": GripperCommand_Result,
    "control_msgs/action/GripperCommand_Feedback": GripperCommand_Feedback,
    "control_msgs/action/GripperCommand_SendGoal_Request": GripperCommand_SendGoal_Request,
    "control_msgs/action/GripperCommand_SendGoal_Response": GripperCommand_SendGoal_Response,
    "control_msgs/action/GripperCommand_GetResult_Request": GripperCommand_GetResult_Request,
    "control_msgs/action/GripperCommand_GetResult_Response": GripperCommand_GetResult_Response,
    "control_msgs/action/GripperCommand_FeedbackMessage": GripperCommand_FeedbackMessage,
    "px4_msgs/msg/VehicleOdometry": VehicleOdometry,
    "px4_msgs/msg/OffboardControlMode": OffboardControlMode,
    "px4_msgs/msg/VehicleRatesSetpoint": VehicleRatesSetpoint,
    "px4_msgs/msg/VehicleStatus": VehicleStatus,
    "px4_msgs/msg/VehicleCommand": VehicleCommand,
}
"""ROS 2 type name -> IDL class, for every message the ``dds`` transport can carry."""


def dds_type_name(ros_type: str) -> str:
    """The DDS type name of a ROS 2 type name, checked against :data:`MESSAGES`."""
    if ros_type not in MESSAGES:
        raise KeyError(f"unknown message type {ros_type!r}; known: {', '.join(sorted(MESSAGES))}")
    return _dds_name(ros_type)


# --------------------------------------------------------------------------- sensor_msgs/Joy (teleop)


@final
@cdrv0
@dataclass
class Joy(IdlStruct, typename=_dds_name("sensor_msgs/msg/Joy")):
    """``sensor_msgs/msg/Joy`` as joy_node publishes it: axes in [-1, 1], buttons 0 or 1."""

    header: Header = field(default_factory=Header)
    axes: sequence[float32] = field(default_factory=list)
    buttons: sequence[int32] = field(default_factory=list)


MESSAGES["sensor_msgs/msg/Joy"] = Joy


# --------------------------------------------------------------------------- px4_msgs, versioned
#
# PX4 1.16 and later version their uORB messages (MESSAGE_VERSION). Of the types we carry only
# VehicleStatus changed: version 1 in px4_msgs release/1.16 (392e831c1f659429ca83902e66820d7094591410)
# and release/1.17 (86d8239e962f6939e05c3737784f60c02fa884db), version 4 in release/1.18
# (598c7aad7b2386f9406ebd2a2f841619fddc3c78) and main. PX4 publishes a version N > 0 on
# ``/fmu/out/vehicle_status_v<N>``; the DDS type name stays ``px4_msgs::msg::dds_::VehicleStatus_``
# (the layout differs, so one process needs one class per version). The classes below carry the
# same constants as :class:`VehicleStatus` (the values did not change for the ones we use).


def _status_constants(cls: type) -> type:
    for name in dir(VehicleStatus):
        if name.isupper():
            setattr(cls, name, getattr(VehicleStatus, name))
    return cls


@final
@_status_constants
@cdrv0
@dataclass
class VehicleStatusV1(IdlStruct, typename=_dds_name("px4_msgs/msg/VehicleStatus")):
    """VehicleStatus MESSAGE_VERSION 1 (PX4 1.16, 1.17): version 0 without
    ``avoidance_system_required`` and ``avoidance_system_valid``."""

    timestamp: uint64 = 0
    armed_time: uint64 = 0
    takeoff_time: uint64 = 0
    arming_state: uint8 = 0
    latest_arming_reason: uint8 = 0
    latest_disarming_reason: uint8 = 0
    nav_state_timestamp: uint64 = 0
    nav_state_user_intention: uint8 = 0
    nav_state: uint8 = 0
    executor_in_charge: uint8 = 0
    valid_nav_states_mask: uint32 = 0
    can_set_nav_states_mask: uint32 = 0
    failure_detector_status: uint16 = 0
    hil_state: uint8 = 0
    vehicle_type: uint8 = 0
    failsafe: bool = False
    failsafe_and_user_took_over: bool = False
    failsafe_defer_state: uint8 = 0
    gcs_connection_lost: bool = False
    gcs_connection_lost_counter: uint8 = 0
    high_latency_data_link_lost: bool = False
    is_vtol: bool = False
    is_vtol_tailsitter: bool = False
    in_transition_mode: bool = False
    in_transition_to_fw: bool = False
    system_type: uint8 = 0
    system_id: uint8 = 0
    component_id: uint8 = 0
    safety_button_available: bool = False
    safety_off: bool = False
    power_input_valid: bool = False
    usb_connected: bool = False
    open_drone_id_system_present: bool = False
    open_drone_id_system_healthy: bool = False
    parachute_system_present: bool = False
    parachute_system_healthy: bool = False
    rc_calibration_in_progress: bool = False
    calibration_enabled: bool = False
    pre_flight_checks_pass: bool = False


@final
@_status_constants
@cdrv0
@dataclass
class VehicleStatusV4(IdlStruct, typename=_dds_name("px4_msgs/msg/VehicleStatus")):
    """VehicleStatus MESSAGE_VERSION 4 (PX4 1.18, main): version 1 with ``nav_state_display`` and
    ``accepts_offboard_setpoints`` after ``executor_in_charge``, without
    ``failure_detector_status``, with ``traffic_avoidance_system_present``."""

    timestamp: uint64 = 0
    armed_time: uint64 = 0
    takeoff_time: uint64 = 0
    arming_state: uint8 = 0
    latest_arming_reason: uint8 = 0
    latest_disarming_reason: uint8 = 0
    nav_state_timestamp: uint64 = 0
    nav_state_user_intention: uint8 = 0
    nav_state: uint8 = 0
    executor_in_charge: uint8 = 0
    nav_state_display: uint8 = 0
    accepts_offboard_setpoints: bool = False
    valid_nav_states_mask: uint32 = 0
    can_set_nav_states_mask: uint32 = 0
    hil_state: uint8 = 0
    vehicle_type: uint8 = 0
    failsafe: bool = False
    failsafe_and_user_took_over: bool = False
    failsafe_defer_state: uint8 = 0
    gcs_connection_lost: bool = False
    gcs_connection_lost_counter: uint8 = 0
    high_latency_data_link_lost: bool = False
    is_vtol: bool = False
    is_vtol_tailsitter: bool = False
    in_transition_mode: bool = False
    in_transition_to_fw: bool = False
    system_type: uint8 = 0
    system_id: uint8 = 0
    component_id: uint8 = 0
    safety_button_available: bool = False
    safety_off: bool = False
    power_input_valid: bool = False
    usb_connected: bool = False
    open_drone_id_system_present: bool = False
    open_drone_id_system_healthy: bool = False
    parachute_system_present: bool = False
    parachute_system_healthy: bool = False
    traffic_avoidance_system_present: bool = False
    rc_calibration_in_progress: bool = False
    calibration_enabled: bool = False
    pre_flight_checks_pass: bool = False


PX4_VERSIONED = {
    "px4_msgs/msg/VehicleStatus#v1": VehicleStatusV1,
    "px4_msgs/msg/VehicleStatus#v4": VehicleStatusV4,
}
"""Layout-tagged type names (``<ros type>#v<N>``: the ROS type's MESSAGE_VERSION N layout) -> IDL
class, for the ``dds`` transport; rclpy's transport drops the tag (the installed px4_msgs has one
layout, the one of the PX4 it was built for)."""
