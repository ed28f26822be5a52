"""The arm MuJoCo sim bridge: what a ros2_control arm + gripper and a perception node would publish,
over DDS with the ROS 2 wire conventions.

One world of ``sim_assets/panda/pick_place.xml`` (plain ``mujoco.MjData`` + ``mj_step`` at the
scene's 5 ms), started by :meth:`ArmWorlds.reset <sim2real.manip.mujoco_arm.ArmWorlds.reset>` (the
same per-episode randomisation of the cube's size, mass, friction and pose, and of the arm's start
pose, that training uses).

Publishes:

- ``/joint_states`` (sensor_msgs/JointState, as joint_state_broadcaster): the 7 arm joints and the
  two finger joints (``panda_finger_joint1/2``, each half the pad-to-pad width), position,
  velocity and effort (the actuators' generalised forces), with Gaussian noise, at
  ``joint_state_rate_hz``; best effort as the node reads it;
- the object pose as a perception node would (geometry_msgs/PoseStamped of the cube in
  ``panda_link0``, position and yaw noise, stamped at capture and published ``object_latency_s``
  later) at ``object_pose_rate_hz``;
- the target on ``/target_pose`` (PoseStamped in ``panda_link0``; for reach its yaw in the
  orientation), at ``target_rate_hz`` (the topic is volatile: a late node gets it within a period;
  the node's hold commands before then already start the episode clock);
- ``/clock`` every physics step.

Obeys (the arm holds its last command, as ros2_control position controllers do):

- ``forward``: std_msgs/Float64MultiArray of 7 joint positions on ``/<arm_controller>/commands``;
  the servo targets ramp from where they are to the new ones over ``command_ramp_s`` (one control
  period, as :meth:`ArmWorlds.step` interpolates in training);
- ``trajectory``: trajectory_msgs/JointTrajectory on ``/<arm_controller>/joint_trajectory``,
  joints matched by name; the ramp reaches the last point at its ``time_from_start``;
- gripper ``forward``: Float64MultiArray ``[width / 2]`` (panda_finger_joint1, the second finger
  mimics; ``[w1, w2]`` per finger is also taken) on ``/<gripper_controller>/commands``; ``action``:
  control_msgs/action/GripperCommand on ``/<gripper_controller>/gripper_cmd`` (``position`` =
  width / 2, applied at once; the goal succeeds when sent, not when the fingers arrive).

A malformed or non-finite command is refused (logged, the last one kept). Commands outside the
joint limits are applied as MuJoCo's ctrlrange clips them and counted in :meth:`ManipSimBridge.status`.

Episodes: the clock of an episode starts at the first arm command (the node may take seconds to
come up); it ends in ``success`` (the cube's centre within ``success_tolerance_m`` of the target,
or for reach the TCP and its yaw), ``dropped`` (the cube left the table) or ``timeout``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim2real_ros.convert import fill_header
from sim2real_ros.transport import DEFAULT, SENSOR_DATA, Transport

from ..mujoco_bridge import MujocoBridge, steps_per_message
from .config import ManipRandomization, ManipTaskConfig
from .env import BASE_LINK, cube_dropped, panda_chain, sample_targets, task_success
from .mujoco_arm import N_ARM, STATE_SPEC, ArmWorlds

FINGER_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
MAX_WIDTH_M = 0.08
GRIPPER_ACTION = "control_msgs/action/GripperCommand"


@dataclass(frozen=True)
class ArmBridgeConfig:
    """Interfaces, rates, delays and noise of the simulated arm, gripper and perception."""

    task: str = "pick_place"
    """``pick_place`` or ``reach``: what the target means and when an episode succeeds."""
    command_interface: str = "forward"
    """``forward`` (Float64MultiArray on /<arm_controller>/commands) or ``trajectory``
    (JointTrajectory on /<arm_controller>/joint_trajectory)."""
    arm_controller: str = "arm_controller"
    gripper_interface: str = "forward"
    """``forward`` (Float64MultiArray on /<gripper_controller>/commands) or ``action``
    (GripperCommand on /<gripper_controller>/gripper_cmd)."""
    gripper_controller: str = "gripper_controller"
    base_frame: str = BASE_LINK
    joint_state_rate_hz: float = 100.0
    object_pose_rate_hz: float = 25.0
    """Perception rate (Hz)."""
    object_latency_s: float = 0.04
    """From capture (the stamp) to publication (s); training draws 0-2 control steps (0-80 ms)."""
    object_pos_noise_std_m: float = 0.004
    object_yaw_noise_std_rad: float = 0.05
    joint_pos_noise_std_rad: float = 0.002
    joint_vel_noise_std_radps: float = 0.02
    command_ramp_s: float = 0.04
    """forward: a new arm command is reached after this long (one 25 Hz control period)."""
    target_rate_hz: float = 5.0
    episode_time_s: float = ManipTaskConfig.episode_time_s
    """Simulated seconds from the first arm command to a timeout."""
    success_tolerance_m: float = ManipTaskConfig.success_tolerance_m
    reach_yaw_tolerance_rad: float = ManipTaskConfig.reach_yaw_tolerance_rad
    real_time_factor: float = 1.0
    """Simulated seconds per wall-clock second; 0 = as fast as possible."""


def sample_target(task: str, rng: np.random.Generator, cube_half_m: float) -> tuple[np.ndarray, float]:
    """A target position (m, base frame) and yaw (rad), drawn as the training environment draws
    them (:func:`sim2real.manip.env.sample_targets`)."""
    pos, yaw = sample_targets(task, rng, np.array([cube_half_m]), ManipRandomization())
    return pos[0], float(yaw[0])


class ManipSimBridge(MujocoBridge):
    """One simulated Panda + cube publishing and subscribing through ``transport``.

    Args:
        transport: normally a :class:`~sim2real_ros.dds.DdsTransport`.
        config: interfaces, rates, delays, noise.
    """

    def __init__(self, transport: Transport, config: ArmBridgeConfig = ArmBridgeConfig()) -> None:
        c = config
        if c.task not in ("pick_place", "reach"):
            raise ValueError(f"ArmBridgeConfig.task must be 'pick_place' or 'reach', got {c.task!r}")
        if c.command_interface not in ("forward", "trajectory"):
            raise ValueError(
                f"ArmBridgeConfig.command_interface: 'forward' or 'trajectory', not {c.command_interface!r}"
            )
        if c.gripper_interface not in ("forward", "action"):
            raise ValueError(
                f"ArmBridgeConfig.gripper_interface: 'forward' or 'action', not {c.gripper_interface!r}"
            )
        self.cfg = c
        self.worlds = ArmWorlds(1, threads=1)
        super().__init__(transport, self.worlds.models[0], c.real_time_factor)
        self.chain = panda_chain()
        self.joint_names = tuple(self.model.joint(i).name for i in range(N_ARM))
        self.lower = self.model.jnt_range[:N_ARM, 0].copy()
        self.upper = self.model.jnt_range[:N_ARM, 1].copy()
        self.js_every = steps_per_message(c.joint_state_rate_hz, self.dt)
        self.obj_every = steps_per_message(c.object_pose_rate_hz, self.dt)
        self.target_every = steps_per_message(c.target_rate_hz, self.dt)
        self.obj_delay = round(c.object_latency_s / self.dt)
        self.commands_out_of_limits = 0
        self.gripper_commands = 0
        self.pub_js = transport.publisher("/joint_states", "sensor_msgs/msg/JointState", SENSOR_DATA)
        self.pub_object = transport.publisher("/object_pose", "geometry_msgs/msg/PoseStamped", DEFAULT)
        self.pub_target = transport.publisher("/target_pose", "geometry_msgs/msg/PoseStamped", DEFAULT)
        self.reset()
        # Last: a transport may deliver from its own thread as soon as the subscription exists.
        arm = "/" + c.arm_controller.strip("/")
        if c.command_interface == "forward":
            transport.subscribe(
                f"{arm}/commands", "std_msgs/msg/Float64MultiArray", DEFAULT, self._on_forward
            )
        else:
            transport.subscribe(
                f"{arm}/joint_trajectory", "trajectory_msgs/msg/JointTrajectory", DEFAULT, self._on_trajectory
            )
        grip = "/" + c.gripper_controller.strip("/")
        self.gripper_server: Any = None
        if c.gripper_interface == "forward":
            transport.subscribe(
                f"{grip}/commands", "std_msgs/msg/Float64MultiArray", DEFAULT, self._on_gripper
            )
        else:
            self._result_cls = transport.msg("control_msgs/action/GripperCommand_Result")
            self.gripper_server = transport.action_server(
                f"{grip}/gripper_cmd", GRIPPER_ACTION, self._on_gripper_goal
            )

    # ----------------------------------------------------------------------------- episodes

    def reset(
        self,
        seed: int = 0,
        target_m: tuple[float, float, float] | None = None,
        target_yaw_rad: float | None = None,
    ) -> None:
        """A new episode: the cube and the arm's start as training draws them (seed), the target
        given or drawn; commands and the episode clock start afresh."""
        rng = np.random.default_rng(seed)
        w = self.worlds
        w.reset(np.array([0]), rng, ManipRandomization())
        self.half_size_m = float(w.half_size[0])
        self.load_state(w.state[0], w.ctrl[0], STATE_SPEC)
        pos, yaw = sample_target(self.cfg.task, rng, self.half_size_m)
        self.target_m = np.asarray(target_m, dtype=np.float64) if target_m is not None else pos
        self.target_yaw_rad = float(target_yaw_rad) if target_yaw_rad is not None else yaw
        self._rng = rng
        # The arm's servo ramp: (start ctrl, end ctrl, start time, duration); one tuple, swapped whole.
        q0 = self.data.ctrl[:N_ARM].copy()
        self._ramp = (q0, q0, self.clock_s, 0.0)
        self.episode_start_s: float | None = None
        self.outcome: str | None = None
        self.outcome_s: float | None = None
        self._publish_clock()
        self._publish_joint_states()
        self._capture_object()
        self._flush(self.pub_object, force=True)
        self._publish_target()

    @property
    def joint_pos(self) -> np.ndarray:
        return self.data.qpos[:N_ARM].copy()

    @property
    def gripper_width_m(self) -> float:
        return float(self.data.qpos[N_ARM] + self.data.qpos[N_ARM + 1])

    @property
    def object_pos(self) -> np.ndarray:
        return self.data.qpos[9:12].copy()

    def distance_m(self) -> float:
        """Cube (pick_place) or TCP (reach) to the target (m)."""
        if self.cfg.task == "reach":
            return float(np.linalg.norm(self.chain.forward(self.joint_pos[None])[0][0] - self.target_m))
        return float(np.linalg.norm(self.object_pos - self.target_m))

    def _success(self) -> bool:
        c = self.cfg
        return bool(
            task_success(
                c.task, self.chain, self.joint_pos[None], self.object_pos[None], self.target_m[None],
                np.array([self.target_yaw_rad]), c.success_tolerance_m, c.reach_yaw_tolerance_rad,
            )[0]
        )  # fmt: skip

    def status(self) -> dict[str, Any]:
        """Simulated time, episode time and outcome, the task's distance, and command counts."""
        t_ep = None if self.episode_start_s is None else round(self.clock_s - self.episode_start_s, 4)
        return {
            "task": self.cfg.task,
            "time_s": round(self.clock_s, 4),
            "episode_time_s": t_ep,
            "outcome": self.outcome,
            "outcome_time_s": self.outcome_s,
            "distance_m": round(self.distance_m(), 5),
            "target_m": [round(float(v), 5) for v in self.target_m],
            "target_yaw_rad": round(self.target_yaw_rad, 5),
            "object_m": [round(float(v), 5) for v in self.object_pos],
            "gripper_width_m": round(self.gripper_width_m, 5),
            "joint_pos_rad": [round(float(v), 5) for v in self.joint_pos],
            "commands_received": self.commands_received,
            "commands_refused": self.commands_refused,
            "commands_out_of_limits": self.commands_out_of_limits,
            "gripper_commands": self.gripper_commands,
        }

    # ----------------------------------------------------------------------------- stepping

    def advance(self) -> None:
        """One physics step with the commands in force, then whatever is due for publication."""
        start, end, t0, dur = self._ramp
        frac = 1.0 if dur <= 0 else min(max((self.clock_s + self.dt - t0) / dur, 0.0), 1.0)
        self.data.ctrl[:N_ARM] = start + frac * (end - start)
        k = self.physics_step()
        if k % self.js_every == 0:
            self._publish_joint_states()
        if k % self.obj_every == 0:
            self._capture_object()
        self._flush(self.pub_object)
        if k % self.target_every == 0:
            self._publish_target()
        if self.outcome is None and self.episode_start_s is not None:
            if self._success():
                self.outcome = "success"
            elif not np.all(np.isfinite(self.data.qpos)) or cube_dropped(self.object_pos[None])[0]:
                self.outcome = "dropped"
            elif self.clock_s - self.episode_start_s >= self.cfg.episode_time_s:
                self.outcome = "timeout"
            if self.outcome is not None:
                self.outcome_s = round(self.clock_s - self.episode_start_s, 4)
                self.t.log.info(
                    f"episode: {self.outcome} after {self.outcome_s:.2f} s, {self.distance_m():.3f} m to go"
                )

    # ----------------------------------------------------------------------------- commands

    def _apply_arm(self, q: np.ndarray, duration_s: float) -> None:
        if not np.all(np.isfinite(q)):
            self._refuse("a non-finite arm command")
            return
        if np.any(q < self.lower - 1e-9) or np.any(q > self.upper + 1e-9):
            self.commands_out_of_limits += 1
        now = self.clock_s
        self._ramp = (self.data.ctrl[:N_ARM].copy(), np.clip(q, self.lower, self.upper), now, duration_s)
        self.commands_received += 1
        if self.episode_start_s is None:
            self.episode_start_s = now
            self.t.log.info(f"first arm command at t = {now:.3f} s: the episode starts")

    def _on_forward(self, msg: Any) -> None:
        data = list(msg.data)
        if len(data) != N_ARM:
            self._refuse(f"a command of {len(data)} values (expected {N_ARM})")
            return
        self._apply_arm(np.asarray(data, dtype=np.float64), self.cfg.command_ramp_s)

    def _on_trajectory(self, msg: Any) -> None:
        names = list(msg.joint_names)
        if not msg.points:
            self._refuse("a trajectory without points")
            return
        point = msg.points[-1]
        index = {n: i for i, n in enumerate(names)}
        missing = [n for n in self.joint_names if n not in index]
        if missing or len(point.positions) != len(names):
            self._refuse(
                f"a trajectory without joints {missing}"
                if missing
                else "a trajectory point of the wrong size"
            )
            return
        q = np.array([point.positions[index[n]] for n in self.joint_names], dtype=np.float64)
        tfs = point.time_from_start
        self._apply_arm(q, tfs.sec + 1e-9 * tfs.nanosec)

    def _set_width(self, width_m: float) -> bool:
        if not math.isfinite(width_m):
            self._refuse("a non-finite gripper command")
            return False
        self.data.ctrl[N_ARM] = min(max(width_m, 0.0), MAX_WIDTH_M)
        self.gripper_commands += 1
        return True

    def _on_gripper(self, msg: Any) -> None:
        data = list(msg.data)
        if len(data) == 1:
            self._set_width(2.0 * float(data[0]))
        elif len(data) == 2:
            self._set_width(float(data[0]) + float(data[1]))
        else:
            self._refuse(f"a gripper command of {len(data)} values (expected 1: width / 2)")

    def _on_gripper_goal(self, goal: Any) -> Any:
        self._set_width(2.0 * float(goal.command.position))
        return self._result_cls(
            position=0.5 * self.gripper_width_m, effort=0.0, stalled=False, reached_goal=False
        )

    # ----------------------------------------------------------------------------- messages

    def _publish_joint_states(self) -> None:
        c, d, rng = self.cfg, self.data, self._rng
        pos = d.qpos[:9].copy()
        vel = d.qvel[:9].copy()
        pos[:N_ARM] += rng.normal(0.0, c.joint_pos_noise_std_rad, N_ARM)
        vel[:N_ARM] += rng.normal(0.0, c.joint_vel_noise_std_radps, N_ARM)
        msg = self._cls["sensor_msgs/msg/JointState"]()
        fill_header(msg.header, self.clock_s, "")
        msg.name = [*self.joint_names, *FINGER_JOINTS]
        msg.position = [float(v) for v in pos]
        msg.velocity = [float(v) for v in vel]
        msg.effort = [float(v) for v in d.qfrc_actuator[:9]]
        self.pub_js.publish(msg)

    def _capture_object(self) -> None:
        c, rng = self.cfg, self._rng
        pos = self.data.qpos[9:12] + rng.normal(0.0, c.object_pos_noise_std_m, 3)
        w, x, y, z = self.data.qpos[12:16]
        h = 0.5 * rng.normal(0.0, c.object_yaw_noise_std_rad)  # turn about the base z axis
        cz, sz = math.cos(h), math.sin(h)
        quat = (cz * w - sz * z, cz * x - sz * y, cz * y + sz * x, cz * z + sz * w)
        # stamped at capture, as a camera's
        self._delay(self._pose_msg(pos, quat, c.base_frame), self.obj_delay)

    def _publish_target(self) -> None:
        half_yaw = self.target_yaw_rad / 2
        quat = (math.cos(half_yaw), 0.0, 0.0, math.sin(half_yaw))
        self.pub_target.publish(self._pose_msg(self.target_m, quat, self.cfg.base_frame))
