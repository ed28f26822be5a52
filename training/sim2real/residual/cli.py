"""``sim2real finetune <domain>``'s options (light: the command line is built without torch)."""

from __future__ import annotations

import argparse


def finetune_cli(a: argparse.Namespace) -> int:
    from .finetune import finetune_cli as run

    return run(a)


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", required=True, help="the base policy folder (a behaviour-cloned policy)")
    p.add_argument("--dataset", required=True, help="its LeRobot v3 demonstration dataset")
    p.add_argument("--budget-steps", type=int, help="environment transitions to collect (default 20000)")
    p.add_argument("--num-envs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--run-dir", required=True)
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir from its latest checkpoint"
    )
    p.add_argument("--export-every-steps", type=int, help="also export the policy every N steps (hot reload)")
    p.add_argument("--scale", type=float, help="largest residual per action entry (default 0.1)")
    p.add_argument("--utd-ratio", type=float, help="critic updates per environment transition (default 2)")
    p.add_argument("--batch-size", type=int, help="transitions per update, half online half demo (256)")
    p.add_argument("--critic-hidden", type=int, nargs="+", help="critic hidden layer sizes (256 256)")
    p.add_argument("--ensemble", type=int, help="critics in the ensemble (10)")
    p.add_argument(
        "--critic-warmup-updates", type=int, help="critic updates before the first actor update (500)"
    )
    p.add_argument(
        "--discrete-scale",
        type=float,
        help="largest residual of a switch such as the gripper (default: --scale; 2 can flip it)",
    )
    p.add_argument(
        "--bc-weight",
        type=float,
        help="weight of the Q-filtered behaviour-cloning term on demonstration rows (0: off)",
    )
    p.add_argument("--export-to", help="the policy folder those exports replace atomically")
