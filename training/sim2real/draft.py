"""The draft contract, written when training starts: ``contract.draft.json`` beside a run is the
task's contract built from the run's config, with ``provenance.task`` (``domain/task``) and
``provenance.description_files`` (path and sha256 of every robot.yaml / vehicle.yaml / URDF it was
built from). :mod:`sim2real.export` completes it and refuses, naming the file, when a description
file changed since training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.errors import Sim2RealError

from .tasks import Task, file_sha256

DRAFT_NAME = "contract.draft.json"
REPO = Path(__file__).resolve().parents[2]
"""Description files inside the repository are recorded relative to it, so a run exports from
another checkout of the same commit."""


def _recorded_path(path: Path) -> str:
    """How a description file is named in the draft: relative to the repository when inside it."""
    p = Path(path).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)


def _recorded_file(name: str) -> Path:
    p = Path(name)
    return p if p.is_absolute() else REPO / p


def build_draft(task: Task, cfg: Any) -> PolicyContract:
    """The task's contract for ``cfg`` with the task and its description files' hashes."""
    contract = task.build_contract(cfg)
    files = [
        {"path": _recorded_path(Path(f)), "sha256": file_sha256(Path(f))} for f in task.description_files(cfg)
    ]
    d = contract.to_dict()
    d["provenance"] = {**dict(contract.provenance), "task": task.key, "description_files": files}
    return PolicyContract.from_dict(d, f"<draft contract of {task.key}>")


def write_draft(run_dir: Path, draft: PolicyContract) -> Path:
    path = Path(run_dir) / DRAFT_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(draft.to_json() + "\n")
    tmp.replace(path)
    return path


def check_description_files(draft: PolicyContract, source: str) -> None:
    """Refuse when a description file the draft was built from changed (or vanished) since."""
    for f in draft.provenance.get("description_files", ()):
        p = _recorded_file(f["path"])
        if not p.is_file():
            raise Sim2RealError(f"{p}: description file missing; {source} was built from it at training time")
        if file_sha256(p) != f["sha256"]:
            raise Sim2RealError(
                f"{p}: description file changed since training (sha256 recorded in {source}); "
                "restore it or retrain"
            )
