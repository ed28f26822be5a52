"""One policy node for every domain: the lifecycle lives here once, a domain adds its I/O adapter.

:class:`PolicyNode` owns what every deployed policy needs, in this order of construction:

1. Parameters: errors met while reading them put the node in ``error: bad parameter <name>``.
2. Load or refuse: the description file (robot, vehicle, URDF) and the policy through the domain
   registry (:func:`sim2real_runtime.domains.get_domain`); the controller refuses a policy that
   does not fit, naming the contract field, and the node goes to ``error: <why>``. It stays up and
   commands nothing (or zeros, as the domain says): a node that crashes tells nobody why.
3. The latched state topic, throttled error logging, the e-stop subscription, the input type check
   (``/scan is published as std_msgs/msg/String; this node reads ...``), the watchdog
   (:class:`sim2real_runtime.safety.Watchdog`: arrival on the steady clock, and for stamped inputs
   fed through :meth:`PolicyNode.feed_input` the header stamp against the node clock within
   ``clock_offset_tolerance_s``) and the steady-clock loop at ``loop_rate_hz``.
4. The policy scheduler (:class:`PolicyScheduler`) at the contract's rate, on sensor stamps or on
   the node clock, whichever the domain feeds it.
5. Seams: :meth:`PolicyNode.command_matched` (the command topic has a subscriber),
   :meth:`PolicyNode.final_check` (the last limits check before publishing), :meth:`PolicyNode.shutdown`
   (state ``stopped: shutdown`` and the domain's zero or hold command) and
   :meth:`PolicyNode.swap_policy` (hot reload between two control steps).
6. Teleop beside the policy (parameter ``teleop``, or :meth:`PolicyNode.attach_teleop` for a
   scripted teleoperator): at each control step a domain asks :meth:`PolicyNode.teleop_decide`
   whether the policy, the human (its command mapped into the policy's action space by
   ``Domain.teleop``, executed through the same action terms and safety layer) or a hold commands;
   who is in control is published as std_msgs/Bool on ``intervention_topic``.

A domain's node (``nav_policy.node.NavPolicyNode``...) subclasses :class:`PolicyNode` and supplies
only its I/O: topics -> signals, command -> messages, and its own modes (a quadrotor's descent and
failsafe, an arm's hold).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sim2real_runtime.domains import Domain, get_domain
from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.policy import OnnxPolicy
from sim2real_runtime.safety import Watchdog
from sim2real_runtime.teleop import TeleopConfig, TeleopSource

from .node_params import NodeParams
from .policy_reload import PolicyWatch, TrialPolicy
from .teleop_arbiter import POLICY, Decision, TeleopArbiter
from .transport import DEFAULT, LATCHED, Publisher, QoS, Transport, stamp_to_s

BOOL = "std_msgs/msg/Bool"
STRING = "std_msgs/msg/String"

LOG_THROTTLE_S = 2.0
"""A repeated error is logged at most once per this period (per kind)."""
TYPE_CHECK_PERIOD_S = 1.0
"""How often the node compares the types published on its input topics with what it reads."""


class PolicyScheduler:
    """When the policy runs: exactly every ``1 / rate_hz`` seconds of a clock the caller feeds.

    The clock is whatever the domain schedules on: sensor stamps (a step on the first scan at or
    after each due time) or the node clock sampled by a faster loop. Due times advance by exactly
    one period, so a sensor or loop rate that is a multiple of the policy rate gives exact steps and
    any simulation speed works. A time a tenth of a period early still counts (stamp jitter). After
    a gap longer than a period, or a clock that went backwards (a restarted simulator), the
    schedule restarts from the time given.

    Attributes:
        period_s: the policy period (s).
        next_s: the time at which the next step is due (s); None before the first step.
        last_s: the time of the last step (s); None before the first.
    """

    EARLY_FRACTION = 0.1
    """A time this fraction of a period before the due time still counts as due."""

    def __init__(self, rate_hz: float) -> None:
        if not rate_hz > 0:
            raise ValueError(f"policy rate must be > 0 Hz, got {rate_hz}")
        self.period_s = 1.0 / rate_hz
        self.reset()

    def reset(self) -> None:
        """Forget the schedule: the next :meth:`due` is a step and starts a new one."""
        self.next_s: float | None = None
        self.last_s: float | None = None

    def restart(self, t_s: float) -> None:
        """A step was taken at ``t_s`` outside the schedule: the next one is due a period later."""
        self.next_s, self.last_s = t_s + self.period_s, t_s

    def due(self, t_s: float) -> bool:
        """Whether the policy runs at time ``t_s`` (s); if so, the step is booked."""
        p, nxt, last = self.period_s, self.next_s, self.last_s
        restart = nxt is None or last is None or t_s < last or t_s >= nxt + p
        if not (restart or t_s >= nxt - self.EARLY_FRACTION * p):
            return False
        self.next_s = t_s + p if restart else nxt + p  # type: ignore[operator]
        self.last_s = t_s
        return True


def within_limits(cmd: Any, low: np.ndarray, high: np.ndarray, tol: float = 0.0) -> bool:
    """Whether ``cmd`` has the limits' shape, is finite and lies in [low - tol, high + tol]."""
    c = np.asarray(cmd, dtype=np.float64)
    lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    return (
        c.shape == lo.shape
        and bool(np.all(np.isfinite(c)))
        and bool(np.all(c >= lo - tol))
        and bool(np.all(c <= hi + tol))
    )


class PolicyNode:
    """The lifecycle every policy node shares. Construct it with a transport and parameters (and
    the errors met reading them); it never raises on bad input.

    A subclass sets :attr:`DOMAIN` and :attr:`PARAMS` and implements the hooks below; the
    constructor calls them in this order: :meth:`load_description` and :meth:`make_controller`
    (only when the parameters are valid), :meth:`watchdog_timeouts`, :meth:`setup_io`,
    :meth:`initial_state`, :meth:`subscribe_inputs`. The steady-clock loop calls :meth:`on_tick`.

    Attributes:
        t: the transport. p: the parameters. log: the transport's logger.
        domain: the registry entry of :attr:`DOMAIN`.
        fault: why the node refuses to command (parameters, load), None when loaded.
        description: the loaded robot description (RobotConfig, VehicleConfig, SerialChain).
        controller: the domain's controller (a ``PolicyController``), None when refused.
        scheduler: the policy schedule at the contract's rate.
        watchdog: input freshness on the host's steady clock (and by stamp, see feed_input).
        state: the last state published on ``state_topic``.
        estop: whether the e-stop is engaged.
        type_fault: input topic -> why it is unusable (published with another message type).
        published: commands published (tests, benchmarks).
        teleop: the teleop arbiter beside the policy (None without teleop).
        intervention: whether the last control step was not the policy's (published on
            ``intervention_topic``).
    """

    DOMAIN: ClassVar[str]
    """The domain's registry name (``nav``, ``quad``, ``manip``)."""
    PARAMS: ClassVar[type[NodeParams]]
    """The domain's parameters dataclass (extends :class:`sim2real_ros.node_params.NodeParams`)."""
    ALARM_PREFIXES: ClassVar[tuple[str, ...]] = ("stopped", "error")
    """States logged as warnings; the others are logged as information."""
    ESTOP_ACTION: ClassVar[str] = ""
    """What the node does on an e-stop, appended to the log line (``: descending``)."""
    SCHEDULE_ON_NODE_CLOCK: ClassVar[bool] = True
    """True: the loop samples the node clock for policy steps, so ``loop_rate_hz`` must be at
    least the policy's rate. False: the domain schedules on sensor stamps (nav: every scan)."""

    def __init__(
        self, transport: Transport, params: NodeParams, param_errors: Sequence[Exception] = ()
    ) -> None:
        self.t = transport
        self.p = params
        self.log = transport.log
        self.domain: Domain = get_domain(self.DOMAIN)
        self.fault: str | None = None
        self.description: Any = None
        self.controller: Any = None
        self.state = ""
        self.estop = False
        self.published = 0
        self.type_fault: dict[str, str] = {}
        self.inputs: dict[str, str] = {}  # input topic -> the message type this node reads
        self._last_log: dict[str, float] = {}
        for err in param_errors:
            self.log.error(f"parameter: {err}")
        if param_errors:
            self.fault = f"bad parameter {getattr(param_errors[0], 'field', '')}".strip()
        else:
            self._load()
        rate = self.controller.control_rate_hz if self.controller is not None else 1.0
        self.scheduler = PolicyScheduler(rate)
        tol = params.clock_offset_tolerance_s if params.clock_offset_tolerance_s >= 0 else math.inf
        self.watchdog = Watchdog(self.watchdog_timeouts(), tol)
        self._str_cls = transport.msg(STRING)
        self.state_pub = transport.publisher(params.state_topic, STRING, LATCHED)
        self.setup_io()
        self.teleop: TeleopArbiter | None = None
        self.intervention = False
        self._bool_cls = transport.msg(BOOL)
        topic = params.intervention_topic or params.state_topic.rsplit("/", 1)[0] + "/intervention"
        self.intervention_pub = transport.publisher(topic, BOOL, LATCHED)
        self.intervention_pub.publish(self._bool_cls(data=False))
        self.reload = PolicyWatch(self)
        self._set_state("error: " + self.fault if self.fault else self.initial_state())
        if params.reload_watch and self.controller is not None:
            self._publish_version()
        self.on_started()
        # Subscriptions last: a transport may deliver from its own thread as soon as they exist.
        self.subscribe_inputs()
        self.subscribe(params.estop_topic, BOOL, DEFAULT, self.on_estop)
        if params.teleop != "none" and self.controller is not None:
            self._open_teleop()
        transport.timer(1.0 / params.loop_rate_hz, self.on_tick)
        transport.timer(TYPE_CHECK_PERIOD_S, self.check_types)
        if params.reload_watch:  # hot reload: polled between two control steps (see policy_reload)
            transport.timer(params.reload_period_s, self.reload.check)

    # ----------------------------------------------------------------------------- hooks

    def load_description(self) -> Any:
        """The robot description, through ``self.domain.load_description`` (raises on errors)."""
        raise NotImplementedError

    def make_controller(self, policy: OnnxPolicy, description: Any, control_rate_hz: float | None) -> Any:
        """The domain's controller for ``policy`` (raises ContractMismatchError naming the field
        when it does not fit, including ``control_rate_hz`` when given and not the contract's)."""
        raise NotImplementedError

    def loaded_message(self, policy: OnnxPolicy) -> str:
        """The log line once loaded (policy, robot, rates, limits)."""
        return f"loaded {policy.path}: policy at {self.controller.control_rate_hz:g} Hz"

    def watchdog_timeouts(self) -> dict[str, float]:
        """Input name -> timeout (s, host steady clock)."""
        raise NotImplementedError

    def setup_io(self) -> None:
        """Create the publishers and the domain's state (no subscriptions yet)."""
        raise NotImplementedError

    def initial_state(self) -> str:
        """The state after a successful load (``idle``, ``waiting: no odometry``...)."""
        raise NotImplementedError

    def on_started(self) -> None:
        """Called once the state is published, before the subscriptions (nav: a first zero)."""

    def subscribe_inputs(self) -> None:
        """Subscribe the domain's inputs with :meth:`subscribe` (so their types are checked)."""
        raise NotImplementedError

    def on_tick(self) -> None:
        """The steady-clock loop at ``loop_rate_hz``: watchdog, policy when due, command."""
        raise NotImplementedError

    def on_estop_changed(self) -> None:
        """Called after the e-stop engaged or released (``self.estop``)."""

    def send_safe_stop(self) -> None:
        """The last command on shutdown (zero, hold, descend, or nothing)."""

    # ----------------------------------------------------------------------------- lifecycle

    @property
    def control_rate_hz(self) -> float | None:
        """The policy rate the parameters ask for (None: the contract's)."""
        return self.p.control_rate_hz or None

    def _load(self) -> None:
        try:
            self.description = self.load_description()
            policy = OnnxPolicy(self.p.policy_path)
            self.controller = self.make_controller(policy, self.description, self.control_rate_hz)
            rate = self.controller.control_rate_hz
            if self.SCHEDULE_ON_NODE_CLOCK and self.p.loop_rate_hz < rate * (1 - 1e-9):
                raise Sim2RealError(
                    f"parameter loop_rate_hz={self.p.loop_rate_hz:g} is below the policy's rate "
                    f"{rate:g} Hz (the loop runs the policy)"
                )
            self.log.info(self.loaded_message(policy))
        except Sim2RealError as exc:
            self.controller = None
            self.fault = f"cannot load the policy: {exc}"
            self.log.error(self.fault)
        except Exception as exc:  # a broken file can make any library raise; the node stays up
            self.controller = None
            self.fault = f"cannot load the policy: {type(exc).__name__}: {exc}"
            self.log.error(self.fault)

    def swap_policy(self, path: str | Path | TrialPolicy) -> str | None:
        """Load the policy at ``path`` and run it from the next control step on (hot reload).

        The controller keeps its state (previous action, targets, schedule). The new policy must
        have the running one's interface (domain, rate, robot, joints, observation and action
        terms). The swap is one reference assignment, and the transport serialises the node's
        callbacks, so a control step runs wholly on the old or wholly on the new policy. The new
        policy is on trial (:class:`~sim2real_ros.policy_reload.TrialPolicy`): a non-finite action
        at its first control step puts the old one back (which computes that step); a finite one
        makes it the running version (:attr:`policy_version`, published on the state topic).

        Returns:
            None when swapped; else why not (the field that differs, or the load error): the old
            policy keeps running, and the reason is logged.
        """
        if self.controller is None:
            why = f"no policy is running ({self.fault or 'not loaded'})"
        else:
            try:
                if isinstance(path, TrialPolicy):  # loaded off the executor (hot reload)
                    policy = path
                    policy.fallback = self.controller.policy
                else:
                    policy = TrialPolicy(path, self.controller.policy, self._trial_verdict)
                self.controller.swap_policy(policy)
            except Sim2RealError as exc:
                why = str(exc)
            except Exception as exc:  # a broken file can make any library raise
                why = f"{type(exc).__name__}: {exc}"
            else:
                self.log.info(f"swapped in {policy.path} (from the next control step on)")
                return None
        self.log.error(f"policy swap refused: {why}; the running policy stays")
        return why

    def refuse_policy(self, exc: Exception) -> str:
        """A policy file that could not be loaded (hot reload): logged, the running one stays."""
        why = str(exc) if isinstance(exc, Sim2RealError) else f"{type(exc).__name__}: {exc}"
        self.log.error(f"policy swap refused: {why}; the running policy stays")
        return why

    @property
    def policy_version(self) -> str:
        """``<sha256 of the running policy file, 12 hex>#<policies swapped in since start>``."""
        return self.reload.version

    def _trial_verdict(self, policy: TrialPolicy, why: str | None) -> None:
        """A swapped-in policy's first control step: confirm it, or put the previous one back."""
        if why is None:
            policy.fallback = None  # confirmed: the previous policy is not needed (nor kept alive)
            self.reload.confirmed(policy)
            self.log.info(f"policy {self.policy_version} ({policy.path}) confirmed at its first control step")
            self._publish_version()
            return
        self.controller.swap_policy(policy.fallback)
        self.reload.refused(policy.sha256, why)
        self.log.error(f"policy swap refused: {policy.path}: {why}; the previous policy drives on")

    def _publish_version(self) -> None:
        """``policy <version> <path>`` on the state topic, then the state again (the latched value)."""
        path = self.controller.policy.path if self.controller is not None else self.p.policy_path
        self.state_pub.publish(self._str_cls(data=f"policy {self.policy_version} {path}"))
        self.state_pub.publish(self._str_cls(data=self.state))

    def shutdown(self) -> None:
        """On exit: the state ``stopped: shutdown`` and the domain's last safe command."""
        self._set_state("stopped: shutdown")
        self.send_safe_stop()
        if self.teleop is not None:
            self.teleop.close()

    # ----------------------------------------------------------------------------- teleop

    def teleop_config(self) -> TeleopConfig:
        """The teleop parameters as a :class:`~sim2real_runtime.teleop.TeleopConfig`."""
        p = self.p
        return TeleopConfig(
            linear_scale_mps=p.teleop_linear_scale_mps,
            angular_scale_radps=p.teleop_angular_scale_radps,
            deadband=p.teleop_deadband,
            takeover_threshold=p.teleop_threshold,
            release_s=p.teleop_release_s,
        )

    def attach_teleop(self, source: TeleopSource) -> TeleopArbiter:
        """Put ``source`` (a scripted teleoperator, a device) beside the policy, replacing any
        other; from the next control step on it may take over.

        Raises:
            Sim2RealError: no policy is loaded (the mapping needs its action space), or the domain
                has no teleop mapping.
        """
        if self.controller is None:
            raise Sim2RealError(f"no teleop without a running policy ({self.fault or 'not loaded'})")
        if self.domain.teleop is None:
            raise Sim2RealError(f"domain {self.domain.name!r} has no teleop mapping")
        if self.teleop is not None:
            self.teleop.close()
        mapping = self.domain.teleop(self.controller, self.teleop_config())
        self.teleop = TeleopArbiter(source, mapping, self.p.teleop_timeout_s, self.log)
        self.log.info(f"teleop: {source.name} beside the policy ({mapping.frame})")
        return self.teleop

    def _open_teleop(self) -> None:
        """The device the ``teleop`` parameter names; one that cannot be opened is an error state
        (the operator asked to be able to take over)."""
        from .teleop_inputs import make_source

        p = self.p
        try:
            if self.domain.teleop is None:
                raise Sim2RealError(f"domain {self.domain.name!r} has no teleop mapping")
            mapping = self.domain.teleop(self.controller, self.teleop_config())
            source = make_source(
                p.teleop, mapping.twist_scale, self.teleop_config(), self.subscribe,
                self.t.monotonic_s, p.teleop_topic, p.teleop_device, p.teleop_joy_mapping,
            )  # fmt: skip
            self.attach_teleop(source)
        except Exception as exc:  # a device library can raise anything; the node stays up
            why = (
                str(exc)
                if isinstance(exc, Sim2RealError | ValueError | OSError)
                else f"{type(exc).__name__}: {exc}"
            )
            self.fault = f"teleop {p.teleop}: {why}"
            self.log.error(self.fault)
            self._set_state("error: " + self.fault)

    def teleop_decide(self, signals: Mapping[str, np.ndarray]) -> Decision:
        """Who commands this control step (a domain calls it at each control step, with its
        controller's signals): the policy when no teleop is attached. Publishes a change of hands
        on ``intervention_topic``."""
        if self.teleop is None:
            return Decision(POLICY)
        d = self.teleop.decide(self.t.monotonic_s(), signals)
        if d.intervention != self.intervention:
            self.intervention = d.intervention
            self.intervention_pub.publish(self._bool_cls(data=d.intervention))
        return d

    @property
    def last_action(self) -> np.ndarray | None:
        """float32 [A]: the action of the last control step in the policy's action space, the
        policy's or the human's mapped command (clipped to [-1, 1]); None before any."""
        c = self.controller
        return None if c is None or c.last_obs is None else c.prev_action[0].copy()

    # ----------------------------------------------------------------------------- inputs

    def subscribe(self, topic: str, ros_type: str, qos: QoS, callback: Callable[[Any], None]) -> None:
        """Subscribe an input; :meth:`check_types` watches that it is published as ``ros_type``."""
        self.inputs[topic] = ros_type
        self.t.subscribe(topic, ros_type, qos, callback)

    def feed_input(self, name: str, stamp: Any = None) -> str | None:
        """Feed the watchdog: input ``name`` arrived now, stamped ``stamp`` (a
        ``builtin_interfaces/Time``, or seconds; None for an unstamped input).

        A stamped input is also judged by its stamp against the node clock, within the parameter
        ``clock_offset_tolerance_s`` (:class:`sim2real_runtime.safety.Watchdog`).

        Returns:
            None when fed; else why the message is refused by its stamp (too old, or ahead of the
            node clock): the input is not fed, and the domain refuses the message.
        """
        now = self.t.monotonic_s()
        if stamp is None:
            return self.watchdog.feed(name, now)
        stamp_s = float(stamp) if isinstance(stamp, int | float) else stamp_to_s(stamp)
        return self.watchdog.feed(name, now, stamp_s, self.t.now_s())

    def on_estop(self, msg: Any) -> None:
        was, self.estop = self.estop, bool(msg.data)
        if self.estop and not was:
            self.log.warning(f"{self.p.estop_topic}: e-stop engaged{self.ESTOP_ACTION}")
        elif was and not self.estop:
            self.log.info(f"{self.p.estop_topic}: e-stop released")
        self.on_estop_changed()

    def check_types(self) -> None:
        """Log an input topic that someone publishes with another message type (the watchdog then
        sees it stale; a domain may name the reason in its state from ``type_fault``)."""
        for topic, expected in self.inputs.items():
            wrong = sorted(ty for ty in self.t.publisher_types(topic) if ty != expected)
            if wrong:
                why = f"{topic} is published as {', '.join(wrong)}; this node reads {expected}"
                if self.type_fault.get(topic) != why:
                    self.log.error(why)
                self.type_fault[topic] = why
            else:
                self.type_fault.pop(topic, None)

    # ----------------------------------------------------------------------------- output

    def command_matched(self, pub: Publisher) -> bool:
        """Whether the consumer of the command topic has matched ``pub``: what is published
        before that (reliable but volatile) is lost, and some first commands must not be."""
        return pub.subscriber_count() > 0

    def final_check(self, cmd: Any, low: np.ndarray, high: np.ndarray, tol: float = 0.0) -> bool:
        """The last check before a command leaves: shape, finite, inside [low, high] (+- tol).
        The safety layers guarantee this; it is checked again because nothing else stands between
        the node and the robot. A refusal is logged (throttled)."""
        if within_limits(cmd, low, high, tol):
            return True
        self._warn("final", f"final check refused the command {np.asarray(cmd)}; sending a safe one")
        return False

    def _set_state(self, state: str) -> None:
        """Publish ``state`` (and log it) when it changes."""
        if state != self.state:
            self.state = state
            (self.log.warning if state.startswith(self.ALARM_PREFIXES) else self.log.info)(f"state: {state}")
            self.state_pub.publish(self._str_cls(data=state))

    def _warn(self, key: str, text: str) -> None:
        """Log an error, at most once per LOG_THROTTLE_S for each ``key``."""
        now = self.t.monotonic_s()
        if now - self._last_log.get(key, -math.inf) >= LOG_THROTTLE_S:
            self._last_log[key] = now
            self.log.error(text)


def domain_nodes() -> Mapping[str, type[PolicyNode]]:
    """Registered domain name -> its node class (``<domain>_policy.node``), for every domain of
    the runtime registry whose node package is importable."""
    import importlib

    from sim2real_runtime.domains import all_domains

    out: dict[str, type[PolicyNode]] = {}
    for d in all_domains():
        try:
            mod = importlib.import_module(f"{d.node_package}.node")
        except ModuleNotFoundError:
            continue
        out[d.name] = mod.NODE
    return out
