"""Per-control-step cost of teleop beside the policy: the arbiter's decision with a Joy device
(parse, deadband, engagement) and each domain's mapping into the action space (the arm's damped
least squares on the Panda). Prints microseconds per call (median of repeats).

    python benchmarks/teleop_overhead.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from sim2real_ros import msgs
from sim2real_ros.teleop_arbiter import TeleopArbiter
from sim2real_ros.teleop_inputs import JoyDevice
from sim2real_runtime.domains import get_domain
from sim2real_runtime.nav_terms import DiffDriveTwistAction
from sim2real_runtime.teleop import DeviceTeleop, TeleopCommand, TeleopConfig
from sim2real_runtime.teleop.mapping import ManipTeleop, NavTeleop, dls_joint_velocity
from sim2real_runtime.terms import TermSpec

REPO = Path(__file__).resolve().parents[1]


def per_call_us(fn, n: int = 500, repeats: int = 5) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(out)


def main() -> None:
    chain = get_domain("manip").load_description(REPO / "sim_assets" / "panda" / "panda.urdf")
    q = np.array([[0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785]])
    manip = ManipTeleop(chain, chain.velocity_limits * 0.5 / 10.0, 10.0, TeleopConfig())
    cmd = TeleopCommand(True, np.array([0.05, 0.0, -0.02, 0.0, 0.0, 0.3]))
    spec = TermSpec("cmd_vel", "diff_drive_twist", 2, "", "",
                    {"low": [-0.5, -2.0], "high": [2.0, 2.0], "accel": [2.0, 4.0], "dt_s": 0.1})  # fmt: skip
    nav = NavTeleop(DiffDriveTwistAction(spec), TeleopConfig())
    clock = [0.0]
    joy = JoyDevice(None, lambda: clock[0], "/joy")
    msg = msgs.Joy(axes=[0.0, 0.8, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0], buttons=[0, 0, 0, 0, 1] + [0] * 6)
    arb = TeleopArbiter(DeviceTeleop(joy, manip.twist_scale, TeleopConfig()), manip, 0.3)

    def step():
        clock[0] += 0.01
        joy.on_joy(msg)
        arb.decide(clock[0], {"joint_pos": q})

    jac = chain.jacobian(q)[0][0]
    rows = [
        ("manip: Panda Jacobian (the runtime's kinematics)", per_call_us(lambda: chain.jacobian(q))),
        ("manip: DLS solve alone", per_call_us(lambda: dls_joint_velocity(jac, cmd.twist, 0.02))),
        ("manip: twist -> action (J + DLS)", per_call_us(lambda: manip.to_action(cmd, {"joint_pos": q}))),
        ("nav: body twist -> twist action", per_call_us(lambda: nav.to_action(cmd, {}))),
        ("Joy message parse + arbiter decision + manip mapping", per_call_us(step)),
    ]  # fmt: skip
    for name, us in rows:
        print(f"{us:8.1f} us  {name}")


if __name__ == "__main__":
    main()
