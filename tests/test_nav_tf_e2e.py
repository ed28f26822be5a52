"""End to end over DDS with a localised robot (issue 16): the sim bridge publishes map -> odom on
/tf as a localisation node would (odometry drifting, map -> odom correcting it), this test is RViz
sending a goal in ``map``, sent before the simulator starts (the case that used to be read in the
odometry frame). The robot must reach the goal's true position."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_ros_e2e import Rviz, _stop, sim2real, start_node

from sim2real.nav.planner import plan_path
from sim2real.nav.scenario import load_scenario
from sim2real.nav.sim_bridge import to_odom_frame
from sim2real_ros.convert import fill_header, set_yaw
from sim2real_ros.transport import DEFAULT


def send_map_plan(rviz: Rviz, pub, points) -> None:
    """What Nav2's planner server publishes on /plan: a nav_msgs/Path, every pose in ``map``."""
    m = rviz.t.msg("nav_msgs/msg/Path")()
    fill_header(m.header, 0.0, "map")
    for x, y in points:
        ps = rviz.t.msg("geometry_msgs/msg/PoseStamped")()
        fill_header(ps.header, 0.0, "map")
        ps.pose.position.x, ps.pose.position.y = float(x), float(y)
        set_yaw(ps.pose.orientation, 0.0)
        m.poses.append(ps)
    pub.publish(m)


def send_map_goal(rviz: Rviz, xy) -> None:
    m = rviz.t.msg("geometry_msgs/msg/PoseStamped")()
    fill_header(m.header, 0.0, "map")
    m.pose.position.x, m.pose.position.y = float(xy[0]), float(xy[1])
    set_yaw(m.pose.orientation, 0.0)
    rviz.goal_pub.publish(m)


@pytest.mark.slow  # about 40 s each: a whole episode at twice real time
@pytest.mark.parametrize("kind", ["goal", "plan"])
def test_map_goal_sent_before_the_simulator_reaches_its_true_position(dds_env, barn_dir, tmp_path, kind):
    """``goal``: RViz's goal in map; ``plan``: an A* path in map on /plan, as from Nav2's planner."""
    scenario_file = barn_dir / "world_001.scenario.yaml"
    scenario = load_scenario(scenario_file)
    goal_map = np.asarray(scenario.goal)
    # The goal's coordinates read in odom would be far from the goal: the bug would show.
    assert np.hypot(*(to_odom_frame(scenario, goal_map) - goal_map)) > 5.0
    result = tmp_path / "result.json"
    rviz = Rviz()
    plan_pub = rviz.t.publisher("/plan", "nav_msgs/msg/Path", DEFAULT)
    node = start_node(dds_env)
    sim = None
    try:
        assert rviz.spin_until(
            lambda: (
                any(s == "idle" for _, s in rviz.states)
                and rviz.goal_pub.subscriber_count() > 0
                and plan_pub.subscriber_count() > 0
            ),
            60,
            (node,),
        )
        if kind == "goal":  # no odometry, no /tf yet
            send_map_goal(rviz, goal_map)
        else:
            send_map_plan(rviz, plan_pub, plan_path(scenario, 0.215))
        rviz.spin_until(lambda: False, 2.0, (node,))
        assert rviz.cmds and all(v == 0.0 for _, v, _ in rviz.cmds)
        sim = sim2real(
            dds_env, "sim", "nav", "--scenario", str(scenario_file), "--map-frame", "map", "--episode",
            "--real-time-factor", "2", "--result", str(result),
        )  # fmt: skip
        assert rviz.spin_until(lambda: sim.poll() is not None, 120, (node,)), "the episode did not end"
        out = json.loads(result.read_text())
        log = sim.stdout.read()
        assert out["success"], f"episode failed: {out}\n{log}"
        assert "driving" in [s for _, s in rviz.states]
    finally:
        _stop(node, *([sim] if sim else []))
        rviz.t.close()
