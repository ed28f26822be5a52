"""Recorded demonstrations: LeRobot v3.0 datasets (:mod:`.lerobot_v3`) and rosbag2 MCAP bags
(:mod:`.bag`), written crash-safe, in the contract's terms."""
