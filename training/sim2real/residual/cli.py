"""``sim2real finetune <domain>``'s options (light: the command line is built without torch)."""

from __future__ import annotations

import argparse


def finetune_cli(a: argparse.Namespace) -> int:
    from .finetune import finetune_cli as run

    return run(a)


RESIDUAL_FLAGS = (
    "scale",
    "utd_ratio",
    "batch_size",
    "critic_hidden",
    "ensemble",
    "critic_warmup_updates",
    "bc_weight",
    "discrete_scale",
)
"""The residual learner's settings a command line may give (``--scale`` ...): what
:func:`add_residual_args` adds, :func:`residual_argv` writes back and
:func:`sim2real.residual.finetune.residual_from_args` reads."""


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
    add_residual_args(p)
    p.add_argument("--export-to", help="the policy folder those exports replace atomically")


def add_residual_args(p: argparse.ArgumentParser) -> None:
    """The residual learner's flags, shared by ``sim2real finetune`` and ``sim2real hil``
    (read back by :func:`sim2real.residual.finetune.residual_from_args`; unset = the config's)."""
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
        help="Q-filtered behaviour cloning on demonstration (and, in HIL, intervention) rows (0: off)",
    )


def residual_argv(a: argparse.Namespace) -> list[str]:
    """The flags of :func:`add_residual_args` that ``a`` sets, as a command line."""
    out: list[str] = []
    for flag in RESIDUAL_FLAGS:
        v = getattr(a, flag, None)
        if v is None or v == []:
            continue
        out += [f"--{flag.replace('_', '-')}", *map(str, v if isinstance(v, (list, tuple)) else [v])]
    return out
