"""An independent reader of LeRobot v3.0 datasets, written from LeRobot's documented layout only
(the dataset card / docs: meta/info.json with ``data_path`` and ``features``, meta/tasks.parquet,
meta/episodes/chunk-*/file-*.parquet with one row per episode giving ``data/chunk_index``,
``data/file_index``, ``dataset_from_index``, ``dataset_to_index``, ``length``; data parquet files
with the features plus timestamp, frame_index, episode_index, index, task_index). It shares no code
with ``sim2real.datasets``: the tests compare what that writes with what this reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def read_frames(root: Path) -> tuple[dict, list[dict], list[dict]]:
    """-> (info, episodes rows, frames): every frame of every episode listed in info.json, in
    episode then frame order, each a dict feature -> numpy value (vectors as float arrays)."""
    root = Path(root)
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    tasks = pq.read_table(root / "meta" / "tasks.parquet").to_pydict()
    task_of = dict(zip(tasks["task_index"], tasks["task"]))
    episodes: list[dict] = []
    for f in sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet")):
        episodes += pq.read_table(f).to_pylist()
    episodes = sorted(episodes, key=lambda e: e["episode_index"])[: info["total_episodes"]]
    frames: list[dict] = []
    for ep in episodes:
        path = root / info["data_path"].format(
            chunk_index=ep["data/chunk_index"], file_index=ep["data/file_index"]
        )
        rows = [r for r in pq.read_table(path).to_pylist() if r["episode_index"] == ep["episode_index"]]
        rows.sort(key=lambda r: r["frame_index"])
        assert len(rows) == ep["length"] == ep["dataset_to_index"] - ep["dataset_from_index"]
        for r in rows:
            frame = {}
            for name, ft in info["features"].items():
                v = r[name]
                frame[name] = np.asarray(v, dtype=np.float64) if isinstance(v, list) else v
                if ft["shape"] != [1]:
                    assert len(v) == ft["shape"][0], name
            frame["task"] = task_of[r["task_index"]]
            frames.append(frame)
    assert [f["index"] for f in frames] == list(range(info["total_frames"]))
    return info, episodes, frames
