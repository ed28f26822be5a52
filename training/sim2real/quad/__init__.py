"""Quadrotor domain: vehicle simulation (more lands with the quadrotor issue)."""
