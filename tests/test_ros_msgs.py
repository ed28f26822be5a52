"""The DDS transport's message types against an independent ROS 2 serializer (rosbags, Jazzy).

Two of our own processes would match even with a wrong type name or a wrong field order, so the
type names and the bytes are checked here against ROS 2's definitions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from cyclonedds.idl import IdlStruct
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.base import Nodetype
from test_px4_msgs import register_px4
from test_ros_actions import register_actions

from sim2real_ros.dds import dds_topic_name, ros_type_name
from sim2real_ros.msgs import MESSAGES, dds_type_name

TS = get_typestore(Stores.ROS2_JAZZY)
register_px4(TS)  # px4_msgs is not in the Jazzy store: registered from its interface definitions
register_actions(TS)  # nor control_msgs, services and actions

_NUMPY = {
    "float32": np.float32,
    "float64": np.float64,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
}


def _base(rng: np.random.Generator, name: str, n: int | None = None):
    """A random value (or numpy array of n values) of a ROS 2 base type."""
    if name == "string":
        words = ["", "odom", "base_link", "laser", "wheel_ü"]
        return words[rng.integers(len(words))] if n is None else [words[i % 5] for i in range(n)]
    if name == "bool":
        return bool(rng.integers(2)) if n is None else [bool(b) for b in rng.integers(0, 2, n)]
    dt = _NUMPY[name]
    if np.issubdtype(dt, np.floating):
        v = rng.normal(0.0, 100.0, n or 1).astype(dt)
    else:
        info = np.iinfo(dt)
        v = rng.integers(info.min, info.max, n or 1, dtype=dt, endpoint=True)
    return v if n is not None else v[0].item()


def _random(rng: np.random.Generator, typename: str):
    """A random rosbags message of ``typename``, built from rosbags' own field definitions."""
    fields = {}
    for fname, (kind, desc) in TS.fielddefs[typename][1]:
        fields[fname] = _value(rng, kind, desc)
    return TS.types[typename](**fields)


def _value(rng, kind, desc):
    if kind == Nodetype.BASE:
        return _base(rng, desc[0])
    if kind == Nodetype.NAME:
        return _random(rng, desc)
    sub_kind, sub_desc = desc[0]
    n = desc[1] if kind == Nodetype.ARRAY else int(rng.integers(0, 6))
    if sub_kind == Nodetype.BASE:
        return _base(rng, sub_desc[0], n)
    return [_value(rng, sub_kind, sub_desc) for _ in range(n)]


def _field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("ros_type", sorted(MESSAGES))
def test_type_name_and_fields_match_ros2(ros_type):
    cls = MESSAGES[ros_type]
    pkg, kind, name = ros_type.split("/")  # kind: msg, or srv/action for their derived messages
    assert cls.__idl_typename__ == f"{pkg}::{kind}::dds_::{name}_" == dds_type_name(ros_type)
    assert ros_type_name(cls.__idl_typename__) == ros_type
    # Same fields in the same order as ROS 2's definition (the order is the wire layout).
    assert _field_names(cls) == [f for f, _ in TS.fielddefs[ros_type][1]]


@pytest.mark.parametrize("ros_type", sorted(MESSAGES))
def test_bytes_equal_rosbags_serializer(ros_type):
    cls = MESSAGES[ros_type]
    rng = np.random.default_rng(sum(map(ord, ros_type)))
    for _ in range(5):
        ref = bytes(TS.serialize_cdr(_random(rng, ros_type), ros_type))
        ours = cls.deserialize(ref)
        assert ours.serialize() == ref  # plain little-endian CDR, header 00 01 00 00
        assert ref[:4] == b"\x00\x01\x00\x00"
        back = TS.deserialize_cdr(ours.serialize(), ros_type)
        assert bytes(TS.serialize_cdr(back, ros_type)) == ref


def test_default_messages_are_valid_ros2_messages():
    # A message built field by field from defaults (as nodes do) is what ROS 2 would decode.
    for ros_type, cls in MESSAGES.items():
        raw = cls().serialize()
        assert bytes(TS.serialize_cdr(TS.deserialize_cdr(raw, ros_type), ros_type)) == raw


def test_unknown_type_is_named():
    with pytest.raises(KeyError, match="sensor_msgs/msg/Imu"):
        dds_type_name("sensor_msgs/msg/Imu")


def test_topic_names_follow_rmw_conventions():
    assert dds_topic_name("/scan") == "rt/scan"
    assert dds_topic_name("/nav_policy/state") == "rt/nav_policy/state"
    assert dds_topic_name("cmd_vel") == "rt/cmd_vel"
    for bad in ("", "/", "/a//b", "/scan/"):
        with pytest.raises(ValueError):
            dds_topic_name(bad)


DIRECT_CODEC = [
    "sensor_msgs/msg/LaserScan",
    "nav_msgs/msg/Odometry",
    "geometry_msgs/msg/Twist",
    "geometry_msgs/msg/TwistStamped",
]


@pytest.mark.parametrize("ros_type", DIRECT_CODEC)
def test_direct_codec_equals_generic_idl_codec(ros_type):
    cls = MESSAGES[ros_type]
    rng = np.random.default_rng(7)
    for _ in range(5):
        ref = bytes(TS.serialize_cdr(_random(rng, ros_type), ros_type))
        generic = cls.__idl__.deserialize(ref, has_header=True)  # the IDL machinery's own decoder
        fast = cls.deserialize(ref)
        assert generic.serialize() == ref == fast.serialize()
        assert fast.serialize(use_version_2=False, endianness=None, buffer=None) == ref
        # The generic path, as a writer asking for an explicit buffer or byte order would take it.
        assert IdlStruct.serialize(generic, use_version_2=False) == ref
