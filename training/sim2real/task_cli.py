"""Command-line pieces the joint-target tasks (the arm, the dexterous hand) share: the common
``sim2real eval <domain>`` arguments and what follows an evaluation, and the end of a
``sim2real sim <domain>`` run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def add_policy_eval_args(
    p: argparse.ArgumentParser, episodes: int, controllers: Sequence[str], controller_help: str
) -> None:
    """``--policy``, ``--episodes`` (default ``episodes``), ``--seed``, ``--controller`` (one of
    ``controllers``, the first the default: the baselines run on the same episodes), ``--out`` and
    ``--update-card``."""
    p.add_argument("--policy", required=True, help="exported policy directory")
    p.add_argument("--episodes", type=int, default=episodes)
    p.add_argument("--seed", type=int, default=1000, help="episode seed (must differ from the training seed)")
    p.add_argument("--controller", choices=list(controllers), default=controllers[0], help=controller_help)
    p.add_argument("--out", help="write the report (JSON)")
    p.add_argument("--update-card", action="store_true", help="store the summary in the policy's contract")


def finish_evaluation(
    a: argparse.Namespace,
    report: dict[str, Any],
    summary_text: str,
    write: Callable[[dict[str, Any], Path], None] | None = None,
) -> int:
    """Print ``summary_text``; with ``--out`` write the report (``write``, else indented JSON);
    with ``--update-card`` (and the policy as controller) store ``report["summary"]`` in the
    policy's contract. Returns the exit status 0."""
    print(summary_text)
    if a.out:
        if write is None:
            Path(a.out).write_text(json.dumps(report, indent=1) + "\n")
        else:
            write(report, Path(a.out))
        print(f"wrote {a.out}")
    if a.update_card and a.controller == "policy":
        from .onnx_export import update_evaluation

        update_evaluation(Path(a.policy), report["summary"])
    return 0


def run_sim_bridge(bridge: Any, transport: Any, a: argparse.Namespace, until: Callable[[], bool]) -> int:
    """Run ``bridge`` until ``until()`` (Ctrl-C also ends it; the result is still written), print
    its status as JSON, write it with the seed to ``--result`` when given, close ``transport``.
    Returns the exit status 0."""
    with contextlib.suppress(KeyboardInterrupt):
        bridge.run(until)
    status = bridge.status()
    print(json.dumps(status), flush=True)
    if a.result:
        Path(a.result).write_text(json.dumps({**status, "seed": a.seed}, indent=1) + "\n")
    transport.close()
    return 0
