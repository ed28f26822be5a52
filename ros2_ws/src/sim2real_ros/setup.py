"""ament_python build of sim2real_ros for colcon; outside ROS 2 the top-level setup.py installs it."""

from setuptools import setup

package_name = "sim2real_ros"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools", "numpy"],
    zip_safe=True,
    maintainer="sim2real developers",
    maintainer_email="dev@sim2real.dev",
    description="Transport interface (rclpy, Cyclone DDS) and ROS 2 message conversions",
    license="Apache-2.0",
)
