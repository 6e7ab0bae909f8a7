"""The sys.settrace backend of the decision recorder: Python 3.11, or 3.12+ when no
sys.monitoring tool id is free. Opcode events in user frames, a prior trace function (a
debugger, coverage) chained, and a hook another tool displaced said so."""

from __future__ import annotations

import dis
import inspect
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from jaxexplain._py_compat import HAS_MONITORING, RETURN_OPCODES, SETTRACE_RUNS_ON_MONITORING
from jaxexplain.decisions.bytecode import can_decide
from jaxexplain.decisions.disturbance import own_call
from jaxexplain.decisions.frames import LIBRARY, Activation, FrameLog, near_user
from jaxexplain.decisions.library_watch import Watch

# Generators and coroutines: a frame resumed may go on without a line event.
_SUSPENDS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


class TraceHook:
    """Python 3.11 (or no free monitoring tool id): `sys.settrace` with opcode events in user
    frames. A trace function installed before (a debugger, coverage) keeps receiving its
    events, and is put back on exit."""

    def __init__(self, frames: FrameLog) -> None:
        self._frames = frames
        self._prior: Callable[..., Any] | None = sys.gettrace()
        self._returns: dict[int, frozenset[int]] = {}
        self._branches: dict[int, bool] = {}
        self._tracers: dict[int, Callable[..., Any]] = {}
        self._installed: Callable[..., Any] | None = None

    @classmethod
    def start(cls, frames: FrameLog) -> TraceHook:
        hook = cls(frames)
        # Python 3.12 delivers opcode events only if some frame asked for them before
        # sys.settrace was called.
        here = sys._getframe()
        asked, here.f_trace_opcodes = here.f_trace_opcodes, True
        hook._installed = hook._global_tracer()
        with own_call():
            sys.settrace(hook._installed)
        here.f_trace_opcodes = asked
        return hook

    def _global_tracer(self) -> Callable[..., Any]:
        """The function called on every Python call: with no prior tracer to feed, frames
        of files already known not to be user code cost one dictionary lookup."""
        if self._prior is not None:
            return self._on_call
        frames, on_call = self._frames, self._on_call
        verdicts, library_codes, live = frames.file_verdicts, frames.library_codes, frames.live

        def on_any_call(frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
            code = frame.f_code
            verdict = verdicts.get(code.co_filename)
            if verdict is False:
                return None
            if verdict == LIBRARY:
                known = library_codes.get(id(code))
                if known is not None and not (known[1] and near_user(live, frame)):
                    return None  # nothing to watch, or not near user code
            return on_call(frame, event, arg)

        return on_any_call

    def stop(self) -> str | None:
        """Puts the prior trace function back; says why the recording is not whole where
        another one replaced this hook meanwhile."""
        current = sys.gettrace()
        with own_call():
            sys.settrace(self._prior)
        if current is self._installed:
            return None
        return _displaced_reason(current)

    def _on_call(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        resumed = frame.f_trace is not None  # a generator coming back: it has its tracer
        prior = self._prior
        theirs = prior(frame, event, arg) if prior is not None else None
        if not self._frames.is_user_code(frame.f_code):
            return self._library_tracer(frame, resumed, theirs)
        their_opcodes = frame.f_trace_opcodes
        ours = self._tracer_for(frame, resumed)
        tracer = ours if theirs is None else _chain(ours, theirs, their_opcodes)
        frame.f_trace = tracer  # Python 3.13 enables opcode events only on a traced frame
        frame.f_trace_opcodes = their_opcodes or self._branching(frame.f_code)
        return tracer

    def _library_tracer(
        self, frame: FrameType, resumed: bool, theirs: Callable[..., Any] | None
    ) -> Callable[..., Any] | None:
        """A library frame near user code is recorded as a user frame is (a resumed library
        generator is not: its test ran when it started)."""
        frames, code = self._frames, frame.f_code
        if resumed or not frames.may_decide_in_library(code):
            return theirs
        activation = frames.begin_library(frame)
        watch = frames.library_watch(code, frame.f_globals) if activation else None
        if activation is None or watch is None:
            return theirs
        if theirs is None and not SETTRACE_RUNS_ON_MONITORING and not code.co_flags & _SUSPENDS:
            tracer = _library_local_tracer(activation, watch)
        else:
            ours = _local_tracer(activation, watch.returns)
            tracer = ours if theirs is None else _chain(ours, theirs, frame.f_trace_opcodes)
        frame.f_trace, frame.f_trace_opcodes = tracer, True
        return tracer

    def _tracer_for(self, frame: FrameType, resumed: bool) -> Callable[..., Any]:
        """A resumed generator keeps its activation; a new frame gets a new one."""
        activation = self._frames.live.get(id(frame))
        if resumed and activation is not None and activation.code is frame.f_code:
            return self._tracers[id(activation)]
        activation = self._frames.begin(frame)
        tracer = _local_tracer(activation, self._return_offsets(frame.f_code))
        self._tracers[id(activation)] = tracer
        return tracer

    def _branching(self, code: CodeType) -> bool:
        verdict = self._branches.get(id(code))
        if verdict is None:
            verdict = self._branches[id(code)] = can_decide(code)
        return verdict

    def _return_offsets(self, code: CodeType) -> frozenset[int]:
        offsets = self._returns.get(id(code))
        if offsets is None:
            offsets = frozenset(
                i.offset for i in dis.get_instructions(code) if i.opname in RETURN_OPCODES
            )
            self._returns[id(code)] = offsets
        return offsets


def _displaced_reason(current: object) -> str:
    """Why the decisions are unknown when `current` took the place of the recorder's hook."""
    if current is None:
        taker = "the code being traced removed Python's trace function (sys.settrace(None))"
    else:
        kind = current if inspect.isroutine(current) else type(current)
        name = f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"
        taker = f"another trace function ({name}) replaced jaxexplain's sys.settrace hook"
    monitoring = " and no sys.monitoring tool id was free" if HAS_MONITORING else ""
    return (
        f"Decisions could not be recorded: {taker} while the function was traced{monitoring}, "
        "so jaxexplain could not see which way its Python branches and loops went. "
        "Run jaxexplain outside that tool to see them."
    )


def _local_tracer(activation: Activation, returns: frozenset[int]) -> Callable[..., Any]:
    """The trace function of one user frame: instruction offsets, lines, normal return."""
    append = activation.events.append

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., Any]:
        if event == "opcode":
            append(frame.f_lasti)
        elif event == "line":
            append(-frame.f_lineno)
        elif event == "return" and frame.f_lasti in returns:
            activation.returned = True
        return trace

    return trace


def _library_local_tracer(activation: Activation, watch: Watch) -> Callable[..., Any]:
    """The trace function of a library frame near user code (Python 3.11): opcode events only
    from the start of a line holding watched instructions to the last of them. CPython 3.11
    reports a line before its first opcode, and again on any jump backwards, so between two
    line events a frame runs its line's instructions in increasing order: none of those
    watched is missed."""
    append, last_on_line, returns = activation.events.append, watch.last_on_line, watch.returns
    last = sys.maxsize  # the last watched offset of the line running (all, before any)

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., Any]:
        nonlocal last
        if event == "opcode":
            offset = frame.f_lasti
            append(offset)
            if offset >= last:
                frame.f_trace_opcodes = False
        elif event == "line":
            last = last_on_line.get(frame.f_lineno, -1)
            frame.f_trace_opcodes = last >= 0
        elif event == "return" and frame.f_lasti in returns:
            activation.returned = True
        return trace

    return trace


def _chain(
    ours: Callable[..., Any], theirs: Callable[..., Any], their_opcodes: bool
) -> Callable[..., Any]:
    """A local trace function feeding both ours and a prior tracer's (opcode events only
    when the prior tracer asked for them)."""
    tracers: list[Callable[..., Any] | None] = [ours, theirs]

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        if tracers[0] is not None:
            tracers[0] = tracers[0](frame, event, arg)
        if tracers[1] is not None and (event != "opcode" or their_opcodes):
            tracers[1] = tracers[1](frame, event, arg)
        return trace if tracers[0] is not None or tracers[1] is not None else None

    return trace
