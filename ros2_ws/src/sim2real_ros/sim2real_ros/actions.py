"""ROS 2 actions over the ``dds`` transport, as rmw_cyclonedds puts them on the wire.

An action ``/gripper/gripper_cmd`` of type ``control_msgs/action/GripperCommand`` is three services
and two topics (rcl_action ``names.c`` and ``default_qos.h``; rmw_cyclonedds ``rmw_node.cpp``,
``namespace_prefix.hpp``, ``serdata.cpp``, ``Serialization.cpp``, branch jazzy):

- ``rq/gripper/gripper_cmd/_action/send_goalRequest``, type
  ``control_msgs::action::dds_::GripperCommand_SendGoal_Request_``; the reply on
  ``rr/gripper/gripper_cmd/_action/send_goalReply``, ``..._SendGoal_Response_``;
- ``rq/.../_action/get_resultRequest`` and ``rr/.../_action/get_resultReply``,
  ``..._GetResult_Request_`` and ``..._GetResult_Response_``;
- ``rq/.../_action/cancel_goalRequest`` and ``rr/.../_action/cancel_goalReply``,
  ``action_msgs::srv::dds_::CancelGoal_Request_`` and ``..._Response_``;
- ``rt/.../_action/feedback``, ``..._FeedbackMessage_``: reliable, keep last 10, volatile;
- ``rt/.../_action/status``, ``action_msgs::msg::dds_::GoalStatusArray_``: reliable, keep last 1,
  transient local.

Services are reliable, keep last 10, volatile (``rmw_qos_profile_services_default``). A service
sample is the request or response message with a 16-byte header in front, written raw (native,
here little-endian, byte order) right after the 4-byte CDR encapsulation: the client's 64-bit id
(rmw_cyclonedds uses the request writer's instance handle) and a signed 64-bit sequence number;
the service echoes both in its reply, and a client keeps only replies that carry its own id. Both
are 8-byte aligned, so the message after them is laid out exactly as on its own: here that is an
``@final`` struct ``{uint64 client_guid; int64 sequence_number; <the message's fields>}`` with the
message's DDS type name.

Matching (rmw_cyclonedds): a client's request writer and reply reader carry ``clientid=<id>;`` in
their USER_DATA, a service's request reader and reply writer ``serviceid=<id>;``. A client deems
the service available when its request writer matches a reader and its reply reader a writer of the
same ``serviceid``; a service replies only once it has matched the reply reader of the requesting
client's ``clientid`` (this server defers the reply until then, for up to 1 s; rmw_cyclonedds waits
100 ms). rclpy's ``ActionClient.server_is_ready()`` also wants the cancel service and a publisher on
feedback and status; the server here provides all five.

Verified here: the bytes of every message against rosbags' ROS 2 serializer, the DDS type and topic
names and the header layout against the rmw_cyclonedds / rcl_action / rosidl sources (read, not
run), and a client and a server of this module talking to each other over Cyclone DDS. Not
verified: talking to a real ROS 2 action server or client (no ROS 2 here).
"""

import dataclasses
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cyclonedds.core import Policy
from cyclonedds.idl import IdlStruct, make_idl_struct
from cyclonedds.idl.annotations import cdrv0, final
from cyclonedds.idl.types import int64, uint64

from .msgs import (
    MESSAGES,
    STATUS_ABORTED,
    STATUS_EXECUTING,
    STATUS_SUCCEEDED,
    STATUS_UNKNOWN,
    CancelGoal_Request,
    CancelGoal_Response,
    GoalInfo,
    GoalStatus,
    GoalStatusArray,
    Time,
)
from .transport import DEFAULT, QoS, fill_stamp

if TYPE_CHECKING:
    from cyclonedds.pub import DataWriter
    from cyclonedds.sub import DataReader

    from .dds import DdsTransport

SERVICES = QoS(reliable=True, depth=10)
"""``rmw_qos_profile_services_default``: reliable, keep last 10, volatile."""
STATUS = QoS(reliable=True, depth=1, transient_local=True)
"""``rcl_action_qos_profile_status_default``: reliable, keep last 1, transient local."""
FEEDBACK = DEFAULT
"""Feedback topics use ``rmw_qos_profile_default``: reliable, keep last 10, volatile."""

REPLY_WAIT_S = 1.0
"""How long the server keeps a reply while the client's reply reader is not yet matched."""
KEEP_GOALS = 16
"""Finished goals the server remembers (for get_result and the status topic)."""

_ZERO_ID = bytes(16)


def service_topics(service: str) -> tuple[str, str]:
    """ROS service name -> (request, reply) DDS topic names, as rmw_cyclonedds names them:
    ``/a/_action/send_goal`` -> ``rq/a/_action/send_goalRequest``, ``rr/a/_action/send_goalReply``."""
    if not service.startswith("/"):
        service = "/" + service
    return f"rq{service}Request", f"rr{service}Reply"


def action_topics(action: str) -> dict[str, str]:
    """The DDS topic names of the action ``action`` (a ROS name such as ``/gripper/gripper_cmd``)."""
    if not action.startswith("/"):
        action = "/" + action
    out: dict[str, str] = {}
    for service in ("send_goal", "get_result", "cancel_goal"):
        out[f"{service}_request"], out[f"{service}_reply"] = service_topics(f"{action}/_action/{service}")
    out["feedback"] = f"rt{action}/_action/feedback"
    out["status"] = f"rt{action}/_action/status"
    return out


def service_wire_type(cls: type[IdlStruct]) -> type[IdlStruct]:
    """The DDS sample of a service request/response message ``cls``: rmw_cyclonedds' request
    header (``client_guid``, ``sequence_number``) followed by the message's fields, with the
    message's DDS type name. (Flat, not the message nested as a member: a member type of the same
    name as the struct is not a valid XTypes type object.)"""
    fields = {"client_guid": uint64, "sequence_number": int64}
    fields.update({f.name: f.type for f in dataclasses.fields(cls)})
    return final(cdrv0(make_idl_struct(f"{cls.__name__}_Wire", cls.__idl_typename__, fields)))


@dataclass(frozen=True)
class ActionTypes:
    """The message classes of one action type, and the DDS samples of its services."""

    goal: type
    result: type
    feedback: type
    feedback_message: type
    send_goal_request: type
    send_goal_response: type
    get_result_request: type
    get_result_response: type
    cancel_request: type
    cancel_response: type


_TYPES: dict[str, ActionTypes] = {}


def action_types(action_type: str) -> ActionTypes:
    """The types of ``action_type`` (``pkg/action/Name``) from :data:`sim2real_ros.msgs.MESSAGES`;
    the ``*_request``/``*_response`` ones are the wire samples (header + message)."""
    if action_type not in _TYPES:
        kind = action_type.split("/")[1] if action_type.count("/") == 2 else ""
        names = ["Goal", "Result", "Feedback", "FeedbackMessage", "SendGoal_Request",
                 "SendGoal_Response", "GetResult_Request", "GetResult_Response"]  # fmt: skip
        missing = [n for n in names if f"{action_type}_{n}" not in MESSAGES]
        if kind != "action" or missing:
            raise KeyError(f"unknown action type {action_type!r} (expected pkg/action/Name with "
                           f"its _Goal, _SendGoal_Request... types in MESSAGES)")  # fmt: skip
        m = [MESSAGES[f"{action_type}_{n}"] for n in names]
        wires = [service_wire_type(c) for c in (*m[4:], CancelGoal_Request, CancelGoal_Response)]
        _TYPES[action_type] = ActionTypes(*m[:4], *wires)
    return _TYPES[action_type]


def _user_data(endpoint: Any) -> dict[str, str]:
    """``key=value;`` pairs of a discovered endpoint's USER_DATA (as rmw_cyclonedds writes them)."""
    policy = endpoint.qos[Policy.Userdata] if endpoint.qos is not None else None
    out = {}
    for item in (policy.data if policy is not None else b"").decode(errors="replace").split(";"):
        key, eq, value = item.partition("=")
        if eq:
            out[key] = value
    return out


def _new_id() -> str:
    """A client/service id in rmw_cyclonedds' format (16 bytes, hex, dot-separated)."""
    b = uuid.uuid4().bytes
    return f"{b[0]:02x}" + "".join(f".{x:x}" for x in b[1:])


def _matched_ids(entity: Any, key: str, readers: bool) -> list[str | None]:
    """The ``key`` USER_DATA value of each endpoint matched with ``entity`` (None: absent)."""
    handles = entity.get_matched_subscriptions() if readers else entity.get_matched_publications()
    get = entity.get_matched_subscription_data if readers else entity.get_matched_publication_data
    out: list[str | None] = []
    for h in handles:
        ep = get(h)
        if ep is not None:
            out.append(_user_data(ep).get(key))
    return out


def _service_available(request_writer: "DataWriter", reply_reader: "DataReader") -> bool:
    """rmw_cyclonedds' ``check_for_service_reader_writer``."""
    readers = _matched_ids(request_writer, "serviceid", readers=True)
    writers = _matched_ids(reply_reader, "serviceid", readers=False)
    ids = {i for i in readers if i is not None}
    if not ids:
        return bool(readers) and bool(writers)
    return any(w in ids for w in writers)


def _goal_key(goal_id: Any) -> bytes:
    return bytes(bytearray(goal_id.uuid))


class DdsActionClient:
    """A fire-and-forget client of the action ``name`` (use :meth:`DdsTransport.action_client`).

    :meth:`send_goal` writes the goal and returns; when the server accepts it, the client asks for
    the result, and ``on_result(status, result)`` (if given) is called with it from the transport's
    callback context (as subscriptions are). Goals are not cancelled: a new goal to a
    gripper_action_controller preempts the running one.
    """

    def __init__(self, transport: "DdsTransport", name: str, action_type: str) -> None:
        self.name = name
        self.types = action_types(action_type)
        self.log = logging.getLogger(f"{transport.name}.{name}")
        self._transport = transport
        topics = action_topics(name)
        self._guid = int.from_bytes(uuid.uuid4().bytes[:8], "little")
        self._seq = 0
        self._pending_goal: OrderedDict[int, tuple[bytes, Callable | None]] = OrderedDict()
        self._pending_result: OrderedDict[int, tuple[bytes, Callable | None]] = OrderedDict()
        user = f"clientid={_new_id()};".encode()
        t = self.types
        self._goal_w = transport._dds_writer(topics["send_goal_request"], t.send_goal_request, SERVICES, user)
        self._goal_r = transport._dds_reader(
            topics["send_goal_reply"], t.send_goal_response, SERVICES, self._on_goal_reply, user
        )
        self._result_w = transport._dds_writer(
            topics["get_result_request"], t.get_result_request, SERVICES, user
        )
        self._result_r = transport._dds_reader(
            topics["get_result_reply"], t.get_result_response, SERVICES, self._on_result_reply, user
        )
        self._status_r = transport._dds_reader(topics["status"], GoalStatusArray, STATUS, lambda m: None)
        self._feedback_r = transport._dds_reader(
            topics["feedback"], t.feedback_message, FEEDBACK, lambda m: None
        )

    def server_ready(self) -> bool:
        """Whether the send_goal and get_result services are available and the server publishes
        status and feedback (rclpy's ``server_is_ready`` also checks cancel_goal, unused here)."""
        try:
            return (
                _service_available(self._goal_w, self._goal_r)
                and _service_available(self._result_w, self._result_r)
                and bool(self._status_r.get_matched_publications())
                and bool(self._feedback_r.get_matched_publications())
            )
        except Exception:  # a closed transport
            return False

    def send_goal(self, goal: Any, on_result: Callable[[int, Any], None] | None = None) -> bool:
        """Send ``goal`` (an instance of ``<action_type>_Goal``) without waiting.

        Returns False, logging a warning, and drops the goal when the server is not ready (a
        request written then would be lost: the services are volatile), so a node gates on
        :meth:`server_ready` or sends again. ``on_result(status, result)``: ``status`` is an
        ``action_msgs/GoalStatus`` code (4 succeeded, 6 aborted...), ``result`` the Result message.
        """
        if not isinstance(goal, self.types.goal):
            raise TypeError(f"{self.name}: expected a {self.types.goal.__name__}, got {type(goal).__name__}")
        if not self.server_ready():
            self.log.warning(f"action server {self.name} is not ready: goal dropped")
            return False
        goal_id = uuid.uuid4().bytes
        entry = (goal_id, on_result)
        t = self.types
        self._request(
            self._pending_goal, entry, self._goal_w, t.send_goal_request, goal_id=_uuid(goal_id), goal=goal
        )
        return True

    # ----------------------------------------------------------------------------- internals

    def _request(
        self, pending: OrderedDict, entry: tuple, writer: "DataWriter", wire: type, **fields: Any
    ) -> None:
        """Write a request, noting ``entry`` under its sequence number first (a server in this
        process may reply before ``write`` returns)."""
        self._seq += 1
        pending[self._seq] = entry
        _trim(pending)
        writer.write(wire(client_guid=self._guid, sequence_number=self._seq, **fields))

    def _on_goal_reply(self, sample: Any) -> None:
        if sample.client_guid != self._guid or sample.sequence_number not in self._pending_goal:
            return
        goal_id, on_result = self._pending_goal.pop(sample.sequence_number)
        if not sample.accepted:
            self.log.warning(f"action server {self.name} rejected goal {goal_id.hex()}")
            return
        entry = (goal_id, on_result)
        self._request(
            self._pending_result, entry, self._result_w, self.types.get_result_request, goal_id=_uuid(goal_id)
        )

    def _on_result_reply(self, sample: Any) -> None:
        if sample.client_guid != self._guid or sample.sequence_number not in self._pending_result:
            return
        goal_id, on_result = self._pending_result.pop(sample.sequence_number)
        status = sample.status
        if status != STATUS_SUCCEEDED:
            self.log.warning(f"action {self.name}: goal {goal_id.hex()} ended with status {status}")
        if on_result is not None:
            on_result(status, sample.result)


class DdsActionServer:
    """An action server whose goals run to completion at once (use :meth:`DdsTransport.action_server`).

    Every goal is accepted, ``execute(goal)`` is called with it (from the transport's callback
    context, under its lock, as subscriptions are) and returns the Result message (None: a default
    one); the goal then succeeds (aborts if ``execute`` raised). For a simulator that applies the
    goal as a setpoint, such as a gripper's target opening. Cancel requests are answered (nothing is
    ever running to cancel); no feedback is published.
    """

    def __init__(
        self, transport: "DdsTransport", name: str, action_type: str, execute: Callable[[Any], Any]
    ) -> None:
        self.name = name
        self.types = action_types(action_type)
        self.log = logging.getLogger(f"{transport.name}.{name}")
        self._transport = transport
        self._execute = execute
        self._goals: OrderedDict[bytes, tuple[GoalInfo, int, Any]] = OrderedDict()
        self._replies: list[tuple[float, str | None, Any, Any]] = []  # deadline, clientid, writer, sample
        self._flushing = False
        self._result_requests: dict[bytes, list[tuple[str | None, Any]]] = {}  # goal -> get_result
        topics = action_topics(name)
        user = f"serviceid={_new_id()};".encode()
        t = self.types
        self._goal_w = transport._dds_writer(topics["send_goal_reply"], t.send_goal_response, SERVICES, user)
        self._result_w = transport._dds_writer(
            topics["get_result_reply"], t.get_result_response, SERVICES, user
        )
        self._cancel_w = transport._dds_writer(topics["cancel_goal_reply"], t.cancel_response, SERVICES, user)
        self._status_w = transport._dds_writer(topics["status"], GoalStatusArray, STATUS)
        self._feedback_w = transport._dds_writer(topics["feedback"], t.feedback_message, FEEDBACK)
        self._readers = [
            transport._dds_reader(topics[f"{s}_request"], wire, SERVICES, handler, user, with_writer=True)
            for s, wire, handler in (
                ("send_goal", t.send_goal_request, self._on_goal),
                ("get_result", t.get_result_request, self._on_get_result),
                ("cancel_goal", t.cancel_request, self._on_cancel),
            )
        ]
        transport.timer(0.01, self._flush_replies)

    # ----------------------------------------------------------------------------- handlers

    def _on_goal(self, sample: Any, clientid: str | None) -> None:
        key = _goal_key(sample.goal_id)
        info = GoalInfo(goal_id=sample.goal_id, stamp=Time())
        fill_stamp(info.stamp, self._transport.now_s())
        t = self.types
        self._goals[key] = (info, STATUS_EXECUTING, None)
        self._reply(clientid, self._goal_w, t.send_goal_response, sample, accepted=True, stamp=info.stamp)
        self._publish_status()
        try:
            result = self._execute(sample.goal)
            status = STATUS_SUCCEEDED
        except Exception:  # a simulator's bug must not take the bridge down
            self.log.exception(f"action {self.name}: execute raised")
            result, status = None, STATUS_ABORTED
        if result is None:
            result = t.result()
        self._goals[key] = (info, status, result)
        while len(self._goals) > KEEP_GOALS:
            self._goals.popitem(last=False)
        self._publish_status()
        for waiting_id, request in self._result_requests.pop(key, []):
            self._reply(
                waiting_id, self._result_w, t.get_result_response, request, status=status, result=result
            )

    def _on_get_result(self, sample: Any, clientid: str | None) -> None:
        key = _goal_key(sample.goal_id)
        entry = self._goals.get(key)
        if entry is not None and entry[1] == STATUS_EXECUTING:  # answered when it ends
            self._result_requests.setdefault(key, []).append((clientid, sample))
            return
        status, result = (entry[1], entry[2]) if entry is not None else (STATUS_UNKNOWN, self.types.result())
        self._reply(
            clientid, self._result_w, self.types.get_result_response, sample, status=status, result=result
        )

    def _on_cancel(self, sample: Any, clientid: str | None) -> None:
        key = _goal_key(sample.goal_info.goal_id)
        if key == _ZERO_ID:
            code = CancelGoal_Response.ERROR_NONE  # cancel all: nothing is running
        elif key in self._goals:
            code = CancelGoal_Response.ERROR_GOAL_TERMINATED
        else:
            code = CancelGoal_Response.ERROR_UNKNOWN_GOAL_ID
        self._reply(
            clientid, self._cancel_w, self.types.cancel_response, sample, return_code=code, goals_canceling=[]
        )

    # ----------------------------------------------------------------------------- internals

    def _publish_status(self) -> None:
        self._status_w.write(
            GoalStatusArray([GoalStatus(goal_info=info, status=s) for info, s, _ in self._goals.values()])
        )

    def _reply(self, clientid: str | None, writer: Any, wire: type, request: Any, **fields: Any) -> None:
        sample = wire(client_guid=request.client_guid, sequence_number=request.sequence_number, **fields)
        self._replies.append((time.monotonic() + REPLY_WAIT_S, clientid, writer, sample))
        self._flush_replies()

    def _flush_replies(self) -> None:
        """Write the replies whose client's reply reader is matched (rmw_cyclonedds'
        ``check_for_response_reader``); drop those that waited longer than :data:`REPLY_WAIT_S`.

        Not reentrant: Cyclone delivers a sample to a reader in the same process from inside
        ``write``, so a client here can send its next request (and this server queue its reply)
        before the write returns; that reply is written by the loop below, after it."""
        if self._flushing or not self._replies:
            return
        self._flushing = True
        try:
            waiting: list[tuple[float, str | None, Any, Any]] = []
            while self._replies:
                todo, self._replies = self._replies, []
                now = time.monotonic()
                for deadline, clientid, writer, sample in todo:
                    if clientid is None or clientid in _matched_ids(writer, "clientid", readers=True):
                        writer.write(sample)
                    elif now < deadline:
                        waiting.append((deadline, clientid, writer, sample))
                    else:
                        self.log.warning(
                            f"action {self.name}: client {clientid} never matched; reply dropped"
                        )
            self._replies = waiting
        finally:
            self._flushing = False


def _uuid(b: bytes) -> Any:
    return MESSAGES["unique_identifier_msgs/msg/UUID"](uuid=list(b))


def _trim(pending: OrderedDict, most: int = 64) -> None:
    while len(pending) > most:
        pending.popitem(last=False)
