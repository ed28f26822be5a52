"""ament_python build of toy_policy for colcon (as ``ros2_ws/src/<name>_policy/setup.py``).

Installs the node as ``toy_policy_node``, the launch files, the parameter files and the cart
descriptions (``share/toy_policy/carts/<name>.yaml``).
"""

import os
from glob import glob
from pathlib import Path

from setuptools import setup

package_name = "toy_policy"
here = Path(__file__).resolve().parent
assets = here.parent / "assets"

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
            "share/" + package_name + "/carts",
            [os.path.relpath(p, here) for p in sorted(assets.glob("*.yaml"))],
        ),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="sim2real developers",
    maintainer_email="dev@sim2real.dev",
    description="Toy domain policy node (a cart on a rail)",
    license="Apache-2.0",
    entry_points={"console_scripts": ["toy_policy_node = toy_policy.node:main"]},
)
