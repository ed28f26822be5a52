"""The sim2real command end to end: evaluation output, and bad input that names file and field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim2real.cli import main


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("w") / "worlds"
    assert main(["worlds", "--out", str(out), "--count", "2", "--seed", "5"]) == 0
    return out


def test_eval_policy_and_dwa_writes_results_and_plot(tiny_policy, worlds, tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(
        [
            "eval",
            "nav",
            "--policy",
            str(tiny_policy),
            "--planner",
            "dwa",
            "--scenarios",
            str(worlds),
            "--sim",
            "kinematic",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    # trained with the default config, whose contract asks for the DWA fallback: eval runs it
    assert set(doc["summary"]) == {"policy:nav_tiny+dwa_fallback", "dwa"}
    assert len(doc["episodes"]) == 4
    for ep in doc["episodes"]:
        assert ep["success"] + ep["collision"] + ep["timeout"] == 1
        assert 0.0 <= ep["score"] <= 0.5
        assert len(ep["trajectory"]) >= 2
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert "| policy:nav_tiny+dwa_fallback |" in capsys.readouterr().out


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim2real.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_malformed_scenario_exits_2_names_field_and_writes_nothing(tmp_path, tiny_policy):
    bad = tmp_path / "bad.scenario.yaml"
    bad.write_text("start: [0, 0, 0]\ngoal: [1, 2]\nobstacles: [[0, 0, 'wide']]\n")
    out = tmp_path / "r.json"
    p = run_cli("eval", "nav", "--policy", str(tiny_policy), "--scenarios", str(bad), "--out", str(out))
    assert p.returncode == 2
    assert str(bad) in p.stderr and "obstacles[0][2]" in p.stderr
    assert not out.exists() and not out.with_suffix(".png").exists()


def test_contract_mismatch_exits_2_naming_field(tmp_path, tiny_policy, worlds):
    out = tmp_path / "r.json"
    p = run_cli(
        "eval",
        "nav",
        "--policy",
        str(tiny_policy),
        "--robot",
        "turtlebot3_burger",
        "--scenarios",
        str(worlds),
        "--out",
        str(out),
    )
    assert p.returncode == 2
    assert "robot.footprint_length_m" in p.stderr and "policy.onnx" in p.stderr
    assert not out.exists()


def test_unknown_robot_exits_2(tmp_path):
    p = run_cli("train", "nav", "--robot", "mars_rover", "--run-dir", str(tmp_path / "run"))
    assert p.returncode == 2 and "mars_rover" in p.stderr and "unknown robot" in p.stderr
    assert not (tmp_path / "run").exists()


def test_missing_policy_exits_2(tmp_path, worlds):
    p = run_cli("eval", "nav", "--policy", str(tmp_path / "nope"), "--scenarios", str(worlds))
    assert p.returncode == 2 and "no such policy file" in p.stderr


def test_resume_continues_iterations(tiny_run, tmp_path):
    import dataclasses

    from sim2real.nav.train import config_from_dict
    from sim2real.tasks import get_task
    from sim2real.trainers import train

    run, ckpt = tiny_run
    cfg = config_from_dict(json.loads((run / "config.json").read_text()))
    cfg = dataclasses.replace(cfg, max_iterations=4)
    final = train(get_task("nav"), cfg, tmp_path / "resumed", resume=ckpt)
    # The first run ended at iteration 1; resuming runs iterations 1..3 and saves model_3 (what
    # train returns is the checkpoint chosen on the validation worlds, one of the run's own).
    assert (tmp_path / "resumed" / "model_3.pt").exists()
    assert final.parent == tmp_path / "resumed" and final.name.startswith("model_")
    # The steps behind the policy include the first run's: model_<k>.pt holds k + 1 iterations of
    # 16 x 8 steps, and the resumed run repeats iteration k, so 5 iterations in all whatever k.
    k = int(ckpt.stem.split("_")[1])
    summary = json.loads((tmp_path / "resumed" / "train_summary.json").read_text())
    assert summary["env_steps_this_run"] == (4 - k) * 128
    assert summary["env_steps"] == 5 * 128
    assert summary["resumed_from"] == str(ckpt)


def test_same_seed_same_policy(tiny_run, tmp_path):
    """Training is reproducible: the same config and seed give bit-identical actor weights."""
    import torch

    from sim2real.nav.train import config_from_dict
    from sim2real.tasks import get_task
    from sim2real.trainers import train

    run, ckpt = tiny_run
    cfg = config_from_dict(json.loads((run / "config.json").read_text()))
    again = train(get_task("nav"), cfg, tmp_path / "again")
    a = torch.load(ckpt, weights_only=False)["actor_state_dict"]
    b = torch.load(again, weights_only=False)["actor_state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_dwa_eval_works_for_another_robot_config(worlds, tmp_path):
    """The evaluator and baseline take any robot file: a TurtleBot3 Burger on a generated world."""
    out = tmp_path / "tb3.json"
    one = sorted(worlds.glob("*.scenario.yaml"))[0]
    rc = main(["eval", "nav", "--planner", "dwa", "--robot", "turtlebot3_burger", "--scenarios", str(one),
               "--sim", "kinematic", "--workers", "1", "--out", str(out)])  # fmt: skip
    assert rc == 0
    doc = json.loads(out.read_text())
    ep = doc["episodes"][0]
    assert doc["meta"]["controllers"][0]["robot"] == "turtlebot3_burger"
    assert ep["success"] + ep["collision"] + ep["timeout"] == 1
    # 0.22 m/s top speed: never more than 0.22 m per second of simulated time.
    assert ep["path_length_m"] <= 0.22 * ep["time_s"] + 1e-6


def test_list_names_every_registered_task(capsys):
    from sim2real.tasks import all_tasks

    assert main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [" ".join(line.split()[:2]) for line in out] == [f"{t.domain} {t.name}" for t in all_tasks()]


def test_train_and_export_manip_reach_through_the_cli(tmp_path, capsys):
    """``train manip --task reach`` writes the draft contract first; ``export manip --run`` uses it."""
    from sim2real.manip.config import DaggerConfig, ManipTaskConfig, ManipTrainConfig
    from sim2real.rl import config_to_dict

    run, out, cfg = tmp_path / "run", tmp_path / "pol", tmp_path / "config.json"
    small = DaggerConfig(steps_per_iteration=10, hidden_dims=(16, 16), updates_per_iteration=2, batch_size=16)
    reach = ManipTrainConfig(ManipTaskConfig(task="reach"), small, threads=1)
    cfg.write_text(json.dumps(config_to_dict(reach)))
    assert main(["train", "manip", "--task", "reach", "--config", str(cfg), "--iterations", "1",
                 "--num-envs", "2", "--seed", "5", "--run-dir", str(run)]) == 0  # fmt: skip
    draft = json.loads((run / "contract.draft.json").read_text())
    assert draft["domain"] == "manip" and draft["provenance"]["task"] == "manip/reach"
    assert draft["provenance"]["description_files"][0]["path"].endswith("panda.urdf")
    assert main(["export", "manip", "--run", str(run), "--out", str(out)]) == 0
    from sim2real_runtime.policy import OnnxPolicy

    c = OnnxPolicy(out).contract
    assert c.robot["task"]["name"] == "reach" and c.provenance["seed"] == 5
    assert c.provenance["description_files"] == draft["provenance"]["description_files"]


def test_bad_config_file_exits_2_naming_it_and_writes_nothing(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"task": {"robot": "jackal", "no_such_field": 1}}))
    p = run_cli("train", "nav", "--config", str(bad), "--run-dir", str(tmp_path / "run"))
    assert p.returncode == 2 and str(bad) in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
    p = run_cli("train", "nav", "--task", "nope", "--run-dir", str(tmp_path / "run"))
    assert p.returncode == 2 and not (tmp_path / "run").exists()


# ------------------------------------------------- export's folder, bad files, Ctrl-C (issue 12)


def _one_line_naming(capsys, path) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err and "Traceback" not in err, err
    return err


def test_export_refuses_an_existing_folder_and_overwrite_replaces_it_wholly(tiny_run, tmp_path, capsys):
    """Defect 5: the old README, evaluation and curve of another policy must not survive."""
    run, ckpt = tiny_run
    out = tmp_path / "policies" / "nav_x"
    out.mkdir(parents=True)
    for stale in ("README.md", "evaluation.json", "training_curve.png", "policy.onnx"):
        (out / stale).write_text("another policy's\n")
    args = ["export", "--run", str(run), "--checkpoint", str(ckpt), "--out", str(out)]
    assert main(args) == 2
    assert "--overwrite" in _one_line_naming(capsys, out)
    assert (out / "README.md").read_text() == "another policy's\n"  # refused: untouched
    assert main([*args, "--overwrite"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert "README.md" not in names and "evaluation.json" not in names
    assert {"policy.onnx", "policy.yaml", "train_config.json"} <= set(names)
    assert (out / "policy.onnx").read_bytes() != b"another policy's\n"
    assert [p.name for p in out.parent.iterdir()] == ["nav_x"]  # no temporary sibling left


def _bad_checkpoints(run: Path, ckpt: Path, where: Path) -> list[Path]:
    import torch

    data = ckpt.read_bytes()
    out = []
    for name, content in (
        ("truncated.pt", data[: len(data) // 2]),
        ("garbage.pt", b"\x00\xffnot a checkpoint" * 50),
        ("empty.pt", b""),
    ):
        (where / name).write_bytes(content)
        out.append(where / name)
    torch.save({"something": 1}, where / "foreign.pt")
    torch.save({"actor_state_dict": {"w": torch.zeros(3)}}, where / "other_actor.pt")
    return [*out, where / "foreign.pt", where / "other_actor.pt"]


def test_bad_checkpoints_are_one_line_naming_the_file_exit_2(tiny_run, tmp_path, capsys):
    """Defect 6: export (and train --resume) from a truncated or foreign checkpoint."""
    run, ckpt = tiny_run
    for bad in _bad_checkpoints(run, ckpt, tmp_path):
        out = tmp_path / f"pol_{bad.stem}"
        assert main(["export", "--run", str(run), "--checkpoint", str(bad), "--out", str(out)]) == 2
        _one_line_naming(capsys, bad)
        assert not out.exists()
    bad = tmp_path / "truncated.pt"
    assert main(["train", "nav", "--resume", str(bad), "--run-dir", str(tmp_path / "r")]) == 2
    _one_line_naming(capsys, bad)
    assert not (tmp_path / "r").exists()


def test_bad_run_files_and_folders_are_one_line_exit_2(tiny_run, tmp_path, capsys):
    import shutil

    run, ckpt = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    out = tmp_path / "pol"
    for name, content in (
        ("config.json", b"\xff\xfe binary"),
        ("config.json", b"[1, 2]"),
        ("contract.draft.json", b'{"schema_version": 2'),
        ("contract.draft.json", b"[]"),
        ("train_summary.json", b'{"x"'),
    ):
        saved = (copy / name).read_bytes()
        (copy / name).write_bytes(content)
        assert main(["export", "--run", str(copy), "--checkpoint", str(ckpt), "--out", str(out)]) == 2
        _one_line_naming(capsys, copy / name)
        (copy / name).write_bytes(saved)
        assert not out.exists()
    missing = tmp_path / "no_such_run"
    assert main(["export", "--run", str(missing), "--out", str(out)]) == 2
    _one_line_naming(capsys, missing)
    binary = tmp_path / "b.scenario.yaml"
    binary.write_bytes(b"\xff\xfe\x00binary")
    for args in (
        ["train", "nav", "--config", str(binary), "--run-dir", str(tmp_path / "r")],
        ["eval", "nav", "--planner", "dwa", "--scenarios", str(binary), "--out", str(tmp_path / "e.json")],
        ["robot", "urdf", str(binary)],
    ):
        assert main(args) == 2, args
        _one_line_naming(capsys, binary)
    for count in ("0", "-3"):
        assert main(["worlds", "--out", str(tmp_path / "w"), "--count", count]) == 2
        assert "--count" in capsys.readouterr().err
    assert not (tmp_path / "w").exists() and not (tmp_path / "r").exists()


def test_ctrl_c_during_worlds_is_one_line_exit_130_and_writes_nothing(tmp_path):
    """Defect 10: SIGINT while the worlds are generated: no traceback, nothing half-written."""
    import signal
    import time

    out = tmp_path / "worlds"
    p = subprocess.Popen(
        [sys.executable, "-m", "sim2real.cli", "worlds", "--out", str(out), "--count", "5000"],
        stderr=subprocess.PIPE,
        text=True,
        # A shell without job control starts background jobs with SIGINT ignored, and the child
        # would inherit that (CI may run us so): give it the default disposition, as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not any(tmp_path.glob(".worlds.*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until it is writing into its temporary sibling
    time.sleep(0.3)
    assert p.poll() is None, "sim2real worlds ended before it could be interrupted"
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 130, err
    assert err.strip() == "interrupted"
    assert list(tmp_path.iterdir()) == []


def test_benchmark_nav_runs_on_two_worlds(tmp_path):
    """The README's command 1 (`sim2real benchmark nav`), on 2 worlds in the fast simulator: it must
    keep working whatever options `eval nav` gains."""
    out = tmp_path / "bench"
    args = ["benchmark", "nav", "--count", "2", "--sim", "kinematic", "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    text = (out / "nav_benchmark.json").read_text()
    json.loads(text)
    assert '"policy"' in text and '"dwa"' in text
    assert len(list((out / "worlds").glob("*.scenario.yaml"))) == 2
