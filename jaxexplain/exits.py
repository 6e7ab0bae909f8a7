"""User code that tries to leave the process while jaxexplain runs it: `sys.exit` raises
SystemExit, which jaxexplain catches like any error; `os._exit` would end the process at once,
exit status and all, with no report written (a CI job would read `os._exit(0)` as success), so
while user code runs it raises instead, in the process and thread that run jaxexplain."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

# The exit status of a run ended by Ctrl-C (SIGINT) or by SIGTERM, as shells report them.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class UserExit(SystemExit):
    """`os._exit(status)` called by user code, raised where it was called."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@contextlib.contextmanager
def os_exit_raises() -> Iterator[None]:
    """`os._exit` raises `UserExit` in this thread of this process while the block runs. A
    forked child and the program's other threads still leave at once, as they asked: a child's
    unwinding must never write the parent's report."""
    real_exit = os._exit
    pid, thread = os.getpid(), threading.get_ident()

    def exit_reported(status: int) -> NoReturn:
        if os.getpid() != pid or threading.get_ident() != thread:
            real_exit(status)
        raise UserExit(status)

    os._exit = exit_reported
    try:
        yield
    finally:
        os._exit = real_exit


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so that the run ends as an interrupt
    does (hooks removed, the report so far written) with exit 143."""


def _raise_terminated(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated(f"signal {signum}")


def terminate_like_interrupt() -> None:
    """SIGTERM raises `Terminated` in the main thread from now on (a watched program that sets
    its own handler keeps it); elsewhere nothing changes."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def interrupt_status(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
