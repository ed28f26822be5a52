"""A toy domain through the whole pipeline, from files under tests/toy_domain/ only: it proves that
adding a domain touches only its assets, a domain module, a task module, and an I/O adapter with
its config.

``sim2real list`` shows it, ``sim2real train toy`` trains it with PPO (draft contract first),
``sim2real export`` exports it (and refuses when the cart file changed since training), the
exported policy loads through the domain registry and drives the toy node on a real DDS transport
with only finite, in-limit commands for arbitrary inputs, a mismatched cart puts the node in
``error: ...`` naming the field, and the generic tests over the registries accept it.

The toy domain and task are registered for this module only (see the ``toy`` fixture) and
unregistered after it, so no other test sees them.
"""

from __future__ import annotations

import importlib
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, clocked_transport

from sim2real.cli import build_parser, main
from sim2real.draft import DRAFT_NAME
from sim2real.tasks import all_tasks, get_task
from sim2real_ros import msgs
from sim2real_ros.policy_node import PolicyNode, domain_nodes, within_limits
from sim2real_runtime.domains import all_domains, get_domain
from sim2real_runtime.policy import OnnxPolicy, read_contract

TOY = Path(__file__).resolve().parent / "toy_domain"
NODE_PACKAGE_ROOT = TOY / "toy_policy"
"""The node package's root (what ``ros2_ws/src/toy_policy`` would be): on sys.path for the test."""
ODD = [math.nan, math.inf, -math.inf, 1e9, -1e9]
ITERATIONS, NUM_ENVS = 30, 64


# --------------------------------------------------------------------------- registration


@pytest.fixture(scope="module")
def toy():
    """Register the toy domain and task and make ``toy_policy`` importable; undo it all after."""
    all_domains(), all_tasks()  # the real domains and tasks first (discovery), then the toy
    from toy_domain import toy_runtime, toy_task

    domain = toy_runtime.register()
    task = toy_task.register()
    sys.path.insert(0, str(NODE_PACKAGE_ROOT))
    try:
        yield domain, task
    finally:
        sys.path.remove(str(NODE_PACKAGE_ROOT))
        for name in [m for m in sys.modules if m == "toy_policy" or m.startswith("toy_policy.")]:
            del sys.modules[name]
        toy_task.unregister()
        toy_runtime.unregister()
        assert "toy" not in {d.name for d in all_domains()}
        assert "toy" not in {t.domain for t in all_tasks()}


@pytest.fixture(scope="module")
def toy_run(toy, tmp_path_factory):
    """``sim2real train toy`` for a few PPO iterations (seconds)."""
    run = tmp_path_factory.mktemp("toy_run") / "run"
    sizes = ["--iterations", str(ITERATIONS), "--num-envs", str(NUM_ENVS)]
    assert main(["train", "toy", *sizes, "--run-dir", str(run)]) == 0
    return run


@pytest.fixture(scope="module")
def toy_policy_dir(toy_run, tmp_path_factory):
    """``sim2real export --run RUN --out OUT`` of the trained run."""
    out = tmp_path_factory.mktemp("toy_policy") / "toy_cart"
    assert main(["export", "--run", str(toy_run), "--out", str(out)]) == 0
    return out


@pytest.fixture
def transport(dds_env):
    t = clocked_transport("toy_node_test")
    yield t
    t.close()


def make_node(transport, policy: Path | str, **overrides) -> PolicyNode:
    params_mod = importlib.import_module("toy_policy.params")
    params, errors = params_mod.params_from_mapping({"policy_path": str(policy), **overrides}, "test")
    return domain_nodes()["toy"](transport, params, errors)


def record(pub) -> list:
    """What the node hands to ``pub``; the publisher reports a matched subscriber."""
    got: list = []
    real = pub.publish
    pub.publish = lambda m: (got.append(m), real(m))[1]
    pub.subscriber_count = lambda: 1
    return got


def odd(rng: np.random.Generator, x: np.ndarray, p: float = 0.05) -> np.ndarray:
    x = np.array(x, dtype=np.float64)
    mask = rng.random(x.shape) < p
    x[mask] = rng.choice(ODD, size=int(mask.sum()))
    return x


def feed_toy(node, clock, rng, ticks):
    """The toy node's input provision (the signature of test_policy_node.PROVISIONS): joint states
    anywhere (NaN, inf, huge, the joint missing), goals anywhere (NaN, beyond the rail)."""
    got = record(node.cmd_pub)
    goal = msgs.Float64(data=0.5)
    node.on_goal(goal)
    for i in range(ticks):
        clock.t += 0.01
        names = ["rail_joint"] if rng.random() > 0.05 else ["other_joint"]
        x, v = odd(rng, rng.uniform(-3, 3, 2), 0.1)
        node.on_joint_states(msgs.JointState(name=names, position=[x], velocity=[v]))
        if i % 25 == 0:
            node.on_goal(msgs.Float64(data=float(odd(rng, rng.uniform(-3, 3, 1), 0.3)[0])))
        node.on_tick()
    return [np.asarray(m.data) for m in got], node.low, node.high


# --------------------------------------------------------------------------- the pipeline


def test_list_shows_the_toy_task(toy, capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("toy reach  [ppo] (default)") for line in lines), lines


def test_train_writes_the_draft_contract_and_a_checkpoint(toy_run):
    draft = json.loads((toy_run / DRAFT_NAME).read_text())
    assert draft["domain"] == "toy" and draft["provenance"]["task"] == "toy/reach"
    (f,) = draft["provenance"]["description_files"]
    assert f["path"] == "tests/toy_domain/assets/cart.yaml" and len(f["sha256"]) == 64
    assert draft["robot"]["mass_kg"] == 1.0
    summary = json.loads((toy_run / "train_summary.json").read_text())
    assert summary["iterations"] == ITERATIONS and summary["env_steps"] == ITERATIONS * NUM_ENVS * 16
    assert (toy_run / f"model_{ITERATIONS - 1}.pt").is_file()
    config = json.loads((toy_run / "config.json").read_text())
    assert config["ppo"]["num_envs"] == NUM_ENVS and config["max_iterations"] == ITERATIONS


def test_export_writes_a_toy_contract(toy_policy_dir):
    c = read_contract(toy_policy_dir)
    assert c.domain == "toy" and c.provenance["task"] == "toy/reach"
    assert [t.kind for t in c.observation] == list(get_domain("toy").observation_kinds)
    assert (toy_policy_dir / "policy.yaml").is_file()


def test_export_with_the_domain_named_and_with_another_domain(toy_run, tmp_path, capsys):
    assert main(["export", "toy", "--run", str(toy_run), "--out", str(tmp_path / "a")]) == 0
    assert main(["export", "nav", "--run", str(toy_run), "--out", str(tmp_path / "b")]) == 2
    assert "domain: the run is 'toy', not 'nav'" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_export_refuses_an_edited_cart_file_naming_it(toy, tmp_path, capsys):
    cart = tmp_path / "my_cart.yaml"
    shutil.copy(TOY / "assets" / "cart.yaml", cart)
    run = tmp_path / "run"
    sizes = ["--iterations", "1", "--num-envs", "8"]
    assert main(["train", "toy", "--cart", str(cart), *sizes, "--run-dir", str(run)]) == 0
    cart.write_text(cart.read_text().replace("mass_kg: 1.0", "mass_kg: 1.5"))
    capsys.readouterr()
    assert main(["export", "--run", str(run), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(cart) in err and "description file changed since training" in err, err
    assert not (tmp_path / "out").exists()


def test_the_trained_policy_drives_the_cart_towards_its_goal(toy_policy_dir):
    """Through the registry only: the contract's domain -> description -> controller; the cart
    (simulated here with the training environment's dynamics) ends nearer its goal than it began."""
    policy = OnnxPolicy(toy_policy_dir)
    domain = get_domain(policy.contract.domain)
    cart = domain.load_description(policy.contract.robot["name"])
    errors = []
    for x0, goal in ((-1.0, 1.0), (1.2, -0.5), (0.0, 1.4), (0.5, -1.3)):
        ctl = domain.controller(policy, cart, control_rate_hz=policy.contract.control_rate_hz)
        x, v, dt = x0, 0.0, 1.0 / ctl.control_rate_hz
        for _ in range(80):
            f = float(ctl.step(x, v, goal)[0])
            assert abs(f) <= cart.max_force_n
            v = float(np.clip(v + (f / cart.mass_kg - cart.damping_per_s * v) * dt, -2, 2))
            x = float(np.clip(x + v * dt, -cart.rail_half_length_m, cart.rail_half_length_m))
        errors.append(abs(goal - x) / abs(goal - x0))
    assert np.mean(errors) < 0.2, errors


def test_the_node_publishes_only_finite_in_limit_commands(toy, toy_policy_dir, transport):
    node = make_node(transport, toy_policy_dir)
    assert node.fault is None and node.state == "waiting: no goal"
    cmds, lo, hi = feed_toy(node, transport.clock, np.random.default_rng(0), 400)
    assert len(cmds) == 400 and hi[0] == 4.0
    assert all(within_limits(c, lo, hi) for c in cmds)
    assert any(abs(c[0]) > 0.01 for c in cmds), "the policy never pushed"
    sent = record(node.cmd_pub)
    node.on_estop(msgs.Bool(data=True))
    node.on_tick()
    assert node.state == "stopped: e-stop" and sent and all(list(m.data) == [0.0] for m in sent)
    node.shutdown()
    assert node.state == "stopped: shutdown"


def test_the_node_refuses_a_mismatched_cart_naming_the_field(toy, toy_policy_dir, transport):
    node = make_node(transport, toy_policy_dir, cart="heavy_cart")
    assert node.state.startswith("error:") and "robot.mass_kg" in node.state, node.state
    assert node.controller is None
    cmds, _, _ = feed_toy(node, transport.clock, np.random.default_rng(1), 50)
    assert cmds and all(np.array_equal(c, [0.0]) for c in cmds)  # zero force only
    unknown = make_node(transport, toy_policy_dir, cart="no_such_cart")
    assert unknown.state.startswith("error:") and "unknown cart" in unknown.state
    strong = make_node(transport, toy_policy_dir, max_force_n=10.0)
    assert strong.state.startswith("error:") and "max_force_n" in strong.state


def test_a_refused_timeout_parameter_is_an_error_state(toy, toy_policy_dir, transport):
    """A refused parameter keeps its default in the node (the toy found a crash here: the watchdog
    was built from the refused 0 s timeout)."""
    bad = make_node(transport, toy_policy_dir, joint_state_timeout_s=0.0)
    assert bad.state == "error: bad parameter joint_state_timeout_s"
    assert bad.p.joint_state_timeout_s > 0


def test_deploy_toy_resolves_the_node_package(toy):
    a = build_parser().parse_args(["deploy", "toy", "--", "--policy", "p"])
    assert a.domain == "toy" and a.node_args == ["--", "--policy", "p"]
    node_mod = importlib.import_module(f"{get_domain('toy').node_package}.node")
    assert node_mod.run_dds.__module__ == "sim2real_ros.node_main"


# --------------------------------------------------------------------------- the generic tests


def test_the_generic_tests_over_the_registries_see_it(toy, request, transport, tmp_path, monkeypatch):
    """The tests that iterate the registries (parametrised at collection, before the toy exists)
    called here with the toy domain and task."""
    import test_domains
    import test_policy_node
    import test_tasks

    _, task = toy
    assert domain_nodes()["toy"].__name__ == "ToyPolicyNode"
    assert get_task("toy") is task
    test_domains.test_the_three_domains_are_registered_with_one_spelling()
    test_tasks.test_task_builds_resets_and_steps_through_the_vecenv_api(task)
    test_tasks.test_ppo_runs_an_iteration_on_every_task(task, tmp_path / "ppo")
    test_tasks.test_dagger_runs_where_there_is_an_expert_and_refuses_elsewhere(task, tmp_path / "dagger")
    test_tasks.test_draft_contract_round_trips_and_records_its_description_files(task)
    test_tasks.test_contract_with_an_unknown_term_kind_or_another_domain_is_refused(task)
    monkeypatch.setitem(test_policy_node.PROVISIONS, "toy", feed_toy)
    test_policy_node.test_every_registered_domain_has_a_node_and_an_input_provision()
    test_policy_node.test_arbitrary_inputs_give_only_finite_in_limit_commands(request, transport, "toy", 0)
    test_policy_node.test_a_rate_other_than_the_contracts_is_refused_naming_control_rate_hz(
        request, transport, "toy"
    )
    test_policy_node.test_swap_policy_between_two_steps(request, transport, "toy", tmp_path)
    test_policy_node.test_common_parameters_mean_the_same_in_every_node("toy_policy")


def test_the_node_package_files_like_the_real_ones(toy, tmp_path):
    """What test_policy_node checks of every package in ros2_ws/src/, on the toy package where it
    lives (tests/toy_domain/toy_policy/): the parameter file, the entry points, launch arguments."""
    params_mod = importlib.import_module("toy_policy.params")
    for path in sorted((NODE_PACKAGE_ROOT / "config").glob("*.yaml")):
        values = params_mod.read_params_file(path)
        assert "loop_rate_hz" in values
        _, errors = params_mod.params_from_mapping({**values, "policy_path": "p"}, str(path))
        assert errors == [], errors
    assert "toy_policy_node = toy_policy.node:main" in (NODE_PACKAGE_ROOT / "setup.py").read_text()
    la = importlib.import_module("toy_policy.launch_args")
    share = tmp_path / "share"
    (share / "config").mkdir(parents=True)
    (share / "carts").mkdir()
    shutil.copy(NODE_PACKAGE_ROOT / "config" / "cart.yaml", share / "config")
    shutil.copy(TOY / "assets" / "cart.yaml", share / "carts")
    params_file, overrides = la.node_parameters({"policy": str(tmp_path)}, share, True)
    assert params_file == str(share / "config" / "cart.yaml")
    assert overrides["cart"] == str(share / "carts" / "cart.yaml") and overrides["use_sim_time"] is True
    with pytest.raises(ValueError, match="cart:=boat"):
        la.node_parameters({"policy": "p", "cart": "boat"}, share, False)
    for path in (NODE_PACKAGE_ROOT / "launch").glob("*.launch.py"):
        assert "from sim2real_ros.launch_args import launch_description" in path.read_text()


# --------------------------------------------------------------------------- what it took

CATEGORIES = {
    "assets": lambda p: p.parts[0] == "assets" and p.suffix == ".yaml",
    "domain module": lambda p: p == Path("toy_runtime.py"),
    "task module": lambda p: p == Path("toy_task.py"),
    "I/O adapter and its config": lambda p: p.parts[0] == "toy_policy",
    "package marker": lambda p: p == Path("__init__.py"),
}


def test_adding_the_domain_took_only_these_files():
    files = sorted(
        p.relative_to(TOY)
        for p in TOY.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    by_category: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    for f in files:
        matches = [c for c, test in CATEGORIES.items() if test(f)]
        assert len(matches) == 1, f"{f}: fits {matches or 'no category'}"
        by_category[matches[0]].append(str(f))
    assert all(by_category.values()), by_category
    adapter = set(by_category["I/O adapter and its config"])
    assert {
        "toy_policy/toy_policy/node.py",
        "toy_policy/toy_policy/params.py",
        "toy_policy/config/cart.yaml",
        "toy_policy/setup.py",
        "toy_policy/package.xml",
    } <= adapter
    # and nothing outside tests/ names the toy domain
    for root in ("training", "ros2_ws", "launch", "sim_assets"):
        for p in (REPO / root).rglob("*.py"):
            assert "toy_policy" not in p.read_text() and "toy_runtime" not in p.read_text(), p
