"""The classical baseline and DAgger expert of ``rotate_z``: an open-loop finger gait.

Each long finger (index, middle, ring) runs the same cycle with its own phase: the MCP side joint
sweeps sideways (``side_amp_rad * sin``) while the MCP forward joint flexes (``mcp_mean_rad +
mcp_amp_rad * cos``), so a fingertip presses on the cube's far face while it sweeps one way and
lifts off while it comes back; the three phase offsets keep a finger on the cube most of the time.
PIP, DIP and the thumb hold fixed angles. Period and amplitudes were found by a random search in
this simulator (``sim2real/hand/gait_search.py``), under the policy's limits (20 Hz targets,
``max_speed_radps`` / 20 Hz per step).

Open loop: the gait reads no sensor, so it cannot notice a cube that slips; it is the baseline a
policy must beat, and the expert whose labels (the target change that follows the gait from the
current target) DAgger turns into a policy that sees only the robot's joint measurements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class GaitConfig:
    """One finger-gait cycle (rad, s); simulation joint order."""

    mcp_mean_rad: float = 1.408
    mcp_amp_rad: float = 0.286
    side_amp_rad: float = 0.241
    period_s: float = 1.766
    pip_rad: float = 0.527
    dip_rad: float = 0.361
    finger_phase_rad: float = 6.272
    """Phase step from one finger to the next (rad)."""
    thumb_rad: tuple[float, float, float, float] = field(default=(0.158, -0.885, 0.673, -0.024))
    """th_cmc, th_axl, th_mcp, th_ipl."""


class ScriptedGait:
    """The gait's joint targets at time ``t`` and its action for a :class:`HandVecEnv`."""

    def __init__(self, cfg: GaitConfig = GaitConfig()) -> None:
        self.cfg = cfg

    def targets(self, t_s: np.ndarray) -> np.ndarray:
        """Joint targets [B, 16] (rad, simulation order) at times ``t_s`` [B] (s)."""
        c = self.cfg
        t = np.asarray(t_s, dtype=np.float64)
        out = np.zeros((len(t), 16))
        for i in range(3):
            ph = 2.0 * np.pi * t / c.period_s + c.finger_phase_rad * i
            out[:, 4 * i + 0] = c.mcp_mean_rad + c.mcp_amp_rad * np.cos(ph)
            out[:, 4 * i + 1] = c.side_amp_rad * np.sin(ph)
            out[:, 4 * i + 2] = c.pip_rad
            out[:, 4 * i + 3] = c.dip_rad
        out[:, 12:16] = c.thumb_rad
        return out

    def action(self, env) -> np.ndarray:
        """The normalised action [B, 16] that moves each world's current target towards the gait's
        next target (clipped to the per-step change the action can make)."""
        nxt = self.targets((env.t + 1) * env.dt)
        nxt = np.clip(nxt, env.safety.lower, env.safety.upper)
        return env.joint_term.action_towards(nxt, env.target)

    def act(self, env, obs: np.ndarray) -> np.ndarray:
        return self.action(env)
