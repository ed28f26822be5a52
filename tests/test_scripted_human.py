"""The scripted teleoperators: the arm's scripted human (reaction delay, hand noise, hesitation,
determinism, the TeleopSource protocol, success in closed loop through the teleop mapping) and
the nav operator."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim2real.human_factors import OUNoise, delay_steps
from sim2real.manip.config import ManipTaskConfig
from sim2real.manip.env import ManipEnv, max_delta_rad, panda_chain
from sim2real.manip.scripted_human import HumanConfig, ScriptedArmOperator, ScriptedHuman, mapped_actions
from sim2real_runtime.teleop import TeleopCommand, TeleopConfig, TeleopSource
from sim2real_runtime.teleop.mapping import ManipTeleop

RATE_HZ = 25.0
QUIET = HumanConfig(
    noise_std_mps=0.0, noise_std_radps=0.0, noise_speed_fraction=0.0, hesitation_rate_per_s=0.0
)


def _human(cfg: HumanConfig, seed: int = 0) -> ScriptedHuman:
    chain = panda_chain()
    return ScriptedHuman(chain, max_delta_rad(chain, ManipTaskConfig()), RATE_HZ, cfg, seed)


def _signals(target: tuple[float, float, float] = (0.5, 0.2, 0.2)) -> dict[str, np.ndarray]:
    """One arm at the ready pose, open gripper, a cube ahead and a target."""
    from sim2real.manip.config import READY_POSE_RAD

    return {
        "joint_pos": np.array([READY_POSE_RAD]),
        "joint_vel": np.zeros((1, 7)),
        "gripper_width": np.array([[0.08]]),
        "object_pos": np.array([[0.55, -0.1, 0.025]]),
        "object_quat": np.array([[1.0, 0.0, 0.0, 0.0]]),
        "target_pos": np.array([target]),
        "target_yaw": np.zeros((1, 1)),
    }


def test_delay_steps_is_the_configured_delay_at_the_rate() -> None:
    assert delay_steps(HumanConfig(reaction_delay_s=0.2), 25.0) == 5
    assert delay_steps(HumanConfig(reaction_delay_s=0.15), 20.0) == 3
    assert delay_steps(HumanConfig(reaction_delay_s=0.0), 25.0) == 0


@pytest.mark.parametrize("delay_s", [0.0, 0.16, 0.28])
def test_reaction_delay_measured_in_steps_equals_the_configured_one(delay_s: float) -> None:
    """The cube jumps at step 10: the command first changes exactly delay_steps later."""
    h = _human(replace(QUIET, reaction_delay_s=delay_s))
    h.reset(1)
    before, after = _signals(), _signals()
    after["object_pos"] = np.array([[0.45, 0.15, 0.025]])
    twists = [h.command(before if k < 10 else after)[0][0] for k in range(25)]
    steady = twists[-1]
    changed = [
        k for k in range(10, 25) if np.allclose(twists[k], steady) and not np.allclose(twists[k - 1], steady)
    ]
    assert changed == [10 + delay_steps(h.cfg, RATE_HZ)]
    # before the first reaction the operator has not acted: zero twist
    assert all(np.allclose(t, 0.0) for t in twists[: h.delay_steps])


def test_ou_noise_has_the_configured_std_and_correlation() -> None:
    dt, tau = 0.04, 0.3
    ou = OUNoise(np.array([0.05, 0.2]), tau, dt, np.random.default_rng(1))
    ou.reset(64)
    x = np.stack([ou.step().copy() for _ in range(4000)])  # [T, 64, 2]
    std = x.reshape(-1, 2).std(axis=0)
    assert std == pytest.approx([0.05, 0.2], rel=0.03)
    a = np.exp(-dt / tau)
    lag1 = np.mean(x[1:] * x[:-1], axis=(0, 1)) / np.mean(x * x, axis=(0, 1))
    assert lag1 == pytest.approx([a, a], abs=0.01)


def test_hand_noise_grows_with_the_commanded_speed() -> None:
    """No delay, no hesitation: command minus the quiet command is the noise; its std is the rest
    level plus noise_speed_fraction of the commanded speed."""
    cfg = HumanConfig(
        reaction_delay_s=0.0, hesitation_rate_per_s=0.0, noise_std_mps=0.005, noise_speed_fraction=0.2
    )
    noisy, quiet = (
        _human(cfg, seed=3),
        _human(replace(cfg, noise_std_mps=0.0, noise_std_radps=0.0, noise_speed_fraction=0.0)),
    )
    b = 400
    noisy.reset(b)
    quiet.reset(b)
    sig = {k: np.repeat(v, b, axis=0) for k, v in _signals().items()}
    diffs, speeds = [], []
    for _ in range(40):
        t_noisy, _ = noisy.command(sig)
        t_quiet, _ = quiet.command(sig)
        diffs.append(t_noisy[:, :3] - t_quiet[:, :3])
        speeds.append(np.linalg.norm(t_quiet[:, :3], axis=1))
    expected = 0.005 + 0.2 * float(np.mean(speeds))
    assert np.std(np.stack(diffs)) == pytest.approx(expected, rel=0.05)


def test_hesitation_zeroes_the_twist_and_holds_the_gripper() -> None:
    h = _human(replace(QUIET, reaction_delay_s=0.0, hesitation_rate_per_s=5.0, hesitation_s=(0.2, 0.2)))
    h.reset(1)
    sig = _signals()
    twists = np.stack([h.command(sig)[0][0] for _ in range(500)])
    paused = np.all(twists == 0.0, axis=1)
    # pauses of exactly 5 steps (0.2 s), each started with probability 5 / s * 0.04 s when not paused
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, paused.astype(int), 0])))[::2]
    assert len(runs) > 10 and set(runs.tolist()) <= {5, 10, 15}
    expected_share = 5 * (5.0 / RATE_HZ) / (1 + 5 * (5.0 / RATE_HZ))  # renewal: pause / (pause + wait)
    assert paused.mean() == pytest.approx(expected_share, abs=0.1)


def test_same_seed_same_commands_other_seed_other_commands() -> None:
    def run(seed: int) -> np.ndarray:
        h = _human(HumanConfig(hesitation_rate_per_s=1.0), seed)
        h.reset(3)
        sig = {k: np.repeat(v, 3, axis=0) for k, v in _signals().items()}
        return np.stack([h.command(sig)[0] for _ in range(30)])

    assert np.array_equal(run(7), run(7))
    assert not np.allclose(run(7), run(8))


def test_the_operator_is_a_teleop_source() -> None:
    chain = panda_chain()
    op = ScriptedArmOperator(chain, max_delta_rad(chain, ManipTaskConfig()), RATE_HZ, seed=0)
    assert isinstance(op, TeleopSource)
    assert op.command(0.0, {}) is None  # the node has no inputs yet
    op.reset()
    cmds = [op.command(0.04 * k, _signals()) for k in range(10)]
    assert all(isinstance(c, TeleopCommand) and c.engaged for c in cmds)
    assert cmds[-1].stamp_s == pytest.approx(0.36)
    assert np.linalg.norm(cmds[-1].twist[:3]) > 0.01  # moving toward the cube after the delay
    assert cmds[-1].gripper_closed is False
    op.close()


def _closed_loop(n: int, seed: int, cfg: HumanConfig | None = None) -> tuple[float, int]:
    t = ManipTaskConfig()
    env = ManipEnv(t, n, seed=seed, threads=1, auto_reset=False)
    md = max_delta_rad(env.chain, t)
    h = ScriptedHuman(env.chain, md, t.control_rate_hz, cfg, seed=seed)
    h.reset(n)  # no cube size given: the operator measures it with the fingers
    maps = [ManipTeleop(env.chain, md, t.control_rate_hz, TeleopConfig()) for _ in range(n)]
    env.observe()
    ok = np.zeros(n, bool)
    dropped = np.zeros(n, bool)
    for _ in range(env.max_steps):
        sig = env._last_signals
        twist, grip = h.command(sig)
        r = env.step(mapped_actions(maps, twist, grip, sig["joint_pos"]))
        dropped |= r.failed & ~ok
        ok |= r.success
    return float(ok.mean()), int(dropped.sum())


@pytest.mark.slow
def test_scripted_human_succeeds_in_most_episodes() -> None:
    """Through the teleop mapping, from the topics' data only, with delay, noise and hesitation:
    >= 80 % of 20 pick-and-place episodes (measured 0.9-1.0 over seeds 7 and 11, 40 each)."""
    success, dropped = _closed_loop(20, seed=5)
    assert success >= 0.8
    assert dropped == 0


# ------------------------------------------------------------------------------------------- nav
def _nav_episodes(seeds: range, difficulty: float, cfg=None) -> tuple[int, int]:
    import math

    from sim2real.nav.kinematic_sim import KinematicNavSim
    from sim2real.nav.scripted_operator import ScriptedNavOperator
    from sim2real.nav.worldgen import generate_world
    from sim2real_runtime.robot import load_robot

    robot, rate = load_robot("jackal"), 10.0
    sim = KinematicNavSim(robot, control_rate_hz=rate)
    ok = collided = 0
    for s in seeds:
        scenario = generate_world(100 + s, difficulty)
        op = ScriptedNavOperator(robot, rate, cfg, seed=s)
        f = sim.reset(scenario, s)
        goal = np.asarray(scenario.goal)
        while True:
            sig = {
                "scan_ranges": f.ranges_m[None],
                "pose": f.pose[None],
                "twist": f.twist[None],
                "goal_xy": goal[None],
            }
            c = op.command(f.time_s, sig)
            f = sim.step(float(c.twist[0]), float(c.twist[5]))
            if f.collided:
                collided += 1
                break
            if math.hypot(*(goal - f.pose[:2])) <= scenario.goal_tolerance_m:
                ok += 1
                break
            if f.time_s >= scenario.time_limit_s:
                break
    return ok, collided


def test_nav_operator_is_a_delayed_noisy_teleop_source() -> None:
    from sim2real.nav.scripted_operator import NavOperatorConfig, ScriptedNavOperator
    from sim2real_runtime.robot import load_robot

    robot = load_robot("jackal")
    cfg = NavOperatorConfig(
        noise_std_mps=0.0, noise_std_radps=0.0, noise_speed_fraction=0.0, hesitation_rate_per_s=0.0
    )
    op = ScriptedNavOperator(robot, 10.0, cfg)
    assert isinstance(op, TeleopSource) and op.command(0.0, {}) is None
    sig = {
        "scan_ranges": np.full((1, robot.lidar.num_beams), np.inf, dtype=np.float32),
        "pose": np.zeros((1, 3)),
        "twist": np.zeros((1, 2)),
        "goal_xy": np.array([[5.0, 0.0]]),
    }
    cmds = [op.command(0.1 * k, sig) for k in range(4)]
    assert all(np.allclose(c.twist, 0.0) for c in cmds[:2])  # 0.2 s at 10 Hz: two steps of nothing
    assert cmds[2].twist[0] > 0 and np.allclose(cmds[2].twist[1:5], 0.0)  # then forward, toward the goal


@pytest.mark.slow
def test_nav_operator_reaches_the_goal_on_easy_worlds() -> None:
    """Measured: 8 of 10 easy worlds (difficulty 0.2), 2 collisions, with delay, noise, hesitation."""
    ok, _ = _nav_episodes(range(4), 0.2)
    assert ok >= 3
