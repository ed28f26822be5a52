"""The Panda pick-and-place scene in MuJoCo, batched: N independent worlds stepped by MuJoCo's
native multi-threaded ``rollout`` (no Python loop over worlds or physics steps).

Each world has its own compiled model so that the cube's size, mass and friction can differ per
episode. State layout is MuJoCo's ``mjSTATE_FULLPHYSICS``: time, qpos (7 arm joints, 2 fingers,
the cube's free joint: position + quaternion w, x, y, z), qvel.
"""

from __future__ import annotations

import mujoco
import numpy as np

from ..mujoco_batch import STATE_SPEC as STATE_SPEC  # the bridge and tests read it here
from ..mujoco_batch import BatchedWorlds, resize_cube
from .config import ASSETS, READY_POSE_RAD, ManipRandomization

SCENE = ASSETS / "pick_place.xml"
N_ARM = 7


class ArmWorlds(BatchedWorlds):
    """N Panda + cube worlds.

    Args:
        num_worlds: N.
        threads: MuJoCo rollout threads.
        control_rate_hz: one :meth:`step` advances 1 / rate seconds.
    """

    def __init__(self, num_worlds: int, threads: int = 2, control_rate_hz: float = 25.0) -> None:
        super().__init__(SCENE, num_worlds, threads, control_rate_hz)
        self.cube_geom = self.base.geom("object").id
        self.cube_body = self.base.body("object").id
        self.half_size = np.full(num_worlds, 0.025)
        s = self.base.sensor
        self._touch = [self.base.sensor_adr[s(n).id] for n in ("left_pad_force", "right_pad_force")]
        self._sensor_buf = np.zeros((num_worlds, self.substeps, self.base.nsensordata))
        self.peak_pad_force_n = np.zeros(num_worlds)
        """Largest finger pad contact force (N) during the last step, per world."""
        self.peak_joint_speed = np.zeros((num_worlds, N_ARM))
        """Largest |joint velocity| (rad/s) [N, 7] during the last step."""

    # --- views of the state -------------------------------------------------------------------
    @property
    def joint_pos(self) -> np.ndarray:
        return self.qpos[:, :N_ARM]

    @property
    def joint_vel(self) -> np.ndarray:
        return self.qvel[:, :N_ARM]

    @property
    def gripper_width(self) -> np.ndarray:
        """[N, 1] (m)."""
        return self.qpos[:, N_ARM : N_ARM + 2].sum(axis=1, keepdims=True)

    @property
    def object_pos(self) -> np.ndarray:
        return self.qpos[:, 9:12]

    @property
    def object_quat(self) -> np.ndarray:
        return self.qpos[:, 12:16]

    # --- episodes -----------------------------------------------------------------------------
    def reset(self, idx: np.ndarray, rng: np.random.Generator, dr: ManipRandomization) -> None:
        """New cube, start pose and latencies for worlds ``idx``."""
        for i in idx:
            m = self.models[i]
            h = rng.uniform(*dr.cube_half_size_m)
            mass = rng.uniform(*dr.cube_mass_kg)
            resize_cube(m, self.cube_geom, self.cube_body, h, mass)
            m.geom_friction[self.cube_geom, 0] = rng.uniform(*dr.cube_friction)
            # Recompute what the compiler derived from the old mass (the constraint solver scales
            # contact impedance by dof_invweight0: left stale, a lighter cube goes unstable).
            mujoco.mj_setConst(m, self.datas[0])
            self.half_size[i] = h
        k = len(idx)
        q = np.asarray(READY_POSE_RAD) + rng.uniform(
            -dr.start_joint_noise_rad, dr.start_joint_noise_rad, (k, N_ARM)
        )
        lo, hi = self.base.jnt_range[:N_ARM, 0], self.base.jnt_range[:N_ARM, 1]
        q = np.clip(q, lo + 0.05, hi - 0.05)
        yaw = rng.uniform(-np.pi, np.pi, k)
        xy = rng.uniform(dr.cube_xy_min_m, dr.cube_xy_max_m, (k, 2))
        qpos = np.zeros((k, self.nq))
        qpos[:, :N_ARM] = q
        qpos[:, N_ARM : N_ARM + 2] = 0.04
        qpos[:, 9:11] = xy
        qpos[:, 11] = self.half_size[idx]
        qpos[:, 12] = np.cos(yaw / 2)
        qpos[:, 15] = np.sin(yaw / 2)
        self.set_start(idx, qpos)
        self.ctrl[idx, :N_ARM] = q
        self.ctrl[idx, N_ARM] = 0.08
        self.command_delay[idx] = rng.integers(
            dr.command_latency_substeps[0], dr.command_latency_substeps[1] + 1, k
        )

    def step(self, ctrl: np.ndarray) -> None:
        """Advance every world by one control period with new servo targets ``ctrl`` [N, nu]:
        the previous command stays applied for each world's command delay, then the arm's
        targets ramp to the new ones by the end of the period; the gripper's switches at once."""
        # The servo targets move linearly from the previous command to the new one over the
        # period (after the command delay), as a joint_trajectory_controller interpolates between
        # points: a step change every 40 ms would jerk the hand (and shake the cube loose).
        steps = np.arange(1, self.substeps + 1)[None, :] - self.command_delay[:, None]  # [N, substeps]
        frac = np.clip(steps / (self.substeps - self.command_delay[:, None]), 0.0, 1.0)[:, :, None]
        self._ctrl_buf[:] = self.ctrl[:, None, :] + frac * (ctrl - self.ctrl)[:, None, :]
        self._ctrl_buf[:, :, N_ARM:] = np.where(frac > 0, ctrl[:, None, N_ARM:], self.ctrl[:, None, N_ARM:])
        self.run_period(ctrl, sensordata=self._sensor_buf)
        self.peak_pad_force_n = self._sensor_buf[:, :, self._touch].max(axis=(1, 2))
        self.peak_joint_speed = np.abs(self._state_buf[:, :, 1 + self.nq : 1 + self.nq + N_ARM]).max(axis=1)
