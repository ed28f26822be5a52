"""The hand MuJoCo sim bridge: what a LEAP Hand (its driver plus ``hardware/leap_hand``'s joint
state adapter) and a cube tracker would publish, over DDS with the ROS 2 wire conventions.

One world of ``sim_assets/leap_hand/leap_hand.xml`` (``mj_step`` at the scene's 10 ms), started by
:meth:`HandWorlds.reset <sim2real.hand.env.HandWorlds.reset>` (the training's randomisation of the
cube, friction, gains, damping, armature and start pose).

Publishes ``/joint_states`` (sensor_msgs/JointState, the 16 joints by name in the simulation's
zero, with noise, at ``joint_state_rate_hz``), ``/cube_pose`` (PoseStamped in the palm frame, noise,
stamped at capture and published ``cube_latency_s`` later), ``/goal_pose`` (the goal orientation,
PoseStamped in the palm frame; reorient draws a new one when reached) and ``/clock``.

Obeys ``/cmd_leap`` (sensor_msgs/JointState, 16 positions in the LEAP driver's order and zero, as
the real driver reads them: converted with :meth:`HandDescription.from_hardware`) or, with
``command_interface="forward"``, std_msgs/Float64MultiArray on ``/<controller>/commands`` in the
simulation's order. A malformed or non-finite command is refused and counted; the servos keep
the last good one (as the Dynamixels do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim2real_ros.convert import fill_header
from sim2real_ros.transport import DEFAULT, SENSOR_DATA, Transport
from sim2real_runtime.hand_model import load_hand
from sim2real_runtime.hand_terms import orientation_error_rad
from sim2real_runtime.rotations import quat_mul

from ..mujoco_bridge import MujocoBridge, steps_per_message
from .config import ASSETS, HOME_POSE_RAD, HandRandomization, HandTaskConfig
from .env import STATE_SPEC, HandWorlds, N, random_quats


@dataclass(frozen=True)
class HandBridgeConfig:
    """Interfaces, rates, delays and noise of the simulated hand and cube tracker."""

    task: str = "rotate_z"
    command_interface: str = "leap"
    """``leap`` (JointState on ``leap_command_topic``, driver order and zero) or ``forward``."""
    leap_command_topic: str = "/cmd_leap"
    controller: str = "hand_controller"
    palm_frame: str = "palm"
    joint_state_rate_hz: float = 100.0
    cube_pose_rate_hz: float = 20.0
    cube_latency_s: float = 0.05
    goal_rate_hz: float = 5.0
    noise: bool = True
    joint_noise_std_rad: float = 0.01
    cube_pos_noise_std_m: float = 0.002
    success_tolerance_rad: float = HandTaskConfig.success_tolerance_rad
    real_time_factor: float = 1.0


def command_periods(times_s: list[float], rate_hz: float = 20.0) -> dict[str, Any]:
    """Intervals between commands (simulated s): mean, largest, and how many were missed (a gap
    longer than 1.5 periods counts ``round(gap / period) - 1`` missed periods)."""
    if len(times_s) < 2:
        return {"command_period_mean_s": None, "command_period_max_s": None, "missed_periods": 0}
    gaps = np.diff(np.asarray(times_s))
    period = 1.0 / rate_hz
    missed = int(sum(round(g / period) - 1 for g in gaps if g > 1.5 * period))
    return {
        "command_period_mean_s": round(float(gaps.mean()), 5),
        "command_period_max_s": round(float(gaps.max()), 5),
        "missed_periods": missed,
        "expected_periods": int(round((times_s[-1] - times_s[0]) / period)),
    }


class HandSimBridge(MujocoBridge):
    """One simulated LEAP Hand + cube publishing and subscribing through ``transport``."""

    def __init__(self, transport: Transport, config: HandBridgeConfig = HandBridgeConfig()) -> None:
        c = config
        if c.command_interface not in ("leap", "forward"):
            raise ValueError(
                f"HandBridgeConfig.command_interface: 'leap' or 'forward', not {c.command_interface!r}"
            )
        self.cfg = c
        self.hand = load_hand(ASSETS / "hand.yaml")
        self.worlds = HandWorlds(1, threads=1)
        super().__init__(transport, self.worlds.models[0], c.real_time_factor)
        self.lower, self.upper = self.hand.lower, self.hand.upper
        self.js_every = steps_per_message(c.joint_state_rate_hz, self.dt)
        self.cube_every = steps_per_message(c.cube_pose_rate_hz, self.dt)
        self.goal_every = steps_per_message(c.goal_rate_hz, self.dt)
        self.cube_delay = round(c.cube_latency_s / self.dt)
        self.command_times_s: list[float] = []
        """Simulated time of every accepted command (the node's period, as the hand sees it)."""
        self.pub_js = transport.publisher("/joint_states", "sensor_msgs/msg/JointState", SENSOR_DATA)
        self.pub_cube = transport.publisher("/cube_pose", "geometry_msgs/msg/PoseStamped", SENSOR_DATA)
        self.pub_goal = transport.publisher("/goal_pose", "geometry_msgs/msg/PoseStamped", DEFAULT)
        self.reset()
        if c.command_interface == "leap":
            transport.subscribe(c.leap_command_topic, "sensor_msgs/msg/JointState", DEFAULT, self._on_leap)
        else:
            topic = f"/{c.controller.strip('/')}/commands"
            transport.subscribe(topic, "std_msgs/msg/Float64MultiArray", DEFAULT, self._on_forward)

    # ----------------------------------------------------------------------------- episodes

    def reset(self, seed: int = 0) -> None:
        """A new episode drawn as training draws one (seed)."""
        rng = np.random.default_rng(seed)
        w = self.worlds
        w.reset(np.array([0]), rng, HandRandomization(), np.asarray(HOME_POSE_RAD))
        self.load_state(w.state[0], w.ctrl[0], STATE_SPEC)
        self._rng = rng
        self.goal = random_quats(rng, 1)[0]
        self.goals_reached = 0
        self.turn_rad = 0.0
        self._last_quat = self.data.qpos[N + 3 : N + 7].copy()
        self.dropped = False
        self.episode_start_s: float | None = None
        self._publish_clock()
        self._publish_joint_states()
        self._capture_cube()
        self._flush(self.pub_cube, force=True)
        self._publish_goal()

    @property
    def cube_pos(self) -> np.ndarray:
        return self.data.qpos[N : N + 3].copy()

    @property
    def cube_quat(self) -> np.ndarray:
        return self.data.qpos[N + 3 : N + 7].copy()

    def status(self) -> dict[str, Any]:
        t_ep = None if self.episode_start_s is None else self.clock_s - self.episode_start_s
        return {
            "time_s": round(self.clock_s, 4),
            "episode_time_s": None if t_ep is None else round(t_ep, 4),
            "turn_rad": round(self.turn_rad, 4),
            "angvel_radps": None if not t_ep else round(self.turn_rad / t_ep, 4),
            "dropped": self.dropped,
            "goals_reached": self.goals_reached,
            "commands_received": self.commands_received,
            "commands_refused": self.commands_refused,
            **command_periods(self.command_times_s),
        }

    def advance(self) -> None:
        """One physics step with the targets in force, then whatever is due for publication."""
        k = self.physics_step()
        if k % self.js_every == 0:
            self._publish_joint_states()
        if k % self.cube_every == 0:
            self._capture_cube()
        self._flush(self.pub_cube)
        if k % self.goal_every == 0:
            self._publish_goal()
        if k % 5 == 0:
            self._track()

    def _track(self) -> None:
        """Turn about the palm normal, drops and goals (every 50 ms)."""
        q = self.cube_quat
        dq = quat_mul(q, self._last_quat * np.array([1.0, -1.0, -1.0, -1.0]))
        dq = dq if dq[0] >= 0 else -dq
        s = float(np.linalg.norm(dq[1:]))
        rotvec = dq[1:] * (2 * math.atan2(s, dq[0]) / s if s > 1e-12 else 2.0)
        if self.episode_start_s is not None and not self.dropped:
            self.turn_rad += float(rotvec @ self.worlds.palm_normal)
        self._last_quat = q
        rest = self.worlds.palm_center + self.worlds.half_size[0] * self.worlds.palm_normal
        if not self.dropped and np.linalg.norm(self.cube_pos - rest) > HandTaskConfig.drop_distance_m:
            self.dropped = True
            self.t.log.info(f"the cube dropped at t = {self.clock_s:.2f} s after {self.turn_rad:.2f} rad")
        if self.cfg.task == "reorient" and not self.dropped:
            err = orientation_error_rad(q[None], self.goal[None])[0]
            if err < self.cfg.success_tolerance_rad:
                self.goals_reached += 1
                self.goal = random_quats(self._rng, 1)[0]
                self._publish_goal()

    # ----------------------------------------------------------------------------- commands

    def _apply(self, q_sim: np.ndarray) -> None:
        if not np.all(np.isfinite(q_sim)):
            self._refuse("a non-finite hand command")
            return
        self.data.ctrl[:] = np.clip(q_sim, self.lower, self.upper)
        self.commands_received += 1
        self.command_times_s.append(self.clock_s)
        if self.episode_start_s is None:
            self.episode_start_s = self.clock_s
            self.t.log.info(f"first hand command at t = {self.clock_s:.3f} s: the episode starts")

    def _on_leap(self, msg: Any) -> None:
        pos = list(msg.position)
        if len(pos) != N:
            self._refuse(f"a cmd_leap of {len(pos)} positions (expected {N}, the driver's order)")
            return
        self._apply(self.hand.from_hardware(np.asarray(pos, dtype=np.float64)))

    def _on_forward(self, msg: Any) -> None:
        data = list(msg.data)
        if len(data) != N:
            self._refuse(f"a command of {len(data)} values (expected {N})")
            return
        self._apply(np.asarray(data, dtype=np.float64))

    # ----------------------------------------------------------------------------- messages

    def _publish_joint_states(self) -> None:
        noise = self.cfg.joint_noise_std_rad if self.cfg.noise else 0.0
        pos = self.data.qpos[:N] + self._rng.normal(0.0, noise, N)
        msg = self._cls["sensor_msgs/msg/JointState"]()
        fill_header(msg.header, self.clock_s, "")
        msg.name = list(self.hand.joint_names)
        msg.position = [float(v) for v in pos]
        msg.velocity = [float(v) for v in self.data.qvel[:N]]
        msg.effort = [float(v) for v in self.data.actuator_force[:N]]
        self.pub_js.publish(msg)

    def _capture_cube(self) -> None:
        noise = self.cfg.cube_pos_noise_std_m if self.cfg.noise else 0.0
        p, q = self.worlds.to_palm(self.cube_pos[None], self.cube_quat[None])
        msg = self._pose_msg(p[0] + self._rng.normal(0.0, noise, 3), q[0], self.cfg.palm_frame)
        self._delay(msg, self.cube_delay)

    def _publish_goal(self) -> None:
        _, q = self.worlds.to_palm(np.zeros((1, 3)), self.goal[None])
        self.pub_goal.publish(self._pose_msg(np.zeros(3), q[0], self.cfg.palm_frame))
