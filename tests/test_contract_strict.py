"""Malformed contracts, generated from every registered domain's real ones (issue 12, defects 2-3).

The contracts: the shipped policies' and every registered task's draft. From each, every field
is removed, an unknown field is added at every level, every number is perturbed (NaN, +-inf,
negative, zero, huge, wrong type) and the pairs of values the contract stores twice are made to
disagree. Each bad contract must be refused with a ConfigError naming the field; where a perturbed
value is still valid, the domain's compatibility check must either accept it or refuse it with a
ContractMismatchError/ConfigError, nothing else.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
from collections.abc import Iterator
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest

from sim2real.draft import build_draft
from sim2real.tasks import all_tasks
from sim2real_runtime.contract import PolicyContract
from sim2real_runtime.domains import get_domain
from sim2real_runtime.errors import ConfigError, ContractMismatchError
from sim2real_runtime.kinematics import ChainJoint
from sim2real_runtime.manip_control import ManipSafetyConfig
from sim2real_runtime.policy import read_contract
from sim2real_runtime.robot import LidarConfig, RobotConfig

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for p in (REPO / "policies").iterdir() if (p / "policy.onnx").is_file())
TASKS = all_tasks()


def _contracts() -> list[tuple[str, dict]]:
    out = [(f"shipped:{p.name}", json.loads(read_contract(p).to_json())) for p in SHIPPED]
    for t in TASKS:
        out.append((f"draft:{t.key}", json.loads(build_draft(t, t.default_config()).to_json())))
    return out


CONTRACTS = _contracts()
IDS = [name for name, _ in CONTRACTS]

FREE_FORM = re.compile(r"^(provenance|evaluation)(\.|$)|^robot\.rate_loop\.")
"""Free-form by documentation: provenance and evaluation; the quad rate loop's gain names."""


def _defaulted(cls: type) -> str:
    names = [f.name for f in fields(cls) if f.default is not MISSING or f.default_factory is not MISSING]
    return "|".join(n for n in names if n != "source") or "(?!)"


DEFAULTED = re.compile(
    r"^(joint_names|recurrent_state|provenance|evaluation)$"
    r"|^(observation|action)\.size$"
    r"|\.params(\.|$)"  # term parameters are the term kind's; a missing one the term needs is refused
    rf"|^robot\.({_defaulted(RobotConfig)})$"
    rf"|^robot\.lidar\.({_defaulted(LidarConfig)})$"
    rf"|^robot\.safety\.({_defaulted(ManipSafetyConfig)})$"
    rf"|^robot\.kinematics\.joints\[\d+\]\.({_defaulted(ChainJoint)})$"
)
"""Fields with a documented default (read from the description classes): removing one may be
accepted."""


def _paths(d: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any, Any]]:
    """(dotted path, container, key, value) of every field, depth first."""
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else ()
    for k, v in items:
        path = f"{prefix}[{k}]" if isinstance(k, int) else (f"{prefix}.{k}" if prefix else str(k))
        yield path, d, k, v
        yield from _paths(v, path)


def _get(doc: dict, path: str) -> tuple[Any, Any]:
    """The container and key of ``path`` in ``doc``."""
    for p, container, key, _ in _paths(doc):
        if p == path:
            return container, key
    raise KeyError(path)


def _description(doc: dict) -> Any:
    """The description the contract was made for (its own robot), loaded by its domain."""
    domain = get_domain(doc["domain"])
    robot = doc["robot"]
    name = REPO / robot["urdf"] if "urdf" in robot else robot["name"]
    return domain.load_description(domain.description_file(name))


def _names(err: ConfigError, path: str) -> bool:
    """The error names the field, a field containing it, or one inside it."""
    f = err.field
    return f == path or path.startswith(f + ".") or path.startswith(f + "[") or f.startswith(path)


def _accepted_or_named(doc: dict, path: str, description: Any) -> PolicyContract | None:
    """Load ``doc``: a refusal must name ``path`` (or its key, for a contradicting pair); an
    acceptance must survive the domain's compatibility check."""
    try:
        c = PolicyContract.from_dict(doc, "p.onnx")
    except ConfigError as err:
        key = re.split(r"[.\[]", path)[-1].rstrip("]")
        assert _names(err, path) or key in str(err), f"{path}: refused naming {err.field!r}: {err}"
        return None
    with contextlib.suppress(ContractMismatchError, ConfigError):
        get_domain(c.domain).check_compatible(c, description, "p.onnx")
    return c


@pytest.fixture(scope="module")
def descriptions() -> dict[str, Any]:
    return {name: _description(doc) for name, doc in CONTRACTS}


@pytest.mark.parametrize(("name", "doc"), CONTRACTS, ids=IDS)
def test_the_contracts_load_and_fit_their_own_robot(name, doc, descriptions):
    c = PolicyContract.from_dict(copy.deepcopy(doc), name)
    get_domain(c.domain).check_compatible(c, descriptions[name], name)


@pytest.mark.parametrize(("name", "doc"), CONTRACTS, ids=IDS)
def test_every_field_removed_is_refused_naming_it_unless_it_has_a_default(name, doc, descriptions):
    checked = 0
    for path, _, key, _ in list(_paths(doc)):
        if isinstance(key, int) or FREE_FORM.search(path):
            continue
        bad = copy.deepcopy(doc)
        container, k = _get(bad, path)
        del container[k]
        c = _accepted_or_named(bad, path, descriptions[name])
        if c is not None:
            assert DEFAULTED.search(path), f"{name}: {path} removed and accepted, but it has no default"
        checked += 1
    assert checked > 20


@pytest.mark.parametrize(("name", "doc"), CONTRACTS, ids=IDS)
def test_an_unknown_field_is_refused_naming_it_at_every_level(name, doc):
    levels = [("", doc)] + [(p, v) for p, _, _, v in _paths(doc) if isinstance(v, dict)]
    checked = 0
    for path, _ in levels:
        if FREE_FORM.search(path) or re.search(r"\.params(\.|$)", path) or path == "robot.rate_loop":
            continue  # free-form objects, and term parameters (the kind's own)
        bad = copy.deepcopy(doc)
        target = bad if not path else _get(bad, path)[0][_get(bad, path)[1]]
        target["bogus_field"] = 1.0
        with pytest.raises(ConfigError) as err:
            PolicyContract.from_dict(bad, "p.onnx")
        want = f"{path}.bogus_field" if path else "bogus_field"
        assert err.value.field == want, f"{name}: {err.value}"
        checked += 1
    assert checked >= 5


PERTURBATIONS: list[tuple[str, Any]] = [
    ("nan", math.nan),
    ("inf", math.inf),
    ("-inf", -math.inf),
    ("negative", None),  # minus the value (or -1 for a zero)
    ("zero", 0),
    ("huge", 1e12),
    ("string", "1.0"),
    ("null", None),
    ("bool", True),
]


@pytest.mark.parametrize(("name", "doc"), CONTRACTS, ids=IDS)
def test_every_number_perturbed_is_refused_naming_it_or_checked_safely(name, doc, descriptions):
    numbers = [
        (p, v)
        for p, _, _, v in _paths(doc)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not FREE_FORM.search(p)
    ]
    assert numbers
    for path, value in numbers:
        for kind, new in PERTURBATIONS:
            if kind == "negative":
                new = -value if value else -1
            bad = copy.deepcopy(doc)
            container, k = _get(bad, path)
            container[k] = new
            c = _accepted_or_named(bad, path, descriptions[name])
            if kind in ("nan", "inf", "-inf", "string", "null", "bool"):
                assert c is None, f"{name}: {path} = {new!r} accepted"


def _pairs(doc: dict) -> Iterator[tuple[str, Any]]:
    """(name, mutation) for every pair of values the contract stores twice, made to disagree."""
    obs, act = doc["observation"]["terms"], doc["action"]["terms"]

    def mut(fn):
        return fn

    if any("dt_s" in t["params"] or "max_delta_rad" in t["params"] for t in act):
        yield (
            "control_rate_hz vs the action's period or per-period scale",
            mut(lambda d: d.update(control_rate_hz=d["control_rate_hz"] * 2)),
        )
    yield (
        "observation.size vs the terms",
        mut(lambda d: d["observation"].update(size=d["observation"]["size"] + 1)),
    )
    yield "action.size vs the terms", mut(lambda d: d["action"].update(size=d["action"]["size"] + 1))
    for i, t in enumerate(obs):
        if t["kind"] == "previous_action":
            yield (
                f"observation.terms[{i}] previous_action vs action size",
                mut(
                    lambda d, i=i: d["observation"]["terms"][i].update(
                        size=d["observation"]["terms"][i]["size"] + 1
                    )
                ),
            )
        for lo, hi in (("low", "high"), ("lower", "upper")):
            if lo in t["params"]:
                yield (
                    f"observation.terms[{i}].params.{lo}/{hi} swapped",
                    mut(
                        lambda d, i=i, lo=lo, hi=hi: d["observation"]["terms"][i]["params"].update(
                            {
                                lo: d["observation"]["terms"][i]["params"][hi],
                                hi: d["observation"]["terms"][i]["params"][lo],
                            }
                        )
                    ),
                )
    for i, t in enumerate(act):
        if "low" in t["params"]:
            yield (
                f"action.terms[{i}].params low/high swapped",
                mut(
                    lambda d, i=i: d["action"]["terms"][i]["params"].update(
                        low=d["action"]["terms"][i]["params"]["high"],
                        high=d["action"]["terms"][i]["params"]["low"],
                    )
                ),
            )
    robot = doc["robot"]
    if doc["domain"] == "nav":
        for i, t in enumerate(obs):
            if t["kind"] == "lidar_sectors":
                for key in ("num_beams", "fov_rad", "range_min_m", "range_max_m"):
                    yield (
                        f"robot.lidar.{key} vs the lidar term",
                        mut(
                            lambda d, key=key: d["robot"]["lidar"].update(
                                {key: d["robot"]["lidar"][key] * 1.5 + 1}
                            )
                        ),
                    )
                yield (
                    "num_sectors vs the lidar term's size",
                    mut(lambda d, i=i: d["observation"]["terms"][i]["params"].update(num_sectors=36)),
                )
                yield (
                    "range_clip_m beyond the lidar's range",
                    mut(lambda d, i=i: d["observation"]["terms"][i]["params"].update(range_clip_m=1e3)),
                )
        yield "the action's speed vs the robot's", mut(lambda d: d["robot"].update(max_linear_speed_mps=0.1))
        yield (
            "the action's accel vs the robot's",
            mut(lambda d: d["robot"].update(max_angular_accel_radps2=0.1)),
        )
    if doc["domain"] == "quad":
        yield (
            "the vehicle outside its own envelope (mass)",
            mut(lambda d: d["robot"].update(mass_kg=robot["mass_kg"] * 1.6)),
        )
        yield (
            "the vehicle outside its own envelope (motor)",
            mut(
                lambda d: d["robot"].update(
                    motor_time_constant_s=robot["training_envelope"]["motor_time_constant_s"][1] * 2
                )
            ),
        )
        yield (
            "an envelope low above high",
            mut(lambda d: d["robot"]["training_envelope"].update(thrust_to_weight=[3.0, 1.2])),
        )
        for i, t in enumerate(obs):
            if t["kind"] == "reference_lookahead":
                yield (
                    "lookahead num_points vs size",
                    mut(
                        lambda d, i=i: d["observation"]["terms"][i]["params"].update(
                            num_points=d["observation"]["terms"][i]["params"]["num_points"] + 1
                        )
                    ),
                )
        yield (
            "hover outside the thrust range",
            mut(lambda d: d["action"]["terms"][0]["params"].update(accel_range_mps2=[11.0, 16.0])),
        )
    if doc["domain"] == "manip":
        yield (
            "joint_names vs the chain",
            mut(lambda d: d.update(joint_names=list(reversed(d["joint_names"])))),
        )
        yield (
            "a joint limit vs the chain",
            mut(
                lambda d: d["robot"]["kinematics"]["joints"][3].update(
                    upper=d["robot"]["kinematics"]["joints"][3]["upper"] + 0.5
                )
            ),
        )
        yield (
            "a velocity limit vs the chain",
            mut(lambda d: d["robot"]["kinematics"]["joints"][0].update(velocity_limit=1.0)),
        )
        yield (
            "gripper width vs the robot's gripper",
            mut(lambda d: d["robot"]["gripper"].update(max_width_m=0.2)),
        )
        yield (
            "a workspace min above its max",
            mut(lambda d: d["robot"]["safety"].update(workspace_min_m=[0.9, 0, 0])),
        )
        for i, t in enumerate(act):
            if "joint_names" in t["params"]:
                yield (
                    "the action's joint names vs the chain",
                    mut(
                        lambda d, i=i: d["action"]["terms"][i]["params"].update(
                            joint_names=list(reversed(d["joint_names"]))
                        )
                    ),
                )


@pytest.mark.parametrize(("name", "doc"), CONTRACTS, ids=IDS)
def test_contradictory_pairs_are_refused_naming_a_field(name, doc):
    count = 0
    for what, mutate in _pairs(doc):
        bad = copy.deepcopy(doc)
        mutate(bad)
        with pytest.raises(ConfigError) as err:
            PolicyContract.from_dict(bad, "p.onnx")
            pytest.fail(f"{name}: {what}: accepted")
        assert err.value.field not in ("", "<root>"), f"{name}: {what}: {err.value}"
        count += 1
    assert count >= 4


def test_a_missing_robot_mass_is_refused_naming_it():
    """The issue's example: the robot block's mass_kg removed (eval and deploy used to run)."""
    for name, doc in CONTRACTS:
        if "mass_kg" not in doc["robot"]:
            continue
        bad = copy.deepcopy(doc)
        del bad["robot"]["mass_kg"]
        with pytest.raises(ConfigError) as err:
            PolicyContract.from_dict(bad, name)
        assert err.value.field == "robot.mass_kg" and "missing" in str(err.value)


def test_a_domain_without_a_validator_checks_only_the_generic_rules():
    """A domain that registers no validate_contract: the robot block must be a JSON object of
    finite numbers, nothing else (documented on Domain.validate_contract)."""
    from dataclasses import replace

    from sim2real_runtime.domains import _DOMAINS

    nav = get_domain("nav")
    doc = copy.deepcopy(dict(CONTRACTS[IDS.index("shipped:nav_jackal")][1]))
    _DOMAINS["nav"] = replace(nav, validate_contract=None)
    try:
        del doc["robot"]["mass_kg"]
        PolicyContract.from_dict(doc, "p.onnx")  # accepted: nothing checks nav's robot schema now
        doc["robot"]["lidar"]["fov_rad"] = math.nan
        with pytest.raises(ConfigError) as err:
            PolicyContract.from_dict(doc, "p.onnx")
        assert err.value.field == "robot.lidar.fov_rad"
        doc["robot"] = [1, 2]
        with pytest.raises(ConfigError) as err:
            PolicyContract.from_dict(doc, "p.onnx")
        assert err.value.field == "robot"
    finally:
        _DOMAINS["nav"] = nav
