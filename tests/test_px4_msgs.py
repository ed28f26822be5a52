"""The px4_msgs types of the DDS transport against an independent ROS 2 serializer (rosbags).

rosbags' Jazzy store has no px4_msgs, so the interface definitions are registered from ``.msg`` text
written here: the fields (and the constants the code uses) of PX4/px4_msgs branch release/1.15,
commit a1045ec4feb6d709bdecaf3895f1d5b43a5dabb8, comments left out. ``test_ros_msgs.py`` registers
them too and checks every type in ``MESSAGES`` (DDS type names, field order, byte equality in both
directions); this file checks what is particular to PX4: constants, NaN, the set of types.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from sim2real_ros import msgs
from sim2real_ros.msgs import MESSAGES

PX4_MSG_DEFINITIONS = {
    "px4_msgs/msg/VehicleOdometry": """
uint64 timestamp
uint64 timestamp_sample
uint8 POSE_FRAME_UNKNOWN = 0
uint8 POSE_FRAME_NED     = 1
uint8 POSE_FRAME_FRD     = 2
uint8 pose_frame
float32[3] position
float32[4] q
uint8 VELOCITY_FRAME_UNKNOWN  = 0
uint8 VELOCITY_FRAME_NED      = 1
uint8 VELOCITY_FRAME_FRD      = 2
uint8 VELOCITY_FRAME_BODY_FRD = 3
uint8 velocity_frame
float32[3] velocity
float32[3] angular_velocity
float32[3] position_variance
float32[3] orientation_variance
float32[3] velocity_variance
uint8 reset_counter
int8 quality
""",
    "px4_msgs/msg/OffboardControlMode": """
uint64 timestamp
bool position
bool velocity
bool acceleration
bool attitude
bool body_rate
bool thrust_and_torque
bool direct_actuator
""",
    "px4_msgs/msg/VehicleRatesSetpoint": """
uint64 timestamp
float32 roll
float32 pitch
float32 yaw
float32[3] thrust_body
bool reset_integral
""",
    "px4_msgs/msg/VehicleStatus": """
uint64 timestamp
uint64 armed_time
uint64 takeoff_time
uint8 arming_state
uint8 ARMING_STATE_DISARMED = 1
uint8 ARMING_STATE_ARMED    = 2
uint8 latest_arming_reason
uint8 latest_disarming_reason
uint64 nav_state_timestamp
uint8 nav_state_user_intention
uint8 nav_state
uint8 NAVIGATION_STATE_MANUAL = 0
uint8 NAVIGATION_STATE_ALTCTL = 1
uint8 NAVIGATION_STATE_POSCTL = 2
uint8 NAVIGATION_STATE_AUTO_MISSION = 3
uint8 NAVIGATION_STATE_AUTO_LOITER = 4
uint8 NAVIGATION_STATE_AUTO_RTL = 5
uint8 NAVIGATION_STATE_ACRO = 10
uint8 NAVIGATION_STATE_DESCEND = 12
uint8 NAVIGATION_STATE_TERMINATION = 13
uint8 NAVIGATION_STATE_OFFBOARD = 14
uint8 NAVIGATION_STATE_STAB = 15
uint8 NAVIGATION_STATE_AUTO_TAKEOFF = 17
uint8 NAVIGATION_STATE_AUTO_LAND = 18
uint8 executor_in_charge
uint32 valid_nav_states_mask
uint32 can_set_nav_states_mask
uint16 failure_detector_status
uint8 hil_state
uint8 vehicle_type
uint8 VEHICLE_TYPE_ROTARY_WING = 1
bool failsafe
bool failsafe_and_user_took_over
uint8 failsafe_defer_state
bool gcs_connection_lost
uint8 gcs_connection_lost_counter
bool high_latency_data_link_lost
bool is_vtol
bool is_vtol_tailsitter
bool in_transition_mode
bool in_transition_to_fw
uint8 system_type
uint8 system_id
uint8 component_id
bool safety_button_available
bool safety_off
bool power_input_valid
bool usb_connected
bool open_drone_id_system_present
bool open_drone_id_system_healthy
bool parachute_system_present
bool parachute_system_healthy
bool avoidance_system_required
bool avoidance_system_valid
bool rc_calibration_in_progress
bool calibration_enabled
bool pre_flight_checks_pass
""",
    "px4_msgs/msg/VehicleCommand": """
uint64 timestamp
uint16 VEHICLE_CMD_NAV_LAND = 21
uint16 VEHICLE_CMD_DO_SET_MODE = 176
uint16 VEHICLE_CMD_COMPONENT_ARM_DISARM = 400
int8 ARMING_ACTION_DISARM = 0
int8 ARMING_ACTION_ARM = 1
float32 param1
float32 param2
float32 param3
float32 param4
float64 param5
float64 param6
float32 param7
uint32 command
uint8 target_system
uint8 target_component
uint8 source_system
uint16 source_component
uint8 confirmation
bool from_external
""",
}
"""ROS 2 type name -> interface definition (.msg text) of every px4_msgs type we carry."""


def register_px4(typestore) -> None:
    """Register the px4_msgs definitions above in a rosbags typestore."""
    for name, text in PX4_MSG_DEFINITIONS.items():
        typestore.register(get_types_from_msg(text, name))


TS = get_typestore(Stores.ROS2_JAZZY)
register_px4(TS)
PX4_TYPES = sorted(PX4_MSG_DEFINITIONS)


def test_every_px4_type_is_carried():
    assert {t for t in MESSAGES if t.startswith("px4_msgs/")} == set(PX4_TYPES)


def test_nan_survives_the_wire():
    # PX4 marks invalid odometry fields with NaN: they must arrive as NaN, not as a number.
    m = msgs.VehicleOdometry(q=[float("nan"), 0.0, 0.0, 0.0], velocity=[float("nan")] * 3)
    back = msgs.VehicleOdometry.deserialize(m.serialize())
    assert np.isnan(back.q[0]) and np.all(np.isnan(back.velocity))
    ref = TS.deserialize_cdr(m.serialize(), "px4_msgs/msg/VehicleOdometry")
    assert np.isnan(ref.q[0])


@pytest.mark.parametrize("ros_type", PX4_TYPES)
def test_constants_match_the_definitions(ros_type):
    # Module constants and class attributes (as rclpy's classes have them) carry the .msg values.
    cls = MESSAGES[ros_type]
    for name, _, value in TS.fielddefs[ros_type][0]:
        assert getattr(msgs, name) == value, name
        assert getattr(cls, name) == value, name


def test_px4_values_used_by_the_bridge():
    # Read off the release/1.15 .msg files by hand (the test above ties them to the text here).
    assert (msgs.POSE_FRAME_NED, msgs.VELOCITY_FRAME_NED) == (1, 1)
    assert (msgs.ARMING_STATE_DISARMED, msgs.ARMING_STATE_ARMED) == (1, 2)
    assert msgs.NAVIGATION_STATE_POSCTL == 2
    assert msgs.NAVIGATION_STATE_AUTO_LOITER == 4
    assert msgs.NAVIGATION_STATE_OFFBOARD == 14
    assert (msgs.VEHICLE_CMD_DO_SET_MODE, msgs.VEHICLE_CMD_COMPONENT_ARM_DISARM) == (176, 400)


def test_nav_path_is_carried():
    # nav_msgs/Path (ros2/common_interfaces nav_msgs/msg/Path.msg): header, PoseStamped[] poses.
    # test_ros_msgs.py checks its bytes against the Jazzy store with every other standard type.
    assert [f.name for f in dataclasses.fields(msgs.Path)] == ["header", "poses"]
    p = msgs.Path(poses=[msgs.PoseStamped(), msgs.PoseStamped()])
    p.poses[1].pose.position.x = 1.5
    ref = TS.deserialize_cdr(p.serialize(), "nav_msgs/msg/Path")
    assert ref.poses[1].pose.position.x == 1.5
