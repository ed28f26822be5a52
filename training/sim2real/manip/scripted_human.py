"""A scripted human teleoperator for the arm: the scripted expert driven through a human's senses
and hands, for demonstrations, tests and benchmarks without a person at a SpaceMouse.

What it sees is what the node's topics carry (the ``signals`` dict the manip node and
:class:`~sim2real.manip.env.ManipEnv` build): ``/joint_states`` (noisy positions), the gripper
width, ``/object_pose`` (the perception node's pose, noisy and late) and ``/target_pose``. One input
is not on any topic: the cube's size. The operator assumes a nominal size until the closed fingers
measure it (a held cube is felt: fingers stopped between :data:`HAND_WIDTH_M`, and from then on the
cube moves with the hand, so the late perceived pose is not needed while carrying); a visual
estimate can be given at :meth:`ScriptedHuman.reset`. No privileged simulator state is used. The
expert itself (:class:`~sim2real.manip.expert.ScriptedExpert`) reads the true state instead.

What it commands is the arm's teleop command: a TCP twist (m/s, rad/s, base frame) and the
gripper (+1 close, -1 open), as a 6-DoF input device would. Between seeing and acting:

- reaction delay: the command decided from what was seen at step k is issued at step
  ``k + delay_steps`` (``reaction_delay_s`` at the control rate, rounded): a FIFO of commands;
- hand noise: an Ornstein-Uhlenbeck process (low-pass Gaussian, time constant
  ``noise_time_constant_s``) on the twist, its stationary std ``noise_std_mps`` /
  ``noise_std_radps`` at rest plus ``noise_speed_fraction`` of the commanded speed;
- hesitation: with ``hesitation_rate_per_s`` a pause starts, during which the twist is zero (the
  hand lifted off the device) and the gripper holds; pauses last ``hesitation_s`` (uniform).

The twist becomes the policy's action (normalised joint deltas + gripper) through the domain's teleop
mapping (:class:`~sim2real_runtime.teleop.mapping.ManipTeleop`, damped least squares), exactly as a
SpaceMouse's twist would: :class:`ScriptedArmOperator` is the :class:`TeleopSource` for one arm,
:func:`mapped_actions` maps a batch. :class:`ScriptedHuman` is batched over B robots with one
random generator (deterministic for a seed and B).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from sim2real_runtime.kinematics import SerialChain
from sim2real_runtime.teleop import TeleopCommand
from sim2real_runtime.teleop.mapping import ManipTeleop

from .expert import ScriptedExpert


@dataclass(frozen=True)
class HumanConfig:
    """How human the scripted operator is; zeros everywhere give the expert on the topics' data."""

    reaction_delay_s: float = 0.2
    """Perception-to-action delay (s); a person's visuomotor reaction is about 150-300 ms."""
    noise_std_mps: float = 0.005
    """Stationary std of the hand noise on each linear twist axis at rest (m/s)."""
    noise_std_radps: float = 0.02
    """Stationary std of the hand noise on each angular twist axis at rest (rad/s)."""
    noise_speed_fraction: float = 0.1
    """Signal-dependent noise (Harris & Wolpert 1998): the std grows by this fraction of the
    commanded linear / angular speed, so fast motions are sloppy and fine ones precise (1)."""
    noise_time_constant_s: float = 0.3
    """Correlation time of the hand noise (s): tremor and drift, not white jitter."""
    hesitation_rate_per_s: float = 0.1
    """Pauses started per second of operation (Poisson)."""
    hesitation_s: tuple[float, float] = (0.2, 0.6)
    """Pause length range (s, uniform)."""
    size_estimate_noise_m: float = 0.002
    """Std of the operator's estimate of the cube's half edge (m), drawn once per episode."""
    nominal_half_size_m: float = 0.025
    """The cube's half edge the operator assumes when not told (m): the middle of the range."""
    gain_scale: float = 0.5
    """The operator's gains as a fraction of the expert's (a delayed loop must be gentler)."""
    object_smoothing_s: float = 0.0
    """Time constant of the operator's running estimate of the object position (s; 0: none)."""


HAND_WIDTH_M = (0.03, 0.07)
"""Closed fingers stopped between these widths (m) hold something (the cubes are 4-6 cm; fully
closed is 0, open 8 cm): how the operator feels a grasp without seeing it."""


def delay_steps(cfg: HumanConfig, control_rate_hz: float) -> int:
    """The reaction delay in control steps (rounded, >= 0)."""
    return max(0, round(cfg.reaction_delay_s * control_rate_hz))


class OUNoise:
    """Ornstein-Uhlenbeck noise [B, D], sampled exactly at period ``dt_s``.

    ``x[k+1] = a x[k] + std sqrt(1 - a^2) e``, ``a = exp(-dt / tau)``, ``e ~ N(0, 1)``: stationary
    std ``std`` per axis and lag-1 autocorrelation ``a``. Starts from the stationary distribution.
    """

    def __init__(
        self, std: np.ndarray, time_constant_s: float, dt_s: float, rng: np.random.Generator
    ) -> None:
        self.std = np.asarray(std, dtype=float)
        self.a = float(np.exp(-dt_s / time_constant_s)) if time_constant_s > 0 else 0.0
        self.rng = rng
        self.x = np.zeros(0)

    def reset(self, batch: int) -> None:
        self.x = self.std * self.rng.standard_normal((batch, len(self.std)))

    def step(self) -> np.ndarray:
        e = self.rng.standard_normal(self.x.shape)
        self.x = self.a * self.x + self.std * np.sqrt(1.0 - self.a**2) * e
        return self.x


class ScriptedHuman:
    """The arm's scripted teleoperator for ``pick_place`` (B robots).

    Args:
        chain: the arm's kinematics (``panda_chain()``).
        max_delta_rad: [n] the action's full scale per joint (rad per control step).
        control_rate_hz: the rate :meth:`command` is called at (Hz).
        cfg: the human's imperfections.
        seed: seeds the noise, hesitations and the size estimate.
    """

    def __init__(
        self,
        chain: SerialChain,
        max_delta_rad: np.ndarray,
        control_rate_hz: float,
        cfg: HumanConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.cfg = cfg or HumanConfig()
        g = ScriptedExpert(chain, max_delta_rad, control_rate_hz).g
        self.expert = ScriptedExpert(
            chain,
            max_delta_rad,
            control_rate_hz,
            replace(
                g,
                position_gain_per_s=g.position_gain_per_s * self.cfg.gain_scale,
                orientation_gain_per_s=g.orientation_gain_per_s * self.cfg.gain_scale,
            ),
        )
        self.chain = chain
        self.dt_s = 1.0 / control_rate_hz
        self.delay_steps = delay_steps(self.cfg, control_rate_hz)
        self.rng = np.random.default_rng(seed)
        c = self.cfg
        std = np.array([c.noise_std_mps] * 3 + [c.noise_std_radps] * 3)
        self.noise = OUNoise(std, c.noise_time_constant_s, self.dt_s, self.rng)
        self.queue: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self.half_size_m = np.zeros(0)
        self.pause_left = np.zeros(0, dtype=int)
        self.gripper = np.zeros(0)

    def reset(self, batch: int = 1, half_size_m: np.ndarray | None = None) -> None:
        """Start ``batch`` episodes. ``half_size_m`` [B]: the cube's half edge as the operator
        sees it (blurred by ``size_estimate_noise_m``); None: the operator assumes
        ``nominal_half_size_m`` until the closed fingers measure the cube."""
        b = int(batch)
        if half_size_m is None:
            self.half_size_m = np.full(b, self.cfg.nominal_half_size_m)
        else:
            hs = np.asarray(half_size_m, dtype=float).reshape(-1)
            if len(hs) != b:
                raise ValueError(f"half_size_m has {len(hs)} entries for {b} episodes")
            self.half_size_m = hs + self.rng.normal(0.0, self.cfg.size_estimate_noise_m, b)
        self.noise.reset(b)
        self.pause_left = np.zeros(b, dtype=int)
        self.object_pos_m: np.ndarray | None = None
        self.holding = np.zeros(b, dtype=bool)
        self.grasp_offset_m = np.zeros((b, 3))
        self.gripper = -np.ones(b)  # the hand starts open; nothing commanded before the first reaction
        # Before the first reaction the operator has not acted yet: zero twist, gripper open.
        self.queue = deque((np.zeros((b, 6)), -np.ones(b)) for _ in range(self.delay_steps))

    def _decide(self, signals: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The expert's twist [B, 6] and gripper [B] for what is seen now."""
        q = np.asarray(signals["joint_pos"], dtype=float)
        kin = self.chain.jacobian(q)
        seen = np.asarray(signals["object_pos"], dtype=float)
        tau = self.cfg.object_smoothing_s
        if self.object_pos_m is None or tau <= 0:
            self.object_pos_m = seen.copy()
        else:
            self.object_pos_m += (1.0 - np.exp(-self.dt_s / tau)) * (seen - self.object_pos_m)
        # Holding is felt, not seen: once the closed fingers stopped at the cube's width, the cube
        # moves with the hand (at the offset it was grasped with) until the fingers open or close
        # on nothing; the perceived pose, late by the perception's latency, is not trusted then.
        width = np.asarray(signals["gripper_width"], dtype=float).reshape(-1)
        tcp = kin[1]
        lo, hi = HAND_WIDTH_M
        in_hand = (width > lo) & (width < hi)
        near = np.linalg.norm(self.object_pos_m - tcp, axis=1) < 0.03
        grab = ~self.holding & (self.gripper > 0) & in_hand & near
        self.grasp_offset_m = np.where(grab[:, None], self.object_pos_m - tcp, self.grasp_offset_m)
        self.holding = (self.holding | grab) & in_hand
        obj = np.where(self.holding[:, None], tcp + self.grasp_offset_m, self.object_pos_m)
        # the fingers measure the cube once it is held; before, the operator's visual estimate
        h = np.where(self.holding, width / 2, self.half_size_m)
        goal, yaw, close = self.expert.pick_place_goal(
            kin,
            width,
            obj,
            np.asarray(signals["object_quat"], dtype=float),
            h,
            np.asarray(signals["target_pos"], dtype=float),
        )
        return self.expert.twist(goal, yaw, kin), np.where(close, 1.0, -1.0)

    def command(self, signals: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """One control step: the twist [B, 6] (m/s, rad/s) and gripper [B] (+1 close, -1 open)
        issued now, decided ``delay_steps`` steps ago, with hand noise and hesitations."""
        if len(self.half_size_m) == 0:
            raise RuntimeError("ScriptedHuman.command before reset()")
        self.queue.append(self._decide(signals))
        twist, grip = self.queue.popleft()
        speed = np.stack(
            [np.linalg.norm(twist[:, :3], axis=1), np.linalg.norm(twist[:, 3:], axis=1)], axis=1
        )  # [B, 2]: linear (m/s), angular (rad/s)
        unit = self.noise.step() / np.maximum(self.noise.std, 1e-12)  # [B, 6] unit-std OU
        std = self.noise.std + self.cfg.noise_speed_fraction * np.repeat(speed, 3, axis=1)
        twist = twist + unit * std
        c = self.cfg
        b = len(grip)
        start = (self.pause_left == 0) & (self.rng.random(b) < c.hesitation_rate_per_s * self.dt_s)
        lo, hi = (max(1, round(s / self.dt_s)) for s in c.hesitation_s)
        self.pause_left = np.where(start, self.rng.integers(lo, hi + 1, b), self.pause_left)
        paused = self.pause_left > 0
        self.pause_left = np.maximum(self.pause_left - 1, 0)
        twist = np.where(paused[:, None], 0.0, twist)
        self.gripper = np.where(paused, self.gripper, grip)
        return twist, self.gripper.copy()


class ScriptedArmOperator:
    """The scripted human as a :class:`~sim2real_runtime.teleop.TeleopSource` for one arm: what
    ``sim2real record manip --teleop scripted`` and the node's takeover use. Always engaged (a
    demonstrator drives the whole episode); its twist is mapped into the policy's action space by
    the domain's teleop mapping (:class:`~sim2real_runtime.teleop.mapping.ManipTeleop`), as a
    device's would be.

    Call :meth:`reset` at the start of every episode (the recorder does).
    """

    name = "scripted arm operator (expert with reaction delay and hand noise)"

    def __init__(
        self,
        chain: SerialChain,
        max_delta_rad: np.ndarray,
        control_rate_hz: float,
        cfg: HumanConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.human = ScriptedHuman(chain, max_delta_rad, control_rate_hz, cfg, seed)
        self.human.reset(1)

    def reset(self, half_size_m: float | None = None) -> None:
        """A new episode (the operator's cube-size estimate: None = unknown, see :class:`ScriptedHuman`)."""
        self.human.reset(1, None if half_size_m is None else np.array([half_size_m]))

    def command(self, now_s: float, signals: Mapping[str, np.ndarray]) -> TeleopCommand | None:
        """The twist and gripper for this control step; None before the node has its inputs."""
        if not signals or any(k not in signals for k in SIGNALS):
            return None
        twist, grip = self.human.command(dict(signals))
        return TeleopCommand(engaged=True, twist=twist[0], gripper_closed=bool(grip[0] > 0), stamp_s=now_s)

    def close(self) -> None:
        """Nothing to release."""


SIGNALS = ("joint_pos", "gripper_width", "object_pos", "object_quat", "target_pos")
"""The manip node's signals the scripted operator steers by (what the topics carry)."""


def mapped_actions(
    mappings: list[ManipTeleop], twist: np.ndarray, gripper: np.ndarray, joint_pos: np.ndarray
) -> np.ndarray:
    """Batched: each row's teleop command mapped into the policy's action space, float32 [B, n + 1]
    (one :class:`ManipTeleop` per robot: it remembers that robot's gripper)."""
    return np.stack([
        m.to_action(TeleopCommand(True, twist[i], bool(gripper[i] > 0)), {"joint_pos": joint_pos[i : i + 1]})
        for i, m in enumerate(mappings)
    ])  # fmt: skip
