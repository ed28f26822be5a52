"""sim2real: train robot policies in simulation, deploy them unchanged on ROS 2 robots.

``pip install -e .`` installs four Python packages and the ``sim2real`` command:

- ``sim2real_runtime`` (ros2_ws/src/sim2real_runtime): the registry of domains, the policy
  contract, observation and action terms, controllers, safety layers, ONNX execution. numpy + onnxruntime only; also an ament_python package for colcon.
- ``sim2real_ros`` (ros2_ws/src/sim2real_ros): the transport interface and its rclpy and Cyclone
  DDS adapters, ROS 2 message types for DDS, message conversions.
- ``nav_policy`` (ros2_ws/src/nav_policy): the navigation node (also a colcon package with launch
  files).
- ``sim2real`` (training/sim2real): simulators, worlds, training, export, evaluation, baselines.
"""

from setuptools import setup

setup(
    name="sim2real",
    version="0.1.0",
    description="Sim-to-real robot learning: train on a CPU, deploy on ROS 2 with the contract checked",
    python_requires=">=3.10",
    packages=[
        "sim2real_runtime",
        "sim2real_runtime.domains",
        "sim2real_ros",
        "nav_policy",
        "quad_policy",
        "manip_policy",
        "sim2real",
        "sim2real.nav",
        "sim2real.quad",
        "sim2real.manip",
    ],
    package_dir={
        "sim2real_runtime": "ros2_ws/src/sim2real_runtime/sim2real_runtime",
        "sim2real_ros": "ros2_ws/src/sim2real_ros/sim2real_ros",
        "nav_policy": "ros2_ws/src/nav_policy/nav_policy",
        "quad_policy": "ros2_ws/src/quad_policy/quad_policy",
        "manip_policy": "ros2_ws/src/manip_policy/manip_policy",
        "sim2real": "training/sim2real",
    },
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
        "psutil>=5.9",
    ],
    extras_require={"test": ["pytest>=8", "hypothesis>=6.100", "ruff>=0.6"]},
    entry_points={"console_scripts": ["sim2real=sim2real.cli:main"]},
)
