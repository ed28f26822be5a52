"""Large indoor worlds (rooms, doorways, corridors, furniture) for global-plan following: maps much
larger than BARN's 5 x 10 m, where a local planner alone gets lost.

Layout of one world (all drawn from ``seed``, the same seed always giving the same world):

- a square of ``size_m`` (50 m) in a Nav2 map (0.05 m cells, origin (0, 0)), walled all round;
- ``rooms`` x ``rooms`` rooms (5 x 5 of 10 m) separated by 0.2 m walls; doorways (0.9-1.4 m wide)
  on a random spanning tree of the rooms, so every room is reachable, plus extra doorways with
  probability ``extra_door_prob`` (loops: more than one way round), and whole walls removed with
  probability ``open_wall_prob`` (halls);
- corridors: with probability ``corridor_prob`` a room gets an inner wall 2 m from one side, open
  at one end, so it is entered along a 2 m corridor;
- furniture: 0-3 boxes (0.3-1.2 m) per room, kept 1.5 m from doorways;
- the start in one room and the goal in another at least ``min_goal_distance_m`` away (straight
  line), both at least 0.6 m from any obstacle; a world is kept only when A* finds a path for the
  robot (:func:`sim2real.nav.planner.plan_path` with the robot's inscribed radius).

Scenario fields: goal tolerance 1 m (BARN's), ``ref_path_length`` the A* path's length,
``time_limit`` = max(60, 2.5 s/m x ref_path_length) (an average of 0.4 m/s).

Generate a set with ``python -m sim2real.nav.rooms --out DIR --count 5 --seed 0``; a world is a
1000 x 1000 PGM (1 MB), so sets are generated, not committed.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from .planner import PlanningError, path_length_m, plan_path
from .scenario import OccupancyGrid, Scenario, write_nav2_map, write_scenario


@dataclass(frozen=True)
class RoomsParams:
    size_m: float = 50.0
    rooms: int = 5
    resolution_m: float = 0.05
    wall_m: float = 0.2
    door_m: tuple[float, float] = (0.9, 1.4)
    extra_door_prob: float = 0.25
    open_wall_prob: float = 0.1
    corridor_prob: float = 0.3
    corridor_m: float = 2.0
    boxes_per_room: tuple[int, int] = (0, 3)
    box_m: tuple[float, float] = (0.3, 1.2)
    min_goal_distance_m: float = 30.0
    clearance_m: float = 0.6


class _Canvas:
    """A bool grid with drawing in metres."""

    def __init__(self, p: RoomsParams) -> None:
        self.p = p
        self.n = round(p.size_m / p.resolution_m)
        self.occ = np.zeros((self.n, self.n), dtype=bool)

    def _idx(self, v: float) -> int:
        return min(max(round(v / self.p.resolution_m), 0), self.n)

    def box(self, x0: float, y0: float, x1: float, y1: float, value: bool = True) -> None:
        """Fill [x0, x1] x [y0, y1] (m)."""
        c0, c1 = self._idx(min(x0, x1)), self._idx(max(x0, x1))
        r0, r1 = self._idx(min(y0, y1)), self._idx(max(y0, y1))
        self.occ[r0:r1, c0:c1] = value


def generate_rooms_world(
    seed: int, params: RoomsParams = RoomsParams(), inscribed_radius_m: float = 0.215
) -> tuple[Scenario, np.ndarray]:
    """One world and its A* path [N, 2] (m); see the module doc. ``inscribed_radius_m``: the
    robot's half-width (the Jackal's by default)."""
    for attempt in range(20):
        rng = np.random.default_rng([seed, attempt])
        world = _draw(rng, params)
        sc = _with_endpoints(rng, world, params, f"rooms_s{seed}")
        if sc is None:
            continue
        try:
            path = plan_path(sc, inscribed_radius_m)
        except PlanningError:
            continue
        ref = path_length_m(path)
        sc = Scenario(
            name=sc.name,
            start=sc.start,
            goal=sc.goal,
            goal_tolerance_m=1.0,
            time_limit_s=float(round(max(60.0, 2.5 * ref))),
            ref_path_length_m=round(ref, 4),
            grid=sc.grid,
            source=f"sim2real.nav.rooms seed={seed} attempt={attempt}",
        )
        return sc, path
    raise RuntimeError(f"no passable rooms world for seed {seed} in 20 attempts")


def _draw(rng: np.random.Generator, p: RoomsParams) -> OccupancyGrid:
    cv = _Canvas(p)
    s, n, w = p.size_m, p.rooms, p.wall_m
    room = s / n
    cv.box(0, 0, s, w)
    cv.box(0, s - w, s, s)
    cv.box(0, 0, w, s)
    cv.box(s - w, 0, s, s)
    # Inner walls: vertical ones between (i, j) and (i + 1, j), horizontal between (i, j), (i, j + 1).
    walls = [("v", i, j) for i in range(n - 1) for j in range(n)] + [
        ("h", i, j) for i in range(n) for j in range(n - 1)
    ]
    # A spanning tree over the rooms (random Kruskal) gets a doorway in each of its walls.
    parent = list(range(n * n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    doors: set[tuple[str, int, int]] = set()
    for k in rng.permutation(len(walls)):
        kind, i, j = walls[k]
        a, b = i * n + j, (i + 1) * n + j if kind == "v" else i * n + j + 1
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
            doors.add(walls[k])
    door_centres: list[tuple[float, float]] = []
    for kind, i, j in walls:
        r = rng.random()
        if (kind, i, j) not in doors and r < p.open_wall_prob:
            continue  # no wall: a hall of two rooms
        # The wall segment, from corner to corner of the two rooms.
        if kind == "v":
            x = (i + 1) * room
            cv.box(x - w / 2, j * room, x + w / 2, (j + 1) * room)
        else:
            y = (j + 1) * room
            cv.box(i * room, y - w / 2, (i + 1) * room, y + w / 2)
        if (kind, i, j) in doors or r < p.open_wall_prob + p.extra_door_prob:
            width = rng.uniform(*p.door_m)
            c = rng.uniform(0.8 + width / 2, room - 0.8 - width / 2)
            if kind == "v":
                cv.box(x - w, j * room + c - width / 2, x + w, j * room + c + width / 2, False)
                door_centres.append((x, j * room + c))
            else:
                cv.box(i * room + c - width / 2, y - w, i * room + c + width / 2, y + w, False)
                door_centres.append((i * room + c, y))
    centres = np.array(door_centres).reshape(-1, 2)
    for i in range(n):
        for j in range(n):
            x0, y0 = i * room, j * room
            if rng.random() < p.corridor_prob:  # an inner wall, open at one end: a corridor
                side, open_end = rng.integers(4), rng.integers(2)
                a, b = (x0 + 2.5, x0 + room - 0.5) if open_end else (x0 + 0.5, x0 + room - 2.5)
                if side == 0:
                    cv.box(a, y0 + p.corridor_m, b, y0 + p.corridor_m + w)
                elif side == 1:
                    cv.box(a, y0 + room - p.corridor_m - w, b, y0 + room - p.corridor_m)
                else:
                    a, b = (y0 + 2.5, y0 + room - 0.5) if open_end else (y0 + 0.5, y0 + room - 2.5)
                    xw = x0 + p.corridor_m if side == 2 else x0 + room - p.corridor_m - w
                    cv.box(xw, a, xw + w, b)
            for _ in range(rng.integers(p.boxes_per_room[0], p.boxes_per_room[1] + 1)):
                bw, bh = rng.uniform(*p.box_m, size=2)
                cx, cy = (
                    rng.uniform(x0 + 0.5 + bw / 2, x0 + room - 0.5 - bw / 2),
                    rng.uniform(y0 + 0.5 + bh / 2, y0 + room - 0.5 - bh / 2),
                )
                if len(centres) and np.hypot(*(centres - (cx, cy)).T).min() < 1.5 + max(bw, bh):
                    continue
                cv.box(cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)
    return OccupancyGrid(cv.occ, p.resolution_m, (0.0, 0.0))


def _with_endpoints(
    rng: np.random.Generator, grid: OccupancyGrid, p: RoomsParams, name: str
) -> Scenario | None:
    clearance = ndimage.distance_transform_edt(~grid.occupied) * grid.resolution_m
    rr, cc = np.nonzero(clearance > p.clearance_m + grid.resolution_m)
    if len(rr) < 2:
        return None
    xy = np.stack([(cc + 0.5) * grid.resolution_m, (rr + 0.5) * grid.resolution_m], axis=1)
    for _ in range(100):
        a, b = xy[rng.integers(len(xy))], xy[rng.integers(len(xy))]
        if math.dist(a, b) >= p.min_goal_distance_m:
            yaw = float(rng.uniform(-math.pi, math.pi))
            start = (round(float(a[0]), 4), round(float(a[1]), 4), round(yaw, 4))
            goal = (round(float(b[0]), 4), round(float(b[1]), 4))
            return Scenario(name, start, goal, 1.0, 100.0, None, grid=grid)
    return None


def write_rooms_set(out_dir: Path, count: int, seed: int, params: RoomsParams = RoomsParams()) -> list[Path]:
    """Write ``count`` worlds (``rooms_NNN.scenario.yaml`` + ``.yaml`` + ``.pgm``) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        sc, _ = generate_rooms_world(int(np.random.SeedSequence([seed, i]).generate_state(1)[0]), params)
        stem = f"rooms_{i:03d}"
        sc = Scenario(
            f"rooms_{i:03d}",
            sc.start,
            sc.goal,
            sc.goal_tolerance_m,
            sc.time_limit_s,
            sc.ref_path_length_m,
            grid=sc.grid,
        )
        write_nav2_map(out_dir / f"{stem}.yaml", sc.grid)  # type: ignore[arg-type]
        header = (
            f"{params.size_m:g} x {params.size_m:g} m rooms world {i} from sim2real.nav.rooms "
            f"(set seed {seed}).\n"
            "ref_path_length: A* on the map with the Jackal's inscribed radius inflated."
        )
        write_scenario(out_dir / f"{stem}.scenario.yaml", sc, f"{stem}.yaml", header=header)
        paths.append(out_dir / f"{stem}.scenario.yaml")
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write large rooms-and-corridors worlds (scenario + Nav2 map).")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size-m", type=float, default=50.0)
    a = ap.parse_args(argv)
    for p in write_rooms_set(Path(a.out), a.count, a.seed, RoomsParams(size_m=a.size_m)):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
