"""The sys.monitoring backend of the decision recorder (Python 3.12+): events enabled only on the
code objects of user code and of library code near it, so that JAX runs at full speed."""

from __future__ import annotations

import sys
import threading
from types import CodeType, FrameType
from typing import Any

from jaxexplain._py_compat import HAS_MONITORING
from jaxexplain.decisions.bytecode import can_decide
from jaxexplain.decisions.frames import FrameLog, near_user

_TOOL_PREFERENCE = (4, 3, 5, 2, 0, 1)  # unnamed ids first, the debugger's and coverage's last
# Per tool id, the files whose code objects recordings in this process switched off (DISABLE
# lasts for the process, whoever holds the id next), with the verdict on the file then.
_switched_off: dict[int, dict[str, bool | str]] = {}


class MonitoringHook:
    """Python 3.12+: PY_START everywhere (disabled per code object as soon as it is neither
    user code nor library code that can decide), INSTRUCTION, LINE and PY_RETURN events on
    user code objects, and on library code objects run near user code, INSTRUCTION events at
    the instructions its tests need (see `Watch`) and PY_RETURN.

    sys.monitoring reports the events of every thread, a thread-local recording's only where
    they come from the thread that started it (another thread may be tracing the same code for
    a recording of its own): the others are dropped."""

    def __init__(self, frames: FrameLog, monitoring: Any, tool: int) -> None:
        self._frames = frames
        self._monitoring = monitoring
        self._tool = tool
        self._thread = threading.get_ident()
        self._user_codes: dict[int, CodeType] = {}
        self._library_codes: dict[int, CodeType] = {}
        self._watched: dict[int, frozenset[int]] = {}  # per library code id: `Watch.offsets`

    @classmethod
    def start(cls, frames: FrameLog) -> MonitoringHook | None:
        """Installs the hook on a free tool id; None before 3.12 or when all ids are taken."""
        if not HAS_MONITORING:
            return None
        monitoring = sys.monitoring  # type: ignore[attr-defined]  # not in 3.11's typeshed
        for tool in _TOOL_PREFERENCE:
            if monitoring.get_tool(tool) is not None:
                continue
            try:
                monitoring.use_tool_id(tool, "jaxexplain")
            except ValueError:  # taken by another thread meanwhile
                continue
            hook = cls(frames, monitoring, tool)
            hook._register()
            return hook
        return None

    def _register(self) -> None:
        """Registers the callbacks; events from frames not being recorded are dropped."""
        monitoring = self._monitoring
        events = monitoring.events
        self._restart_what_changed_verdict()
        live, frame_at = self._frames.live, sys._getframe
        watched, switch_off = self._watched, self._switch_off
        library_codes, first_start = self._frames.library_codes, self._on_start
        thread, thread_now = self._thread, threading.get_ident

        def on_start(code: CodeType, offset: int) -> object:
            """Every Python call: a library code object seen before is settled here, most
            calls of it running far below user code; anything else in `_on_start`."""
            known = library_codes.get(id(code))
            if known is not None and not known[1]:
                return switch_off(code)
            if thread_now() != thread:
                return self._on_start_elsewhere(code)
            if known is None:
                return first_start(code, frame_at(1))
            frame = frame_at(1)
            if near_user(live, frame):
                return self._on_library_start(code, frame)
            live.pop(id(frame), None)  # what a finished frame at this address left
            return None

        def on_instruction(code: CodeType, offset: int) -> object:
            if thread_now() != thread:
                return None
            activation = live.get(id(frame_at(1)))
            if activation is not None and not activation.library:
                activation.events.append(offset)
                return None
            offsets = watched.get(id(code))
            if offsets is None:
                return None  # a frame of user code that started before the recording
            if offset not in offsets:
                return switch_off(code)  # in every frame of this code, from now on
            if activation is not None and activation.code is code:
                activation.events.append(offset)
            return None

        def on_line(code: CodeType, line: int) -> None:
            if thread_now() != thread:
                return
            activation = live.get(id(frame_at(1)))
            if activation is not None:
                activation.events.append(-line)

        def on_return(code: CodeType, offset: int, value: object) -> None:
            if thread_now() != thread:
                return
            activation = live.get(id(frame_at(1)))
            if activation is not None and activation.code is code:
                activation.returned = True

        monitoring.register_callback(self._tool, events.PY_START, on_start)
        monitoring.register_callback(self._tool, events.INSTRUCTION, on_instruction)
        monitoring.register_callback(self._tool, events.LINE, on_line)
        monitoring.register_callback(self._tool, events.PY_RETURN, on_return)
        monitoring.set_events(self._tool, events.PY_START)

    def _restart_what_changed_verdict(self) -> None:
        """Code switched off under an earlier recording on this tool id fires again where its
        file is judged otherwise now: a target's own file is user code while it is explained
        (`userfiles.counted_as_user_code`), a notebook cell once linecache holds it, and a
        recorder may bring a predicate of its own. Restarting is all or nothing, and costs
        every code object's first event again, so only such a change pays for it."""
        off = _switched_off.setdefault(self._tool, {})
        verdict = self._frames.file_verdict
        if any(verdict(filename) != before for filename, before in off.items()):
            self._monitoring.restart_events()  # every tool's, so every record is void
            for files in _switched_off.values():
                files.clear()

    def _switch_off(self, code: CodeType) -> object:
        """DISABLE for `code`'s PY_START (or the instruction reporting), remembered with the
        verdict on its file that decided it."""
        filename = code.co_filename
        _switched_off[self._tool][filename] = self._frames.file_verdict(filename)
        return self._monitoring.DISABLE

    def _on_start(self, code: CodeType, frame: FrameType) -> object:
        """A call of user code, or the first call of library code in this recording."""
        if id(code) not in self._user_codes:
            if not self._frames.is_user_code(code):
                if not self._frames.may_decide_in_library(code):
                    return self._switch_off(code)
                return self._on_library_start(code, frame)
            self._user_codes[id(code)] = code
            events = self._monitoring.events
            local = events.LINE | events.PY_RETURN
            local |= events.INSTRUCTION if can_decide(code) else 0
            self._monitoring.set_local_events(self._tool, code, local)
        self._frames.begin(frame)
        return None

    def _on_start_elsewhere(self, code: CodeType) -> object:
        """A call in another thread: nothing of it is recorded, but code that no thread's
        recording would watch (neither user code nor library code that can decide) is
        switched off as it would be here."""
        frames = self._frames
        if frames.is_user_code(code) or frames.may_decide_in_library(code):
            return None
        return self._switch_off(code)

    def _on_library_start(self, code: CodeType, frame: FrameType) -> object:
        """Library code that can decide stays watched, since only some of its frames run near
        user code; its instructions are watched once a frame of it is recorded. Every frame of
        that code object then reports them, and only those of its tests (see `Watch`): the
        others are switched off as they first run, and the unrecorded frames' dropped. A frame
        not recorded forgets a finished recorded frame whose address it took."""
        frames = self._frames
        if frames.begin_library(frame) is None:
            frames.live.pop(id(frame), None)
            return None
        if id(code) not in self._library_codes:
            watch = frames.library_watch(code, frame.f_globals)
            if watch is None:
                return self._switch_off(code)
            self._library_codes[id(code)] = code
            self._watched[id(code)] = watch.offsets
            events = self._monitoring.events
            self._monitoring.set_local_events(
                self._tool, code, events.INSTRUCTION | events.PY_RETURN
            )
        return None

    def stop(self) -> str | None:
        """Removes every event and callback and frees the tool id; no other tool can take
        this one's events, so the recording is always whole (None)."""
        monitoring = self._monitoring
        try:
            monitoring.set_events(self._tool, 0)
            for code in (*self._user_codes.values(), *self._library_codes.values()):
                monitoring.set_local_events(self._tool, code, 0)
            for event in ("PY_START", "INSTRUCTION", "LINE", "PY_RETURN"):
                monitoring.register_callback(self._tool, getattr(monitoring.events, event), None)
        finally:
            monitoring.free_tool_id(self._tool)
        return None
