"""What every policy node shares beyond the transport: its latched state topic and throttled
error log."""

from __future__ import annotations

import math
from typing import Any, ClassVar

LOG_THROTTLE_S = 2.0
"""A repeated error is logged at most once per this period (per kind)."""


class PolicyNodeBase:
    """Mixin for the policy nodes. The node sets ``self.t`` (transport), ``self.log``,
    ``self.state_pub`` (std_msgs/String, latched) and ``self._str_cls`` before using it."""

    ALARM_PREFIXES: ClassVar[tuple[str, ...]] = ("stopped", "error")
    """States logged as warnings; the others are logged as information."""

    t: Any
    log: Any
    state_pub: Any
    _str_cls: Any
    state: str = ""

    def _set_state(self, state: str) -> None:
        """Publish ``state`` (and log it) when it changes."""
        if state != self.state:
            self.state = state
            (self.log.warning if state.startswith(self.ALARM_PREFIXES) else self.log.info)(f"state: {state}")
            self.state_pub.publish(self._str_cls(data=state))

    def _warn(self, key: str, text: str) -> None:
        """Log an error, at most once per LOG_THROTTLE_S for each ``key``."""
        last = self.__dict__.setdefault("_last_log", {})
        now = self.t.monotonic_s()
        if now - last.get(key, -math.inf) >= LOG_THROTTLE_S:
            last[key] = now
            self.log.error(text)
