"""A 3Dconnexion SpaceMouse (6-DoF) over raw HID (hidapi), no 3Dconnexion driver needed.

HID input reports, as the devices send them (spacenavd and pyspacemouse read them the same way):

- report 1: translation, three little-endian int16 (x, y, z), about -350..350 at full deflection;
  the newer devices (SpaceMouse Wireless, Compact, Pro Wireless, the universal receiver) send the
  rotation in the same report, bytes 7-12 (a 13-byte report);
- report 2: rotation, three int16 (rx, ry, rz) (the older SpaceNavigator);
- report 3: buttons, a bit mask (bit 0 the left button, bit 1 the right one).

The device's raw frame is right-handed with x to the right, y toward the operator and z down
(pushing the cap down is +z). In the operator's frame (x forward, y left, z up) that is
``x = -y_raw``, ``y = -x_raw``, ``z = -z_raw`` and the same for the rotations. (Signs follow that
frame; they could not be checked on a device here.) The device sends reports only while the cap
moves; its state holds between reports. Buttons: left toggles the gripper (as HIL-SERL uses it),
right ends the episode. A SpaceMouse has no dead-man: it takes over by deflection. hidapi
(``pip install hidapi``) is imported only to open a live device; an unplugged device makes its
read fail: :class:`~sim2real_runtime.teleop.device.DeviceLost`.
"""

from __future__ import annotations

import contextlib
import struct
from typing import Any, Protocol

import numpy as np

from .device import DeviceLost, DeviceSample
from .replay import EventFile, ReplayClock

FULL_SCALE = 350.0
"""Raw count at full deflection."""
VENDORS = (0x046D, 0x256F)  # Logitech (older 3Dconnexion devices), 3Dconnexion
PRODUCTS = {
    0xC626: "SpaceNavigator",
    0xC627: "SpaceExplorer",
    0xC628: "SpaceNavigator for Notebooks",
    0xC62E: "SpaceMouse Wireless (cabled)",
    0xC62F: "SpaceMouse Wireless",
    0xC631: "SpaceMouse Pro Wireless (cabled)",
    0xC632: "SpaceMouse Pro Wireless",
    0xC633: "SpaceMouse Enterprise",
    0xC635: "SpaceMouse Compact",
    0xC652: "3Dconnexion Universal Receiver",
}
_INT16X3 = struct.Struct("<3h")


class HidSource(Protocol):
    """Where a SpaceMouse's HID reports come from."""

    name: str

    def read(self, now_s: float) -> list[bytes]:
        """The reports since the last read (each starting with its report id); raises OSError
        when the device is gone."""
        ...

    def close(self) -> None: ...


class LiveHid:
    """The first connected SpaceMouse (or the HID ``path``), read without blocking (hidapi)."""

    def __init__(self, path: bytes | None = None) -> None:
        try:
            import hid
        except ImportError as exc:
            raise ImportError("the SpaceMouse needs hidapi: pip install 'sim2real[teleop]'") from exc
        found = [d for d in hid.enumerate() if d["vendor_id"] in VENDORS and d["product_id"] in PRODUCTS]
        if path is None:
            if not found:
                raise DeviceLost(
                    "spacemouse", "no 3Dconnexion device found (is it plugged in, may you read its hidraw?)"
                )
            path = found[0]["path"]
        self.dev = hid.device()
        self.dev.open_path(path)
        self.dev.set_nonblocking(1)
        self.name = f"spacemouse {path.decode(errors='replace') if isinstance(path, bytes) else path}"

    def read(self, now_s: float) -> list[bytes]:
        out = []
        while True:
            data = self.dev.read(64)
            if not data:
                return out
            out.append(bytes(data))

    def close(self) -> None:
        self.dev.close()


class ReplayHid:
    """Reports from a recorded ``hid`` event file (``report``: hex bytes, report id first)."""

    def __init__(self, path: Any) -> None:
        f = EventFile(path, "hid")
        self.name = str(f.header.get("name", f.path))
        self.clock = ReplayClock(f.events, self.name)

    def read(self, now_s: float) -> list[bytes]:
        return [bytes.fromhex(str(e["report"])) for e in self.clock.due(now_s)]

    def close(self) -> None:
        pass


class SpaceMouse:
    """A SpaceMouse as an :class:`~sim2real_runtime.teleop.device.InputDevice`.

    Args:
        source: :class:`LiveHid` (``SpaceMouse.open()``) or :class:`ReplayHid`.
    """

    def __init__(self, source: HidSource) -> None:
        self.source = source
        self.name = source.name
        self.raw = np.zeros(6)  # x, y, z, rx, ry, rz in raw counts (device frame)
        self.buttons = 0
        self.gripper = False
        self.lost: DeviceLost | None = None

    @classmethod
    def open(cls, path: bytes | None = None) -> SpaceMouse:
        return cls(LiveHid(path))

    def poll(self, now_s: float) -> DeviceSample:
        if self.lost is not None:
            raise self.lost
        try:
            reports = self.source.read(now_s)
        except OSError as exc:
            self.lost = DeviceLost(self.name, f"lost (HID read failed: {exc})")
            raise self.lost from exc
        momentary: dict[str, bool] = {}
        for r in reports:
            self._report(r, momentary)
        x, y, z, rx, ry, rz = self.raw / FULL_SCALE
        axes = np.array([-y, -x, -z, -ry, -rx, -rz])
        return DeviceSample(axes, {"gripper": self.gripper, **momentary}, now_s, self.name)

    def _report(self, r: bytes, momentary: dict[str, bool]) -> None:
        if not r:
            return
        rid = r[0]
        if rid == 1 and len(r) >= 7:
            self.raw[0:3] = _INT16X3.unpack_from(r, 1)
            if len(r) >= 13:  # the newer devices: rotation in the same report
                self.raw[3:6] = _INT16X3.unpack_from(r, 7)
        elif rid == 2 and len(r) >= 7:
            self.raw[3:6] = _INT16X3.unpack_from(r, 1)
        elif rid == 3 and len(r) >= 2:
            pressed = r[1] & ~self.buttons
            self.buttons = r[1]
            if pressed & 1:
                self.gripper = not self.gripper
            if pressed & 2:
                momentary["episode_end"] = True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.source.close()
