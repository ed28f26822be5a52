"""The shared eval / sim command-line pieces of the arm and hand tasks (sim2real.task_cli)."""

from __future__ import annotations

import argparse
import json

import pytest

from sim2real.task_cli import add_policy_eval_args, finish_evaluation, run_sim_bridge


def test_eval_args_defaults_and_choices():
    p = argparse.ArgumentParser()
    add_policy_eval_args(p, episodes=7, controllers=("policy", "expert"), controller_help="baseline")
    a = p.parse_args(["--policy", "pol"])
    assert (a.policy, a.episodes, a.seed, a.controller, a.out, a.update_card) == (
        "pol", 7, 1000, "policy", None, False,
    )  # fmt: skip
    assert p.parse_args(["--policy", "pol", "--controller", "expert"]).controller == "expert"
    with pytest.raises(SystemExit):
        p.parse_args(["--policy", "pol", "--controller", "scripted"])


def test_finish_evaluation_writes_the_report(tmp_path, capsys):
    out = tmp_path / "r.json"
    a = argparse.Namespace(out=str(out), update_card=False, controller="policy", policy="pol")
    report = {"summary": {"success_rate": 0.5}, "episodes": [1, 2]}
    assert finish_evaluation(a, report, "SUMMARY") == 0
    assert json.loads(out.read_text()) == report
    assert capsys.readouterr().out.splitlines() == ["SUMMARY", f"wrote {out}"]
    written = []
    finish_evaluation(a, report, "S", write=lambda r, path: written.append((r, path)))
    assert written == [(report, out)]


class _Bridge:
    def __init__(self, interrupt: bool) -> None:
        self.interrupt, self.steps = interrupt, 0

    def run(self, until):
        while not until():
            self.steps += 1
            if self.interrupt and self.steps == 3:
                raise KeyboardInterrupt

    def status(self):
        return {"steps": self.steps}


class _Transport:
    closed = False

    def close(self):
        self.closed = True


@pytest.mark.parametrize("interrupt", [False, True])
def test_run_sim_bridge_writes_the_result_even_after_ctrl_c(tmp_path, capsys, interrupt):
    bridge, transport, result = _Bridge(interrupt), _Transport(), tmp_path / "res.json"
    a = argparse.Namespace(result=str(result), seed=4)
    assert run_sim_bridge(bridge, transport, a, lambda: bridge.steps >= 5) == 0
    steps = 3 if interrupt else 5
    assert json.loads(result.read_text()) == {"steps": steps, "seed": 4}
    assert json.loads(capsys.readouterr().out) == {"steps": steps}
    assert transport.closed
