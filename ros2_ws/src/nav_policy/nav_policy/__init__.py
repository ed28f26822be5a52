"""nav_policy: the navigation policy node (one code base, rclpy or Cyclone DDS transport)."""
