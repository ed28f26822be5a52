"""ROS 2 actions over the DDS transport: control_msgs/GripperCommand as rmw_cyclonedds carries it.

rosbags' Jazzy store has unique_identifier_msgs and action_msgs' messages but neither control_msgs
nor any service or action type, so those definitions are registered from interface text written
here: control_msgs/msg/GripperCommand.msg and action/GripperCommand.action (ros-controls/
control_msgs, unchanged since copied from pr2_controllers_msgs), action_msgs/srv/CancelGoal.srv
(ros2/rcl_interfaces), and the types rosidl derives from an action (rosidl_parser
``definition.Action``: ``_SendGoal_Request`` = goal_id + goal, ...). ``test_ros_msgs.py`` checks
every type in ``MESSAGES`` (names, field order, bytes); this file checks the action layer.
"""

from __future__ import annotations

import logging
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from sim2real_ros.actions import STATUS, action_topics, action_types, service_topics
from sim2real_ros.dds import DdsTransport
from sim2real_ros.msgs import MESSAGES, STATUS_ABORTED, STATUS_SUCCEEDED

RESULT = """
float64 position
float64 effort
bool stalled
bool reached_goal
"""

ACTION_DEFINITIONS = {
    "control_msgs/msg/GripperCommand": "float64 position\nfloat64 max_effort\n",
    "control_msgs/action/GripperCommand_Goal": "control_msgs/msg/GripperCommand command\n",
    "control_msgs/action/GripperCommand_Result": RESULT,
    "control_msgs/action/GripperCommand_Feedback": RESULT,
    "control_msgs/action/GripperCommand_SendGoal_Request": (
        "unique_identifier_msgs/msg/UUID goal_id\ncontrol_msgs/action/GripperCommand_Goal goal\n"
    ),
    "control_msgs/action/GripperCommand_SendGoal_Response": (
        "bool accepted\nbuiltin_interfaces/msg/Time stamp\n"
    ),
    "control_msgs/action/GripperCommand_GetResult_Request": "unique_identifier_msgs/msg/UUID goal_id\n",
    "control_msgs/action/GripperCommand_GetResult_Response": (
        "int8 status\ncontrol_msgs/action/GripperCommand_Result result\n"
    ),
    "control_msgs/action/GripperCommand_FeedbackMessage": (
        "unique_identifier_msgs/msg/UUID goal_id\ncontrol_msgs/action/GripperCommand_Feedback feedback\n"
    ),
    "action_msgs/srv/CancelGoal_Request": "action_msgs/msg/GoalInfo goal_info\n",
    "action_msgs/srv/CancelGoal_Response": """
int8 ERROR_NONE=0
int8 ERROR_REJECTED=1
int8 ERROR_UNKNOWN_GOAL_ID=2
int8 ERROR_GOAL_TERMINATED=3
int8 return_code
action_msgs/msg/GoalInfo[] goals_canceling
""",
}


def register_actions(ts) -> None:
    """Register the control_msgs and service/action definitions above in rosbags typestore ``ts``."""
    types = {}
    for name, text in ACTION_DEFINITIONS.items():
        # rosbags files "pkg/srv/Name" under "pkg/srv/msg/Name": keep the ROS 2 name.
        (definition,) = get_types_from_msg(text, name).values()
        types[name] = definition
    ts.register(types)


TS = get_typestore(Stores.ROS2_JAZZY)
register_actions(TS)
ACTION = "control_msgs/action/GripperCommand"
NAME = "/gripper/gripper_cmd"


def test_every_action_type_is_in_messages_with_rosidl_dds_names():
    assert set(ACTION_DEFINITIONS) <= set(MESSAGES)
    # rmw_cyclonedds: "<ns>::dds_::<Service>_Request_" with ns "control_msgs::action".
    t = action_types(ACTION)
    assert (
        t.send_goal_request.__idl_typename__ == "control_msgs::action::dds_::GripperCommand_SendGoal_Request_"
    )
    assert (
        t.send_goal_response.__idl_typename__
        == "control_msgs::action::dds_::GripperCommand_SendGoal_Response_"
    )
    assert (
        t.get_result_request.__idl_typename__
        == "control_msgs::action::dds_::GripperCommand_GetResult_Request_"
    )
    assert (
        t.get_result_response.__idl_typename__
        == "control_msgs::action::dds_::GripperCommand_GetResult_Response_"
    )
    assert t.cancel_request.__idl_typename__ == "action_msgs::srv::dds_::CancelGoal_Request_"
    assert t.cancel_response.__idl_typename__ == "action_msgs::srv::dds_::CancelGoal_Response_"
    assert (
        t.feedback_message.__idl_typename__ == "control_msgs::action::dds_::GripperCommand_FeedbackMessage_"
    )
    assert t.goal is MESSAGES["control_msgs/action/GripperCommand_Goal"]
    with pytest.raises(KeyError, match="nav2_msgs/action/NavigateToPose"):
        action_types("nav2_msgs/action/NavigateToPose")


def test_topic_names_follow_rmw_cyclonedds_and_rcl_action():
    assert service_topics("/add_two_ints") == ("rq/add_two_intsRequest", "rr/add_two_intsReply")
    assert action_topics("gripper/gripper_cmd") == {
        "send_goal_request": "rq/gripper/gripper_cmd/_action/send_goalRequest",
        "send_goal_reply": "rr/gripper/gripper_cmd/_action/send_goalReply",
        "get_result_request": "rq/gripper/gripper_cmd/_action/get_resultRequest",
        "get_result_reply": "rr/gripper/gripper_cmd/_action/get_resultReply",
        "cancel_goal_request": "rq/gripper/gripper_cmd/_action/cancel_goalRequest",
        "cancel_goal_reply": "rr/gripper/gripper_cmd/_action/cancel_goalReply",
        "feedback": "rt/gripper/gripper_cmd/_action/feedback",
        "status": "rt/gripper/gripper_cmd/_action/status",
    }


def _ref_send_goal(rng: np.random.Generator):
    T = TS.types
    uuid = rng.integers(0, 256, 16, dtype=np.uint8)
    command = T["control_msgs/msg/GripperCommand"](
        position=float(rng.normal()), max_effort=float(rng.normal())
    )
    goal = T["control_msgs/action/GripperCommand_Goal"](command=command)
    return T["control_msgs/action/GripperCommand_SendGoal_Request"](
        goal_id=T["unique_identifier_msgs/msg/UUID"](uuid=uuid), goal=goal
    )


def test_service_samples_are_request_header_then_message():
    # rmw_cyclonedds (serdata.cpp, Serialization.cpp): CDR encapsulation, then the client's 64-bit
    # id and the signed 64-bit sequence number in native order, then the message's fields.
    rng = np.random.default_rng(3)
    t = action_types(ACTION)
    ros_type = "control_msgs/action/GripperCommand_SendGoal_Request"
    for guid, seq in [(0x0123456789ABCDEF, 1), (2**64 - 1, 2**63 - 1), (7, -5)]:
        ref = bytes(TS.serialize_cdr(_ref_send_goal(rng), ros_type))
        msg = MESSAGES[ros_type].deserialize(ref)
        wire = t.send_goal_request(client_guid=guid, sequence_number=seq, goal_id=msg.goal_id, goal=msg.goal)
        raw = wire.serialize()
        assert raw == ref[:4] + struct.pack("<Qq", guid, seq) + ref[4:]
        back = t.send_goal_request.deserialize(raw)
        assert (back.client_guid, back.sequence_number) == (guid, seq)
        assert back.goal == msg.goal
    # A response with a sequence of structs after the header (8-aligned: offsets unchanged).
    ros_type = "action_msgs/srv/CancelGoal_Response"
    T = TS.types
    infos = [
        T["action_msgs/msg/GoalInfo"](
            goal_id=T["unique_identifier_msgs/msg/UUID"](uuid=np.arange(16, dtype=np.uint8) + i),
            stamp=T["builtin_interfaces/msg/Time"](sec=i, nanosec=3),
        )
        for i in range(3)
    ]
    ref = bytes(TS.serialize_cdr(T[ros_type](return_code=2, goals_canceling=infos), ros_type))
    msg = MESSAGES[ros_type].deserialize(ref)
    raw = t.cancel_response(client_guid=9, sequence_number=4, **vars(msg)).serialize()
    assert raw == ref[:4] + struct.pack("<Qq", 9, 4) + ref[4:]


def _spin(transports, until, seconds=10.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and not until():
        for t in transports:
            t.spin_once(0.005)
    return until()


def _goal(transport, position: float, max_effort: float):
    goal = transport.msg("control_msgs/action/GripperCommand_Goal")()
    goal.command.position = position
    goal.command.max_effort = max_effort
    return goal


def test_client_and_server_exchange_a_goal(dds_env):
    sim, arm = DdsTransport("sim"), DdsTransport("arm")
    Result = sim.msg("control_msgs/action/GripperCommand_Result")
    executed, results, status = [], [], []

    def execute(goal):
        executed.append((goal.command.position, goal.command.max_effort))
        if goal.command.position < 0:
            raise ValueError("negative opening")
        return Result(position=goal.command.position, effort=2.5, reached_goal=True)

    sim.action_server(NAME, ACTION, execute)
    sim.subscribe(f"{NAME}/_action/status", "action_msgs/msg/GoalStatusArray", STATUS, status.append)
    client = arm.action_client(NAME, ACTION)
    try:
        assert _spin([sim, arm], client.server_ready)
        assert client.send_goal(_goal(arm, 0.04, 20.0), lambda s, r: results.append((s, r)))
        assert client.send_goal(_goal(arm, 0.0, 70.0))  # no result callback: fire and forget
        assert client.send_goal(_goal(arm, -1.0, 5.0), lambda s, r: results.append((s, r)))
        assert _spin([sim, arm], lambda: len(executed) == 3 and len(results) == 2)
        assert executed == [(0.04, 20.0), (0.0, 70.0), (-1.0, 5.0)]
        (s0, r0), (s1, _) = results
        assert s0 == STATUS_SUCCEEDED and (r0.position, r0.effort, r0.reached_goal) == (0.04, 2.5, True)
        assert s1 == STATUS_ABORTED  # execute raised
        assert _spin([sim, arm], lambda: bool(status) and len(status[-1].status_list) == 3)
        assert [g.status for g in status[-1].status_list] == [
            STATUS_SUCCEEDED,
            STATUS_SUCCEEDED,
            STATUS_ABORTED,
        ]
    finally:
        arm.close()
        sim.close()


SERVER = """
import sys, time
from sim2real_ros.dds import DdsTransport
t = DdsTransport("sim")
R = t.msg("control_msgs/action/GripperCommand_Result")
def execute(goal):
    print("GOAL", goal.command.position, goal.command.max_effort, flush=True)
    return R(position=goal.command.position, reached_goal=True)
t.action_server(sys.argv[1], "control_msgs/action/GripperCommand", execute)
t0 = time.monotonic()
while time.monotonic() - t0 < float(sys.argv[2]):
    t.spin_once(0.01)
t.close()
"""


def test_client_talks_to_a_server_in_another_process(dds_env):
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, NAME, "8"], env=dds_env, stdout=subprocess.PIPE, text=True
    )
    arm = DdsTransport("arm")
    results = []
    try:
        client = arm.action_client(NAME, ACTION)
        assert _spin([arm], client.server_ready, seconds=8)
        assert client.send_goal(_goal(arm, 0.08, 40.0), lambda s, r: results.append((s, r.position)))
        assert _spin([arm], lambda: bool(results), seconds=5)
        assert results == [(STATUS_SUCCEEDED, 0.08)]
    finally:
        arm.close()
        out, _ = server.communicate(timeout=20)
    assert "GOAL 0.08 40.0" in out


def test_no_server_client_is_not_ready_and_drops_goals(dds_env, caplog):
    arm = DdsTransport("arm")
    client = arm.action_client(NAME, ACTION)
    try:
        _spin([arm], lambda: False, seconds=0.3)
        assert not client.server_ready()
        with caplog.at_level(logging.WARNING):
            assert client.send_goal(_goal(arm, 0.04, 20.0)) is False
        assert "not ready: goal dropped" in caplog.text
        with pytest.raises(TypeError, match="GripperCommand_Goal"):
            client.send_goal(arm.msg("control_msgs/msg/GripperCommand")())
    finally:
        arm.close()
