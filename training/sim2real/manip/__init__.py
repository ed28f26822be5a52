"""The manipulation domain: a Franka Panda-class 7-DoF arm with a parallel gripper, reach and
pick-and-place, simulated in MuJoCo."""
