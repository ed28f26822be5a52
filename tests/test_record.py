"""Recording demonstrations (sim2real.datasets.recorder, ``sim2real record``): the deployed arm
node against its MuJoCo sim bridge over DDS, frames in the contract's terms into a LeRobot v3
dataset that an independent reader loads frame for frame, and the node's raw topics into MCAP bags
that rosbags reads back message for message."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from conftest import REPO
from lerobot_v3_reader import read_frames
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore

from sim2real.datasets import bag as bag_mod
from sim2real.datasets.lerobot_v3 import DatasetSpec, LeRobotV3Dataset
from sim2real.datasets.recorder import Recorder, SimEpisodes, missed_periods, record_sim
from sim2real_runtime.policy import OnnxPolicy

POLICY = REPO / "policies" / "manip_panda_pick_place"


def test_an_existing_bag_folder_is_refused_before_the_dataset_is_created(tmp_path):
    from sim2real.datasets.lerobot_v3 import DatasetExistsError

    (tmp_path / "bags").mkdir()
    (tmp_path / "bags" / "episode_000000").mkdir()
    spec = DatasetSpec.from_contract(OnnxPolicy(POLICY).contract)
    with pytest.raises(DatasetExistsError, match="bags: already exists; pass --resume"):
        Recorder(tmp_path / "ds", spec, "t", tmp_path / "bags")
    assert not (tmp_path / "ds").exists()


def test_a_background_commit_that_fails_raises_on_the_callers_thread(tmp_path, monkeypatch):
    from sim2real.datasets.recorder import Step

    rec = Recorder(tmp_path / "ds", DatasetSpec.from_contract(OnnxPolicy(POLICY).contract), "t")
    step = Step(0.0, np.zeros(46, np.float32), np.zeros(8, np.float32), False)
    rec.tap.steps = [step, step]
    assert rec.end("success", keep=True, background=True) is None
    rec.wait()
    assert rec.writer.num_episodes == 1 and rec.results[0].episode_index == 0

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rec.writer, "save_episode", full)
    rec.tap.steps = [step]
    rec.end("success", keep=True, background=True)
    with pytest.raises(OSError, match="No space left"):
        rec.begin()
    rec.close()
    assert LeRobotV3Dataset.load(tmp_path / "ds").num_episodes == 1  # what was committed stays


def test_missed_periods_counts_the_gaps():
    assert missed_periods([0.0, 0.04, 0.08, 0.2, 0.24], 0.04) == 2  # 0.08 -> 0.2: two periods without a step
    assert missed_periods([0.0, 0.041, 0.079], 0.04) == 0 and missed_periods([1.0], 0.04) == 0


def _session(tmp_path, teleop=None, episodes=1, seed=11, bag=True, rtf=2.0):
    from manip_policy.node import ManipNode
    from sim2real.manip.sim_bridge import ArmBridgeConfig, ManipSimBridge
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.node_params import params_from_mapping

    contract = OnnxPolicy(POLICY).contract
    rec = Recorder(tmp_path / "ds", DatasetSpec.from_contract(contract, "pick_place"), "pick_place",
                   tmp_path / "bags" if bag else None)  # fmt: skip
    params, errs = params_from_mapping(
        ManipNode.PARAMS, {"policy_path": str(POLICY), "use_sim_time": True}, "t"
    )
    assert not errs
    bt = DdsTransport("sim_bridge")
    bridge = ManipSimBridge(bt, ArmBridgeConfig(real_time_factor=rtf))
    sim = SimEpisodes(bt, bridge.reset, bridge.advance, lambda: bridge.clock_s, lambda: bridge.outcome,
                      lambda: bridge.episode_start_s is not None, lambda t: ManipNode(t, params, []), teleop,
                      real_time_factor=rtf)  # fmt: skip
    try:
        results = record_sim(rec, sim, episodes, seed)
    finally:
        rec.close()
        bt.close()
    return results, bridge


def test_policy_episode_is_recorded_in_the_contract_terms_with_its_raw_topics(dds_env, tmp_path, monkeypatch):
    passed: list[tuple[str, bytes]] = []  # what went through the recording transport, in order
    put = bag_mod.EpisodeBags.put

    def spy(self, topic, msg, t_ns=None):
        if self._episode is not None and self.topics[topic][0] in self.typestore.fielddefs:
            passed.append((topic, msg.serialize()))
        put(self, topic, msg, t_ns)

    monkeypatch.setattr(bag_mod.EpisodeBags, "put", spy)
    (res,), _ = _session(tmp_path)
    assert res.kept and res.outcome == "success" and res.episode_index == 0, res
    info, episodes, frames = read_frames(tmp_path / "ds")
    assert info["total_episodes"] == 1 and len(frames) == res.steps >= 30
    state = np.array([f["observation.state"] for f in frames])
    action = np.array([f["action"] for f in frames])
    # the observation's previous_action term is the action recorded one step before (the policy's
    # output clipped to [-1, 1]): observation and action are aligned step for step
    np.testing.assert_allclose(state[1:, -8:], action[:-1], atol=1e-6)
    np.testing.assert_array_equal(state[0, -8:], np.zeros(8))
    assert np.all(np.abs(action) <= 1.0) and np.all(np.isfinite(state))
    assert not any(f["intervention"] for f in frames)
    assert [f["next.done"] for f in frames] == [False] * (len(frames) - 1) + [True]
    assert frames[-1]["next.success"] and frames[-1]["next.reward"] == 1.0 and frames[0]["next.reward"] == 0.0
    assert episodes[0]["sim2real/outcome"] == "success" and episodes[0]["sim2real/seed"] == 11
    # the bag: every message that passed, in order, byte for byte, with the node's QoS
    ts = get_typestore(Stores.ROS2_JAZZY)
    with Reader(tmp_path / "bags" / "episode_000000") as r:
        topics = {c.topic: c for c in r.connections}
        got = [(c.topic, bytes(raw)) for c, _, raw in r.messages()]
        js = [ts.deserialize_cdr(raw, c.msgtype) for c, _, raw in r.messages() if c.topic == "/joint_states"]
    meta = yaml.safe_load((tmp_path / "bags" / "episode_000000" / "metadata.yaml").read_text())
    meta = meta["rosbag2_bagfile_information"]
    assert meta["storage_identifier"] == "mcap" and meta["version"] == 9
    for topic in ("/joint_states", "/object_pose", "/target_pose", "/arm_controller/commands",
                  "/gripper_controller/commands", "/manip_policy/state"):  # fmt: skip
        assert topic in topics, sorted(topics)
    assert topics["/joint_states"].msgtype == "sensor_msgs/msg/JointState"
    qos = topics["/joint_states"].ext.offered_qos_profiles[0]
    assert (qos.reliability.name, qos.depth) == ("BEST_EFFORT", 5)
    assert topics["/manip_policy/state"].ext.offered_qos_profiles[0].durability.name == "TRANSIENT_LOCAL"
    assert sorted(got) == sorted(passed) and len(got) == len(passed) > 100
    for topic in topics:  # per topic, in order
        assert [b for t, b in got if t == topic] == [b for t, b in passed if t == topic]
    assert len([t for t, _ in got if t == "/arm_controller/commands"]) >= res.steps
    assert list(js[0].name)[:7] == [f"panda_joint{i}" for i in range(1, 8)]


class ButtonOperator:
    """The scripted arm operator, pressing an episode button after ``after`` control steps."""

    def __init__(self, op, button, after):
        self.op, self.button, self.after, self.n = op, button, after, 0
        self.name = "scripted operator with buttons"

    def command(self, now_s, signals):
        from dataclasses import replace

        cmd = self.op.command(now_s, signals)
        if cmd is None:
            return None
        self.n += 1
        return replace(cmd, buttons=frozenset({self.button})) if self.n >= self.after else cmd

    def close(self):
        pass


def test_scripted_takeover_and_episode_buttons_discarded_episodes_are_not_written(dds_env, tmp_path):
    from sim2real.manip.scripted_human import ScriptedArmOperator

    buttons = iter(["discard", "episode_end"])

    def attach(node, seed):
        c = node.controller
        max_delta = np.asarray(c.joint_term.spec.params["max_delta_rad"])
        op = ScriptedArmOperator(node.description, max_delta, c.control_rate_hz, seed=seed)
        op.reset(None)  # the operator guesses the cube's size
        node.attach_teleop(ButtonOperator(op, next(buttons), 20))

    results, _ = _session(tmp_path, teleop=attach, episodes=1, seed=3, bag=True)
    assert [r.outcome for r in results] == ["discarded", "stopped"]
    assert [r.kept for r in results] == [False, True] and results[1].episode_index == 0
    ds = LeRobotV3Dataset.load(tmp_path / "ds")
    assert ds.num_episodes == 1 and len(ds) == results[1].steps >= 20
    assert ds.frames["intervention"].all()  # the operator drove every step
    assert ds.episodes[0]["sim2real/seed"] == 4 and ds.episodes[0]["sim2real/interventions"] == len(ds)
    assert sorted(p.name for p in (tmp_path / "bags").iterdir()) == [
        "episode_000000"
    ]  # the discarded bag went


@pytest.mark.slow
def test_record_cli_scripted_operator_resume_and_refusals(dds_env, tmp_path):
    ds, bags = tmp_path / "ds", tmp_path / "bags"

    def record(*extra):
        return subprocess.run(
            [sys.executable, "-m", "sim2real.cli", "record", "manip", "--teleop", "scripted",
             "--episodes", "1", "--dataset", str(ds), "--bag", str(bags), "--real-time-factor", "2", *extra],
            env=dds_env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip

    r = record("--seed", "5")
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["episodes_recorded"] == 1 and summary["dataset_episodes"] == 1
    r = record("--seed", "6")
    assert r.returncode == 2 and "already exists; pass --resume" in r.stderr
    r = record("--seed", "6", "--policy", str(REPO / "policies" / "nav_jackal"), "--resume")
    assert r.returncode == 2 and "'domain'" in r.stderr
    r = record("--seed", "6", "--resume")
    assert r.returncode == 0, r.stdout + r.stderr
    ds_read = LeRobotV3Dataset.load(ds)
    assert ds_read.num_episodes == 2 and ds_read.frames["intervention"].all()
    assert sorted(p.name for p in bags.iterdir()) == ["episode_000000", "episode_000001"]
    info, _, frames = read_frames(ds)
    assert len(frames) == len(ds_read) and info["total_episodes"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("teleop", ["none", "scripted"])
def test_record_cli_nav_episode_in_a_generated_world(dds_env, tmp_path, teleop):
    ds, bags = tmp_path / "ds", tmp_path / "bags"
    r = subprocess.run(
        [sys.executable, "-m", "sim2real.cli", "record", "nav", "--teleop", teleop, "--episodes", "1",
         "--dataset", str(ds), "--bag", str(bags), "--real-time-factor", "4", "--seed", "1",
         "--episode-time-s", "30"],
        env=dds_env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    info, episodes, frames = read_frames(ds)
    assert info["fps"] == 10 and info["robot_type"] == "jackal" and info["total_episodes"] == 1
    assert info["features"]["action"]["shape"] == [2] and len(frames) == episodes[0]["length"] > 10
    assert episodes[0]["sim2real/outcome"] in ("success", "collision", "timeout")
    state = np.array([f["observation.state"] for f in frames])
    action = np.array([f["action"] for f in frames])
    np.testing.assert_allclose(state[1:, -2:], action[:-1], atol=1e-6)  # previous_action, last term
    assert all(f["intervention"] == (teleop == "scripted") for f in frames)
    with Reader(bags / "episode_000000") as rd:
        counts = {c.topic: c.msgcount for c in rd.connections}
    assert counts["/scan"] >= len(frames) and counts["/cmd_vel"] >= len(frames) and counts["/goal_pose"] == 1


class ButtonPresser:
    """A device that only presses episode buttons, at given control steps (the policy drives)."""

    name = "episode buttons"

    def __init__(self, presses):
        self.presses, self.n = dict(presses), 0

    def command(self, now_s, signals):
        from sim2real_runtime.teleop import TeleopCommand

        self.n += 1
        b = self.presses.get(self.n)
        return TeleopCommand(engaged=False, buttons=frozenset({b} if b else ()), stamp_s=now_s)

    def close(self):
        pass


@pytest.mark.slow
def test_live_topics_episodes_by_buttons_while_the_node_keeps_running(dds_env, tmp_path):
    """--robot-topics: the simulator is another process (as a robot would be); one node for the
    session; episodes start and end by button, a discarded one is not written."""
    from manip_policy.node import ManipNode
    from sim2real.datasets.recorder import record_live
    from sim2real_ros.dds import DdsTransport
    from sim2real_ros.node_params import params_from_mapping

    sim = subprocess.Popen([sys.executable, "-m", "sim2real.cli", "sim", "manip", "--seed", "4",
                            "--real-time-factor", "1", "--duration-s", "60"], env=dds_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    contract = OnnxPolicy(POLICY).contract
    rec = Recorder(
        tmp_path / "ds", DatasetSpec.from_contract(contract, "pick_place"), "pick_place", tmp_path / "b"
    )
    params, _ = params_from_mapping(ManipNode.PARAMS, {"policy_path": str(POLICY), "use_sim_time": True}, "t")
    nt = DdsTransport("record_node", use_sim_time=True)
    presses = {5: "episode_start", 30: "success", 35: "episode_start", 50: "discard", 55: "episode_start",
               70: "episode_end"}  # fmt: skip
    try:
        results = record_live(rec, nt, lambda t: ManipNode(t, params, []), 2, 60.0,
                              lambda node, seed: node.attach_teleop(ButtonPresser(presses)),
                              reset_time_s=0.0)  # fmt: skip
    finally:
        rec.close()
        nt.close()
        sim.kill()
        sim.wait(10)
    assert [(r.outcome, r.kept) for r in results] == [
        ("success", True),
        ("discarded", False),
        ("stopped", True),
    ]
    n0, n2 = results[0].steps, results[2].steps  # about 25 and 15: the buttons are seen between steps
    assert 20 <= n0 <= 35 and 10 <= n2 <= 20, [r.steps for r in results]
    info, episodes, frames = read_frames(tmp_path / "ds")
    assert (
        info["total_episodes"] == 2 and len(frames) == n0 + n2 and [e["length"] for e in episodes] == [n0, n2]
    )
    assert frames[n0 - 1]["next.success"] and not frames[-1]["next.success"] and frames[-1]["next.done"]
    assert not any(f["intervention"] for f in frames)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["episode_000000", "episode_000001"]


@pytest.mark.slow
def test_record_cli_quad_flight(dds_env, tmp_path, tiny_quad_policy):
    """An untrained quadrotor policy over the Crazyswarm2 topics: the dataset at the contract's
    50 Hz and the bag of the node's topics (what it flew is not judged here)."""
    ds, bags = tmp_path / "ds", tmp_path / "bags"
    r = subprocess.run(
        [sys.executable, "-m", "sim2real.cli", "record", "quad", "--teleop", "none", "--episodes", "1",
         "--policy", str(tiny_quad_policy), "--dataset", str(ds), "--bag", str(bags),
         "--episode-time-s", "2"],
        env=dds_env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    info, episodes, frames = read_frames(ds)
    assert info["fps"] == 50 and info["total_episodes"] == 1 and len(frames) == episodes[0]["length"] > 10
    assert episodes[0]["sim2real/outcome"] in ("success", "crashed")
    with Reader(bags / "episode_000000") as rd:
        counts = {c.topic: c.msgcount for c in rd.connections}
    assert counts["/cf231/cmd_vel_legacy"] >= len(frames) and counts["/cf231/odom"] > 0
    assert counts["/reference_path"] >= 1
    r = subprocess.run(
        [sys.executable, "-m", "sim2real.cli", "record", "quad", "--teleop", "scripted", "--episodes", "1",
         "--policy", str(tiny_quad_policy), "--dataset", str(tmp_path / "ds2")],
        env=dds_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2 and "no scripted quadrotor operator" in r.stderr
