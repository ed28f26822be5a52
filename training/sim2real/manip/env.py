"""The arm task environment: batched MuJoCo worlds + the runtime's terms and safety layer.

Everything between the simulator and the policy is the deployment code: observations are built
by :mod:`sim2real_runtime.manip_terms` from the signals the robot's node would have
(``/joint_states`` with noise, the perceived object pose with noise and latency, the target), and
every action is integrated into joint targets by :class:`~sim2real_runtime.manip_control.ManipSafety`
(limits, velocity budget, workspace box) before it reaches the servos.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim2real_runtime.kinematics import SerialChain
from sim2real_runtime.manip_control import ManipSafety, ManipSafetyConfig
from sim2real_runtime.manip_terms import (
    GripperAction,
    JointDeltaAction,
    manip_specs,
    tcp_yaw,
    with_tcp,
)
from sim2real_runtime.terms import Observation, TermSpec, action_from_spec

from .config import ASSETS, ManipRandomization, ManipTaskConfig
from .expert import ScriptedExpert
from .mujoco_arm import N_ARM, ArmWorlds

BASE_LINK = "panda_link0"
TCP_LINK = "panda_hand_tcp"


def panda_chain() -> SerialChain:
    """The Panda's kinematics from ``sim_assets/panda/panda.urdf`` (base link to the TCP)."""
    return SerialChain.from_urdf(ASSETS / "panda.urdf", BASE_LINK, TCP_LINK)


def max_delta_rad(chain: SerialChain, cfg: ManipTaskConfig) -> np.ndarray:
    """The action's full scale per joint (rad per control step)."""
    return chain.velocity_limits * cfg.max_velocity_fraction / cfg.control_rate_hz


def task_specs(cfg: ManipTaskConfig, chain: SerialChain) -> tuple[list[TermSpec], list[TermSpec]]:
    return manip_specs(
        cfg.task, chain, tuple(max_delta_rad(chain, cfg)), cfg.max_width_m, cfg.far_clip_m, cfg.fine_clip_m
    )


def safety_config(cfg: ManipTaskConfig) -> ManipSafetyConfig:
    """The safety limits training runs under (the node's defaults are the same)."""
    return ManipSafetyConfig(max_velocity_fraction=cfg.max_velocity_fraction)


REACH_TARGET_MIN_M = (0.3, -0.35, 0.05)
REACH_TARGET_MAX_M = (0.7, 0.35, 0.5)
"""The box reach targets are drawn from (m, base frame); their yaw is within +-90 deg."""


def sample_targets(
    task: str, rng: np.random.Generator, half_size_m: np.ndarray, dr: ManipRandomization
) -> tuple[np.ndarray, np.ndarray]:
    """Targets for k episodes: positions [k, 3] (m, base frame) and yaws [k] (rad). Pick-and-place:
    the cube centre's goal, ``half_size_m`` [k] above the drawn point; reach: the TCP's goal."""
    k = len(half_size_m)
    if task == "reach":
        return rng.uniform(REACH_TARGET_MIN_M, REACH_TARGET_MAX_M, (k, 3)), rng.uniform(
            -np.pi / 2, np.pi / 2, k
        )
    pos = rng.uniform(np.asarray(dr.target_min_m), np.asarray(dr.target_max_m), (k, 3))
    pos[:, 2] += half_size_m
    return pos, np.zeros(k)


def task_success(
    task: str,
    chain: SerialChain,
    joint_pos: np.ndarray,
    object_pos: np.ndarray,
    target_pos: np.ndarray,
    target_yaw: np.ndarray,
    tolerance_m: float,
    yaw_tolerance_rad: float,
) -> np.ndarray:
    """Whether each of B episodes has succeeded, bool [B], from the true state: pick_place when the
    cube's centre [B, 3] is within ``tolerance_m`` of the target [B, 3]; reach when the TCP (FK of
    ``joint_pos`` [B, n]) is, with its yaw within ``yaw_tolerance_rad`` of ``target_yaw`` [B]."""
    if task == "reach":
        pos, rot = chain.forward(joint_pos)
        yaw_err = np.abs((target_yaw - tcp_yaw(rot) + np.pi) % (2 * np.pi) - np.pi)
        return (np.linalg.norm(pos - target_pos, axis=1) < tolerance_m) & (yaw_err < yaw_tolerance_rad)
    return np.linalg.norm(object_pos - target_pos, axis=1) < tolerance_m


def cube_dropped(object_pos: np.ndarray) -> np.ndarray:
    """Whether the cube [B, 3] has left the table (fallen below it or slid far away), bool [B]."""
    x, y, z = object_pos[:, 0], object_pos[:, 1], object_pos[:, 2]
    return (z < -0.05) | (np.abs(y) > 0.8) | (x < -0.2) | (x > 1.1)


@dataclass
class StepResult:
    obs: np.ndarray
    """float32 [N, obs] after the step (after auto-reset for finished worlds)."""
    success: np.ndarray
    """bool [N]: the episode ended in success at this step."""
    done: np.ndarray
    """bool [N]: the episode ended (success, failure or time limit) at this step."""
    failed: np.ndarray
    """bool [N]: the cube left the table."""


class ManipEnv:
    """N worlds of ``cfg.task``.

    Args:
        cfg: task configuration.
        num_envs: N.
        seed: randomisation seed.
        threads: MuJoCo rollout threads.
        auto_reset: restart finished worlds in :meth:`step` (training); evaluation turns it off.
    """

    def __init__(
        self, cfg: ManipTaskConfig, num_envs: int, seed: int, threads: int = 2, auto_reset: bool = True
    ) -> None:
        self.cfg = cfg
        self.n = num_envs
        self.rng = np.random.default_rng(seed)
        self.chain = panda_chain()
        self.obs_specs, self.act_specs = task_specs(cfg, self.chain)
        self.observation = Observation(self.obs_specs)
        self.joint_term: JointDeltaAction = action_from_spec(self.act_specs[0])
        self.gripper_term: GripperAction = action_from_spec(self.act_specs[1])
        self.num_actions = N_ARM + 1
        self.safety = ManipSafety(self.chain, cfg.control_rate_hz, safety_config(cfg))
        self.worlds = ArmWorlds(num_envs, threads, cfg.control_rate_hz)
        self.expert = ScriptedExpert(self.chain, max_delta_rad(self.chain, cfg), cfg.control_rate_hz)
        self.max_steps = round(cfg.episode_time_s * cfg.control_rate_hz)
        self.auto_reset = auto_reset
        lat = cfg.dr.object_latency_steps
        self.history = np.zeros((lat[1] + 1, num_envs, 7))  # perceived object pose, newest first
        self.latency = np.zeros(num_envs, dtype=int)
        self.target_pos = np.zeros((num_envs, 3))
        self.target_yaw = np.zeros(num_envs)
        self.joint_target = np.zeros((num_envs, N_ARM))
        self.prev_action = np.zeros((num_envs, self.num_actions), dtype=np.float32)
        self.t = np.zeros(num_envs, dtype=int)
        self.reset(np.arange(num_envs))
        self.measured_joint_pos = self.worlds.joint_pos.copy()
        """Joint positions [N, n] (rad) as last observed (with noise): what the safety layer uses."""

    # --- episodes -----------------------------------------------------------------------------
    def reset(self, idx: np.ndarray) -> None:
        cfg, dr, rng = self.cfg, self.cfg.dr, self.rng
        self.worlds.reset(idx, rng, dr)
        k = len(idx)
        self.target_pos[idx], self.target_yaw[idx] = sample_targets(
            cfg.task, rng, self.worlds.half_size[idx], dr
        )
        self.joint_target[idx] = self.safety.initial_target(self.worlds.joint_pos[idx])
        self.prev_action[idx] = 0.0
        self.t[idx] = 0
        self.latency[idx] = rng.integers(dr.object_latency_steps[0], dr.object_latency_steps[1] + 1, k)
        self.history[:, idx] = self._perceived_object(idx)[None]

    def _perceived_object(self, idx: np.ndarray) -> np.ndarray:
        """What the perception node publishes now for worlds idx: noisy position + yaw [k, 7]."""
        dr, rng = self.cfg.dr, self.rng
        pos = self.worlds.object_pos[idx] + rng.normal(0.0, dr.object_pos_noise_m, (len(idx), 3))
        quat = self.worlds.object_quat[idx]
        dyaw = rng.normal(0.0, dr.object_yaw_noise_rad, len(idx))
        # rotate about the base z axis by dyaw: q' = (cos, 0, 0, sin)(dyaw/2) * q
        c, s = np.cos(dyaw / 2), np.sin(dyaw / 2)
        w, x, y, z = quat.T
        noisy = np.stack([c * w - s * z, c * x - s * y, c * y + s * x, c * z + s * w], axis=1)
        return np.concatenate([pos, noisy], axis=1)

    # --- observation --------------------------------------------------------------------------
    def signals(self) -> dict[str, np.ndarray]:
        """What the robot's node would have now (noisy joint states, the perceived object pose)."""
        dr, rng, w = self.cfg.dr, self.rng, self.worlds
        seen = self.history[self.latency, np.arange(self.n)]
        sig = {
            "joint_pos": w.joint_pos + rng.normal(0.0, dr.joint_pos_noise_rad, (self.n, N_ARM)),
            "joint_vel": w.joint_vel + rng.normal(0.0, dr.joint_vel_noise_radps, (self.n, N_ARM)),
            "gripper_width": w.gripper_width.copy(),
            "object_pos": seen[:, :3],
            "object_quat": seen[:, 3:],
            "target_pos": self.target_pos.copy(),
            "target_yaw": self.target_yaw[:, None].copy(),
            "prev_action": self.prev_action,
        }
        return with_tcp(sig, self.chain)

    def observe(self) -> np.ndarray:
        self._last_signals = self.signals()
        self.measured_joint_pos = self._last_signals["joint_pos"]
        return self.observation(self._last_signals)

    def expert_action(self) -> np.ndarray:
        """The scripted expert's action [N, n + 1] for the true current state."""
        w = self.worlds
        if self.cfg.task == "reach":
            return self.expert.reach(w.joint_pos, self.target_pos, self.target_yaw)
        return self.expert.pick_place(
            w.joint_pos, w.gripper_width[:, 0], w.object_pos, w.object_quat, w.half_size, self.target_pos
        )

    # --- stepping -----------------------------------------------------------------------------
    def success(self) -> np.ndarray:
        w, c = self.worlds, self.cfg
        return task_success(
            c.task, self.chain, w.joint_pos, w.object_pos, self.target_pos, self.target_yaw,
            c.success_tolerance_m, c.reach_yaw_tolerance_rad,
        )  # fmt: skip

    def step(self, actions: np.ndarray) -> StepResult:
        """Apply normalised actions [N, n + 1] through the safety layer for one control period."""
        actions = np.asarray(actions, dtype=np.float64)
        delta = self.joint_term.delta(actions[:, :N_ARM])
        # the safety layer sees the joint positions the policy observed, as on the robot
        self.joint_target, _ = self.safety.step(self.measured_joint_pos, self.joint_target, delta)
        ctrl = np.concatenate(
            [self.joint_target, self.gripper_term.width_m(actions[:, N_ARM:])[:, None]], axis=1
        )
        self.worlds.step(ctrl)
        self.prev_action = np.clip(np.nan_to_num(actions, nan=0.0), -1.0, 1.0).astype(np.float32)
        self.history = np.roll(self.history, 1, axis=0)
        self.history[0] = self._perceived_object(np.arange(self.n))
        self.t += 1
        success = self.success()
        failed = cube_dropped(self.worlds.object_pos)
        done = success | failed | (self.t >= self.max_steps)
        if self.auto_reset and np.any(done):
            self.reset(np.flatnonzero(done))
        return StepResult(self.observe(), success, done, failed)
