"""Behaviour cloning on the arm's pick-and-place vs the number of scripted-human demonstrations.

For each N in ``--demos``: record N successful scripted-human episodes (``sim2real.manip.demos``,
world seed ``--record-seed + N``), train BC on them (the ``bc`` trainer, as ``sim2real train manip
--dataset`` runs it), export, and evaluate the exported policy on ``--episodes`` evaluation
episodes drawn from ``--eval-seed`` (never used for recording or training). In the same run and on
the same evaluation episodes: the privileged scripted expert and the scripted human itself (the
demonstrator, through the teleop mapping). Writes ``benchmarks/results/bc_demos.json`` and
``bc_demos.png`` (success vs N).

    python benchmarks/bc_demos.py [--demos 20 50 100] [--train-seeds 0] [--epochs 100]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from sim2real.export import export_run
from sim2real.manip.config import ManipTrainConfig
from sim2real.manip.demos import EPISODE_SEED_STRIDE, record_demos
from sim2real.manip.env import ManipEnv, max_delta_rad
from sim2real.manip.evaluate import evaluate_policy
from sim2real.manip.scripted_human import ScriptedHuman, mapped_actions
from sim2real.tasks import get_task
from sim2real.trainers import train

OUT = Path(__file__).resolve().parent / "results"


def human_success(cfg: ManipTrainConfig, episodes: int, seed: int, batch: int = 200) -> float:
    """The scripted human's success rate on the evaluation episodes (the worlds evaluate_policy
    draws for ``seed``: batch b from ``seed * 1000 + b``)."""
    from sim2real_runtime.teleop import TeleopConfig
    from sim2real_runtime.teleop.mapping import ManipTeleop

    t = cfg.task
    ok_all = []
    for b, start in enumerate(range(0, episodes, batch)):
        n = min(batch, episodes - start)
        env = ManipEnv(t, n, seed=seed * EPISODE_SEED_STRIDE + b, threads=cfg.threads, auto_reset=False)
        md = max_delta_rad(env.chain, t)
        h = ScriptedHuman(env.chain, md, t.control_rate_hz, seed=seed * EPISODE_SEED_STRIDE + b)
        h.reset(n)
        maps = [ManipTeleop(env.chain, md, t.control_rate_hz, TeleopConfig()) for _ in range(n)]
        env.observe()
        ok = np.zeros(n, bool)
        over = np.zeros(n, bool)
        for _ in range(env.max_steps):
            sig = env._last_signals
            twist, grip = h.command(sig)
            r = env.step(mapped_actions(maps, twist, grip, sig["joint_pos"]))
            ok |= r.success & ~over
            over |= r.success | r.failed
            if over.all():
                break
        ok_all.extend(ok.tolist())
    return float(np.mean(ok_all))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--demos", type=int, nargs="+", default=[20, 50, 100])
    p.add_argument("--train-seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--eval-seed", type=int, default=1000)
    p.add_argument("--record-seed", type=int, default=100)
    p.add_argument("--work", default="runs/bc_demos", help="datasets, runs and policies go here")
    p.add_argument("--out", default=str(OUT / "bc_demos.json"))
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    task = get_task("manip", "pick_place")
    base = task.default_config()
    t_start = time.perf_counter()
    rows = []
    for n in a.demos:
        ds = work / f"demos_{n}"
        rec_seed = a.record_seed + n
        if not ds.exists():
            st = record_demos(ds, n, seed=rec_seed)
            rec = {
                "saved": st.saved,
                "attempted": st.attempted,
                "frames": st.frames,
                "wall_time_s": st.wall_time_s,
                "record_seed": rec_seed,
            }
            (work / f"demos_{n}.json").write_text(json.dumps(rec))
        rec = json.loads((work / f"demos_{n}.json").read_text())
        rec_seed = rec["record_seed"]
        for ts in a.train_seeds:
            run, pol = work / f"run_{n}_s{ts}", work / f"policy_{n}_s{ts}"
            cfg = replace(base, seed=ts, bc=replace(base.bc, dataset=str(ds.resolve()), epochs=a.epochs))
            t0 = time.perf_counter()
            train(task, cfg, run, progress=False, trainer="bc")
            train_s = time.perf_counter() - t0
            export_run(run, pol, overwrite=True)
            ev = evaluate_policy(pol, episodes=a.episodes, seed=a.eval_seed, progress=False)["summary"]
            summ = json.loads((run / "train_summary.json").read_text())
            rows.append({
                "demos": n, "train_seed": ts, "record_seed": rec_seed, "demo_frames": rec["frames"],
                "demo_attempts": rec["attempted"], "success_rate": ev["success_rate"],
                "time_to_success_s_median": ev["time_to_success_s_median"], "dropped": ev["dropped"],
                "train_wall_time_s": train_s, "checkpoint_epoch": summ["checkpoint_epoch"],
                "val_loss": summ["final"]["val_loss"], "policy": str(pol),
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    ref = work / f"policy_{a.demos[0]}_s{a.train_seeds[0]}"
    expert = evaluate_policy(ref, episodes=a.episodes, seed=a.eval_seed, progress=False, controller="expert")
    human = human_success(base, a.episodes, a.eval_seed)
    result = {
        "task": "manip/pick_place",
        "eval_seed": a.eval_seed,
        "episodes": a.episodes,
        "epochs": a.epochs,
        "bc": rows,
        "expert_success_rate": expert["summary"]["success_rate"],
        "scripted_human_success_rate": human,
        "wall_time_s": time.perf_counter() - t_start,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, shared 2-core VM",
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"expert {result['expert_success_rate']:.3f}, scripted human {human:.3f}; wrote {out}")
    plot(result, out.with_suffix(".png"))


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["bc"]
    ns = sorted({r["demos"] for r in rows})
    mean = [np.mean([r["success_rate"] for r in rows if r["demos"] == n]) for n in ns]
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        ax.plot(r["demos"], 100 * r["success_rate"], "o", color="C0", alpha=0.5)
    ax.plot(ns, 100 * np.asarray(mean), "-", color="C0", label="BC (MLP), per training seed and mean")
    ax.axhline(100 * result["expert_success_rate"], color="C2", ls="--", label="scripted expert (privileged)")
    ax.axhline(
        100 * result["scripted_human_success_rate"], color="C1", ls=":", label="scripted human (demonstrator)"
    )
    ax.set(
        xlabel="successful demonstrations",
        ylabel="success (%)",
        ylim=(0, 105),
        title=f"pick_place, {result['episodes']} held-out episodes (seed {result['eval_seed']})",
    )
    ax.set_xticks(ns)
    ax.legend(loc="center right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
