"""Errors cross process boundaries (eval workers in a process pool) with their fields intact."""

from __future__ import annotations

import pickle

from sim2real_runtime.errors import ConfigError, ContractMismatchError


def test_config_error_pickles_with_its_fields() -> None:
    e = pickle.loads(pickle.dumps(ConfigError("w.scenario.yaml", "goal.x", "is NaN")))
    assert isinstance(e, ConfigError)
    assert (e.source, e.field, e.message) == ("w.scenario.yaml", "goal.x", "is NaN")
    assert str(e) == "w.scenario.yaml: field 'goal.x': is NaN"


def test_contract_mismatch_pickles_with_its_fields() -> None:
    e = pickle.loads(pickle.dumps(ContractMismatchError("p/", "robot.name", "jackal", "burger")))
    assert isinstance(e, ContractMismatchError)
    assert (e.policy, e.field, e.expected, e.actual) == ("p/", "robot.name", "jackal", "burger")
    assert "policy was trained with 'jackal', robot has 'burger'" in str(e)
