"""What the batched MuJoCo scenes of the joint-target domains (the arm, the dexterous hand) share:
N independent worlds, each with its own compiled model (so that a cube's size, mass and friction,
and the servos' gains, can differ per episode), stepped by MuJoCo's native multi-threaded
``rollout`` (no Python loop over worlds or physics steps).

State layout is MuJoCo's ``mjSTATE_FULLPHYSICS``: time, qpos, qvel (so ``state[:, 1 : 1 + nq]``
is qpos).
"""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np
from mujoco import rollout

STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS


def resize_cube(model: mujoco.MjModel, geom: int, body: int, half_size_m: float, mass_kg: float) -> None:
    """Give the cube (box ``geom`` on ``body``) of ``model`` a new half size (m) and mass (kg),
    with the bounding volumes and the solid cube's inertia that go with them. Call
    ``mujoco.mj_setConst`` after all changes to the model."""
    h = half_size_m
    model.geom_size[geom] = (h, h, h)
    model.geom_rbound[geom] = h * np.sqrt(3.0)
    model.geom_aabb[geom] = (0, 0, 0, h, h, h)
    model.body_mass[body] = mass_kg
    model.body_inertia[body] = mass_kg * (2 * h) ** 2 / 6.0


class BatchedWorlds:
    """N worlds of one MJCF scene, a control period of physics substeps per :meth:`rollout`.

    Args:
        scene: the MJCF file.
        num_worlds: N.
        threads: MuJoCo rollout threads.
        control_rate_hz: one control step advances ``1 / rate`` seconds (a whole number of physics
            steps, or ValueError).

    Attributes:
        state: [N, nstate] full physics state. ctrl: [N, nu] the servo targets in force.
        command_delay: [N] physics substeps each world keeps the previous targets for.
    """

    def __init__(self, scene: Path, num_worlds: int, threads: int, control_rate_hz: float) -> None:
        self.base = mujoco.MjModel.from_xml_path(str(scene))
        self.models = [mujoco.MjModel.from_xml_path(str(scene)) for _ in range(num_worlds)]
        self.datas = [mujoco.MjData(self.base) for _ in range(max(1, threads))]
        self.n = num_worlds
        dt = self.base.opt.timestep
        self.substeps = round(1.0 / (control_rate_hz * dt))
        if abs(self.substeps * dt * control_rate_hz - 1.0) > 1e-6:
            raise ValueError(f"control period 1/{control_rate_hz} s is not a multiple of {dt} s")
        self.nstate = mujoco.mj_stateSize(self.base, STATE_SPEC)
        self.nq, self.nv, self.nu = self.base.nq, self.base.nv, self.base.nu
        self.state = np.zeros((num_worlds, self.nstate))
        self.ctrl = np.zeros((num_worlds, self.nu))
        self.command_delay = np.zeros(num_worlds, dtype=int)
        self._state_buf = np.zeros((num_worlds, self.substeps, self.nstate))
        self._ctrl_buf = np.zeros((num_worlds, self.substeps, self.nu))

    @property
    def qpos(self) -> np.ndarray:
        return self.state[:, 1 : 1 + self.nq]

    @property
    def qvel(self) -> np.ndarray:
        return self.state[:, 1 + self.nq : 1 + self.nq + self.nv]

    def set_start(self, idx: np.ndarray, qpos: np.ndarray) -> None:
        """Worlds ``idx`` start at rest at ``qpos`` [len(idx), nq] (time 0)."""
        self.state[idx] = 0.0
        self.state[idx, 1 : 1 + self.nq] = qpos

    def run_period(self, ctrl: np.ndarray, sensordata: np.ndarray | None = None) -> None:
        """Run every world one control period on the per-substep targets in ``self._ctrl_buf``
        (filled by the caller) and make ``ctrl`` [N, nu] the targets in force; the substeps'
        states stay in ``self._state_buf`` ([N, substeps, nstate]), the sensors in ``sensordata``
        ([N, substeps, nsensordata]) when given."""
        rollout.rollout(
            self.models,
            self.datas,
            self.state,
            self._ctrl_buf,
            nstep=self.substeps,
            state=self._state_buf,
            sensordata=sensordata,
            skip_checks=True,
            persistent_pool=True,
        )
        self.state[:] = self._state_buf[:, -1]
        self.ctrl[:] = ctrl
