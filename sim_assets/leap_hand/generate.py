"""Write the LEAP Hand (right) + cube as MJCF (``leap_hand.xml``) and URDF (``leap_hand.urdf``)
from one kinematic table, so that the two files cannot disagree.

Numbers: joint origins, axes and limits from the vendor's public description (LEAP_Hand_Sim
``robot.urdf``, whose joints are named by motor id 0..15; rounded to 0.1 mm), link masses from the
same file, collision geometry our own primitive boxes and spheres sized after the MuJoCo Menagerie
model's boxes (no meshes). Joint names follow the Menagerie / MuJoCo Playground model
(``if_mcp`` ... ``th_ipl``); the simulation joint order is that model's (per finger: MCP forward,
MCP side, PIP, DIP), which is NOT the hardware's (per finger: MCP side, MCP forward, PIP, DIP; see
``sim2real_runtime.hand_model``).

The palm's pose in the world is a parameter (``--palm-pos``, ``--palm-rpy``); the default turns the
palm up (its inner face's normal along world +z) with the cube resting on it, as in the anchors.

Run ``python sim_assets/leap_hand/generate.py`` to rewrite both files.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Joint:
    name: str
    parent: str
    child: str
    xyz: tuple[float, float, float]
    """Joint origin in the parent link frame (m)."""
    rpy: tuple[float, float, float]
    """URDF roll-pitch-yaw of the child frame (rad)."""
    lower: float
    upper: float
    hardware_id: int
    """The motor id on the LEAP driver (index 0-3, middle 4-7, ring 8-11, thumb 12-15)."""


H = math.pi / 2
# The three long fingers share one link chain, offset along the palm's y axis.
FINGER_Y = {"if": 0.0231, "mf": -0.0224, "rf": -0.0678}
FINGER_IDS = {"if": 0, "mf": 4, "rf": 8}


def _finger(f: str) -> list[Joint]:
    b = FINGER_IDS[f]
    return [
        Joint(
            f"{f}_mcp", "palm", f"{f}_bs", (-0.0071, FINGER_Y[f], -0.0187), (H, H, 0.0), -0.314, 2.23, b + 1
        ),
        Joint(
            f"{f}_rot", f"{f}_bs", f"{f}_px", (-0.0122, 0.0381, 0.0145), (-H, 0.0, H), -1.047, 1.047, b + 0
        ),
        Joint(
            f"{f}_pip", f"{f}_px", f"{f}_md", (0.0150, 0.0143, -0.0130), (H, -H, 0.0), -0.506, 1.885, b + 2
        ),
        Joint(
            f"{f}_dip", f"{f}_md", f"{f}_ds", (0.0, -0.0361, 0.0002), (0.0, 0.0, 0.0), -0.366, 2.042, b + 3
        ),
    ]


THUMB = [
    Joint("th_cmc", "palm", "th_mp", (-0.0694, -0.0012, -0.0216), (0.0, H, 0.0), -0.349, 2.094, 12),
    Joint("th_axl", "th_mp", "th_bs", (0.0, 0.0143, -0.0130), (H, -H, 0.0), -0.470, 2.443, 13),
    Joint("th_mcp", "th_bs", "th_px", (0.0, 0.0145, -0.0170), (-H, 0.0, 0.0), -1.200, 1.900, 14),
    Joint("th_ipl", "th_px", "th_ds", (0.0, 0.0466, 0.0002), (0.0, 0.0, math.pi), -1.340, 1.880, 15),
]

JOINTS = [*_finger("if"), *_finger("mf"), *_finger("rf"), *THUMB]
"""Simulation order (the MJCF actuator order and the contract's ``joint_names``)."""

MASS_KG = {
    "palm": 0.237,
    "bs": 0.044,
    "px": 0.032,
    "md": 0.037,
    "ds": 0.016,
    "th_mp": 0.032,
    "th_bs": 0.003,
    "th_px": 0.038,
    "th_ds": 0.049,
}

# Collision primitives per link kind, in the link frame: (type, half sizes (m), position (m)).
BOXES = {
    "bs": [("box", (0.014, 0.020, 0.010), (-0.027, 0.042, 0.015))],
    "px": [("box", (0.017, 0.013, 0.011), (0.0075, -0.0002, -0.011))],
    "md": [
        ("box", (0.017, 0.011, 0.013), (0.0075, -0.035, 0.015)),
        ("box", (0.010, 0.002, 0.017), (0.0, -0.016, 0.015)),
    ],
    "ds": [("box", (0.010, 0.010, 0.015), (0.0, -0.020, 0.015))],
    "th_mp": [("box", (0.017, 0.013, 0.011), (-0.0075, -0.0002, -0.011))],
    "th_bs": [("box", (0.009, 0.0165, 0.002), (0.0, 0.0, -0.0015))],
    "th_px": [("box", (0.010, 0.020, 0.012), (0.0, 0.0105, -0.014))],
    "th_ds": [("box", (0.010, 0.018, 0.012), (0.0, -0.0085, -0.015))],
}
TIPS = {"ds": (0.0, -0.040, 0.015), "th_ds": (0.0, -0.045, -0.015)}
"""Fingertip sphere centres in the distal link frame (m); radius :data:`TIP_RADIUS_M`."""
TIP_RADIUS_M = 0.011
PALM_BOXES = [
    ((0.050, 0.058, 0.0015), (-0.050, -0.032, -0.0330)),
    ((0.012, 0.058, 0.023), (-0.048, -0.033, -0.0115)),
    ((0.022, 0.026, 0.023), (-0.078, -0.053, -0.0115)),
    ((0.011, 0.058, 0.017), (-0.009, -0.022, -0.011)),
    ((0.010, 0.060, 0.015), (-0.030, -0.035, -0.003)),
]
"""The palm's collision boxes (half sizes, centre; m) in the palm frame; the first is a flat plate
under the inner face (palm frame -z), where the cube rests."""
PALM_CENTER = (-0.050, -0.032, -0.0345)
"""The centre of the inner palm face in the palm frame (m): the palm normal is the palm frame's -z
(closing any finger moves its tip towards -z)."""

CUBE_HALF_M = 0.0325
CUBE_MASS_KG = 0.08
PALM_UP_RPY = (math.pi, 0.0, 0.0)
"""The palm frame's roll-pitch-yaw (rad) that turns the inner palm face up: palm -z = world +z,
fingers along world +x, thumb towards world -y."""


def kind(link: str) -> str:
    return link if link.startswith("th_") else link.split("_", 1)[1]


def rpy_to_quat(r: float, p: float, y: float) -> tuple[float, float, float, float]:
    """URDF rpy (fixed X, then Y, then Z) -> quaternion (w, x, y, z)."""
    cr, sr, cp, sp, cy, sy = (
        math.cos(r / 2),
        math.sin(r / 2),
        math.cos(p / 2),
        math.sin(p / 2),
        math.cos(y / 2),
        math.sin(y / 2),
    )
    return (
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
    )


def f(v) -> str:
    return " ".join(f"{x:.6g}" for x in v)


def _rotate(rpy: tuple[float, float, float], v: tuple[float, float, float]) -> tuple[float, float, float]:
    w, x, y, z = rpy_to_quat(*rpy)
    # v' = q v q*, written out
    tx, ty, tz = 2 * (y * v[2] - z * v[1]), 2 * (z * v[0] - x * v[2]), 2 * (x * v[1] - y * v[0])
    return (v[0] + w * tx + y * tz - z * ty, v[1] + w * ty + z * tx - x * tz, v[2] + w * tz + x * ty - y * tx)


def cube_start(
    palm_pos: tuple[float, float, float], palm_rpy: tuple[float, float, float]
) -> tuple[float, ...]:
    """The cube's start: one half size plus 5 mm off the palm centre, along the palm normal (m)."""
    c = _rotate(palm_rpy, PALM_CENTER)
    n = _rotate(palm_rpy, (0.0, 0.0, -1.0))
    return tuple(p + ci + (CUBE_HALF_M + 0.005) * ni for p, ci, ni in zip(palm_pos, c, n, strict=True))


def mjcf(palm_pos: tuple[float, float, float], palm_rpy: tuple[float, float, float]) -> str:
    children: dict[str, list[Joint]] = {}
    for j in JOINTS:
        children.setdefault(j.parent, []).append(j)

    def body(j: Joint, depth: int) -> list[str]:
        pad = "  " * depth
        k = kind(j.child)
        out = [
            f'{pad}<body name="{j.child}" pos="{f(j.xyz)}" quat="{f(rpy_to_quat(*j.rpy))}">',
            f'{pad}  <inertial pos="0 0 0" mass="{MASS_KG[k]}" diaginertia="4e-6 4e-6 3e-6"/>',
            f'{pad}  <joint name="{j.name}" range="{j.lower} {j.upper}"/>',
        ]
        for i, (_, size, pos) in enumerate(BOXES[k]):
            out.append(f'{pad}  <geom name="{j.child}_c{i}" type="box" size="{f(size)}" pos="{f(pos)}"/>')
        if k in TIPS:
            tip = j.child.split("_")[0] + "_tip"
            out.append(f'{pad}  <geom name="{tip}" class="tip" pos="{f(TIPS[k])}"/>')
            out.append(f'{pad}  <site name="{tip}" pos="{f(TIPS[k])}" size="0.004"/>')
        for c in children.get(j.child, []):
            out += body(c, depth + 1)
        out.append(f"{pad}</body>")
        return out

    palm = [
        f'    <body name="palm" pos="{f(palm_pos)}" quat="{f(rpy_to_quat(*palm_rpy))}">',
        f'      <inertial pos="-0.05 -0.035 -0.01" mass="{MASS_KG["palm"]}" diaginertia="4e-4 3e-4 2e-4"/>',
        f'      <site name="palm_center" pos="{f(PALM_CENTER)}" size="0.005"/>',
    ]
    for i, (size, pos) in enumerate(PALM_BOXES):
        palm.append(f'      <geom name="palm_c{i}" type="box" size="{f(size)}" pos="{f(pos)}"/>')
    for j in children["palm"]:
        palm += body(j, 3)
    palm.append("    </body>")
    excludes = [
        f'    <exclude body1="palm" body2="{j.child}"/>'
        for j in JOINTS
        if kind(j.child) != "ds" and j.child != "th_ds"
    ]
    acts = [
        f'    <position name="{j.name}_act" joint="{j.name}" ctrlrange="{j.lower} {j.upper}"/>'
        for j in JOINTS
    ]
    return "\n".join(
        [
            "<!-- Generated by sim_assets/leap_hand/generate.py: edit that file, not this one. -->",
            '<mujoco model="leap_hand_cube">',
            '  <compiler angle="radian" autolimits="true"/>',
            '  <option timestep="0.01" integrator="implicitfast" cone="elliptic" impratio="10"/>',
            "  <default>",
            '    <geom friction="0.7" solref="0.005 1" rgba="0.2 0.2 0.2 1" density="0"/>',
            '    <joint axis="0 0 -1" damping="0.03" armature="0.002" frictionloss="0.001"/>',
            '    <position kp="3.0" kv="0.01"/>',
            '    <default class="tip">',
            f'      <geom type="sphere" size="{TIP_RADIUS_M}" friction="1.0" rgba="1 1 1 1"/>',
            "    </default>",
            "  </default>",
            "  <worldbody>",
            '    <light pos="0 0 1"/>',
            '    <geom name="floor" type="plane" size="0.5 0.5 0.01" pos="0 0 0" rgba="0.8 0.8 0.8 1"/>',
            *palm,
            f'    <body name="cube" pos="{f(cube_start(palm_pos, palm_rpy))}">',
            '      <freejoint name="cube"/>',
            f'      <geom name="cube" type="box" size="{f([CUBE_HALF_M] * 3)}" mass="{CUBE_MASS_KG}"'
            ' friction="1.0" rgba="0.9 0.5 0.1 1"/>',
            "    </body>",
            "  </worldbody>",
            "  <contact>",
            *excludes,
            "  </contact>",
            "  <actuator>",
            *acts,
            "  </actuator>",
            "</mujoco>",
            "",
        ]
    )


def urdf(palm_pos: tuple[float, float, float], palm_rpy: tuple[float, float, float]) -> str:
    def link(name: str) -> list[str]:
        k = kind(name) if name != "palm" else "palm"
        geoms = [(size, pos) for _, size, pos in BOXES.get(k, [])] if k != "palm" else PALM_BOXES
        out = [
            f'  <link name="{name}">',
            f'    <inertial><origin xyz="0 0 0"/><mass value="{MASS_KG[k]}"/>'
            '<inertia ixx="4e-6" ixy="0" ixz="0" iyy="4e-6" iyz="0" izz="3e-6"/></inertial>',
        ]
        for size, pos in geoms:
            box = f(tuple(2 * s for s in size))
            out.append(
                f'    <collision><origin xyz="{f(pos)}"/><geometry><box size="{box}"/></geometry></collision>'
            )
        if k in TIPS:
            out.append(
                f'    <collision><origin xyz="{f(TIPS[k])}"/>'
                f'<geometry><sphere radius="{TIP_RADIUS_M}"/></geometry></collision>'
            )
        out.append("  </link>")
        return out

    lines = [
        '<?xml version="1.0"?>',
        "<!-- Generated by sim_assets/leap_hand/generate.py: edit that file, not this one. -->",
        '<robot name="leap_hand_right">',
        '  <link name="world"/>',
        '  <joint name="palm_mount" type="fixed"><parent link="world"/><child link="palm"/>'
        f'<origin xyz="{f(palm_pos)}" rpy="{f(palm_rpy)}"/></joint>',
    ]
    lines += link("palm")
    for j in JOINTS:
        lines += link(j.child)
        lines.append(
            f'  <joint name="{j.name}" type="revolute"><parent link="{j.parent}"/><child link="{j.child}"/>'
            f'<origin xyz="{f(j.xyz)}" rpy="{f(j.rpy)}"/><axis xyz="0 0 -1"/>'
            f'<limit lower="{j.lower}" upper="{j.upper}" effort="0.95" velocity="8.48"/></joint>'
        )
        k = kind(j.child)
        if k in TIPS:
            tip = j.child.split("_")[0] + "_tip"
            lines.append(f'  <link name="{tip}"/>')
            lines.append(
                f'  <joint name="{tip}_fixed" type="fixed"><parent link="{j.child}"/><child link="{tip}"/>'
                f'<origin xyz="{f(TIPS[k])}"/></joint>'
            )
    lines += ["</robot>", ""]
    return "\n".join(lines)


PALM_POS = (0.0, 0.0, 0.1)
"""The palm origin in the world (m): 10 cm over the floor."""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--palm-pos", type=float, nargs=3, default=PALM_POS, help="palm origin in the world (m)")
    p.add_argument("--palm-rpy", type=float, nargs=3, default=PALM_UP_RPY, help="palm roll-pitch-yaw (rad)")
    p.add_argument("--out", type=Path, default=HERE)
    a = p.parse_args()
    (a.out / "leap_hand.xml").write_text(mjcf(tuple(a.palm_pos), tuple(a.palm_rpy)))
    (a.out / "leap_hand.urdf").write_text(urdf(tuple(a.palm_pos), tuple(a.palm_rpy)))


if __name__ == "__main__":
    main()
