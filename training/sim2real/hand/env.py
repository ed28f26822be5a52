"""The LEAP hand + cube in MuJoCo, batched (``mujoco.rollout``), behind rsl-rl's VecEnv API.

:class:`HandWorlds` holds N independent worlds, each with its own compiled model so that the
cube, friction, servo gains, damping and armature differ per episode, stepped by MuJoCo's native
multi-threaded rollout (no Python loop over worlds or physics steps). :class:`HandVecEnv` turns
them into the tasks ``rotate_z`` and ``reorient``: observations computed by the runtime's own
terms from what the robot would measure (joints with calibration offset and noise; the cube pose
in the palm frame with noise and latency), actions integrated by the runtime's own safety layer
(:class:`~sim2real_runtime.hand_control.HandSafety`), a dense reward, and resets on a drop or the
time limit. The critic also sees privileged state (true joints, cube pose and velocity,
fingertips, randomised parameters).

State layout: ``mjSTATE_FULLPHYSICS`` (time, qpos: 16 hand joints in simulation order then the
cube's free joint position + quaternion w, x, y, z; qvel: 16 + 6).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
import torch
from tensordict import TensorDict

from sim2real_runtime.hand_control import HandSafety
from sim2real_runtime.hand_model import HandDescription, load_hand
from sim2real_runtime.hand_terms import quat_error_vector
from sim2real_runtime.rotations import quat_mul, quat_to_matrix
from sim2real_runtime.terms import Observation, action_from_spec

from ..mujoco_batch import STATE_SPEC as STATE_SPEC  # the bridge and tests read it here
from ..mujoco_batch import BatchedWorlds, resize_cube
from .config import ASSETS, HOME_POSE_RAD, HandRandomization, HandTaskConfig
from .scripted import ScriptedGait
from .specs import task_specs

SCENE = ASSETS / "leap_hand.xml"
N = 16
TIPS = ("if_tip", "mf_tip", "rf_tip", "th_tip")


def random_quats(rng: np.random.Generator, k: int) -> np.ndarray:
    """k uniformly distributed unit quaternions [k, 4] (w, x, y, z)."""
    q = rng.normal(size=(k, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)


def random_axes(rng: np.random.Generator, k: int) -> np.ndarray:
    """k uniformly distributed unit vectors [k, 3]."""
    axis = rng.normal(size=(k, 3))
    return axis / np.linalg.norm(axis, axis=1, keepdims=True)


def axis_angle_quats(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Quaternions [k, 4] of rotations by ``angle`` [k] (rad) about unit ``axis`` [k, 3]."""
    h = 0.5 * angle[:, None]
    return np.concatenate([np.cos(h), np.sin(h) * axis], axis=1)


class HandWorlds(BatchedWorlds):
    """N LEAP hand + cube worlds.

    Args:
        num_worlds: N.
        threads: MuJoCo rollout threads.
        control_rate_hz: one :meth:`step` advances ``1 / rate`` seconds.
    """

    def __init__(self, num_worlds: int, threads: int = 2, control_rate_hz: float = 20.0) -> None:
        super().__init__(SCENE, num_worlds, threads, control_rate_hz)
        self.joint_names = tuple(self.base.joint(i).name for i in range(N))
        d = mujoco.MjData(self.base)
        mujoco.mj_forward(self.base, d)
        self.palm_pos = d.body("palm").xpos.copy()
        self.palm_rot = d.body("palm").xmat.reshape(3, 3).copy()
        self.palm_quat = d.body("palm").xquat.copy()
        self.palm_center = d.site("palm_center").xpos.copy()
        self.palm_normal = self.palm_rot @ np.array([0.0, 0.0, -1.0])
        """World direction (unit) of the palm's inner normal (palm frame -z)."""
        self.cube_geom = self.base.geom("cube").id
        self.cube_body = self.base.body("cube").id
        self.tip_geoms = [self.base.geom(t).id for t in TIPS]
        self.half_size = np.full(num_worlds, float(self.base.geom_size[self.cube_geom, 0]))
        self.params = np.zeros((num_worlds, 6))
        """Per world: cube half size, mass, friction, fingertip friction, kp scale, damping scale."""

    # --- views ----------------------------------------------------------------------------------
    @property
    def joint_pos(self) -> np.ndarray:
        return self.qpos[:, :N]

    @property
    def cube_pos(self) -> np.ndarray:
        """World position [N, 3] (m)."""
        return self.qpos[:, N : N + 3]

    @property
    def cube_quat(self) -> np.ndarray:
        """World orientation [N, 4] (w, x, y, z)."""
        return self.qpos[:, N + 3 : N + 7]

    def to_palm(self, pos: np.ndarray, quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World poses -> palm frame: positions [k, 3] (m), quaternions [k, 4]."""
        p = (pos - self.palm_pos) @ self.palm_rot
        inv = self.palm_quat * np.array([1.0, -1.0, -1.0, -1.0])
        return p, quat_mul(np.broadcast_to(inv, quat.shape), quat)

    def rest_point(self) -> np.ndarray:
        """Where each cube's centre rests on the palm [N, 3] (world, m)."""
        return self.palm_center + self.half_size[:, None] * self.palm_normal

    # --- episodes -------------------------------------------------------------------------------
    def reset(
        self, idx: np.ndarray, rng: np.random.Generator, dr: HandRandomization, home: np.ndarray
    ) -> None:
        """New cube, physical parameters, start pose and latency for worlds ``idx``."""
        b = self.base
        for i in idx:
            m = self.models[i]
            h = rng.uniform(*dr.cube_half_size_m)
            mass = rng.uniform(*dr.cube_mass_kg)
            resize_cube(m, self.cube_geom, self.cube_body, h, mass)
            fc, ft = rng.uniform(*dr.cube_friction), rng.uniform(*dr.fingertip_friction)
            m.geom_friction[self.cube_geom, 0] = fc
            m.geom_friction[self.tip_geoms, 0] = ft
            kp = b.actuator_gainprm[:, 0] * rng.uniform(*dr.kp_scale, self.nu)
            m.actuator_gainprm[:, 0] = kp
            m.actuator_biasprm[:, 1] = -kp
            kd = rng.uniform(*dr.damping_scale)
            m.dof_damping[:N] = b.dof_damping[:N] * rng.uniform(*dr.damping_scale, N)
            m.dof_armature[:N] = b.dof_armature[:N] * rng.uniform(*dr.armature_scale, N)
            m.dof_frictionloss[:N] = b.dof_frictionloss[:N] * rng.uniform(*dr.frictionloss_scale, N)
            # The compiler derived constraint impedances from the old masses: recompute.
            mujoco.mj_setConst(m, self.datas[0])
            self.half_size[i] = h
            self.params[i] = (h, mass, fc, ft, kp.mean() / b.actuator_gainprm[0, 0], kd)
        k = len(idx)
        lo, hi = b.jnt_range[:N, 0], b.jnt_range[:N, 1]
        q = np.clip(home + rng.uniform(-dr.start_joint_noise_rad, dr.start_joint_noise_rad, (k, N)), lo, hi)
        qpos = np.zeros((k, self.nq))
        qpos[:, :N] = q
        start = self.palm_center + (self.half_size[idx, None] + 0.004) * self.palm_normal
        qpos[:, N : N + 3] = start + rng.uniform(-0.005, 0.005, (k, 3)) * np.array([1.0, 1.0, 0.0])
        # A random face up and a random turn about the palm normal.
        faces = np.array(
            [
                [1, 0, 0, 0],
                [0, 1, 0, 0],
                [0, 0, 1, 0],
                [0.7071, 0.7071, 0, 0],
                [0.7071, -0.7071, 0, 0],
                [0.7071, 0, 0.7071, 0],
            ]
        )
        yaw = axis_angle_quats(np.broadcast_to(self.palm_normal, (k, 3)), rng.uniform(-np.pi, np.pi, k))
        qpos[:, N + 3 : N + 7] = quat_mul(yaw, faces[rng.integers(0, len(faces), k)])
        self.set_start(idx, qpos)
        self.ctrl[idx] = q
        self.command_delay[idx] = rng.integers(
            dr.command_latency_substeps[0], dr.command_latency_substeps[1] + 1, k
        )

    def step(self, ctrl: np.ndarray) -> None:
        """Advance every world one control period with new servo targets ``ctrl`` [N, 16]: the
        previous targets stay for each world's command delay, then the new ones apply."""
        k = np.arange(self.substeps)[None, :, None]
        self._ctrl_buf[:] = np.where(
            k < self.command_delay[:, None, None], self.ctrl[:, None, :], ctrl[:, None, :]
        )
        self.run_period(ctrl)

    def fingertips(self) -> np.ndarray:
        """Fingertip positions [N, 4, 3] (palm frame, m) from the true joints (kinematics only)."""
        return self._hand.fingertips(self.joint_pos)


class HandVecEnv:
    """rsl-rl VecEnv over N hand worlds, task ``cfg.task`` (``rotate_z`` or ``reorient``).

    ``step(actions)`` returns ``extras["log"]`` with the drop rate of the episodes that ended and,
    per world, ``extras["turn_rad"]`` (signed rotation about the palm normal this step) and
    ``extras["goals"]`` (reorient: goals reached this step).
    """

    def __init__(
        self,
        cfg: HandTaskConfig,
        num_envs: int,
        seed: int = 0,
        threads: int = 2,
        hand: HandDescription | None = None,
    ) -> None:
        if cfg.task not in ("rotate_z", "reorient"):
            raise ValueError(f"unknown hand task {cfg.task!r}; known: rotate_z, reorient")
        self.cfg = cfg
        self.hand = hand or load_hand(ASSETS / "hand.yaml")
        self.worlds = HandWorlds(num_envs, threads, cfg.control_rate_hz)
        self.worlds._hand = self.hand
        if self.worlds.joint_names != self.hand.joint_names:
            raise ValueError(
                f"MJCF joint order {self.worlds.joint_names} != the hand's {self.hand.joint_names}"
            )
        self.num_envs = num_envs
        self.device = "cpu"
        self.rng = np.random.default_rng(seed)
        obs_specs, act_specs = task_specs(cfg, self.hand)
        self.observation = Observation(obs_specs)
        self.joint_term = action_from_spec(act_specs[0])  # joint deltas or offsets from home
        self.safety = HandSafety(self.hand.lower, self.hand.upper, cfg.safety, cfg.control_rate_hz)
        self.num_actions = N
        self.dt = 1.0 / cfg.control_rate_hz
        self.max_episode_length = int(round(cfg.episode_time_s * cfg.control_rate_hz))
        self.home = np.asarray(HOME_POSE_RAD)
        self.t = np.zeros(num_envs, dtype=np.int64)
        self.control_steps = 0  # steps taken by every world since this environment was made
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.target = np.zeros((num_envs, N))
        self.prev_action = np.zeros((num_envs, N), dtype=np.float32)
        self.offset = np.zeros((num_envs, N))
        self.latency = np.zeros(num_envs, dtype=int)
        self.cube_hist = np.zeros((3, num_envs, 7))  # perceived cube pose, newest first (palm frame)
        self.goal = np.tile([1.0, 0.0, 0.0, 0.0], (num_envs, 1))
        self.turn = np.zeros(num_envs)
        self.goals_reached = np.zeros(num_envs, dtype=np.int64)
        self.goal_error = np.zeros(num_envs)  # rad: the cube's orientation error to its goal
        self.stats = {"episodes": 0, "drops": 0, "turn_rad": 0.0, "time_s": 0.0, "goals": 0}
        self.physics_substeps = self.worlds.substeps
        self.expert = ScriptedGait()
        self._reset(np.arange(num_envs))
        self._obs = self._observe()

    # --- episodes -------------------------------------------------------------------------------
    def goal_max_angle(self) -> float:
        """The largest angle (rad) between the cube and a new goal now; pi: uniformly random goals."""
        cfg = self.cfg
        if cfg.goal_max_angle_rad is None:
            return np.pi
        first, last = cfg.goal_max_angle_rad
        return min(self._ramp(first, last, cfg.goal_ramp_steps), np.pi)

    def _new_goals(self, idx: np.ndarray) -> None:
        max_angle = self.goal_max_angle()
        if max_angle >= np.pi:
            self.goal[idx] = random_quats(self.rng, len(idx))
        else:
            # A goal already within tolerance would be reached without a move: draw beyond it.
            low = min(self.cfg.success_tolerance_rad, max_angle)
            axis = random_axes(self.rng, len(idx))
            turn = axis_angle_quats(axis, self.rng.uniform(low, max_angle, len(idx)))
            self.goal[idx] = quat_mul(turn, self.worlds.cube_quat[idx])
        # Progress towards a new goal counts from the error it starts with.
        self.goal_error[idx] = np.linalg.norm(
            quat_error_vector(self.worlds.cube_quat[idx], self.goal[idx]), axis=1
        )

    def _reset(self, idx: np.ndarray) -> None:
        if len(idx) == 0:
            return
        dr = self.cfg.dr
        self.worlds.reset(idx, self.rng, dr, self.home)
        self.offset[idx] = self.rng.uniform(-dr.joint_offset_rad, dr.joint_offset_rad, (len(idx), N))
        self.latency[idx] = self.rng.integers(
            dr.cube_latency_steps[0], dr.cube_latency_steps[1] + 1, len(idx)
        )
        self.target[idx] = self.safety.initial_target(self.worlds.joint_pos[idx] + self.offset[idx])
        self.prev_action[idx] = 0.0
        self.t[idx] = 0
        self.turn[idx] = 0.0
        self.goals_reached[idx] = 0
        self._new_goals(idx)
        p, q = self.worlds.to_palm(self.worlds.cube_pos[idx], self.worlds.cube_quat[idx])
        self.cube_hist[:, idx] = np.concatenate([p, q], axis=1)[None]

    def measured_joints(self) -> np.ndarray:
        """What the joint encoders report [N, 16]: true + calibration offset + noise (rad)."""
        noise = self.rng.normal(0.0, self.cfg.dr.joint_noise_rad, (self.num_envs, N))
        return self.worlds.joint_pos + self.offset + noise

    def perceived_cube(self) -> tuple[np.ndarray, np.ndarray]:
        """The cube pose a perception node would publish: palm frame, ``latency`` steps old,
        with noise: positions [N, 3] (m), quaternions [N, 4]."""
        dr = self.cfg.dr
        pose = self.cube_hist[self.latency, np.arange(self.num_envs)]
        pos = pose[:, :3] + self.rng.normal(0.0, dr.cube_pos_noise_m, (self.num_envs, 3))
        axis = random_axes(self.rng, self.num_envs)
        noise = axis_angle_quats(axis, self.rng.normal(0.0, dr.cube_rot_noise_rad, self.num_envs))
        return pos, quat_mul(noise, pose[:, 3:])

    def signals(self, q_meas: np.ndarray) -> dict[str, np.ndarray]:
        pos, quat = self.perceived_cube()
        w = self.worlds
        goal_palm = w.to_palm(np.zeros((self.num_envs, 3)), self.goal)[1]
        return {
            "joint_pos": q_meas,
            "joint_target": self.target,
            "object_pos": pos,
            "object_quat": quat,
            "goal_quat": goal_palm,
            "prev_action": self.prev_action,
        }

    def _observe(self) -> TensorDict:
        q_meas = self.measured_joints()
        self._q_meas = q_meas
        policy = self.observation(self.signals(q_meas))
        w = self.worlds
        p, q = w.to_palm(w.cube_pos, w.cube_quat)
        r = quat_to_matrix(q)
        err = quat_error_vector(w.cube_quat, self.goal) / np.pi
        priv = np.concatenate(
            [
                (w.joint_pos - self.home) / 1.0,
                w.qvel[:, :N] / 10.0,
                (p - w.to_palm(w.rest_point(), w.cube_quat)[0]) / 0.03,
                r[:, :, 0],
                r[:, :, 1],
                w.qvel[:, N:] / np.array([1, 1, 1, 10, 10, 10]),
                err,
                w.fingertips().reshape(self.num_envs, -1) / 0.1,
                w.params / np.array([0.03, 0.1, 1, 1, 1, 1]),
                (self.t / self.max_episode_length)[:, None],
            ],
            axis=1,
        ).astype(np.float32)
        return TensorDict(
            {
                "policy": torch.from_numpy(policy),
                "critic": torch.from_numpy(np.concatenate([policy, priv], axis=1)),
            },
            batch_size=[self.num_envs],
        )

    def drop_penalty(self) -> float:
        """The reward of one drop now: ``reward_drop``, or on its ramp towards ``reward_drop_final``."""
        cfg = self.cfg
        if cfg.reward_drop_final is None:
            return cfg.reward_drop
        return self._ramp(cfg.reward_drop, cfg.reward_drop_final, cfg.drop_ramp_steps)

    def _ramp(self, first: float, last: float, steps: tuple[int, int]) -> float:
        """``first`` until control step ``steps[0]`` per world, ``last`` from ``steps[1]``, linear
        in between: the curricula on the drop penalty and on the goals."""
        start, end = steps
        frac = float(np.clip((self.control_steps - start) / max(end - start, 1), 0.0, 1.0))
        return first + frac * (last - first)

    def get_observations(self) -> TensorDict:
        return self._obs

    def expert_action(self) -> np.ndarray:
        """rotate_z: the scripted gait's action [N, 16] from the current targets (DAgger's label)."""
        return self.expert.action(self)

    # --- stepping -------------------------------------------------------------------------------
    def step(self, actions: torch.Tensor | np.ndarray) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        cfg, w = self.cfg, self.worlds
        a = actions.detach().cpu().numpy() if isinstance(actions, torch.Tensor) else np.asarray(actions)
        a = np.clip(np.nan_to_num(a.astype(np.float64)), -1.0, 1.0)
        change = self.joint_term.target_change(a, self.target)
        self.target = self.safety.step(self._q_meas, self.target, change)
        # The servos see the target in their own (true) zero: the calibration offset is the robot's.
        q_old = w.cube_quat.copy()
        w.step(self.target - self.offset)
        self.t += 1
        self.control_steps += 1
        dq = quat_mul(w.cube_quat, q_old * np.array([1.0, -1.0, -1.0, -1.0]))
        dq = np.where(dq[:, :1] < 0, -dq, dq)
        s = np.linalg.norm(dq[:, 1:], axis=1)
        rotvec = (
            dq[:, 1:] * np.where(s > 1e-12, 2 * np.arctan2(s, dq[:, 0]) / np.maximum(s, 1e-12), 2.0)[:, None]
        )
        turn = rotvec @ w.palm_normal  # rad this step, about the palm normal
        self.turn += turn
        dist = np.linalg.norm(w.cube_pos - w.rest_point(), axis=1)
        dropped = (dist > cfg.drop_distance_m) | ~np.all(np.isfinite(w.state), axis=1)
        timeout = (self.t >= self.max_episode_length) & ~dropped
        reward = cfg.reward_position * dist + cfg.reward_action_rate * ((a - self.prev_action) ** 2).sum(
            axis=1
        )
        reward += self.drop_penalty() * dropped
        goals = np.zeros(self.num_envs, dtype=bool)
        if cfg.task == "rotate_z":
            reward += (
                cfg.reward_angvel
                * np.clip(turn / self.dt, -cfg.angvel_clip_radps, cfg.angvel_clip_radps)
                * self.dt
            )
        else:
            err = np.linalg.norm(quat_error_vector(w.cube_quat, self.goal), axis=1)
            goals = (err < cfg.success_tolerance_rad) & ~dropped
            reward += cfg.reward_orientation * err * self.dt + cfg.reward_success * goals
            reward += cfg.reward_orientation_progress * (self.goal_error - err)
            self.goal_error = err
            self.goals_reached += goals
            self._new_goals(np.nonzero(goals)[0])
        self.prev_action = a.astype(np.float32)
        p, q = w.to_palm(w.cube_pos, w.cube_quat)
        self.cube_hist = np.roll(self.cube_hist, 1, axis=0)
        self.cube_hist[0] = np.concatenate([p, q], axis=1)
        done = dropped | timeout
        log: dict[str, float] = {}
        ended = np.nonzero(done)[0]
        extras: dict[str, Any] = {"turn_rad": turn.copy(), "goals": goals.copy(), "dropped": dropped.copy()}
        if len(ended):
            log = {
                "/hand/drop_penalty": self.drop_penalty(),
                "/hand/drop_rate": float(dropped[ended].mean()),
                "/hand/episode_turn_rad": float(self.turn[ended].mean()),
            }
            self.stats["episodes"] += len(ended)
            self.stats["drops"] += int(dropped.sum())
            self.stats["turn_rad"] += float(self.turn[ended].sum())
            self.stats["time_s"] += float(self.t[ended].sum() * self.dt)
            self.stats["goals"] += int(self.goals_reached[ended].sum())
        extras["episode_turn_rad"] = self.turn.copy()
        extras["episode_goals"] = self.goals_reached.copy()
        # rotate_z succeeds with a full turn about the palm normal (the target) and no drop;
        # reorient with at least one goal reached.
        full = self.turn >= 2 * np.pi if cfg.task == "rotate_z" else self.goals_reached > 0
        extras["episode_success"] = torch.from_numpy(timeout & full)
        self._reset(ended)
        self._obs = self._observe()
        self.episode_length_buf = torch.from_numpy(self.t.copy())
        extras["episode_failed"] = torch.from_numpy(dropped)
        extras.update({"time_outs": torch.from_numpy(timeout), "log": log})
        return self._obs, torch.from_numpy(reward.astype(np.float32)), torch.from_numpy(done), extras
