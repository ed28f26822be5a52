"""sim2real runtime: the policy contract, observation/action terms and ONNX execution.

Imports neither rclpy, torch nor MuJoCo, so it installs alone on a robot (numpy + onnxruntime).
"""

# Every domain (and with it its observation and action terms) is registered on first use of the
# registry; importing it here means a contract of any domain can be rebuilt whichever module the
# caller imported first.
from .domains import all_domains

all_domains()
