"""LeRobot v3.0 datasets (sim2real.datasets.lerobot_v3): what is written reads back frame for
frame in an independent reader, resume appends, mismatches and corrupt files are refused naming
the file and field, and a kill -9 (a real subprocess) loses at most the episode being recorded."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import REPO
from lerobot_v3_reader import read_frames

from sim2real.datasets.lerobot_v3 import (
    DatasetError,
    DatasetExistsError,
    DatasetMismatchError,
    DatasetSpec,
    LeRobotV3Dataset,
    LeRobotV3Writer,
    contract_sha256,
    open_writer,
)
from sim2real_runtime.policy import OnnxPolicy

POLICY = REPO / "policies" / "manip_panda_pick_place"


@pytest.fixture(scope="module")
def contract():
    return OnnxPolicy(POLICY).contract.to_dict()


def frames_for(rng, n, obs=46, act=8):
    return [
        {
            "observation.state": rng.normal(size=obs),
            "action": rng.uniform(-1, 1, act),
            "intervention": bool(i % 4 == 0),
            "next.reward": float(i == n - 1),
            "next.done": i == n - 1,
            "next.success": i == n - 1,
        }
        for i in range(n)
    ]


def record(root, spec, episodes, resume=False):
    with open_writer(root, spec, resume=resume) as w:
        for task, frames in episodes:
            for f in frames:
                w.add_frame(f)
            if task is None:
                w.discard_episode()
            else:
                w.save_episode(task, {"outcome": "success"})


def tree_hash(root):
    h = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.endswith(".lock"):
            h[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return h


def test_episodes_read_back_frame_for_frame_in_an_independent_reader(tmp_path, contract):
    rng = np.random.default_rng(0)
    spec = DatasetSpec.from_contract(contract, task="pick_place")
    eps = [("pick_place", frames_for(rng, 30)), (None, frames_for(rng, 7)), ("reach it", frames_for(rng, 12)),
           ("pick_place", frames_for(rng, 5))]  # fmt: skip
    root = tmp_path / "ds"
    record(root, spec, eps)
    info, episodes, frames = read_frames(root)
    kept = [(t, f) for t, fs in eps if t is not None for f in fs]
    assert info["total_episodes"] == 3 and info["total_frames"] == len(frames) == 47 and info["fps"] == 25
    assert info["robot_type"] == "panda" and info["total_tasks"] == 2 and info["splits"] == {"train": "0:3"}
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] is None and info["chunks_size"] == 1000
    names = info["features"]["observation.state"]["names"]
    assert len(names) == 46 and names[:2] == ["joint_position.panda_joint1", "joint_position.panda_joint2"]
    assert names[14] == "gripper_width" and names[15:18] == [
        "tcp_position.0",
        "tcp_position.1",
        "tcp_position.2",
    ]
    assert info["features"]["action"]["names"][-1] == "gripper"
    assert info["sim2real"]["contract_sha256"] == contract_sha256(contract)
    assert json.loads((root / "meta" / "contract.json").read_text()) == contract
    ep_of = [0] * 30 + [1] * 12 + [2] * 5
    fi = [*range(30), *range(12), *range(5)]
    for k, ((task, want), got) in enumerate(zip(kept, frames)):
        np.testing.assert_array_equal(got["observation.state"], np.float32(want["observation.state"]))
        np.testing.assert_array_equal(got["action"], np.float32(want["action"]))
        assert got["intervention"] == want["intervention"] and got["next.done"] == want["next.done"]
        assert got["next.reward"] == want["next.reward"] and got["next.success"] == want["next.success"]
        assert (got["index"], got["episode_index"], got["frame_index"]) == (k, ep_of[k], fi[k])
        assert got["timestamp"] == pytest.approx(fi[k] / 25.0) and got["task"] == task
    assert [(e["dataset_from_index"], e["dataset_to_index"]) for e in episodes] == [
        (0, 30),
        (30, 42),
        (42, 47),
    ]
    assert [(e["data/chunk_index"], e["data/file_index"]) for e in episodes] == [(0, 0), (0, 1), (0, 2)]
    assert [e["tasks"] for e in episodes] == [["pick_place"], ["reach it"], ["pick_place"]]
    # stats.json: LeRobot's aggregation of the episode stats equals the stats over all frames
    stats = json.loads((root / "meta" / "stats.json").read_text())
    states = np.array([np.float32(f["observation.state"]) for _, f in kept], dtype=np.float64)
    np.testing.assert_allclose(stats["observation.state"]["mean"], states.mean(0), atol=1e-9)
    np.testing.assert_allclose(stats["observation.state"]["std"], states.std(0), atol=1e-9)
    np.testing.assert_allclose(stats["observation.state"]["min"], states.min(0))
    assert stats["observation.state"]["count"] == [47] and stats["intervention"]["mean"][0] == pytest.approx(
        np.mean([f["intervention"] for _, f in kept])
    )
    assert set(stats["action"]) == {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}
    row0 = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()[0]
    np.testing.assert_allclose(
        row0["stats/action/mean"], np.float32([f["action"] for f in eps[0][1]]).mean(0), atol=1e-6
    )
    # the package's reader agrees
    ds = LeRobotV3Dataset.load(root)
    assert len(ds) == 47 and ds.num_episodes == 3 and ds.leftovers == []
    np.testing.assert_array_equal(
        ds.episode(1)["observation.state"], np.float32([f["observation.state"] for f in eps[2][1]])
    )
    assert ds.episodes[2]["sim2real/outcome"] == "success"


def test_existing_folder_is_refused_unless_resumed_which_appends(tmp_path, contract):
    rng = np.random.default_rng(1)
    spec = DatasetSpec.from_contract(contract)
    root = tmp_path / "ds"
    record(root, spec, [("t", frames_for(rng, 10)), ("t", frames_for(rng, 4))])
    before = tree_hash(root)
    with pytest.raises(DatasetExistsError, match="--resume"):
        LeRobotV3Writer.create(root, spec)
    assert tree_hash(root) == before
    record(root, spec, [("t", frames_for(rng, 6))], resume=True)
    info, episodes, frames = read_frames(root)
    assert info["total_episodes"] == 3 and len(frames) == 20
    assert (episodes[2]["dataset_from_index"], episodes[2]["data/file_index"]) == (14, 2)
    after = tree_hash(root)
    for f in ("data/chunk-000/file-000.parquet", "data/chunk-000/file-001.parquet"):
        assert after[f] == before[f]  # committed episodes are never rewritten


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda c: c.__setitem__("control_rate_hz", 10.0), "fps"),
        (lambda c: c["robot"].__setitem__("name", "fr3"), "robot_type"),
        (lambda c: c["observation"]["terms"][1].__setitem__("name", "joint_speed"),
         "features.observation.state.names"),
        (lambda c: c["action"]["terms"][1]["params"].__setitem__("open_width_m", 0.1),
         "contract.action.terms[gripper].params.open_width_m"),
    ],
)  # fmt: skip
def test_resume_with_other_features_rate_robot_or_contract_is_refused_naming_the_field(
    tmp_path, contract, change, field
):
    rng = np.random.default_rng(2)
    root = tmp_path / "ds"
    record(root, DatasetSpec.from_contract(contract), [("t", frames_for(rng, 5))])
    before = tree_hash(root)
    other = copy.deepcopy(contract)
    change(other)
    with pytest.raises(DatasetMismatchError) as e:
        LeRobotV3Writer.resume(root, DatasetSpec.from_contract(other))
    assert e.value.field == field and str(root) in str(e.value)
    assert tree_hash(root) == before
    LeRobotV3Writer.resume(root, DatasetSpec.from_contract(contract)).close()  # the lock was released


def test_a_contract_built_in_memory_matches_its_json(tmp_path, contract):
    """Tuples in a contract built from config dataclasses equal the lists JSON gives back."""
    rng = np.random.default_rng(7)
    record(tmp_path / "ds", DatasetSpec.from_contract(contract), [("t", frames_for(rng, 3))])
    tupled = copy.deepcopy(contract)
    tupled["joint_names"] = tuple(tupled["joint_names"])
    tupled["robot"]["gripper"] = {
        **tupled["robot"]["gripper"],
        "joints": tuple(tupled["robot"]["gripper"]["joints"]),
    }
    LeRobotV3Dataset.load(tmp_path / "ds").check_compatible(DatasetSpec.from_contract(tupled))


def test_corrupt_or_half_written_files_are_named(tmp_path, contract):
    rng = np.random.default_rng(3)
    spec = DatasetSpec.from_contract(contract)
    root = tmp_path / "ds"
    record(root, spec, [("t", frames_for(rng, 5)), ("t", frames_for(rng, 5))])
    data = root / "data/chunk-000/file-001.parquet"
    good = data.read_bytes()
    data.write_bytes(good[: len(good) // 2])  # a parquet file without its footer
    with pytest.raises(DatasetError, match=r"file-001.parquet.*unreadable parquet"):
        LeRobotV3Dataset.load(root)
    with pytest.raises(DatasetError, match=r"file-001.parquet"):
        LeRobotV3Writer.resume(root, spec)
    assert data.read_bytes() == good[: len(good) // 2]  # nothing touched by the refused resume
    data.write_bytes(good)
    info_path = root / "meta/info.json"
    info = info_path.read_text()
    info_path.write_text(info[:100])
    with pytest.raises(DatasetError, match=r"info.json: not valid JSON"):
        LeRobotV3Dataset.load(root)
    bad = json.loads(info)
    del bad["features"]["index"]
    info_path.write_text(json.dumps(bad))
    with pytest.raises(DatasetError, match=r"info.json: field 'features.index': missing"):
        LeRobotV3Dataset.load(root)
    bad = json.loads(info)
    bad["total_frames"] = 11
    info_path.write_text(json.dumps(bad))
    with pytest.raises(DatasetError, match="field 'total_frames'"):
        LeRobotV3Dataset.load(root)
    info_path.write_text(info)
    table = pq.read_table(data).drop_columns(["action"])
    pq.write_table(table, data)
    with pytest.raises(DatasetError, match=r"file-001.parquet: field 'action': column missing"):
        LeRobotV3Dataset.load(root)


def test_bad_frames_are_refused(tmp_path, contract):
    w = LeRobotV3Writer.create(tmp_path / "ds", DatasetSpec.from_contract(contract))
    f = frames_for(np.random.default_rng(4), 1)[0]
    with pytest.raises(ValueError, match="not finite"):
        w.add_frame({**f, "observation.state": np.full(46, np.nan)})
    with pytest.raises(ValueError, match="'action': 7 values"):
        w.add_frame({**f, "action": np.zeros(7)})
    with pytest.raises(ValueError, match=r"missing \['next.done'\]"):
        w.add_frame({k: v for k, v in f.items() if k != "next.done"})
    with pytest.raises(ValueError, match="no frames"):
        w.save_episode("t")
    w.close()


CHILD = textwrap.dedent(
    """
    import sys, time, numpy as np
    from sim2real_runtime.policy import OnnxPolicy
    import sim2real.datasets.lerobot_v3 as lr
    root, mode = sys.argv[1], sys.argv[2]
    spec = lr.DatasetSpec.from_contract(OnnxPolicy(sys.argv[3]).contract)
    w = lr.LeRobotV3Writer.resume(root, spec)
    rng = np.random.default_rng(5)
    def frame(i):
        return {"observation.state": rng.normal(size=46), "action": rng.uniform(-1, 1, 8),
                "intervention": False, "next.reward": 0.0, "next.done": False, "next.success": False}
    for ep in range(2):
        for i in range(20):
            w.add_frame(frame(i))
        w.save_episode("t")
    if mode == "save":  # stop inside the next save, after the data file, before info.json
        real = lr._write_json
        def stall(path, data, fsync):
            if path.name == "info.json":
                print("IN SAVE", flush=True); time.sleep(60)
            real(path, data, fsync)
        lr._write_json = stall
    for i in range(10_000_000):
        w.add_frame(frame(i))
        if i == 50:
            print("MID EPISODE", flush=True)
            if mode == "save":
                w.save_episode("t")
        time.sleep(0.001)
    """
)


@pytest.mark.parametrize("mode", ["episode", "save"])
def test_kill_9_loses_at_most_the_episode_being_recorded(tmp_path, mode):
    root = tmp_path / "ds"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(root), mode, str(POLICY)], stdout=subprocess.PIPE,
                         env=env, text=True)  # fmt: skip
    try:
        want = "IN SAVE" if mode == "save" else "MID EPISODE"
        for line in p.stdout:
            if want in line:
                break
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.kill()
        p.wait(30)
    assert p.returncode == -signal.SIGKILL
    ds = LeRobotV3Dataset.load(root)
    assert ds.num_episodes == 2 and len(ds) == 40  # the saved episodes, whole
    assert len(read_frames(root)[2]) == 40
    if mode == "save":  # the interrupted save's data file and episodes row are past the commit
        assert "data/chunk-000/file-002.parquet" in ds.leftovers and "episode row 2" in ds.leftovers
    else:
        assert ds.leftovers == []
    spec = DatasetSpec.from_contract(OnnxPolicy(POLICY).contract)
    record(root, spec, [("t", frames_for(np.random.default_rng(6), 3))], resume=True)
    ds = LeRobotV3Dataset.load(root)
    assert ds.num_episodes == 3 and len(ds) == 43 and ds.leftovers == []
    assert not list(root.rglob("*.tmp"))
