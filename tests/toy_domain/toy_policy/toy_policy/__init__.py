"""toy_policy: the toy domain's policy node (one code base, rclpy or Cyclone DDS transport)."""
