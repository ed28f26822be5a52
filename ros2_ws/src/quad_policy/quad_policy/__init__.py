"""The quadrotor policy node (PX4 offboard or Crazyswarm2), its parameters and launch helpers."""
