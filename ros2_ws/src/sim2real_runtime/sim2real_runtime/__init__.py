"""sim2real runtime: the policy contract, observation/action terms and ONNX execution.

Imports neither rclpy, torch nor MuJoCo, so it installs alone on a robot (numpy + onnxruntime).
"""
