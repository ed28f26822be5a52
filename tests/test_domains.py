"""The runtime's domain registry: one spelling per domain, strict contract loading through it, and
a toy domain that plugs in by registering alone (terms, check, safety, controller) and runs an
ONNX policy end to end without any other file knowing it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from sim2real_runtime.contract import (
    METADATA_KEY,
    PolicyContract,
    check_control_rate,
    check_domain,
)
from sim2real_runtime.controller import PolicyController
from sim2real_runtime.domains import Domain, all_domains, get_domain, register_domain, unregister_domain
from sim2real_runtime.errors import ConfigError, ContractMismatchError
from sim2real_runtime.policy import OnnxPolicy, read_contract
from sim2real_runtime.terms import ActionTerm, ObsTerm, TermSpec

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for p in (REPO / "policies").iterdir() if (p / "policy.onnx").is_file())


# --------------------------------------------------------------------------- the registry


def test_the_three_domains_are_registered_with_one_spelling():
    names = [d.name for d in all_domains()]
    assert {"nav", "quad", "manip"} <= set(names)
    for d in all_domains():
        assert d.node_package == f"{d.name}_policy"
        assert d.observation_kinds and d.action_kinds
        assert "previous_action" in d.observation_kinds


@pytest.mark.parametrize(
    ("old", "new"), [("navigation", "nav"), ("quadrotor", "quad"), ("manipulation", "manip")]
)
def test_schema_1_spellings_resolve(old, new):
    assert get_domain(old).name == new


def test_unknown_domain_names_the_field_and_lists_the_registered():
    with pytest.raises(ConfigError) as err:
        get_domain("boat", "x.onnx")
    assert err.value.field == "domain" and "x.onnx" in str(err.value)
    assert all(d.name in str(err.value) for d in all_domains())


def test_registering_a_domain_twice_is_an_error():
    nav = get_domain("nav")
    with pytest.raises(ValueError, match="already registered"):
        register_domain(nav)
    with pytest.raises(ValueError, match="already registered"):
        register_domain(Domain(**{**nav.__dict__, "name": "nav2", "aliases": ("navigation",)}))
    assert get_domain("navigation") is nav  # nothing was overwritten


def test_a_domain_with_an_unregistered_term_kind_is_refused():
    nav = get_domain("nav")
    with pytest.raises(ValueError, match="no_such_kind"):
        register_domain(
            Domain(**{**nav.__dict__, "name": "nav3", "aliases": (), "observation_kinds": ("no_such_kind",)})
        )
    assert "nav3" not in [d.name for d in all_domains()]


def test_registering_a_term_kind_twice_is_an_error():
    with pytest.raises(ValueError, match="lidar_sectors"):

        class OtherLidar(ObsTerm):
            kind = "lidar_sectors"


# --------------------------------------------------------------- contracts through the registry


@pytest.mark.parametrize("policy_dir", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_contract_round_trips_and_its_domain_is_registered(policy_dir):
    c = read_contract(policy_dir)
    domain = get_domain(c.domain)
    assert c.domain == domain.name and c.schema_version == 2
    assert PolicyContract.from_json(c.to_json()).to_dict() == c.to_dict()
    assert {t.kind for t in c.observation} <= set(domain.observation_kinds)
    assert {t.kind for t in c.action} <= set(domain.action_kinds)


def _doc(policy_dir: Path) -> dict:
    return json.loads(read_contract(policy_dir).to_json())


@pytest.mark.parametrize("policy_dir", SHIPPED, ids=[p.name for p in SHIPPED])
def test_strict_refusals_name_the_field(policy_dir):
    doc = _doc(policy_dir)
    bad = json.loads(json.dumps(doc))
    bad["domain"] = "boat"
    with pytest.raises(ConfigError, match="'domain'"):
        PolicyContract.from_dict(bad, "p.onnx")
    bad = json.loads(json.dumps(doc))
    bad["observation"]["terms"][0]["kind"] = "no_such_kind"
    with pytest.raises(ConfigError) as err:
        PolicyContract.from_dict(bad, "p.onnx")
    assert err.value.field == "observation.terms[0].kind"
    # a kind registered by another domain is not this domain's
    # (domains may share kinds: the hand's joint-delta action is the arm's)
    mine = get_domain(doc["domain"]).action_kinds
    foreign = next(
        k for d in all_domains() if d.name != doc["domain"] for k in d.action_kinds if k not in mine
    )
    bad = json.loads(json.dumps(doc))
    bad["action"]["terms"][-1]["kind"] = foreign
    with pytest.raises(ConfigError) as err:
        PolicyContract.from_dict(bad, "p.onnx")
    assert err.value.field == f"action.terms[{len(doc['action']['terms']) - 1}].kind"
    for rate in (0, -5, "fast", True, float("nan")):
        bad = dict(doc, control_rate_hz=rate)
        with pytest.raises(ConfigError, match="control_rate_hz"):
            PolicyContract.from_dict(bad, "p.onnx")
    bad = dict(doc, schema_version=3)
    with pytest.raises(ConfigError, match="schema_version"):
        PolicyContract.from_dict(bad, "p.onnx")


def test_a_schema_1_contract_reads_as_schema_2():
    doc = next(d for d in map(_doc, SHIPPED) if get_domain(d["domain"]).aliases)  # hand has no schema-1 name
    old_name = get_domain(doc["domain"]).aliases[0]
    c = PolicyContract.from_dict(dict(doc, schema_version=1, domain=old_name), "p.onnx")
    assert c.schema_version == 2 and c.domain == doc["domain"]


def test_a_period_that_contradicts_the_rate_is_refused():
    """The nav action term stores its period; a contract at 20 Hz whose dt_s is 0.1 s is two
    contracts in one and is refused, naming the field (issue 12, defect 2)."""
    doc = _doc(REPO / "policies" / "nav_jackal")
    assert doc["control_rate_hz"] == 10.0
    PolicyContract.from_dict(doc, "p.onnx")
    with pytest.raises(ConfigError) as err:
        PolicyContract.from_dict(dict(doc, control_rate_hz=20.0), "p.onnx")
    assert err.value.field == "action.terms[0].params.dt_s"


def test_shared_checks_name_the_field():
    c = read_contract(REPO / "policies" / "nav_jackal")
    check_domain(c, "nav", "p")
    check_control_rate(c, None, "p")
    check_control_rate(c, 10.0, "p")
    with pytest.raises(ContractMismatchError, match="'domain'"):
        check_domain(c, "quad", "p")
    with pytest.raises(ContractMismatchError, match="control_rate_hz"):
        check_control_rate(c, 25.0, "p")


# ------------------------------------------------------- a toy domain plugs in by registering


class ToyPosition(ObsTerm):
    """The cart's position over ``scale_m``, float [B, 1]."""

    kind = "toy_position"

    def __call__(self, signals):
        return np.asarray(signals["position_m"], dtype=np.float32) / np.float32(self.spec.params["scale_m"])


class ToyForce(ActionTerm):
    """A normalised action [B, 1] -> force (N) in [-max_force_n, max_force_n]; NaN -> 0."""

    kind = "toy_force"

    def __call__(self, action):
        a = np.asarray(action, dtype=np.float64)
        return self.spec.params["max_force_n"] * np.clip(np.where(np.isfinite(a), a, 0.0), -1.0, 1.0)


@dataclass(frozen=True)
class ToyCart:
    """The toy domain's description: one cart."""

    name: str
    max_force_n: float


def toy_check(contract, cart, source, control_rate_hz=None):
    check_domain(contract, "toy", source)
    if contract.action[0].params["max_force_n"] > cart.max_force_n:
        raise ContractMismatchError(
            source,
            "action.force.params.max_force_n",
            contract.action[0].params["max_force_n"],
            cart.max_force_n,
        )
    check_control_rate(contract, control_rate_hz, source)


class ToySafety:
    def __init__(self, max_force_n: float) -> None:
        self.max_force_n = max_force_n

    def __call__(self, force: np.ndarray) -> np.ndarray:
        return np.clip(np.where(np.isfinite(force), force, 0.0), -self.max_force_n, self.max_force_n)


class ToyController(PolicyController):
    def __init__(self, policy, cart, control_rate_hz=None):
        toy_check(policy.contract, cart, str(policy.path), control_rate_hz)
        super().__init__(policy)
        self.safety = ToySafety(cart.max_force_n)

    def step(self, position_m: float) -> float:
        action = self.infer({"position_m": np.array([[position_m]])})
        return float(self.safety(self.action_terms[0](action))[0, 0])


@pytest.fixture
def toy_domain():
    d = register_domain(
        Domain(
            name="toy",
            title="toy: a cart on a rail",
            description_kind="a ToyCart",
            description_file=Path,
            load_description=lambda name, **_: ToyCart(str(name), 5.0),
            observation_kinds=("toy_position", "previous_action"),
            action_kinds=("toy_force",),
            check_compatible=toy_check,
            safety=ToySafety,
            controller=ToyController,
        )
    )
    yield d
    unregister_domain("toy")


def toy_policy(path: Path, gain: float, max_force_n: float = 2.0, rate_hz: float = 10.0) -> Path:
    """An ONNX policy ``actions = obs @ W`` written with onnx.helper (no torch), with a toy contract."""
    contract = PolicyContract(
        domain="toy",
        robot={"name": "cart"},
        control_rate_hz=rate_hz,
        observation=(
            TermSpec("position", "toy_position", 1, "1", "/cart/position", {"scale_m": 2.0}),
            TermSpec("previous_action", "previous_action", 1, "1", "policy"),
        ),
        action=(TermSpec("force", "toy_force", 1, "N", "/cart/force", {"max_force_n": max_force_n}),),
    )
    w = helper.make_tensor("W", TensorProto.FLOAT, [2, 1], [gain, 0.5])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "W"], ["actions"])],
        "toy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["B", 2])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, ["B", 1])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    meta = model.metadata_props.add()
    meta.key, meta.value = METADATA_KEY, contract.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def test_a_toy_domain_runs_a_policy_through_the_registry(toy_domain, tmp_path):
    policy = OnnxPolicy(toy_policy(tmp_path / "p.onnx", gain=-1.0))
    assert policy.contract.domain == "toy"
    d = get_domain(policy.contract.domain)
    cart = d.load_description("cart")
    ctl = d.controller(policy, cart, control_rate_hz=10.0)
    # obs = [x / 2, prev]; action = -x/2 + 0.5 prev; force = 2 N * clip(action)
    assert ctl.step(1.0) == pytest.approx(-1.0)  # action -0.5
    assert ctl.step(1.0) == pytest.approx(2.0 * (-0.5 + 0.5 * -0.5))  # prev -0.5
    assert ctl.step(float("nan")) == 0.0  # NaN in, NaN action -> 0 N, never NaN out
    with pytest.raises(ContractMismatchError, match="control_rate_hz"):
        d.controller(policy, cart, control_rate_hz=20.0)
    with pytest.raises(ContractMismatchError, match="max_force_n"):
        d.controller(OnnxPolicy(toy_policy(tmp_path / "strong.onnx", -1.0, max_force_n=9.0)), cart)


def test_an_unregistered_domain_cannot_load(tmp_path, toy_domain):
    path = toy_policy(tmp_path / "p.onnx", gain=1.0)
    unregister_domain("toy")
    try:
        with pytest.raises(ConfigError, match="unknown domain 'toy'"):
            OnnxPolicy(path)
    finally:
        register_domain(toy_domain)


def test_swap_policy_between_steps(toy_domain, tmp_path):
    cart = ToyCart("cart", 5.0)
    ctl = ToyController(OnnxPolicy(toy_policy(tmp_path / "a.onnx", gain=-1.0)), cart)
    assert ctl.step(1.0) == pytest.approx(-1.0)
    ctl.swap_policy(OnnxPolicy(toy_policy(tmp_path / "b.onnx", gain=1.0)))
    # same interface: swapped, the previous action (-0.5) carries over: 0.5 + 0.5 * -0.5
    assert ctl.step(1.0) == pytest.approx(2.0 * 0.25)
    other = OnnxPolicy(toy_policy(tmp_path / "c.onnx", gain=1.0, rate_hz=20.0))
    with pytest.raises(ContractMismatchError) as err:
        ctl.swap_policy(other)
    assert err.value.field == "control_rate_hz"
    assert ctl.policy.path.name == "b.onnx"  # refused: the running policy stays
