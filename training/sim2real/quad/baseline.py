"""A classical baseline: cascaded PD position control on CTBR, as a flight stack's position and
attitude loops would fly the same references, and the same law as the prior of the learned policy.

Position loop: a_des = kp * (p_ref - p) + kd * (v_ref - v) + a_ref + g z; the collective
acceleration is a_des projected on the body z axis; the attitude loop turns the body z axis
towards a_des with body rates proportional to the tilt error (and damps yaw). ENU/FLU like
everything else.

The law is written once, in torch (:func:`pd_ctbr_body`), because the learned quadrotor policy
carries it inside its ONNX graph as a prior (:class:`QuadPDPrior`: ``action = PD(obs) +
residual(obs)``, residual learned by PPO, the residual's last layer starting at zero, so the
untrained policy *is* this PD). :func:`pd_ctbr` is the baseline evaluation's entry point on
numpy states.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from sim2real_runtime import quad_terms
from sim2real_runtime.rotations import quat_to_matrix
from sim2real_runtime.vehicle import STANDARD_GRAVITY_MPS2

from .config import QuadTaskConfig


@dataclass(frozen=True)
class PDGains:
    kp_per_s2: float = 6.0
    """Position gain (m/s^2 per m)."""
    kd_per_s: float = 4.0
    """Velocity gain (m/s^2 per m/s)."""
    k_att_per_s: float = 8.0
    """Tilt error to body rate (rad/s per rad)."""
    k_yaw_per_s: float = 2.0
    """Heading error to yaw rate (rad/s per rad); the heading reference is 0 (east)."""
    aggressiveness_gain_scale: tuple[float, float] = (0.6, 1.4)
    """Factor on ``kp_per_s2`` at aggressiveness 0 and 1, linear between; ``kd_per_s`` takes its
    square root, which keeps the damping ratio. The user's aggressiveness sets how hard the PD
    closes a position error, not only how far it may tilt: with the fixed gains a 1 m step asks
    atan(6 / 9.81) = 31.5 deg at any aggressiveness, short of the 40 deg the input allows."""


def gain_scale(aggressiveness: torch.Tensor, gains: PDGains) -> torch.Tensor:
    """The position-gain factor [B] of ``aggressiveness`` [B] (clamped to [0, 1])."""
    lo, hi = gains.aggressiveness_gain_scale
    return lo + (hi - lo) * torch.clamp(aggressiveness, 0.0, 1.0)


def pd_ctbr_body(
    err_b: torch.Tensor,
    dv_b: torch.Tensor,
    aref_b: torch.Tensor,
    rot: torch.Tensor,
    max_tilt_rad: torch.Tensor,
    aggressiveness: torch.Tensor,
    gains: PDGains = PDGains(),
) -> torch.Tensor:
    """CTBR commands [B, 4] (collective acceleration m/s^2, body rates rad/s FLU) of the PD law.

    Args:
        err_b: [B, 3] reference position minus position, body FLU (m).
        dv_b: [B, 3] reference velocity minus velocity, body FLU (m/s).
        aref_b: [B, 3] reference acceleration, body FLU (m/s^2).
        rot: [B, 3, 3] body-to-world rotation.
        max_tilt_rad: [B] tilt limit of the demanded acceleration (rad).
        aggressiveness: [B] the user's input in [0, 1]; it scales the gains (:func:`gain_scale`).
        gains: the PD gains.

    The demanded acceleration ``a`` is formed in the world (where its tilt is limited); in the
    body its component along z is the collective acceleration, and the attitude error
    ``z_body x a/|a|`` is ``(-a_y, a_x, 0) / |a|`` in body coordinates.
    """
    scale = gain_scale(aggressiveness, gains)[:, None]
    a_b = gains.kp_per_s2 * scale * err_b + gains.kd_per_s * torch.sqrt(scale) * dv_b + aref_b
    a_w = torch.einsum("bij,bj->bi", rot, a_b)
    a_w = torch.cat([a_w[:, :2], a_w[:, 2:] + STANDARD_GRAVITY_MPS2], dim=1)
    horiz = torch.linalg.vector_norm(a_w[:, :2], dim=1)
    cap = torch.clamp(a_w[:, 2], min=1.0) * torch.tan(max_tilt_rad)
    scale = torch.clamp(cap / torch.clamp(horiz, min=1e-9), max=1.0)
    a_w = torch.cat([a_w[:, :2] * scale[:, None], a_w[:, 2:]], dim=1)
    a_b = torch.einsum("bji,bj->bi", rot, a_w)
    # never 0 in flight (|a| ~ g); clamped so that a degenerate attitude (an all-zero matrix) gives
    # finite rates instead of 0/0
    norm = torch.clamp(torch.linalg.vector_norm(a_b, dim=1), min=1e-6)
    yaw = torch.atan2(rot[:, 1, 0], rot[:, 0, 0])
    return torch.stack(
        [
            a_b[:, 2],
            gains.k_att_per_s * -a_b[:, 1] / norm,
            gains.k_att_per_s * a_b[:, 0] / norm,
            -gains.k_yaw_per_s * yaw,
        ],
        dim=1,
    )


def pd_ctbr(
    position: np.ndarray,
    quat_wxyz: np.ndarray,
    velocity: np.ndarray,
    ref_position: np.ndarray,
    ref_velocity: np.ndarray,
    ref_accel: np.ndarray,
    aggressiveness: float = 1.0,
    tilt_range_deg: tuple[float, float] = QuadTaskConfig().tilt_range_deg,
    gains: PDGains = PDGains(),
) -> np.ndarray:
    """CTBR commands [B, 4] (collective acceleration m/s^2, body rates rad/s FLU) for world-frame
    states [B, ...] (the baseline controller: exact reference derivatives, no clipping). The
    aggressiveness in [0, 1] sets the gains (:func:`gain_scale`) and the tilt limit (linear in
    ``tilt_range_deg``, the policy's own term parameter), as it does for the policy's prior."""
    b = len(np.asarray(position))
    aggr = torch.full((b,), float(aggressiveness), dtype=torch.float64)  # both uses clamp it
    tilt = torch.as_tensor(quad_terms.max_tilt_rad(aggr.numpy(), tilt_range_deg), dtype=torch.float64)
    rot = torch.from_numpy(quat_to_matrix(np.asarray(quat_wxyz, dtype=np.float64)))

    def body(v: np.ndarray) -> torch.Tensor:  # world [B, 3] -> body [B, 3]
        return torch.einsum("bji,bj->bi", rot, torch.as_tensor(np.asarray(v, dtype=np.float64)))

    with torch.no_grad():
        out = pd_ctbr_body(
            body(np.asarray(ref_position) - position),
            body(np.asarray(ref_velocity) - velocity),
            body(ref_accel),
            rot,
            tilt,
            aggr,
            gains,
        )
    return out.numpy()


PRIOR_TERMS = ("position_error", "attitude", "reference_feedforward", "aggressiveness")
"""The observation terms the PD prior reads (by name, from the contract's layout)."""


class QuadPDPrior(nn.Module):
    """The PD law on the policy's own observation, as a normalised CTBR action [B, 4]: the prior
    of the learned policy (``action = prior(obs) + residual(obs)``), exported inside its ONNX graph.

    It reads the position error (body FLU, m, clipped as the term clips it), the attitude matrix,
    the reference feed-forward term (reference minus vehicle velocity, reference acceleration, by
    the term's finite differences) and the aggressiveness, whose tilt limit caps the demanded tilt
    (``tilt_range_deg`` of that term: the prior honours the user's input as the runtime's limiter
    does). The CTBR command is normalised by the action term's own parameters, so the action term
    maps it back to exactly the PD's command (inside its limits).

    Args:
        observation: the contract's observation term specs (dicts with ``name``, ``size``,
            ``params``), in order.
        action: the contract's CTBR action spec (dict with ``params``).
        gains: :class:`PDGains` fields.
    """

    def __init__(
        self, observation: Sequence[Mapping[str, Any]], action: Mapping[str, Any], gains: Mapping[str, float]
    ) -> None:
        super().__init__()
        self.observation = [dict(t) for t in observation]
        self.action = dict(action)
        self.gains = PDGains(**gains)
        start, self.slices = 0, {}
        for term in self.observation:
            self.slices[term["name"]] = (start, start + int(term["size"]))
            start += int(term["size"])
        missing = [n for n in PRIOR_TERMS if n not in self.slices]
        if missing:
            raise ValueError(f"the PD prior needs observation terms {missing}")
        by_name = {t["name"]: t for t in self.observation}
        if by_name["position_error"]["params"].get("frame") != "body FLU":
            raise ValueError("the PD prior needs position_error etc. in the 'body FLU' frame")
        lo, hi = by_name["aggressiveness"]["params"]["tilt_range_deg"]
        self.tilt_lo_rad, self.tilt_span_rad = float(np.radians(lo)), float(np.radians(hi - lo))
        p = self.action["params"]
        self.hover = float(p["hover_accel_mps2"])
        self.accel_scale = float(p["accel_scale_mps2"])
        self.register_buffer("max_rates", torch.tensor(p["max_rates_radps"], dtype=torch.float32))

    def _term(self, obs: torch.Tensor, name: str) -> torch.Tensor:
        a, b = self.slices[name]
        return obs[:, a:b]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Normalised CTBR action [B, 4] for raw observations [B, N]."""
        ff = self._term(obs, "reference_feedforward")
        aggr = torch.clamp(self._term(obs, "aggressiveness")[:, 0], 0.0, 1.0)
        ctbr = pd_ctbr_body(
            self._term(obs, "position_error"),
            ff[:, :3],
            ff[:, 3:6],
            self._term(obs, "attitude").reshape(-1, 3, 3),
            self.tilt_lo_rad + self.tilt_span_rad * aggr,
            aggr,
            self.gains,
        )
        return torch.cat([(ctbr[:, :1] - self.hover) / self.accel_scale, ctbr[:, 1:] / self.max_rates], dim=1)
