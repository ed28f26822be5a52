"""The arm runtime: kinematics against MuJoCo and the URDF, the terms, the safety layer, the
contract check."""

from __future__ import annotations

import dataclasses
import math

import mujoco
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim2real.manip.config import ASSETS, ManipTaskConfig
from sim2real.manip.env import panda_chain, task_specs
from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.errors import ContractMismatchError
from sim2real_runtime.kinematics import SerialChain
from sim2real_runtime.manip_control import ManipSafety, ManipSafetyConfig, check_manip_compatible
from sim2real_runtime.manip_terms import tcp_yaw, with_tcp, yaw_of_quat
from sim2real_runtime.terms import Observation

CHAIN = panda_chain()


def test_panda_chain_has_the_published_joint_names_and_limits() -> None:
    assert CHAIN.joint_names == tuple(f"panda_joint{i}" for i in range(1, 8))
    assert CHAIN.lower[3] == pytest.approx(-3.0718) and CHAIN.upper[5] == pytest.approx(3.7525)
    assert CHAIN.velocity_limits.tolist() == [2.175] * 4 + [2.61] * 3
    # the TCP: flange 0.107 + hand 0.1034 along the last axis, hand turned -45 deg
    assert CHAIN.tool_xyz_m == pytest.approx((0.0, 0.0, 0.2104))
    assert CHAIN.tool_rpy_rad[2] == pytest.approx(-math.pi / 4)


def test_ready_pose_tcp_is_where_the_panda_puts_it() -> None:
    # Franka's ready pose puts the flange at (0.307, 0, 0.590); the TCP is 0.1034 m below it.
    pos, rot = CHAIN.forward(np.array([[0, -math.pi / 4, 0, -3 * math.pi / 4, 0, math.pi / 2, math.pi / 4]]))
    assert pos[0] == pytest.approx([0.3069, 0.0, 0.5903 - 0.1034], abs=1e-3)
    assert rot[0, :, 2] == pytest.approx([0, 0, -1], abs=1e-9)  # pointing down


def test_fk_and_jacobian_match_mujoco_and_the_urdf() -> None:
    mj = mujoco.MjModel.from_xml_path(str(ASSETS / "pick_place.xml"))
    urdf = mujoco.MjModel.from_xml_path(str(ASSETS / "panda.urdf"))
    d, du = mujoco.MjData(mj), mujoco.MjData(urdf)
    q = np.random.default_rng(0).uniform(CHAIN.lower, CHAIN.upper, (16, 7))
    jac, pos, rot = CHAIN.jacobian(q)
    for i in range(len(q)):
        d.qpos[:7] = q[i]
        mujoco.mj_forward(mj, d)
        assert d.site("tcp").xpos == pytest.approx(pos[i], abs=1e-9)
        assert d.site("tcp").xmat.reshape(3, 3) == pytest.approx(rot[i], abs=1e-9)
        jp, jr = np.zeros((3, mj.nv)), np.zeros((3, mj.nv))
        mujoco.mj_jacSite(mj, d, jp, jr, mj.site("tcp").id)
        assert jac[i, :3] == pytest.approx(jp[:, :7], abs=1e-9)
        assert jac[i, 3:] == pytest.approx(jr[:, :7], abs=1e-9)
        du.qpos[:7] = q[i]
        mujoco.mj_kinematics(urdf, du)
        for link in ("panda_link3", "panda_link5", "panda_link7"):  # the URDF and the MJCF agree
            assert du.body(link).xpos == pytest.approx(d.body(link).xpos, abs=1e-9)


def test_chain_round_trips_through_the_contract_dict() -> None:
    again = SerialChain.from_dict(CHAIN.to_dict())
    q = np.random.default_rng(1).uniform(CHAIN.lower, CHAIN.upper, (4, 7))
    assert again.forward(q)[0] == pytest.approx(CHAIN.forward(q)[0])


def test_yaw_helpers() -> None:
    yaw = np.array([0.3, -2.0])
    q = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], axis=1)
    assert yaw_of_quat(q) == pytest.approx(yaw)
    _, rot = CHAIN.forward(np.array([[0, -math.pi / 4, 0, -3 * math.pi / 4, 0, math.pi / 2, math.pi / 4]]))
    assert tcp_yaw(rot)[0] == pytest.approx(0.0, abs=1e-9)  # ready pose: tool x along base x


def test_observation_terms_by_hand() -> None:
    obs_specs, _ = task_specs(ManipTaskConfig(), CHAIN)
    obs = Observation(obs_specs)
    q = np.array([[0, -math.pi / 4, 0, -3 * math.pi / 4, 0, math.pi / 2, math.pi / 4]])
    tcp = CHAIN.forward(q)[0][0]
    sig = {
        "joint_pos": q, "joint_vel": np.full((1, 7), 4.35), "gripper_width": np.array([[0.04]]),
        "object_pos": (tcp + np.array([0.02, 0.0, -0.2]))[None], "object_quat": np.array([[1.0, 0, 0, 0]]),
        "target_pos": np.array([[0.5, 0.1, 0.3]]), "prev_action": np.zeros((1, 8), np.float32),
    }  # fmt: skip
    o = obs(with_tcp(sig, CHAIN))[0]
    sl = obs.slices()
    lo, hi = CHAIN.lower, CHAIN.upper
    assert o[sl["joint_position"]] == pytest.approx(2 * (q[0] - lo) / (hi - lo) - 1, abs=1e-6)
    assert o[sl["joint_velocity"]] == pytest.approx([1.5] * 7)  # 2x the limit, clipped at 1.5
    assert o[sl["gripper_width"]] == pytest.approx([0.5])
    assert o[sl["object_minus_tcp"]] == pytest.approx([0.02, 0.0, -0.2], abs=1e-6)
    assert o[sl["object_minus_tcp_fine"]] == pytest.approx([0.02, 0.0, -0.05], abs=1e-6)  # clipped at 5 cm
    assert o[sl["object_yaw_error"]] == pytest.approx([0.0, 1.0], abs=1e-6)


SAFETY = ManipSafety(CHAIN, 25.0, ManipSafetyConfig())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=7, max_size=7),
    st.lists(st.floats(-1.0, 1.0), min_size=7, max_size=7),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=7, max_size=7),
)
def test_safety_targets_are_always_finite_and_inside_the_limits(delta, start, measured) -> None:
    """Whatever the deltas and measurements (NaN, inf, huge), the target stays finite, inside the
    joint limits with margin, within one velocity step of the previous target, and never moves
    the TCP further out of the workspace box."""
    prev = SAFETY.initial_target(
        ((np.array(start) + 1) / 2 * (CHAIN.upper - CHAIN.lower) + CHAIN.lower)[None]
    )
    new, _ = SAFETY.step(np.array(measured)[None], prev, np.array(delta)[None])
    assert np.all(np.isfinite(new))
    assert np.all(new >= SAFETY.lower - 1e-12) and np.all(new <= SAFETY.upper + 1e-12)
    assert np.all(np.abs(new - prev) <= SAFETY.max_step_rad + 1e-12)
    viol = SAFETY.box_violation_m(CHAIN.forward(new)[0])
    assert viol[0] <= SAFETY.box_violation_m(CHAIN.forward(prev)[0])[0] + 1e-9


def test_safety_numbers_by_hand() -> None:
    q = np.array([[0, -math.pi / 4, 0, -3 * math.pi / 4, 0, math.pi / 2, math.pi / 4]])
    # one step's budget: half the velocity limit over 40 ms
    new, held = SAFETY.step(q, q, np.full((1, 7), 10.0))
    assert (new - q)[0] == pytest.approx([2.175 * 0.5 / 25] * 4 + [2.61 * 0.5 / 25] * 3)
    assert not held[0]
    # a NaN measurement keeps the previous target
    new, _ = SAFETY.step(np.full((1, 7), np.nan), q, np.full((1, 7), 0.01))
    assert new == pytest.approx(q)
    # pushing the TCP into the table is refused: hold
    low = q.copy()
    for _ in range(60):  # shoulder and wrist forward: the TCP sweeps down toward the table
        low, held = SAFETY.step(low, low, np.array([[0, 1, 0, 0, 0, 1, 0]]) * 0.05)
        if held[0]:
            break
    assert held[0]
    assert SAFETY.box_violation_m(CHAIN.forward(low)[0])[0] == 0.0
    again, held = SAFETY.step(low, low, np.array([[0, 1, 0, 0, 0, 1, 0]]) * 0.05)
    assert held[0] and again == pytest.approx(low)
    # a measurement far from the target pulls the target toward it, within one step's budget
    new, _ = SAFETY.step(q + 1.0, q, np.zeros((1, 7)))
    assert (new - q)[0] == pytest.approx(SAFETY.max_step_rad)


def _contract(chain: SerialChain) -> PolicyContract:
    obs, act = task_specs(ManipTaskConfig(), chain)
    return PolicyContract("manip", {"kinematics": chain.to_dict()}, 25.0, tuple(obs), tuple(act),
                          joint_names=chain.joint_names)  # fmt: skip


def test_contract_refuses_another_arm_naming_the_field() -> None:
    contract = _contract(CHAIN)
    check_manip_compatible(contract, CHAIN, "p", 25.0)
    longer = dataclasses.replace(
        CHAIN,
        joints=(
            *CHAIN.joints[:4],
            dataclasses.replace(CHAIN.joints[4], origin_xyz_m=(-0.0825, 0.40, 0.0)),
            *CHAIN.joints[5:],
        ),
    )  # fmt: skip
    with pytest.raises(ContractMismatchError, match=r"joints\[4\].origin_xyz_m"):
        check_manip_compatible(contract, longer, "p")
    renamed = dataclasses.replace(
        CHAIN, joints=(dataclasses.replace(CHAIN.joints[0], name="j1"), *CHAIN.joints[1:])
    )
    with pytest.raises(ContractMismatchError, match="joint_names"):
        check_manip_compatible(contract, renamed, "p")
    narrower = dataclasses.replace(
        CHAIN, joints=(dataclasses.replace(CHAIN.joints[0], upper=1.0), *CHAIN.joints[1:])
    )
    with pytest.raises(ContractMismatchError, match="limits"):
        check_manip_compatible(contract, narrower, "p")
    with pytest.raises(ContractMismatchError, match="control_rate_hz"):
        check_manip_compatible(contract, CHAIN, "p", 50.0)
