"""The manip_policy node's logic, driven through its callbacks on a real DDS transport with the test's
clock (watchdog behaviour is exact). The policy is a tiny random-weights one with a real contract."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import REPO, clocked_transport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manip_policy.node import ManipNode
from manip_policy.params import params_from_mapping, read_params_file
from sim2real_ros import msgs

ARM = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGERS = ("panda_finger_joint1", "panda_finger_joint2")
READY = (0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785)


@pytest.fixture
def tiny_manip_policy(random_policy):
    """The registry's random-weight pick-and-place policy, exported from the task's draft contract
    as training would (so it satisfies the strict contract loader)."""
    return random_policy("manip", "pick_place")


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("manip_policy_test")
    yield t
    t.close()


class FakeGripperClient:
    def __init__(self, ready=True):
        self.ready = ready
        self.goals = []

    def server_ready(self):
        return self.ready

    def send_goal(self, goal, on_result=None):
        if self.ready:
            self.goals.append(goal)
        return self.ready


def make_node(transport, policy, **overrides):
    params, errors = params_from_mapping({"policy_path": str(policy), **overrides}, "test")
    node = ManipNode(transport, params, errors)
    node.sent, node.gripper_sent = [], []
    node.arm_pub.publish = node.sent.append
    node.arm_pub.subscriber_count = lambda: 1  # the controller has matched
    if node.gripper_pub is not None:
        node.gripper_pub.publish = node.gripper_sent.append
    elif node.gripper_client is not None:
        node.gripper_client = FakeGripperClient()
    node.logged = []
    for level in ("info", "warning", "error"):
        orig = getattr(transport.log, level)

        def record(text, _orig=orig, _level=level):
            node.logged.append((_level, text))
            return _orig(text)

        setattr(transport.log, level, record)
    return node


def joint_states(q=READY, width=0.08, names=None, qd=None, extra=True):
    names = list(names) if names is not None else [*ARM, *FINGERS]
    values = {**dict(zip(ARM, q)), FINGERS[0]: width / 2, FINGERS[1]: width / 2, "other_robot_joint": 9.0}
    vel = dict(zip(ARM, qd if qd is not None else [0.0] * 7))
    if extra:
        names = ["other_robot_joint", *names]
    return msgs.JointState(
        name=names, position=[values[n] for n in names], velocity=[vel.get(n, 0.0) for n in names]
    )


def pose(x, y, z, frame="panda_link0", yaw=0.0):
    m = msgs.PoseStamped()
    m.header.frame_id = frame
    m.pose.position.x, m.pose.position.y, m.pose.position.z = x, y, z
    m.pose.orientation.w, m.pose.orientation.z = math.cos(yaw / 2), math.sin(yaw / 2)
    return m


def step(node, clock, seconds, js=None, obj=(0.5, 0.0, 0.025), rate_hz=100.0):
    """Run the 100 Hz loop, feeding joint states and the object pose every tick (None: not)."""
    for _ in range(round(seconds * rate_hz)):
        clock.t += 1.0 / rate_hz
        if js is not None:
            node.on_joint_states(js)
        if obj is not None:
            node.on_object_pose(pose(*obj))
        node.on_tick()


def start(node, transport, target=(0.5, 0.2, 0.2)):
    node.on_target_pose(pose(*target))
    step(node, transport.clock, 0.2, js=joint_states())
    assert node.state == "running"


def positions(msg):
    return np.asarray(msg.data if hasattr(msg, "data") else msg.points[0].positions)


def test_waits_for_inputs_then_runs_at_the_contract_rate(transport, tiny_manip_policy):
    node = make_node(transport, tiny_manip_policy)
    c = transport.clock
    step(node, c, 0.1, js=None, obj=None)
    assert node.state == "waiting: /joint_states no arm joint states" and node.sent == []
    step(node, c, 0.1, js=joint_states(), obj=None)
    assert node.state == "waiting: /object_pose no object pose"
    # Before control starts the node holds the measured position (inside the limits).
    np.testing.assert_allclose(positions(node.sent[-1]), READY, atol=1e-9)
    step(node, c, 0.1, js=joint_states())
    assert node.state == "waiting: no target on /target_pose"
    node.on_target_pose(pose(0.5, 0.2, 0.2))
    calls = []
    orig = node.controller.step
    node.controller.step = lambda s: calls.append(c.t) or orig(s)
    n0 = len(node.sent)
    step(node, c, 1.0, js=joint_states())
    assert node.state == "running"
    assert len(calls) == pytest.approx(25, abs=1)
    assert np.allclose(np.diff(calls), 0.04, atol=1e-6)
    assert len(node.sent) - n0 == len(calls)  # one command per control step
    assert len(node.gripper_sent) == len(calls)


def test_joint_states_are_matched_by_name_not_index(transport, tiny_manip_policy):
    node = make_node(transport, tiny_manip_policy)
    q = np.array([0.1, -0.5, 0.2, -2.0, 0.3, 1.4, 0.6])
    names = [*reversed(ARM), FINGERS[1], FINGERS[0]]  # reordered, plus an extra joint in front
    node.on_joint_states(joint_states(q=q, width=0.05, names=names))
    np.testing.assert_allclose(node.q, q)
    assert node.width_m == pytest.approx(0.05)
    # The fingers may come from a separate gripper driver on the same topic.
    node.on_joint_states(msgs.JointState(name=list(FINGERS), position=[0.01, 0.01], velocity=[0.0, 0.0]))
    assert node.width_m == pytest.approx(0.02) and node.faults["joint_states"] is None
    np.testing.assert_allclose(node.q, q)


def test_missing_arm_joints_are_named_and_the_arm_holds(transport, tiny_manip_policy):
    node = make_node(transport, tiny_manip_policy)
    start(node, transport)
    held = positions(node.sent[-1]).copy()
    partial = joint_states(names=[*ARM[:5], *FINGERS])
    step(node, transport.clock, 0.2, js=partial)
    assert node.state == "holding: /joint_states missing arm joints panda_joint6, panda_joint7"
    errors = [t for lvl, t in node.logged if lvl == "error" and "missing arm joints" in t]
    assert len(errors) == 1  # throttled
    assert "panda_joint6, panda_joint7" in errors[0]
    for m in node.sent[-5:]:
        np.testing.assert_allclose(positions(m), held)  # the last safe target, again
    step(node, transport.clock, 0.2, js=joint_states())
    assert node.state == "running"


def test_nan_joint_positions_hold_and_never_reach_the_command(transport, tiny_manip_policy):
    node = make_node(transport, tiny_manip_policy)
    start(node, transport)
    q = list(READY)
    q[2] = math.nan
    step(node, transport.clock, 0.2, js=joint_states(q=q))
    assert node.state == "holding: /joint_states non-finite position of panda_joint3"
    assert any("panda_joint3" in t for lvl, t in node.logged if lvl == "error")
    for m in node.sent:
        assert np.all(np.isfinite(positions(m)))


def test_object_pose_in_another_frame_is_refused_and_the_node_stays_up(transport, tiny_manip_policy):
    node = make_node(transport, tiny_manip_policy)
    start(node, transport)
    n = len(node.sent)
    step(node, transport.clock, 0.2, js=joint_states(), obj=None)
    for _ in range(5):
        transport.clock.t += 0.01
        node.on_joint_states(joint_states())
        node.on_object_pose(pose(0.5, 0.0, 0.025, frame="camera_color_optical_frame"))
        node.on_tick()
    assert node.state.startswith("holding: /object_pose object pose in frame 'camera_color_optical_frame'")
    assert any("'camera_color_optical_frame'" in t for lvl, t in node.logged if lvl == "error")
    assert len(node.sent) > n  # hold commands keep coming
    step(node, transport.clock, 0.1, js=joint_states())
    assert node.state == "running"


def test_target_in_another_frame_holds_and_reach_yaw_comes_from_orientation(transport, tiny_manip_policy):
    node = make_node(transport, tiny_manip_policy)
    start(node, transport)
    node.on_target_pose(pose(0.5, 0.0, 0.3, frame="world"))
    step(node, transport.clock, 0.05, js=joint_states())
    assert node.state.startswith("holding: /target_pose target in frame 'world', expected 'panda_link0'")
    node.on_target_pose(pose(0.5, 0.0, 0.3, yaw=0.7))
    assert node.target_yaw == pytest.approx(0.7)
    step(node, transport.clock, 0.05, js=joint_states())
    assert node.state == "running"


def test_watchdog_holds_on_stale_joint_states_or_object_pose(transport, tiny_manip_policy):
    node = make_node(transport, tiny_manip_policy, watchdog_timeout_s=0.1)
    c = transport.clock
    start(node, transport)
    step(node, c, 0.15, js=None)  # joint states stop
    assert node.state == "holding: /joint_states stale"
    held = positions(node.sent[-1])
    step(node, c, 0.2, js=None)
    np.testing.assert_allclose(positions(node.sent[-1]), held)
    step(node, c, 0.1, js=joint_states())
    assert node.state == "running"
    step(node, c, 0.15, js=joint_states(), obj=None)  # perception stops
    assert node.state == "holding: /object_pose stale"


def test_estop_is_latched_until_released(transport, tiny_manip_policy):
    node = make_node(transport, tiny_manip_policy)
    start(node, transport)
    node.on_estop(msgs.Bool(data=True))
    step(node, transport.clock, 0.05, js=joint_states())
    assert node.state == "stopped: estop"
    held = positions(node.sent[-1])
    step(node, transport.clock, 0.5, js=joint_states())
    assert node.state == "stopped: estop"
    np.testing.assert_allclose(positions(node.sent[-1]), held)
    gripper = node.gripper_sent[-1].data
    assert node.gripper_sent[-1].data == gripper  # the gripper keeps its command
    node.on_estop(msgs.Bool(data=False))
    step(node, transport.clock, 0.05, js=joint_states())
    assert node.state == "running"


def test_forward_and_trajectory_command_messages(transport, tiny_manip_policy):
    fwd = make_node(transport, tiny_manip_policy)
    start(fwd, transport)
    m = fwd.sent[-1]
    assert fwd.cmd_topic == "/arm_controller/commands" and type(m).__name__ == "Float64MultiArray"
    assert len(m.data) == 7 and m.layout.dim == []
    g = fwd.gripper_sent[-1]
    assert fwd.gripper_topic == "/gripper_controller/commands" and len(g.data) == 1
    assert g.data[0] in (0.0, 0.04)  # width / 2: closed or open

    traj = make_node(transport, tiny_manip_policy, command_interface="trajectory", arm_controller="panda_arm")
    start(traj, transport)
    m = traj.sent[-1]
    assert traj.cmd_topic == "/panda_arm/joint_trajectory"
    assert list(m.joint_names) == list(ARM) and len(m.points) == 1
    p = m.points[0]
    assert len(p.positions) == 7 and list(p.velocities) == []
    assert (p.time_from_start.sec, p.time_from_start.nanosec) == (0, 40_000_000)  # one control period
    assert (m.header.stamp.sec, m.header.stamp.nanosec) == (0, 0)  # start now


def test_gripper_action_sends_a_goal_only_when_the_command_changes(transport, tiny_manip_policy):
    node = make_node(transport, tiny_manip_policy, gripper_interface="action", gripper_max_effort_n=30.0)
    assert node.gripper_topic == "/gripper_controller/gripper_cmd"
    node.gripper_client.ready = False
    start(node, transport)
    assert node.gripper_client.goals == []
    assert any("not ready" in t for _, t in node.logged)
    node.gripper_client.ready = True
    closed = []
    orig = node.controller.step

    def alternating(s):
        targets, _, held = orig(s)
        closed.append(len(closed) // 3 % 2 == 1)  # open x3, closed x3, open x3...
        return targets, closed[-1], held

    node.controller.step = alternating
    step(node, transport.clock, 0.5, js=joint_states())
    goals = node.gripper_client.goals
    changes = 1 + sum(a != b for a, b in itertools.pairwise(closed))
    assert len(goals) == changes
    assert [g.command.position for g in goals[:2]] == [0.04, 0.0]  # width / 2
    assert all(g.command.max_effort == 30.0 for g in goals)


def test_bad_policy_urdf_or_parameters_leave_the_node_up_in_error_and_silent(
    transport, tiny_manip_policy, tmp_path
):
    node = make_node(transport, tmp_path / "nothing_here")
    step(node, transport.clock, 0.1, js=joint_states())
    assert node.state.startswith("error: cannot load the policy") and node.sent == []
    node = make_node(transport, tiny_manip_policy, command_interface="effort", workspace_max_m=[0, 0, 0])
    step(node, transport.clock, 0.1, js=joint_states())
    assert node.state.startswith("error: bad parameter command_interface") and node.sent == []
    # A URDF whose arm differs from the contract's (a longer forearm) is refused by name.
    src = (REPO / "sim_assets" / "panda" / "panda.urdf").read_text()
    assert '<origin xyz="0 -0.316 0"' in src
    bad = tmp_path / "long_arm.urdf"
    bad.write_text(src.replace('<origin xyz="0 -0.316 0"', '<origin xyz="0 -0.336 0"', 1))
    node = make_node(transport, tiny_manip_policy, urdf=str(bad))
    step(node, transport.clock, 0.1, js=joint_states())
    assert "robot.kinematics.joints[" in node.state and node.state.startswith("error:") and node.sent == []
    node = make_node(transport, tiny_manip_policy, control_rate_hz=50.0)
    assert "control_rate_hz" in node.state and node.state.startswith("error:")


ABSURD = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf]))
"""Policy outputs: huge, NaN or infinite."""


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    q=st.lists(st.floats(-4.0, 4.0, allow_nan=False), min_size=7, max_size=7),
    q_bad=st.lists(st.one_of(st.floats(), st.just(math.nan)), min_size=7, max_size=7),
    qd=st.lists(st.floats(-50, 50), min_size=7, max_size=7),
    obj=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
    target=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
    actions=st.lists(ABSURD, min_size=8, max_size=8),
)  # fmt: skip
def test_any_input_or_policy_output_gives_finite_commands_within_limits(
    transport, tiny_manip_policy, q, q_bad, qd, obj, target, actions
):
    node = make_node(transport, tiny_manip_policy)
    pol = node.controller.policy
    real = pol.session.run
    flip = iter(range(10**6))

    def run(outputs, feeds):  # every other policy step returns the drawn (possibly absurd) action
        if next(flip) % 2:
            return [np.asarray([actions], dtype=np.float32)]
        return real(outputs, feeds)

    pol.session.run = run
    node.on_target_pose(pose(*target))
    c = transport.clock
    for k in range(30):
        c.t += 0.01
        node.on_joint_states(joint_states(q=q_bad if k % 7 == 3 else q, qd=qd))
        node.on_object_pose(pose(*obj))
        node.on_tick()
    s = node.controller.safety
    assert node.sent, node.state
    for m in node.sent:
        p = positions(m)
        assert p.shape == (7,) and np.all(np.isfinite(p))
        assert np.all(p >= s.lower - 1e-9) and np.all(p <= s.upper + 1e-9)
    for g in node.gripper_sent:
        assert g.data[0] in (0.0, 0.04)


def test_shipped_parameter_file_is_valid(tiny_manip_policy):
    values = read_params_file(REPO / "ros2_ws/src/manip_policy/config/panda.yaml")
    params, errors = params_from_mapping({**values, "policy_path": str(tiny_manip_policy)}, "panda.yaml")
    assert errors == []
    assert params.urdf_path.is_file()


def test_node_observation_from_messages_equals_the_training_env(transport, tiny_manip_policy):
    """A simulated arm's state, sent as the messages the robot publishes (JointState with the
    fingers, PoseStamped of the cube and the target), gives the node the observation the training
    environment computed for the same state."""
    from dataclasses import replace

    from sim2real.manip.config import ManipRandomization, ManipTaskConfig
    from sim2real.manip.env import ManipEnv

    quiet = replace(
        ManipRandomization(),
        joint_pos_noise_rad=0.0,
        joint_vel_noise_radps=0.0,
        object_pos_noise_m=0.0,
        object_yaw_noise_rad=0.0,
        object_latency_steps=(0, 0),
    )
    env = ManipEnv(ManipTaskConfig(dr=quiet), 1, seed=11, threads=1, auto_reset=False)
    for _ in range(3):  # move away from the start so velocities and the gripper are not trivial
        env.observe()
        env.step(env.expert_action())
    env_obs = env.observe()
    w = env.worlds
    js = joint_states(q=w.joint_pos[0], width=float(w.gripper_width[0, 0]), qd=w.joint_vel[0])
    q = w.object_quat[0]
    obj = pose(*w.object_pos[0])
    obj.pose.orientation.w, obj.pose.orientation.x, obj.pose.orientation.y, obj.pose.orientation.z = q
    node = make_node(transport, tiny_manip_policy)
    node.on_target_pose(pose(*env.target_pos[0]))
    seen = []
    orig = node.controller.step
    node.controller.step = lambda s: seen.append({k: np.copy(v) for k, v in s.items()}) or orig(s)
    for _ in range(30):
        transport.clock.t += 0.01
        node.on_joint_states(js)
        node.on_object_pose(obj)
        node.on_tick()
    assert node.state == "running" and seen
    node.controller.reset()  # the env's previous action is the last one it applied
    node.controller.prev_action = env.prev_action.copy()
    node.controller.step(seen[-1])
    np.testing.assert_allclose(node.controller.last_obs, env_obs, atol=1e-5)


def test_node_safety_defaults_are_the_ones_training_used():
    """The node's safety parameters default to ManipSafetyConfig's, which the training env uses."""
    import dataclasses

    from manip_policy.params import ManipNodeParams
    from sim2real.manip.config import ManipTaskConfig
    from sim2real.manip.env import safety_config

    trained = safety_config(ManipTaskConfig())
    node = ManipNodeParams()
    for f in dataclasses.fields(trained):
        assert getattr(node, f.name) == getattr(trained, f.name), f.name


# ------------------------------------------------------------------ re-engagement after a hold
#
# Whatever made the node hold, and however control resumes, the arm's target moves at most the
# per-period budget (ManipSafety.max_step_rad) from one published target to the next, and never
# leads the measurement by more than max_lead_rad unless it is closing in on it. The arm in these
# tests lags its target (the case the lead limit exists for), so a restart from the measurement
# would jump by up to max_lead_rad.

LOOP_HZ = 100.0


class LaggingArm:
    """A simulated arm that follows the last published target at ``speed_fraction`` of its joint
    velocity limits (so it lags a policy that commands the full budget), and a saturating policy.
    Records every published target with the measurement the node held when it sent it."""

    def __init__(self, node, clock, speed_fraction=0.15):
        self.node, self.clock = node, clock
        self.q = np.array(READY, dtype=np.float64)
        self.qd = np.zeros(7)
        self.vmax = node.chain.velocity_limits * speed_fraction
        self.log = []  # (target, node.q at send, node.state)
        node.arm_pub.publish = self._record
        self.saturate()

    def _record(self, msg):
        self.node.sent.append(msg)
        if hasattr(msg, "points"):  # trajectory: the arm's joints, one point one period ahead, now
            assert list(msg.joint_names) == list(ARM) and len(msg.points) == 1
            p = msg.points[0]
            assert (p.time_from_start.sec, p.time_from_start.nanosec) == (0, 40_000_000)
            assert list(p.velocities) == list(p.accelerations) == list(p.effort) == []
            assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (0, 0)
        q = None if self.node.q is None else self.node.q.copy()
        self.log.append((positions(msg).copy(), q, self.node.state))

    def saturate(self):
        """Make the running policy command the full velocity budget, reversing every 1.2 s per joint
        (the arm falls behind by the lead limit), and open/close the gripper."""
        phase = np.linspace(0.0, 2.0, 7)

        def run(outputs, feeds, clock=self.clock):
            s = np.sign(np.sin(2 * math.pi * clock.t / 1.2 + phase))
            return [np.asarray([[*s, math.sin(clock.t)]], dtype=np.float32)]

        self.node.controller.policy.session.run = run

    def move(self, dt):
        if self.log:
            step = np.clip(self.log[-1][0] - self.q, -self.vmax * dt, self.vmax * dt)
            self.qd = step / dt
            self.q = self.q + step

    def tick(self, js="good", obj="good", hook=None):
        """One 10 ms loop tick: the arm moves, the inputs arrive (``None``: not sent), the node runs."""
        self.clock.t += 1.0 / LOOP_HZ
        self.move(1.0 / LOOP_HZ)
        if hook is not None:
            hook(self)
        if js == "good":
            js = joint_states(q=self.q, qd=self.qd)
        if js is not None:
            self.node.on_joint_states(js)
        if obj == "good":
            obj = pose(0.5, 0.0, 0.025)
        if obj is not None:
            self.node.on_object_pose(obj)
        self.node.on_tick()

    def run(self, seconds, **kw):
        for _ in range(round(seconds * LOOP_HZ)):
            self.tick(**kw)

    def check(self):
        """Every published target: finite, inside the limits, at most one period's budget from the
        previous one, and (when the policy ran) no further than the lead limit from the measurement
        unless it came closer to it than the previous target."""
        s = self.node.controller.safety
        lead = self.node.p.max_lead_rad
        tol = 1e-9
        for k, (t, q, state) in enumerate(self.log):
            assert t.shape == (7,) and np.all(np.isfinite(t)), (k, t)
            assert np.all(t >= s.lower - tol) and np.all(t <= s.upper + tol), (k, t)
            if k == 0:
                continue
            prev = self.log[k - 1][0]
            jump = np.abs(t - prev)
            assert np.all(jump <= s.max_step_rad + tol), (
                f"command {k} ({state}) moved {np.round(jump, 4)} rad in one step; budget "
                f"{np.round(s.max_step_rad, 4)}"
            )
            if state == "running" and q is not None:
                assert np.all(np.abs(t - q) <= np.maximum(lead, np.abs(prev - q)) + tol), (k, t, q)

    def max_lag(self):
        return max(float(np.max(np.abs(t - q))) for t, q, _ in self.log if q is not None)


def _bad_js(arm, kind):
    q, qd = arm.q.copy(), arm.qd.copy()
    if kind == "nan_position":
        q[2] = math.nan
        return joint_states(q=q, qd=qd)
    if kind == "inf_velocity":
        qd[4] = math.inf
        return joint_states(q=q, qd=qd)
    if kind == "missing_joint":
        return joint_states(q=q, qd=qd, names=[*ARM[:6], *FINGERS])
    if kind == "short_positions":
        m = joint_states(q=q, qd=qd)
        m.position = list(m.position)[:-2]
        return m
    if kind == "nan_fingers":
        return joint_states(q=q, qd=qd, width=math.nan)
    raise AssertionError(kind)


HOLD_CAUSES = {
    # cause -> (per-tick inputs while it lasts: joint states, object pose, a hook), resume hook
    "nan_position": lambda arm: {"js": _bad_js(arm, "nan_position")},
    "inf_velocity": lambda arm: {"js": _bad_js(arm, "inf_velocity")},
    "missing_joint": lambda arm: {"js": _bad_js(arm, "missing_joint")},
    "short_positions": lambda arm: {"js": _bad_js(arm, "short_positions")},
    "nan_fingers": lambda arm: {"js": _bad_js(arm, "nan_fingers")},
    "stale_joint_states": lambda arm: {"js": None},
    "stale_object_pose": lambda arm: {"obj": None},
    "nan_object_pose": lambda arm: {"obj": pose(math.nan, 0.0, 0.025)},
    "object_pose_other_frame": lambda arm: {"obj": pose(0.5, 0.0, 0.025, frame="camera_optical")},
    "target_other_frame": lambda arm: {"hook": lambda a: a.node.on_target_pose(pose(0.5, 0.2, 0.2, "world"))},
    "nan_target": lambda arm: {"hook": lambda a: a.node.on_target_pose(pose(0.5, math.nan, 0.2))},
    "estop": lambda arm: {"hook": lambda a: a.node.on_estop(msgs.Bool(data=True))},
}  # fmt: skip
STALE = {"stale_joint_states", "stale_object_pose"}
RECOVERIES = ("short", "long", "estop_during", "swap_during")


def _clear(arm, cause):
    """Good input again (and the e-stop released, a good target sent, as the cause needs)."""
    if cause == "estop":
        arm.node.on_estop(msgs.Bool(data=False))
    if cause in ("target_other_frame", "nan_target"):
        arm.node.on_target_pose(pose(0.5, 0.2, 0.2))


def _hold_and_recover(arm, cause, recovery, tiny_manip_policy):
    node = arm.node
    inputs = HOLD_CAUSES[cause](arm)
    hold_s = (node.p.watchdog_timeout_s if cause in STALE else 0.0) + (1.0 if recovery == "long" else 0.05)
    n_ticks = round(hold_s * LOOP_HZ)
    held_states = set()
    for k in range(n_ticks):
        if recovery == "estop_during" and k == n_ticks // 2:
            node.on_estop(msgs.Bool(data=True))
        if recovery == "swap_during" and k == n_ticks // 2:
            assert node.swap_policy(tiny_manip_policy) is None
            arm.saturate()
        arm.tick(**inputs)
        held_states.add(node.state)
    assert any(s.startswith(("holding", "stopped")) for s in held_states), (cause, held_states)
    _clear(arm, cause)
    if recovery == "estop_during" and cause != "estop":
        arm.run(0.1)  # good input, still stopped
        assert node.state == "stopped: estop"
        node.on_estop(msgs.Bool(data=False))
    n = len(arm.log)
    arm.run(0.3)
    assert node.state == "running", (cause, recovery, node.state)
    assert len(arm.log) > n


@pytest.mark.parametrize("cause", list(HOLD_CAUSES))
def test_reengagement_after_any_hold_continues_from_the_last_target(transport, tiny_manip_policy, cause):
    """Each hold cause x each recovery (short, long, with an e-stop cycle, with a policy swap),
    with an arm that lags its target by the lead limit."""
    for i, recovery in enumerate(RECOVERIES):
        iface = "forward" if i % 2 == 0 else "trajectory"
        node = make_node(transport, tiny_manip_policy, command_interface=iface)
        arm = LaggingArm(node, transport.clock)
        node.on_target_pose(pose(0.5, 0.2, 0.2))
        arm.run(0.8)  # running long enough to fall behind
        assert node.state == "running"
        assert arm.max_lag() > 4 * float(np.max(node.controller.safety.max_step_rad)), "the arm does not lag"
        _hold_and_recover(arm, cause, recovery, tiny_manip_policy)
        arm.check()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_holds_swaps_and_estops_never_exceed_the_velocity_budget(transport, tiny_manip_policy, seed):
    """Generated schedules: holds of random causes and lengths, policy swaps while running and
    while holding, e-stop cycles, through both command interfaces."""
    rng = np.random.default_rng(seed)
    node = make_node(transport, tiny_manip_policy, command_interface=("forward", "trajectory")[seed % 2])
    arm = LaggingArm(node, transport.clock)
    node.on_target_pose(pose(0.5, 0.2, 0.2))
    arm.run(0.5)
    causes = list(HOLD_CAUSES)
    for _ in range(8):
        cause = causes[rng.integers(len(causes))]
        inputs = HOLD_CAUSES[cause](arm)
        for _ in range(int(rng.integers(1, 60))):
            if rng.random() < 0.03:
                assert node.swap_policy(tiny_manip_policy) is None
                arm.saturate()
            arm.tick(**inputs)
        _clear(arm, cause)
        if rng.random() < 0.3:  # an e-stop cycle on top
            node.on_estop(msgs.Bool(data=True))
            arm.run(float(rng.uniform(0.01, 0.3)))
            node.on_estop(msgs.Bool(data=False))
        run_s = float(rng.uniform(0.05, 0.6))
        for _ in range(round(run_s * LOOP_HZ)):
            if rng.random() < 0.02:
                assert node.swap_policy(tiny_manip_policy) is None
                arm.saturate()
            arm.tick()
    arm.run(0.3)
    assert node.state == "running"
    arm.check()


def test_gripper_action_over_dds_under_bad_inputs(transport, tiny_manip_policy):
    """Probe: the GripperCommand client against a real DDS action server. Policy gripper outputs
    that are NaN, infinite or huge, holds (NaN joints, stale object pose, e-stop) and a server
    that comes up late: every goal is open (width / 2) or closed (0) with the configured effort,
    one per change of the open/close decision, none while holding."""
    import time

    from sim2real_ros.dds import DdsTransport

    node = make_node(transport, tiny_manip_policy, gripper_interface="action", gripper_max_effort_n=25.0)
    node.gripper_client = transport.action_client(node.gripper_topic, "control_msgs/action/GripperCommand")
    arm = LaggingArm(node, transport.clock)
    grip = iter([math.nan, 1.0, math.inf, -math.inf, 1e30, -1e30, 0.0, 0.7, math.nan, -0.2] * 20)
    decisions = []

    def run(outputs, feeds):
        g = next(grip)
        decisions.append(bool(np.nan_to_num(g, nan=-1.0) > 0.0))
        return [np.asarray([[0.5] * 7 + [g]], dtype=np.float32)]

    node.controller.policy.session.run = run
    node.on_target_pose(pose(0.5, 0.2, 0.2))
    arm.run(0.3)  # no server yet: goals are dropped and resent on the next change
    assert node.gripper_goal_sent is None
    got = []
    server = DdsTransport("gripper_server")
    try:
        server.action_server(node.gripper_topic, "control_msgs/action/GripperCommand", got.append)
        deadline = time.monotonic() + 5.0
        while not node.gripper_client.server_ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        n0 = len(decisions)
        arm.run(0.4)
        arm.run(0.2, js=_bad_js(arm, "nan_position"))  # holding: no goals
        node.on_estop(msgs.Bool(data=True))
        arm.run(0.2)
        node.on_estop(msgs.Bool(data=False))
        arm.run(0.4)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and len(got) < 2:
            time.sleep(0.02)
        time.sleep(0.3)
    finally:
        server.close()
    assert got, "no goal reached the server"
    for g in got:
        assert g.command.position in (0.0, 0.04) and g.command.max_effort == 25.0
    after = decisions[n0 - 1 :]
    changes = sum(a != b for a, b in itertools.pairwise(after))
    assert len(got) <= changes + 1  # only when the decision changes
    arm.check()


def _stamped(msg, t_s):
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(t_s), round((t_s % 1) * 1e9)
    return msg


@pytest.mark.parametrize("offset_s", [-1000.0, -0.5, 5.0])
@pytest.mark.parametrize("which", ["joint_states", "object_pose"])
def test_inputs_stamped_far_from_the_node_clock_hold(transport, tiny_manip_policy, which, offset_s):
    """Joint states or an object pose stamped long before the node clock (or ahead of it) are
    refused by their stamp, whatever their arrival time: the arm holds, and resumes once stamps
    agree with the clock again (timeout 0.2 s + clock_offset_tolerance_s 0.1 s)."""
    node = make_node(transport, tiny_manip_policy)
    c = transport.clock
    start(node, transport)
    for _ in range(10):
        c.t += 0.01
        js, obj = joint_states(), pose(0.5, 0.0, 0.025)
        _stamped(js if which == "joint_states" else obj, c.t + offset_s)
        node.on_joint_states(js)
        node.on_object_pose(obj)
        node.on_tick()
    topic = "/joint_states" if which == "joint_states" else "/object_pose"
    assert node.state.startswith(f"holding: {topic}"), node.state
    assert "stamped" in node.state, node.state
    for _ in range(10):  # stamps that agree with the clock
        c.t += 0.01
        node.on_joint_states(_stamped(joint_states(), c.t))
        node.on_object_pose(_stamped(pose(0.5, 0.0, 0.025), c.t))
        node.on_tick()
    assert node.state == "running"
