"""The HIL actor and learner as two processes: the actor (the manip policy node with hot reload
against the arm's sim bridge, in this process) streams transitions to ``sim2real hil manip --role
learner`` (a child process), which exports a policy the node loads. Killed with SIGKILL, the
learner leaves the actor driving: the same policy version, commands still flowing, all finite; a
NaN-producing policy written into the watched folder afterwards is refused and the version stays.
The scripted takeover human takes over from a policy that strays and hands back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
from test_policy_reload import nan_policy, put
from test_residual_finetune import TASK, _dataset

from sim2real.draft import build_draft
from sim2real.hil.actor import ActorConfig, ActorSession, run_sim_actor
from sim2real.hil.takeover import TakeoverConfig, TakeoverOperator, segment_distance
from sim2real_ros.dds import DdsTransport
from sim2real_ros.policy_reload import file_sha256
from sim2real_ros.transport import DEFAULT


def test_learner_killed_leaves_the_actor_driving_its_last_policy(random_policy, tmp_path, dds_env):
    base = random_policy("manip", "pick_place")
    demo = _dataset(tmp_path / "ds", json.loads(build_draft(TASK, TASK.default_config()).to_json()))
    run, live = tmp_path / "run", tmp_path / "run" / "policy"
    cmd = [sys.executable, "-m", "sim2real.cli", "hil", "manip", "--role", "learner", "--base", str(base),
           "--dataset", str(demo), "--run-dir", str(run), "--budget-steps", "100000", "--critic-hidden", "16",
           "16", "--ensemble", "2", "--batch-size", "8", "--critic-warmup-updates", "4",
           "--export-every-updates", "10"]  # fmt: skip
    learner = subprocess.Popen(cmd, env=dds_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    probe = DdsTransport("probe")
    commands: list[np.ndarray] = []
    probe.subscribe(
        "/arm_controller/commands", "std_msgs/msg/Float64MultiArray", DEFAULT,
        lambda m: commands.append(np.asarray(m.data)),
    )  # fmt: skip
    base_sha = file_sha256(base / "policy.onnx")[:12]
    st: dict = {"phase": "learning", "t": time.monotonic()}
    try:
        t0 = time.monotonic()
        while not live.exists():  # the learner puts the base there first
            assert learner.poll() is None, learner.stdout.read()
            assert time.monotonic() - t0 < 60, "the learner did not seed the watched folder"
            time.sleep(0.05)

        def on_loop(s: ActorSession) -> None:
            node, now = s.node, time.monotonic()
            assert now - t0 < 120, f"stuck in phase {st['phase']}"
            if node is None or node.controller is None:
                return
            version = node.policy_version
            # The sim actor starts a fresh node per 10 s episode (loading whatever the folder holds):
            # the kill, 2 s, the NaN file and 1 s more must fit in one episode, so start early in one.
            b = s.bridge
            early = b.episode_start_s is not None and b.clock_s - b.episode_start_s < 4.0
            if st["phase"] == "learning" and not version.startswith(base_sha) and early:
                # a policy the learner exported drives: kill the learner
                os.kill(learner.pid, signal.SIGKILL)
                learner.wait()
                st.update(phase="killed", t=now, version=version, n=len(commands), node=node)
            elif st["phase"] == "killed":
                assert node is st["node"] and version == st["version"]
                if now - st["t"] > 2.0:
                    bad = tmp_path / "nan.onnx"
                    nan_policy(base / "policy.onnx", bad)
                    put(bad, live)  # written atomically, as a learner would
                    st.update(phase="nan", t=now, n2=len(commands))
            elif st["phase"] == "nan":
                assert version == st["version"]
                if node.reload.refusals and now - st["t"] > 1.0:
                    s.stop.set()

        cfg = ActorConfig(policy_dir=str(live), human=False, reload_period_s=0.1, startup_timeout_s=30)
        s = run_sim_actor(cfg, on_loop=on_loop)
    finally:
        if learner.poll() is None:
            learner.kill()
            learner.wait()
        probe.close()
    assert st["phase"] == "nan", st["phase"]
    node = st["node"]
    assert node.policy_version == st["version"]  # the learner's last policy drove to the end
    assert "non-finite action" in node.reload.refusals[-1]
    # commands kept flowing at the policy's 25 Hz after the kill (2 s) and the refusal (1 s): finite
    assert st["n2"] - st["n"] >= 25 and len(commands) - st["n2"] >= 12
    assert all(np.all(np.isfinite(c)) and len(c) == 7 for c in commands)
    assert s.episodes and s.episodes[-1]["transitions"] > 0


class _Op:
    """A stand-in for the scripted operator: its human's tool and goal are set by the test."""

    def __init__(self):
        self.human = type("H", (), {})()
        self.resets = 0

    def reset(self, half_size_m=None):
        self.resets += 1

    def command(self, now_s, signals):
        from sim2real_runtime.teleop import TeleopCommand

        return TeleopCommand(True, np.full(6, 0.01), True, stamp_s=now_s)


def _signals(cube=(0.5, 0.0, 0.025), target=(0.5, 0.3, 0.1)):
    return {
        "joint_pos": np.zeros((1, 7)), "gripper_width": np.array([[0.08]]),
        "object_pos": np.array([cube]), "object_quat": np.array([[1.0, 0, 0, 0]]),
        "target_pos": np.array([target]),
    }  # fmt: skip


def test_segment_distance():
    a, b = np.zeros(3), np.array([1.0, 0, 0])
    assert segment_distance(np.array([0.5, 0.3, 0.0]), a, b) == 0.3
    assert segment_distance(np.array([2.0, 0.0, 0.0]), a, b) == 1.0  # beyond the end
    assert segment_distance(np.array([0.0, 0.4, 0.0]), a, a) == 0.4  # a point segment


def test_takeover_after_the_reaction_delay_when_the_tool_strays_and_hands_back():
    op = _Op()
    cfg = TakeoverConfig(tube_radius_m=0.05, reaction_delay_s=0.2, min_control_s=0.4, grace_s=0.2)
    t = TakeoverOperator(op, 25.0, cfg)
    goal = np.array([0.5, 0.0, 0.1])
    op.human.goal_m = goal[None]
    sig, now, engaged = _signals(), 0.0, []

    def step(tcp):
        nonlocal now
        op.human.tcp_m = np.asarray(tcp, float)[None]
        c = t.command(now, sig)
        engaged.append(c.engaged)
        now += 0.04
        return c

    step([0.5, 0.3, 0.1])  # the leg starts here, toward the goal 0.3 m away
    for y in (0.28, 0.26):  # on the path
        assert not step([0.5, y, 0.1]).engaged
    # strays 8 cm sideways: noticed at once, taken over 0.2 s (5 steps) later
    for _ in range(5):
        assert not step([0.58, 0.24, 0.1]).engaged
    c = step([0.58, 0.24, 0.1])
    assert c.engaged and t.takeovers == 1 and t.why.startswith("strayed 8.0 cm")
    assert np.allclose(c.twist, 0.01) and c.gripper_closed  # the operator's own command
    # back on the path and closing in: handed back after min_control_s (0.4 s: 10 steps)
    ys = np.linspace(0.22, 0.12, 12)
    for y in ys:
        step([0.5, y, 0.1])
    assert engaged[-12:].count(True) >= 9 and not engaged[-1] and t.takeovers == 1
    # the policy is not judged during the grace period even when off the path
    assert not step([0.6, 0.1, 0.1]).engaged


def test_live_actor_rewards_the_success_message_and_truncates_at_the_time_limit(
    random_policy, tmp_path, dds_env
):
    """On live topics (here the sim bridge run elsewhere, as a robot would be): the reward is the
    std_msgs/Bool an operator's button publishes on /hil/success, not anything the simulator says."""
    import threading

    from sim2real.hil.actor import LiveActorConfig, run_live_actor
    from sim2real.hil.stream import BOOL, TransitionInbox
    from sim2real.manip.sim_bridge import ArmBridgeConfig, ManipSimBridge

    base = random_policy("manip", "pick_place")
    bt, probe = DdsTransport("robot"), DdsTransport("operator")
    bridge = ManipSimBridge(bt, ArmBridgeConfig(real_time_factor=1.0, episode_time_s=1e9))
    stop = threading.Event()
    sim = threading.Thread(target=bridge.run, args=(stop.is_set,), daemon=True)
    sim.start()
    inbox = TransitionInbox(probe, 46, 8)
    button = probe.publisher("/hil/success", BOOL, DEFAULT)
    try:

        def on_loop_thread():
            while not stop.is_set():  # the operator presses the button after 20 transitions
                if inbox.received >= 20:
                    button.publish(probe.msg(BOOL)(data=True))
                    return
                time.sleep(0.01)

        threading.Thread(target=on_loop_thread, daemon=True).start()
        cfg = LiveActorConfig(policy_dir=str(base), episodes=2, episode_time_s=1.0, reset_time_s=0.2,
                              use_sim_time=True)  # fmt: skip
        s = run_live_actor(cfg)
    finally:
        stop.set()
        sim.join(5)
        probe.close()
        bt.close()
    assert [e["outcome"] for e in s.episodes] == ["success", "truncated"]
    got = []
    while (tr := inbox.get(0.5)) is not None:
        got.append(tr)
    ep0 = [t for t in got if t.episode == 0]
    ep1 = [t for t in got if t.episode == 1]
    assert ep0[-1].terminated and ep0[-1].reward == 1.0 and not any(t.reward for t in ep0[:-1])
    assert not any(t.terminated for t in ep1) and ep1[-1].truncated and ep1[-1].reward == 0.0
    assert [t.step for t in ep0] == list(range(len(ep0))) and len(ep1) >= 15  # 1 s at 25 Hz, last dropped
    assert [t.seq for t in got] == list(range(len(got)))
