"""PX4 1.15 and the versioned-message releases (1.16, 1.17: VehicleStatus version 1; 1.18: version
4, on ``/fmu/out/vehicle_status_v<N>``): our DDS classes field for field against px4_msgs' own
definitions, bytes against an independent serializer (rosbags), the topic and type names, and the
node finding the version that arrives.

The definitions below are the field lines (type, name; comments and constants left out) of
``msg/VehicleStatus.msg`` on the px4_msgs branches release/1.15 (a1045ec4feb6d709bdecaf3895f1d5b43a5dabb8),
release/1.16 (392e831c1f659429ca83902e66820d7094591410; release/1.17 86d8239e962f6939e05c3737784f60c02fa884db
has the same fields) and release/1.18 (598c7aad7b2386f9406ebd2a2f841619fddc3c78; main the same).
"""

from __future__ import annotations

import dataclasses
import gc
import time

import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from test_px4_msgs import PX4_MSG_DEFINITIONS

from sim2real_ros import msgs, px4
from sim2real_ros.dds import DdsTransport

# Version 0 (release/1.15) is the definition tests/test_px4_msgs.py checks bytes against; its
# fields only (constants carry "=").
_V0 = (
    "\n".join(
        line
        for line in PX4_MSG_DEFINITIONS["px4_msgs/msg/VehicleStatus"].strip().splitlines()
        if "=" not in line
    )
    + "\n"
)
_V1 = _V0.replace("bool avoidance_system_required\nbool avoidance_system_valid\n", "")
_V4 = (
    _V1.replace(
        "uint8 executor_in_charge\n",
        "uint8 executor_in_charge\nuint8 nav_state_display\nbool accepts_offboard_setpoints\n",
    )
    .replace("uint16 failure_detector_status\n", "")
    .replace(
        "bool parachute_system_healthy\n",
        "bool parachute_system_healthy\nbool traffic_avoidance_system_present\n",
    )
)
DEFINITIONS = {0: _V0, 1: _V1, 4: _V4}
"""VehicleStatus MESSAGE_VERSION -> its field lines."""
CLASSES = {0: msgs.VehicleStatus, 1: msgs.VehicleStatusV1, 4: msgs.VehicleStatusV4}

_IDL = {"uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64", "bool": "bool"}


def _fields(text: str) -> list[tuple[str, str]]:
    return [tuple(line.split()) for line in text.strip().splitlines()]


def test_the_versions_differ_where_px4_changed_them():
    v0, v1, v4 = (dict((n, t) for t, n in _fields(DEFINITIONS[v])) for v in (0, 1, 4))
    assert set(v0) - set(v1) == {"avoidance_system_required", "avoidance_system_valid"} and set(v1) < set(v0)
    assert set(v4) - set(v1) == {
        "nav_state_display",
        "accepts_offboard_setpoints",
        "traffic_avoidance_system_present",
    }
    assert set(v1) - set(v4) == {"failure_detector_status"}
    # what the node reads is in all of them, with the same type
    for v in (v0, v1, v4):
        assert v["arming_state"] == v["nav_state"] == "uint8"


@pytest.mark.parametrize("version", [0, 1, 4])
def test_class_fields_match_the_definition(version):
    cls = CLASSES[version]
    ours = [(f.name, str(f.type)) for f in dataclasses.fields(cls)]
    theirs = _fields(DEFINITIONS[version])
    assert [n for n, _ in ours] == [n for _, n in theirs]
    for (name, ours_type), (their_type, _) in zip(ours, theirs, strict=True):
        assert _IDL[their_type] in ours_type or (their_type == "bool" and ours_type == "bool"), name
    # the DDS type name is the same for every version; the constants too
    assert cls.__idl_typename__ == "px4_msgs::msg::dds_::VehicleStatus_"
    assert cls.ARMING_STATE_ARMED == 2 and cls.NAVIGATION_STATE_OFFBOARD == 14


@pytest.mark.parametrize("version", [0, 1, 4])
def test_bytes_equal_rosbags_serializer(version):
    name = f"px4_msgs/msg/VehicleStatusV{version}"  # rosbags needs one name per layout
    ts = get_typestore(Stores.ROS2_JAZZY)
    ts.register(get_types_from_msg(DEFINITIONS[version], name))
    m = CLASSES[version]()
    m.timestamp, m.arming_state, m.nav_state, m.system_id = 123456789, 2, 14, 7
    m.pre_flight_checks_pass = True
    ref = ts.deserialize_cdr(m.serialize(), name)
    assert (ref.timestamp, ref.arming_state, ref.nav_state, ref.system_id) == (123456789, 2, 14, 7)
    assert ref.pre_flight_checks_pass
    assert ts.serialize_cdr(ref, name) == m.serialize()
    # another version's layout does not read it right (the reason for one class per version)
    for other in {0, 1, 4} - {version}:
        try:
            back = CLASSES[other].deserialize(m.serialize())
        except Exception:
            continue
        assert (back.pre_flight_checks_pass, back.system_id) != (True, 7)


def test_release_topic_and_type_names():
    assert px4.vehicle_status_version("1.15") == 0
    assert px4.vehicle_status_version("1.16") == px4.vehicle_status_version("1.17") == 1
    assert px4.vehicle_status_version("1.18") == 4
    assert px4.vehicle_status_version("auto") is None
    with pytest.raises(ValueError, match=r"1\.14"):
        px4.vehicle_status_version("1.14")
    assert px4.vehicle_status_topic("", 0) == "/fmu/out/vehicle_status"
    assert px4.vehicle_status_topic("", 1) == "/fmu/out/vehicle_status_v1"
    assert px4.vehicle_status_topic("/px4_1/", 4) == "/px4_1/fmu/out/vehicle_status_v4"
    assert px4.vehicle_status_type(0) == "px4_msgs/msg/VehicleStatus"
    assert px4.vehicle_status_type(1) == "px4_msgs/msg/VehicleStatus#v1"
    with pytest.raises(ValueError):
        px4.vehicle_status_type(2)


@pytest.mark.parametrize("version", [1, 4])
def test_a_client_listening_on_every_version_gets_the_one_published(dds_env, version):
    """What the node does with ``px4_version: auto``: a reader per known version; PX4 (here a
    writer of version ``version``) publishes one, and only that reader gets it, decoded right."""
    fmu = DdsTransport("fmu_versions")
    client = DdsTransport("client_versions")
    got = {v: [] for v in px4.VEHICLE_STATUS_VERSIONS}
    for v in px4.VEHICLE_STATUS_VERSIONS:
        client.subscribe(
            px4.vehicle_status_topic("", v), px4.vehicle_status_type(v), px4.PX4_CLIENT_QOS, got[v].append
        )
    out = fmu.publisher(
        px4.vehicle_status_topic("", version), px4.vehicle_status_type(version), px4.FMU_OUT_QOS
    )
    cls = fmu.msg(px4.vehicle_status_type(version))
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10 and len(got[version]) < 3:
        out.publish(cls(arming_state=2, nav_state=14, pre_flight_checks_pass=True))
        time.sleep(0.02)
    assert len(got[version]) >= 3
    last = got[version][-1]
    assert (last.arming_state, last.nav_state, last.pre_flight_checks_pass) == (2, 14, True)
    assert all(got[v] == [] for v in got if v != version)
    for t in (fmu, client):
        t.close()
    gc.collect()
