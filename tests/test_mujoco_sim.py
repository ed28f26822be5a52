"""MuJoCo validation simulator and the URDF generator: motion, limits, lidar, collisions, assets."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco
import numpy as np
import pytest

from sim2real.nav.mujoco_sim import MujocoNavSim, grid_boxes
from sim2real.nav.scenario import OccupancyGrid, Scenario, load_scenario
from sim2real.nav.urdf import base_layout, robot_urdf
from sim2real_runtime.robot import RobotConfig, load_robot

REPO = Path(__file__).resolve().parents[1]
BARN_WORLD_001 = REPO.parent / "shared" / "benchmarks" / "barn" / "world_001.scenario.yaml"
ROBOTS = ["jackal", "turtlebot3_burger"]


def _scenario(circles: list[list[float]], start: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Scenario:
    return Scenario(
        name="test",
        start=start,
        goal=(10.0, 0.0),
        goal_tolerance_m=1.0,
        time_limit_s=100.0,
        ref_path_length_m=None,
        circles=np.array(circles, dtype=np.float64).reshape(-1, 3),
    )


# An "empty" world: one cylinder far outside every lidar's range and every test's path.
EMPTY = _scenario([[80.0, 80.0, 0.5]])


@pytest.fixture(scope="module")
def jackal() -> RobotConfig:
    return load_robot("jackal")


def _run(sim: MujocoNavSim, v: float, w: float, seconds: float) -> list:
    return [sim.step(v, w) for _ in range(round(seconds * sim.control_rate_hz))]


# --------------------------------------------------------------------------------------- motion


@pytest.mark.parametrize("name", ROBOTS)
def test_drives_straight(name: str) -> None:
    robot = load_robot(name)
    sim = MujocoNavSim(robot, lidar_noise=False)
    v = min(1.0, 0.9 * robot.max_linear_speed_mps)
    first = sim.reset(EMPTY, seed=0)
    assert first.time_s == 0.0 and not first.collided
    np.testing.assert_allclose(first.pose, [0.0, 0.0, 0.0], atol=1e-9)
    frames = _run(sim, v, 0.0, 2.0)
    x, y, yaw = frames[-1].pose
    assert frames[-1].time_s == pytest.approx(2.0)
    assert x == pytest.approx(2.0 * v, rel=0.10)
    assert abs(y) < 0.01 and abs(yaw) < 0.01
    assert frames[-1].twist[0] == pytest.approx(v, rel=0.05)
    assert not frames[-1].collided


@pytest.mark.parametrize("name", ROBOTS)
def test_turns_in_place(name: str) -> None:
    robot = load_robot(name)
    sim = MujocoNavSim(robot, lidar_noise=False)
    sim.reset(_scenario([[80.0, 80.0, 0.5]], start=(1.0, -2.0, 0.5)), seed=0)
    frames = _run(sim, 0.0, 1.0, 2.0)
    # Yaw change over the second second (after the acceleration ramp), unwrapped.
    dyaw = math.remainder(frames[-1].pose[2] - frames[9].pose[2], 2 * math.pi)
    assert dyaw == pytest.approx(1.0, rel=0.10)
    assert frames[-1].twist[1] == pytest.approx(1.0, rel=0.05)
    # In place: the axle centre stays where it was.
    assert np.hypot(frames[-1].pose[0] - 1.0, frames[-1].pose[1] + 2.0) < 0.02


def test_acceleration_and_speed_limits(jackal: RobotConfig) -> None:
    sim = MujocoNavSim(jackal, lidar_noise=False)
    sim.reset(EMPTY, seed=0)
    dt = 1.0 / sim.control_rate_hz
    v1 = sim.step(2.0, 0.0).twist[0]
    # The base ramps its setpoint at max_linear_accel: after 0.1 s it cannot exceed a*dt (0.4 m/s),
    # but it must have got most of the way (the servos lag their setpoint by ~10 ms).
    assert 0.6 * jackal.max_linear_accel_mps2 * dt < v1 <= jackal.max_linear_accel_mps2 * dt + 0.02
    # Commands beyond the speed limit are saturated, not followed.
    frames = _run(sim, 10.0, 0.0, 1.5)
    assert frames[-1].twist[0] == pytest.approx(jackal.max_linear_speed_mps, rel=0.03)
    w1 = MujocoNavSim(jackal, lidar_noise=False)
    w1.reset(EMPTY, seed=0)
    assert abs(w1.step(0.0, 4.0).twist[1]) <= jackal.max_angular_accel_radps2 * dt + 0.05


def test_command_latency(jackal: RobotConfig) -> None:
    sim = MujocoNavSim(jackal, lidar_noise=False, cmd_latency_s=0.1)
    sim.reset(EMPTY, seed=0)
    # The first command arrives at the base only after one control period.
    assert abs(sim.step(1.0, 0.0).twist[0]) < 0.01
    assert sim.step(1.0, 0.0).twist[0] > 0.2


def test_model_rebuilt_only_for_a_new_scenario(jackal: RobotConfig) -> None:
    sim = MujocoNavSim(jackal)
    sim.reset(EMPTY, seed=0)
    model = sim.model
    sim.step(1.0, 0.0)
    assert sim.reset(EMPTY, seed=1).pose[0] == pytest.approx(0.0, abs=1e-9)
    assert sim.model is model
    sim.reset(_scenario([[80.0, 80.0, 0.5]]), seed=0)
    assert sim.model is not model
    # The physics model's robot weighs what the config (and the URDF) says.
    robot_bodies = sim.model.body_rootid == sim.model.body("base_link").id
    assert sim.model.body_mass[robot_bodies].sum() == pytest.approx(jackal.mass_kg, rel=1e-6)


# ---------------------------------------------------------------------------------------- lidar


def _ray_circle(origin: np.ndarray, angle: float, cx: float, cy: float, r: float) -> float:
    """Distance along a horizontal ray to a circle (the cylinder's cross-section), inf if missed."""
    d = np.array([math.cos(angle), math.sin(angle)])
    f = np.array([cx, cy]) - origin
    b = f @ d
    disc = b * b - (f @ f - r * r)
    return b - math.sqrt(disc) if disc >= 0 and b > 0 else math.inf


def test_lidar_range_to_a_cylinder(jackal: RobotConfig) -> None:
    sim = MujocoNavSim(jackal, lidar_noise=False)
    scan = sim.reset(_scenario([[3.0, 0.0, 0.5]]), seed=0).ranges_m
    lid = jackal.lidar
    assert scan.dtype == np.float32 and scan.shape == (lid.num_beams,)
    angles = lid.beam_angles_rad()
    mid = lid.num_beams // 2  # 720 beams: beams 359 and 360 straddle straight ahead (+-0.19 deg)
    # By hand: the laser sits mount_x ahead of base_link, so straight ahead the cylinder's surface is
    # 3 - 0.5 - 0.12 = 2.38 m away; at +-0.19 deg the ray meets it 0.1 mm further out.
    assert scan[mid] == pytest.approx(3.0 - 0.5 - lid.mount_x_m, abs=0.02)
    origin = np.array([lid.mount_x_m, 0.0])
    for i in (mid - 1, mid, mid + 20, mid - 20):
        assert scan[i] == pytest.approx(_ray_circle(origin, angles[i], 3.0, 0.0, 0.5), abs=0.005)
    # The cylinder subtends +-asin(0.5 / 2.88) = +-10 deg: beams beyond that, and all to the side
    # and behind, see nothing.
    assert np.isinf(scan[np.abs(angles) > math.radians(11)]).all()
    assert np.isfinite(scan[np.abs(angles) < math.radians(9)]).all()


def test_lidar_noise_is_seeded(jackal: RobotConfig) -> None:
    clean = MujocoNavSim(jackal, lidar_noise=False).reset(_scenario([[3.0, 0.0, 0.5]]), seed=0).ranges_m
    noisy = MujocoNavSim(jackal, lidar_noise=True)
    a = noisy.reset(_scenario([[3.0, 0.0, 0.5]]), seed=7).ranges_m
    b = noisy.reset(_scenario([[3.0, 0.0, 0.5]]), seed=7).ranges_m
    np.testing.assert_array_equal(a, b)
    hit = np.isfinite(clean)
    np.testing.assert_array_equal(np.isfinite(a), hit)
    err = a[hit] - clean[hit]
    assert 0.3 * jackal.lidar.range_noise_std_m < err.std() < 3.0 * jackal.lidar.range_noise_std_m


def test_lidar_sees_map_boxes_when_there_are_no_circles(jackal: RobotConfig) -> None:
    # A map-only scenario: a 0.5 m thick wall at x in [2, 2.5), y in [-2, 2).
    occ = np.zeros((80, 80), dtype=bool)
    occ[20:60, 60:70] = True
    grid = OccupancyGrid(occ, 0.05, (-1.0, -2.0))
    scn = Scenario("map", (0.0, 0.0, 0.0), (5.0, 0.0), 1.0, 100.0, None, grid=grid)
    scan = MujocoNavSim(jackal, lidar_noise=False).reset(scn, seed=0).ranges_m
    assert scan[jackal.lidar.num_beams // 2] == pytest.approx(2.0 - jackal.lidar.mount_x_m, abs=0.01)


def test_grid_boxes_cover_exactly_the_occupied_cells() -> None:
    rng = np.random.default_rng(3)
    occ = rng.random((40, 50)) < 0.3
    occ[5:20, 10:30] = True  # a block: rows of identical runs merge into one box
    grid = OccupancyGrid(occ, 0.1, (-2.0, 1.0))
    boxes = grid_boxes(grid)
    assert len(boxes) < np.count_nonzero(occ)
    covered = np.zeros_like(occ, dtype=int)
    for cx, cy, hx, hy in boxes:
        c0, c1 = round((cx - hx + 2.0) / 0.1), round((cx + hx + 2.0) / 0.1)
        r0, r1 = round((cy - hy - 1.0) / 0.1), round((cy + hy - 1.0) / 0.1)
        covered[r0:r1, c0:c1] += 1
    np.testing.assert_array_equal(covered, occ.astype(int))


# ----------------------------------------------------------------------------------- collisions


def test_driving_into_a_cylinder_collides(jackal: RobotConfig) -> None:
    sim = MujocoNavSim(jackal, lidar_noise=False)
    sim.reset(_scenario([[1.5, 0.0, 0.3]]), seed=0)
    # The front face (x = 0.254) is 0.95 m from the cylinder: 0.5 s at <= 1 m/s cannot reach it.
    assert not any(f.collided for f in _run(sim, 1.0, 0.0, 0.5))
    frames = _run(sim, 1.0, 0.0, 2.0)
    assert frames[-1].collided
    # Still pushing: the contact sensor counts obstacle contacts (and never the floor's, below).
    assert sim.data.sensor("obstacle_contact").data[0] > 0
    first = next(f for f in frames if f.collided)
    assert first.pose[0] + 0.5 * jackal.footprint_length_m == pytest.approx(1.2, abs=0.1)
    # Collided is sticky until the next reset.
    assert sim.step(-1.0, 0.0).collided and sim.step(0.0, 0.0).collided
    assert not sim.reset(_scenario([[1.5, 0.0, 0.3]]), seed=0).collided
    sim.step(0.0, 0.0)
    assert sim.data.sensor("obstacle_contact").data[0] == 0  # standing on the floor only


def _spin_past_a_post(jackal: RobotConfig, depth_m: float, phase_rad: float) -> tuple[bool, bool]:
    """Spin in place at 4 rad/s for 10 control steps past a thin post (radius 2 cm) placed so that
    the footprint's corner sweeps ``depth_m`` deep through it (negative: it passes that far clear).
    ``phase_rad`` is the post's bearing from the robot's centre. Returns (the contact was present at
    some control step, the frame's collided flag after the spin)."""
    corner = math.hypot(jackal.footprint_length_m / 2, jackal.footprint_width_m / 2)
    d = corner + 0.02 - depth_m
    sim = MujocoNavSim(jackal, lidar_noise=False)
    post = [d * math.cos(phase_rad), d * math.sin(phase_rad), 0.02]
    assert not sim.reset(_scenario([post]), seed=0).collided
    m, d_ = sim.model, sim.data
    touching_at_a_frame = False
    for _ in range(10):
        frame = sim.step(0.0, 4.0)
        # Obstacles are the world body's geoms in the physics model.
        touching_at_a_frame |= bool((m.geom_bodyid[d_.contact.geom[: d_.ncon]] == 0).any())
    return touching_at_a_frame, frame.collided


def test_a_graze_between_control_steps_collides(jackal: RobotConfig) -> None:
    # The corner sweeps 3 mm deep through the post: the contact lasts a few physics steps. Where it
    # starts and ends relative to the control steps depends on the post's bearing and on MuJoCo's
    # contact details (4.0.0 and 4.0.1 differ), so try bearings around the footprint and keep those
    # where no control step sees the contact: only the per-physics-step check can catch those.
    corner_bearing = math.atan2(jackal.footprint_width_m, jackal.footprint_length_m)
    bearings = [corner_bearing + 0.3 + 0.1 * k for k in range(12)]
    unseen = [b for b in bearings if not _spin_past_a_post(jackal, 0.003, b)[0]]
    assert len(unseen) >= 2, "every graze is visible at a control step: the test proves nothing"
    for b in unseen[:3]:
        assert _spin_past_a_post(jackal, 0.003, b)[1], f"a graze at bearing {b:.2f} rad was missed"
    # 3 mm clear of the same sweep is no collision: the flag is not simply set by spinning.
    assert not _spin_past_a_post(jackal, -0.003, unseen[0])[1]


def test_passing_beside_a_cylinder_does_not_collide(jackal: RobotConfig) -> None:
    sim = MujocoNavSim(jackal, lidar_noise=False)
    # 2 cm of clearance beside the footprint's left side (y = 0.215).
    sim.reset(_scenario([[1.5, 0.215 + 0.02 + 0.2, 0.2]]), seed=0)
    frames = _run(sim, 1.0, 0.0, 3.0)
    assert frames[-1].pose[0] > 2.0 and not frames[-1].collided


# ----------------------------------------------------------------------------------------- URDF


def _mujoco_from_urdf(urdf: str) -> mujoco.MjModel:
    root = ET.fromstring(urdf)
    for g in root.findall("gazebo"):  # MuJoCo's URDF importer would ignore them; keep it plain
        root.remove(g)
    spec = mujoco.MjSpec.from_string(ET.tostring(root, encoding="unicode"))
    # MuJoCo fuses the joint-less root link into the world by default and drops its mass.
    spec.compiler.fusestatic = False
    return spec.compile()


@pytest.mark.parametrize("name", ROBOTS)
def test_urdf_is_valid_and_matches_the_config(name: str) -> None:
    robot = load_robot(name)
    urdf = robot_urdf(robot)
    root = ET.fromstring(urdf)
    assert root.tag == "robot" and root.get("name") == name
    joints = {j.get("name"): j for j in root.findall("joint")}
    for side, sign in (("left", 1), ("right", -1)):
        j = joints[f"{side}_wheel_joint"]
        assert j.get("type") == "continuous"
        assert j.find("axis").get("xyz") == "0 1 0"
        xyz = [float(v) for v in j.find("origin").get("xyz").split()]
        assert xyz == pytest.approx([0.0, sign * robot.wheel_separation_m / 2, 0.0])
    laser = [float(v) for v in joints["laser_joint"].find("origin").get("xyz").split()]
    assert laser == pytest.approx([robot.lidar.mount_x_m, 0.0, robot.lidar.mount_z_m - robot.wheel_radius_m])
    sensor = root.find("gazebo[@reference='laser']/sensor")
    assert sensor.get("type") == "gpu_lidar"
    assert int(sensor.findtext("lidar/scan/horizontal/samples")) == robot.lidar.num_beams
    assert float(sensor.findtext("lidar/scan/horizontal/max_angle")) == pytest.approx(robot.lidar.fov_rad / 2)
    assert float(sensor.findtext("lidar/range/max")) == pytest.approx(robot.lidar.range_max_m)
    plugin = root.find("gazebo/plugin[@name='gz::sim::systems::DiffDrive']")
    assert float(plugin.findtext("wheel_separation")) == pytest.approx(robot.wheel_separation_m)
    assert float(plugin.findtext("wheel_radius")) == pytest.approx(robot.wheel_radius_m)
    assert float(plugin.findtext("max_linear_acceleration")) == pytest.approx(robot.max_linear_accel_mps2)

    model = _mujoco_from_urdf(urdf)
    assert model.body_mass.sum() == pytest.approx(robot.mass_kg, rel=0.01)
    assert {model.joint(i).name for i in range(model.njnt)} == {"left_wheel_joint", "right_wheel_joint"}
    # Standing on the ground: the wheels' and casters' lowest points are at base_link z = -r (or
    # just above, for the casters), nothing else reaches below.
    lay = base_layout(robot)
    assert lay.caster_z_m - lay.caster_radius_m == pytest.approx(
        -robot.wheel_radius_m, abs=0.05 * robot.wheel_radius_m
    )
    assert lay.chassis_z_m - robot.body_height_m / 2 > -robot.wheel_radius_m


@pytest.mark.parametrize("name", ROBOTS)
def test_committed_urdfs_are_up_to_date(name: str) -> None:
    committed = (REPO / "sim_assets" / name / f"{name}.urdf").read_text()
    assert committed == robot_urdf(load_robot(name)), (
        f"sim_assets/{name}/{name}.urdf is stale: regenerate it with sim2real.nav.urdf.write_urdf"
    )


# ----------------------------------------------------------------------------------------- BARN


def test_barn_world_001(jackal: RobotConfig) -> None:
    if not BARN_WORLD_001.is_file():
        pytest.skip(f"{BARN_WORLD_001} is not available")
    scn = load_scenario(BARN_WORLD_001)
    sim = MujocoNavSim(jackal, lidar_noise=False)
    first = sim.reset(scn, seed=0)
    assert not first.collided
    np.testing.assert_allclose(first.pose, scn.start, atol=1e-6)
    frames = _run(sim, 0.0, 0.0, 0.5)
    assert not frames[-1].collided
    scan = frames[-1].ranges_m
    angles = jackal.lidar.beam_angles_rad()
    # The robot faces +y between the walls of cylinders at x = -0.075 and x = -4.425 (r = 0.075);
    # from x = -2.25 both surfaces are 2.1 m away (2.1-2.12 m where the beam meets a cylinder).
    for side in (math.pi / 2, -math.pi / 2):
        i = int(np.argmin(np.abs(angles - side)))
        assert 2.08 < scan[i] < 2.16, (side, scan[i])
    assert np.isfinite(scan).mean() > 0.9
