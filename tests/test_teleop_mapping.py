"""Each domain's teleop mapping against hand-computed numbers: nav's twist <-> action inverse,
the arm's damped least squares on a two-link arm whose Jacobian is written by hand (and on the
Panda against the pseudo-inverse), the joint-delta budget, the gripper, the quadrotor's nudge; and
that every registered domain says whether it has teleop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import REPO

from sim2real_runtime.domains import all_domains, get_domain
from sim2real_runtime.kinematics import ChainJoint, SerialChain
from sim2real_runtime.nav_terms import DiffDriveTwistAction
from sim2real_runtime.teleop import TeleopCommand, TeleopConfig
from sim2real_runtime.teleop.mapping import ManipTeleop, NavTeleop, QuadTeleop, dls_joint_velocity
from sim2real_runtime.terms import TermSpec


def twist_cmd(*v, **kw) -> TeleopCommand:
    return TeleopCommand(True, np.array(v, dtype=np.float64), **kw)


# ----------------------------------------------------------------------------- nav


@pytest.fixture
def nav_term():
    spec = TermSpec("cmd_vel", "diff_drive_twist", 2, "m/s, rad/s", "/cmd_vel",
                    {"low": [-0.2, -1.0], "high": [1.0, 1.0], "accel": [1.0, 2.0], "dt_s": 0.1})  # fmt: skip
    return DiffDriveTwistAction(spec)


def test_nav_twist_maps_to_the_action_whose_target_it_is(nav_term):
    m = NavTeleop(nav_term, TeleopConfig())
    assert m.twist_scale.tolist() == [1.0, 0, 0, 0, 0, 1.0]  # the action's forward speed and turn rate
    # v: offset 0.4, scale 0.6 -> a = (0.5 - 0.4) / 0.6; w: offset 0, scale 1 -> a = 0.5
    a = m.to_action(twist_cmd(0.5, 0, 0, 0, 0, 0.5), {})
    assert a.dtype == np.float32 and a.tolist() == pytest.approx([1 / 6, 0.5], abs=1e-7)
    assert nav_term.target(a[None])[0] == pytest.approx([0.5, 0.5], abs=1e-6)
    # zero twist: a = -offset / scale, which the term maps back to 0
    a0 = m.to_action(twist_cmd(0, 0, 0, 0, 0, 0), {})
    assert a0.tolist() == pytest.approx([-2 / 3, 0.0]) and nav_term.target(a0[None])[0] == pytest.approx(
        [0, 0], abs=1e-6
    )
    # beyond the limits: clipped to [low, high] (-0.2 m/s reverse, 1 rad/s)
    a = m.to_action(twist_cmd(-3.0, 0, 0, 0, 0, -4.0), {})
    assert a.tolist() == pytest.approx([-1.0, -1.0])
    assert nav_term.target(a[None])[0] == pytest.approx([-0.2, -1.0])
    # vy, vz, roll, pitch are not a diff-drive's
    assert m.to_action(twist_cmd(0.5, 9, 9, 9, 9, 0.5), {}).tolist() == pytest.approx([1 / 6, 0.5], abs=1e-7)
    # a configured scale
    assert NavTeleop(nav_term, TeleopConfig(0.3, 0.4)).twist_scale.tolist() == [0.3, 0, 0, 0, 0, 0.4]


# ----------------------------------------------------------------------------- manip


def planar_arm() -> SerialChain:
    """Two revolute joints about z, links 1.0 m and 0.5 m along x (tool at the second link's end)."""

    def j(name: str, x: float) -> ChainJoint:
        return ChainJoint(name, (x, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0), -3.0, 3.0, 2.0, 10.0)

    return SerialChain("base", "tool", (j("j1", 0.0), j("j2", 1.0)), (0.5, 0.0, 0.0), (0.0, 0.0, 0.0))


def test_dls_on_a_two_link_arm_by_hand():
    chain = planar_arm()
    q = np.array([0.0, math.pi / 2])
    # By hand at q = (0, pi/2): the tool is at (1, 0.5, 0); column 1 = z x (1, 0.5, 0) = (-0.5, 1, 0),
    # column 2 = z x (0, 0.5, 0) = (-0.5, 0, 0); both angular columns (0, 0, 1).
    jac = chain.jacobian(q[None])[0][0]
    assert jac == pytest.approx(np.array([[-0.5, -0.5], [1, 0], [0, 0], [0, 0], [0, 0], [1, 1]]), abs=1e-12)
    # qd = (0.1, -0.2) rad/s gives v = (0.05, 0.1, 0) m/s and w_z = -0.1 rad/s; DLS gives qd back
    # (up to O(lambda^2)); over one period at 10 Hz that is a step of (0.01, -0.02) rad.
    v = np.array([0.05, 0.1, 0.0, 0.0, 0.0, -0.1])
    assert dls_joint_velocity(jac, v, 0.0) == pytest.approx([0.1, -0.2], abs=1e-12)
    assert dls_joint_velocity(jac, v, 0.02) == pytest.approx([0.1, -0.2], abs=2e-3)
    m = ManipTeleop(chain, np.array([0.1, 0.1]), 10.0, TeleopConfig(), damping=0.02)
    assert m.joint_delta(q, v) == pytest.approx([0.01, -0.02], abs=2e-4)
    a = m.to_action(TeleopCommand(True, v), {"joint_pos": q[None]})
    assert a.tolist() == pytest.approx([0.1, -0.2, -1.0], abs=2e-3)  # / max_delta 0.1; gripper open
    # twice the budget: the whole step is scaled so the largest joint uses all of it
    a = m.to_action(TeleopCommand(True, 10 * v), {"joint_pos": q[None]})
    assert a[:2].tolist() == pytest.approx([0.5, -1.0], abs=1e-3)


@pytest.fixture(scope="module")
def panda():
    return get_domain("manip").load_description(REPO / "sim_assets" / "panda" / "panda.urdf")


def test_dls_on_the_panda_is_the_pseudo_inverse_away_from_singularities(panda):
    q = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
    rate, max_delta = 10.0, panda.velocity_limits * 0.5 / 10.0
    m = ManipTeleop(panda, max_delta, rate, TeleopConfig())
    v = np.array([0.02, -0.01, 0.015, 0.05, -0.03, 0.1])  # m/s, rad/s in the base frame
    jac = panda.jacobian(q[None])[0][0]
    want = np.linalg.pinv(jac) @ v / rate
    got = m.joint_delta(q, v)
    assert got == pytest.approx(want, abs=1e-4)
    # the joint step moves the tool by v * dt (first order): position within 2 %
    p0, p1 = panda.forward(q[None])[0][0], panda.forward((q + got)[None])[0][0]
    assert (p1 - p0) * rate == pytest.approx(v[:3], rel=0.02, abs=2e-4)
    a = m.to_action(TeleopCommand(True, v), {"joint_pos": q[None]})
    assert a.shape == (8,) and a[:7] * max_delta == pytest.approx(got, abs=1e-6)


def test_gripper_follows_absolute_commands_and_toggles_from_the_last_command(panda):
    q = np.zeros((1, 7))
    m = ManipTeleop(panda, np.full(7, 0.1), 10.0, TeleopConfig())
    sig = {"joint_pos": q}
    assert m.to_action(twist_cmd(0, 0, 0, 0, 0, 0), sig)[-1] == -1.0  # open until asked
    assert m.to_action(twist_cmd(0, 0, 0, 0, 0, 0, gripper_closed=True), sig)[-1] == 1.0
    assert m.to_action(twist_cmd(0, 0, 0, 0, 0, 0), sig)[-1] == 1.0  # kept
    assert m.to_action(twist_cmd(0, 0, 0, 0, 0, 0, gripper_toggle=True), sig)[-1] == -1.0

    class Controller:  # a policy that holds the cube: the toggle flips what it last commanded
        prev_action = np.array([[0.0] * 7 + [0.8]], dtype=np.float32)

    m.controller = Controller()
    assert m.to_action(twist_cmd(0.05, 0, 0, 0, 0, 0), sig)[-1] == 1.0  # taking over keeps it closed
    assert m.to_action(twist_cmd(0, 0, 0, 0, 0, 0, gripper_toggle=True), sig)[-1] == -1.0
    given = np.linspace(-1, 1, 8).astype(np.float32)
    assert m.to_action(TeleopCommand(True, action=given), sig).tolist() == given.tolist()


# ----------------------------------------------------------------------------- quad, registry


def test_quad_nudges_the_reference():
    m = QuadTeleop(TeleopConfig())
    assert m.twist_scale.tolist() == [0.5, 0.5, 0.5, 0, 0, 0]
    cmd = twist_cmd(0.5, -0.25, 0.1, 0, 0, 3.0)
    assert m.to_action(cmd, {}) is None
    assert QuadTeleop.nudge(np.array([0.0, 0.0, 1.0]), cmd, 0.1).tolist() == pytest.approx(
        [0.05, -0.025, 1.01]
    )


def test_every_domain_says_whether_it_has_teleop():
    have = {d.name: d.teleop is not None for d in all_domains()}
    assert have["nav"] and have["manip"] and have["quad"]
    for name, has in have.items():
        if name not in ("nav", "manip", "quad"):  # a domain added later (the hand) may have none yet
            assert isinstance(has, bool)


def test_teleop_command_checks_its_numbers():
    with pytest.raises(ValueError, match="6 finite numbers"):
        TeleopCommand(True, np.array([math.nan, 0, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="finite"):
        TeleopCommand(True, action=np.array([math.inf]))
    with pytest.raises(ValueError, match="unknown button"):
        TeleopCommand(True, buttons=frozenset({"turbo"}))
    with pytest.raises(ValueError, match="deadband must be < 1"):
        TeleopConfig(deadband=1.0)
    assert TeleopCommand(True, action=np.array([3.0, -3.0])).action.tolist() == [1.0, -1.0]
