"""The small transport interface every sim2real node is written against.

Two adapters implement it: :class:`sim2real_ros.ros.RclpyTransport` where ROS 2 is installed (what
``ros2 launch`` uses on a robot) and :class:`sim2real_ros.dds.DdsTransport` everywhere else (Eclipse
Cyclone DDS speaking the ROS 2 wire conventions, so a ROS 2 graph sees the same topics). A node only
ever calls what is defined here; messages are built with :meth:`Transport.msg` and read by field
name, which rclpy's classes and :mod:`sim2real_ros.msgs` share.

Time: :meth:`Transport.now_s` is the node's clock (the simulator's ``/clock`` when ``use_sim_time``
is set, the system clock otherwise), for stamps and for anything measured in simulated seconds.
Timers and :meth:`Transport.monotonic_s` always run on the host's steady clock: a watchdog must keep
firing when the simulator, and with it ``/clock``, has died.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class QoS:
    """A ROS 2 QoS profile (the subset the nodes use).

    Attributes:
        reliable: RELIABLE (True) or BEST_EFFORT (False). A reliable reader never matches a
            best-effort writer, so sensor topics are read best effort.
        depth: KEEP_LAST history depth (messages).
        transient_local: TRANSIENT_LOCAL durability (late joiners get the last messages, as
            ``/tf_static`` needs) instead of VOLATILE.
    """

    reliable: bool = True
    depth: int = 10
    transient_local: bool = False


SENSOR_DATA = QoS(reliable=False, depth=5)
"""rclpy's ``qos_profile_sensor_data``: best effort, keep last 5, volatile."""
DEFAULT = QoS(reliable=True, depth=10)
"""ROS 2's default profile: reliable, keep last 10, volatile."""
LATCHED = QoS(reliable=True, depth=1, transient_local=True)
"""Reliable, keep last 1, transient local: ``/tf_static`` and other latched topics."""
CLOCK = QoS(reliable=False, depth=1)
"""How rclpy's time source reads ``/clock``."""


class Publisher(Protocol):
    def publish(self, msg: Any) -> None: ...

    def subscriber_count(self) -> int:
        """Subscriptions currently matched with this publisher (DDS: matched readers; rclpy:
        ``Publisher.get_subscription_count()``). A node waits for one where the first commands
        must not be lost (reliable but volatile topics drop what no one has matched yet)."""
        ...


class Logger(Protocol):
    def info(self, msg: str) -> Any: ...
    def warning(self, msg: str) -> Any: ...
    def error(self, msg: str) -> Any: ...


class ActionClient(Protocol):
    """A fire-and-forget ROS 2 action client (from :meth:`Transport.action_client`)."""

    def server_ready(self) -> bool:
        """Whether the action server is discovered (rclpy: ``ActionClient.server_is_ready()``)."""
        ...

    def send_goal(self, goal: Any, on_result: Callable[[int, Any], None] | None = None) -> bool:
        """Send ``goal``, an instance of ``transport.msg("<pkg>/action/<Name>_Goal")``, without
        waiting. Returns False, with a warning logged, and drops the goal when the server is not
        ready; a node gates on :meth:`server_ready` or sends again. ``on_result(status, result)``,
        if given, is called from :meth:`Transport.spin_once`'s context once the goal ends:
        ``status`` an ``action_msgs/msg/GoalStatus`` code (4: succeeded, 5: canceled, 6: aborted),
        ``result`` the ``<Name>_Result`` message."""
        ...


class Transport(Protocol):
    """What a node may use: publishers, subscriptions, steady timers, clocks, a logger, actions.

    Message type names: ``pkg/msg/Name`` for messages; an action's messages are
    ``pkg/action/<Action>_Goal``, ``_Result`` and ``_Feedback`` (rosidl's names: for example
    ``control_msgs/action/GripperCommand_Goal``, whose ``command.position`` (m) and
    ``command.max_effort`` (N) a gripper_action_controller reads).
    """

    name: str
    log: Logger

    def msg(self, ros_type: str) -> type:
        """The message class of a ROS 2 type name such as ``"sensor_msgs/msg/LaserScan"``."""
        ...

    def publisher(self, topic: str, ros_type: str, qos: QoS) -> Publisher:
        """A publisher on ``topic`` (a ROS name such as ``/cmd_vel``)."""
        ...

    def subscribe(self, topic: str, ros_type: str, qos: QoS, callback: Callable[[Any], None]) -> None:
        """Call ``callback(msg)`` from :meth:`spin_once` for every message received on ``topic``."""
        ...

    def timer(self, period_s: float, callback: Callable[[], None]) -> None:
        """Call ``callback()`` every ``period_s`` seconds of the host's steady clock."""
        ...

    def publisher_types(self, topic: str) -> set[str]:
        """ROS 2 type names that other participants publish on ``topic`` (from discovery)."""
        ...

    def watch_parameter(self, name: str, callback: Callable[[float], str | None]) -> None:
        """Call ``callback(value)`` when the number parameter ``name`` is set at run time; it
        returns None to accept or the reason to refuse. rclpy: ``ros2 param set <node> <name> v``;
        DDS (no parameter services): std_msgs/Float64 on ``/<node>/set_parameter/<name>``."""
        ...

    def action_client(self, name: str, action_type: str) -> ActionClient:
        """A client of the action ``name`` (a ROS name such as ``/gripper/gripper_cmd``) of type
        ``action_type`` (such as ``control_msgs/action/GripperCommand``)."""
        ...

    def action_server(self, name: str, action_type: str, execute: Callable[[Any], Any]) -> Any:
        """Serve the action ``name``: accept every goal, call ``execute(goal)`` at once (from
        :meth:`spin_once`'s context) and succeed with the ``<Name>_Result`` it returns (None: a
        default one; an exception aborts the goal). For simulators that apply a goal as a
        setpoint; not for long-running goals."""
        ...

    def now_s(self) -> float:
        """The node clock (s): simulated time under ``use_sim_time``, else the system clock."""
        ...

    def monotonic_s(self) -> float:
        """The host's steady clock (s)."""
        ...

    def spin_once(self, timeout_s: float) -> None:
        """Deliver pending messages and due timers, waiting at most ``timeout_s``."""
        ...

    def close(self) -> None: ...


def spin(transport: Transport, until: Callable[[], bool] | None = None, max_wait_s: float = 0.1) -> None:
    """Run ``transport`` until ``until()`` is true (forever if None) or KeyboardInterrupt."""
    try:
        while until is None or not until():
            transport.spin_once(max_wait_s)
    except KeyboardInterrupt:
        pass


def stamp_to_s(stamp: Any) -> float:
    """``builtin_interfaces/Time`` -> seconds (float)."""
    return stamp.sec + 1e-9 * stamp.nanosec


def fill_stamp(stamp: Any, t_s: float) -> None:
    """Write ``t_s`` seconds into a ``builtin_interfaces/Time`` in place (sec, nanosec >= 0)."""
    ns = round(t_s * 1e9)
    stamp.sec, stamp.nanosec = divmod(ns, 1_000_000_000)


def run_paced(
    transport: Transport,
    advance: Callable[[], None],
    sim_time_s: Callable[[], float],
    until: Callable[[], bool],
    real_time_factor: float,
) -> None:
    """A simulator's main loop: ``advance()`` one physics step at a time until ``until()``, paced
    so that simulated time runs ``real_time_factor`` times the wall clock (0: as fast as it can),
    serving the transport's timers and messages while it waits."""
    wall0, sim0 = time.monotonic(), sim_time_s()
    while not until():
        transport.spin_once(0.0)
        if real_time_factor > 0:
            while (ahead := (sim_time_s() - sim0) / real_time_factor - (time.monotonic() - wall0)) > 5e-4:
                transport.spin_once(ahead)
        advance()
