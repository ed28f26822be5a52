"""ament_python build of manip_policy for colcon (`colcon build` in ros2_ws/).

Installs the node as ``manip_policy_node``, the launch files, the parameter files, and the Panda's
URDF as ``share/manip_policy/urdf/panda.urdf`` (the node's default ``urdf``: its kinematic chain is
checked against the policy contract, and the source tree is not there on an installed robot).
"""

import os
from glob import glob
from pathlib import Path

from setuptools import setup

package_name = "manip_policy"
here = Path(__file__).resolve().parent
urdf = here.parents[2] / "sim_assets" / "panda" / "panda.urdf"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.launch.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
        ("share/" + package_name + "/urdf", [os.path.relpath(urdf, here)]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="sim2real developers",
    maintainer_email="dev@sim2real.dev",
    description="7-DoF arm policy node over ros2_control (joint targets, gripper), real + sim launches",
    license="Apache-2.0",
    entry_points={"console_scripts": ["manip_policy_node = manip_policy.node:main"]},
)
