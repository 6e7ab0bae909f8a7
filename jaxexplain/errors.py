"""jaxexplain's own exceptions, kept apart from the user's: bad input (exit 2) vs. a failing target (exit 1)."""

from __future__ import annotations


class JaxExplainError(Exception):
    """Base class: a problem jaxexplain explains in one paragraph, with an exit code."""

    exit_code = 2


class UsageError(JaxExplainError):
    """The command line or the API call itself is wrong: unparsable value, unknown name, missing argument."""


class TargetNotFound(UsageError):
    """The TARGET names a module, file or attribute that does not exist."""


class UserCodeError(UsageError):
    """The user's module raised while it was imported (exit 2: the input is bad), or their
    factory or function raised or tried to exit while jaxexplain ran it (exit 1).

    `user_frame` is "file:line" of the deepest frame in the user's own code, so the message can
    point at their line rather than at importlib's.
    """

    def __init__(self, message: str, user_frame: str | None = None, exit_code: int = 2) -> None:
        super().__init__(message)
        self.user_frame = user_frame
        self.exit_code = exit_code


class TraceFailed(JaxExplainError):
    """The target itself failed to trace or compile; the report explains why."""

    exit_code = 1
