"""ament_python build of quad_policy for colcon (`colcon build` in ros2_ws/).

Installs the node as ``quad_policy_node``, the launch files, the parameter files, and the vehicle
files of ``sim_assets/`` (launch files pass ``share/quad_policy/vehicles/<name>/vehicle.yaml`` as the
node's ``vehicle`` parameter, since the source tree is not there on an installed robot).
"""

import os
from glob import glob
from pathlib import Path

from setuptools import setup

package_name = "quad_policy"
here = Path(__file__).resolve().parent
assets = here.parents[2] / "sim_assets"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.launch.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
        *[
            (f"share/{package_name}/vehicles/{p.parent.name}", [os.path.relpath(p, here)])
            for p in sorted(assets.glob("*/vehicle.yaml"))
        ],
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="sim2real developers",
    maintainer_email="dev@sim2real.dev",
    description="Quadrotor CTBR policy node (PX4 offboard or Crazyswarm2) with real and sim launch files",
    license="Apache-2.0",
    entry_points={"console_scripts": ["quad_policy_node = quad_policy.node:main"]},
)
