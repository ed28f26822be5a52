"""The commit a result was produced at (recorded in training summaries and policy contracts)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit(repo: Path) -> str:
    """``<sha>`` or ``<sha>-dirty`` of the repository, or ``unknown``."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        )
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
