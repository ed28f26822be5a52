"""The nav_policy node's parameters: one frozen dataclass, read from ROS 2 parameters or a
``--params-file`` YAML in the ROS 2 format (``nav_policy: {ros__parameters: {...}}``).

Limits given as 0 take the robot file's value; a limit above the robot's is refused.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sim2real_runtime.errors import ConfigError


@dataclass(frozen=True)
class NavNodeParams:
    """Parameters of the nav_policy node (ROS 2 parameter names are the field names)."""

    policy_path: str = ""
    """Policy directory or ``policy.onnx`` file."""
    robot: str = "jackal"
    """Robot name under ``sim_assets/`` or a path to a ``robot.yaml``."""
    scan_topic: str = "/scan"
    """sensor_msgs/LaserScan input, read with sensor-data QoS (best effort)."""
    odom_topic: str = "/odom"
    """nav_msgs/Odometry input (REP-105: pose in ``odom``, twist in ``base_link``)."""
    goal_topic: str = "/goal_pose"
    """geometry_msgs/PoseStamped goals, in the odometry frame (what RViz's 2D Goal Pose sends)."""
    estop_topic: str = "/estop"
    """std_msgs/Bool e-stop: True stops the robot until False is received."""
    cmd_vel_topic: str = "/cmd_vel"
    """geometry_msgs/Twist (or TwistStamped, see ``cmd_vel_stamped``) output."""
    cmd_vel_stamped: bool = False
    """Publish TwistStamped (Jazzy's diff_drive_controller) instead of Twist."""
    state_topic: str = "/nav_policy/state"
    """std_msgs/String state output (latched): idle, driving, goal_reached, blocked, stopped:..., error:..."""
    base_frame: str = "base_link"
    """frame_id of TwistStamped commands."""
    control_rate_hz: float = 50.0
    """Safety loop rate (Hz): watchdog checks and command heartbeat. The policy itself runs at its
    contract's rate, on scan arrival."""
    scan_timeout_s: float = 0.25
    """A scan older than this (host steady clock) stops the robot."""
    odom_timeout_s: float = 0.25
    """An odometry message older than this stops the robot."""
    goal_tolerance_m: float = 0.3
    """Distance to the goal at which the node stops and reports goal_reached."""
    blocked_timeout_s: float = 10.0
    """No 0.1 m of progress towards the goal for this long (node clock) -> state ``blocked``."""
    max_linear_speed_mps: float = 0.0
    """Forward speed limit (m/s); 0 = the robot's."""
    max_reverse_speed_mps: float = 0.0
    """Reverse speed limit (m/s, positive); 0 = the robot's."""
    max_angular_speed_radps: float = 0.0
    """Yaw rate limit (rad/s); 0 = the robot's."""
    max_linear_accel_mps2: float = 0.0
    """Linear acceleration limit (m/s^2); 0 = the robot's."""
    max_angular_accel_radps2: float = 0.0
    """Angular acceleration limit (rad/s^2); 0 = the robot's."""
    collision_guard: bool = True
    """Cap the forward speed from the raw scan on every scan (independent of the policy)."""
    use_sim_time: bool = False
    """Node clock follows /clock (simulators)."""


FIELDS = {f.name: f for f in dataclasses.fields(NavNodeParams)}


def _coerce(name: str, value: Any, source: str) -> Any:
    default = FIELDS[name].default
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(source, name, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(source, name, f"expected a number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(source, name, f"expected a string, got {value!r}")
    return value


def params_from_mapping(values: dict[str, Any], source: str) -> tuple[NavNodeParams, list[ConfigError]]:
    """Parameters from a name -> value mapping, and the errors of the entries that were refused.

    Unknown names and wrongly typed values are reported (each error names the parameter) and
    skipped, so a node can stay up, say what is wrong, and refuse to drive.
    """
    ok: dict[str, Any] = {}
    errors: list[ConfigError] = []
    for name, value in values.items():
        if name not in FIELDS:
            errors.append(ConfigError(source, name, f"unknown parameter (known: {', '.join(FIELDS)})"))
            continue
        try:
            ok[name] = _coerce(name, value, source)
        except ConfigError as exc:
            errors.append(exc)
    params = NavNodeParams(**ok)
    for name in (
        "control_rate_hz",
        "scan_timeout_s",
        "odom_timeout_s",
        "goal_tolerance_m",
        "blocked_timeout_s",
    ):
        if not getattr(params, name) > 0:
            errors.append(ConfigError(source, name, f"must be > 0, got {getattr(params, name)}"))
    for name in FIELDS:
        if name.startswith("max_") and getattr(params, name) < 0:
            errors.append(
                ConfigError(source, name, f"must be >= 0 (0 = the robot's), got {getattr(params, name)}")
            )
    if not params.policy_path:
        errors.append(ConfigError(source, "policy_path", "required: a policy directory or policy.onnx"))
    return params, errors


def read_params_file(path: str | Path, node_name: str = "nav_policy") -> dict[str, Any]:
    """The ``ros__parameters`` of ``node_name`` (or of ``/**``) in a ROS 2 parameters YAML file."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise ConfigError(str(p), "<file>", f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(p), "<yaml>", f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(p), "<root>", "expected a mapping of node names")
    out: dict[str, Any] = {}
    for key in ("/**", node_name, "/" + node_name):
        if key in data:
            entry = data[key]
            if not isinstance(entry, dict) or not isinstance(entry.get("ros__parameters"), dict):
                raise ConfigError(str(p), f"{key}.ros__parameters", "expected a mapping of parameters")
            out.update(entry["ros__parameters"])
    if not out:
        raise ConfigError(str(p), node_name, f"no '{node_name}: ros__parameters:' section")
    return out
