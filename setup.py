"""sim2real: train robot policies in simulation, deploy them unchanged on ROS 2 robots.

``pip install -e .`` installs these Python packages (found, not listed: a new domain's packages
need no change here) and the ``sim2real`` command:

- ``sim2real_runtime`` (ros2_ws/src/sim2real_runtime): the registry of domains, the policy
  contract, observation and action terms, controllers, safety layers, ONNX execution. numpy +
  onnxruntime only; also an ament_python package for colcon.
- ``sim2real_ros`` (ros2_ws/src/sim2real_ros): the transport interface and its rclpy and Cyclone
  DDS adapters, ROS 2 message types for DDS, message conversions.
- ``<domain>_policy`` (ros2_ws/src/nav_policy, quad_policy, manip_policy): each domain's I/O
  adapter for the shared policy node, its parameters (also colcon packages with launch files).
- ``sim2real`` (training/sim2real): simulators, worlds, training, export, evaluation, baselines.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def _ros_packages() -> dict[str, str]:
    """Every colcon package under ros2_ws/src that holds a Python package of its own name (the
    runtime, sim2real_ros and each domain's ``<domain>_policy``): a new domain's package is
    installed without touching this file."""
    return {
        d.name: f"ros2_ws/src/{d.name}/{d.name}"
        for d in sorted((HERE / "ros2_ws" / "src").iterdir())
        if (d / d.name / "__init__.py").is_file()
    }


PACKAGE_DIR = {**_ros_packages(), "sim2real": "training/sim2real"}
PACKAGES = [
    sub
    for name, folder in PACKAGE_DIR.items()
    for sub in [name] + [f"{name}.{p}" for p in find_packages(str(HERE / folder))]
]

setup(
    name="sim2real",
    version="0.1.0",
    description="Sim-to-real robot learning: train on a CPU, deploy on ROS 2 with the contract checked",
    python_requires=">=3.10",
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    install_requires=[
        "numpy>=1.26",
        "pyyaml>=6",
        "onnxruntime>=1.18",
        "onnx>=1.16",
        "mujoco>=3.2",
        "numba>=0.60",
        "torch==2.13.0",
        "rsl-rl-lib==5.5.1",
        "tensorboard>=2.16",
        "tqdm>=4.66",
        "matplotlib>=3.8",
        "scipy>=1.11",
        "cyclonedds==11.0.1",
        "rosbags>=0.10",
        "pyarrow>=14",
        "psutil>=5.9",
    ],
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6.100", "ruff>=0.6"],
        # teleop devices (each imported only when that device is opened): a Linux evdev gamepad,
        # an SDL gamepad, a 3Dconnexion SpaceMouse over raw HID
        "teleop": ["evdev>=1.6; sys_platform == 'linux'", "pygame>=2.5", "hidapi>=0.14"],
    },
    entry_points={"console_scripts": ["sim2real=sim2real.cli:main"]},
)
