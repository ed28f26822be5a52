"""The policy contract: round trips, strict checks that name the field, export and loading."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnx
import pytest

from sim2real_runtime.contract import METADATA_KEY, PolicyContract
from sim2real_runtime.errors import ConfigError, ContractMismatchError
from sim2real_runtime.nav_control import NavController
from sim2real_runtime.nav_control import check_nav_compatible as check_compatible
from sim2real_runtime.nav_terms import nav_specs
from sim2real_runtime.policy import OnnxPolicy, read_contract


def make_contract(robot):
    obs, act = nav_specs(robot, 10.0, 72, 4.0, 5.0, (-0.3, 1.6), 2.5)
    return PolicyContract("nav", robot.as_dict(), 10.0, tuple(obs), (act,), provenance={"seed": 1})


def test_json_round_trip(jackal):
    c = make_contract(jackal)
    back = PolicyContract.from_json(c.to_json())
    assert back.to_dict() == c.to_dict()
    assert back.obs_size == 79 and back.action_size == 2


def test_compatible_robot_passes(jackal):
    check_compatible(make_contract(jackal), jackal, "p.onnx", 10.0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lidar": {"num_beams": 360}}, "robot.lidar.num_beams"),
        ({"footprint_width_m": 0.6}, "robot.footprint_width_m"),
        ({"max_linear_speed_mps": 1.0}, "action.cmd_vel.params.high[0]"),
        ({"max_angular_accel_radps2": 2.0}, "action.cmd_vel.params.accel[1]"),
    ],
)
def test_mismatch_names_the_field(jackal, change, field):
    kw = dict(change)
    if "lidar" in kw:
        kw["lidar"] = dataclasses.replace(jackal.lidar, **kw["lidar"])
    other = dataclasses.replace(jackal, **kw)
    with pytest.raises(ContractMismatchError) as err:
        check_compatible(make_contract(jackal), other, "p.onnx")
    assert err.value.field == field
    assert field in str(err.value) and "p.onnx" in str(err.value)


def test_rate_mismatch(jackal):
    with pytest.raises(ContractMismatchError, match="control_rate_hz"):
        check_compatible(make_contract(jackal), jackal, "p.onnx", 20.0)


def test_turtlebot_refuses_jackal_policy(jackal, turtlebot):
    with pytest.raises(ContractMismatchError, match="footprint_length_m"):
        check_compatible(make_contract(jackal), turtlebot, "p.onnx")


def test_malformed_contract_names_field():
    with pytest.raises(ConfigError, match="control_rate_hz"):
        PolicyContract.from_dict(
            {
                "schema_version": 1,
                "domain": "nav",
                "robot": {},
                "control_rate_hz": -1,
                "observation": {},
                "action": {},
            }
        )
    with pytest.raises(ConfigError, match="schema_version"):
        PolicyContract.from_dict(
            {
                "schema_version": 99,
                "domain": "n",
                "robot": {},
                "control_rate_hz": 1,
                "observation": {},
                "action": {},
            }
        )
    with pytest.raises(ConfigError, match="sim2real_contract"):
        PolicyContract.from_json("{not json")


def test_exported_policy_carries_contract_and_matches_torch(tiny_run, tiny_policy, jackal):
    import torch

    from sim2real.export import load_run_actor, run_task

    onnx_path = tiny_policy / "policy.onnx"
    contract = read_contract(onnx_path)
    assert contract.domain == "nav" and contract.obs_size == 79
    assert contract.provenance["seed"] == 0 and contract.provenance["iterations"] == 2
    assert (tiny_policy / "policy.yaml").read_text().count("lidar_sectors") == 1
    pol = OnnxPolicy(tiny_policy)
    run, ckpt = tiny_run
    task, cfg, _ = run_task(run)
    actor = load_run_actor(task, cfg, ckpt, contract).as_onnx(verbose=False).eval()
    obs = np.random.default_rng(3).standard_normal((64, 79)).astype(np.float32) * 3
    with torch.no_grad():
        ref = actor(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(pol(obs), ref, atol=1e-4)
    # The controller gives a safe command for garbage input.
    ctrl = NavController(pol, jackal, 10.0)
    cmd = ctrl.step(np.full(720, np.nan), np.array([np.nan, 0, 0]), np.array([np.inf, 0]), np.zeros(2))
    assert np.isfinite(cmd).all()


def test_onnx_without_contract_is_refused(tmp_path, tiny_policy):
    model = onnx.load(str(tiny_policy / "policy.onnx"))
    del model.metadata_props[:]
    p = tmp_path / "policy.onnx"
    onnx.save(model, str(p))
    with pytest.raises(ConfigError, match=f"metadata_props.{METADATA_KEY}"):
        OnnxPolicy(p)


def test_corrupt_onnx_is_refused(tmp_path):
    p = tmp_path / "policy.onnx"
    p.write_bytes(b"not an onnx file")
    with pytest.raises(ConfigError, match=r"policy\.onnx"):
        OnnxPolicy(tmp_path)


def test_contract_obs_size_must_match_graph(tmp_path, tiny_policy):
    model = onnx.load(str(tiny_policy / "policy.onnx"))
    meta = {m.key: m for m in model.metadata_props}
    d = json.loads(meta[METADATA_KEY].value)
    d["observation"]["terms"][0]["size"] = 36  # a consistent contract that the graph contradicts
    d["observation"]["terms"][0]["params"]["num_sectors"] = 36
    d["observation"]["size"] = 43
    meta[METADATA_KEY].value = json.dumps(d)
    onnx.save(model, str(tmp_path / "policy.onnx"))
    with pytest.raises(ConfigError, match=r"observation\.size"):
        OnnxPolicy(tmp_path)


def test_runtime_imports_neither_torch_nor_mujoco_nor_onnx():
    """The runtime installs alone on a robot: numpy, pyyaml and onnxruntime only."""
    import subprocess
    import sys

    code = (
        "import sys, sim2real_runtime.policy, sim2real_runtime.contract, sim2real_runtime.nav_terms; "
        "bad = [m for m in ('torch', 'mujoco', 'rclpy', 'onnx', 'sim2real') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
