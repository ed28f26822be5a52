"""sim2real's ROS 2 layer: one transport interface, two adapters (rclpy, Cyclone DDS), the ROS 2
message types for the DDS adapter, and conversions between messages and the runtime's arrays."""

from __future__ import annotations

from .transport import Transport


def make_transport(kind: str, name: str, use_sim_time: bool = False) -> Transport:
    """``"rclpy"`` (ROS 2 installed) or ``"dds"`` (Cyclone DDS, ROS 2 wire conventions)."""
    if kind == "rclpy":
        from .ros import RclpyTransport

        return RclpyTransport(name, use_sim_time=use_sim_time)
    if kind == "dds":
        from .dds import DdsTransport

        return DdsTransport(name, use_sim_time=use_sim_time)
    raise ValueError(f"unknown transport {kind!r}: expected 'rclpy' or 'dds'")
