"""Hot reload for the one PolicyNode: watch the policy file, swap a new one in between two control
steps, keep it only if its first control step is finite, and name the running version.

- :class:`TrialPolicy`: a swapped-in :class:`~sim2real_runtime.policy.OnnxPolicy` on trial. Its
  first call (the first control step it drives) is checked: a non-finite action refuses it, the
  previous policy is put back and computes that very step, so the robot never sees the new
  policy's output. A finite one confirms it.
- :class:`PolicyWatch`: with the node parameter ``reload_watch``, polls ``policy_path`` (the file,
  or a folder's ``policy.onnx``) every ``reload_period_s`` on the node's timer (so the check runs
  between two control steps, never inside one). A changed stat (mtime, size, inode) starts a
  loader thread (hash, onnxruntime session, contract parse: 10-30 ms on a busy 2-core machine,
  longer than the arm's 10 ms loop period, so not on the executor); the next poll after it
  finished hands the loaded policy to :meth:`PolicyNode.swap_policy` (contract check: the
  interface must be the running one's; one reference assignment). A refused file is remembered by
  hash and not retried until it changes. A missing file (a learner's folder swap is two renames)
  is skipped: the running policy stays.
- The version: ``<sha256 of policy.onnx, 12 hex>#<n>``, n = policies accepted since start (0: the
  one loaded at start). Published on the node's state topic as ``policy <version> <path>`` when a
  swapped-in policy is confirmed (and at start when ``reload_watch`` is on), followed by the node's
  current state again, so the latched value stays the state.

Writers must replace the file atomically (write a sibling, rename over it; ``sim2real finetune
--export-to`` and ``sim2real export --overwrite`` do).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_runtime.errors import Sim2RealError
from sim2real_runtime.policy import OnnxPolicy, policy_file


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class TrialPolicy(OnnxPolicy):
    """A policy whose first call decides whether it stays (see the module).

    Args:
        path: the policy file or folder.
        fallback: the policy that ran before it (computes the step if this one is refused).
        verdict: called once, at the first call, with ``(self, why)``: ``why`` None = confirmed,
            else the reason it is refused (the node puts ``fallback`` back).
    """

    def __init__(
        self,
        path: str | Path,
        fallback: OnnxPolicy | None,
        verdict: Callable[[TrialPolicy, str | None], None],
    ) -> None:
        super().__init__(path)
        self.fallback = fallback
        self.verdict = verdict
        self.on_trial = True
        self.sha256 = file_sha256(self.path)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        out = super().__call__(obs)
        if not self.on_trial:
            return out
        self.on_trial = False
        if np.all(np.isfinite(out)):
            self.verdict(self, None)
            return out
        self.verdict(self, f"its first control step gave a non-finite action {np.asarray(out).ravel()[:8]}")
        return self.fallback(obs)


class PolicyWatch:
    """The node's policy version and the file watch of ``reload_watch`` (see the module)."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.count = 0
        self.sha256 = ""
        self.refused_sha256 = ""
        self.stat_key: tuple[int, int, int] | None = None
        self.swaps = 0
        """Policies confirmed after a swap."""
        self.refusals: list[str] = []
        """Why each refused file was refused (tests, benchmarks)."""
        self.loader: threading.Thread | None = None
        self.loaded: tuple[str, TrialPolicy | Exception] | None = None
        try:
            p = policy_file(node.p.policy_path)
            self.sha256 = file_sha256(p)
            self.stat_key = _stat_key(p)
        except (Sim2RealError, OSError):
            pass

    @property
    def version(self) -> str:
        return f"{self.sha256[:12]}#{self.count}"

    def check(self) -> str | None:
        """One poll: swap in a changed policy file; returns why it was refused (None otherwise)."""
        node = self.node
        if node.controller is None:
            return None
        if self.loader is not None:
            if self.loader.is_alive():
                return None
            self.loader = None
            assert self.loaded is not None
            sha, got = self.loaded
            self.loaded = None
            why = node.swap_policy(got) if isinstance(got, TrialPolicy) else node.refuse_policy(got)
            if why is not None:
                self.refused(sha, why)
            return why
        try:
            p = policy_file(node.p.policy_path)
            key = _stat_key(p)
        except (Sim2RealError, OSError):
            return None  # being replaced (two renames) or removed: the running policy stays
        if key == self.stat_key:
            return None
        try:
            sha = file_sha256(p)
        except OSError:
            return None
        self.stat_key = key
        if sha in (self.sha256, self.refused_sha256):
            return None
        self.loader = threading.Thread(target=self._load, args=(p, sha), name="policy_reload", daemon=True)
        self.loader.start()
        return None

    def _load(self, p: Path, sha: str) -> None:
        try:
            self.loaded = (sha, TrialPolicy(p, None, self.node._trial_verdict))
        except Exception as exc:  # a broken file can make any library raise
            self.loaded = (sha, exc)

    def settle(self) -> str | None:
        """Poll, wait for a loader it started, poll again (tests and benchmarks)."""
        why = self.check()
        if self.loader is not None:
            self.loader.join()
            why = self.check()
        return why

    def refused(self, sha: str, why: str) -> None:
        self.refused_sha256 = sha
        self.refusals.append(why)

    def confirmed(self, policy: TrialPolicy) -> None:
        self.sha256 = policy.sha256
        self.count += 1
        self.swaps += 1


def _stat_key(p: Path) -> tuple[int, int, int]:
    st = p.stat()
    return (st.st_mtime_ns, st.st_size, st.st_ino)
