"""The fast simulator: many diff-drive robots in 2-D occupancy-grid worlds, vectorised with numba.

Used for training (thousands of steps per second on two cores) and as a quick evaluator. It models
what matters to a local planner: a first-order velocity response with latency, slip, acceleration
limits, the footprint rectangle for collisions, and the lidar with noise and dropouts. Mass and
friction, which MuJoCo simulates directly, appear here through what they change for the planner:
the response time constant, wheel slip and the achievable acceleration, all randomised. The MuJoCo
simulator (:mod:`sim2real.nav.mujoco_sim`) validates it with rigid-body physics; the gap between
the two is measured by ``benchmarks/nav_sim_gap.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sim2real_runtime.robot import RobotConfig

from .grid_kernels import footprint_collides, geodesic_distance, raycast
from .scenario import OccupancyGrid, Scenario, rasterize
from .sim_api import SensorFrame


@dataclass(frozen=True)
class DomainRandomization:
    """Ranges (low, high) sampled uniformly per episode; a (x, x) range disables randomisation."""

    response_time_constant_s: tuple[float, float] = (0.03, 0.15)
    """First-order time constant of the base following the commanded twist (s)."""
    latency_s: tuple[float, float] = (0.0, 0.08)
    """Delay between a command and the base starting to follow it (s)."""
    linear_slip: tuple[float, float] = (0.92, 1.02)
    """Achieved / commanded forward speed (wheel slip, tyre wear, load)."""
    angular_slip: tuple[float, float] = (0.8, 1.05)
    """Achieved / commanded yaw rate (skid-steer bases lose yaw rate on high-friction floors)."""
    range_noise_std_m: tuple[float, float] = (0.0, 0.03)
    """Lidar range noise standard deviation (m)."""
    beam_dropout: tuple[float, float] = (0.0, 0.05)
    """Probability that a beam reports no return."""
    twist_noise_std: tuple[float, float] = (0.0, 0.05)
    """Odometry twist noise standard deviation (m/s and rad/s)."""
    accel_scale: tuple[float, float] = (0.6, 1.0)
    """Achieved / nominal acceleration limit (payload mass, floor friction, motor torque)."""

    @staticmethod
    def none() -> DomainRandomization:
        """Nominal parameters: no noise, no latency, ideal response."""
        return DomainRandomization(
            (0.05, 0.05), (0.0, 0.0), (1.0, 1.0), (1.0, 1.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (1.0, 1.0)
        )


class WorldBank:
    """A stack of worlds as padded occupancy grids, with goal-distance fields for reward shaping."""

    def __init__(self, scenarios: list[Scenario], robot: RobotConfig, resolution_m: float = 0.05) -> None:
        grids = [rasterize(s, resolution_m) for s in scenarios]
        h = max(g.shape[0] for g in grids)
        w = max(g.shape[1] for g in grids)
        n = len(grids)
        self.resolution_m = resolution_m
        self.scenarios = scenarios
        self.grids = np.zeros((n, h, w), dtype=np.uint8)
        self.origins = np.zeros((n, 2))
        self.geodesic = np.full((n, h, w), np.inf, dtype=np.float32)
        # Inflate by a little less than the half width so the shaping follows gaps the robot fits.
        inflate_cells = max(int((0.5 * robot.footprint_width_m * 0.8) / resolution_m), 0)
        yy, xx = np.mgrid[-inflate_cells : inflate_cells + 1, -inflate_cells : inflate_cells + 1]
        disk = xx**2 + yy**2 <= inflate_cells**2
        for i, (s, g) in enumerate(zip(scenarios, grids)):
            gh, gw = g.shape
            self.grids[i, :gh, :gw] = g.occupied
            self.origins[i] = g.origin_xy_m
            gr, gc = self._cell(g, s.goal)
            free = ~ndimage.binary_dilation(g.occupied, disk) if inflate_cells else ~g.occupied
            free[max(gr - 2, 0) : gr + 3, max(gc - 2, 0) : gc + 3] = True
            d = geodesic_distance(free, gr, gc, resolution_m)
            sr, sc = self._cell(g, s.start[:2])
            if not np.isfinite(d[sr, sc]):  # too tight when inflated: fall back to the raw grid
                d = geodesic_distance(~g.occupied, gr, gc, resolution_m)
            self.geodesic[i, :gh, :gw] = d
        self.starts = np.array([s.start for s in scenarios], dtype=np.float64)
        self.goals = np.array([s.goal for s in scenarios], dtype=np.float64)
        self.goal_tolerance_m = np.array([s.goal_tolerance_m for s in scenarios])

    @staticmethod
    def _cell(g: OccupancyGrid, xy: tuple[float, ...]) -> tuple[int, int]:
        c = int((xy[0] - g.origin_xy_m[0]) / g.resolution_m)
        r = int((xy[1] - g.origin_xy_m[1]) / g.resolution_m)
        return min(max(r, 0), g.shape[0] - 1), min(max(c, 0), g.shape[1] - 1)

    def goal_distance(self, world_idx: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Geodesic distance to the goal (m) at positions ``xy`` [B, 2]; the straight line off the grid
        or where the field is infinite (inside obstacles)."""
        o = self.origins[world_idx]
        c = ((xy[:, 0] - o[:, 0]) / self.resolution_m).astype(np.int64)
        r = ((xy[:, 1] - o[:, 1]) / self.resolution_m).astype(np.int64)
        h, w = self.grids.shape[1:]
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        d = np.full(len(xy), np.inf)
        d[inside] = self.geodesic[world_idx[inside], r[inside], c[inside]]
        straight = np.hypot(*(self.goals[world_idx] - xy).T)
        return np.where(np.isfinite(d), d, straight + 2.0)


class KinematicBatchSim:
    """B robots, each in one world of a :class:`WorldBank`, advanced in lock-step.

    State: ``pose`` [B, 3] (x, y, yaw), ``vel`` [B, 2] achieved (v, w), ``cmd`` [B, 2] last command.
    """

    def __init__(
        self,
        robot: RobotConfig,
        bank: WorldBank,
        num_envs: int,
        control_rate_hz: float,
        dr: DomainRandomization,
        substeps: int = 4,
        scan_max_range_m: float | None = None,
        seed: int = 0,
    ) -> None:
        self.robot = robot
        self.bank = bank
        self.num_envs = num_envs
        self.dt = 1.0 / control_rate_hz
        self.substeps = substeps
        self.dr = dr
        self.rng = np.random.default_rng(seed)
        self.angles = robot.lidar.beam_angles_rad()
        self.scan_max_range_m = min(scan_max_range_m or robot.lidar.range_max_m, robot.lidar.range_max_m)
        b = num_envs
        self.world_idx = np.zeros(b, dtype=np.int64)
        self.pose = np.zeros((b, 3))
        self.vel = np.zeros((b, 2))
        self.cmd = np.zeros((b, 2))
        self.collided = np.zeros(b, dtype=bool)
        self.params = {k: np.zeros(b) for k in DomainRandomization.__dataclass_fields__}
        self._hit = np.zeros(b, dtype=bool)

    def reset(self, ids: np.ndarray, world_idx: np.ndarray, pose: np.ndarray) -> None:
        """Place robots ``ids`` at rest at ``pose`` [k, 3] in worlds ``world_idx`` [k]; new DR draws."""
        self.world_idx[ids] = world_idx
        self.pose[ids] = pose
        self.vel[ids] = 0.0
        self.cmd[ids] = 0.0
        self.collided[ids] = False
        for k, (lo, hi) in vars(self.dr).items():
            self.params[k][ids] = self.rng.uniform(lo, hi, size=len(ids))

    def step(self, cmd: np.ndarray) -> None:
        """Advance one control period with velocity commands ``cmd`` [B, 2] (m/s, rad/s)."""
        r = self.robot
        h = self.dt / self.substeps
        alpha = 1.0 - np.exp(-h / self.params["response_time_constant_s"])[:, None]
        slip = np.stack([self.params["linear_slip"], self.params["angular_slip"]], axis=1)
        max_dv = np.array([r.max_linear_accel_mps2, r.max_angular_accel_radps2]) * h
        max_dv = max_dv * self.params["accel_scale"][:, None]
        lo = np.array([r.min_linear_speed_mps, -r.max_angular_speed_radps])
        hi = np.array([r.max_linear_speed_mps, r.max_angular_speed_radps])
        latency = self.params["latency_s"][:, None]
        hl, hw = 0.5 * r.footprint_length_m, 0.5 * r.footprint_width_m
        for k in range(self.substeps):
            t = k * h
            active = np.where(t >= latency, cmd, self.cmd)
            target = np.clip(active, lo, hi) * slip
            self.vel += np.clip((target - self.vel) * alpha, -max_dv, max_dv)
            v, w = self.vel[:, 0], self.vel[:, 1]
            yaw_mid = self.pose[:, 2] + 0.5 * w * h
            self.pose[:, 0] += v * np.cos(yaw_mid) * h
            self.pose[:, 1] += v * np.sin(yaw_mid) * h
            self.pose[:, 2] = (self.pose[:, 2] + w * h + np.pi) % (2 * np.pi) - np.pi
            footprint_collides(
                self.bank.grids,
                self.world_idx,
                self.bank.origins,
                self.bank.resolution_m,
                self.pose,
                hl,
                hw,
                self._hit,
            )
            self.collided |= self._hit
        self.cmd = cmd.copy()

    def scan(self, ids: np.ndarray | None = None) -> np.ndarray:
        """Lidar ranges float32 [k, num_beams] of robots ``ids`` (default: all), with this episode's
        noise and dropouts, as a REP-117 driver publishes them: +inf = no return (dropouts too), a
        reading below range_min (an obstacle at the window) is kept as it is, which the runtime
        reads as too close (:mod:`sim2real_runtime.nav_terms`)."""
        lid = self.robot.lidar
        ids = np.arange(self.num_envs) if ids is None else ids
        pose = self.pose[ids]
        lp = pose.copy()
        lp[:, 0] += lid.mount_x_m * np.cos(pose[:, 2])
        lp[:, 1] += lid.mount_x_m * np.sin(pose[:, 2])
        out = np.empty((len(ids), len(self.angles)), dtype=np.float32)
        raycast(
            self.bank.grids,
            self.world_idx[ids],
            self.bank.origins,
            self.bank.resolution_m,
            lp,
            self.angles,
            self.scan_max_range_m,
            out,
        )
        noise = self.params["range_noise_std_m"][ids, None]
        if noise.any():
            out += self.rng.standard_normal(out.shape, dtype=np.float32) * noise.astype(np.float32)
        drop = self.rng.random(out.shape, dtype=np.float32) < self.params["beam_dropout"][ids, None]
        out[drop] = np.inf
        out[out > lid.range_max_m] = np.inf
        return out

    def measured_twist(self) -> np.ndarray:
        """Odometry twist [B, 2] with this episode's noise."""
        noise = self.params["twist_noise_std"][:, None]
        return self.vel + self.rng.standard_normal(self.vel.shape) * noise


class KinematicNavSim:
    """The fast simulator as a single-robot :class:`~sim2real.nav.sim_api.NavSim` (for evaluation)."""

    def __init__(
        self, robot: RobotConfig, control_rate_hz: float = 10.0, dr: DomainRandomization | None = None
    ) -> None:
        self.robot = robot
        self.control_rate_hz = control_rate_hz
        self.dr = dr or DomainRandomization.none()
        self._scenario: Scenario | None = None
        self.sim: KinematicBatchSim | None = None
        self.time_s = 0.0

    def reset(self, scenario: Scenario, seed: int) -> SensorFrame:
        if scenario is not self._scenario:
            self.bank = WorldBank([scenario], self.robot)
            self._scenario = scenario
        self.sim = KinematicBatchSim(self.robot, self.bank, 1, self.control_rate_hz, self.dr, seed=seed)
        self.sim.reset(np.array([0]), np.array([0]), np.array([scenario.start]))
        self.time_s = 0.0
        return self._frame()

    def step(self, cmd_v_mps: float, cmd_w_radps: float) -> SensorFrame:
        assert self.sim is not None, "reset() first"
        self.sim.step(np.array([[cmd_v_mps, cmd_w_radps]], dtype=np.float64))
        self.time_s += 1.0 / self.control_rate_hz
        return self._frame()

    def _frame(self) -> SensorFrame:
        assert self.sim is not None
        return SensorFrame(
            ranges_m=self.sim.scan()[0],
            pose=self.sim.pose[0].copy(),
            twist=self.sim.measured_twist()[0],
            time_s=self.time_s,
            collided=bool(self.sim.collided[0]),
        )
