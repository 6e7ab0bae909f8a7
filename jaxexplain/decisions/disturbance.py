"""Noticing code that sets Python's trace or profile function (pdb, a profiler, coverage.py
started inside) while a recording runs in its thread, as coverage.py warns "trace function
changed": what the hooks saw is then a part of unknown size, and the report says so.

Python raises an audit event for every `sys.settrace`/`sys.setprofile`, from Python or from C
(`PyEval_SetTrace`), so a tracer set and put back before the recording ends is seen too. An
audit hook cannot be removed: one is added at the first recording of the process and answers
only while a recording watches in the thread it runs in.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from jaxexplain._py_compat import SETPROFILE_DISTURBS_RECORDING

# The audit events of the calls that disturb a recording: sys.settrace always (the 3.11 backend
# is a trace function; from 3.12 sys.settrace is instrumentation of the running code objects),
# sys.setprofile where it rewrites the same instrumentation.
_DISTURBING = frozenset(
    {"sys.settrace", "sys.setprofile"} if SETPROFILE_DISTURBS_RECORDING else {"sys.settrace"}
)


class _ThreadState(threading.local):
    """Per thread: the disturbances of each recording watching here (innermost last), and
    whether jaxexplain itself is calling sys.settrace (its own hook going on or off)."""

    def __init__(self) -> None:
        self.watching: list[list[str]] = []
        self.own_call = False


_state = _ThreadState()
_hook_added: list[bool] = [False]


def _on_audit(event: str, args: tuple[object, ...]) -> None:
    if event in _DISTURBING and _state.watching and not _state.own_call:
        for seen in _state.watching:
            seen.append(event.removeprefix("sys."))


class SetterWatch:
    """The trace and profile functions set in the thread of `start` by anyone but jaxexplain,
    until `stop`: "settrace" or "setprofile" per call, in order (`calls`)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> None:
        if not _hook_added[0]:
            sys.addaudithook(_on_audit)
            _hook_added[0] = True
        self.calls = []
        _state.watching.append(self.calls)

    def stop(self) -> None:
        watching = _state.watching
        for i in range(len(watching) - 1, -1, -1):
            if watching[i] is self.calls:
                del watching[i]
                return


@contextmanager
def own_call() -> Iterator[None]:
    """jaxexplain's own hook going on or off: not a disturbance."""
    saved, _state.own_call = _state.own_call, True
    try:
        yield
    finally:
        _state.own_call = saved


def disturbed_reason(calls: list[str]) -> str:
    """Why the decisions are unknown when the code being traced set Python's trace or profile
    function while it was recorded."""
    called = " and ".join(f"sys.{name}" for name in dict.fromkeys(calls))
    times = "once" if len(calls) == 1 else f"{len(calls)} times"
    return (
        f"Decisions could not be recorded: the code being traced called {called} ({times}: "
        "a debugger, a profiler or coverage.py started inside it) while the function was "
        "traced, which disturbs the hooks jaxexplain records with, so what they saw of its "
        "Python branches and loops may be incomplete. Run it without that call to see them."
    )
