"""Rigid-body validation simulator: the diff-drive base in MuJoCo, with wheel contacts and a ray lidar.

The model is built from the :class:`RobotConfig` with the same geometry and mass split as the URDF
(:func:`sim2real.nav.urdf.base_layout`): a chassis box on a free joint, two drive wheels (cylinders
on hinge joints driven by velocity servos with torque limits), two low-friction ball casters, a
ground plane with friction and the scenario's obstacles as static 1 m tall cylinders, or, for
map-only scenarios, boxes merged from the occupied map cells.

What it adds over the kinematic simulator: tyre slip and caster drag from real contact forces,
the servos' finite torque, chassis pitch under acceleration (which tilts the lidar), and exact
collision geometry. A :class:`MujocoNavSim` step is ``physics_rate_hz / control_rate_hz`` physics
steps; the lidar is cast once per control step, i.e. the lidar rate is not modelled (every frame
carries a fresh scan, as in the kinematic simulator).

Two MuJoCo models per scenario, for speed (a BARN world has ~240 obstacles):

- the physics model holds the obstacles as geoms of the world body. MuJoCo pairs the world body
  with each moving body directly and prunes its geoms with a bounding volume hierarchy; geoms of
  any other static body would be re-boxed in the broad phase at every physics step, which then
  costs more than the rest of the step.
- the lidar model holds only the obstacles, grouped into static "tile" bodies. mj_multiRay tests a
  ray against each body's bounding sphere before looking at the body's geoms, so a beam skips most
  tiles; a 720-beam scan costs about half of what it costs against one flat list of geoms. The rays
  start at the physics model's ``laser`` site, so the robot's own geoms can never be hit, and, as a
  level 2-D lidar on flat ground never sees it, neither is the floor.

Frames: the map frame is MuJoCo's world frame; base_link is the chassis body's frame, on the wheel
axle (``wheel_radius_m`` above the ground), as in the URDF.
"""

from __future__ import annotations

import math
from collections import deque
from xml.sax.saxutils import quoteattr

import mujoco
import numpy as np

from sim2real_runtime.robot import RobotConfig

from .scenario import OccupancyGrid, Scenario
from .sim_api import SensorFrame
from .urdf import CASTER_FRICTION, WHEEL_FRICTION, base_layout

OBSTACLE_HEIGHT_M = 1.0
"""Height of obstacle cylinders and map boxes (m), as in BARN."""
GROUND_FRICTION = 1.0
"""Sliding friction of the floor; MuJoCo uses the larger of two geoms' values unless a geom has
priority, so the casters (which have priority) keep their own low friction."""
WHEEL_SERVO_TIME_CONSTANT_S = 0.01
"""Time constant of a wheel velocity servo driving its share of the robot's inertia (s)."""
ROTOR_INERTIA_FRACTION = 0.5
"""Reflected gearmotor rotor inertia (MuJoCo joint armature) / the robot's inertia share per wheel."""
LIDAR_TILE_M = 2.0
"""Edge of the square tiles the lidar model groups obstacles into (m); 1.5-2 m is fastest on BARN."""
SETTLE_TIME_S = 0.3
"""How long the robot is left to sink into its soft contacts on reset before time starts (s)."""

# Geom groups (for viewers; the lidar model holds nothing but obstacles).
_GROUP_OBSTACLE = 0
_GROUP_GROUND = 1
_GROUP_ROBOT = 2
# contype/conaffinity bits (a pair collides if either's contype shares a bit with the other's
# conaffinity): 1 = chassis and casters, which touch the ground and obstacles; 2 = the wheels' tyre
# contact spheres, which touch only the ground; 4 = the wheel cylinders, which touch only obstacles.
# Ground and obstacles have contype 0, so the static world never collides with itself.
_CHASSIS_COLLISION = 'contype="1" conaffinity="0"'
_TYRE_COLLISION = 'contype="2" conaffinity="0"'
_WHEEL_COLLISION = 'contype="4" conaffinity="0"'
_GROUND_COLLISION = 'contype="0" conaffinity="3"'
_OBSTACLE_COLLISION = 'contype="0" conaffinity="5"'


def grid_boxes(grid: OccupancyGrid) -> np.ndarray:
    """Cover the occupied cells of ``grid`` exactly with few axis-aligned rectangles.

    Runs of occupied cells along a row become one rectangle, and identical runs in consecutive rows
    are merged into one taller rectangle.

    Returns:
        float64 [K, 4]: centre x, centre y, half-size x, half-size y of each rectangle (m), map frame.
    """
    occ = np.asarray(grid.occupied, dtype=bool)
    res = grid.resolution_m
    ox, oy = grid.origin_xy_m
    rects: list[tuple[int, int, int, int]] = []  # c0, c1 (exclusive), r0, r1 (exclusive)
    open_runs: dict[tuple[int, int], int] = {}  # (c0, c1) -> first row
    padded = np.zeros(occ.shape[1] + 2, dtype=np.int8)
    for r in range(occ.shape[0] + 1):
        runs: set[tuple[int, int]] = set()
        if r < occ.shape[0] and occ[r].any():
            padded[1:-1] = occ[r]
            edges = np.flatnonzero(np.diff(padded))
            runs = {(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2])}
        for run in list(open_runs):
            if run not in runs:
                rects.append((run[0], run[1], open_runs.pop(run), r))
        for run in runs:
            open_runs.setdefault(run, r)
    if not rects:
        return np.zeros((0, 4))
    a = np.array(rects, dtype=np.float64)
    return np.stack(
        [
            ox + 0.5 * (a[:, 0] + a[:, 1]) * res,
            oy + 0.5 * (a[:, 2] + a[:, 3]) * res,
            0.5 * (a[:, 1] - a[:, 0]) * res,
            0.5 * (a[:, 3] - a[:, 2]) * res,
        ],
        axis=1,
    )


def _yaw_quat(yaw: float) -> np.ndarray:
    return np.array([math.cos(0.5 * yaw), 0.0, 0.0, math.sin(0.5 * yaw)])


def _quat_yaw(q: np.ndarray) -> float:
    w, x, y, z = q
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def _quat_mat(q: np.ndarray) -> np.ndarray:
    """Rotation matrix [3, 3] of a unit quaternion (w, x, y, z)."""
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ]
    )


def robot_mjcf_body(robot: RobotConfig) -> tuple[str, str]:
    """MJCF of the robot: (``<body>`` element for the worldbody, ``<actuator>`` children).

    The chassis body is named ``base_link`` with a free joint ``base_free``; the wheels' hinges are
    ``left_wheel_joint`` / ``right_wheel_joint`` (axis +y, positive drives forward), actuated by
    velocity servos ``left_wheel`` / ``right_wheel`` whose control is the wheel speed (rad/s).
    """
    lay = base_layout(robot)
    r = robot.wheel_radius_m
    L, W, H = robot.footprint_length_m, robot.footprint_width_m, robot.body_height_m
    # The servo drives the wheel plus its share of the robot's translational inertia; kv = I / tau
    # makes the unsaturated setpoint response first order with time constant tau.
    wheel_iyy = 0.5 * lay.wheel_mass_kg * r * r
    share = 0.5 * robot.mass_kg * r * r  # half the robot's mass, reflected to one wheel's axle
    # The gearmotor's rotor inertia, reflected through the gearbox (ratio squared), is of the order
    # of the robot's own share. It also keeps the wheel's unloaded servo response (I / kv) slower
    # than a physics step; a bare light wheel under a stiff servo makes the tyre contact chatter.
    armature = ROTOR_INERTIA_FRACTION * share
    kv = (wheel_iyy + armature + share) / WHEEL_SERVO_TIME_CONSTANT_S
    tau = lay.max_wheel_torque_nm
    wmax = lay.max_wheel_speed_radps
    body = [
        f'<body name="base_link" pos="0 0 {r}">',
        '  <freejoint name="base_free"/>',
        f'  <geom name="chassis" type="box" size="{L / 2} {W / 2} {H / 2}" pos="0 0 {lay.chassis_z_m}"'
        f' mass="{lay.chassis_mass_kg}" group="{_GROUP_ROBOT}" {_CHASSIS_COLLISION} rgba="0.85 0.75 0.1 1"/>',
    ]
    for where, sign in (("front", 1.0), ("rear", -1.0)):
        # priority makes the caster's own (low) friction apply against the higher-friction floor.
        body.append(
            f'  <geom name="{where}_caster" type="sphere" size="{lay.caster_radius_m}"'
            f' pos="{sign * lay.caster_x_m} 0 {lay.caster_z_m}" mass="{lay.caster_mass_kg}"'
            f' friction="{CASTER_FRICTION} 0.001 0.0001" priority="1" group="{_GROUP_ROBOT}"'
            f" {_CHASSIS_COLLISION}/>"
        )
    body.append(f'  <site name="laser" pos="{robot.lidar.mount_x_m} 0 {lay.laser_z_m}" size="0.01"/>')
    for side, sign in (("left", 1.0), ("right", -1.0)):
        body += [
            f'  <body name="{side}_wheel_link" pos="0 {sign * lay.wheel_y_m} 0">',
            f'    <joint name="{side}_wheel_joint" type="hinge" axis="0 1 0" armature="{armature}"/>',
            f'    <geom name="{side}_wheel" type="cylinder" size="{r} {lay.wheel_width_m / 2}" zaxis="0 1 0"'
            f' mass="{lay.wheel_mass_kg}" group="{_GROUP_ROBOT}" {_WHEEL_COLLISION} rgba="0.1 0.1 0.1 1"/>',
            # The tyre touches the floor through a massless sphere of the wheel's radius: one contact
            # point under the axle, like a real tyre's patch. A flat cylinder on a plane gets a contact
            # at each rim edge, and turning in place then scrubs them against each other at full
            # friction, which no pneumatic or rubber tyre does.
            f'    <geom name="{side}_tyre" type="sphere" size="{r}" mass="0"'
            f' friction="{WHEEL_FRICTION} 0.005 0.0001" group="{_GROUP_ROBOT}" {_TYRE_COLLISION}'
            ' rgba="0 0 0 0"/>',
            "  </body>",
        ]
    body.append("</body>")
    actuators = [
        f'<velocity name="{side}_wheel" joint="{side}_wheel_joint" kv="{kv}" ctrlrange="{-wmax} {wmax}"'
        f' forcerange="{-tau} {tau}"/>'
        for side in ("left", "right")
    ]
    return "\n".join(body), "\n".join(actuators)


Shape = tuple[str, float, float, float, float]
"""An obstacle: MJCF geom type ("cylinder" or "box"), centre x, y (m), half-sizes x, y (m; both are
the radius for a cylinder)."""


def scenario_shapes(scenario: Scenario) -> list[Shape]:
    """The scenario's obstacles: its cylinders, or, only if it has none, boxes covering its map.

    BARN scenarios carry both, the map being the rasterisation of the exact cylinders.
    """
    circles = np.asarray(scenario.circles, dtype=np.float64).reshape(-1, 3)
    shapes: list[Shape] = [("cylinder", float(x), float(y), float(r), float(r)) for x, y, r in circles]
    if not shapes and scenario.grid is not None:
        shapes = [
            ("box", float(cx), float(cy), float(hx), float(hy))
            for cx, cy, hx, hy in grid_boxes(scenario.grid)
        ]
    return shapes


def _geom(shape: Shape, dx: float, dy: float, attrs: str) -> str:
    """MJCF of one obstacle standing on the floor, positioned relative to (dx, dy)."""
    kind, x, y, sx, sy = shape
    h = 0.5 * OBSTACLE_HEIGHT_M
    size = f"{sx} {h}" if kind == "cylinder" else f"{sx} {sy} {h}"
    return f'<geom type="{kind}" pos="{x - dx} {y - dy} {h}" size="{size}" {attrs}/>'


def scenario_mjcf(robot: RobotConfig, scenario: Scenario, physics_rate_hz: float = 500.0) -> str:
    """MJCF (XML text) of the physics model: ``robot`` at the origin in ``scenario``'s world.

    The floor is a body of its own, so the world body's geoms are exactly the obstacles, and the
    contact sensor ``obstacle_contact`` counts the robot's contacts with them.
    """
    body, actuators = robot_mjcf_body(robot)
    obstacle = f'group="{_GROUP_OBSTACLE}" {_OBSTACLE_COLLISION} rgba="0.5 0.5 0.55 1"'
    return "\n".join(
        [
            f"<mujoco model={quoteattr(robot.name + '_nav')}>",
            '  <compiler angle="radian" autolimits="true"/>',
            # implicitfast integrates the velocity servos' damping implicitly: stiff servos stay stable
            # at 2 ms steps. A few noslip iterations remove the creep of MuJoCo's soft friction, which
            # would otherwise let the tyres slip ~2 % under steady drive. The sleep flag makes MuJoCo
            # compute the poses of static geoms once instead of at every step; the robot, which has
            # actuators, is never put to sleep.
            f'  <option timestep="{1.0 / physics_rate_hz}" integrator="implicitfast" solver="Newton"'
            ' iterations="20" ls_iterations="8" noslip_iterations="3" cone="pyramidal">',
            '    <flag sleep="enable"/>',
            "  </option>",
            "  <worldbody>",
            '    <body name="floor">',
            f'      <geom name="ground" type="plane" size="0 0 1" friction="{GROUND_FRICTION} 0.005 0.0001"'
            f' group="{_GROUP_GROUND}" {_GROUND_COLLISION}/>',
            "    </body>",
            *("    " + _geom(sh, 0.0, 0.0, obstacle) for sh in scenario_shapes(scenario)),
            *("    " + line for line in body.splitlines()),
            "  </worldbody>",
            "  <actuator>",
            *("    " + a for a in actuators.splitlines()),
            "  </actuator>",
            # Counts the robot-obstacle contacts inside MuJoCo, far cheaper than scanning d.contact
            # from Python after every physics step. Evaluated with the accelerations (in mj_step2).
            "  <sensor>",
            '    <contact name="obstacle_contact" subtree1="base_link" body2="world" data="found"/>',
            "  </sensor>",
            "</mujoco>",
        ]
    )


def lidar_mjcf(scenario: Scenario, tile_m: float = LIDAR_TILE_M) -> str:
    """MJCF (XML text) of the lidar model: the scenario's obstacles in static ``tile_m`` tiles."""
    tiles: dict[tuple[int, int], list[Shape]] = {}
    for sh in scenario_shapes(scenario):
        tiles.setdefault((math.floor(sh[1] / tile_m), math.floor(sh[2] / tile_m)), []).append(sh)
    lines = [f"<mujoco model={quoteattr(scenario.name + '_lidar')}>", "  <worldbody>"]
    for (i, j), members in sorted(tiles.items()):
        bx, by = (i + 0.5) * tile_m, (j + 0.5) * tile_m
        # The bounding volumes live in a body's inertial frame, and mj_multiRay offsets them by the
        # inertial frame's position without rotating them: an explicit inertial at the body origin
        # keeps that exact. Geoms must be collidable (contype) to get bounding volumes at all.
        lines += [
            f'    <body name="tile_{i}_{j}" pos="{bx} {by} 0">',
            '      <inertial pos="0 0 0" mass="1" diaginertia="1 1 1"/>',
            *("      " + _geom(sh, bx, by, 'contype="1" conaffinity="1"') for sh in members),
            "    </body>",
        ]
    return "\n".join([*lines, "  </worldbody>", "</mujoco>"])


class MujocoNavSim:
    """Single-robot :class:`~sim2real.nav.sim_api.NavSim` with MuJoCo rigid-body physics.

    Args:
        robot: the base to simulate.
        control_rate_hz: rate of :meth:`step` calls (Hz).
        physics_rate_hz: MuJoCo integration rate (Hz); must be a whole multiple of the control rate.
        lidar_noise: add Gaussian range noise of ``robot.lidar.range_noise_std_m`` (seeded by reset).
        cmd_latency_s: delay between a :meth:`step` command and the base controller receiving it (s).
    """

    def __init__(
        self,
        robot: RobotConfig,
        control_rate_hz: float = 10.0,
        physics_rate_hz: float = 500.0,
        lidar_noise: bool = True,
        cmd_latency_s: float = 0.0,
    ) -> None:
        ratio = physics_rate_hz / control_rate_hz
        if control_rate_hz <= 0 or round(ratio) < 1 or abs(ratio - round(ratio)) > 1e-6:
            raise ValueError(
                f"physics_rate_hz ({physics_rate_hz}) must be a whole multiple of control_rate_hz "
                f"({control_rate_hz})"
            )
        if cmd_latency_s < 0:
            raise ValueError(f"cmd_latency_s must be >= 0, got {cmd_latency_s}")
        self.robot = robot
        self.control_rate_hz = float(control_rate_hz)
        self.physics_rate_hz = float(physics_rate_hz)
        self.substeps = round(ratio)
        self.lidar_noise = lidar_noise
        self.cmd_latency_s = float(cmd_latency_s)
        self._dt = 1.0 / physics_rate_hz
        lid = robot.lidar
        angles = lid.beam_angles_rad()
        # Beam directions in the laser frame [3, num_beams]; the laser frame is parallel to base_link.
        self._beams_local = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)])
        self._ray_geomid = np.zeros(lid.num_beams, dtype=np.int32)
        self._ray_dist = np.zeros(lid.num_beams, dtype=np.float64)
        self._scenario: Scenario | None = None
        self.model: mujoco.MjModel | None = None
        """The physics model of the current scenario."""
        self.data: mujoco.MjData | None = None
        self.lidar_model: mujoco.MjModel | None = None
        """The lidar model of the current scenario (obstacles only, see the module docstring)."""
        self.lidar_data: mujoco.MjData | None = None
        self._rng = np.random.default_rng(0)
        self._collided = False
        self._twist_ref = np.zeros(2)  # the base controller's acceleration-limited twist setpoint
        self._target = np.zeros(2)  # the latest (saturated) command that reached the base controller
        self._pending: deque[tuple[float, float, float]] = deque()  # (arrival time, v, w)
        self._time = 0.0  # time since reset, summed in physics steps (s)
        self._touch_adr = 0
        self._laser_site = 0

    # ------------------------------------------------------------------------------- model build

    def _build(self, scenario: Scenario) -> None:
        m = mujoco.MjModel.from_xml_string(scenario_mjcf(self.robot, scenario, self.physics_rate_hz))
        self.model = m
        self.data = mujoco.MjData(m)
        self._scenario = scenario  # held, so identity comparison cannot be fooled by a recycled id()
        # The obstacles' collision copies are exactly the world body's geoms.
        self._is_obstacle = m.geom_bodyid == 0
        self._free_qpos = m.jnt_qposadr[m.joint("base_free").id]
        self._free_qvel = m.jnt_dofadr[m.joint("base_free").id]
        self._act = (m.actuator("left_wheel").id, m.actuator("right_wheel").id)
        self._touch_adr = int(m.sensor_adr[m.sensor("obstacle_contact").id])
        self._laser_site = m.site("laser").id
        self.lidar_model = mujoco.MjModel.from_xml_string(lidar_mjcf(scenario))
        self.lidar_data = mujoco.MjData(self.lidar_model)
        mujoco.mj_forward(self.lidar_model, self.lidar_data)  # static: poses computed once

    # ------------------------------------------------------------------------------- NavSim API

    def reset(self, scenario: Scenario, seed: int) -> SensorFrame:
        """Load ``scenario`` (rebuilding the model only if it is a different object), put the robot at
        ``scenario.start`` at rest and settled on its wheels, and return the first frame."""
        if scenario is not self._scenario or self.model is None:
            self._build(scenario)
        m, d = self.model, self.data
        assert m is not None and d is not None
        mujoco.mj_resetData(m, d)
        x0, y0, yaw0 = (float(v) for v in scenario.start)
        q = self._free_qpos
        d.qpos[q : q + 3] = (x0, y0, self.robot.wheel_radius_m)
        d.qpos[q + 3 : q + 7] = _yaw_quat(yaw0)
        # Let the robot sink into its soft contacts, then put it back exactly on the start pose
        # (keeping the settled height and tilt) with zero velocity.
        for _ in range(round(SETTLE_TIME_S / self._dt)):
            mujoco.mj_step(m, d)
        quat = d.qpos[q + 3 : q + 7].copy()
        quat = _quat_mul(_yaw_quat(yaw0 - _quat_yaw(quat)), quat)
        d.qpos[q : q + 2] = (x0, y0)
        d.qpos[q + 3 : q + 7] = quat / np.linalg.norm(quat)
        d.qvel[:] = 0.0
        d.qacc_warmstart[:] = 0.0
        d.ctrl[:] = 0.0
        d.time = 0.0
        self._time = 0.0
        # step() alternates mj_step2/mj_step1, so it expects mj_step1's results to be current.
        mujoco.mj_forward(m, d)
        self._collided = self._touching()
        self._rng = np.random.default_rng(seed)
        self._twist_ref[:] = 0.0
        self._target[:] = 0.0
        self._pending.clear()
        return self._frame()

    def step(self, cmd_v_mps: float, cmd_w_radps: float, scan: bool = True) -> SensorFrame:
        """Send (v, w) as on /cmd_vel, advance one control period, return the new frame.

        With ``scan=False`` the lidar is not cast and the frame's ``ranges_m`` is empty (the sim
        bridge steps physics faster than the lidar rate).

        The base controller saturates the command to the speed limits, ramps its setpoint at most
        by the acceleration limits per physics step, and converts it to wheel speeds.
        """
        m, d = self.model, self.data
        assert m is not None and d is not None, "reset() first"
        rb = self.robot
        v = min(max(float(cmd_v_mps), rb.min_linear_speed_mps), rb.max_linear_speed_mps)
        w = min(max(float(cmd_w_radps), -rb.max_angular_speed_radps), rb.max_angular_speed_radps)
        if not (math.isfinite(v) and math.isfinite(w)):
            raise ValueError(f"non-finite command ({cmd_v_mps}, {cmd_w_radps})")
        t = self._time
        self._pending.append((t + self.cmd_latency_s, v, w))
        dt = self._dt
        dv = rb.max_linear_accel_mps2 * dt
        dw = rb.max_angular_accel_radps2 * dt
        half_sep = 0.5 * rb.wheel_separation_m
        inv_r = 1.0 / rb.wheel_radius_m
        ref_v, ref_w = self._twist_ref
        tgt_v, tgt_w = self._target
        pending = self._pending
        ctrl = d.ctrl
        ia, ib = self._act
        sensordata = d.sensordata
        touch = self._touch_adr
        touched = 0.0
        step1, step2 = mujoco.mj_step1, mujoco.mj_step2
        for _ in range(self.substeps):
            # Half a step of slack so float error never delays a command by one physics step.
            while pending and pending[0][0] <= t + 0.5 * dt:
                _, tgt_v, tgt_w = pending.popleft()
            ref_v += min(max(tgt_v - ref_v, -dv), dv)
            ref_w += min(max(tgt_w - ref_w, -dw), dw)
            ctrl[ia] = (ref_v - ref_w * half_sep) * inv_r
            ctrl[ib] = (ref_v + ref_w * half_sep) * inv_r
            # mj_step split in two (mj_step1: kinematics and collision detection; mj_step2: forces,
            # the contact sensor, integration) so that after the loop the contacts are those of the
            # state reached. The sensor in each mj_step2 counts the contacts of the state before it.
            step2(m, d)
            step1(m, d)
            touched += sensordata[touch]
            t += dt
        self._time = t
        self._twist_ref[:] = (ref_v, ref_w)
        self._target[:] = (tgt_v, tgt_w)
        # The loop's sensor readings saw every state but the last; _touching() checks that one.
        self._collided = self._collided or touched > 0 or self._touching()
        return self._frame(scan)

    # ------------------------------------------------------------------------------- internals

    def _touching(self) -> bool:
        """Whether any current contact involves an obstacle (only robot geoms can touch one)."""
        d = self.data
        assert d is not None
        return bool(d.ncon) and bool(self._is_obstacle[d.contact.geom].any())

    def wheel_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Left and right wheel joint angles [2] (rad) and speeds [2] (rad/s), for /joint_states."""
        m, d = self.model, self.data
        assert m is not None and d is not None
        ids = [m.joint(f"{side}_wheel_joint").id for side in ("left", "right")]
        return d.qpos[m.jnt_qposadr[ids]].copy(), d.qvel[m.jnt_dofadr[ids]].copy()

    def _frame(self, scan: bool = True) -> SensorFrame:
        m, d = self.model, self.data
        assert m is not None and d is not None
        q, dq = self._free_qpos, self._free_qvel
        pos = d.qpos[q : q + 3]
        quat = d.qpos[q + 3 : q + 7]
        rot = _quat_mat(quat)
        # Free joint velocities: linear in the world frame, angular in the body frame.
        v_fwd = float(rot[:, 0] @ d.qvel[dq : dq + 3])
        yaw_rate = float(rot[2] @ d.qvel[dq + 3 : dq + 6])
        return SensorFrame(
            ranges_m=self._scan() if scan else np.zeros(0, dtype=np.float32),
            pose=np.array([pos[0], pos[1], _quat_yaw(quat)]),
            twist=np.array([v_fwd, yaw_rate]),
            time_s=float(d.time),
            collided=self._collided,
        )

    def _scan(self) -> np.ndarray:
        """Cast the lidar from the laser site's current pose: float32 [num_beams], +inf = no return."""
        d, lm, ld = self.data, self.lidar_model, self.lidar_data
        assert d is not None and lm is not None and ld is not None
        lid = self.robot.lidar
        # The site's pose is current: reset() ends with mj_forward and step() with mj_step1.
        origin = d.site_xpos[self._laser_site]
        xmat = d.site_xmat[self._laser_site].reshape(3, 3)
        dirs = np.ascontiguousarray((xmat @ self._beams_local).T).reshape(-1)
        # Geoms further than range_max are culled before any ray is cast.
        mujoco.mj_multiRay(
            lm,
            ld,
            origin,
            dirs,
            None,
            1,
            -1,
            self._ray_geomid,
            self._ray_dist,
            None,
            lid.num_beams,
            lid.range_max_m,
        )
        ranges = self._ray_dist.copy()
        hit = self._ray_geomid >= 0
        if self.lidar_noise and lid.range_noise_std_m > 0:
            ranges[hit] += self._rng.normal(0.0, lid.range_noise_std_m, int(hit.sum()))
            np.maximum(ranges, 0.0, out=ranges)
        # Like sensor_msgs/LaserScan (REP-117): beyond range_max is no return (+inf); below
        # range_min is kept, and the runtime reads it as an object too close to measure
        # (sim2real_runtime.nav_terms: an obstacle at range_min), as it reads a driver's -inf.
        ranges[~hit | (ranges > lid.range_max_m)] = np.inf
        return ranges.astype(np.float32)
