"""The one PolicyNode, over every domain of the runtime registry: each domain's node on a real DDS
transport publishes only finite, in-limit commands for arbitrary inputs; the shared scheduler; hot
reload (swap_policy); the shared parameters and launch arguments of every node package.

A domain registered in ``sim2real_runtime.domains`` without an input provision here fails loudly:
registering a domain means saying how to feed its node.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, clocked_transport

from sim2real_ros import msgs, px4
from sim2real_ros.convert import make_odom, make_scan, set_yaw
from sim2real_ros.node_params import NodeParams
from sim2real_ros.policy_node import PolicyNode, PolicyScheduler, domain_nodes, within_limits
from sim2real_runtime.domains import all_domains

DOMAINS = [d.name for d in all_domains()]
ODD = [math.nan, math.inf, -math.inf, 1e9, -1e9]


def odd(rng: np.random.Generator, x: np.ndarray, p: float = 0.05) -> np.ndarray:
    """``x`` with a fraction ``p`` of its entries replaced by NaN, infinities or huge values."""
    x = np.array(x, dtype=np.float64)
    mask = rng.random(x.shape) < p
    x[mask] = rng.choice(ODD, size=int(mask.sum()))
    return x


def pose_msg(pos, frame, yaw=0.0):
    m = msgs.PoseStamped()
    m.header.frame_id = frame
    m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in pos)
    set_yaw(m.pose.orientation, yaw)
    return m


def record(pub) -> list:
    """What the node hands to ``pub``; the publisher reports a matched subscriber."""
    got: list = []
    real = pub.publish
    pub.publish = lambda m: (got.append(m), real(m))[1]
    pub.subscriber_count = lambda: 1  # the robot's controller has matched
    return got


# ------------------------------------------------------------------------- input provisions


def feed_nav(node, clock, rng, ticks):
    """Scans (with NaN, inf, negative ranges; now and then too many invalid beams, which the node
    refuses), odometry (sometimes NaN) and goals."""
    got = record(node.cmd_pub)
    lidar = node.robot.lidar
    node.on_goal(pose_msg([*rng.uniform(-6, 6, 2), 0.0], "odom"))
    for i in range(ticks):
        clock.t += 0.025
        yaw = rng.uniform(-4, 4) if rng.random() > 0.05 else math.nan  # make_odom needs cos(yaw)
        pose = np.array([*odd(rng, rng.uniform(-5, 5, 2)), yaw])
        node.on_odom(make_odom(msgs.Odometry, pose, odd(rng, rng.uniform(-3, 3, 2)), clock.t))
        top = 40.0 if i % 10 == 9 else lidar.range_max_m  # above range_max: invalid beams
        ranges = odd(rng, rng.uniform(-1.0, top, lidar.num_beams)).astype(np.float32)
        node.on_scan(make_scan(msgs.LaserScan, ranges, clock.t, lidar))
        if i % 2:
            node.on_tick()
        if i % 50 == 25:
            node.on_goal(pose_msg([*odd(rng, rng.uniform(-6, 6, 2)), 0.0], "odom"))
    lo, hi = node.filter.low, node.filter.high
    return [np.array([m.linear.x, m.angular.z]) for m in got], lo, hi


def feed_quad(node, clock, rng, ticks):
    """Odometry anywhere (inside and outside the fence, any attitude, NaN) and references."""
    got = record(node.cmd_pub)
    for i in range(ticks):
        clock.t += 0.005
        m = msgs.Odometry()
        m.header.frame_id = "world"
        p, q, tw = m.pose.pose.position, m.pose.pose.orientation, m.twist.twist
        p.x, p.y, p.z = odd(rng, rng.uniform(-3, 3, 3), 0.01)
        q.w, q.x, q.y, q.z = odd(rng, rng.normal(size=4), 0.01)
        tw.linear.x, tw.linear.y, tw.linear.z = odd(rng, rng.uniform(-5, 5, 3), 0.01)
        tw.angular.x, tw.angular.y, tw.angular.z = odd(rng, rng.uniform(-10, 10, 3), 0.01)
        node.on_odometry(m)
        if i % 40 == 0:
            node.on_reference_pose(pose_msg(odd(rng, rng.uniform(-4, 4, 3)), "world"))
        node.on_tick()
    v = node.vehicle
    full = 4.0 * v.motor_max_thrust_n
    cmds = []
    for tw in got:
        thrust_n, rates = px4.cmd_vel_legacy_command(tw, full, node.p.cf_backend)
        cmds.append(np.array([thrust_n / v.mass_kg, *rates]))
    lo = np.array([0.0, *(-node.safety.high[1:])])  # zero thrust: the thrust unlock and cutoff
    return cmds, lo, np.asarray(node.safety.high)


def feed_manip(node, clock, rng, ticks):
    """Joint states anywhere (NaN, missing names), object and target poses (other frames)."""
    got = record(node.arm_pub)
    arm, fingers = node.arm_joints, node.finger_joints
    node.on_target_pose(pose_msg([0.5, 0.2, 0.2], "panda_link0"))
    for i in range(ticks):
        clock.t += 0.01
        q = odd(rng, rng.uniform(-4, 4, len(arm)), 0.01)
        names = [*arm, *fingers] if rng.random() > 0.05 else list(arm[:-1])
        pos = [*q, 0.04, 0.04][: len(names)]
        vel = list(odd(rng, rng.uniform(-5, 5, len(names)), 0.01))
        node.on_joint_states(msgs.JointState(name=names, position=list(pos), velocity=vel))
        frame = "panda_link0" if rng.random() > 0.05 else "world"
        node.on_object_pose(pose_msg(odd(rng, rng.uniform(-1, 1, 3), 0.01), frame))
        if i % 50 == 0:
            node.on_target_pose(pose_msg(odd(rng, rng.uniform(-1, 1, 3), 0.02), "panda_link0"))
        node.on_tick()
    s = node.controller.safety
    return [np.asarray(m.data) for m in got], s.lower, s.upper


def feed_hand(node, clock, rng, ticks):
    """Joint states anywhere (NaN, missing names, no names), cube poses and goals (other frames)."""
    got = record(node.cmd_pub)
    joints, hand = list(node.joints), node.description
    node.on_goal(pose_msg([0.0, 0.0, 0.0], "palm", yaw=1.0))
    for i in range(ticks):
        clock.t += 0.01
        q = odd(rng, rng.uniform(hand.lower - 0.5, hand.upper + 0.5), 0.01)
        names = joints if rng.random() > 0.05 else (joints[1:] if rng.random() > 0.5 else [])
        node.on_joint_states(msgs.JointState(name=names, position=list(q[: max(len(names), 1)])))
        frame = "palm" if rng.random() > 0.05 else "world"
        node.on_cube_pose(pose_msg(odd(rng, rng.uniform(-0.1, 0.1, 3), 0.01), frame, yaw=rng.uniform(-3, 3)))
        if i % 50 == 0:
            node.on_goal(pose_msg([0.0, 0.0, 0.0], frame, yaw=rng.uniform(-3, 3)))
        node.on_tick()
    s = node.controller.safety
    cmds = [hand.from_hardware(np.asarray(m.position)) for m in got]  # the driver's order and zero
    return cmds, s.lower, s.upper


PROVISIONS = {"nav": feed_nav, "quad": feed_quad, "manip": feed_manip, "hand": feed_hand}
"""Domain -> how to feed its node arbitrary inputs: (node, clock, rng, ticks) -> (commands, low,
high)."""


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("policy_node_test")
    yield t
    t.close()


def policy_for(request, domain: str, task: str | None = None) -> Path:
    """A random-weight policy of ``domain`` exported from its task's draft contract (conftest)."""
    return request.getfixturevalue("random_policy")(domain, task)


def make_node(domain: str, transport, policy: Path, **overrides) -> PolicyNode:
    cls = domain_nodes()[domain]
    params_mod = importlib.import_module(f"{cls.__module__.rsplit('.', 1)[0]}.params")
    params, errors = params_mod.params_from_mapping({"policy_path": str(policy), **overrides}, "test")
    return cls(transport, params, errors)


# ------------------------------------------------------------------------- every domain


def test_every_registered_domain_has_a_node_and_an_input_provision():
    nodes = domain_nodes()
    for d in all_domains():
        assert d.name in nodes, f"no {d.node_package}.node.NODE for the registered domain {d.name!r}"
        assert d.name in PROVISIONS, f"domain {d.name!r} has no input provision in test_policy_node.py"
        cls = nodes[d.name]
        assert issubclass(cls, PolicyNode) and d.name == cls.DOMAIN
        assert issubclass(cls.PARAMS, NodeParams)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("seed", [0, 1])
def test_arbitrary_inputs_give_only_finite_in_limit_commands(request, transport, domain, seed):
    if domain not in PROVISIONS:
        pytest.fail(f"domain {domain!r} is registered but has no input provision here")
    node = make_node(domain, transport, policy_for(request, domain))
    assert node.fault is None, node.fault
    cmds, lo, hi = PROVISIONS[domain](node, transport.clock, np.random.default_rng(seed), 300)
    assert cmds, f"{domain}: no command was published"
    for c in cmds:
        assert within_limits(c, lo, hi, tol=1e-6), (domain, c, lo, hi)
    node.shutdown()
    assert node.state == "stopped: shutdown"


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_rate_other_than_the_contracts_is_refused_naming_control_rate_hz(request, transport, domain):
    policy = policy_for(request, domain)
    node = make_node(domain, transport, policy, control_rate_hz=0.0)
    assert node.fault is None
    rate = node.controller.control_rate_hz
    assert make_node(domain, transport, policy, control_rate_hz=rate).fault is None
    bad = make_node(domain, transport, policy, control_rate_hz=rate / 2)
    assert bad.state.startswith("error:") and "control_rate_hz" in bad.state and bad.controller is None
    neg = make_node(domain, transport, policy, control_rate_hz=-1.0)
    assert neg.state == "error: bad parameter control_rate_hz"
    slow = make_node(domain, transport, policy, loop_rate_hz=rate / 4)
    if slow.SCHEDULE_ON_NODE_CLOCK:  # the loop runs the policy: it must be at least as fast
        assert slow.state.startswith("error:") and "loop_rate_hz" in slow.state
    else:  # the policy runs on sensor stamps; the loop is only the watchdog and heartbeat
        assert slow.fault is None


# ------------------------------------------------------------------------- hot reload


@pytest.mark.parametrize("domain", DOMAINS)
def test_swap_policy_between_two_steps(request, transport, domain, tmp_path):
    policy = policy_for(request, domain)
    node = make_node(domain, transport, policy)
    feed = PROVISIONS[domain]
    rng = np.random.default_rng(3)
    feed(node, transport.clock, rng, 40)
    old = node.controller.policy
    # The same interface (here: the same file, a new session) is accepted and runs from the next step.
    assert node.swap_policy(policy) is None
    new = node.controller.policy
    assert new is not old
    calls = []
    session_run = new.session.run  # count the new session's runs
    new.session.run = lambda *a, **k: (calls.append(1), session_run(*a, **k))[1]
    cmds, lo, hi = feed(node, transport.clock, rng, 40)
    assert calls, "the swapped-in policy did not run"
    assert all(within_limits(c, lo, hi, tol=1e-6) for c in cmds)
    # Another interface (another domain's policy) is refused with the field named; the old stays.
    other = next(d for d in DOMAINS if d != domain)
    why = node.swap_policy(policy_for(request, other))
    assert why is not None and "field 'domain'" in why, why
    assert node.controller.policy is new
    missing = node.swap_policy(tmp_path / "none")
    assert missing is not None and node.controller.policy is new
    feed(node, transport.clock, rng, 10)


def test_swap_policy_of_a_refused_node_says_why(request, transport):
    node = make_node("nav", transport, "/nonexistent/policy")
    assert node.state.startswith("error:")
    assert "no policy is running" in node.swap_policy(policy_for(request, "nav"))
    assert node.controller is None


# ------------------------------------------------------------------------- the scheduler


def test_scheduler_due_times_advance_by_exactly_one_period():
    s = PolicyScheduler(10.0)
    due, steps = [], []
    for t in 100.0 + np.arange(0, 400) * 0.005:  # a 200 Hz loop for 2 s
        planned = s.next_s
        if s.due(t):
            steps.append(t)
            due.append(s.next_s)
            assert planned is None or t >= planned - 0.1 * s.period_s - 1e-9  # never more than 10 % early
    assert len(steps) in (20, 21)
    np.testing.assert_allclose(np.diff(due), 0.1, atol=1e-9)  # due times never drift


@pytest.mark.parametrize("sensor_hz", [40.0, 20.0, 15.0, 10.0, 7.0])
def test_scheduler_on_stamps_runs_at_the_rate(sensor_hz):
    s = PolicyScheduler(10.0)
    stamps = 50.0 + np.arange(int(10 * sensor_hz)) / sensor_hz
    steps = [t for t in stamps if s.due(t)]
    gaps = np.diff(steps)
    if sensor_hz % 10 == 0:  # a multiple of the policy rate: exactly every 0.1 s
        np.testing.assert_allclose(gaps, 0.1, atol=1e-9)
    elif sensor_hz > 10:  # the first stamp at or after each due time
        assert np.mean(gaps) == pytest.approx(0.1, abs=0.005)
        assert np.all(np.abs(gaps - 0.1) <= 1.0 / sensor_hz + 1e-9)
    else:  # slower sensor: every stamp (each is later than a period after the last)
        assert len(steps) == len(stamps)


def test_scheduler_restarts_on_a_clock_jump_and_after_a_gap():
    s = PolicyScheduler(10.0)
    assert s.due(10.0) and s.next_s == pytest.approx(10.1)
    assert not s.due(10.05)
    assert s.due(10.095)  # a tenth of a period early counts (jitter)
    assert s.next_s == pytest.approx(10.2)  # and the due times do not drift
    assert s.due(3.0) and s.next_s == pytest.approx(3.1)  # backwards (restarted simulator): restart
    assert s.due(7.0) and s.next_s == pytest.approx(7.1)  # a gap of more than a period: restart
    s.reset()
    assert s.due(7.01) and s.next_s == pytest.approx(7.11)
    s.restart(8.0)
    assert not s.due(8.05) and s.due(8.1)
    with pytest.raises(ValueError):
        PolicyScheduler(0.0)


# ------------------------------------------------------------------------- parameters and launch

PACKAGES = [d.node_package for d in all_domains()]


@pytest.mark.parametrize("package", PACKAGES)
def test_common_parameters_mean_the_same_in_every_node(package):
    params_mod = importlib.import_module(f"{package}.params")
    cls = domain_nodes()[package.removesuffix("_policy")].PARAMS
    common = [f.name for f in dataclasses.fields(NodeParams)]
    assert set(common) == {
        "policy_path",
        "estop_topic",
        "state_topic",
        "loop_rate_hz",
        "control_rate_hz",
        "use_sim_time",
        "clock_offset_tolerance_s",
        "teleop",
        "teleop_topic",
        "teleop_device",
        "teleop_joy_mapping",
        "teleop_timeout_s",
        "teleop_threshold",
        "teleop_release_s",
        "teleop_deadband",
        "teleop_linear_scale_mps",
        "teleop_angular_scale_radps",
        "intervention_topic",
        "reload_watch",
        "reload_period_s",
    }
    assert [f.name for f in dataclasses.fields(cls)][: len(common)] == common
    assert cls().control_rate_hz == 0.0 and cls().state_topic == f"/{package}/state"
    for f in ("publish_rate_hz",):
        assert f not in {x.name for x in dataclasses.fields(cls)}
    # The package's parameter files use only known names with valid values.
    for path in sorted((REPO / "ros2_ws" / "src" / package / "config").glob("*.yaml")):
        values = params_mod.read_params_file(path)
        assert "loop_rate_hz" in values, path.name
        _, errors = params_mod.params_from_mapping({**values, "policy_path": "p"}, str(path))
        assert errors == [], (path.name, errors)
    _, errors = params_mod.params_from_mapping({"policy_path": "p", "loop_rate_hz": 0.0}, "t")
    assert [e.field for e in errors] == ["loop_rate_hz"]


@pytest.fixture
def share(tmp_path):
    """An installed share/<package> for every node package, as colcon lays them out."""

    def make(package: str) -> Path:
        pkg = REPO / "ros2_ws" / "src" / package
        root = tmp_path / package
        (root / "config").mkdir(parents=True)
        for f in (pkg / "config").glob("*.yaml"):
            (root / "config" / f.name).write_text(f.read_text())
        for folder, name in (("robots", "robot.yaml"), ("vehicles", "vehicle.yaml")):
            for src in (REPO / "sim_assets").glob(f"*/{name}"):
                d = root / folder / src.parent.name
                d.mkdir(parents=True)
                (d / name).write_text(src.read_text())
        (root / "urdf").mkdir()
        (root / "urdf" / "panda.urdf").write_text((REPO / "sim_assets" / "panda" / "panda.urdf").read_text())
        return root

    return make


@pytest.mark.parametrize("package", PACKAGES)
def test_launch_arguments_of_every_package(package, share, tmp_path):
    la = importlib.import_module(f"{package}.launch_args")
    root = share(package)
    assert {"policy", "params_file"} <= set(la.ARGUMENTS) and package == la.PACKAGE
    with pytest.raises(ValueError, match="policy:="):
        la.node_parameters({"policy": ""}, root, False)
    params_file, overrides = la.node_parameters({"policy": str(tmp_path)}, root, True)
    assert Path(params_file).is_file() and Path(params_file).parent == root / "config"
    assert overrides["policy_path"] == str(tmp_path.resolve()) and overrides["use_sim_time"] is True
    own = tmp_path / "own.yaml"
    own.write_text(Path(params_file).read_text())
    assert la.node_parameters({"policy": "p", "params_file": str(own)}, root, False)[0] == str(own)
    # Every launch file builds through the shared helper (the arguments and OpaqueFunction live there).
    for path in (REPO / "ros2_ws" / "src" / package / "launch").glob("*.launch.py"):
        text = path.read_text()
        assert "from sim2real_ros.launch_args import launch_description" in text, path.name
        assert "DeclareLaunchArgument" not in text, path.name


@pytest.mark.parametrize("package", PACKAGES)
def test_entry_points_are_the_shared_ones(package):
    node_mod = importlib.import_module(f"{package}.node")
    assert callable(node_mod.run_dds) and callable(node_mod.main)
    assert node_mod.run_dds.__module__ == "sim2real_ros.node_main"
    setup = (REPO / "ros2_ws" / "src" / package / "setup.py").read_text()
    assert f"{package}_node = {package}.node:main" in setup


def test_swap_policy_refuses_another_task_of_the_same_domain(request, transport):
    """A reach policy is another task of the same arm (it observes the target relative to the tool,
    not the cube); swapping it into a pick-and-place node is refused, naming the first field."""
    node = make_node("manip", transport, policy_for(request, "manip", "pick_place"))
    running = node.controller.policy
    why = node.swap_policy(policy_for(request, "manip", "reach"))
    # the first difference is named to the leaf: the contract's task
    assert why is not None and "field 'robot.task.name'" in why and "'reach'" in why, why
    assert len(why) < 300, why
    assert node.controller.policy is running


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("value", [0.0, -1.0])
def test_a_refused_numeric_parameter_is_an_error_state_not_a_crash(request, transport, domain, value):
    """Every positive parameter of every node, refused: the node goes to ``error: bad parameter``
    (it used to build its watchdog or timer from the refused value and raise)."""
    cls = domain_nodes()[domain]
    params_mod = importlib.import_module(f"{cls.__module__.rsplit('.', 1)[0]}.params")
    defaults, _ = params_mod.params_from_mapping({"policy_path": "p"}, "test")
    positive = [
        f.name
        for f in dataclasses.fields(defaults)
        if isinstance(getattr(defaults, f.name), float) and getattr(defaults, f.name) > 0
    ]
    assert positive
    for name in positive:
        node = make_node(domain, transport, policy_for(request, domain), **{name: value})
        if node.fault is None:  # a parameter for which 0 means "off" or "the robot's"
            continue
        assert node.state.startswith("error: bad parameter"), (name, node.state)
        assert getattr(node.p, name) == getattr(defaults, name)
