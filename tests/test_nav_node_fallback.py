"""The nav_policy node with the runtime's DWA fallback (issue 16), on the clocked DDS transport:
the ``fallback`` parameter, the contract's ``dwa_fallback`` that turns it on, and a policy command
toward a wall replaced by DWA's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO, clocked_transport
from test_nav_node import goal_msg, make_node, odom_msg, scan_msg

from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.errors import ConfigError
from sim2real_runtime.nav_control import contract_wants_fallback
from sim2real_runtime.policy import read_contract

POLICY = REPO / "policies" / "nav_jackal"


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("nav_fallback_test")
    yield t
    t.close()


def _wall_ahead(jackal, x_m: float) -> np.ndarray:
    """Ranges [num_beams] (float32, m) of a wall across the path at x = x_m in base_link; beams
    that miss it read the lidar's maximum range."""
    lid = jackal.lidar
    a = lid.beam_angles_rad()
    with np.errstate(divide="ignore"):
        r = np.where(np.cos(a) > 0.05, (x_m - lid.mount_x_m) / np.cos(a), np.inf)
    return np.where(r <= lid.range_max_m, r, lid.range_max_m).astype(np.float32)


def _full_speed(node):
    """Make the node's policy ask for full speed ahead, whatever it sees (action [1, 0])."""
    node.controller.infer = lambda signals: np.array([[1.0, 0.0]], dtype=np.float32)


def _drive(node, jackal, clock, scan, steps):
    cmds = []
    for _ in range(steps):
        clock.t += 0.025  # the lidar's 40 Hz
        node.on_odom(odom_msg(t_s=clock.t))
        node.on_scan(scan_msg(jackal, clock.t, scan))
        cmds.append(node.last_cmd.copy())
    return np.array(cmds)


def _policy_requiring_fallback(tmp_path, value=True):
    """The shipped nav policy's ONNX graph with ``dwa_fallback`` set in its contract (a copy)."""
    import onnx

    from sim2real_runtime.contract import METADATA_KEY

    model = onnx.load(str(POLICY / "policy.onnx"))
    meta = {m.key: m for m in model.metadata_props}
    d = json.loads(meta[METADATA_KEY].value)
    d["action"]["terms"][0]["params"]["dwa_fallback"] = value
    meta[METADATA_KEY].value = json.dumps(d)
    out = tmp_path / "nav_fb"
    out.mkdir(parents=True)
    onnx.save(model, str(out / "policy.onnx"))
    return out


def test_a_command_into_a_wall_is_replaced_by_dwa(transport, jackal, tmp_path):
    # A wall 0.3 m ahead of the front edge (front edge 0.254 m ahead of base_link), a goal behind
    # it, and a policy that asks for full speed ahead. The guard is off to isolate the fallback.
    wall = _wall_ahead(jackal, jackal.footprint_length_m / 2 + 0.3)
    without = _policy_requiring_fallback(tmp_path, value=False)  # the shipped policy asks for it
    plain = make_node(transport, collision_guard=False, policy_path=str(without))
    assert plain.controller.fallback is None and "DWA fallback off" in plain.loaded_message(
        plain.controller.policy
    )
    _full_speed(plain)
    plain.on_goal(goal_msg(5.0, 0.0))
    cmds = _drive(plain, jackal, transport.clock, wall, 12)
    # Without the fallback: straight ahead, +4 m/s^2 x 0.025 s = +0.1 m/s per scan up to 1 m/s,
    # into a wall it reaches in well under a second.
    np.testing.assert_allclose(cmds[:, 0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(cmds[:, 1], 0.0)

    node = make_node(transport, collision_guard=False, fallback=True)
    fb = node.controller.fallback
    assert fb is not None and "DWA fallback on" in node.loaded_message(node.controller.policy)
    _full_speed(node)
    node.on_goal(goal_msg(5.0, 0.0))
    cmds = _drive(node, jackal, transport.clock, wall, 12)
    # 12 scans at 40 Hz = 3 policy steps at 10 Hz; each time DWA vetoes the arc and drives.
    assert fb.counts == {"policy": 0, "arc": 3, "takeover": 0}
    assert node.state == "driving"
    for cmd in cmds:
        assert fb.admissible(cmd, wall)
        assert cmd[0] * 1.0 < 0.3  # never more than the gap in one second, straight or not
    assert np.all(np.abs(cmds[:, 1]) > 0)  # DWA turns away from the wall


def test_malformed_fallback_parameter_is_refused_by_name(transport):
    node = make_node(transport, fallback="yes")
    assert node.state.startswith("error") and "fallback" in node.state
    assert np.array_equal(node.last_cmd, [0.0, 0.0])


def test_the_jackal_params_file_has_the_fallback_off():
    from nav_policy.params import params_from_mapping, read_params_file

    values = read_params_file(REPO / "ros2_ws/src/nav_policy/config/jackal.yaml")
    assert values["fallback"] is False
    params, errors = params_from_mapping({**values, "policy_path": str(POLICY)}, "jackal.yaml")
    assert not errors and params.fallback is False


def test_a_policy_whose_contract_asks_for_it_runs_with_the_fallback(transport, tmp_path):
    path = _policy_requiring_fallback(tmp_path)
    assert contract_wants_fallback(read_contract(path / "policy.onnx"))
    assert contract_wants_fallback(read_contract(POLICY / "policy.onnx"))  # the shipped one too
    off = _policy_requiring_fallback(tmp_path / "off", value=False)
    assert make_node(transport, policy_path=str(off)).controller.fallback is None
    node = make_node(transport, policy_path=str(path))  # fallback parameter left at false
    assert node.controller.fallback is not None
    assert "DWA fallback on (the contract's dwa_fallback)" in node.loaded_message(node.controller.policy)


def test_contract_round_trip_and_strict_loading_of_dwa_fallback():
    c = read_contract(POLICY / "policy.onnx")
    d = json.loads(c.to_json())
    d["action"]["terms"][0]["params"]["dwa_fallback"] = True
    back = PolicyContract.from_json(PolicyContract.from_dict(d, "p.onnx").to_json(), "p.onnx")
    assert back.action[0].params["dwa_fallback"] is True and contract_wants_fallback(back)
    for bad in ("true", 1, None):
        d["action"]["terms"][0]["params"]["dwa_fallback"] = bad
        with pytest.raises(ConfigError) as err:
            PolicyContract.from_dict(d, "p.onnx")
        assert err.value.field == "action.terms[0].params.dwa_fallback"


def test_the_draft_contract_records_the_training_option():
    from dataclasses import replace

    from sim2real.draft import build_draft
    from sim2real.tasks import get_task

    task = get_task("nav")
    cfg = task.default_config()
    # the shipped nav policy runs with the fallback: the default config asks for it
    assert contract_wants_fallback(build_draft(task, cfg))
    cfg = replace(cfg, task=replace(cfg.task, dwa_fallback=False))
    assert build_draft(task, cfg).action[0].params["dwa_fallback"] is False
