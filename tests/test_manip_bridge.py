"""The arm sim bridge over real DDS: first stepped by hand with a client transport in this process
(what ros2_control's controllers and a perception node would see and take), then the bridge and the
manip_policy node as two processes (``sim2real sim manip`` + ``sim2real deploy manip``)."""

from __future__ import annotations

import gc
import json
import math
import time

import numpy as np
import pytest
from conftest import REPO
from test_ros_e2e import _stop, sim2real, spin_until

from sim2real.manip.sim_bridge import ArmBridgeConfig, ManipSimBridge
from sim2real_ros import msgs
from sim2real_ros.dds import DdsTransport
from sim2real_ros.transport import DEFAULT, LATCHED, SENSOR_DATA, stamp_to_s

TRAINED = REPO / "policies" / "manip_panda_pick_place"
ARM = tuple(f"panda_joint{i}" for i in range(1, 8))


def wait_for(cond, what, transports=(), timeout_s=10.0):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError(f"timed out waiting for {what}")
        for t in transports:
            t.spin_once(0.0)
        time.sleep(0.0005)


class Harness:
    """A bridge and a client (controller side + perception listener) on one isolated DDS domain."""

    def __init__(self, **cfg):
        self.cfg = ArmBridgeConfig(real_time_factor=0.0, **cfg)
        self.bt = DdsTransport("manip_bridge")
        self.bridge = ManipSimBridge(self.bt, self.cfg)
        self.c = DdsTransport("client")
        self.js, self.obj, self.target = [], [], []
        self.c.subscribe("/joint_states", "sensor_msgs/msg/JointState", SENSOR_DATA, self.js.append)
        self.c.subscribe("/object_pose", "geometry_msgs/msg/PoseStamped", DEFAULT, self.obj.append)
        self.c.subscribe("/target_pose", "geometry_msgs/msg/PoseStamped", DEFAULT, self.target.append)
        if self.cfg.command_interface == "forward":
            self.arm = self.c.publisher("/arm_controller/commands", "std_msgs/msg/Float64MultiArray", DEFAULT)
        else:
            self.arm = self.c.publisher(
                "/arm_controller/joint_trajectory", "trajectory_msgs/msg/JointTrajectory", DEFAULT
            )
        if self.cfg.gripper_interface == "forward":
            self.grip = self.c.publisher(
                "/gripper_controller/commands", "std_msgs/msg/Float64MultiArray", DEFAULT
            )
        else:
            self.grip = self.c.action_client(
                "/gripper_controller/gripper_cmd", "control_msgs/action/GripperCommand"
            )
        grip_ready = getattr(self.grip, "server_ready", None) or (lambda: self.grip.subscriber_count() > 0)
        wait_for(lambda: self.arm.subscriber_count() > 0 and grip_ready(), "discovery", (self.bt, self.c))

    def close(self):
        self.c.close()
        self.bt.close()
        gc.collect()

    def send_arm(self, q, msg=None):
        b = self.bridge
        n, bad = b.commands_received, b.commands_refused
        self.arm.publish(msg or msgs.Float64MultiArray(data=[float(v) for v in q]))
        wait_for(lambda: b.commands_received > n or b.commands_refused > bad, "the arm command", (self.bt,))

    def send_gripper(self, width_m):
        b = self.bridge
        n = b.gripper_commands
        if self.cfg.gripper_interface == "forward":
            self.grip.publish(msgs.Float64MultiArray(data=[width_m / 2]))
        else:
            g = msgs.GripperCommand_Goal()
            g.command.position, g.command.max_effort = width_m / 2, 40.0
            assert self.grip.send_goal(g)
        wait_for(lambda: b.gripper_commands > n, "the gripper command", (self.bt, self.c))

    def run(self, seconds):
        for _ in range(round(seconds / self.bridge.dt)):
            self.bridge.advance()
        self.c.spin_once(0.01)


@pytest.fixture
def harness(dds_env):
    made = []

    def make(**cfg):
        h = Harness(**cfg)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


@pytest.mark.parametrize("gripper", ["forward", "action"])
def test_forward_commands_move_the_arm_and_the_gripper(harness, gripper):
    h = harness(gripper_interface=gripper)
    b = h.bridge
    q0 = b.joint_pos
    h.run(0.2)
    np.testing.assert_allclose(b.joint_pos, q0, atol=0.01)  # holds its start before any command
    assert b.episode_start_s is None
    target = q0 + np.array([0.15, -0.1, 0.1, 0.1, -0.1, 0.1, 0.15])
    h.send_arm(target)
    h.send_gripper(0.03)
    h.run(1.0)
    np.testing.assert_allclose(b.joint_pos, target, atol=0.015)
    assert b.gripper_width_m == pytest.approx(0.03, abs=0.002)
    assert b.episode_start_s is not None
    wait_for(lambda: h.js and stamp_to_s(h.js[-1].header.stamp) > b.clock_s - 0.02, "joint states", (h.c,))
    m = h.js[-1]
    assert list(m.name) == [*ARM, "panda_finger_joint1", "panda_finger_joint2"]
    assert len(m.position) == len(m.velocity) == len(m.effort) == 9
    np.testing.assert_allclose(m.position[:7], target, atol=0.02)
    assert m.position[7] + m.position[8] == pytest.approx(0.03, abs=0.002)
    assert h.obj and h.obj[-1].header.frame_id == "panda_link0"
    assert h.target and h.target[-1].header.frame_id == "panda_link0"


def test_forward_command_ramps_over_one_control_period(harness):
    h = harness(command_ramp_s=0.04)
    b = h.bridge
    q0 = b.data.ctrl[:7].copy()
    h.send_arm(q0 + 0.04)
    b.advance()
    b.advance()  # 10 of 40 ms: a quarter of the way
    np.testing.assert_allclose(b.data.ctrl[:7], q0 + 0.01, atol=1e-9)
    h.run(0.1)
    np.testing.assert_allclose(b.data.ctrl[:7], q0 + 0.04, atol=1e-9)


def test_trajectory_joints_are_matched_by_name_and_bad_commands_refused(harness):
    h = harness(command_interface="trajectory")
    b = h.bridge
    q0 = b.joint_pos
    target = q0 + 0.1
    m = msgs.JointTrajectory(joint_names=list(reversed(ARM)))
    p = msgs.JointTrajectoryPoint(positions=[float(v) for v in reversed(target)])
    p.time_from_start.nanosec = 200_000_000
    m.points = [p]
    h.send_arm(None, m)
    h.run(0.1)
    assert np.all(np.abs(b.data.ctrl[:7] - target) > 0.04)  # halfway along its 0.2 s
    h.run(1.0)
    np.testing.assert_allclose(b.joint_pos, target, atol=0.015)
    nan = msgs.JointTrajectory(
        joint_names=list(ARM), points=[msgs.JointTrajectoryPoint(positions=[math.nan] * 7)]
    )
    h.send_arm(None, nan)
    short = msgs.JointTrajectory(
        joint_names=list(ARM[:6]), points=[msgs.JointTrajectoryPoint(positions=[0.0] * 6)]
    )
    h.send_arm(None, short)
    assert b.commands_refused == 2
    h.run(0.3)
    np.testing.assert_allclose(b.joint_pos, target, atol=0.015)  # the last good command holds


def test_object_pose_is_published_late_and_noisy_and_success_is_detected(harness):
    h = harness(object_latency_s=0.04, object_pos_noise_std_m=0.0, object_yaw_noise_std_rad=0.0)
    b = h.bridge
    h.send_arm(b.joint_pos)
    h.run(0.5)
    wait_for(lambda: h.obj and stamp_to_s(h.obj[-1].header.stamp) > b.clock_s - 0.09, "object pose", (h.c,))
    last = h.obj[-1]
    p = last.pose.position
    np.testing.assert_allclose([p.x, p.y, p.z], b.object_pos, atol=1e-4)  # the cube is at rest
    assert b.clock_s - stamp_to_s(last.header.stamp) >= 0.04 - 1e-9
    assert b.outcome is None
    # Put the cube on the target: the episode ends in success.
    b.data.qpos[9:12] = b.target_m
    b.data.qvel[:] = 0.0
    b.advance()
    assert b.outcome == "success" and b.status()["distance_m"] < 0.03


def test_bridge_config_is_checked(dds_env):
    t = DdsTransport("manip_bridge")
    try:
        for bad in ({"task": "stack"}, {"command_interface": "effort"}, {"gripper_interface": "vacuum"}):
            with pytest.raises(ValueError, match=next(iter(bad))):
                ManipSimBridge(t, ArmBridgeConfig(**bad))
    finally:
        t.close()
        gc.collect()


# --------------------------------------------------------------------------------- two processes


class Listener:
    """Echoes the node's commands and state, as ``ros2 topic echo`` would."""

    def __init__(self, arm_topic: str, arm_type: str) -> None:
        self.t = DdsTransport("listener")
        self.cmds: list[np.ndarray] = []
        self.states: list[str] = []
        self.t.subscribe(arm_topic, arm_type, DEFAULT, self._cmd)
        self.t.subscribe(
            "/manip_policy/state", "std_msgs/msg/String", LATCHED, lambda m: self.states.append(m.data)
        )

    def _cmd(self, m) -> None:
        self.cmds.append(
            np.asarray(m.data if hasattr(m, "data") else m.points[0].positions, dtype=np.float64)
        )


@pytest.mark.parametrize(
    "interfaces", [("forward", "forward"), ("trajectory", "action")], ids=["forward", "trajectory-action"]
)
def test_node_drives_the_bridge_within_limits(dds_env, tiny_manip_policy, tmp_path, interfaces):
    """A random-weights policy: the node must come up, run, and command only finite targets inside
    the joint limits (with the safety margin); the bridge must take every command."""
    from sim2real.manip.env import panda_chain

    cmd_if, grip_if = interfaces
    topic, typ = (
        ("/arm_controller/commands", "std_msgs/msg/Float64MultiArray")
        if cmd_if == "forward"
        else ("/arm_controller/joint_trajectory", "trajectory_msgs/msg/JointTrajectory")
    )
    listener = Listener(topic, typ)
    result = tmp_path / "result.json"
    sim = sim2real(dds_env, "sim", "manip", "--seed", "1", "--episode", "--episode-time-s", "3",
                   "--real-time-factor", "2", "--command-interface", cmd_if, "--gripper-interface", grip_if,
                   "--result", str(result))  # fmt: skip
    node = sim2real(dds_env, "deploy", "manip", "--policy", str(tiny_manip_policy),
                    "--set", "use_sim_time=true", f"command_interface={cmd_if}",
                    f"gripper_interface={grip_if}")  # fmt: skip
    try:
        assert spin_until(listener.t, lambda: sim.poll() is not None, 60.0, (node,)), (
            f"the episode did not end: states {listener.states}"
        )
        spin_until(listener.t, lambda: False, 0.2)
    finally:
        _stop(node, sim)
        listener.t.close()
    log = node.stdout.read()[-3000:]
    assert "running" in listener.states, (listener.states, log)
    assert not any(s.startswith("error") for s in listener.states), (listener.states, log)
    r = json.loads(result.read_text())
    assert r["outcome"] in ("success", "timeout", "dropped"), r
    assert r["commands_received"] >= 50 and r["commands_refused"] == 0 and r["commands_out_of_limits"] == 0, r
    assert r["gripper_commands"] >= 1, r
    chain = panda_chain()
    lo, hi = chain.lower + 0.05, chain.upper - 0.05
    cmds = np.array(listener.cmds)
    assert len(cmds) >= 50 and np.all(np.isfinite(cmds))
    assert np.all(cmds >= lo - 1e-9) and np.all(cmds <= hi + 1e-9)


@pytest.mark.parametrize("seed", [11, 12])
def test_trained_policy_picks_and_places_through_topics(dds_env, tmp_path, seed):
    """Closed loop with the reference policy: the cube reaches the target (3 cm) over DDS."""
    assert (TRAINED / "policy.onnx").is_file(), (
        f"{TRAINED.relative_to(REPO)}/policy.onnx is missing: train and export the reference pick-and-place "
        "policy (sim2real train manip, then export) before this test can pass"
    )
    result = tmp_path / "result.json"
    sim = sim2real(dds_env, "sim", "manip", "--seed", str(seed), "--episode", "--real-time-factor", "1",
                   "--result", str(result))  # fmt: skip
    node = sim2real(dds_env, "deploy", "manip", "--policy", str(TRAINED), "--set", "use_sim_time=true")
    try:
        sim.wait(timeout=45)
    finally:
        _stop(node, sim)
    r = json.loads(result.read_text())
    assert r["outcome"] == "success", (r, node.stdout.read()[-3000:])
    assert r["commands_refused"] == 0 and r["commands_out_of_limits"] == 0, r
