"""Replay for residual off-policy learning: n-step transitions, ring buffers, the 50/50 sampler.

A stored transition is already n-step (computed when it is added, per episode):

    ``obs`` [N], ``base`` [A] (the base policy's action at ``obs``), ``action`` [A] (what ran,
    clipped), ``ret`` (the discounted reward sum over the k <= n steps taken),
    ``discount`` (``gamma ** k`` when the value at ``next_obs`` is to be added, 0 when the episode
    *terminated* inside the window), ``next_obs`` [N] and ``next_base`` [A] (the observation after
    the k-th step and the base's action there).

Termination (success, a dropped cube) stops bootstrapping; truncation (the time limit) does not:
the window is cut at the episode's end and the value of the true last observation is added
(Pardo et al. 2018, "Time limits in RL"). A window never crosses an episode boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIELDS = ("obs", "base", "action", "ret", "discount", "next_obs", "next_base")


def nstep_targets(
    rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, n: int, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n-step return pieces for one episode segment of T steps (step t: reward ``rewards[t]``
    received on leaving state t, ``terminated[t]`` / ``truncated[t]`` whether the episode ended
    there).

    Returns:
        ret float64 [T]: sum_{i<k} gamma^i r_{t+i}; discount float64 [T]: gamma^k, or 0 when a
        termination is inside the window; last int64 [T]: t + k - 1, the step whose next
        observation is bootstrapped from (k = min(n, steps to the episode's end)).

    Raises:
        ValueError: a step after the episode ended (an end before the last step), or n < 1.
    """
    r = np.asarray(rewards, dtype=np.float64).reshape(-1)
    term = np.asarray(terminated, dtype=bool).reshape(-1)
    trunc = np.asarray(truncated, dtype=bool).reshape(-1)
    if n < 1:
        raise ValueError(f"n-step: n must be >= 1, got {n}")
    T = len(r)
    ends = np.flatnonzero(term | trunc)
    if len(ends) and ends[0] != T - 1:
        raise ValueError(
            f"n-step: the episode ends at step {ends[0]} but has {T} steps (one episode per call)"
        )
    ret, disc, last = np.zeros(T), np.zeros(T), np.zeros(T, dtype=np.int64)
    for t in range(T):
        g, k, stop = 0.0, 0, False
        while k < n and t + k < T:
            g += gamma**k * r[t + k]
            k += 1
            if term[t + k - 1]:
                stop = True
                break
            if trunc[t + k - 1]:
                break
        ret[t], disc[t], last[t] = g, 0.0 if stop else gamma**k, t + k - 1
    return ret, disc, last


def segment_transitions(
    obs: np.ndarray,
    base: np.ndarray,
    action: np.ndarray,
    rewards: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    next_obs: np.ndarray,
    next_base: np.ndarray,
    n: int,
    gamma: float,
) -> dict[str, np.ndarray]:
    """The n-step transitions of one episode segment of T steps, as the buffers store them
    (:data:`FIELDS`, float32). Every array is per step [T, ...]: ``next_obs[t]`` / ``next_base[t]``
    are what followed step t; the bootstrap rows are picked by :func:`nstep_targets`."""
    ret, disc, last = nstep_targets(rewards, terminated, truncated, n, gamma)
    rows = (obs, base, action, ret, disc, next_obs[last], next_base[last])
    return {f: np.asarray(v, dtype=np.float32) for f, v in zip(FIELDS, rows, strict=True)}


class NStepAccumulator:
    """Turns a batched stream of single steps (E parallel environments) into n-step transitions.

    Each environment keeps the last < n steps of its running episode; a step emits the window's
    oldest transition once it holds n steps, and an episode's end emits all of them (cut at the
    end: terminal -> no bootstrap, truncated -> bootstrap from the true last observation).
    """

    def __init__(self, num_envs: int, n: int, gamma: float) -> None:
        if n < 1:
            raise ValueError(f"n-step: n must be >= 1, got {n}")
        self.n, self.gamma = n, gamma
        self.windows: list[list[tuple]] = [[] for _ in range(num_envs)]

    def add(
        self,
        obs: np.ndarray,
        base: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        next_obs: np.ndarray,
        next_base: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """One step of all E environments (arrays [E, ...]; ``next_obs`` is the true observation
        after the step, before any reset). Returns the finished n-step transitions (FIELDS, [k, ...])."""
        out: list[tuple] = []
        for e, w in enumerate(self.windows):
            w.append((obs[e], base[e], action[e], float(reward[e]), next_obs[e], next_base[e]))
            ended = bool(terminated[e]) or bool(truncated[e])
            if ended:
                out.extend(self._emit(w, len(w), bool(terminated[e])))
                w.clear()
            elif len(w) == self.n:
                out.extend(self._emit(w, 1, False))
                del w[0]
        return stack(out)

    def _emit(self, w: list[tuple], count: int, terminal: bool) -> list[tuple]:
        rewards = np.array([s[3] for s in w])
        term = np.zeros(len(w), dtype=bool)
        trunc = np.zeros(len(w), dtype=bool)
        if count == len(w):  # the episode ended at the window's last step
            (term if terminal else trunc)[-1] = True
        ret, disc, last = nstep_targets(rewards, term, trunc, self.n, self.gamma)
        return [
            (w[t][0], w[t][1], w[t][2], ret[t], disc[t], w[last[t]][4], w[last[t]][5]) for t in range(count)
        ]

    def drop_partial(self) -> None:
        """Forget the running episodes' windows (their environments are reset, e.g. on resume)."""
        for w in self.windows:
            w.clear()


def stack(items: list[tuple]) -> dict[str, np.ndarray]:
    """Transitions (tuples in FIELDS order) -> dict of arrays (float32, ret/discount float32 [k])."""
    if not items:
        return {}
    return {f: np.asarray([it[i] for it in items], dtype=np.float32) for i, f in enumerate(FIELDS)}


@dataclass(frozen=True)
class Sizes:
    obs: int
    action: int


class ReplayBuffer:
    """A ring buffer of n-step transitions (FIELDS), float32, fixed capacity (oldest overwritten)."""

    def __init__(self, capacity: int, sizes: Sizes) -> None:
        if capacity < 1:
            raise ValueError(f"replay buffer: capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.sizes = sizes
        shapes = {
            "obs": sizes.obs,
            "base": sizes.action,
            "action": sizes.action,
            "ret": 0,
            "discount": 0,
            "next_obs": sizes.obs,
            "next_base": sizes.action,
        }
        self.data = {
            f: np.zeros((capacity, s) if s else (capacity,), dtype=np.float32) for f, s in shapes.items()
        }
        self.size = 0
        self.pos = 0
        self.added = 0
        """Transitions ever added (counts past the capacity)."""

    def __len__(self) -> int:
        return self.size

    def add(self, batch: dict[str, np.ndarray]) -> None:
        """Append transitions (dict of FIELDS arrays [k, ...]); an empty dict adds nothing."""
        if not batch:
            return
        k = len(batch["obs"])
        for f in FIELDS:
            if batch[f].shape[1:] != self.data[f].shape[1:]:
                raise ValueError(
                    f"replay buffer: {f} has shape {batch[f].shape[1:]}, expected {self.data[f].shape[1:]}"
                )
        idx = (self.pos + np.arange(k)) % self.capacity
        for f in FIELDS:
            self.data[f][idx] = batch[f]
        self.pos = int((self.pos + k) % self.capacity)
        self.size = int(min(self.capacity, self.size + k))
        self.added += k

    def get(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        return {f: self.data[f][idx] for f in FIELDS}

    def state(self) -> dict[str, np.ndarray]:
        """Everything to restore the buffer exactly (the filled part, in storage order)."""
        return {
            **{f: self.data[f][: self.size] for f in FIELDS},
            "_meta": np.array([self.capacity, self.size, self.pos, self.added], dtype=np.int64),
        }

    def load_state(self, st: dict[str, np.ndarray], source: str) -> None:
        cap, size, pos, added = (int(v) for v in st["_meta"])
        if cap != self.capacity:
            raise ValueError(f"{source}: replay capacity {cap} differs from the run's {self.capacity}")
        for f in FIELDS:
            if st[f].shape != (size, *self.data[f].shape[1:]):
                raise ValueError(f"{source}: replay field {f} has shape {st[f].shape}")
            self.data[f][:size] = st[f]
        self.size, self.pos, self.added = size, pos, added

    def save(self, path: Path) -> None:
        """``np.savez`` to ``path`` atomically (a temporary sibling renamed over it)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **self.state())
        tmp.replace(path)

    def load(self, path: Path) -> None:
        try:
            with np.load(Path(path)) as z:
                st = {k: z[k] for k in z.files}
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: not a readable replay buffer ({exc})") from exc
        self.load_state(st, str(path))


class MixedSampler:
    """RLPD's symmetric sampling: each batch is half online, half demonstration transitions,
    drawn uniformly with replacement from the filled part of each buffer (exactly ``batch // 2``
    from each; ``batch`` must be even). Until the online buffer holds ``min_online`` transitions
    the whole batch comes from the demonstrations."""

    def __init__(
        self, online: ReplayBuffer, demo: ReplayBuffer, rng: np.random.Generator, min_online: int = 1
    ) -> None:
        self.online, self.demo, self.rng = online, demo, rng
        self.min_online = max(1, min_online)

    def sample(self, batch: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """A batch (FIELDS arrays [batch, ...]) and a bool mask [batch], True for online rows."""
        if batch % 2:
            raise ValueError(f"sampler: the batch size must be even (half online, half demo), got {batch}")
        if len(self.demo) == 0:
            raise ValueError("sampler: the demonstration buffer is empty")
        n_on = batch // 2 if len(self.online) >= self.min_online else 0
        d = self.demo.get(self.rng.integers(0, len(self.demo), batch - n_on))
        if n_on == 0:
            return d, np.zeros(batch, dtype=bool)
        o = self.online.get(self.rng.integers(0, len(self.online), n_on))
        out = {f: np.concatenate([o[f], d[f]]) for f in FIELDS}
        return out, np.arange(batch) < n_on
