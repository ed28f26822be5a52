"""The LEAP hand as described (issue 15): the MJCF and URDF agree, the palm is up, the joint limits
and the driver's order and zero are LEAP_Hand_API's, the terms and the safety layer compute what
they say, and a policy trained on one joint order never drives a hand listed in the other."""

from __future__ import annotations

import dataclasses
import json
import math

import mujoco
import numpy as np
import pytest
from conftest import REPO

from sim2real.draft import build_draft
from sim2real.tasks import get_task
from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.errors import ConfigError, ContractMismatchError, Sim2RealError
from sim2real_runtime.hand_control import HandSafety, HandSafetyConfig, check_hand_compatible
from sim2real_runtime.hand_model import load_hand, with_joint_order
from sim2real_runtime.hand_terms import (
    JointOffsetAction,
    JointTargetError,
    OrientationError,
    orientation_error_rad,
)
from sim2real_runtime.terms import TermSpec

ASSETS = REPO / "sim_assets" / "leap_hand"
SIM_ORDER = ("if_mcp", "if_rot", "if_pip", "if_dip", "mf_mcp", "mf_rot", "mf_pip", "mf_dip",
             "rf_mcp", "rf_rot", "rf_pip", "rf_dip", "th_cmc", "th_axl", "th_mcp", "th_ipl")  # fmt: skip
# LEAP_Hand_API leap_hand_utils.LEAPsim_limits(): the driver's order (index, middle, ring: MCP side,
# MCP forward, PIP, DIP; thumb 12-15), in the simulation's zero.
LEAP_API_MIN = [-1.047, -0.314, -0.506, -0.366] * 3 + [-0.349, -0.47, -1.20, -1.34]
LEAP_API_MAX = [1.047, 2.23, 1.885, 2.042] * 3 + [2.094, 2.443, 1.90, 1.88]


@pytest.fixture(scope="module")
def hand():
    return load_hand(ASSETS / "hand.yaml")


@pytest.fixture(scope="module")
def contract():
    task = get_task("hand", "rotate_z")
    return build_draft(task, task.default_config())


def test_joint_names_and_order_are_the_simulation_models(hand):
    assert hand.joint_names == SIM_ORDER
    m = mujoco.MjModel.from_xml_path(str(ASSETS / "leap_hand.xml"))
    assert tuple(m.joint(i).name for i in range(16)) == SIM_ORDER
    assert tuple(m.actuator(i).name for i in range(16)) == tuple(f"{n}_act" for n in SIM_ORDER)


def test_limits_in_the_drivers_order_are_leap_hand_apis(hand):
    """The limits, put in the driver's order, are LEAP_Hand_API's LEAPsim_limits() entry by entry."""
    np.testing.assert_allclose(hand.lower[hand.hardware_index], LEAP_API_MIN)
    np.testing.assert_allclose(hand.upper[hand.hardware_index], LEAP_API_MAX)


def test_driver_mapping_swaps_mcp_side_and_forward_and_adds_pi(hand):
    q = np.arange(16) * 0.01  # distinct values: any permutation shows
    hw = hand.to_hardware(q)
    # motor 0 (index MCP side) = if_rot, motor 1 (index MCP forward) = if_mcp; thumb unpermuted
    expect = np.array([1, 0, 2, 3, 5, 4, 6, 7, 9, 8, 10, 11, 12, 13, 14, 15]) * 0.01 + math.pi
    np.testing.assert_allclose(hw, expect)
    np.testing.assert_allclose(hand.from_hardware(hw), q)
    # the driver's open hand (LEAP_Hand_API: 180 degrees on every motor) is the simulation's zero
    np.testing.assert_allclose(hand.from_hardware(np.full(16, math.pi)), 0.0, atol=1e-12)


def test_mjcf_and_urdf_fingertips_agree(hand):
    m = mujoco.MjModel.from_xml_path(str(ASSETS / "leap_hand.xml"))
    d = mujoco.MjData(m)
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = rng.uniform(hand.lower, hand.upper)
        d.qpos[:16] = q
        mujoco.mj_kinematics(m, d)
        rot, pos = d.body("palm").xmat.reshape(3, 3), d.body("palm").xpos
        mj = np.array([rot.T @ (d.site(s).xpos - pos) for s in ("if_tip", "mf_tip", "rf_tip", "th_tip")])
        np.testing.assert_allclose(hand.fingertips(q)[0], mj, atol=1e-5)  # 6-digit files


def test_urdf_loads_in_mujoco_with_the_same_joints_and_limits(hand):
    """check_urdf is not installed here; MuJoCo's URDF parser reads it instead."""
    m = mujoco.MjModel.from_xml_path(str(ASSETS / "leap_hand.urdf"))
    names = [m.joint(i).name for i in range(m.njnt)]
    assert sorted(names) == sorted(SIM_ORDER)
    for i, n in enumerate(names):
        k = SIM_ORDER.index(n)
        np.testing.assert_allclose(m.jnt_range[i], [hand.lower[k], hand.upper[k]], atol=1e-9)


def test_the_palm_is_up_and_the_cube_rests_on_it():
    m = mujoco.MjModel.from_xml_path(str(ASSETS / "leap_hand.xml"))
    d = mujoco.MjData(m)
    home = [0.8, 0.0, 0.6, 0.4] * 3 + [1.4, 0.6, 0.2, 0.4]
    d.qpos[:16] = d.ctrl[:] = home
    mujoco.mj_forward(m, d)
    normal = d.body("palm").xmat.reshape(3, 3) @ [0.0, 0.0, -1.0]
    np.testing.assert_allclose(normal, [0.0, 0.0, 1.0], atol=1e-9)
    for _ in range(200):  # 2 s
        mujoco.mj_step(m, d)
    half = m.geom_size[m.geom("cube").id, 0]
    rest = d.site("palm_center").xpos + half * normal
    assert np.linalg.norm(d.body("cube").xpos - rest) < 0.02
    # from the open hand, closing a finger moves its tip along the palm normal (up)
    d.qpos[:16] = 0.0
    mujoco.mj_kinematics(m, d)
    z0 = d.site("if_tip").xpos[2]
    d.qpos[0] = 0.5
    mujoco.mj_kinematics(m, d)
    assert d.site("if_tip").xpos[2] > z0 + 0.01


# --------------------------------------------------------------------------- one order, never the other


def test_a_sim_order_policy_never_drives_a_hand_listed_in_the_drivers_order(hand, contract):
    hw_order = with_joint_order(hand, hand.hardware_joint_order)
    assert hw_order.joint_names[:2] == ("if_rot", "if_mcp")
    check_hand_compatible(contract, hand, "p")  # the hand it was trained for
    with pytest.raises(ContractMismatchError) as err:
        check_hand_compatible(contract, hw_order, "p")
    assert err.value.field == "joint_names"


def test_a_contract_with_another_driver_mapping_is_refused(hand, contract):
    d = json.loads(contract.to_json())
    d["robot"]["hardware"]["joint_order"] = list(SIM_ORDER)  # a driver without the swap
    other = PolicyContract.from_dict(d, "p")
    with pytest.raises(ContractMismatchError) as err:
        check_hand_compatible(other, hand, "p")
    assert err.value.field == "robot.hardware.joint_order"
    d = json.loads(contract.to_json())
    d["robot"]["hardware"]["zero_offset_rad"] = 0.0  # a driver in the simulation's zero
    with pytest.raises(ContractMismatchError) as err:
        check_hand_compatible(PolicyContract.from_dict(d, "p"), hand, "p")
    assert err.value.field == "robot.hardware.zero_offset_rad"


def test_a_policy_for_another_hand_is_refused(hand, contract):
    narrower = dataclasses.replace(hand.fingers[0], joints=tuple(
        dataclasses.replace(j, upper=j.upper - 0.2) for j in hand.fingers[0].joints))  # fmt: skip
    smaller = dataclasses.replace(hand, fingers=(narrower, *hand.fingers[1:]))
    with pytest.raises(ContractMismatchError) as err:
        check_hand_compatible(contract, smaller, "p")
    assert err.value.field == "robot.joints.upper"
    d = json.loads(contract.to_json())
    d["domain"] = "manip"
    with pytest.raises((ConfigError, ContractMismatchError)):
        check_hand_compatible(PolicyContract.from_dict(d, "p"), hand, "p")


def test_strict_loading_names_the_hand_fields(contract):
    d = json.loads(contract.to_json())
    for path, value, field in (
        (("robot", "hardware", "joint_order"), list(SIM_ORDER[:15]), "robot.hardware.joint_order"),
        (("robot", "joints", "lower"), [3.0] * 16, "robot.joints.lower[0]"),  # above upper
        (("robot", "joints", "upper"), [2.5] * 16, "observation.terms[0].params.upper[0]"),  # stored twice
        (("robot", "safety", "max_speed_radps"), 5.0, "action.terms[0].params.max_delta_rad"),
        (("control_rate_hz",), 40.0, "action.terms[0].params.max_delta_rad"),  # 0.2 rad is 4 rad/s at 20 Hz
        (("robot", "task", "name"), "", "robot.task.name"),
    ):
        bad = json.loads(json.dumps(d))
        box = bad
        for k in path[:-1]:
            box = box[k]
        box[path[-1]] = value
        with pytest.raises(ConfigError) as err:
            PolicyContract.from_dict(bad, "p")
        assert err.value.field == field, (path, err.value)
    bad = json.loads(json.dumps(d))
    del bad["robot"]["hardware"]
    with pytest.raises(ConfigError, match=r"robot\.hardware"):
        PolicyContract.from_dict(bad, "p")


# --------------------------------------------------------------------------- terms and safety


def test_orientation_terms_hand_computed():
    spec = TermSpec("e", OrientationError.kind, 3, "1", "", {})
    quarter_z = np.array([[math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)]])
    ident = np.array([[1.0, 0.0, 0.0, 0.0]])
    out = OrientationError(spec)({"object_quat": ident, "goal_quat": quarter_z})
    np.testing.assert_allclose(out, [[0.0, 0.0, 0.5]], atol=1e-7)  # 90 deg about z, over pi
    out = OrientationError(spec)({"object_quat": quarter_z, "goal_quat": ident})
    np.testing.assert_allclose(out, [[0.0, 0.0, -0.5]], atol=1e-7)
    assert orientation_error_rad(ident, quarter_z)[0] == pytest.approx(math.pi / 2)
    assert orientation_error_rad(ident, -ident)[0] == pytest.approx(0.0, abs=1e-6)  # q and -q
    e = JointTargetError(TermSpec("t", JointTargetError.kind, 2, "1", "", {"scale_rad": 0.5}))
    out = e({"joint_target": np.array([[0.2, 1.0]]), "joint_pos": np.array([[0.1, 0.0]])})
    np.testing.assert_allclose(out, [[0.2, 1.5]])  # 0.1 / 0.5; 1.0 / 0.5 clipped at 1.5


def test_safety_keeps_every_target_in_limits_step_and_lead(hand):
    cfg = HandSafetyConfig(joint_margin_rad=0.02, max_speed_radps=4.0, max_lead_rad=0.6)
    s = HandSafety(hand.lower, hand.upper, cfg, control_rate_hz=20.0)  # 0.2 rad per step
    rng = np.random.default_rng(1)
    q = rng.uniform(hand.lower, hand.upper, (64, 16))
    target = s.initial_target(q)
    for _ in range(50):
        q_meas = q + rng.normal(0, 0.3, q.shape)
        q_meas[rng.random(q.shape) < 0.02] = np.nan
        delta = rng.normal(0, 2.0, q.shape)
        delta[rng.random(q.shape) < 0.05] = np.inf
        new = s.step(q_meas, target, delta)
        assert np.all(np.isfinite(new))
        assert np.all(new >= hand.lower + 0.02 - 1e-12) and np.all(new <= hand.upper - 0.02 + 1e-12)
        assert np.all(np.abs(new - target) <= 0.2 + 1e-12)
        ok = np.all(np.isfinite(q_meas), axis=1)
        np.testing.assert_array_equal(new[~ok], target[~ok])  # a NaN measurement: hold
        lead = np.abs(new - q_meas)[ok]
        was = np.abs(target - q_meas)[ok]
        # inside the lead, or (pulled towards the measurement at most max_delta per step) closer than before
        assert np.all((lead <= 0.6 + 1e-9) | (lead <= was + 1e-9))
        target = new


def test_offset_action_hand_computed():
    spec = TermSpec("a", JointOffsetAction.kind, 2, "rad", "", {"home_rad": [0.5, -0.2], "scale_rad": 0.6})
    term = JointOffsetAction(spec)
    a = np.array([[1.0, -0.5], [np.nan, 3.0]])
    np.testing.assert_allclose(term.requested(a), [[1.1, -0.5], [0.5, 0.4]])  # NaN: home; 3 clipped to 1
    target = np.array([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(term.target_change(a, target), [[0.1, -0.5], [0.0, -0.1]])
    # the inverse (a scripted expert's label), clipped to what the offset reaches
    np.testing.assert_allclose(term.action_towards(np.array([[0.8, 1.0]]), target[:1]), [[0.5, 1.0]])


def test_an_offset_policy_reaches_its_targets_through_the_safety_layer(hand, random_policy):
    """rotate_z_rl's action is the target itself (home + offset); the controller still moves the
    targets at most 0.2 rad per step towards it, and lands on it once it is near."""
    from sim2real_runtime.hand_control import HandController
    from sim2real_runtime.policy import OnnxPolicy

    policy = OnnxPolicy(random_policy("hand", "rotate_z_rl"))
    spec = policy.contract.action[0]
    assert spec.kind == JointOffsetAction.kind and spec.params["scale_rad"] == pytest.approx(0.6)
    ctl = HandController(policy, hand)
    term = JointOffsetAction(spec)
    q = np.clip(np.asarray(spec.params["home_rad"]) + 0.5, hand.lower, hand.upper)  # away from home
    prev = None
    for _ in range(30):
        target = ctl.step({"joint_pos": q[None].copy()})
        want = term.requested(ctl.prev_action)[0]  # the action just taken (clipped)
        if prev is not None:
            step = np.clip(want, prev - 0.2, prev + 0.2)  # perfect tracking: the lead stays < 0.6
            np.testing.assert_allclose(target, np.clip(step, hand.lower + 0.02, hand.upper - 0.02), atol=1e-9)
        prev, q = target, target.copy()
    assert np.max(np.abs(target - np.clip(want, hand.lower + 0.02, hand.upper - 0.02))) < 0.2


def test_strict_loading_checks_the_offset_action(hand):
    task = get_task("hand", "rotate_z_rl")
    d = json.loads(build_draft(task, task.default_config()).to_json())
    PolicyContract.from_dict(d, "p")
    for key, value, field in (
        ("home_rad", [5.0] + [0.0] * 15, "action.terms[0].params.home_rad[0]"),  # outside if_mcp's limits
        ("scale_rad", 0.0, "action.terms[0].params.scale_rad"),
        ("joint_names", list(SIM_ORDER[::-1]), "action.terms[0].params.joint_names"),
    ):
        bad = json.loads(json.dumps(d))
        bad["action"]["terms"][0]["params"][key] = value
        with pytest.raises(ConfigError) as err:
            PolicyContract.from_dict(bad, "p")
        assert err.value.field == field, (key, err.value)


def test_the_committed_files_are_the_generators_output(tmp_path):
    """leap_hand.xml and leap_hand.urdf come from one table (generate.py) and cannot drift apart."""
    import subprocess
    import sys

    subprocess.run([sys.executable, str(ASSETS / "generate.py"), "--out", str(tmp_path)], check=True)
    for name in ("leap_hand.xml", "leap_hand.urdf"):
        assert (tmp_path / name).read_text() == (ASSETS / name).read_text(), name


def test_evaluation_summary_hand_computed():
    """A full turn counts as rotate_z's success only if it is positive and the cube stayed on."""
    from sim2real.hand.evaluate import summarize

    rows = [
        {"turn_rad": 7.0, "dropped": False, "goals": 0, "duration_s": 20.0},  # success
        {"turn_rad": 7.0, "dropped": True, "goals": 0, "duration_s": 12.5},  # turned, then dropped
        {"turn_rad": -7.0, "dropped": False, "goals": 0, "duration_s": 20.0},  # the wrong way
        {"turn_rad": 1.0, "dropped": False, "goals": 0, "duration_s": 20.0},
    ]
    s = summarize(rows, episode_time_s=20.0)
    assert s["full_turn_rate"] == 0.75 and s["full_turn_ccw_rate"] == 0.5
    assert s["full_turn_kept_rate"] == 0.25 and s["drop_rate"] == 0.25
    assert s["mean_turn_rad"] == pytest.approx(2.0) and s["mean_angvel_radps"] == pytest.approx(0.1)
    assert s["median_turn_rad"] == pytest.approx(4.0)
    assert s["median_drop_time_s"] == 12.5  # the one drop's time, not the kept episodes'
    assert math.isnan(summarize(rows[2:], episode_time_s=20.0)["median_drop_time_s"])


def test_evaluation_summary_counts_reorient_goals():
    """reorient's success rate is the share of episodes with at least one goal; goals in a row
    are averaged over every episode, those with none included."""
    from sim2real.hand.evaluate import summarize

    rows = [
        {"turn_rad": 0.0, "dropped": True, "goals": 3, "duration_s": 9.0},
        {"turn_rad": 0.0, "dropped": False, "goals": 0, "duration_s": 20.0},
        {"turn_rad": 0.0, "dropped": False, "goals": 1, "duration_s": 20.0},
        {"turn_rad": 0.0, "dropped": True, "goals": 0, "duration_s": 2.0},
    ]
    s = summarize(rows, episode_time_s=20.0)
    assert s["goal_episode_rate"] == 0.5 and s["max_goals_per_episode"] == 3
    assert s["mean_goals_per_episode"] == 1.0


def test_ppo_hand_tasks_draw_their_training_curve(tmp_path):
    """PPO hand tasks name a plot the trainer can call with its history; DAgger's (another log) none."""
    import importlib

    assert get_task("hand", "rotate_z").plot_training is None
    mod, fn = get_task("hand", "rotate_z_rl").plot_training.split(":")
    history = [{"iteration": i, "angvel_radps": 0.01 * i, "drop_rate": 0.1} for i in range(30)]
    out = getattr(importlib.import_module(mod), fn)(tmp_path / "curve.png", history, 4096)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_drop_penalty_ramps_linearly_between_its_steps():
    """The drop curriculum: -5 until step 100 per world, -25 from step 300, linear in between;
    without ``reward_drop_final`` the penalty never moves."""
    from sim2real.hand.config import HandTaskConfig
    from sim2real.hand.env import HandVecEnv

    cfg = HandTaskConfig(
        action="offset", reward_drop=-5.0, reward_drop_final=-25.0, drop_ramp_steps=(100, 300)
    )
    env = HandVecEnv(cfg, 2, seed=0, threads=1)
    for steps, expected in (
        (0, -5.0),
        (100, -5.0),
        (150, -10.0),
        (200, -15.0),
        (300, -25.0),
        (10_000, -25.0),
    ):
        env.control_steps = steps
        assert env.drop_penalty() == pytest.approx(expected), steps
    env.step(np.zeros((2, 16), dtype=np.float32))
    assert env.control_steps == 10_001  # every step of the environment counts once, not per world
    env.cfg = dataclasses.replace(cfg, reward_drop_final=None)
    assert env.drop_penalty() == -5.0


def test_the_orientation_progress_reward_is_the_error_removed_hand_computed():
    """reorient's progress term: reward = k x (error before - error after) per step, against the
    goal the step started with; a reached goal's replacement starts from its own error."""
    from sim2real.hand.config import HandTaskConfig
    from sim2real.hand.env import HandVecEnv
    from sim2real_runtime.hand_terms import quat_error_vector

    cfg = HandTaskConfig(
        task="reorient",
        action="offset",
        reward_orientation=0.0,
        reward_success=0.0,
        reward_action_rate=0.0,
        reward_drop=0.0,
        reward_orientation_progress=2.0,
    )
    env = HandVecEnv(cfg, 3, seed=0, threads=1)

    def error(goal: np.ndarray) -> np.ndarray:
        return np.linalg.norm(quat_error_vector(env.worlds.cube_quat, goal), axis=1)

    np.testing.assert_allclose(env.goal_error, error(env.goal))  # fresh goals: their own error
    env.goal[1] = env.worlds.cube_quat[1]  # world 1 sits at its goal: reached this step
    env.goal_error[1] = 1.0  # ... and had 1 rad left before it
    before, goal = env.goal_error.copy(), env.goal.copy()
    _, reward, done, extras = env.step(np.zeros((3, 16), dtype=np.float32))
    assert not done.any()
    expected = 2.0 * (before - error(goal))
    np.testing.assert_allclose(reward.numpy(), expected, atol=1e-5)
    assert reward[1] == pytest.approx(2.0, abs=0.05) and extras["goals"][1]
    assert not np.allclose(env.goal[1], goal[1])  # a new goal ...
    np.testing.assert_allclose(env.goal_error, error(env.goal))  # ... counted from its own error


def test_the_goal_curriculum_draws_goals_within_its_ramped_angle():
    """reorient's goal curriculum: new goals lie between the success tolerance and the ramped
    maximum from the cube (0.6 rad at first, 1.0 rad halfway through a 0.6 -> 1.4 ramp); at pi
    the goals are uniformly random orientations again (errors well beyond any small maximum)."""
    from sim2real.hand.config import HandTaskConfig
    from sim2real.hand.env import HandVecEnv
    from sim2real_runtime.hand_terms import orientation_error_rad

    cfg = HandTaskConfig(
        task="reorient", action="offset", goal_max_angle_rad=(0.6, 1.4), goal_ramp_steps=(100, 300)
    )
    env = HandVecEnv(cfg, 256, seed=0, threads=1)
    idx = np.arange(256)

    def errors() -> np.ndarray:
        return orientation_error_rad(env.worlds.cube_quat, env.goal)

    e = errors()  # drawn at reset, step 0: maximum 0.6 rad
    assert e.min() >= cfg.success_tolerance_rad - 1e-9 and e.max() <= 0.6 + 1e-9
    assert e.max() > 0.58 and e.min() < 0.42  # the whole interval is used
    np.testing.assert_allclose(env.goal_error, e)  # progress counts from the drawn error
    for steps, expected in ((0, 0.6), (100, 0.6), (200, 1.0), (300, 1.4), (10_000, 1.4)):
        env.control_steps = steps
        assert env.goal_max_angle() == pytest.approx(expected), steps
    env.control_steps = 200
    env._new_goals(idx)
    e = errors()
    assert e.min() >= 0.4 - 1e-9 and e.max() <= 1.0 + 1e-9 and e.max() > 0.95
    env.cfg = dataclasses.replace(cfg, goal_max_angle_rad=(0.6, 4.0))
    env.control_steps = 10_000
    assert env.goal_max_angle() == pytest.approx(np.pi)  # capped: uniformly random goals
    env._new_goals(idx)
    assert np.median(errors()) > 1.5  # a uniform goal is typically ~2.3 rad away
    env.cfg = dataclasses.replace(cfg, goal_max_angle_rad=None)
    assert env.goal_max_angle() == np.pi


def test_the_goal_curriculum_survives_the_config_round_trip():
    """The curriculum fields come back from a run's JSON config as tuples of the right values."""
    from sim2real.hand.config import HandTaskConfig, HandTrainConfig
    from sim2real.rl import config_from_dict, config_to_dict

    cfg = HandTrainConfig(
        task=HandTaskConfig(task="reorient", goal_max_angle_rad=(0.6, 3.2), goal_ramp_steps=(0, 9))
    )
    back = config_from_dict(HandTrainConfig, json.loads(json.dumps(config_to_dict(cfg))))
    assert back.task.goal_max_angle_rad == (0.6, 3.2) and back.task.goal_ramp_steps == (0, 9)
    assert back == cfg


@pytest.mark.parametrize("angle", [0.0, -1.0, float("nan")])
def test_evaluation_refuses_a_goal_angle_that_is_not_positive(angle):
    from sim2real.hand.evaluate import evaluate_policy

    with pytest.raises(Sim2RealError, match="--goal-max-angle-rad"):
        evaluate_policy(REPO / "policies" / "hand_rotate_z_cube", goal_max_angle_rad=angle)


@pytest.mark.parametrize("name", ["hand_reorient_progress.json", "hand_reorient_goal_curriculum.json"])
def test_the_committed_reorient_configs_load_as_reorient_training_configs(name):
    """RESULTS quotes commands with these files; they must still load (unknown fields fail)."""
    from sim2real.hand.config import HandTrainConfig
    from sim2real.rl import config_from_dict

    cfg = config_from_dict(HandTrainConfig, json.loads((REPO / "benchmarks" / "configs" / name).read_text()))
    assert cfg.task.task == "reorient" and cfg.task.reward_orientation_progress == 1.0
    assert get_task("hand", "reorient").accepts_config(cfg)
