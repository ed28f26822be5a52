"""Hot reload in the one PolicyNode (``reload_watch``): a policy written atomically over the watched
file is swapped in between two control steps and published as the new version on the state topic;
a corrupt file, a policy of another task, and one whose first control step is NaN are refused, and
the running policy keeps driving with finite, in-limit commands (the arm's node, clocked DDS)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import clocked_transport
from onnx import helper
from test_policy_node import make_node, pose_msg, record

from sim2real.manip.config import READY_POSE_RAD
from sim2real_ros import msgs
from sim2real_ros.policy_node import within_limits
from sim2real_ros.policy_reload import file_sha256


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("policy_reload_test")
    yield t
    t.close()


def put(src: Path, dst_dir: Path) -> None:
    """Replace ``dst_dir/policy.onnx`` atomically (a sibling renamed over it), as a learner does."""
    tmp = dst_dir / ".policy.onnx.tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst_dir / "policy.onnx")


def nan_policy(src: Path, dst: Path) -> Path:
    """``src``'s graph and contract with every action multiplied by NaN."""
    m = onnx.load(str(src))
    out = m.graph.output[0]
    for node in m.graph.node:
        node.output[:] = ["raw_actions" if o == out.name else o for o in node.output]
    m.graph.initializer.append(helper.make_tensor("nan_scale", onnx.TensorProto.FLOAT, [], [float("nan")]))
    m.graph.node.append(helper.make_node("Mul", ["raw_actions", "nan_scale"], [out.name]))
    onnx.save(m, str(dst))
    return dst


def drive(node, clock, ticks: int, log: list | None = None) -> list[np.ndarray]:
    """Clean arm inputs at the ready pose, one loop tick per 10 ms; returns the arm commands and
    appends the running policy object after each tick to ``log``."""
    got = record(node.arm_pub)
    arm, fingers = node.arm_joints, node.finger_joints
    node.on_target_pose(pose_msg([0.5, 0.2, 0.2], "panda_link0"))
    for _ in range(ticks):
        clock.t += 0.01
        node.on_joint_states(
            msgs.JointState(name=[*arm, *fingers], position=[*READY_POSE_RAD, 0.04, 0.04], velocity=[0.0] * 9)
        )
        node.on_object_pose(pose_msg([0.5, 0.0, 0.025], "panda_link0"))
        node.on_tick()
        if log is not None:
            log.append(node.controller.policy)
    return [np.asarray(m.data) for m in got]


def test_reload_watch_swaps_refuses_and_keeps_driving(request, transport, tmp_path):
    random_policy = request.getfixturevalue("random_policy")
    a = Path(random_policy("manip", "pick_place")) / "policy.onnx"
    b = Path(request.getfixturevalue("tiny_manip_policy")) / "policy.onnx"  # same interface, other weights
    watched = tmp_path / "live"
    watched.mkdir()
    put(a, watched)
    node = make_node("manip", transport, watched, reload_watch=True, reload_period_s=0.2)
    assert node.fault is None, node.fault
    states = record(node.state_pub)
    s = node.controller.safety
    lo, hi = s.lower, s.upper
    assert node.policy_version == f"{file_sha256(a)[:12]}#0"
    cmds = drive(node, transport.clock, 20)
    assert cmds and all(within_limits(c, lo, hi, 1e-6) for c in cmds)
    assert node.reload.settle() is None  # nothing changed: nothing happens
    old = node.controller.policy

    # a new policy written atomically: swapped in at the next poll, confirmed at its first step
    put(b, watched)
    assert node.reload.settle() is None
    new = node.controller.policy
    assert new is not old and new.on_trial
    ran: list = []
    cmds = drive(node, transport.clock, 20, ran)
    assert not new.on_trial and all(p is new for p in ran)
    assert node.policy_version == f"{file_sha256(b)[:12]}#1"
    assert f"policy {node.policy_version} {watched / 'policy.onnx'}" in [m.data for m in states]
    assert states[-1].data == node.state  # the latched value is still the node's state
    assert all(within_limits(c, lo, hi, 1e-6) for c in cmds)

    # a corrupt (truncated) file: refused with the reason, not retried, the running policy stays
    (tmp_path / "bad.onnx").write_bytes(b.read_bytes()[:500])
    put(tmp_path / "bad.onnx", watched)
    why = node.reload.settle()
    assert why is not None and "ONNX" in why, why
    assert node.controller.policy is new
    assert node.reload.settle() is None  # same file: not tried again

    # a policy of another task (reach): refused naming the contract field
    put(Path(random_policy("manip", "reach")) / "policy.onnx", watched)
    why = node.reload.settle()
    assert why is not None and "robot" in why, why
    assert node.controller.policy is new

    # a policy whose first control step is NaN: swapped in, refused at that step, the old one drives
    put(nan_policy(a, tmp_path / "nan.onnx"), watched)
    assert node.reload.settle() is None
    trial = node.controller.policy
    assert trial is not new
    ran = []
    cmds = drive(node, transport.clock, 20, ran)
    assert all(p is new for p in ran)  # back to the previous policy within the first step
    assert "non-finite" in node.reload.refusals[-1]
    assert node.policy_version == f"{file_sha256(b)[:12]}#1"
    assert cmds and all(within_limits(c, lo, hi, 1e-6) for c in cmds)

    # the file vanishes (a folder being swapped): the running policy stays
    (watched / "policy.onnx").unlink()
    assert node.reload.settle() is None and node.controller.policy is new
    assert node.reload.swaps == 1


def test_reload_period_must_be_positive(request, transport):
    node = make_node(
        "manip", transport, request.getfixturevalue("random_policy")("manip"), reload_period_s=0.0
    )
    assert node.state == "error: bad parameter reload_period_s"
