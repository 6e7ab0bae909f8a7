"""User code that tries to leave the process while jaxexplain runs it: `sys.exit` raises
SystemExit, which jaxexplain catches like any error; `os._exit` would end the process at once,
exit status and all, with no report written (a CI job would read `os._exit(0)` as success), so
while user code runs it raises instead, in the process and thread that run jaxexplain."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import NoReturn


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
