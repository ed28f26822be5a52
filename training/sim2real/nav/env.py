"""The navigation training environment: rsl-rl's VecEnv over the fast batched simulator.

Observations are computed by the runtime's terms (:mod:`sim2real_runtime.nav_terms`) from the
signals the robot's drivers would publish, exactly as the deployed node computes them. Commands go
through the runtime's action term (scaling, rate limits, clamp) and collision guard before the
simulator sees them. The simulator's scans follow the lidar conventions the runtime reads (REP-117:
+inf for no return, the raw distance below range_min for an object too close), and everything here
that reads a scan (observation, guard, the clearance of the reward) reads it with the runtime's
:func:`~sim2real_runtime.nav_terms.clean_ranges` and guard, so the policy is trained on what the
deployed guard enforces. The simulator never produces invalid beams (NaN, above range_max); its
range is cut at ``range_clip_m + 0.5`` m, so a scan with no return at all can occur here where the
real sensor would see something; it is not refused as the deployed node refuses it
(:func:`~sim2real_runtime.nav_terms.scan_fault`).
"""

from __future__ import annotations

import numpy as np
import torch
from tensordict import TensorDict

from sim2real_runtime.nav_terms import DiffDriveTwistAction, clean_ranges, nav_specs
from sim2real_runtime.robot import RobotConfig
from sim2real_runtime.safety import CollisionGuard
from sim2real_runtime.terms import Observation, TermSpec

from .config import NavTaskConfig
from .kinematic_sim import KinematicBatchSim, WorldBank


def footprint_extent(robot: RobotConfig) -> np.ndarray:
    """Distance (m) from the lidar origin to the footprint edge along each beam, float32 [num_beams]."""
    a = robot.lidar.beam_angles_rad()
    hl, hw = 0.5 * robot.footprint_length_m, 0.5 * robot.footprint_width_m
    mx = robot.lidar.mount_x_m
    c, s = np.cos(a), np.sin(a)
    with np.errstate(divide="ignore"):
        tx = np.where(c > 0, (hl - mx) / c, np.where(c < 0, (-hl - mx) / c, np.inf))
        ty = np.where(s != 0, hw / np.abs(s), np.inf)
    return np.minimum(tx, ty).astype(np.float32)


class NavEnv:
    """rsl-rl VecEnv: B robots navigating to goals in procedural worlds.

    Observation groups: ``policy`` (the contract's observation) and ``critic`` (the same plus the
    privileged geodesic goal distance and clearance, used only to train the value function).
    """

    def __init__(
        self, cfg: NavTaskConfig, robot: RobotConfig, bank: WorldBank, num_envs: int, seed: int = 0
    ) -> None:
        self.cfg = cfg
        self.robot = robot
        self.bank = bank
        self.num_envs = num_envs
        self.device = "cpu"
        self.rng = np.random.default_rng(seed)
        obs_specs, act_spec = nav_specs(
            robot,
            cfg.control_rate_hz,
            cfg.num_sectors,
            cfg.range_clip_m,
            cfg.goal_clip_m,
            cfg.v_limits_mps,
            cfg.w_max_radps,
            cfg.collision_guard,
        )
        self.obs_specs: list[TermSpec] = obs_specs
        self.action_spec: TermSpec = act_spec
        self.observation = Observation(obs_specs)
        self.action_term = DiffDriveTwistAction(act_spec)
        self.num_actions = act_spec.size
        self.dt = 1.0 / cfg.control_rate_hz
        self.max_episode_length = int(round(cfg.episode_time_s * cfg.control_rate_hz))
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.sim = KinematicBatchSim(
            robot,
            bank,
            num_envs,
            cfg.control_rate_hz,
            cfg.dr,
            scan_max_range_m=cfg.range_clip_m + 0.5,
            seed=seed,
        )
        self.extent = footprint_extent(robot)
        self.guard = CollisionGuard(robot, self.dt) if cfg.collision_guard else None
        self.prev_action = np.zeros((num_envs, self.num_actions), dtype=np.float32)
        self.goal = np.zeros((num_envs, 2))
        self.goal_tol = np.ones(num_envs)
        self.prev_dist = np.zeros(num_envs)
        self.steps = np.zeros(num_envs, dtype=np.int64)
        self.episode_stats = {"success": 0, "collision": 0, "timeout": 0}
        self._reset(np.arange(num_envs))
        self._scan = self.sim.scan()
        self._clear = self._clearance(self._scan)
        self._obs = self._observe()

    # -------------------------------------------------------------------------------- helpers
    def _reset(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        w = self.rng.integers(0, len(self.bank.scenarios), size=len(ids))
        start = self.bank.starts[w].copy()
        start[:, 2] += self.rng.uniform(-0.6, 0.6, size=len(ids))  # heading spread around the scenario's
        self.sim.reset(ids, w, start)
        self.goal[ids] = self.bank.goals[w]
        self.goal_tol[ids] = self.bank.goal_tolerance_m[w]
        self.prev_action[ids] = 0.0
        self.steps[ids] = 0
        self.prev_dist[ids] = self.bank.goal_distance(w, start[:, :2])

    def _observe(self) -> TensorDict:
        """Observation groups from the current ``self._scan``, ``self._clear``, ``self.prev_dist``
        (the geodesic goal distance at the current pose) and the simulator state."""
        signals = {
            "scan_ranges": self._scan,
            "pose": self.sim.pose,
            "goal_xy": self.goal,
            "twist": self.sim.measured_twist(),
            "prev_action": self.prev_action,
        }
        policy_obs = self.observation(signals)
        geo = self.prev_dist
        privileged = np.stack([np.minimum(geo, 30.0) / 10.0, self._clear], axis=1).astype(np.float32)
        return TensorDict(
            {
                "policy": torch.from_numpy(policy_obs),
                "critic": torch.from_numpy(np.concatenate([policy_obs, privileged], axis=1)),
            },
            batch_size=[self.num_envs],
        )

    def _clearance(self, scan: np.ndarray) -> np.ndarray:
        """Smallest gap between the footprint and a lidar return (m), float [k], for scans [k, beams]
        (read as the observation reads them: a close reading is an obstacle at range_min)."""
        lid = self.robot.lidar
        r = clean_ranges(scan, lid.range_min_m, lid.range_max_m, self.cfg.range_clip_m)
        return (r - self.extent).min(axis=1)

    # ---------------------------------------------------------------------------- VecEnv API
    def get_observations(self) -> TensorDict:
        return self._obs

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        cfg = self.cfg
        a = actions.detach().cpu().numpy().astype(np.float64)
        cmd = self.action_term(a, self.sim.cmd)
        if self.guard is not None:  # the deployment's safety filter, on the scan the policy just saw
            cmd = self.guard(cmd, self._scan)
        self.sim.step(cmd)
        self.steps += 1
        pose = self.sim.pose
        dist = self.bank.goal_distance(self.sim.world_idx, pose[:, :2])
        straight = np.hypot(self.goal[:, 0] - pose[:, 0], self.goal[:, 1] - pose[:, 1])
        reached = straight <= self.goal_tol
        collided = self.sim.collided.copy()
        timeout = (self.steps >= self.max_episode_length) & ~reached & ~collided
        clipped = np.clip(np.nan_to_num(a), -1.0, 1.0).astype(np.float32)
        action_rate = ((clipped - self.prev_action) ** 2).sum(axis=1)
        self.prev_action = clipped
        # Observe before resetting so the proximity term sees the post-step scan.
        self._scan = self.sim.scan()
        self._clear = clearance = self._clearance(self._scan)
        proximity = np.clip((cfg.proximity_margin_m - clearance) / cfg.proximity_margin_m, 0.0, 1.0)
        reward = (
            cfg.reward_progress_per_m * np.clip(self.prev_dist - dist, -1.0, 1.0)
            + cfg.reward_time_per_s * self.dt
            + cfg.reward_proximity * proximity * self.dt
            + cfg.reward_action_rate * action_rate
            + cfg.reward_success * reached
            + cfg.reward_collision * (collided & ~reached)
        )
        self.prev_dist = dist
        done = reached | collided | timeout
        n_done = int(done.sum())
        log = {}
        if n_done:
            log = {
                "/nav/success_rate": float(reached[done].mean()),
                "/nav/collision_rate": float((collided & ~reached)[done].mean()),
                "/nav/timeout_rate": float(timeout[done].mean()),
            }
            self.episode_stats["success"] += int(reached.sum())
            self.episode_stats["collision"] += int((collided & ~reached).sum())
            self.episode_stats["timeout"] += int(timeout.sum())
        done_ids = np.nonzero(done)[0]
        self._reset(done_ids)
        if len(done_ids):
            self._scan[done_ids] = self.sim.scan(done_ids)
            self._clear[done_ids] = self._clearance(self._scan[done_ids])
        self._obs = self._observe()
        self.episode_length_buf = torch.from_numpy(self.steps.copy())
        extras = {"time_outs": torch.from_numpy(timeout), "log": log}
        return (
            self._obs,
            torch.from_numpy(reward.astype(np.float32)),
            torch.from_numpy(done),
            extras,
        )
