"""hand_policy: the dexterous hand I/O adapter for the shared PolicyNode."""
