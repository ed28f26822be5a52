"""Gazebo (gz sim Harmonic) worlds, robot models and the ros_gz_bridge configuration, generated.

Everything here is generated from the same two sources as the MuJoCo validation simulator: the
scenario file (obstacles via :func:`sim2real.nav.mujoco_sim.scenario_shapes`, 1 m tall as
:data:`~sim2real.nav.mujoco_sim.OBSTACLE_HEIGHT_M`) and the robot's :class:`RobotConfig` (geometry
and mass split via :func:`sim2real.nav.urdf.base_layout`). Gazebo, MuJoCo and the URDF therefore
describe the same robot in the same world.

Target: Gazebo Harmonic (gz-sim 8, SDFormat 14) with ros_gz for ROS 2 Jazzy; the plugin file names
are the ``gz-sim-*`` ones (Fortress would need ``ignition-gazebo-*``). Gazebo cannot run on the
project's test machines: the tests check the generated text (obstacles, sensor, plugin
parameters, bridge entries), not a running simulation.

Frames: the world frame is the scenario's map frame. The robot model's origin is on the ground
under ``base_link``, which sits on the drive-wheel axle ``wheel_radius_m`` above the ground
(REP-103/105, as in the URDF). The DiffDrive system publishes odometry whose origin is where the
robot was spawned.

Run ``python -m sim2real.nav.gazebo --scenario F --robot jackal --out DIR`` to write the world,
the robot model and the bridge YAML; ``ros2 launch nav_policy gazebo.launch.py`` does so itself.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.robot import RobotConfig, load_robot

from .mujoco_sim import OBSTACLE_HEIGHT_M, Shape, scenario_shapes
from .scenario import Scenario, load_scenario
from .urdf import (
    CASTER_FRICTION,
    WHEEL_FRICTION,
    base_layout,
    box_inertia,
    fnum,
    gz_lidar_sensor,
    sphere_inertia,
    wheel_inertia,
)

SDF_VERSION = "1.9"
PHYSICS_STEP_S = 0.001
"""Physics step of the generated worlds (s)."""
ODOM_RATE_HZ = 50.0
"""Publication rate of the DiffDrive system's odometry and odom -> base_link transform (Hz)."""
LIDAR_MASS_FRACTION = 0.01
"""Mass of the lidar (the ``laser`` link) as a fraction of the total mass, taken from the chassis.

SDFormat gives a link without ``<inertial>`` a mass of 1 kg, so the sensor link needs one of its own."""
GROUND_MARGIN_M = 10.0
"""The ground plane extends this far beyond the obstacles, start and goal (m)."""
BRIDGE_FILE = "ros_gz_bridge.yaml"
"""File name :func:`main` gives the ros_gz_bridge configuration."""

# (ROS topic and gz topic, ROS type, gz type, direction); /cmd_vel is added by bridge_config.
_BRIDGED_TOPICS = (
    ("/clock", "rosgraph_msgs/msg/Clock", "gz.msgs.Clock", "GZ_TO_ROS"),
    ("/scan", "sensor_msgs/msg/LaserScan", "gz.msgs.LaserScan", "GZ_TO_ROS"),
    ("/odom", "nav_msgs/msg/Odometry", "gz.msgs.Odometry", "GZ_TO_ROS"),
    ("/tf", "tf2_msgs/msg/TFMessage", "gz.msgs.Pose_V", "GZ_TO_ROS"),
    ("/joint_states", "sensor_msgs/msg/JointState", "gz.msgs.Model", "GZ_TO_ROS"),
)

# ------------------------------------------------------------------------------------ helpers


_f = fnum


def _v(*xs: float) -> str:
    """Space-separated numbers, as SDFormat writes vectors and poses."""
    return " ".join(_f(x) for x in xs)


def sdf_name(text: str) -> str:
    """``text`` as a safe SDFormat / gz-transport name: letters, digits and underscores only."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if name and not name[0].isdigit() else f"_{name}"


def world_name(scenario: Scenario) -> str:
    """Name of the generated world (``ros_gz_sim create -world`` needs it)."""
    return sdf_name(scenario.name)


def _write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _material(r: float, g: float, b: float) -> list[str]:
    return [f"<material><ambient>{_v(r, g, b, 1)}</ambient><diffuse>{_v(r, g, b, 1)}</diffuse></material>"]


def _inertial(
    mass_kg: float, inertia: tuple[float, float, float], xyz: tuple[float, float, float]
) -> list[str]:
    ixx, iyy, izz = inertia
    return [
        "<inertial>",
        f"  <pose>{_v(*xyz, 0, 0, 0)}</pose>",
        f"  <mass>{_f(mass_kg)}</mass>",
        f"  <inertia><ixx>{_f(ixx)}</ixx><ixy>0</ixy><ixz>0</ixz>"
        f"<iyy>{_f(iyy)}</iyy><iyz>0</iyz><izz>{_f(izz)}</izz></inertia>",
        "</inertial>",
    ]


def _friction(mu: float) -> str:
    return f"<surface><friction><ode><mu>{_f(mu)}</mu><mu2>{_f(mu)}</mu2></ode></friction></surface>"


def _shape(
    name: str, geometry: str, pose: str, colour: tuple[float, float, float], mu: float | None = None
) -> list[str]:
    """A collision and a visual (``<name>_collision`` / ``<name>_visual``) of one geometry."""
    surface = [f"  {_friction(mu)}"] if mu is not None else []
    return [
        f'<collision name="{name}_collision">',
        f"  <pose>{pose}</pose>",
        f"  <geometry>{geometry}</geometry>",
        *surface,
        "</collision>",
        f'<visual name="{name}_visual">',
        f"  <pose>{pose}</pose>",
        f"  <geometry>{geometry}</geometry>",
        *("  " + m for m in _material(*colour)),
        "</visual>",
    ]


def _indent(lines: list[str], n: int) -> list[str]:
    return [" " * n + line for line in lines]


def _plugin(filename: str, name: str, body: Sequence[str] = ()) -> list[str]:
    return [f'<plugin filename="{filename}" name="{name}">', *_indent(list(body), 2), "</plugin>"]


# -------------------------------------------------------------------------------------- world


def _obstacle_geometry(shape: Shape) -> tuple[str, str]:
    """(SDF geometry, pose) of one obstacle standing on the floor; map frame, metres."""
    kind, x, y, sx, sy = shape
    h = OBSTACLE_HEIGHT_M
    if kind == "cylinder":
        geometry = f"<cylinder><radius>{_f(sx)}</radius><length>{_f(h)}</length></cylinder>"
    else:
        geometry = f"<box><size>{_v(2 * sx, 2 * sy, h)}</size></box>"
    return geometry, _v(x, y, 0.5 * h, 0, 0, 0)


def obstacles_model(shapes: list[Shape]) -> list[str]:
    """One static model ``obstacles`` with one link whose elements are ``obstacle_NNNN_collision``
    and ``obstacle_NNNN_visual``, in the order of ``shapes``."""
    out = ['<model name="obstacles">', "  <static>true</static>", '  <link name="link">']
    for i, shape in enumerate(shapes):
        geometry, pose = _obstacle_geometry(shape)
        out += _indent(_shape(f"obstacle_{i:04d}", geometry, pose, (0.5, 0.5, 0.55)), 4)
    return [*out, "  </link>", "</model>"]


def _world_extent_m(scenario: Scenario, shapes: list[Shape]) -> tuple[float, float, float, float]:
    """Centre x, y and edge lengths x, y of a ground plane covering everything (m)."""
    xs = [scenario.start[0], scenario.goal[0]] + [s[1] + d * s[3] for s in shapes for d in (-1, 1)]
    ys = [scenario.start[1], scenario.goal[1]] + [s[2] + d * s[4] for s in shapes for d in (-1, 1)]
    size_x = max(xs) - min(xs) + 2 * GROUND_MARGIN_M
    size_y = max(ys) - min(ys) + 2 * GROUND_MARGIN_M
    return 0.5 * (max(xs) + min(xs)), 0.5 * (max(ys) + min(ys)), size_x, size_y


def _world_systems() -> list[str]:
    return [
        *_plugin("gz-sim-physics-system", "gz::sim::systems::Physics"),
        *_plugin("gz-sim-user-commands-system", "gz::sim::systems::UserCommands"),
        *_plugin("gz-sim-scene-broadcaster-system", "gz::sim::systems::SceneBroadcaster"),
        # Renders the gpu_lidar; without it the lidar never publishes.
        *_plugin(
            "gz-sim-sensors-system", "gz::sim::systems::Sensors", ["<render_engine>ogre2</render_engine>"]
        ),
        *_plugin("gz-sim-contact-system", "gz::sim::systems::Contact"),
    ]


def _sun_and_ground(cx: float, cy: float, size_x: float, size_y: float) -> list[str]:
    plane = f"<plane><normal>0 0 1</normal><size>{_v(size_x, size_y)}</size></plane>"
    return [
        '<light type="directional" name="sun">',
        "  <cast_shadows>true</cast_shadows>",
        "  <pose>0 0 10 0 0 0</pose>",
        "  <diffuse>0.8 0.8 0.8 1</diffuse>",
        "  <specular>0.2 0.2 0.2 1</specular>",
        "  <direction>-0.5 0.1 -0.9</direction>",
        "</light>",
        '<model name="ground_plane">',
        "  <static>true</static>",
        f"  <pose>{_v(cx, cy, 0, 0, 0, 0)}</pose>",
        '  <link name="link">',
        '    <collision name="collision">',
        f"      <geometry>{plane}</geometry>",
        f"      {_friction(1.0)}",
        "    </collision>",
        '    <visual name="visual">',
        f"      <geometry>{plane}</geometry>",
        *_indent(_material(0.8, 0.8, 0.8), 6),
        "    </visual>",
        "  </link>",
        "</model>",
    ]


def scenario_sdf(scenario: Scenario, robot: RobotConfig) -> str:
    """SDF 1.9 world (XML text) of ``scenario``: physics at 1 ms, the gz-sim systems, a sun, a
    ground plane and the obstacles of :func:`obstacles_model`, in the map frame.

    ``robot`` is not placed in the world (``ros_gz_sim create`` spawns :func:`robot_sdf` at the
    start pose); it only names the robot in the header comment.
    """
    shapes = scenario_shapes(scenario)
    src = Path(scenario.source).name if scenario.source else scenario.name
    out = [
        '<?xml version="1.0"?>',
        f"<!-- Generated by sim2real.nav.gazebo.scenario_sdf from {src} for {sdf_name(robot.name)};",
        "     do not edit. Obstacles are those of the MuJoCo simulator, in the map frame. -->",
        f'<sdf version="{SDF_VERSION}">',
        f'  <world name="{world_name(scenario)}">',
        '    <physics name="1ms" type="ignored">',
        f"      <max_step_size>{_f(PHYSICS_STEP_S)}</max_step_size>",
        "      <real_time_factor>1.0</real_time_factor>",
        "    </physics>",
        *_indent(_world_systems(), 4),
        *_indent(_sun_and_ground(*_world_extent_m(scenario, shapes)), 4),
        *_indent(obstacles_model(shapes), 4),
        "  </world>",
        "</sdf>",
    ]
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------- robot


def _base_link(robot: RobotConfig) -> list[str]:
    """The chassis: box collision/visual, inertial and a contact sensor ``bumper`` on the box."""
    lay = base_layout(robot)
    L, W, H = robot.footprint_length_m, robot.footprint_width_m, robot.body_height_m
    mass = lay.chassis_mass_kg - LIDAR_MASS_FRACTION * robot.mass_kg
    box = f"<box><size>{_v(L, W, H)}</size></box>"
    return [
        '<link name="base_link">',
        f"  <pose>{_v(0, 0, robot.wheel_radius_m, 0, 0, 0)}</pose>",
        *_indent(_inertial(mass, box_inertia(mass, L, W, H), (0, 0, lay.chassis_z_m)), 2),
        *_indent(_shape("chassis", box, _v(0, 0, lay.chassis_z_m, 0, 0, 0), (0.85, 0.75, 0.1)), 2),
        # Collisions with obstacles, on gz topic /bumper (not bridged: a diagnostic for gz topic -e).
        '  <sensor name="bumper" type="contact">',
        "    <always_on>true</always_on>",
        "    <update_rate>50</update_rate>",
        "    <contact><collision>chassis_collision</collision><topic>bumper</topic></contact>",
        "  </sensor>",
        "</link>",
    ]


def _wheel(robot: RobotConfig, side: str, sign: float) -> list[str]:
    """Drive wheel link ``<side>_wheel_link`` and revolute joint ``<side>_wheel_joint`` about +y."""
    lay = base_layout(robot)
    r = robot.wheel_radius_m
    cylinder = f"<cylinder><radius>{_f(r)}</radius><length>{_f(lay.wheel_width_m)}</length></cylinder>"
    # SDF cylinders run along z; roll by pi/2 lays the tyre's axis along y.
    pose = _v(0, 0, 0, math.pi / 2, 0, 0)
    return [
        f'<link name="{side}_wheel_link">',
        f'  <pose relative_to="base_link">{_v(0, sign * lay.wheel_y_m, 0, 0, 0, 0)}</pose>',
        *_indent(
            _inertial(lay.wheel_mass_kg, wheel_inertia(lay.wheel_mass_kg, r, lay.wheel_width_m), (0, 0, 0)), 2
        ),
        *_indent(_shape(f"{side}_wheel", cylinder, pose, (0.1, 0.1, 0.1), WHEEL_FRICTION), 2),
        "</link>",
        f'<joint name="{side}_wheel_joint" type="revolute">',
        "  <parent>base_link</parent>",
        f"  <child>{side}_wheel_link</child>",
        "  <axis>",
        "    <xyz>0 1 0</xyz>",
        "    <limit>",
        "      <lower>-1e16</lower><upper>1e16</upper>",
        f"      <effort>{_f(lay.max_wheel_torque_nm)}</effort>",
        f"      <velocity>{_f(lay.max_wheel_speed_radps)}</velocity>",
        "    </limit>",
        "    <dynamics><damping>0</damping><friction>0</friction></dynamics>",
        "  </axis>",
        "</joint>",
    ]


def _fixed_link(name: str, joint: str, xyz: tuple[float, float, float], body: list[str]) -> list[str]:
    """Link ``name`` at ``xyz`` in base_link, welded to it by the fixed joint ``joint``."""
    return [
        f'<link name="{name}">',
        f'  <pose relative_to="base_link">{_v(*xyz, 0, 0, 0)}</pose>',
        *_indent(body, 2),
        "</link>",
        f'<joint name="{joint}" type="fixed">',
        "  <parent>base_link</parent>",
        f"  <child>{name}</child>",
        "</joint>",
    ]


def _caster(robot: RobotConfig, where: str, sign: float) -> list[str]:
    """Ball caster ``<where>_caster_link``: a low-friction sphere just clear of the floor."""
    lay = base_layout(robot)
    rc, m = lay.caster_radius_m, lay.caster_mass_kg
    sphere = f"<sphere><radius>{_f(rc)}</radius></sphere>"
    body = [
        *_inertial(m, sphere_inertia(m, rc), (0, 0, 0)),
        *_shape(f"{where}_caster", sphere, "0 0 0 0 0 0", (0.1, 0.1, 0.1), CASTER_FRICTION),
    ]
    return _fixed_link(
        f"{where}_caster_link", f"{where}_caster_joint", (sign * lay.caster_x_m, 0.0, lay.caster_z_m), body
    )


def _laser(robot: RobotConfig) -> list[str]:
    """The ``laser`` link at (mount_x_m, 0, mount_z_m above the ground), carrying the lidar."""
    lay = base_layout(robot)
    m = LIDAR_MASS_FRACTION * robot.mass_kg
    size = min(0.05, 0.5 * robot.footprint_length_m, 0.5 * robot.footprint_width_m)
    cylinder = f"<cylinder><radius>{_f(0.5 * size)}</radius><length>{_f(size)}</length></cylinder>"
    body = [
        *_inertial(m, wheel_inertia(m, 0.5 * size, size), (0, 0, 0)),
        f'<visual name="laser_visual"><geometry>{cylinder}</geometry>',
        *_indent(_material(0.2, 0.2, 0.25), 2),
        "</visual>",
        *gz_lidar_sensor(robot),
    ]
    return _fixed_link("laser", "laser_joint", (robot.lidar.mount_x_m, 0.0, lay.laser_z_m), body)


def diff_drive_plugins(robot: RobotConfig) -> list[str]:
    """The DiffDrive system (limits from the robot file, m/s, rad/s, m/s^2, rad/s^2; gz topics
    ``cmd_vel``, ``odom``, ``tf``) and the JointStatePublisher (gz topic ``joint_states``)."""
    v, w = robot.max_linear_speed_mps, robot.max_angular_speed_radps
    a, alpha = robot.max_linear_accel_mps2, robot.max_angular_accel_radps2
    drive = [
        "<left_joint>left_wheel_joint</left_joint>",
        "<right_joint>right_wheel_joint</right_joint>",
        f"<wheel_separation>{_f(robot.wheel_separation_m)}</wheel_separation>",
        f"<wheel_radius>{_f(robot.wheel_radius_m)}</wheel_radius>",
        f"<max_linear_velocity>{_f(v)}</max_linear_velocity>",
        f"<min_linear_velocity>{_f(robot.min_linear_speed_mps)}</min_linear_velocity>",
        f"<max_angular_velocity>{_f(w)}</max_angular_velocity>",
        f"<min_angular_velocity>{_f(-w)}</min_angular_velocity>",
        f"<max_linear_acceleration>{_f(a)}</max_linear_acceleration>",
        f"<min_linear_acceleration>{_f(-a)}</min_linear_acceleration>",
        f"<max_angular_acceleration>{_f(alpha)}</max_angular_acceleration>",
        f"<min_angular_acceleration>{_f(-alpha)}</min_angular_acceleration>",
        f"<odom_publish_frequency>{_f(ODOM_RATE_HZ)}</odom_publish_frequency>",
        "<topic>cmd_vel</topic>",
        "<odom_topic>odom</odom_topic>",
        "<tf_topic>tf</tf_topic>",
        "<frame_id>odom</frame_id>",
        "<child_frame_id>base_link</child_frame_id>",
    ]
    joints = [
        "<joint_name>left_wheel_joint</joint_name>",
        "<joint_name>right_wheel_joint</joint_name>",
        "<topic>joint_states</topic>",
    ]
    return [
        *_plugin("gz-sim-diff-drive-system", "gz::sim::systems::DiffDrive", drive),
        *_plugin("gz-sim-joint-state-publisher-system", "gz::sim::systems::JointStatePublisher", joints),
    ]


def robot_sdf(robot: RobotConfig) -> str:
    """SDF 1.9 model (XML text) of the diff-drive base, named ``sdf_name(robot.name)``.

    Links: ``base_link`` (chassis box), ``left_wheel_link`` / ``right_wheel_link`` (revolute joints
    ``left_wheel_joint`` / ``right_wheel_joint`` about +y, so positive wheel speed drives forward),
    ``front_caster_link`` / ``rear_caster_link`` and ``laser`` (fixed joints). Same geometry and
    masses as the URDF and the MuJoCo model (:func:`sim2real.nav.urdf.base_layout`), except that the
    lidar's mass (``LIDAR_MASS_FRACTION``) is taken from the chassis; masses add up to
    ``robot.mass_kg``. The model origin is on the ground below base_link.
    """
    src = Path(robot.source).name if robot.source else "a RobotConfig"
    parts = [
        *_base_link(robot),
        *_wheel(robot, "left", 1.0),
        *_wheel(robot, "right", -1.0),
        *_caster(robot, "front", 1.0),
        *_caster(robot, "rear", -1.0),
        *_laser(robot),
        *diff_drive_plugins(robot),
    ]
    out = [
        '<?xml version="1.0"?>',
        f"<!-- Generated by sim2real.nav.gazebo.robot_sdf from {src}; do not edit. -->",
        f'<sdf version="{SDF_VERSION}">',
        f'  <model name="{sdf_name(robot.name)}" canonical_link="base_link">',
        *_indent(parts, 4),
        "  </model>",
        "</sdf>",
    ]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------- bridge


def _bridge_entry(topic: str, ros_type: str, gz_type: str, direction: str) -> list[str]:
    return [
        f'- ros_topic_name: "{topic}"',
        f'  gz_topic_name: "{topic}"',
        f'  ros_type_name: "{ros_type}"',
        f'  gz_type_name: "{gz_type}"',
        f"  direction: {direction}",
    ]


def bridge_config(cmd_vel_stamped: bool) -> str:
    """ros_gz_bridge ``config_file`` YAML: /clock, /scan, /odom, /tf and /joint_states from Gazebo,
    /cmd_vel (geometry_msgs Twist, or TwistStamped when ``cmd_vel_stamped``) to Gazebo.

    Topic names are the same on both sides; the gz ones are those :func:`robot_sdf` configures.
    TwistStamped <-> gz.msgs.Twist needs ros_gz 1.0 or newer (ROS 2 Jazzy).
    """
    twist = "geometry_msgs/msg/TwistStamped" if cmd_vel_stamped else "geometry_msgs/msg/Twist"
    out = ["# Generated by sim2real.nav.gazebo.bridge_config; ros_gz_bridge parameter_bridge config_file."]
    for entry in (*_BRIDGED_TOPICS, ("/cmd_vel", twist, "gz.msgs.Twist", "ROS_TO_GZ")):
        out += _bridge_entry(*entry)
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------- files


def write_gazebo_world(
    scenario_path: str | Path, robot: RobotConfig | str, out_dir: str | Path
) -> tuple[Path, Path]:
    """Write ``<scenario name>.sdf`` (world) and ``<robot name>.sdf`` (model) into ``out_dir``.

    ``robot`` is a :class:`RobotConfig` or a robot name / ``robot.yaml`` path. Each file is written
    atomically; ``out_dir`` is created if needed. Returns (world path, robot model path).
    """
    scenario = load_scenario(scenario_path)
    cfg = robot if isinstance(robot, RobotConfig) else load_robot(robot)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    robot_path = out / f"{sdf_name(cfg.name)}.sdf"
    world_path = out / f"{world_name(scenario)}.sdf"
    if world_path == robot_path:
        world_path = out / f"{world_name(scenario)}_world.sdf"
    _write_atomic(world_path, scenario_sdf(scenario, cfg))
    _write_atomic(robot_path, robot_sdf(cfg))
    return world_path, robot_path


def write_bridge_config(out_dir: str | Path, cmd_vel_stamped: bool) -> Path:
    """Write :func:`bridge_config` to ``out_dir/ros_gz_bridge.yaml`` atomically; return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _write_atomic(out / BRIDGE_FILE, bridge_config(cmd_vel_stamped))


def main(argv: list[str] | None = None) -> int:
    """``python -m sim2real.nav.gazebo``: write world, robot model and bridge YAML; print their paths."""
    ap = argparse.ArgumentParser(prog="python -m sim2real.nav.gazebo", description=main.__doc__)
    ap.add_argument("--scenario", required=True, help="a *.scenario.yaml file")
    ap.add_argument("--robot", default="jackal", help="robot name under sim_assets/ or a robot.yaml")
    ap.add_argument("--out", required=True, help="output folder (created if needed)")
    ap.add_argument("--cmd-vel-stamped", action="store_true", help="bridge /cmd_vel as TwistStamped")
    a = ap.parse_args(argv)
    try:
        world, model = write_gazebo_world(a.scenario, a.robot, a.out)
        bridge = write_bridge_config(a.out, a.cmd_vel_stamped)
    except Sim2RealError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in (world, model, bridge):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
