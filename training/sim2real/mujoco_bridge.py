"""What the MuJoCo sim bridges of the joint-target domains (the arm, the dexterous hand) share:
one world stepped with ``mj_step`` and published over a transport with the ROS 2 wire conventions.

:class:`MujocoBridge` holds the simulated clock (continuous across episodes, published on
``/clock`` every physics step), the episode start from a training world's state, the queue of
delayed perception messages, pacing, and the count of refused commands. A domain's bridge adds its
topics, its commands and its episode bookkeeping.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import mujoco
import numpy as np

from sim2real_ros.convert import fill_header
from sim2real_ros.transport import QoS, Transport, fill_stamp, run_paced

CLOCK_QOS = QoS(reliable=True, depth=1)
"""/clock as the other bridges publish it: reliable, keep last 1."""
MSG_TYPES = ("rosgraph_msgs/msg/Clock", "sensor_msgs/msg/JointState", "geometry_msgs/msg/PoseStamped")


def steps_per_message(rate_hz: float, dt: float) -> int:
    """Physics steps (of ``dt`` s) between two messages at ``rate_hz`` (at least 1).

    Raises:
        ValueError: the rate is not > 0.
    """
    if not rate_hz > 0:
        raise ValueError(f"publishing rates must be > 0 Hz, got {rate_hz}")
    return max(1, round(1.0 / (rate_hz * dt)))


class MujocoBridge:
    """One MuJoCo world publishing through ``transport``; the base of a domain's sim bridge.

    Args:
        transport: normally a :class:`~sim2real_ros.dds.DdsTransport`.
        model: the world's model (one of the training worlds' models).
        real_time_factor: simulated seconds per wall-clock second in :meth:`run` (0: max).
    """

    def __init__(self, transport: Transport, model: mujoco.MjModel, real_time_factor: float) -> None:
        self.t = transport
        self.model = model
        self.data = mujoco.MjData(model)
        self.dt = float(model.opt.timestep)
        self.real_time_factor = real_time_factor
        self.clock_s = 0.0  # simulated time, continuous across episodes
        self.commands_received = 0
        self.commands_refused = 0
        self._k = 0
        self._offset_s = 0.0
        self._pending: deque[tuple[int, Any]] = deque()
        """(physics step due, message): perception output published after its latency."""
        self._cls = {n: transport.msg(n) for n in MSG_TYPES}
        self.pub_clock = transport.publisher("/clock", "rosgraph_msgs/msg/Clock", CLOCK_QOS)

    def load_state(self, state: np.ndarray, ctrl: np.ndarray, spec: int) -> None:
        """Start an episode from a training world's full physics ``state`` (``spec``) and ``ctrl``:
        the physics step count and the delayed messages start afresh, the clock goes on."""
        mujoco.mj_resetData(self.model, self.data)
        mujoco.mj_setState(self.model, self.data, state, spec)
        self.data.ctrl[:] = ctrl
        mujoco.mj_forward(self.model, self.data)
        self._k = 0
        self._offset_s = self.clock_s
        self._pending.clear()

    def physics_step(self) -> int:
        """One ``mj_step`` with the controls in force; the clock advances and is published.
        Returns the episode's physics step count."""
        self._k += 1
        mujoco.mj_step(self.model, self.data)
        self.clock_s = self._offset_s + self._k * self.dt
        self._publish_clock()
        return self._k

    def advance(self) -> None:
        """One physics step and whatever is due for publication (the domain's)."""
        raise NotImplementedError

    def run(self, until: Callable[[], bool], real_time_factor: float | None = None) -> None:
        """Step and publish until ``until()`` is true, paced to the real-time factor."""
        rtf = self.real_time_factor if real_time_factor is None else real_time_factor
        run_paced(self.t, self.advance, lambda: self.clock_s, until, rtf)

    def _refuse(self, what: str) -> None:
        self.commands_refused += 1
        n = self.commands_refused
        if n == 1 or n % 100 == 0:
            self.t.log.error(f"refused {what} ({n} so far); keeping the last good command")

    def _publish_clock(self) -> None:
        msg = self._cls["rosgraph_msgs/msg/Clock"]()
        fill_stamp(msg.clock, self.clock_s)
        self.pub_clock.publish(msg)

    def _pose_msg(self, pos: Any, quat: Any, frame: str) -> Any:
        """A PoseStamped stamped now in ``frame``: position [3] (m), quaternion [4] (w, x, y, z)."""
        msg = self._cls["geometry_msgs/msg/PoseStamped"]()
        fill_header(msg.header, self.clock_s, frame)
        p, o = msg.pose.position, msg.pose.orientation
        p.x, p.y, p.z = (float(v) for v in pos)
        o.w, o.x, o.y, o.z = (float(v) for v in quat)
        return msg

    def _delay(self, msg: Any, steps: int) -> None:
        """Publish ``msg`` ``steps`` physics steps from now (through :meth:`_flush`)."""
        self._pending.append((self._k + steps, msg))

    def _flush(self, pub: Any, force: bool = False) -> None:
        """Publish on ``pub`` the delayed messages that are due (all with ``force``)."""
        q = self._pending
        while q and (force or q[0][0] <= self._k):
            pub.publish(q.popleft()[1])
