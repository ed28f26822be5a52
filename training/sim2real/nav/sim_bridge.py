"""The MuJoCo sim bridge: what Gazebo + ros_gz_bridge would publish for the robot, over DDS.

It simulates the robot of ``robot.yaml`` in a scenario's world (:class:`MujocoNavSim`, rigid bodies
and wheel contacts) and publishes, with ROS 2 types and QoS:

- ``/scan`` sensor_msgs/LaserScan (best effort) at the lidar's rate, range noise, ``+inf`` for no
  return, stamped at capture and published ``scan_latency_s`` later (driver + bridge delay);
- ``/odom`` nav_msgs/Odometry and ``/tf`` odom -> base_link at ``odom_rate_hz``: the odometry
  frame starts at the spawn pose, as the diff-drive plugin's does; twist with Gaussian noise;
- ``/tf_static`` base_link -> laser (latched), ``/joint_states`` of the two wheels;
- with ``map_frame`` (``sim2real sim nav --map-frame map``), ``/tf`` map -> odom as a localisation
  node (AMCL, slam_toolbox) publishes it: the odometry then drifts from the truth at
  ``odom_drift`` (a slowly growing offset and heading error, as wheel odometry does) and map ->
  odom is the start pose composed with the inverse drift, so map -> odom -> base_link is the true
  pose in the scenario's (map) frame at every step;
- ``/clock`` rosgraph_msgs/Clock at ``clock_rate_hz`` (simulated time, continuous across scenarios);

and obeys ``/cmd_vel`` (Twist or TwistStamped), holding the last command as Gazebo's diff drive does
(no command timeout: stopping a dead node's robot is the node's watchdog's job, tested).

It paces simulated time to ``real_time_factor`` times the wall clock (0: as fast as it can).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim2real_ros.convert import fill_header, make_odom, make_scan, set_yaw, twist_command
from sim2real_ros.transport import DEFAULT, LATCHED, SENSOR_DATA, QoS, Transport, fill_stamp, run_paced
from sim2real_runtime.robot import RobotConfig
from sim2real_runtime.tf_buffer import Transform

from .evaluate import EpisodeResult
from .mujoco_sim import MujocoNavSim
from .scenario import Scenario

CLOCK_QOS = QoS(reliable=True, depth=1)
"""Gazebo's bridged /clock: reliable, keep last 1 (a best-effort reader, as rclpy's, matches it)."""


@dataclass(frozen=True)
class BridgeConfig:
    """Rates, delays and noise of the simulated drivers."""

    physics_rate_hz: float = 500.0
    """MuJoCo integration rate (Hz); every publishing rate is rounded to a whole number of steps."""
    scan_rate_hz: float = 0.0
    """LaserScan rate (Hz); 0 = the robot file's lidar rate."""
    odom_rate_hz: float = 50.0
    """Odometry, /tf and /joint_states rate (Hz), as the diff-drive plugin's default."""
    clock_rate_hz: float = 250.0
    """/clock rate (Hz)."""
    scan_latency_s: float = 0.01
    """Delay between a scan's capture (its stamp) and its publication (s)."""
    cmd_latency_s: float = 0.0
    """Extra delay between a received /cmd_vel and the base controller acting on it (s)."""
    lidar_noise: bool = True
    """Gaussian range noise of the robot file's ``range_noise_std_m``."""
    odom_twist_noise_std: tuple[float, float] = (0.01, 0.02)
    """Standard deviation of the noise on odometry's forward speed (m/s) and yaw rate (rad/s)."""
    real_time_factor: float = 1.0
    """Simulated seconds per wall-clock second; 0 = as fast as possible."""
    cmd_vel_topic: str = "/cmd_vel"
    cmd_vel_stamped: bool = False
    """Read geometry_msgs/TwistStamped instead of Twist."""
    map_frame: str = ""
    """Publish ``<map_frame>`` -> odom on /tf (the scenario's frame is the map); "" = none."""
    odom_drift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Odometry drift rates while ``map_frame`` is set: x (m/s), y (m/s), yaw (rad/s) of the
    odometry frame's origin in its own start frame, growing with episode time."""


DEFAULT_ODOM_DRIFT = (0.02, -0.01, 0.004)
"""``sim2real sim nav --map-frame``'s odometry drift (m/s, m/s, rad/s): 1.2 m and 14 deg a minute,
poor wheel odometry, so a node that read a map goal once would visibly miss it."""


def to_odom_frame(scenario: Scenario, xy: np.ndarray) -> np.ndarray:
    """Map-frame point(s) [..., 2] -> the odometry frame, whose origin is the scenario's start pose."""
    x0, y0, yaw0 = scenario.start
    c, s = math.cos(yaw0), math.sin(yaw0)
    d = np.asarray(xy, dtype=np.float64) - (x0, y0)
    return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1)


def _steps(physics_rate_hz: float, rate_hz: float) -> float:
    if not rate_hz > 0:
        raise ValueError(f"publishing rates must be > 0 Hz, got {rate_hz}")
    return physics_rate_hz / rate_hz


class NavSimBridge:
    """One simulated robot publishing and subscribing through ``transport``.

    Args:
        transport: normally a :class:`~sim2real_ros.dds.DdsTransport`.
        robot: the robot to simulate.
        config: rates, delays, noise.
    """

    def __init__(
        self, transport: Transport, robot: RobotConfig, config: BridgeConfig = BridgeConfig()
    ) -> None:
        self.t = transport
        self.robot = robot
        self.cfg = config
        self.sim = MujocoNavSim(
            robot,
            control_rate_hz=config.physics_rate_hz,
            physics_rate_hz=config.physics_rate_hz,
            lidar_noise=config.lidar_noise,
            cmd_latency_s=config.cmd_latency_s,
        )
        self.scan_steps = _steps(config.physics_rate_hz, config.scan_rate_hz or robot.lidar.rate_hz)
        self.odom_steps = _steps(config.physics_rate_hz, config.odom_rate_hz)
        self.clock_steps = _steps(config.physics_rate_hz, config.clock_rate_hz)
        self.scan_delay_steps = round(config.scan_latency_s * config.physics_rate_hz)
        m = transport.msg
        self._cls = {n: m(n) for n in (
            "sensor_msgs/msg/LaserScan", "nav_msgs/msg/Odometry", "tf2_msgs/msg/TFMessage",
            "geometry_msgs/msg/TransformStamped", "rosgraph_msgs/msg/Clock", "sensor_msgs/msg/JointState",
        )}  # fmt: skip
        self.pub_scan = transport.publisher("/scan", "sensor_msgs/msg/LaserScan", SENSOR_DATA)
        self.pub_odom = transport.publisher("/odom", "nav_msgs/msg/Odometry", DEFAULT)
        self.pub_tf = transport.publisher("/tf", "tf2_msgs/msg/TFMessage", DEFAULT)
        self.pub_tf_static = transport.publisher("/tf_static", "tf2_msgs/msg/TFMessage", LATCHED)
        self.pub_clock = transport.publisher("/clock", "rosgraph_msgs/msg/Clock", CLOCK_QOS)
        self.pub_joints = transport.publisher("/joint_states", "sensor_msgs/msg/JointState", DEFAULT)
        self.cmd = (0.0, 0.0)
        self.cmds_received = 0
        self.clock_s = 0.0  # simulated time, continuous across load() calls
        self._offset_s = 0.0
        self._pending_scans: deque[tuple[int, Any]] = deque()
        self._rng = np.random.default_rng(0)
        self.scenario: Scenario | None = None
        self.frame: Any = None
        # Last: a transport may deliver from its own thread as soon as the subscription exists.
        cmd_type = "geometry_msgs/msg/TwistStamped" if config.cmd_vel_stamped else "geometry_msgs/msg/Twist"
        transport.subscribe(config.cmd_vel_topic, cmd_type, DEFAULT, self._on_cmd)

    # ----------------------------------------------------------------------------- episodes

    def load(self, scenario: Scenario, seed: int = 0) -> None:
        """Put the robot at the scenario's start (at rest; odometry restarts at zero)."""
        self._offset_s = self.clock_s
        self.frame = self.sim.reset(scenario, seed)
        self.scenario = scenario
        self._rng = np.random.default_rng(seed + 1)
        self.cmd = (0.0, 0.0)
        self._k = 0
        self._n_scan = self._n_odom = self._n_clock = 0
        self._pending_scans.clear()
        self._publish_static()
        self._publish_clock()
        self._publish_odom()
        self._capture_scan(self.frame.ranges_m)  # the first scan, at the start pose
        self._flush_scans(force=True)

    def status(self) -> str | None:
        """``"collision"``, ``"success"``, ``"timeout"`` (the evaluator's rules), or None."""
        sc, f = self.scenario, self.frame
        assert sc is not None and f is not None
        if f.collided:
            return "collision"
        if math.hypot(sc.goal[0] - f.pose[0], sc.goal[1] - f.pose[1]) <= sc.goal_tolerance_m:
            return "success"
        if f.time_s >= sc.time_limit_s - 1e-9:
            return "timeout"
        return None

    def result(self, label: str, run: int = 0, path_length_m: float = 0.0) -> EpisodeResult:
        sc, f = self.scenario, self.frame
        assert sc is not None and f is not None
        outcome = self.status()
        return EpisodeResult(
            controller=label,
            scenario=sc.name,
            run=run,
            success=outcome == "success",
            collision=outcome == "collision",
            timeout=outcome not in ("success", "collision"),
            time_s=round(f.time_s, 3),
            path_length_m=round(path_length_m, 3),
            score=sc.barn_score(outcome == "success", f.time_s),
            trajectory=[],
        )

    # ----------------------------------------------------------------------------- stepping

    def advance(self) -> None:
        """One physics step with the latest command, then whatever is due for publication."""
        k = self._k + 1
        want_scan = k >= round((self._n_scan + 1) * self.scan_steps)
        self.frame = self.sim.step(self.cmd[0], self.cmd[1], scan=want_scan)
        self._k = k
        self.clock_s = self._offset_s + self.frame.time_s
        if want_scan:
            self._n_scan += 1
            self._capture_scan(self.frame.ranges_m)
        self._flush_scans()
        if k >= round((self._n_odom + 1) * self.odom_steps):
            self._n_odom += 1
            self._publish_odom()
        if k >= round((self._n_clock + 1) * self.clock_steps):
            self._n_clock += 1
            self._publish_clock()

    def run(self, until: Callable[[], bool], real_time_factor: float | None = None) -> None:
        """Step and publish until ``until()`` is true, paced to the real-time factor."""
        rtf = self.cfg.real_time_factor if real_time_factor is None else real_time_factor
        run_paced(self.t, self.advance, lambda: self.clock_s, until, rtf)

    # ----------------------------------------------------------------------------- messages

    def _on_cmd(self, msg: Any) -> None:
        v, w = twist_command(msg)
        # The simulated base controller refuses non-finite commands as a real one should.
        if math.isfinite(v) and math.isfinite(w):
            self.cmd = (v, w)
            self.cmds_received += 1

    def map_to_odom(self) -> Transform:
        """``T_map_odom`` now: the start pose composed with the inverse of the odometry drift."""
        sc = self.scenario
        assert sc is not None
        dx, dy, dyaw = self.cfg.odom_drift if self.cfg.map_frame else (0.0, 0.0, 0.0)
        t = self.frame.time_s
        return Transform.planar(*sc.start) * Transform.planar(dx * t, dy * t, dyaw * t).inverse()

    def _odom_pose(self) -> np.ndarray:
        pose = Transform.planar(*self.frame.pose)
        x, y, yaw = (self.map_to_odom().inverse() * pose).as_planar()
        return np.array([x, y, yaw])

    def _publish_odom(self) -> None:
        pose = self._odom_pose()
        twist = self.frame.twist + self._rng.normal(0.0, 1.0, 2) * self.cfg.odom_twist_noise_std
        t = self.clock_s
        self.pub_odom.publish(make_odom(self._cls["nav_msgs/msg/Odometry"], pose, twist, t))
        tf = self._cls["geometry_msgs/msg/TransformStamped"]()
        fill_header(tf.header, t, "odom")
        tf.child_frame_id = "base_link"
        tf.transform.translation.x, tf.transform.translation.y = float(pose[0]), float(pose[1])
        set_yaw(tf.transform.rotation, float(pose[2]))
        transforms = [tf]
        if self.cfg.map_frame:
            mo = self._cls["geometry_msgs/msg/TransformStamped"]()
            fill_header(mo.header, t, self.cfg.map_frame)
            mo.child_frame_id = "odom"
            x, y, yaw = self.map_to_odom().as_planar()
            mo.transform.translation.x, mo.transform.translation.y = x, y
            set_yaw(mo.transform.rotation, yaw)
            transforms.append(mo)
        self.pub_tf.publish(self._cls["tf2_msgs/msg/TFMessage"](transforms=transforms))
        angles, speeds = self.sim.wheel_state()
        js = self._cls["sensor_msgs/msg/JointState"]()
        fill_header(js.header, t, "")
        js.name = ["left_wheel_joint", "right_wheel_joint"]
        js.position = [float(a) for a in angles]
        js.velocity = [float(s) for s in speeds]
        self.pub_joints.publish(js)

    def _publish_static(self) -> None:
        tf = self._cls["geometry_msgs/msg/TransformStamped"]()
        fill_header(tf.header, self.clock_s, "base_link")
        tf.child_frame_id = "laser"
        tf.transform.translation.x = self.robot.lidar.mount_x_m
        tf.transform.translation.z = self.robot.lidar.mount_z_m
        self.pub_tf_static.publish(self._cls["tf2_msgs/msg/TFMessage"](transforms=[tf]))

    def _publish_clock(self) -> None:
        msg = self._cls["rosgraph_msgs/msg/Clock"]()
        fill_stamp(msg.clock, self.clock_s)
        self.pub_clock.publish(msg)

    def _capture_scan(self, ranges_m: np.ndarray) -> None:
        msg = make_scan(self._cls["sensor_msgs/msg/LaserScan"], ranges_m, self.clock_s, self.robot.lidar)
        self._pending_scans.append((self._k + self.scan_delay_steps, msg))

    def _flush_scans(self, force: bool = False) -> None:
        q = self._pending_scans
        while q and (force or q[0][0] <= self._k):
            self.pub_scan.publish(q.popleft()[1])
