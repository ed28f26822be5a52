"""The runtime's DWA fallback: the policy's arc vetoed when DWA finds it inadmissible, DWA driving
while the robot is stuck, the policy back once the robot got away; inside NavController."""

from __future__ import annotations

import numpy as np

from sim2real_runtime.nav_control import NavController
from sim2real_runtime.nav_fallback import DwaFallback, FallbackConfig
from sim2real_runtime.policy import OnnxPolicy
from sim2real_runtime.robot import load_robot

JACKAL = load_robot("jackal")
RATE_HZ = 10.0


def _wall_ahead(x_m: float) -> np.ndarray:
    """Ranges [num_beams] of a wall across the path at x = x_m (base_link, m), +inf elsewhere."""
    lid = JACKAL.lidar
    a = lid.beam_angles_rad()
    with np.errstate(divide="ignore"):
        r = np.where(np.cos(a) > 0.05, (x_m - lid.mount_x_m) / np.cos(a), np.inf)
    return np.where(r <= lid.range_max_m, r, np.inf)


class _Policy:
    def __init__(self, cmd):
        self.cmd, self.calls = np.asarray(cmd, dtype=float), 0

    def __call__(self):
        self.calls += 1
        return self.cmd


def test_arc_into_a_wall_is_replaced_by_an_admissible_dwa_command():
    fb = DwaFallback(JACKAL, RATE_HZ)
    near = _wall_ahead(0.254 + 0.5)  # 0.5 m ahead of the front edge: 1 m/s for 1 s hits it
    assert not fb.admissible(np.array([1.0, 0.0]), near)
    assert fb.admissible(np.array([0.0, 0.0]), near)  # standing still never hits anything
    pose, twist, goal = np.zeros(3), np.zeros(2), np.array([5.0, 0.0])
    cmd = fb.step(_Policy([1.0, 0.0]), near, pose, twist, goal)
    assert fb.source == "arc" and fb.counts == {"policy": 0, "arc": 1, "takeover": 0}
    assert fb.admissible(cmd, near) and cmd[0] < 1.0
    far = _wall_ahead(0.254 + 3.0)  # 3 m ahead: 0.3 m/s for 1 s is fine, passed through as is
    cmd = fb.step(_Policy([0.3, 0.1]), far, pose, twist, goal)
    assert fb.source == "policy" and np.array_equal(cmd, [0.3, 0.1])


def test_stuck_robot_dwa_takes_over_until_it_got_away():
    cfg = FallbackConfig(stall_window_s=2.0, stall_radius_m=0.1, takeover_min_s=2.0, takeover_release_m=1.0)
    fb = DwaFallback(JACKAL, RATE_HZ, cfg)
    scan, twist, goal = _wall_ahead(6.0), np.zeros(2), np.array([5.0, 0.0])
    pol = _Policy([0.0, 0.0])  # a policy that stands still in front of nothing
    pose = np.zeros(3)
    for _ in range(20):  # 20 steps = 2.0 s at 10 Hz: the window is not full yet
        fb.step(pol, scan, pose, twist, goal)
        assert fb.source == "policy"
    fb.step(pol, scan, pose, twist, goal)  # 21 poses span 2.0 s without moving: stuck
    assert fb.source == "takeover" and pol.calls == 20
    for k in range(25):  # DWA drives; the policy is not asked, whatever the pose
        x = min(0.1 * k, 1.2)
        fb.step(pol, scan, np.array([x, 0.0, 0.0]), twist, goal)
        if fb.source == "policy":
            break
    # released at the first step with >= 2 s of take-over and >= 1 m away: k = 19 is the 20th
    # take-over step (2.0 s), x = 1.2 m
    assert fb.source == "policy" and k == 19 and pol.calls == 21
    fb.reset()
    assert fb.counts == {"policy": 0, "arc": 0, "takeover": 0}


def test_takeover_ends_after_its_time_limit_even_without_getting_away():
    cfg = FallbackConfig(stall_window_s=1.0, takeover_min_s=1.0, takeover_max_s=3.0)
    fb = DwaFallback(JACKAL, RATE_HZ, cfg)
    scan, pose, twist, goal = _wall_ahead(6.0), np.zeros(3), np.zeros(2), np.array([5.0, 0.0])
    pol = _Policy([0.0, 0.0])
    sources = []
    for _ in range(60):
        fb.step(pol, scan, pose, twist, goal)
        sources.append(fb.source)
    first = sources.index("takeover")
    assert first == 10  # 11 poses over 1 s
    # 30 take-over steps (3 s), then the policy for one step; stuck again at once (the trail restarts)
    assert sources[first : first + 30] == ["takeover"] * 30 and sources[first + 30] == "policy"


def test_nav_controller_with_fallback_commands_within_limits(random_policy):
    pol = OnnxPolicy(random_policy("nav"))
    ctrl = NavController(pol, JACKAL, fallback=True)
    plain = NavController(pol, JACKAL, fallback=False)  # the draft contract asks for it
    assert ctrl.fallback is not None and plain.fallback is None
    scan, twist = _wall_ahead(0.254 + 0.3), np.zeros(2)
    rng = np.random.default_rng(0)
    for _ in range(40):
        pose = np.array([0.0, 0.0, 0.0])
        cmd = ctrl.step(scan, pose, twist, np.array([5.0, rng.uniform(-1, 1)]))
        assert np.isfinite(cmd).all()
        assert JACKAL.min_linear_speed_mps - 1e-9 <= cmd[0] <= JACKAL.max_linear_speed_mps + 1e-9
        assert abs(cmd[1]) <= JACKAL.max_angular_speed_radps + 1e-9
        if ctrl.fallback.source == "policy":  # the policy's command reached the robot: admissible
            assert ctrl.fallback.admissible(cmd, scan)
    assert sum(ctrl.fallback.counts.values()) == 40
    ctrl.reset()
    assert sum(ctrl.fallback.counts.values()) == 0


def test_the_collision_guard_caps_the_fallbacks_commands_too(random_policy):
    """A close reading ahead (below range_min: -inf) allows no forward speed, whoever drives: the
    guard applies to DWA's commands as to the policy's (a generated-scan test found DWA's command
    passing the guard)."""
    pol = OnnxPolicy(random_policy("nav"))
    ctrl = NavController(pol, JACKAL, fallback=True)
    scan = np.full(JACKAL.lidar.num_beams, 8.0, dtype=np.float32)
    scan[np.abs(JACKAL.lidar.beam_angles_rad()) < 0.05] = -np.inf
    sources = set()
    for i in range(60):  # the robot does not move: after 2 s DWA takes over (stuck)
        cmd = ctrl.step(scan, np.zeros(3), np.zeros(2), np.array([5.0, 0.0]))
        sources.add(ctrl.fallback.source)
        assert cmd[0] <= 0.0, (i, ctrl.fallback.source, cmd)
    assert sources - {"policy"}, sources  # DWA drove at some point
