"""LeRobot v3.0 datasets in the contract's terms, written with pyarrow, crash-safe.

The layout is LeRobot's ``codebase_version`` "v3.0" as ``lerobot.datasets`` (0.4.x) defines it::

    meta/info.json                          fps, robot_type, features (dtype, shape, names), totals,
                                            chunks_size, data_path / video_path templates, splits
    meta/stats.json                         per feature min, max, mean, std, count, q01..q99
    meta/tasks.parquet                      task (the pandas index) -> task_index
    meta/episodes/chunk-000/file-000.parquet  one row per episode: episode_index, tasks, length,
                                            data/chunk_index, data/file_index, dataset_from_index,
                                            dataset_to_index, stats/<feature>/<stat>,
                                            meta/episodes/chunk_index, meta/episodes/file_index
    data/chunk-CCC/file-FFF.parquet         the frames: the features + timestamp, frame_index,
                                            episode_index, index, task_index
    meta/contract.json                      (ours) the policy contract the dataset was recorded with;
                                            its sha256 is in info.json under ``sim2real``

Features (:func:`contract_features`): ``observation.state`` is the contract's observation vector
(float32 [N], names from the contract's terms), ``action`` the policy's action space (float32 [A];
for teleoperation the command mapped into that space), ``intervention`` (bool: a human was in
control at this step), ``next.reward`` (float32), ``next.done`` and ``next.success`` (bool). No
camera exists in any domain, so there are no videos (``video_path`` is null).

Crash safety. LeRobot appends episodes to one open parquet file per chunk, whose footer is
written at close: a crash loses the file. Here every episode goes to a data file of its own
(``data/file_index`` advances by one per episode, the chunk after ``chunks_size`` files: the
layout LeRobot itself produces when a file reaches its size limit), and each file the save
touches is written to ``<name>.tmp``, fsynced and renamed over the old one, in this order: the
data file, tasks.parquet, the episodes file (all episodes' rows), stats.json, and last
info.json. info.json is the commit record: LeRobot reads ``total_frames`` frames and
``total_episodes`` episodes from it, and so does :class:`LeRobotV3Dataset`; a kill at any
point leaves the previous commit readable (a data file or an episodes row past it is an
interrupted save, ignored by both readers and removed when the writer reopens the dataset).
Frames of the episode being recorded live in memory only: a kill -9 mid-episode loses that
episode and nothing else, and a discarded episode never touches the disk.

Errors name the file and the field (:class:`DatasetError`, :class:`DatasetMismatchError`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim2real_runtime.controller import first_difference
from sim2real_runtime.errors import Sim2RealError

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
"""Files per chunk folder (LeRobot's DEFAULT_CHUNK_SIZE)."""
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 200
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
CONTRACT_PATH = "meta/contract.json"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"
LOCK_NAME = ".sim2real-writer.lock"
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
"""LeRobot's DEFAULT_QUANTILES: stats carry q01, q10, q50, q90, q99."""

DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
"""The columns every LeRobot v3.0 data file has (LeRobot's DEFAULT_FEATURES), after the others."""

_ARROW_SCALAR = {"float32": pa.float32(), "float64": pa.float64(), "int64": pa.int64(), "bool": pa.bool_()}
_EPISODE_COLUMNS = ("episode_index", "tasks", "length", "data/chunk_index", "data/file_index",
                    "dataset_from_index", "dataset_to_index")  # fmt: skip


class DatasetError(Sim2RealError):
    """A dataset file is missing, unreadable or inconsistent.

    Args:
        path: the file (or folder).
        field: the field or column at fault ('' when the whole file is).
        message: what is wrong.
    """

    def __init__(self, path: str | Path, field: str, message: str) -> None:
        self.path, self.field, self.message = str(path), field, message
        where = f"{self.path}: field '{field}'" if field else self.path
        super().__init__(f"{where}: {message}")


class DatasetMismatchError(DatasetError):
    """A dataset was recorded with other features, rate, robot or contract than asked for.

    Args:
        path: the dataset's info.json (or contract.json).
        field: the mismatching field (``fps``, ``features.observation.state.shape``,
            ``contract.observation.terms[goal].size``...).
        dataset: the dataset's value. wanted: the value asked for.
    """

    def __init__(self, path: str | Path, field: str, dataset: object, wanted: object) -> None:
        self.dataset, self.wanted = dataset, wanted
        super().__init__(
            path, field, f"the dataset has {dataset!r}, this recording/training needs {wanted!r}"
        )


class DatasetExistsError(DatasetError):
    """The dataset folder exists and resuming was not asked for."""


# ---------------------------------------------------------------------------------- features


def term_names(terms: Sequence[Mapping[str, Any]], joint_names: Sequence[str] = ()) -> list[str]:
    """One name per vector entry from contract terms (``to_dict()`` form): ``<term>`` for a term
    of size 1, ``<term>.<joint>`` when the term has one entry per joint (its ``params.joint_names``
    or the contract's ``joint_names``), ``<term>.<i>`` otherwise."""
    names: list[str] = []
    for t in terms:
        size, name = int(t["size"]), str(t["name"])
        joints = list(t.get("params", {}).get("joint_names") or joint_names)
        if size == 1:
            names.append(name)
        elif len(joints) == size:
            names.extend(f"{name}.{j}" for j in joints)
        else:
            names.extend(f"{name}.{i}" for i in range(size))
    return names


def _contract_dict(contract: Any) -> dict[str, Any]:
    """The contract as JSON holds it (tuples become lists), so a contract built in memory
    compares equal to the same contract read back from meta/contract.json."""
    d = contract.to_dict() if hasattr(contract, "to_dict") else dict(contract)
    return json.loads(json.dumps(d))


def contract_sha256(contract: Any) -> str:
    """sha256 of the contract's canonical JSON (sorted keys)."""
    text = json.dumps(_contract_dict(contract), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def contract_features(contract: Any) -> dict[str, dict[str, Any]]:
    """The recorded features for a contract (a PolicyContract or its dict), LeRobot style."""
    c = _contract_dict(contract)
    joints = c.get("joint_names", ())
    obs, act = c["observation"], c["action"]
    return {
        "observation.state": {
            "dtype": "float32", "shape": [int(obs["size"])], "names": term_names(obs["terms"], joints)
        },
        "action": {
            "dtype": "float32", "shape": [int(act["size"])], "names": term_names(act["terms"], joints)
        },
        "intervention": {"dtype": "bool", "shape": [1], "names": None},
        "next.reward": {"dtype": "float32", "shape": [1], "names": None},
        "next.done": {"dtype": "bool", "shape": [1], "names": None},
        "next.success": {"dtype": "bool", "shape": [1], "names": None},
    }  # fmt: skip


INTERFACE_FIELDS = ("domain", "control_rate_hz", "robot", "joint_names", "observation", "action")
"""Contract fields two recordings must share to be one dataset (provenance may differ)."""


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset records: its rate, robot, features and the contract behind them.

    Attributes:
        fps: frames per second (the contract's control rate, Hz).
        robot_type: the contract's ``robot.name``.
        features: feature name -> {dtype, shape, names}, without LeRobot's default columns.
        contract: the contract dict (``PolicyContract.to_dict()``), None for a contract-less dataset.
        task: the training task (``pick_place``) recorded in info.json's ``sim2real`` block.
    """

    fps: float
    robot_type: str
    features: Mapping[str, Mapping[str, Any]]
    contract: Mapping[str, Any] | None = None
    task: str | None = None

    @staticmethod
    def from_contract(contract: Any, task: str | None = None) -> DatasetSpec:
        c = _contract_dict(contract)
        return DatasetSpec(
            fps=float(c["control_rate_hz"]),
            robot_type=str(c["robot"].get("name", "")),
            features=contract_features(c),
            contract=c,
            task=task,
        )

    @property
    def info_fps(self) -> int | float:
        """fps as info.json carries it (an int when integral, as LeRobot writes it)."""
        return int(self.fps) if float(self.fps).is_integer() else float(self.fps)


def _json_features(features: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        k: {"dtype": str(v["dtype"]), "shape": [int(s) for s in v["shape"]], "names": v.get("names")}
        for k, v in features.items()
    }


def check_compatible(
    source: str | Path,
    info: Mapping[str, Any],
    contract: Mapping[str, Any] | None,
    spec: DatasetSpec,
    check_contract: bool = True,
) -> None:
    """Refuse a dataset (its ``info`` and ``contract``) that ``spec`` cannot extend or use.

    Compares fps, robot_type, the feature set and every feature's dtype, shape and names, then
    the contract's interface (:data:`INTERFACE_FIELDS`).

    Raises:
        DatasetMismatchError: naming the first field that differs.
    """
    src = Path(source)
    if float(info.get("fps", -1)) != float(spec.fps):
        raise DatasetMismatchError(src / INFO_PATH, "fps", info.get("fps"), spec.info_fps)
    if (info.get("robot_type") or "") != spec.robot_type:
        raise DatasetMismatchError(src / INFO_PATH, "robot_type", info.get("robot_type"), spec.robot_type)
    have = {k: v for k, v in info.get("features", {}).items() if k not in DEFAULT_FEATURES}
    want = _json_features(spec.features)
    for name in [*want, *(k for k in have if k not in want)]:
        if name not in have or name not in want:
            raise DatasetMismatchError(
                src / INFO_PATH, f"features.{name}",
                have.get(name, "<absent>"), want.get(name, "<absent>"),
            )  # fmt: skip
        for key in ("dtype", "shape", "names"):
            a, b = have[name].get(key), want[name].get(key)
            if key == "shape":
                a = [int(x) for x in a or []]
            if a != b:
                raise DatasetMismatchError(src / INFO_PATH, f"features.{name}.{key}", a, b)
    if check_contract and spec.contract is not None:
        if contract is None:
            raise DatasetMismatchError(src / CONTRACT_PATH, "contract", None, "a contract")
        for key in INTERFACE_FIELDS:
            diff = first_difference(contract.get(key), spec.contract.get(key), f"contract.{key}")
            if diff is not None:
                raise DatasetMismatchError(src / CONTRACT_PATH, *diff)


# ---------------------------------------------------------------------------------- stats


def feature_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """LeRobot's per-episode stats of one feature: values [T] or [T, d] -> min, max, mean, std,
    count (shape [1]) and q01..q99, each [1] (scalars) or [d]. Quantiles are exact (LeRobot
    estimates them from histograms); bools count as 0/1."""
    x = np.asarray(values, dtype=np.float64)
    x = x.reshape(len(x), -1)
    out = {
        "min": x.min(axis=0),
        "max": x.max(axis=0),
        "mean": x.mean(axis=0),
        "std": x.std(axis=0),
        "count": np.array([len(x)], dtype=np.int64),
    }
    qs = np.quantile(x, QUANTILES, axis=0)
    for q, v in zip(QUANTILES, qs):
        out[f"q{round(q * 100):02d}"] = v
    return out


def aggregate_stats(
    per_episode: Sequence[Mapping[str, Mapping[str, np.ndarray]]],
) -> dict[str, dict[str, np.ndarray]]:
    """Dataset stats from episode stats, as LeRobot aggregates them: min of mins, max of maxes,
    count-weighted mean, the parallel-algorithm variance, count-weighted quantiles."""
    out: dict[str, dict[str, np.ndarray]] = {}
    keys = {k for s in per_episode for k in s}
    for key in sorted(keys):
        fs = [s[key] for s in per_episode if key in s]
        counts = np.array([float(f["count"][0]) for f in fs])
        total = counts.sum()
        w = counts[:, None] / total
        means = np.stack([np.asarray(f["mean"], dtype=np.float64) for f in fs])
        var = np.stack([np.asarray(f["std"], dtype=np.float64) ** 2 for f in fs])
        mean = (means * w).sum(axis=0)
        agg = {
            "min": np.min(np.stack([f["min"] for f in fs]), axis=0),
            "max": np.max(np.stack([f["max"] for f in fs]), axis=0),
            "mean": mean,
            "std": np.sqrt(((var + (means - mean) ** 2) * w).sum(axis=0)),
            "count": np.array([int(total)], dtype=np.int64),
        }
        for q in (k for k in fs[0] if re.fullmatch(r"q\d\d", k)):
            agg[q] = (np.stack([np.asarray(f[q], dtype=np.float64) for f in fs]) * w).sum(axis=0)
        out[key] = agg
    return out


def _stats_json(stats: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, list]]:
    return {k: {s: np.asarray(v).tolist() for s, v in st.items()} for k, st in stats.items()}


def _stats_from_row(row: Mapping[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    """Episode stats from an episodes-file row's ``stats/<feature>/<stat>`` columns."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for col, v in row.items():
        if col.startswith("stats/") and v is not None:
            feat, stat = col[len("stats/") :].rsplit("/", 1)
            out.setdefault(feat, {})[stat] = np.asarray(v)
    return out


# ---------------------------------------------------------------------------------- files


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[IO[bytes]], None], fsync: bool = True) -> None:
    """Write ``path`` whole or not at all: into ``<path>.tmp``, fsync, rename over ``path``,
    fsync the folder. A reader sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    os.replace(tmp, path)
    if fsync:
        _fsync_dir(path.parent)


def _write_json(path: Path, data: Any, fsync: bool) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=4, ensure_ascii=False).encode()), fsync)


def _write_table(path: Path, table: pa.Table, fsync: bool) -> None:
    atomic_write(path, lambda f: pq.write_table(table, f, compression="snappy"), fsync)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise DatasetError(
            path, "", "missing: not a LeRobot v3.0 dataset, or one whose creation was interrupted"
        )
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(path, "", f"not valid JSON (truncated or corrupt?): {exc}") from None


def _read_table(path: Path, what: str) -> pa.Table:
    if not path.is_file():
        raise DatasetError(path, "", f"missing ({what})")
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(path, "", f"unreadable parquet ({what}; truncated or corrupt?): {exc}") from None


def tasks_table(tasks: Sequence[str]) -> pa.Table:
    """meta/tasks.parquet as LeRobot writes it with pandas: the task strings are the DataFrame's
    index (named ``task``), ``task_index`` its one column. The pandas metadata makes
    ``pandas.read_parquet`` restore that index without pandas being needed here."""
    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [
            {"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object",
             "metadata": {"encoding": "UTF-8"}}
        ],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64",
             "metadata": None},
            {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object",
             "metadata": None},
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }  # fmt: skip
    schema = pa.schema([("task_index", pa.int64()), ("task", pa.string())]).with_metadata(
        {b"pandas": json.dumps(pandas_meta).encode()}
    )
    return pa.table({"task_index": list(range(len(tasks))), "task": list(tasks)}, schema=schema)


def _arrow_type(ft: Mapping[str, Any]) -> pa.DataType:
    shape = [int(s) for s in ft["shape"]]
    base = _ARROW_SCALAR.get(str(ft["dtype"]))
    if base is None:
        raise ValueError(
            f"feature dtype {ft['dtype']!r} is not supported here (float32, float64, int64, bool)"
        )
    if shape == [1]:
        return base
    if len(shape) != 1:
        raise ValueError(f"only 1-D features are supported here, got shape {shape}")
    return pa.list_(base, shape[0])  # fixed size: datasets' Sequence(length=n)


# ---------------------------------------------------------------------------------- reading


@dataclass
class LeRobotV3Dataset:
    """A LeRobot v3.0 dataset read whole into numpy (what :meth:`load` checked).

    Attributes:
        root: the dataset folder.
        info: meta/info.json.
        contract: meta/contract.json (None when the dataset has none: not recorded here).
        tasks: task strings by task_index.
        episodes: one dict per committed episode (the episodes file's non-stats columns).
        episode_stats: per episode, feature -> stat -> array.
        stats: meta/stats.json as arrays.
        frames: feature name -> array over all frames in ``index`` order ([T] or [T, d]).
        leftovers: files or rows past the last commit (an interrupted save), ignored.
    """

    root: Path
    info: dict[str, Any]
    contract: dict[str, Any] | None
    tasks: list[str]
    episodes: list[dict[str, Any]]
    episode_stats: list[dict[str, dict[str, np.ndarray]]]
    stats: dict[str, dict[str, np.ndarray]]
    frames: dict[str, np.ndarray]
    leftovers: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return float(self.info["fps"])

    @property
    def features(self) -> dict[str, dict[str, Any]]:
        return self.info["features"]

    @property
    def num_episodes(self) -> int:
        return len(self.episodes)

    def __len__(self) -> int:
        return int(self.info["total_frames"])

    def episode(self, i: int) -> dict[str, np.ndarray]:
        """The frames of episode ``i``: feature -> array over its frames."""
        ep = self.episodes[i]
        a, b = int(ep["dataset_from_index"]), int(ep["dataset_to_index"])
        return {k: v[a:b] for k, v in self.frames.items()}

    def check_compatible(self, spec: DatasetSpec, check_contract: bool = True) -> None:
        """Refuse (:class:`DatasetMismatchError`, naming the field) when ``spec`` differs."""
        check_compatible(self.root, self.info, self.contract, spec, check_contract)

    @staticmethod
    def load(root: str | Path) -> LeRobotV3Dataset:
        """Read and check a dataset: every committed episode's frames, in order.

        Raises:
            DatasetError: naming the file and field of the first problem (missing, truncated,
                wrong version, a column missing or of the wrong length, indices out of order).
        """
        return _load(Path(root))


def _require(d: Mapping[str, Any], key: str, path: Path, kind: type | tuple[type, ...]) -> Any:
    if key not in d:
        raise DatasetError(path, key, "missing")
    if not isinstance(d[key], kind) or (isinstance(d[key], bool) and kind is not bool):
        raise DatasetError(path, key, f"expected {getattr(kind, '__name__', kind)}, got {d[key]!r}")
    return d[key]


def _load_info(root: Path) -> dict[str, Any]:
    path = root / INFO_PATH
    info = _read_json(path)
    if not isinstance(info, dict):
        raise DatasetError(path, "", "expected a JSON object")
    version = _require(info, "codebase_version", path, str)
    if version != CODEBASE_VERSION:
        raise DatasetError(path, "codebase_version", f"{version!r}; this reader reads {CODEBASE_VERSION!r}")
    fps = _require(info, "fps", path, (int, float))
    if not fps > 0:
        raise DatasetError(path, "fps", f"must be > 0, got {fps}")
    for key in ("total_episodes", "total_frames", "total_tasks", "chunks_size"):
        if _require(info, key, path, int) < 0:
            raise DatasetError(path, key, f"must be >= 0, got {info[key]}")
    _require(info, "data_path", path, str)
    feats = _require(info, "features", path, dict)
    for name, ft in feats.items():
        if not isinstance(ft, dict) or "dtype" not in ft or not isinstance(ft.get("shape"), list):
            raise DatasetError(path, f"features.{name}", f"needs dtype and shape, got {ft!r}")
    for name in DEFAULT_FEATURES:
        if name not in feats:
            raise DatasetError(path, f"features.{name}", "missing (every v3.0 dataset has it)")
    return info


def _load(root: Path) -> LeRobotV3Dataset:
    if not root.is_dir():
        raise DatasetError(root, "", "no such dataset folder")
    info = _load_info(root)
    n_eps, n_frames = info["total_episodes"], info["total_frames"]
    contract = _read_json(root / CONTRACT_PATH) if (root / CONTRACT_PATH).exists() else None
    tasks: list[str] = []
    if n_eps > 0:
        tt = _read_table(root / TASKS_PATH, "the task list")
        for col in ("task", "task_index"):
            if col not in tt.column_names:
                raise DatasetError(root / TASKS_PATH, col, "column missing")
        by_index = dict(zip(tt.column("task_index").to_pylist(), tt.column("task").to_pylist()))
        tasks = [by_index.get(i) for i in range(len(by_index))]
        if None in tasks:
            raise DatasetError(root / TASKS_PATH, "task_index", f"not 0..{len(by_index) - 1}")
    # Episodes: every episodes file in path order, then the committed rows.
    rows: list[dict[str, Any]] = []
    files = sorted((root / "meta" / "episodes").glob("*/*.parquet"))
    if n_eps > 0 and not files:
        raise DatasetError(
            root / "meta" / "episodes", "", f"no episodes file, but info.json says {n_eps} episodes"
        )
    for path in files:
        t = _read_table(path, "episode metadata")
        for col in _EPISODE_COLUMNS:
            if col not in t.column_names:
                raise DatasetError(path, col, "column missing")
        rows.extend(t.to_pylist())
    if len(rows) < n_eps:
        raise DatasetError(
            root / INFO_PATH, "total_episodes", f"{n_eps}, but the episodes files hold {len(rows)} rows"
        )
    leftovers = [f"episode row {r['episode_index']}" for r in rows[n_eps:]]
    rows = rows[:n_eps]
    # Frames: each data file once, then each episode's rows by its index range.
    feats = info["features"]
    cols: dict[str, list[np.ndarray]] = {k: [] for k in feats if feats[k]["dtype"] not in ("video", "image")}
    cache: dict[tuple[int, int], tuple[Path, pa.Table, np.ndarray]] = {}
    expect_from = 0
    referenced: set[Path] = set()
    epath = root / "meta" / "episodes"
    for i, ep in enumerate(rows):
        if ep["episode_index"] != i:
            raise DatasetError(epath, "episode_index", f"row {i} holds episode {ep['episode_index']}")
        a, b, length = ep["dataset_from_index"], ep["dataset_to_index"], ep["length"]
        if a != expect_from or b - a != length or length < 1:
            raise DatasetError(
                epath, "dataset_from_index",
                f"episode {i}: [{a}, {b}) with length {length} does not follow frame {expect_from}",
            )  # fmt: skip
        expect_from = b
        key = (ep["data/chunk_index"], ep["data/file_index"])
        if key not in cache:
            dpath = root / info["data_path"].format(chunk_index=key[0], file_index=key[1])
            t = _read_table(dpath, f"frames of episode {i}")
            for col in cols:
                if col not in t.column_names:
                    raise DatasetError(dpath, col, "column missing (info.json lists this feature)")
            cache[key] = (dpath, t, np.asarray(t.column("index").to_numpy()))
            referenced.add(dpath)
        dpath, t, index = cache[key]
        sel = np.nonzero((index >= a) & (index < b))[0]
        if len(sel) != length:
            raise DatasetError(
                dpath, "index", f"episode {i} needs frames [{a}, {b}), the file has {len(sel)} of them"
            )
        part = t.take(pa.array(sel))
        for col in cols:
            cols[col].append(_column_numpy(part.column(col), feats[col], dpath, col))
    frames = {k: (np.concatenate(v) if v else np.zeros((0,))) for k, v in cols.items()}
    total = sum(len(v) for v in cols["index"])
    if total != n_frames:
        raise DatasetError(
            root / INFO_PATH, "total_frames", f"{n_frames}, but the episodes hold {total} frames"
        )
    _check_frames(root, frames, rows, info)
    leftovers += [
        str(p.relative_to(root)) for p in sorted((root / "data").glob("*/*.parquet")) if p not in referenced
    ]
    stats_raw = _read_json(root / STATS_PATH) if (root / STATS_PATH).exists() else {}
    stats = {k: {s: np.asarray(v) for s, v in st.items()} for k, st in stats_raw.items()}
    ep_stats = [_stats_from_row(r) for r in rows]
    episodes = [{k: v for k, v in r.items() if not k.startswith("stats/")} for r in rows]
    return LeRobotV3Dataset(root, info, contract, tasks, episodes, ep_stats, stats, frames, leftovers)


def _column_numpy(col: pa.ChunkedArray, ft: Mapping[str, Any], path: Path, name: str) -> np.ndarray:
    """A data column as numpy: [T] for shape [1], [T, d] for shape [d]; the shape is checked."""
    shape = [int(s) for s in ft["shape"]]
    dtype = np.dtype("bool" if ft["dtype"] == "bool" else ft["dtype"])
    col = col.combine_chunks()
    if shape == [1]:
        if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type):
            raise DatasetError(path, name, f"holds lists, info.json says shape {shape}")
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=dtype)
    if not (pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type)):
        raise DatasetError(path, name, f"holds scalars, info.json says shape {shape}")
    values = col.to_pylist() if pa.types.is_list(col.type) else None
    if values is not None:
        bad = next((i for i, v in enumerate(values) if v is None or len(v) != shape[0]), None)
        if bad is not None:
            raise DatasetError(path, name, f"row {bad} does not have {shape[0]} values")
        return np.asarray(values, dtype=dtype).reshape(len(values), shape[0])
    if col.type.list_size != shape[0]:
        raise DatasetError(path, name, f"vectors of {col.type.list_size}, info.json says shape {shape}")
    return np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=dtype).reshape(len(col), shape[0])


def _check_frames(root: Path, f: Mapping[str, np.ndarray], rows: list[dict[str, Any]], info: Mapping) -> None:
    """Global indices 0..T-1, each episode's episode_index and frame_index 0..len-1."""
    where = root / "data"
    if not np.array_equal(f["index"], np.arange(len(f["index"]))):
        raise DatasetError(where, "index", "not 0, 1, 2, ... across the episodes")
    for i, ep in enumerate(rows):
        a, b = int(ep["dataset_from_index"]), int(ep["dataset_to_index"])
        if not np.all(f["episode_index"][a:b] == i):
            raise DatasetError(where, "episode_index", f"frames [{a}, {b}) are not all episode {i}")
        if not np.array_equal(f["frame_index"][a:b], np.arange(b - a)):
            raise DatasetError(where, "frame_index", f"episode {i}: not 0..{b - a - 1}")
    if len(f["task_index"]) and (f["task_index"].min() < 0 or f["task_index"].max() >= info["total_tasks"]):
        raise DatasetError(where, "task_index", f"outside 0..{info['total_tasks'] - 1}")


# ---------------------------------------------------------------------------------- writing


class LeRobotV3Writer:
    """Records episodes into a LeRobot v3.0 dataset, one crash-safe commit per episode.

    Use :meth:`create` (a new folder; an existing non-empty one is refused) or :meth:`resume`
    (append to a dataset recorded with the same spec), then :meth:`add_frame` per control step
    and :meth:`save_episode` or :meth:`discard_episode` per episode. :meth:`close` (or the
    context manager) releases the folder's writer lock; an unsaved episode is dropped.

    Args:
        fsync: fsync every file and folder of a commit (off only for benchmarks of the rest).
    """

    def __init__(self, root: Path, spec: DatasetSpec, fsync: bool = True) -> None:
        self.root = Path(root)
        self.spec = spec
        self.fsync = fsync
        feats = _json_features(spec.features)
        for name in feats:
            if name in DEFAULT_FEATURES or "/" in name:
                raise ValueError(f"feature name {name!r} is reserved or contains '/'")
        self.features = {**feats, **DEFAULT_FEATURES}
        self.schema = pa.schema([(k, _arrow_type(v)) for k, v in self.features.items()])
        self._lock: IO[str] | None = None
        self.tasks: list[str] = []
        self.rows: list[dict[str, Any]] = []  # committed episodes-file rows
        self.total_frames = 0
        self._buf: dict[str, list[np.ndarray]] = {k: [] for k in feats}

    # ------------------------------------------------------------------ open

    @classmethod
    def create(cls, root: str | Path, spec: DatasetSpec, fsync: bool = True) -> LeRobotV3Writer:
        """A new dataset at ``root`` (created; an empty folder is fine).

        Raises:
            DatasetExistsError: ``root`` exists and is not empty (resume it, or pick another).
        """
        root = Path(root)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise DatasetExistsError(
                root, "", "already exists; pass --resume to append episodes to it, or choose a new folder"
            )
        w = cls(root, spec, fsync)
        root.mkdir(parents=True, exist_ok=True)
        w._acquire()
        if spec.contract is not None:
            _write_json(root / CONTRACT_PATH, dict(spec.contract), fsync)
        _write_json(root / INFO_PATH, w._info(), fsync)
        return w

    @classmethod
    def resume(cls, root: str | Path, spec: DatasetSpec, fsync: bool = True) -> LeRobotV3Writer:
        """Append to the dataset at ``root``; a folder that does not exist is created.

        The dataset is read and checked first (:meth:`LeRobotV3Dataset.load`), then compared
        with ``spec`` (:func:`check_compatible`); what an interrupted save left past the last
        commit is removed. Nothing committed is changed.

        Raises:
            DatasetError: the dataset is corrupt (naming the file and field).
            DatasetMismatchError: it was recorded with other features, rate, robot or contract.
        """
        root = Path(root)
        if not root.exists() or (root.is_dir() and not any(root.iterdir())):
            return cls.create(root, spec, fsync)
        w = cls(root, spec, fsync)
        w._acquire()
        try:
            ds = LeRobotV3Dataset.load(root)
            ds.check_compatible(spec)
        except BaseException:
            w.close()
            raise
        w.tasks = list(ds.tasks)
        w.total_frames = len(ds)
        rows = _read_episode_rows(root)[: ds.num_episodes]
        w.rows = rows
        w._remove_leftovers(ds)
        return w

    def _acquire(self) -> None:
        self._lock = open(self.root / LOCK_NAME, "w")  # noqa: SIM115 (held until close())
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock = None
            raise DatasetError(self.root, "", "another recorder is writing this dataset") from None

    def _remove_leftovers(self, ds: LeRobotV3Dataset) -> None:
        """Drop what an interrupted save left past the last commit: unreferenced data files and
        episodes rows; rewrite the episodes file and stats from the committed rows."""
        for rel in ds.leftovers:
            p = self.root / rel
            if rel.startswith("data/") and p.is_file():
                p.unlink()
        for tmp in self.root.glob("**/*.tmp"):
            tmp.unlink()
        if any(x.startswith("episode row") for x in ds.leftovers):
            self._write_episodes()
            _write_json(
                self.root / STATS_PATH,
                _stats_json(aggregate_stats([_stats_from_row(r) for r in self.rows])),
                self.fsync,
            )

    def close(self) -> None:
        """Release the folder (the episode being recorded, if any, is dropped)."""
        self.discard_episode()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> LeRobotV3Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ frames

    @property
    def num_episodes(self) -> int:
        return len(self.rows)

    @property
    def frames_in_episode(self) -> int:
        return len(next(iter(self._buf.values())))

    def add_frame(self, frame: Mapping[str, Any]) -> None:
        """Add one control step: every feature of the spec (``observation.state``, ``action``,
        ``intervention``, ``next.reward``, ``next.done``, ``next.success``), as values of the
        feature's shape. Kept in memory until :meth:`save_episode`.

        Raises:
            ValueError: a feature missing, extra, of the wrong size, or not finite.
        """
        if frame.keys() != self._buf.keys():
            missing, extra = sorted(self._buf.keys() - frame.keys()), sorted(frame.keys() - self._buf.keys())
            raise ValueError(f"frame features: missing {missing}, unknown {extra}")
        row = {}
        for k, v in frame.items():  # all checked before any is kept: a refused frame leaves no part
            ft = self.features[k]
            a = np.asarray(v, dtype=ft["dtype"]).reshape(-1)
            if a.shape[0] != ft["shape"][0]:
                raise ValueError(
                    f"frame feature {k!r}: {a.shape[0]} values, the dataset records {ft['shape'][0]}"
                )
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise ValueError(f"frame feature {k!r} is not finite: {a}")
            row[k] = a
        for k, a in row.items():
            self._buf[k].append(a)

    def discard_episode(self) -> None:
        """Forget the frames of the episode being recorded (nothing of it was written)."""
        for v in self._buf.values():
            v.clear()

    def save_episode(self, task: str, extra: Mapping[str, int | float | str | bool] | None = None) -> int:
        """Write the recorded frames as the next episode, atomically (see the module doc).

        Args:
            task: the task in words (meta/tasks.parquet; e.g. the task's name).
            extra: per-episode values kept as ``sim2real/<key>`` columns of the episodes file
                (outcome, seed, teleop device...).

        Returns:
            The episode's index.
        """
        n = self.frames_in_episode
        if n == 0:
            raise ValueError("save_episode: the episode has no frames")
        ep = len(self.rows)
        if task not in self.tasks:
            new_tasks = [*self.tasks, task]
        else:
            new_tasks = self.tasks
        task_index = new_tasks.index(task)
        cols: dict[str, np.ndarray] = {k: np.stack(v) for k, v in self._buf.items()}
        start = self.total_frames
        cols["timestamp"] = (np.arange(n) / self.spec.fps).astype(np.float32)[:, None]
        cols["frame_index"] = np.arange(n, dtype=np.int64)[:, None]
        cols["episode_index"] = np.full((n, 1), ep, dtype=np.int64)
        cols["index"] = np.arange(start, start + n, dtype=np.int64)[:, None]
        cols["task_index"] = np.full((n, 1), task_index, dtype=np.int64)
        table = pa.table([self._arrow_column(k, cols[k]) for k in self.features], schema=self.schema)
        chunk, file = self._next_file()
        ep_stats = {k: feature_stats(cols[k]) for k in self.features}
        row: dict[str, Any] = {
            "episode_index": ep,
            "tasks": [task],
            "length": n,
            "data/chunk_index": chunk,
            "data/file_index": file,
            "dataset_from_index": start,
            "dataset_to_index": start + n,
        }
        for k, st in ep_stats.items():
            for s, v in st.items():
                row[f"stats/{k}/{s}"] = np.asarray(v).tolist()
        row["meta/episodes/chunk_index"] = 0
        row["meta/episodes/file_index"] = 0
        for k, v in (extra or {}).items():
            row[f"sim2real/{k}"] = v
        # The commit: data, tasks, episodes, stats, and last info.json (see the module doc).
        _write_table(self.root / DATA_PATH.format(chunk_index=chunk, file_index=file), table, self.fsync)
        if new_tasks is not self.tasks:
            _write_table(self.root / TASKS_PATH, tasks_table(new_tasks), self.fsync)
        rows = [*self.rows, row]
        self._write_episodes(rows)
        stats = aggregate_stats([_stats_from_row(r) for r in rows])
        _write_json(self.root / STATS_PATH, _stats_json(stats), self.fsync)
        self.rows, self.tasks, self.total_frames = rows, list(new_tasks), start + n
        _write_json(self.root / INFO_PATH, self._info(), self.fsync)
        self.discard_episode()
        return ep

    def _arrow_column(self, name: str, values: np.ndarray) -> pa.Array:
        ft = self.features[name]
        typ = self.schema.field(name).type
        if ft["shape"] == [1]:
            return pa.array(values.reshape(-1), type=typ)
        flat = pa.array(values.reshape(-1), type=typ.value_type)
        return pa.FixedSizeListArray.from_arrays(flat, int(ft["shape"][0]))

    def _next_file(self) -> tuple[int, int]:
        """(chunk, file) of the next episode's data file: one past the last committed one."""
        if not self.rows:
            return 0, 0
        chunk, file = self.rows[-1]["data/chunk_index"], self.rows[-1]["data/file_index"] + 1
        return (chunk + 1, 0) if file >= CHUNKS_SIZE else (chunk, file)

    def _write_episodes(self, rows: list[dict[str, Any]] | None = None) -> None:
        rows = self.rows if rows is None else rows
        path = self.root / EPISODES_PATH.format(chunk_index=0, file_index=0)
        if rows:
            # Columns in first-seen order over all rows (from_pylist would keep the first row's).
            keys = list(dict.fromkeys(k for r in rows for k in r))
            _write_table(path, pa.table({k: [r.get(k) for r in rows] for k in keys}), self.fsync)
        elif path.exists():
            path.unlink()

    def _info(self) -> dict[str, Any]:
        s = self.spec
        n = len(self.rows)
        extra: dict[str, Any] = {"task": s.task}
        if s.contract is not None:
            extra["contract_path"] = CONTRACT_PATH
            extra["contract_sha256"] = contract_sha256(s.contract)
            extra["domain"] = s.contract.get("domain")
        return {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": s.robot_type,
            "total_episodes": n,
            "total_frames": self.total_frames,
            "total_tasks": len(self.tasks),
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
            "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
            "fps": s.info_fps,
            "splits": {"train": f"0:{n}"} if n else {},
            "data_path": DATA_PATH,
            "video_path": None,
            "features": self.features,
            "sim2real": extra,
        }


def _read_episode_rows(root: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted((root / "meta" / "episodes").glob("*/*.parquet")):
        rows.extend(_read_table(path, "episode metadata").to_pylist())
    return rows


@contextlib.contextmanager
def open_writer(
    root: str | Path, spec: DatasetSpec, resume: bool = False, fsync: bool = True
) -> Iterator[LeRobotV3Writer]:
    """``with open_writer(root, spec, resume=...) as w:`` -- :meth:`LeRobotV3Writer.create` or
    :meth:`LeRobotV3Writer.resume`, closed at the end."""
    w = (LeRobotV3Writer.resume if resume else LeRobotV3Writer.create)(root, spec, fsync)
    try:
        yield w
    finally:
        w.close()
