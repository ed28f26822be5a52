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
gripper (+1 close, -1 open), as a 6-DoF input device would, through a human hand
(:class:`~sim2real.human_factors.Hand`: reaction delay, signal-dependent Ornstein-Uhlenbeck hand
noise, hesitations). Its gains are half the expert's: a loop closed through a 0.2 s delay must be
gentler.

The twist becomes the policy's action (normalised joint deltas + gripper) through the domain's teleop
mapping (:class:`~sim2real_runtime.teleop.mapping.ManipTeleop`, damped least squares), exactly as a
SpaceMouse's twist would: :class:`ScriptedArmOperator` is the :class:`TeleopSource` for one arm,
:func:`mapped_actions` maps a batch. :class:`ScriptedHuman` is batched over B robots with one
random generator (deterministic for a seed and B).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from sim2real_runtime.kinematics import SerialChain
from sim2real_runtime.teleop import TeleopCommand
from sim2real_runtime.teleop.mapping import ManipTeleop

from ..human_factors import Hand, HumanFactors
from .expert import ExpertGains, ScriptedExpert


@dataclass(frozen=True)
class HumanConfig(HumanFactors):
    """The arm operator: the shared :class:`~sim2real.human_factors.HumanFactors` plus how it sees."""

    size_estimate_noise_m: float = 0.002
    """Std of the operator's visual estimate of the cube's half edge when one is given (m)."""
    nominal_half_size_m: float = 0.025
    """The cube's half edge the operator assumes when not told (m): the middle of the range."""
    gain_scale: float = 0.5
    """The operator's gains as a fraction of the expert's: a loop closed through a reaction delay
    must be gentler (at 0.2 s the expert's own gains make it oscillate and miss the grasp)."""


HAND_WIDTH_M = (0.03, 0.07)
"""Closed fingers stopped between these widths (m) hold something (the cubes are 4-6 cm; fully
closed is 0, open 8 cm): how the operator feels a grasp without seeing it."""


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
        g = ExpertGains()
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
        self.rng = np.random.default_rng(seed)
        self.hand = Hand(self.cfg, control_rate_hz, self.rng)
        self.delay_steps = self.hand.delay_steps
        self.dt_s = 1.0 / control_rate_hz
        self.half_size_m = np.zeros(0)

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
        self.hand.reset(b)
        self.object_pos_m: np.ndarray | None = None
        self.holding = np.zeros(b, dtype=bool)
        self.grasp_offset_m = np.zeros((b, 3))

    def _decide(self, signals: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The expert's twist [B, 6] and gripper [B] for what is seen now."""
        q = np.asarray(signals["joint_pos"], dtype=float)
        kin = self.chain.jacobian(q)
        self.object_pos_m = np.asarray(signals["object_pos"], dtype=float)
        # Holding is felt, not seen: once the closed fingers stopped at the cube's width, the cube
        # moves with the hand (at the offset it was grasped with) until the fingers open or close
        # on nothing; the perceived pose, late by the perception's latency, is not trusted then.
        width = np.asarray(signals["gripper_width"], dtype=float).reshape(-1)
        tcp = kin[1]
        lo, hi = HAND_WIDTH_M
        in_hand = (width > lo) & (width < hi)
        near = np.linalg.norm(self.object_pos_m - tcp, axis=1) < 0.03
        grab = ~self.holding & (self.hand.gripper > 0) & in_hand & near
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
        self.goal_m, self.tcp_m = goal, tcp  # [B, 3]: where the expert steers the tool now, and the tool
        return self.expert.twist(goal, yaw, kin), np.where(close, 1.0, -1.0)

    def command(self, signals: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """One control step: the twist [B, 6] (m/s, rad/s) and gripper [B] (+1 close, -1 open)
        issued now, decided ``delay_steps`` steps ago, with hand noise and hesitations."""
        if len(self.half_size_m) == 0:
            raise RuntimeError("ScriptedHuman.command before reset()")
        twist, grip = self._decide(signals)
        return self.hand(twist, grip)


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
