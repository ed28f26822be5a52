"""What the toy_policy launch files share beyond :mod:`sim2real_ros.launch_args` (standard library
only, so launch files stay importable without ROS 2)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sim2real_ros import launch_args as common

PACKAGE = "toy_policy"
ARGUMENTS = {
    **common.common_arguments(PACKAGE, "the package's config/<cart>.yaml"),
    "cart": ("cart", "cart name (share/toy_policy/carts/<name>.yaml) or a cart YAML path"),
}
"""Launch argument name -> (default, description)."""

policy_node = partial(common.policy_node, PACKAGE)


def cart_file(cart: str, share_dir: str | Path) -> str:
    """A cart name -> the installed ``carts/<name>.yaml``; a YAML path is kept as is."""
    if cart.endswith((".yaml", ".yml")):
        return cart
    p = Path(share_dir) / "carts" / f"{cart}.yaml"
    if not p.is_file():
        known = sorted(f.stem for f in (Path(share_dir) / "carts").glob("*.yaml"))
        raise ValueError(f"launch argument cart:={cart}: unknown cart (installed: {', '.join(known)})")
    return str(p)


def node_parameters(values: dict[str, str], share_dir: str | Path, use_sim_time: bool) -> list:
    """The toy_policy node's ``parameters=`` list: the params file, then the launch overrides."""
    policy = common.policy_path(values)
    cart = values.get("cart") or "cart"
    params_file = common.params_file(values, share_dir, f"{Path(cart).stem}.yaml")
    if not Path(params_file).is_file():  # no parameters file for this cart: the default cart's
        params_file = str(Path(share_dir) / "config" / "cart.yaml")
    return [
        params_file,
        {"policy_path": policy, "cart": cart_file(cart, share_dir), "use_sim_time": use_sim_time},
    ]
