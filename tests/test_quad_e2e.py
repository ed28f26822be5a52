"""End to end over DDS: the quadrotor sim bridge and the quad_policy node as separate processes,
with the shipped policy, on both autopilot interfaces; this test listens like a ground station."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import REPO
from test_ros_e2e import _stop, sim2real, spin_until

from sim2real_ros import px4
from sim2real_ros.dds import DdsTransport
from sim2real_ros.transport import LATCHED, SENSOR_DATA
from sim2real_runtime.quad_reference import figure_eight

POLICY = REPO / "policies" / "quad_crazyflie"


class Station:
    """Listens to the vehicle's odometry (ENU) and the node's state."""

    def __init__(self, interface: str) -> None:
        self.t = DdsTransport("station")
        self.odom: list[tuple[float, np.ndarray]] = []  # (sim time s, position ENU)
        self.states: list[str] = []
        if interface == "px4":
            self.t.subscribe(
                "/fmu/out/vehicle_odometry", "px4_msgs/msg/VehicleOdometry", px4.PX4_CLIENT_QOS, self._px4
            )
        else:
            self.t.subscribe("/cf231/odom", "nav_msgs/msg/Odometry", SENSOR_DATA, self._odom)
        self.t.subscribe(
            "/quad_policy/state", "std_msgs/msg/String", LATCHED, lambda m: self.states.append(m.data)
        )

    def _px4(self, m) -> None:
        pos, *_, stamp = px4.px4_odometry_state(m)
        self.odom.append((stamp, pos))

    def _odom(self, m) -> None:
        p = m.pose.pose.position
        self.odom.append((m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec, np.array([p.x, p.y, p.z])))

    def spin_until(self, cond, timeout_s: float, procs=()) -> bool:
        return spin_until(self.t, cond, timeout_s, procs)


@pytest.mark.parametrize("interface", ["crazyflie", "px4"])
def test_policy_flies_the_figure_eight_through_topics(dds_env, interface):
    if not (POLICY / "policy.onnx").is_file():
        pytest.skip("policies/quad_crazyflie is not exported")
    station = Station(interface)
    sim = sim2real(dds_env, "sim", "quad", "--interface", interface, "--task", "figure8",
                   "--start-delay-s", "2", "--real-time-factor", "1", "--duration-s", "16")  # fmt: skip
    node = sim2real(dds_env, "deploy", "quad", "--policy", str(POLICY),
                    "--set", f"interface={interface}", "use_sim_time=true")  # fmt: skip
    try:
        assert station.spin_until(lambda: station.odom and station.odom[-1][0] > 14.0, 60.0, (node,)), (
            f"no flight: states {station.states}"
        )
        # What happened in flight (messages keep arriving while the processes shut down).
        states, odom = list(station.states), list(station.odom)
    finally:
        _stop(node, sim)
        station.t.close()
    log, sim_log = node.stdout.read()[-3000:], sim.stdout.read()[-3000:]
    # A lost thrust unlock leaves a Crazyflie held at its start: say so, not a tracking error.
    assert "thrust locked" not in sim_log, sim_log
    assert "flying" in states, states
    assert not any(s.startswith(("error", "descending", "failsafe")) for s in states), states
    ref = figure_eight()
    t = np.array([o[0] for o in odom])
    p = np.array([o[1] for o in odom])
    m = t >= 8.0  # one period after the figure-eight starts (2 s delay)
    err = np.linalg.norm(p[m] - ref.position((t[m] - 2.0)[None])[0], axis=1)
    # The same policy in-process (sim2real eval quad) tracks to about 3 cm; over DDS, in real
    # time on a shared machine, the loop must stay within a decimetre and never stray far.
    rmse = math.sqrt(float(np.mean(err**2)))
    print(f"figure-eight over DDS: RMSE {100 * rmse:.1f} cm, max {100 * err.max():.1f} cm")
    assert rmse < 0.10 and err.max() < 0.3, (
        f"rmse {rmse:.3f} m, max {err.max():.3f} m; states {states}\nnode:\n{log}\nsim:\n{sim_log}"
    )
