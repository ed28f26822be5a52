"""Errors that name what was wrong and where.

Every error a user can cause with a file, a parameter or a policy names the file (or topic) and the
field, so the fix is obvious from the message alone.
"""

from __future__ import annotations


class Sim2RealError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(Sim2RealError):
    """A configuration, scenario or map file is malformed.

    Args:
        source: the file (or other source) that was read.
        field: dotted path of the offending field, e.g. ``lidar.num_beams``.
        message: what is wrong with it.
    """

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source = str(source)
        self.field = field
        self.message = message
        super().__init__(f"{self.source}: field '{field}': {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        # Rebuilt from its fields, so it crosses a process pool (an eval worker) intact.
        return (type(self), (self.source, self.field, self.message))


class ContractMismatchError(Sim2RealError):
    """A policy's contract does not match the robot (or node) it is asked to drive.

    Args:
        policy: the policy file or directory.
        field: dotted path of the contract field that mismatches.
        expected: what the policy's contract says.
        actual: what the robot configuration says.
    """

    def __init__(self, policy: str, field: str, expected: object, actual: object) -> None:
        self.policy = str(policy)
        self.field = field
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{self.policy}: contract field '{field}' does not match the robot: "
            f"policy was trained with {expected!r}, robot has {actual!r}"
        )

    def __reduce__(self) -> tuple[type, tuple[str, str, object, object]]:
        return (type(self), (self.policy, self.field, self.expected, self.actual))
