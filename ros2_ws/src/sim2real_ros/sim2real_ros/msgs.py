"""ROS 2 message types as Cyclone DDS IDL structs, for the ``dds`` transport.

Each class mirrors one ROS 2 interface field for field, in order, with the DDS type name that
rosidl generates for it (``sensor_msgs/msg/LaserScan`` -> ``sensor_msgs::msg::dds_::LaserScan_``).
All are ``@final`` and pinned to plain CDR (XCDR1, ``cdrv0``), as rmw_cyclonedds expects: an
appendable or mutable struct would switch to XCDR2 and a ROS 2 node would silently not match.
``tests/test_ros_msgs.py`` checks every type name and compares the serialized bytes with rosbags'
ROS 2 (Jazzy) serializer.

Field names and types are those of the ROS message, so code that reads ``msg.ranges`` or
``msg.header.stamp.sec`` works on these and on rclpy's messages alike.
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import cdrv0, final
from cyclonedds.idl.types import array, float32, float64, int32, sequence, uint32


def _dds_name(ros_type: str) -> str:
    """``pkg/msg/Name`` -> ``pkg::msg::dds_::Name_``, the DDS type name rmw_cyclonedds uses."""
    pkg, kind, name = ros_type.split("/")
    return f"{pkg}::{kind}::dds_::{name}_"


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


@final
@cdrv0
@dataclass
class TwistStamped(IdlStruct, typename=_dds_name("geometry_msgs/msg/TwistStamped")):
    header: Header = field(default_factory=Header)
    twist: Twist = field(default_factory=Twist)


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
