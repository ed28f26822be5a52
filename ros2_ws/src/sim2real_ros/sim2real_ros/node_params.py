"""Node parameters for every policy node: one frozen dataclass per node, read from ROS 2
parameters or a ``--params-file`` YAML in the ROS 2 format (``<node>: {ros__parameters: {...}}``).

Unknown names and wrongly typed values are reported (each error names the parameter) and skipped,
so a node can stay up, say what is wrong, and refuse to move the robot.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml

from sim2real_runtime.errors import ConfigError

P = TypeVar("P")


@dataclass(frozen=True)
class NodeParams:
    """The parameters every policy node has, with one meaning in every domain. A domain's
    parameters extend this class (redeclaring a field changes only its default).

    ``POSITIVE`` (class variable) names the fields that must be > 0; :meth:`check` adds a
    domain's own rules.
    """

    POSITIVE: ClassVar[tuple[str, ...]] = ()

    policy_path: str = ""
    """Policy directory or ``policy.onnx`` file."""
    estop_topic: str = "/estop"
    """std_msgs/Bool e-stop: True engages it until False is received (what the node then does is
    the domain's: stop, descend, hold)."""
    state_topic: str = "/policy_node/state"
    """std_msgs/String state output (latched): ``error: <why>`` and the domain's states."""
    loop_rate_hz: float = 50.0
    """The steady-clock safety/command loop (Hz, host clock): watchdog, e-stop, command heartbeat
    or setpoint stream; it keeps running when the simulator and its /clock die."""
    control_rate_hz: float = 0.0
    """The policy rate the node expects (Hz): 0 takes the contract's; any other value must equal
    the contract's, else the policy is refused naming ``control_rate_hz``."""
    use_sim_time: bool = False
    """Node clock follows /clock (simulators)."""
    clock_offset_tolerance_s: float = 0.1
    """Inputs that carry a header stamp are also judged by it against the node clock (simulated
    time under use_sim_time, else the system clock): a message stamped more than its watchdog
    timeout + this before the node clock is stale on arrival, one stamped more than this ahead of
    it is refused (its age cannot be known), and a fresh one goes stale this much after its stamp
    is its timeout old (s). It allows for the offset between the clocks of the machines and the
    driver and transport latency. ``.inf`` turns stamp checks off (arrival time only); a zero
    stamp, or a node clock at 0 (use_sim_time before the first /clock), is judged by arrival
    time only. See :class:`sim2real_runtime.safety.Watchdog`."""
    teleop: str = "none"
    """A teleop source beside the policy (:mod:`sim2real_ros.teleop_arbiter`): ``none``, ``joy``
    (sensor_msgs/Joy), ``twist`` / ``twist_stamped`` (geometry_msgs, e.g. teleop_twist_keyboard),
    ``keyboard`` (the node's terminal), ``gamepad`` (Linux evdev), ``sdl`` (a gamepad through
    SDL), ``spacemouse`` (3Dconnexion over hidapi). The dead-man or an input above
    ``teleop_threshold`` takes over; every command still passes the domain's safety layer."""
    teleop_topic: str = ""
    """joy / twist: the input topic ("": ``/joy``, ``/teleop/cmd_vel``)."""
    teleop_device: str = ""
    """gamepad: the ``/dev/input/event*`` path; sdl: the joystick index ("": 0); spacemouse: a
    hidraw path ("": the first 3Dconnexion device found)."""
    teleop_joy_mapping: str = ""
    """joy: teleop_twist_joy-style mapping as ``name=value`` pairs separated by commas, e.g.
    ``axis_linear.x=1,scale_linear.x=0.5,axis_angular.yaw=0,enable_button=4`` (-1: unused); names
    not given keep the Xbox defaults (:class:`sim2real_ros.teleop_inputs.JoyMapping`)."""
    teleop_timeout_s: float = 0.3
    """The human in control and no input for this long (host steady clock): hold / stop (s)."""
    teleop_threshold: float = 0.2
    """An axis deflected beyond this fraction of full scale takes over without the dead-man (1);
    1: only the dead-man button takes over."""
    teleop_release_s: float = 0.5
    """A takeover by deflection lasts this long after the last deflection (s)."""
    teleop_deadband: float = 0.05
    """Axes below this fraction of full scale read 0 (1)."""
    teleop_linear_scale_mps: float = 0.0
    """Linear speed at full deflection (m/s); 0: the domain's default (nav: the policy's speed
    limit; manip: 0.1 m/s of the tool; quad: 0.5 m/s of the reference)."""
    teleop_angular_scale_radps: float = 0.0
    """Angular speed at full deflection (rad/s); 0: the domain's default."""
    intervention_topic: str = ""
    """std_msgs/Bool (latched) published when control changes hands: True while the human (or a
    hold the human's device caused) commands, False while the policy does; a recorder stores it
    per frame as ``intervention``. "": ``<state_topic's namespace>/intervention``."""
    reload_watch: bool = False
    """Hot reload: watch ``policy_path`` and swap a new policy written there (atomically) in
    between two control steps; one that does not fit the running contract, or whose first control
    step is not finite, is refused and the running policy stays (:mod:`sim2real_ros.policy_reload`)."""
    reload_period_s: float = 0.5
    """How often ``reload_watch`` looks at the file (s, > 0; a changed stat is then hashed)."""

    def check(self, source: str) -> list[ConfigError]:
        """A domain's own rules beyond types, POSITIVE and ``max_* >= 0`` (override)."""
        return []


def _coerce(name: str, default: Any, value: Any, source: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(source, name, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(source, name, f"expected a number, got {value!r}")
        return float(value)
    if isinstance(default, tuple):
        if (
            not isinstance(value, list | tuple)
            or len(value) != len(default)
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
        ):
            raise ConfigError(source, name, f"expected a list of {len(default)} numbers, got {value!r}")
        return tuple(float(v) for v in value)
    if not isinstance(value, str):
        raise ConfigError(source, name, f"expected a string, got {value!r}")
    return value


def params_from_mapping(
    cls: type[P], values: dict[str, Any], source: str, positive: Iterable[str] = ()
) -> tuple[P, list[ConfigError]]:
    """Parameters ``cls`` from a name -> value mapping, and the errors of the refused entries.

    ``positive`` names fields that must be > 0; fields named ``max_*`` must be >= 0; a
    ``policy_path`` field is required.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    ok: dict[str, Any] = {}
    errors: list[ConfigError] = []
    for name, value in values.items():
        if name not in fields:
            errors.append(ConfigError(source, name, f"unknown parameter (known: {', '.join(fields)})"))
            continue
        try:
            ok[name] = _coerce(name, fields[name].default, value, source)
        except ConfigError as exc:
            errors.append(exc)
    params = cls(**ok)
    if isinstance(params, NodeParams):
        positive = (*positive, "loop_rate_hz", "reload_period_s", *type(params).POSITIVE)
        if not params.control_rate_hz >= 0:
            errors.append(
                ConfigError(
                    source,
                    "control_rate_hz",
                    f"must be >= 0 (0: the contract's), got {params.control_rate_hz}",
                )
            )
        elif params.control_rate_hz > params.loop_rate_hz:
            errors.append(
                ConfigError(
                    source,
                    "loop_rate_hz",
                    f"must be >= control_rate_hz ({params.control_rate_hz}), got {params.loop_rate_hz}",
                )
            )
    if isinstance(params, NodeParams):
        errors.extend(_teleop_errors(params, source))
    if isinstance(params, NodeParams) and not params.clock_offset_tolerance_s >= 0:
        errors.append(
            ConfigError(
                source,
                "clock_offset_tolerance_s",
                f"must be >= 0 (.inf: no stamp checks), got {params.clock_offset_tolerance_s}",
            )
        )
    for name in dict.fromkeys(positive):
        if not getattr(params, name) > 0:
            errors.append(ConfigError(source, name, f"must be > 0, got {getattr(params, name)}"))
    for name in fields:
        v = getattr(params, name)
        if name.startswith("max_") and isinstance(v, float) and v < 0:
            errors.append(ConfigError(source, name, f"must be >= 0, got {v}"))
    if "policy_path" in fields and not params.policy_path:
        errors.append(ConfigError(source, "policy_path", "required: a policy directory or policy.onnx"))
    if isinstance(params, NodeParams):
        errors.extend(params.check(source))
    # A refused value never reaches the node: it keeps the default (the node reports the error and
    # refuses to command, but must still build its timers and watchdog without crashing).
    refused = {e.field for e in errors} & set(fields)
    params = dataclasses.replace(params, **{n: fields[n].default for n in refused})
    return params, errors


def _teleop_errors(params: NodeParams, source: str) -> list[ConfigError]:
    """The teleop parameters' own rules (a known source, finite non-negative numbers, a positive
    timeout, a deadband below 1)."""
    from .teleop_inputs import KINDS

    errors = []
    if params.teleop not in KINDS:
        errors.append(
            ConfigError(source, "teleop", f"unknown teleop {params.teleop!r}; known: {', '.join(KINDS)}")
        )
    for name in (
        "teleop_timeout_s", "teleop_threshold", "teleop_release_s", "teleop_deadband",
        "teleop_linear_scale_mps", "teleop_angular_scale_radps",
    ):  # fmt: skip
        v = getattr(params, name)
        if not (math.isfinite(v) and (v > 0 if name == "teleop_timeout_s" else v >= 0)):
            errors.append(
                ConfigError(source, name, f"must be {'>' if name == 'teleop_timeout_s' else '>='} 0, got {v}")
            )
    if params.teleop_joy_mapping:
        try:
            from .teleop_inputs import JoyMapping

            JoyMapping.parse(params.teleop_joy_mapping, "teleop_joy_mapping")
        except ValueError as exc:
            errors.append(ConfigError(source, "teleop_joy_mapping", str(exc)))
    if not params.teleop_deadband < 1:
        errors.append(ConfigError(source, "teleop_deadband", f"must be < 1, got {params.teleop_deadband}"))
    return errors


def readers(
    cls: type[P], node_name: str
) -> tuple[Callable[[dict[str, Any], str], tuple[P, list[ConfigError]]], Callable[..., dict[str, Any]]]:
    """``(params_from_mapping(values, source), read_params_file(path, node_name=node_name))`` for
    the parameters class ``cls`` of the node ``node_name``."""

    def from_mapping(values: dict[str, Any], source: str) -> tuple[P, list[ConfigError]]:
        """Parameters from a name -> value mapping, and the errors of the refused entries."""
        return params_from_mapping(cls, values, source)

    def read_file(path: str | Path, node_name: str = node_name) -> dict[str, Any]:
        """The ``ros__parameters`` of ``node_name`` (or of ``/**``) in a ROS 2 parameters file."""
        return read_params_file(path, node_name)

    return from_mapping, read_file


def read_params_file(path: str | Path, node_name: str) -> dict[str, Any]:
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
