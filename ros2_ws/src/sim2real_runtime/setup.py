"""ament_python build of the runtime for colcon (`colcon build` in ros2_ws/).

Outside ROS 2 the repository's top-level setup.py installs the same package with pip.
"""

from setuptools import setup

package_name = "sim2real_runtime"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name, package_name + ".domains", package_name + ".teleop"],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools", "numpy", "pyyaml", "onnxruntime"],
    zip_safe=True,
    maintainer="sim2real developers",
    maintainer_email="dev@sim2real.dev",
    description="Policy contract, observation/action terms and ONNX execution (no rclpy, torch or MuJoCo)",
    license="Apache-2.0",
)
