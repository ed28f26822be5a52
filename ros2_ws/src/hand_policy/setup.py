"""ament_python build of hand_policy for colcon (`colcon build` in ros2_ws/).

Installs the node as ``hand_policy_node``, the launch files, the parameter files, and the LEAP
Hand's description as ``share/hand_policy/hand/leap_hand/{hand.yaml,leap_hand.urdf}`` (the node's
default ``hand``: its joint names, order, limits and driver mapping are checked against the policy
contract, and the source tree is not there on an installed robot).
"""

import os
from glob import glob
from pathlib import Path

from setuptools import setup

package_name = "hand_policy"
here = Path(__file__).resolve().parent
hand = here.parents[2] / "sim_assets" / "leap_hand"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.launch.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
        (
            "share/" + package_name + "/hand/leap_hand",
            [os.path.relpath(hand / f, here) for f in ("hand.yaml", "leap_hand.urdf")],
        ),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="sim2real developers",
    maintainer_email="dev@sim2real.dev",
    description="Dexterous hand policy node (LEAP driver or ros2_control targets), real + sim launches",
    license="Apache-2.0",
    entry_points={"console_scripts": ["hand_policy_node = hand_policy.node:main"]},
)
