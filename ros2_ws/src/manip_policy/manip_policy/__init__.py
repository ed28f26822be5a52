"""The manipulation (7-DoF arm + gripper) policy node for ros2_control."""
