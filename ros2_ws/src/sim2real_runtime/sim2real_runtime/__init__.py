"""sim2real runtime: the policy contract, observation/action terms and ONNX execution.

Imports neither rclpy, torch nor MuJoCo, so it installs alone on a robot (numpy + onnxruntime).
"""

# Every domain's observation and action terms, registered by importing their modules, so that a
# contract of any domain can be rebuilt whichever module the caller imported first.
from . import nav_terms, quad_terms  # noqa: F401
