"""URDF of a differential-drive base, generated from its :class:`RobotConfig` (the single source).

The same :func:`base_layout` numbers build the MuJoCo model (:mod:`sim2real.nav.mujoco_sim`), so the
URDF that ROS 2 / Gazebo use and the physics model we validate with describe one and the same robot.

Frame convention (REP-103/105): ``base_link`` is on the drive-wheel axle, centred in the footprint,
x forward, y left, z up; its origin is therefore ``wheel_radius_m`` above the ground. The chassis
is a box of footprint_length x footprint_width x body_height whose underside clears the ground by
half a wheel radius; two fixed ball casters (front and rear) under it, just clear of the floor,
keep the base from tipping over; the ``laser`` frame is at (lidar.mount_x_m, 0, lidar.mount_z_m)
with the height measured from the *ground*, i.e. at z = mount_z_m - wheel_radius_m in base_link.

The ``<gazebo>`` blocks target Gazebo Harmonic (gz-sim 8, sdformat 14): a ``gpu_lidar`` sensor on
the laser frame and the ``gz::sim::systems::DiffDrive`` system. The world must load the
``gz-sim-sensors-system`` (with ogre2) for the lidar to publish; worlds do that, not robot models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from sim2real_runtime.robot import RobotConfig

WHEEL_MASS_FRACTION = 0.05
"""Mass of one drive wheel (with hub and motor rotor share) as a fraction of the total mass."""
CASTER_MASS_FRACTION = 0.01
"""Mass of one ball caster as a fraction of the total mass."""
WHEEL_FRICTION = 1.0
"""Coulomb friction of the drive tyres on the floor (rubber on concrete/linoleum)."""
CASTER_FRICTION = 0.02
"""Effective friction of a ball caster: it rolls, so only a small drag remains."""
CASTER_GAP_FRACTION = 0.02
"""Gap between a caster and the floor when the base stands level, as a fraction of the wheel radius.

The casters are anti-tip supports: with the centre of mass over the axle the drive wheels carry the
weight (their traction is what the acceleration limits assume) and the base only rocks onto a caster
under acceleration. Casters flush with the floor would make the load split statically indeterminate,
and a rigid-contact simulator may then put most of the weight on the casters."""


@dataclass(frozen=True)
class BaseLayout:
    """Derived geometry and mass distribution of the base; lengths in m, masses in kg.

    Heights (``*_z_m``) are in base_link, whose origin is on the wheel axle (``wheel_radius_m``
    above the ground).
    """

    wheel_width_m: float
    """Tyre width along y; chosen so the wheels stay inside the footprint."""
    wheel_y_m: float
    """|y| of each wheel centre (half the wheel separation)."""
    chassis_z_m: float
    """Centre of the chassis box."""
    chassis_clearance_m: float
    """Gap between the ground and the underside of the chassis."""
    caster_radius_m: float
    """Radius of the ball casters."""
    caster_x_m: float
    """|x| of the casters (front at +x, rear at -x)."""
    caster_z_m: float
    """Centre of the casters, which clear the ground by ``CASTER_GAP_FRACTION`` of the wheel radius."""
    laser_z_m: float
    """Lidar origin height in base_link."""
    chassis_mass_kg: float
    wheel_mass_kg: float
    caster_mass_kg: float
    max_wheel_speed_radps: float
    """Fastest wheel speed the speed limits can ask for (straight at full speed plus full turn)."""
    max_wheel_torque_nm: float
    """Torque limit of each drive motor: four times what accelerating half the mass needs."""


def base_layout(robot: RobotConfig) -> BaseLayout:
    """Derive the base geometry and mass split from ``robot`` (see :class:`BaseLayout`)."""
    r = robot.wheel_radius_m
    # Tyres as wide as half the radius, but never sticking out of the footprint rectangle.
    wheel_width = max(0.005, min(0.5 * r, robot.footprint_width_m - robot.wheel_separation_m))
    clearance = 0.5 * r
    gap = CASTER_GAP_FRACTION * r
    # The ball casters fit exactly under the chassis: gap + diameter = ground clearance.
    caster_r = 0.5 * (clearance - gap)
    m = robot.mass_kg
    wheel_m = WHEEL_MASS_FRACTION * m
    caster_m = CASTER_MASS_FRACTION * m
    chassis_m = m - 2 * wheel_m - 2 * caster_m
    v_max = max(robot.max_linear_speed_mps, -robot.min_linear_speed_mps)
    w_max = (v_max + robot.max_angular_speed_radps * 0.5 * robot.wheel_separation_m) / r
    # Each wheel pushes half the mass: tau = (m/2) a r; the factor 4 leaves headroom for the motor's
    # own rotor inertia, the casters' drag, slopes and for tracking the velocity setpoint quickly.
    torque = 4.0 * 0.5 * m * robot.max_linear_accel_mps2 * r
    return BaseLayout(
        wheel_width_m=wheel_width,
        wheel_y_m=0.5 * robot.wheel_separation_m,
        chassis_z_m=clearance + 0.5 * robot.body_height_m - r,
        chassis_clearance_m=clearance,
        caster_radius_m=caster_r,
        caster_x_m=0.5 * robot.footprint_length_m - caster_r,
        caster_z_m=gap + caster_r - r,
        laser_z_m=robot.lidar.mount_z_m - r,
        chassis_mass_kg=chassis_m,
        wheel_mass_kg=wheel_m,
        caster_mass_kg=caster_m,
        max_wheel_speed_radps=w_max,
        max_wheel_torque_nm=torque,
    )


def box_inertia(m: float, sx: float, sy: float, sz: float) -> tuple[float, float, float]:
    """Principal moments (ixx, iyy, izz) in kg m^2 of a solid box of mass ``m`` and edge lengths (m)."""
    return (m * (sy**2 + sz**2) / 12.0, m * (sx**2 + sz**2) / 12.0, m * (sx**2 + sy**2) / 12.0)


def wheel_inertia(m: float, radius: float, width: float) -> tuple[float, float, float]:
    """Principal moments (ixx, iyy, izz) in kg m^2 of a solid cylinder whose axis is y."""
    i_radial = m * (3.0 * radius**2 + width**2) / 12.0
    return (i_radial, 0.5 * m * radius**2, i_radial)


def sphere_inertia(m: float, radius: float) -> tuple[float, float, float]:
    """Principal moments (ixx, iyy, izz) in kg m^2 of a solid sphere."""
    i = 0.4 * m * radius**2
    return (i, i, i)


def fnum(x: float) -> str:
    """Number formatting: enough digits for sub-micrometre geometry, stable across runs."""
    s = f"{x:.9g}"
    return "0" if s == "-0" else s


def _xyz(x: float, y: float, z: float) -> str:
    return f"{fnum(x)} {fnum(y)} {fnum(z)}"


def _inertial(m: float, inertia: tuple[float, float, float], xyz: tuple[float, float, float]) -> list[str]:
    ixx, iyy, izz = inertia
    return [
        "    <inertial>",
        f'      <origin xyz="{_xyz(*xyz)}" rpy="0 0 0"/>',
        f'      <mass value="{fnum(m)}"/>',
        f'      <inertia ixx="{fnum(ixx)}" ixy="0" ixz="0" iyy="{fnum(iyy)}" iyz="0" izz="{fnum(izz)}"/>',
        "    </inertial>",
    ]


def _shape(
    tag: str, geometry: str, xyz: tuple[float, float, float], rpy: str, material: str = ""
) -> list[str]:
    lines = [
        f"    <{tag}>",
        f'      <origin xyz="{_xyz(*xyz)}" rpy="{rpy}"/>',
        f"      <geometry>{geometry}</geometry>",
    ]
    if material:
        lines.append(f'      <material name="{material}"/>')
    lines.append(f"    </{tag}>")
    return lines


def _surface(link: str, mu: float) -> list[str]:
    # Gazebo's URDF extension for the contact friction of every collision of ``link`` (sdformat
    # keeps it on the right collision when the fixed joint is lumped into base_link).
    return [
        f'  <gazebo reference="{link}">',
        f"    <mu1>{fnum(mu)}</mu1>",
        f"    <mu2>{fnum(mu)}</mu2>",
        "  </gazebo>",
    ]


def gz_lidar_sensor(robot: RobotConfig) -> list[str]:
    """The Gazebo ``gpu_lidar`` sensor ``laser`` (SDF lines): the robot file's beams, angles (rad),
    ranges (m), rate (Hz) and Gaussian range noise (m), on gz topic ``scan`` with frame_id ``laser``.
    The URDF's ``<gazebo>`` block and the SDF robot model (``gazebo.py``) both use it."""
    lid = robot.lidar
    angle_max = -lid.angle_min_rad  # = angle_min + (num_beams - 1) * angle_increment
    return [
        '<sensor name="laser" type="gpu_lidar">',
        "  <pose>0 0 0 0 0 0</pose>",
        "  <topic>scan</topic>",
        "  <gz_frame_id>laser</gz_frame_id>",
        f"  <update_rate>{fnum(lid.rate_hz)}</update_rate>",
        "  <always_on>true</always_on>",
        "  <visualize>false</visualize>",
        "  <lidar>",
        "    <scan>",
        "      <horizontal>",
        f"        <samples>{lid.num_beams}</samples>",
        "        <resolution>1</resolution>",
        f"        <min_angle>{fnum(lid.angle_min_rad)}</min_angle>",
        f"        <max_angle>{fnum(angle_max)}</max_angle>",
        "      </horizontal>",
        "      <vertical>",
        "        <samples>1</samples>",
        "        <resolution>1</resolution>",
        "        <min_angle>0</min_angle>",
        "        <max_angle>0</max_angle>",
        "      </vertical>",
        "    </scan>",
        "    <range>",
        f"      <min>{fnum(lid.range_min_m)}</min>",
        f"      <max>{fnum(lid.range_max_m)}</max>",
        "      <resolution>0.001</resolution>",
        "    </range>",
        "    <noise>",
        "      <type>gaussian</type>",
        "      <mean>0</mean>",
        f"      <stddev>{fnum(lid.range_noise_std_m)}</stddev>",
        "    </noise>",
        "  </lidar>",
        "</sensor>",
    ]


def robot_urdf(robot: RobotConfig) -> str:
    """The robot's URDF (XML text) with Gazebo Harmonic lidar and diff-drive blocks.

    Links: ``base_link`` (chassis box), ``left_wheel_link`` / ``right_wheel_link`` (continuous joints
    ``left_wheel_joint`` / ``right_wheel_joint`` about +y at y = +-wheel_separation/2, so positive
    wheel speed drives forward), ``front_caster_link`` / ``rear_caster_link`` (fixed spheres) and
    ``laser`` (fixed, massless sensor frame). Masses add up to ``robot.mass_kg``.
    """
    lay = base_layout(robot)
    lid = robot.lidar
    r = robot.wheel_radius_m
    L, W, H = robot.footprint_length_m, robot.footprint_width_m, robot.body_height_m
    half_pi = fnum(math.pi / 2)
    name = escape(robot.name, {'"': "&quot;"})
    src = Path(robot.source).name if robot.source else "a RobotConfig"
    box = f'<box size="{_xyz(L, W, H)}"/>'
    out = [
        '<?xml version="1.0"?>',
        f"<!-- Generated by sim2real.nav.urdf.robot_urdf from {escape(src)} ({name}); do not edit:",
        "     regenerate it from the YAML instead. base_link is on the drive-wheel axle, "
        f"{fnum(r)} m above the ground. -->",
        f'<robot name="{name}">',
        '  <material name="chassis"><color rgba="0.85 0.75 0.1 1"/></material>',
        '  <material name="rubber"><color rgba="0.1 0.1 0.1 1"/></material>',
        '  <material name="sensor"><color rgba="0.2 0.2 0.25 1"/></material>',
        "",
        '  <link name="base_link">',
        *_shape("visual", box, (0, 0, lay.chassis_z_m), "0 0 0", "chassis"),
        *_shape("collision", box, (0, 0, lay.chassis_z_m), "0 0 0"),
        *_inertial(lay.chassis_mass_kg, box_inertia(lay.chassis_mass_kg, L, W, H), (0, 0, lay.chassis_z_m)),
        "  </link>",
    ]
    wheel = f'<cylinder radius="{fnum(r)}" length="{fnum(lay.wheel_width_m)}"/>'
    for side, sign in (("left", 1.0), ("right", -1.0)):
        out += [
            "",
            f'  <link name="{side}_wheel_link">',
            # URDF cylinders run along z; roll by pi/2 lays the tyre's axis along y.
            *_shape("visual", wheel, (0, 0, 0), f"{half_pi} 0 0", "rubber"),
            *_shape("collision", wheel, (0, 0, 0), f"{half_pi} 0 0"),
            *_inertial(lay.wheel_mass_kg, wheel_inertia(lay.wheel_mass_kg, r, lay.wheel_width_m), (0, 0, 0)),
            "  </link>",
            f'  <joint name="{side}_wheel_joint" type="continuous">',
            '    <parent link="base_link"/>',
            f'    <child link="{side}_wheel_link"/>',
            f'    <origin xyz="{_xyz(0, sign * lay.wheel_y_m, 0)}" rpy="0 0 0"/>',
            '    <axis xyz="0 1 0"/>',
            f'    <limit effort="{fnum(lay.max_wheel_torque_nm)}"'
            f' velocity="{fnum(lay.max_wheel_speed_radps)}"/>',
            '    <dynamics damping="0" friction="0"/>',
            "  </joint>",
        ]
    caster = f'<sphere radius="{fnum(lay.caster_radius_m)}"/>'
    for where, sign in (("front", 1.0), ("rear", -1.0)):
        out += [
            "",
            f'  <link name="{where}_caster_link">',
            *_shape("visual", caster, (0, 0, 0), "0 0 0", "rubber"),
            *_shape("collision", caster, (0, 0, 0), "0 0 0"),
            *_inertial(
                lay.caster_mass_kg, sphere_inertia(lay.caster_mass_kg, lay.caster_radius_m), (0, 0, 0)
            ),
            "  </link>",
            f'  <joint name="{where}_caster_joint" type="fixed">',
            '    <parent link="base_link"/>',
            f'    <child link="{where}_caster_link"/>',
            f'    <origin xyz="{_xyz(sign * lay.caster_x_m, 0, lay.caster_z_m)}" rpy="0 0 0"/>',
            "  </joint>",
        ]
    # The laser link is a massless frame: sdformat lumps it into base_link and keeps the sensor
    # pose; gz_frame_id keeps "laser" as the frame_id of the published scans.
    sensor_size = min(0.05, 0.5 * L, 0.5 * W)
    sensor_shape = f'<cylinder radius="{fnum(0.5 * sensor_size)}" length="{fnum(sensor_size)}"/>'
    out += [
        "",
        '  <link name="laser">',
        *_shape("visual", sensor_shape, (0, 0, 0), "0 0 0", "sensor"),
        "  </link>",
        '  <joint name="laser_joint" type="fixed">',
        '    <parent link="base_link"/>',
        '    <child link="laser"/>',
        f'    <origin xyz="{_xyz(lid.mount_x_m, 0, lay.laser_z_m)}" rpy="0 0 0"/>',
        "  </joint>",
        "",
        *_surface("left_wheel_link", WHEEL_FRICTION),
        *_surface("right_wheel_link", WHEEL_FRICTION),
        *_surface("front_caster_link", CASTER_FRICTION),
        *_surface("rear_caster_link", CASTER_FRICTION),
        "",
        '  <gazebo reference="laser">',
        *("    " + line for line in gz_lidar_sensor(robot)),
        "  </gazebo>",
        "",
        "  <gazebo>",
        '    <plugin filename="gz-sim-diff-drive-system" name="gz::sim::systems::DiffDrive">',
        "      <left_joint>left_wheel_joint</left_joint>",
        "      <right_joint>right_wheel_joint</right_joint>",
        f"      <wheel_separation>{fnum(robot.wheel_separation_m)}</wheel_separation>",
        f"      <wheel_radius>{fnum(r)}</wheel_radius>",
        f"      <max_linear_velocity>{fnum(robot.max_linear_speed_mps)}</max_linear_velocity>",
        f"      <min_linear_velocity>{fnum(robot.min_linear_speed_mps)}</min_linear_velocity>",
        f"      <max_angular_velocity>{fnum(robot.max_angular_speed_radps)}</max_angular_velocity>",
        f"      <min_angular_velocity>{fnum(-robot.max_angular_speed_radps)}</min_angular_velocity>",
        f"      <max_linear_acceleration>{fnum(robot.max_linear_accel_mps2)}</max_linear_acceleration>",
        f"      <min_linear_acceleration>{fnum(-robot.max_linear_accel_mps2)}</min_linear_acceleration>",
        f"      <max_angular_acceleration>{fnum(robot.max_angular_accel_radps2)}</max_angular_acceleration>",
        f"      <min_angular_acceleration>{fnum(-robot.max_angular_accel_radps2)}</min_angular_acceleration>",
        "      <topic>cmd_vel</topic>",
        "      <odom_topic>odom</odom_topic>",
        "      <tf_topic>tf</tf_topic>",
        "      <frame_id>odom</frame_id>",
        "      <child_frame_id>base_link</child_frame_id>",
        "      <odom_publish_frequency>50</odom_publish_frequency>",
        "    </plugin>",
        '    <plugin filename="gz-sim-joint-state-publisher-system"'
        ' name="gz::sim::systems::JointStatePublisher">',
        "      <joint_name>left_wheel_joint</joint_name>",
        "      <joint_name>right_wheel_joint</joint_name>",
        "    </plugin>",
        "  </gazebo>",
        "</robot>",
    ]
    return "\n".join(out) + "\n"


def write_urdf(robot: RobotConfig, path: str | Path) -> Path:
    """Write :func:`robot_urdf` of ``robot`` to ``path`` (parent folders must exist); return the path."""
    p = Path(path)
    p.write_text(robot_urdf(robot))
    return p
