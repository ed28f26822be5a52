"""Navigation scenarios and Nav2 maps: loading, validation, rasterisation, writing.

A scenario is BARN's format (see ../shared/benchmarks/barn/README.md): start pose, goal, goal
tolerance, time limit, reference path length, obstacle cylinders ``[x, y, radius]`` and a Nav2
map (``map.yaml`` + PGM). Either the cylinders or the map may be missing; the world is their union.

Grids here are row-major with row 0 at the *lowest* y (the map frame), i.e. the PGM flipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim2real_runtime.errors import ConfigError


@dataclass(frozen=True)
class OccupancyGrid:
    """A 2-D occupancy grid in the map frame.

    ``occupied[r, c]`` covers x in [origin_x + c*res, origin_x + (c+1)*res) and
    y in [origin_y + r*res, origin_y + (r+1)*res).
    """

    occupied: np.ndarray
    """bool [H, W]; row 0 is the lowest y."""
    resolution_m: float
    """Cell edge length (m)."""
    origin_xy_m: tuple[float, float]
    """Map-frame position of the lower-left corner of cell (0, 0) (m)."""

    @property
    def shape(self) -> tuple[int, int]:
        return self.occupied.shape  # type: ignore[return-value]


@dataclass(frozen=True)
class Scenario:
    """One navigation episode definition (BARN scenario format)."""

    name: str
    start: tuple[float, float, float]
    """Start pose x (m), y (m), yaw (rad) in the map frame."""
    goal: tuple[float, float]
    """Goal position x, y (m) in the map frame."""
    goal_tolerance_m: float
    time_limit_s: float
    ref_path_length_m: float | None
    """Length of the reference path start -> goal (m); BARN's score needs it."""
    circles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    """Obstacle cylinders [N, 3]: x (m), y (m), radius (m)."""
    grid: OccupancyGrid | None = None
    """The scenario's Nav2 map, if it names one."""
    source: str = ""

    def barn_score(self, success: bool, time_s: float) -> float:
        """BARN's score: success * T_opt / clip(T, 2 T_opt, 8 T_opt), T_opt = ref_path_length / 2 m/s."""
        if not success or self.ref_path_length_m is None:
            return 0.0
        t_opt = self.ref_path_length_m / 2.0
        return float(t_opt / np.clip(time_s, 2 * t_opt, 8 * t_opt))


# ----------------------------------------------------------------------------------------- PGM


def read_pgm(path: Path) -> tuple[np.ndarray, int]:
    """Read a binary (P5) or ASCII (P2) PGM: (pixels uint8/uint16 [H, W], row 0 = top; maxval)."""
    data = path.read_bytes()
    tokens: list[bytes] = []
    pos = 0
    while len(tokens) < 4:
        while pos < len(data) and data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            while pos < len(data) and data[pos : pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos : pos + 1].isspace():
            pos += 1
        if start == pos:
            raise ConfigError(str(path), "<pgm header>", "truncated header")
        tokens.append(data[start:pos])
    magic = tokens[0]
    try:
        width, height, maxval = (int(t) for t in tokens[1:])
    except ValueError as exc:
        raise ConfigError(str(path), "<pgm header>", f"bad size or maxval: {tokens[1:]}") from exc
    if magic not in (b"P5", b"P2") or width <= 0 or height <= 0 or not 0 < maxval < 65536:
        raise ConfigError(str(path), "<pgm header>", f"not a valid P5/P2 PGM ({magic!r} {width}x{height})")
    if magic == b"P5":
        dtype = np.uint8 if maxval < 256 else np.dtype(">u2")
        body = data[pos + 1 :]
        need = width * height * np.dtype(dtype).itemsize
        if len(body) < need:
            raise ConfigError(str(path), "<pgm data>", f"expected {need} bytes of pixels, found {len(body)}")
        img = np.frombuffer(body[:need], dtype=dtype).reshape(height, width)
    else:
        vals = data[pos:].split()
        if len(vals) < width * height:
            raise ConfigError(str(path), "<pgm data>", f"expected {width * height} pixels, found {len(vals)}")
        img = np.array([int(v) for v in vals[: width * height]]).reshape(height, width)
    return img.astype(np.uint16 if maxval >= 256 else np.uint8), maxval


def write_pgm(path: Path, image: np.ndarray) -> None:
    """Write uint8 [H, W] (row 0 = top) as a binary P5 PGM."""
    h, w = image.shape
    path.write_bytes(f"P5\n{w} {h}\n255\n".encode() + np.ascontiguousarray(image, dtype=np.uint8).tobytes())


# ----------------------------------------------------------------------------------- Nav2 maps


def _num(d: dict, key: str, source: str, default: Any = None) -> float:
    if key not in d:
        if default is not None:
            return default
        raise ConfigError(source, key, "missing")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(source, key, f"expected a finite number, got {v!r}")
    return float(v)


def _vec(d: dict, key: str, n: int | tuple[int, ...], source: str) -> list[float]:
    if key not in d:
        raise ConfigError(source, key, "missing")
    v = d[key]
    ns = (n,) if isinstance(n, int) else n
    if not isinstance(v, (list, tuple)) or len(v) not in ns:
        raise ConfigError(source, key, f"expected a list of {' or '.join(map(str, ns))} numbers, got {v!r}")
    out = []
    for i, x in enumerate(v):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ConfigError(source, f"{key}[{i}]", f"expected a finite number, got {x!r}")
        out.append(float(x))
    return out


def _load_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(str(path), "<file>", "no such file")
    try:
        # libyaml's C loader when present: BARN scenarios list hundreds of cylinders.
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "<yaml>", f"not a text file ({exc.reason} at byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "<yaml>", f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(path), "<root>", "expected a mapping")
    return data


def load_nav2_map(path: str | Path) -> OccupancyGrid:
    """Load a Nav2 map_server map (``map.yaml`` + image), as map_server interprets it.

    Occupancy p = (255 - v) / 255 (or v / 255 with ``negate: 1``); a cell is occupied when
    p > occupied_thresh. Unknown cells (trinary mode) count as free for simulation.
    """
    path = Path(path)
    d = _load_yaml(path)
    src = str(path)
    if "image" not in d or not isinstance(d["image"], str):
        raise ConfigError(src, "image", "missing or not a file name")
    res = _num(d, "resolution", src)
    if res <= 0:
        raise ConfigError(src, "resolution", f"must be > 0, got {res}")
    origin = _vec(d, "origin", 3, src)
    negate = int(_num(d, "negate", src, 0))
    occ_t = _num(d, "occupied_thresh", src, 0.65)
    mode = d.get("mode", "trinary")
    if mode not in ("trinary", "scale", "raw"):
        raise ConfigError(src, "mode", f"expected trinary, scale or raw, got {mode!r}")
    if origin[2] != 0.0:
        raise ConfigError(src, "origin[2]", "rotated maps are not supported (yaw must be 0)")
    img_path = (path.parent / d["image"]).resolve()
    if img_path.suffix.lower() != ".pgm":
        raise ConfigError(src, "image", f"only PGM images are supported, got {img_path.name}")
    if not img_path.is_file():
        raise ConfigError(src, "image", f"image file {img_path} does not exist")
    img, maxval = read_pgm(img_path)
    if mode == "raw":
        occupied = img.astype(np.int32) >= 65
    else:
        p = img.astype(np.float64) / maxval
        occ = p if negate else 1.0 - p
        occupied = occ > occ_t
    return OccupancyGrid(np.ascontiguousarray(occupied[::-1]), res, (origin[0], origin[1]))


def write_nav2_map(yaml_path: Path, grid: OccupancyGrid) -> None:
    """Write ``grid`` as a trinary Nav2 map (``<name>.yaml`` + ``<name>.pgm`` beside it)."""
    pgm = yaml_path.with_suffix(".pgm")
    image = np.where(grid.occupied[::-1], 0, 254).astype(np.uint8)
    write_pgm(pgm, image)
    meta = {
        "image": pgm.name,
        "mode": "trinary",
        "resolution": grid.resolution_m,
        "origin": [float(grid.origin_xy_m[0]), float(grid.origin_xy_m[1]), 0.0],
        "negate": 0,
        "occupied_thresh": 0.65,
        "free_thresh": 0.25,
    }
    yaml_path.write_text(yaml.safe_dump(meta, sort_keys=False))


# ----------------------------------------------------------------------------------- scenarios


def clearance_m(scenario: Scenario, x: float, y: float) -> float:
    """Distance (m) from the point (x, y) to the nearest obstacle surface: a cylinder's or an
    occupied map cell's; <= 0 inside an obstacle; inf in a world without obstacles."""
    d = math.inf
    c = scenario.circles
    if len(c):
        d = float((np.hypot(c[:, 0] - x, c[:, 1] - y) - c[:, 2]).min())
    g = scenario.grid
    if g is not None and g.occupied.any():
        rows, cols = np.nonzero(g.occupied)
        half = g.resolution_m / 2.0
        dx = np.maximum(np.abs(g.origin_xy_m[0] + (cols + 0.5) * g.resolution_m - x) - half, 0.0)
        dy = np.maximum(np.abs(g.origin_xy_m[1] + (rows + 0.5) * g.resolution_m - y) - half, 0.0)
        d = min(d, float(np.hypot(dx, dy).min()))
    return d


def check_reachable(scenario: Scenario, robot_radius_m: float = 0.0) -> None:
    """Refuse a scenario whose start or goal no robot could use, naming the file and the field.

    The rule (``robot_radius_m`` is the radius of the robot's footprint where the caller knows the
    robot, else 0):

    - with a map, the start and the goal lie inside the map's extent (``start`` / ``goal``:
      "outside the map");
    - the start lies outside every obstacle, by more than ``robot_radius_m``;
    - the goal lies outside every obstacle (a goal inside one is a typo, whatever the tolerance),
      and some point within ``goal_tolerance`` of it is free for the robot: refused when
      clearance(goal) + goal_tolerance <= ``robot_radius_m`` (then every point within the
      tolerance is at most ``robot_radius_m`` from an obstacle, so no episode can succeed).

    Raises:
        ConfigError: naming ``scenario.source`` and ``start`` or ``goal``.
    """
    src = scenario.source or scenario.name
    g = scenario.grid
    for key, (x, y) in (("start", scenario.start[:2]), ("goal", scenario.goal)):
        if g is not None:
            x0, y0 = g.origin_xy_m
            x1, y1 = x0 + g.shape[1] * g.resolution_m, y0 + g.shape[0] * g.resolution_m
            if not (x0 <= x < x1 and y0 <= y < y1):
                raise ConfigError(
                    src, key, f"({x:g}, {y:g}) is outside the map [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}] m"
                )
        d = clearance_m(scenario, x, y)
        if d <= 0.0:
            raise ConfigError(src, key, f"({x:g}, {y:g}) lies inside an obstacle")
        if key == "start" and d <= robot_radius_m:
            raise ConfigError(
                src,
                key,
                f"({x:g}, {y:g}) is {d:.3g} m from an obstacle: "
                f"the robot (radius {robot_radius_m:g} m) does not fit",
            )
        if key == "goal" and d + scenario.goal_tolerance_m <= robot_radius_m:
            raise ConfigError(
                src,
                key,
                f"({x:g}, {y:g}) is {d:.3g} m from an obstacle: no point within goal_tolerance "
                f"{scenario.goal_tolerance_m:g} m is free for a robot of radius {robot_radius_m:g} m",
            )


def load_scenario(path: str | Path, robot_radius_m: float = 0.0) -> Scenario:
    """Load and validate one ``*.scenario.yaml``; errors name the file and the field.

    A start or goal inside an obstacle or outside the map is refused (:func:`check_reachable`,
    with ``robot_radius_m`` the robot's footprint radius where the caller knows the robot)."""
    path = Path(path)
    d = _load_yaml(path)
    src = str(path)
    name = d.get("name", path.name.removesuffix(".scenario.yaml"))
    if not isinstance(name, str):
        raise ConfigError(src, "name", f"expected a string, got {name!r}")
    start = _vec(d, "start", (2, 3), src)
    if len(start) == 2:
        start.append(0.0)
    goal = _vec(d, "goal", (2, 3), src)[:2]
    tol = _num(d, "goal_tolerance", src, 1.0)
    tlim = _num(d, "time_limit", src, 100.0)
    if tol <= 0:
        raise ConfigError(src, "goal_tolerance", f"must be > 0, got {tol}")
    if tlim <= 0:
        raise ConfigError(src, "time_limit", f"must be > 0, got {tlim}")
    ref = d.get("ref_path_length")
    if ref is not None:
        ref = _num(d, "ref_path_length", src)
        if ref <= 0:
            raise ConfigError(src, "ref_path_length", f"must be > 0, got {ref}")
    obstacles = d.get("obstacles") or []
    if not isinstance(obstacles, list):
        raise ConfigError(src, "obstacles", "expected a list of [x, y, radius]")
    circles = np.zeros((len(obstacles), 3))
    for i, ob in enumerate(obstacles):
        if not isinstance(ob, (list, tuple)) or len(ob) != 3:
            raise ConfigError(src, f"obstacles[{i}]", f"expected [x, y, radius], got {ob!r}")
        for j, x in enumerate(ob):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ConfigError(src, f"obstacles[{i}][{j}]", f"expected a finite number, got {x!r}")
        if ob[2] <= 0:
            raise ConfigError(src, f"obstacles[{i}][2]", f"radius must be > 0, got {ob[2]}")
        circles[i] = ob
    grid = None
    if d.get("map") is not None:
        if not isinstance(d["map"], str):
            raise ConfigError(src, "map", f"expected a file name, got {d['map']!r}")
        map_path = path.parent / d["map"]
        if not map_path.is_file():
            raise ConfigError(src, "map", f"map file {map_path} does not exist")
        grid = load_nav2_map(map_path)
    if grid is None and len(circles) == 0:
        raise ConfigError(src, "obstacles", "a scenario needs obstacles, a map, or both")
    scenario = Scenario(
        name=name,
        start=(start[0], start[1], start[2]),
        goal=(goal[0], goal[1]),
        goal_tolerance_m=tol,
        time_limit_s=tlim,
        ref_path_length_m=ref,
        circles=circles,
        grid=grid,
        source=src,
    )
    check_reachable(scenario, robot_radius_m)
    return scenario


def find_scenarios(path: str | Path) -> list[Path]:
    """One ``*.scenario.yaml`` file, or every such file in a folder (sorted)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.scenario.yaml"))
        if not files:
            raise ConfigError(str(p), "<folder>", "contains no *.scenario.yaml files")
        return files
    if not p.is_file():
        raise ConfigError(str(p), "<file>", "no such file or folder")
    return [p]


def write_scenario(path: Path, scenario: Scenario, map_file: str | None, header: str = "") -> None:
    """Write a scenario in BARN's format (the map, if any, must be written separately)."""
    lines = [f"# {h}" for h in header.splitlines()] if header else []
    lines += [
        f"name: {scenario.name}",
        *([f"map: {map_file}"] if map_file else []),
        "start: [{:.4f}, {:.4f}, {:.4f}]   # x, y, yaw (rad)".format(*scenario.start),
        f"goal: [{scenario.goal[0]:.4f}, {scenario.goal[1]:.4f}]",
        f"goal_tolerance: {scenario.goal_tolerance_m}",
        f"time_limit: {scenario.time_limit_s}",
        *([f"ref_path_length: {scenario.ref_path_length_m:.4f}"] if scenario.ref_path_length_m else []),
        "obstacles:   # [x, y, radius] of 1 m tall cylinders",
        *[f"  - [{x:.4f}, {y:.4f}, {r:.4f}]" for x, y, r in scenario.circles],
    ]
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------- rasterisation


def rasterize(scenario: Scenario, resolution_m: float = 0.05, margin_m: float = 3.0) -> OccupancyGrid:
    """The scenario's world (cylinders plus map) as one occupancy grid for the fast simulator.

    A cell is occupied when its centre lies inside a cylinder or inside an occupied map cell. The
    grid spans the map, the cylinders, the start and the goal, plus ``margin_m`` on every side.
    """
    xs = [scenario.start[0], scenario.goal[0]]
    ys = [scenario.start[1], scenario.goal[1]]
    c = scenario.circles
    if len(c):
        xs += [float((c[:, 0] - c[:, 2]).min()), float((c[:, 0] + c[:, 2]).max())]
        ys += [float((c[:, 1] - c[:, 2]).min()), float((c[:, 1] + c[:, 2]).max())]
    g = scenario.grid
    if g is not None:
        xs += [g.origin_xy_m[0], g.origin_xy_m[0] + g.shape[1] * g.resolution_m]
        ys += [g.origin_xy_m[1], g.origin_xy_m[1] + g.shape[0] * g.resolution_m]
    x0 = math.floor((min(xs) - margin_m) / resolution_m) * resolution_m
    y0 = math.floor((min(ys) - margin_m) / resolution_m) * resolution_m
    w = int(math.ceil((max(xs) + margin_m - x0) / resolution_m))
    h = int(math.ceil((max(ys) + margin_m - y0) / resolution_m))
    occ = np.zeros((h, w), dtype=bool)
    cx = x0 + (np.arange(w) + 0.5) * resolution_m
    cy = y0 + (np.arange(h) + 0.5) * resolution_m
    for x, y, r in c:
        c0, c1 = np.searchsorted(cx, [x - r, x + r])
        r0, r1 = np.searchsorted(cy, [y - r, y + r])
        sub = (cx[None, c0:c1] - x) ** 2 + (cy[r0:r1, None] - y) ** 2 <= r * r + 1e-12
        occ[r0:r1, c0:c1] |= sub
    if g is not None:
        gx = ((cx - g.origin_xy_m[0]) // g.resolution_m).astype(int)
        gy = ((cy - g.origin_xy_m[1]) // g.resolution_m).astype(int)
        vx = (gx >= 0) & (gx < g.shape[1])
        vy = (gy >= 0) & (gy < g.shape[0])
        sub = g.occupied[np.ix_(gy[vy], gx[vx])]
        occ[np.ix_(vy, vx)] |= sub
    return OccupancyGrid(occ, resolution_m, (x0, y0))
