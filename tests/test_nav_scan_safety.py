"""Issue 12, defects 1 and 7: a blinded lidar stops the nav node, and so does a scan (or odometry)
whose stamp says it is stale; the lidar conventions are the runtime's, in training too.

The node runs on a real DDS transport with a test clock (conftest.clocked_transport). Malformed
scans are generated (hypothesis): NaN, +-inf, 3e38, above range_max, below range_min, wrong beam
counts, old and future stamps. The test decides independently, from the rules written out below,
whether the scan can be trusted, and asserts: the command is finite and in limits always, zero
with ``stopped: /scan invalid ...`` (or ``stale``) whenever the scan cannot be trusted, and no
forward speed while a close reading lies ahead.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import REPO, clocked_transport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nav_policy.node import NavPolicyNode
from nav_policy.params import params_from_mapping
from sim2real_ros import msgs
from sim2real_ros.convert import make_odom, make_scan, set_yaw
from sim2real_runtime.safety import CollisionGuard, Watchdog

POLICY = REPO / "policies" / "nav_jackal"
N = 720  # the Jackal's beams: [0.1, 30] m, max_invalid_fraction 0.05 -> at most 36 invalid beams
TIMEOUT, TOL = 0.25, 0.1  # scan_timeout_s and clock_offset_tolerance_s (the defaults)


CLOSED: dict[str, str] = {}
"""``robot``: the Jackal file with ``lidar.allow_open_space: false`` (the blinded-lidar rule these
tests are about; the shipped Jackal file accepts open space, see test_the_shipped_jackal_...)."""


@pytest.fixture(scope="module", autouse=True)
def closed_jackal_file(tmp_path_factory):
    text = (REPO / "sim_assets" / "jackal" / "robot.yaml").read_text()
    assert "allow_open_space: true" in text
    path = tmp_path_factory.mktemp("jackal_closed") / "robot.yaml"
    path.write_text(text.replace("allow_open_space: true", "allow_open_space: false"))
    CLOSED["robot"] = str(path)
    return path


@pytest.fixture
def jackal(closed_jackal_file):
    """Overrides conftest's: the Jackal with the blinded-lidar rule on."""
    from sim2real_runtime.robot import load_robot

    robot = load_robot(str(closed_jackal_file))
    assert not robot.lidar.allow_open_space
    return robot


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("nav_scan_safety_test")
    t.clock.t = 5000.0  # room for stamps 1000 s in the past
    yield t
    t.close()


def make_node(transport, **overrides):
    values = {"policy_path": str(POLICY), "blocked_timeout_s": 1e6, **CLOSED, **overrides}
    params, errors = params_from_mapping(values, "test")
    return NavPolicyNode(transport, params, errors)


def goal_msg(x, y):
    m = msgs.PoseStamped()
    m.header.frame_id = "odom"
    m.pose.position.x, m.pose.position.y = x, y
    set_yaw(m.pose.orientation, 0.0)
    return m


def scan_msg(jackal, t_s, ranges=None):
    r = np.full(N, 8.0, dtype=np.float32) if ranges is None else np.asarray(ranges, dtype=np.float32)
    return make_scan(msgs.LaserScan, r, t_s, jackal.lidar)


def odom_msg(t_s):
    return make_odom(msgs.Odometry, np.zeros(3), np.zeros(2), t_s)


def drive(node, jackal, clock, steps=12):
    for _ in range(steps):
        clock.t += 0.025
        node.on_odom(odom_msg(clock.t))
        node.on_scan(scan_msg(jackal, clock.t))


def driving_node(transport, jackal, **overrides):
    node = make_node(transport, **overrides)
    node.on_goal(goal_msg(50.0, 0.0))
    drive(node, jackal, transport.clock, 20)
    assert node.state == "driving" and node.last_cmd[0] > 0.3
    return node


def stopped(node, prefix):
    return np.array_equal(node.last_cmd, [0.0, 0.0]) and node.state.startswith(prefix)


# ----------------------------------------------------------------------- the cases


@pytest.mark.parametrize("fill", [math.nan, math.inf, -math.inf, 3e38, 31.0, 0.05])
def test_a_blinded_lidar_stops_the_robot(transport, jackal, fill):
    node = driving_node(transport, jackal)
    transport.clock.t += 0.025
    node.on_scan(scan_msg(jackal, transport.clock.t, np.full(N, fill)))
    assert stopped(node, "stopped: /scan invalid ("), node.state
    node.on_tick()  # the heartbeat keeps it at zero
    assert stopped(node, "stopped: /scan invalid (")
    drive(node, jackal, transport.clock, 5)  # a good scan again: it drives on
    assert node.state == "driving" and node.last_cmd[0] > 0.0


def test_the_shipped_jackal_drives_in_open_space(transport):
    """The shipped Jackal file sets allow_open_space: a scan with no return on any beam (+inf,
    nothing within 30 m) is open space, so the robot drives on; NaN beams are still refused."""
    from sim2real_runtime.robot import load_robot

    shipped = load_robot("jackal")
    assert shipped.lidar.allow_open_space
    node = driving_node(transport, shipped, robot="jackal")
    transport.clock.t += 0.025
    node.on_odom(odom_msg(transport.clock.t))
    node.on_scan(scan_msg(shipped, transport.clock.t, np.full(N, math.inf)))
    assert node.state == "driving" and node.last_cmd[0] > 0.0, node.state
    transport.clock.t += 0.025
    node.on_scan(scan_msg(shipped, transport.clock.t, np.full(N, math.nan)))
    assert stopped(node, "stopped: /scan invalid ("), node.state


@pytest.mark.parametrize("close", [0.05, -math.inf])
@pytest.mark.parametrize("rest", [math.nan, 8.0])
def test_close_beams_ahead_stop_forward_motion(transport, jackal, close, rest):
    """Beams straight ahead at 0.05 m (below range_min 0.1 m) or -inf, the rest NaN (too many
    invalid beams: refused) or 8 m (trusted: the guard reads the close beams as an obstacle at
    range_min, behind the front edge, and caps the forward speed at 0)."""
    node = driving_node(transport, jackal)
    ranges = np.full(N, rest)
    ranges[350:370] = close
    transport.clock.t += 0.025
    node.on_scan(scan_msg(jackal, transport.clock.t, ranges))
    if math.isnan(rest):
        assert stopped(node, "stopped: /scan invalid (700 of 720 beams NaN"), node.state
    else:
        assert node.state == "driving" and node.last_cmd[0] == 0.0
        node.on_tick()
        assert node.last_cmd[0] == 0.0


def test_a_few_invalid_beams_are_tolerated_one_more_is_not(transport, jackal):
    node = driving_node(transport, jackal)
    ranges = np.full(N, 8.0)
    ranges[::20] = math.nan  # 36 beams: 5 %
    transport.clock.t += 0.025
    node.on_scan(scan_msg(jackal, transport.clock.t, ranges))
    assert node.state == "driving" and node.last_cmd[0] > 0.0
    ranges[1] = 3e38
    transport.clock.t += 0.025
    node.on_scan(scan_msg(jackal, transport.clock.t, ranges))
    assert stopped(node, "stopped: /scan invalid (37 of 720 beams NaN or above range_max 30 m")


# ----------------------------------------------------------------------- stamps (defect 7)


def test_a_scan_stamped_1000_s_ago_is_stale(transport, jackal):
    node = driving_node(transport, jackal)
    node.on_scan(scan_msg(jackal, transport.clock.t - 1000.0))
    assert stopped(node, "stopped: /scan stale (stamped 1000.000 s before the node clock"), node.state
    drive(node, jackal, transport.clock, 3)
    assert node.state == "driving"


def test_a_scan_stamped_in_the_future_is_refused(transport, jackal):
    node = driving_node(transport, jackal)
    node.on_scan(scan_msg(jackal, transport.clock.t + 5.0))
    assert stopped(node, "stopped: /scan invalid (stamped 5.000 s ahead of the node clock"), node.state


def test_old_odometry_is_stale(transport, jackal):
    node = driving_node(transport, jackal)
    node.on_odom(odom_msg(transport.clock.t - 2.0))
    assert stopped(node, "stopped: /odom stale (stamped 2.000 s before"), node.state


def test_a_late_scan_goes_stale_sooner_by_its_lag(transport, jackal):
    """Lag 0.3 s: within 0.25 + 0.1, accepted but charged 0.2 s of its 0.25 s: stale after 0.05 s."""
    node = driving_node(transport, jackal)
    clock = transport.clock
    node.on_odom(odom_msg(clock.t))
    node.on_scan(scan_msg(jackal, clock.t - 0.3))
    assert node.state == "driving"
    clock.t += 0.04
    node.on_odom(odom_msg(clock.t))
    node.on_tick()
    assert node.state == "driving"
    clock.t += 0.02
    node.on_odom(odom_msg(clock.t))
    node.on_tick()
    assert stopped(node, "stopped: /scan stale"), node.state


def test_stamp_checks_off_and_unstamped_messages(transport, jackal):
    node = driving_node(transport, jackal, clock_offset_tolerance_s=math.inf)
    node.on_scan(scan_msg(jackal, transport.clock.t - 1000.0))
    assert node.state == "driving"
    node = driving_node(transport, jackal)
    node.on_odom(odom_msg(0.0))  # an unstamped message: arrival time only
    node.on_scan(scan_msg(jackal, 0.0))
    assert node.state == "driving"
    _, errors = params_from_mapping({"policy_path": "p", "clock_offset_tolerance_s": -1.0}, "t")
    assert [e.field for e in errors] == ["clock_offset_tolerance_s"]


def test_watchdog_stamp_rules_by_hand():
    w = Watchdog({"scan": 0.25}, clock_offset_tolerance_s=0.1)
    assert w.feed("scan", 10.0, stamp_s=99.7, clock_s=100.0) is None  # lag 0.3: fed, charged 0.2
    assert w.last_s["scan"] == pytest.approx(9.8)
    assert w.stale(10.04) == [] and w.stale(10.06) == ["scan"]
    assert "0.360 s before" in w.feed("scan", 11.0, stamp_s=99.64, clock_s=100.0)
    assert w.last_s["scan"] == pytest.approx(9.8)  # a refused message does not feed
    assert "0.200 s ahead" in w.feed("scan", 11.0, stamp_s=100.2, clock_s=100.0)
    assert w.feed("scan", 11.0, stamp_s=100.05, clock_s=100.0) is None  # ahead within tolerance
    assert w.last_s["scan"] == 11.0
    assert w.feed("scan", 12.0, stamp_s=0.0, clock_s=100.0) is None  # unstamped
    assert w.feed("scan", 13.0, stamp_s=5.0, clock_s=0.0) is None  # no clock yet (sim time)
    assert "not finite" in w.feed("scan", 14.0, stamp_s=math.nan, clock_s=100.0)
    off = Watchdog({"scan": 0.25})  # default: no stamp checks
    assert off.feed("scan", 1.0, stamp_s=1.0, clock_s=5000.0) is None
    with pytest.raises(ValueError):
        Watchdog({"scan": 0.25}, clock_offset_tolerance_s=-0.1)


# ----------------------------------------------------------------------- generated scans

VALUES = [math.nan, math.inf, -math.inf, 3e38, 31.0, 0.05, 0.0, -2.0, 0.1, 30.0, 2.0, 8.0]


def expected_fault(ranges: np.ndarray, lag_s: float, lidar) -> str | None:
    """The rules, written out independently of the runtime: the state prefix the node must show,
    or None for a scan it must drive on."""
    if len(ranges) != N:
        return "stopped: /scan invalid"
    r = ranges.astype(np.float32)
    invalid = int(np.sum(np.isnan(r) | (np.isfinite(r) & (r > 30.0))))
    if invalid > 0.05 * N:
        return "stopped: /scan invalid"
    if not np.any((r >= np.float32(0.1)) & (r <= 30.0)):
        return "stopped: /scan invalid"
    if lag_s < -TOL:
        return "stopped: /scan invalid (stamped"
    if lag_s > TIMEOUT + TOL:
        return "stopped: /scan stale (stamped"
    return None


@st.composite
def scans(draw):
    n = draw(st.sampled_from([N, N, N, N, N, 719, 721, 360, 0]))
    ranges = np.full(n, draw(st.sampled_from(VALUES)), dtype=np.float64)
    for _ in range(draw(st.integers(0, 4))):  # runs of one value (sectors)
        if n == 0:
            break
        start = draw(st.integers(0, n - 1))
        length = draw(st.integers(1, n))
        ranges[start : start + length] = draw(st.sampled_from(VALUES))
    for _ in range(draw(st.integers(0, 40))):  # single beams of any float32
        if n == 0:
            break
        ranges[draw(st.integers(0, n - 1))] = draw(st.floats(allow_nan=True, allow_infinity=True, width=32))
    lag = draw(
        st.one_of(
            st.just(0.0),
            st.sampled_from([1000.0, 0.36, 0.34, 0.2, -0.09, -0.11, -5.0]),
            st.floats(-2000.0, 2000.0),
        )
    )
    return ranges, lag


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scan=scans())
def test_generated_scans_never_drive_on_an_untrusted_scan(transport, jackal, scan):
    ranges, lag = scan
    clock = transport.clock
    node = getattr(transport, "_node", None)
    if node is None:
        node = transport._node = driving_node(transport, jackal)
    else:
        drive(node, jackal, clock, 4)  # back to driving on good scans
    assert node.state == "driving"
    clock.t += 0.025
    node.on_odom(odom_msg(clock.t))
    node.on_scan(scan_msg(jackal, clock.t - lag, ranges))
    node.on_tick()
    c = node.last_cmd
    assert np.all(np.isfinite(c)) and -2.0 <= c[0] <= 2.0 and -4.0 <= c[1] <= 4.0
    want = expected_fault(ranges, lag, jackal.lidar)
    if want is not None:
        assert np.array_equal(c, [0.0, 0.0]) and node.state.startswith(want), (want, node.state)
    else:
        assert node.state == "driving", node.state
        # A close reading (below range_min or -inf) in the beams ahead: no forward speed.
        ahead = np.abs(jackal.lidar.beam_angles_rad()) < math.radians(60)
        if np.any(ranges.astype(np.float32)[ahead] < np.float32(0.1)):
            assert c[0] <= 0.0
        # Never faster than the guard's cap for this scan.
        cap = CollisionGuard(jackal, 0.1).max_speed(ranges[None])[0]
        assert c[0] <= cap + 1e-9


# ----------------------------------------------------------------------- training conventions


def test_simulators_close_and_missing_returns_are_read_by_the_runtime(jackal):
    """What the training and evaluation simulators publish for a missing return (+inf) and for an
    obstacle closer than range_min (the raw distance) is read by the runtime's one implementation:
    the observation sees range_min ahead, the guard blocks, the scan is trusted; in open space the
    observation sees the clip and the guard nothing."""
    from sim2real.nav.config import NavTaskConfig
    from sim2real.nav.kinematic_sim import KinematicNavSim
    from sim2real.nav.mujoco_sim import MujocoNavSim
    from sim2real.nav.scenario import Scenario
    from sim2real_runtime.nav_terms import LidarSectors, close_mask, nav_specs, scan_fault

    cfg = NavTaskConfig()
    obs, _ = nav_specs(
        jackal, 10.0, cfg.num_sectors, cfg.range_clip_m, cfg.goal_clip_m, cfg.v_limits_mps, 2.5
    )
    lidar_term = LidarSectors(obs[0])
    guard = CollisionGuard(jackal, 0.1)
    mid = cfg.num_sectors // 2
    # A post whose face is 0.05 m ahead of the laser (x = 0.12 + 0.05 from base_link): inside
    # the footprint, as only a blocked window can be; one 0.4 m to the side keeps the scan trusted.
    post = Scenario(
        "close", (0.0, 0.0, 0.0), (20.0, 0.0), 1.0, 100.0, None,
        np.array([[0.12 + 0.05 + 0.1, 0.0, 0.1], [0.0, 3.0, 0.3]]),
    )  # fmt: skip
    empty = Scenario("open", (0.0, 0.0, 0.0), (20.0, 0.0), 1.0, 100.0, None, np.array([[80.0, 80.0, 0.5]]))
    for sim in (KinematicNavSim(jackal, 10.0), MujocoNavSim(jackal, control_rate_hz=10.0)):
        r = sim.reset(post, seed=0).ranges_m
        ahead = np.abs(jackal.lidar.beam_angles_rad()) < 0.05
        assert np.all(close_mask(r[ahead], jackal.lidar.range_min_m)), (type(sim).__name__, r[ahead])
        assert scan_fault(r, jackal.lidar) is None
        o = lidar_term({"scan_ranges": r[None]})[0]
        assert o[mid] == pytest.approx(jackal.lidar.range_min_m, abs=1e-6)
        assert guard.max_speed(r[None])[0] == 0.0
        r = sim.reset(empty, seed=0).ranges_m
        assert np.all(np.isposinf(r))  # no return: +inf, as Gazebo publishes
        assert np.all(lidar_term({"scan_ranges": r[None]})[0] == np.float32(cfg.range_clip_m))
        assert math.isinf(guard.max_speed(r[None])[0])
        assert scan_fault(r, jackal.lidar).startswith("no beam measures")


def test_training_env_reads_scans_with_the_runtime_conventions(jackal):
    """The env's observation, guard and reward clearance read a close reading as an obstacle at
    range_min (the reward's clearance goes negative: inside the footprint)."""
    from sim2real.nav.config import NavTaskConfig
    from sim2real.nav.env import NavEnv
    from sim2real.nav.kinematic_sim import WorldBank
    from sim2real.nav.worldgen import generate_training_world

    worlds = [generate_training_world(np.random.default_rng(0), 0.3)]
    env = NavEnv(NavTaskConfig(), jackal, WorldBank(worlds, jackal, 0.15), num_envs=2, seed=0)
    scan = np.full((2, N), np.inf, dtype=np.float32)
    scan[0, 355:365] = -np.inf
    clear = env._clearance(scan)
    assert clear[0] < 0.0 and clear[1] > 0.0
    assert env.guard.max_speed(scan)[0] == 0.0 and math.isinf(env.guard.max_speed(scan)[1])
    env._scan = scan
    obs = env._observe()["policy"].numpy()
    assert obs[0, 36] == pytest.approx(jackal.lidar.range_min_m, abs=1e-6)
    assert obs[1, 36] == pytest.approx(NavTaskConfig().range_clip_m)
