"""End to end over DDS: the sim bridge and the node as separate processes, this test as RViz."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO

from sim2real.nav.scenario import load_scenario
from sim2real.nav.sim_bridge import to_odom_frame
from sim2real_ros.convert import fill_header, set_yaw
from sim2real_ros.dds import DdsTransport
from sim2real_ros.transport import DEFAULT, LATCHED

POLICY = REPO / "policies" / "nav_jackal"


def sim2real(env, *args, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "sim2real.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def start_node(env, *extra):
    return sim2real(env, "deploy", "nav", "--policy", str(POLICY), "--set", "use_sim_time=true", *extra)


def spin_until(transport, cond, timeout_s: float, procs=()) -> bool:
    """Spin ``transport`` until ``cond()`` (True) or the timeout (False); a process in ``procs``
    that exits meanwhile fails the test with its output."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        transport.spin_once(0.02)
        if cond():
            return True
        for p in procs:
            assert p.poll() is None, f"process exited early:\n{p.stdout.read()}"
    return False


class Rviz:
    """What RViz does: a reliable /goal_pose publisher; plus echo of /cmd_vel and the node state."""

    def __init__(self) -> None:
        self.t = DdsTransport("rviz")
        self.goal_pub = self.t.publisher("/goal_pose", "geometry_msgs/msg/PoseStamped", DEFAULT)
        self.cmds: list[tuple[float, float, float]] = []  # (arrival steady s, v, w)
        self.states: list[tuple[float, str]] = []
        self.t.subscribe("/cmd_vel", "geometry_msgs/msg/Twist", DEFAULT, self._cmd)
        self.t.subscribe("/nav_policy/state", "std_msgs/msg/String", LATCHED, self._state)

    def _cmd(self, m) -> None:
        self.cmds.append((time.monotonic(), m.linear.x, m.angular.z))

    def _state(self, m) -> None:
        self.states.append((time.monotonic(), m.data))

    def spin_until(self, cond, timeout_s: float, procs=()) -> bool:
        return spin_until(self.t, cond, timeout_s, procs)

    def send_goal(self, xy) -> None:
        m = self.t.msg("geometry_msgs/msg/PoseStamped")()
        fill_header(m.header, 0.0, "odom")
        m.pose.position.x, m.pose.position.y = float(xy[0]), float(xy[1])
        set_yaw(m.pose.orientation, 0.0)
        self.goal_pub.publish(m)


def _stop(*procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def test_robot_reaches_goal_in_barn_world_through_topics(dds_env, barn_dir, tmp_path):
    scenario_file = barn_dir / "world_001.scenario.yaml"
    scenario = load_scenario(scenario_file)
    result = tmp_path / "result.json"
    rviz = Rviz()
    node = start_node(dds_env)
    sim = sim2real(
        dds_env, "sim", "nav", "--scenario", str(scenario_file), "--episode", "--real-time-factor", "2",
        "--result", str(result),
    )  # fmt: skip
    try:
        # The node is up, sees the simulated robot, and RViz's goal publisher has matched it.
        assert rviz.spin_until(
            lambda: any(s == "idle" for _, s in rviz.states) and rviz.goal_pub.subscriber_count() > 0
            and len(rviz.cmds) > 10, 60, (node, sim),
        )  # fmt: skip
        rviz.send_goal(to_odom_frame(scenario, np.asarray(scenario.goal)))
        assert rviz.spin_until(lambda: sim.poll() is not None, 120, (node,)), "the episode did not end"
        out = json.loads(result.read_text())
        assert out["success"], f"episode failed: {out}\n{sim.stdout.read()}"
        assert out["time_s"] < scenario.time_limit_s
        states = [s for _, s in rviz.states]
        assert "driving" in states
        moving = [c for c in rviz.cmds if c[1] > 0.2]
        assert moving and all(math.isfinite(v) and abs(v) <= 2.0 for _, v, _ in rviz.cmds)
        # Stopping the node (SIGTERM) leaves the robot with a last zero command.
        node.terminate()
        node.wait(timeout=10)
        rviz.spin_until(lambda: rviz.states[-1][1] == "stopped: shutdown", 2.0)
        assert rviz.states[-1][1] == "stopped: shutdown"
        assert rviz.cmds[-1][1:] == (0.0, 0.0)
    finally:
        _stop(node, sim)
        rviz.t.close()


def test_killing_the_sim_makes_the_node_stop_the_robot(dds_env, barn_dir):
    scenario_file = barn_dir / "world_001.scenario.yaml"
    rviz = Rviz()
    node = start_node(dds_env, "scan_timeout_s=0.25", "odom_timeout_s=0.25")
    sim = sim2real(dds_env, "sim", "nav", "--scenario", str(scenario_file), "--send-goal")
    try:
        assert rviz.spin_until(lambda: any(v > 0.3 for _, v, _ in rviz.cmds[-5:]), 60, (node, sim)), (
            "the robot never drove"
        )
        sim.kill()
        killed = time.monotonic()
        sim.wait(timeout=10)
        assert rviz.spin_until(lambda: any(t > killed and v == 0.0 and w == 0.0 for t, v, w in rviz.cmds), 5)
        first_zero = min(t for t, v, w in rviz.cmds if t > killed and v == 0.0 and w == 0.0)
        # 0.25 s timeout + one 20 ms control period; the rest is process scheduling and DDS delivery.
        print(f"stop {first_zero - killed:.3f} s after the kill")
        assert first_zero - killed < 0.25 + 0.02 + 0.15
        rviz.spin_until(lambda: False, 0.5)
        later = [c for c in rviz.cmds if c[0] > first_zero]
        assert later and all(v == 0.0 and w == 0.0 for _, v, w in later)  # and it stays stopped
        assert any(s.startswith("stopped: /scan stale") for _, s in rviz.states)
        assert node.poll() is None  # the node stays up
    finally:
        _stop(node, sim)
        rviz.t.close()


def test_wrong_type_on_scan_topic_logs_and_commands_zero(dds_env):
    node = start_node(dds_env)
    t = DdsTransport("impostor")
    pub = t.publisher("/scan", "std_msgs/msg/String", DEFAULT)
    rviz = Rviz()
    try:
        assert rviz.spin_until(lambda: len(rviz.cmds) > 20, 30, (node,))
        for _ in range(20):
            pub.publish(t.msg("std_msgs/msg/String")(data="not a scan"))
            rviz.spin_until(lambda: False, 0.1)
        assert all(v == 0.0 and w == 0.0 for _, v, w in rviz.cmds)
        assert node.poll() is None
    finally:
        _stop(node)
        t.close()
        rviz.t.close()
    log = node.stdout.read()
    assert "/scan is published as std_msgs/msg/String; this node reads sensor_msgs/msg/LaserScan" in log


@pytest.mark.parametrize("bad", ["--set", "--params-file"])
def test_node_process_with_bad_configuration_stays_up_publishing_zero(dds_env, tmp_path, bad):
    if bad == "--set":
        node = sim2real(dds_env, "deploy", "nav", "--policy", str(tmp_path / "missing"), "--set", "x=1")
    else:
        f = tmp_path / "p.yaml"
        f.write_text("nav_policy:\n  ros__parameters:\n    policy_path: 3\n")
        node = sim2real(dds_env, "deploy", "nav", "--params-file", str(f))
    rviz = Rviz()
    try:
        assert rviz.spin_until(lambda: len(rviz.cmds) > 20, 30, (node,))
        assert all(v == 0.0 and w == 0.0 for _, v, w in rviz.cmds)
        assert rviz.states and rviz.states[-1][1].startswith("error: ")
    finally:
        _stop(node)
        rviz.t.close()
    log = node.stdout.read()
    if bad == "--set":
        assert "field 'x': unknown parameter" in log
    else:
        assert "field 'policy_path': expected a string, got 3" in log
