"""The frames one recording saw: which files are user code, and each run of a user frame (and of
a library frame near one) inside the root's call, with the events the hooks gave it."""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from jaxexplain import userfiles
from jaxexplain.decisions.library_watch import Watch, cached_watch, library_can_decide
from jaxexplain.decisions.provenance import Provenance, provenance

# How far below a user frame library code is recorded, counting the library frames from the
# one the user called (1) down: flax reaches `Dropout.__call__` at 3 (`wrapped_module_method`,
# `_call_wrapped_method`). Recording every library frame multiplies a flax trace's time by 12
# on Python 3.11; the decisions on the user's statics are taken this close to the user's call.
LIBRARY_DEPTH = 3
LIBRARY = "library"  # the verdict on an installed library's file (neither user code nor JAX)


class Activation:
    """One run of one frame of user code: the instructions (offsets >= 0) and lines (as
    negative numbers) it executed in order, who called it, and whether it returned. A
    `library` frame near user code also knows the user frame above it (`user`) and the
    instruction that frame was running (`user_offset`): the call that led into the library."""

    __slots__ = (
        "call_offset",
        "code",
        "direct",
        "events",
        "in_scope",
        "library",
        "parent",
        "provenance",
        "returned",
        "user",
        "user_offset",
    )

    def __init__(
        self,
        code: CodeType,
        parent: Activation | None,
        call_offset: int | None,
        direct: bool,
        in_scope: bool,
    ) -> None:
        self.code = code
        self.parent = parent
        self.call_offset = call_offset
        self.direct = direct
        self.in_scope = in_scope
        self.events: list[int] = []
        self.returned = False
        self.provenance: Provenance | None = None
        self.library = False
        self.user: Activation | None = None
        self.user_offset = 0


class FrameLog:
    """What the hooks of one `DecisionRecorder` report into: the verdict on each file (user
    code, library, neither), the frames being recorded (`live`, by frame id) and every run of
    a frame inside the root's call. Verdicts and what library code can decide are kept across
    recordings; the runs start anew with each (`begin_recording`)."""

    def __init__(self, root_code: CodeType | None, is_user_file: Callable[[str], bool]) -> None:
        self.root_code = root_code
        self.is_user_file = is_user_file
        self.file_verdicts: dict[str, bool | str] = {}
        self.live: dict[int, Activation] = {}
        self.activations: list[Activation] = []
        self.library_activations: list[Activation] = []
        self.library_codes: dict[int, tuple[CodeType, bool]] = {}
        self.namespaces: dict[int, dict[str, Any]] = {}

    def begin_recording(self) -> None:
        """Forgets the runs of the previous recording."""
        self.activations, self.namespaces = [], {}
        self.library_activations = []

    def is_user_code(self, code: CodeType) -> bool:
        """Whether a code object belongs to user code, decided once per file name."""
        return self.file_verdict(code.co_filename) is True

    def file_verdict(self, filename: str) -> bool | str:
        """True for user code, LIBRARY for an installed library other than JAX, else False;
        a library file's frames are recorded only near a user frame (see `begin_library`)."""
        known = self.file_verdicts.get(filename)
        if known is not None:
            return known
        verdict: bool | str = bool(self.is_user_file(filename))
        if not verdict and userfiles.library_path(filename) is not None:
            verdict = LIBRARY
        self.file_verdicts[filename] = verdict
        return verdict

    def may_decide_in_library(self, code: CodeType) -> bool:
        """Whether a code object is library code that can decide anything (cached per code
        object, which the cache keeps alive so that its id is not reused): it branches, and
        once a frame of it ran near user code, one of its tests can be watched."""
        entry = self.library_codes.get(id(code))
        if entry is None:
            verdict = self.file_verdict(code.co_filename) == LIBRARY and library_can_decide(code)
            entry = self.library_codes[id(code)] = (code, verdict)
        return entry[1]

    def library_watch(self, code: CodeType, namespace: dict[str, Any]) -> Watch | None:
        """What to watch in a library code object that runs near user code; None where it has
        no if/ifexp/while test to read (only loops, `and`/`or`, `try`), and then none of its
        frames is looked at again (its source is read only once a frame runs this close)."""
        watch = cached_watch(code, namespace)
        if watch is None:
            self.library_codes[id(code)] = (code, False)
        return watch

    def begin_library(self, frame: FrameType) -> Activation | None:
        """Starts recording a library frame that runs within `LIBRARY_DEPTH` frames below a
        user frame inside the root's call; None (not recorded) for any other. The library
        frames in between that decide nothing (`hk.dropout` calling `dropout_impl`) are
        recorded too, without events, so that each frame's arguments can be followed to the
        call that made it. `frame` has just started: whatever was recorded under its id
        belongs to a finished frame whose memory it took."""
        between: list[FrameType] = []
        caller = frame.f_back
        while caller is not None and len(between) < LIBRARY_DEPTH:
            user = self.live.get(id(caller))
            if user is not None and user.code is caller.f_code and not user.library:
                break
            between.append(caller)
            caller = caller.f_back
        else:
            return None
        if not user.in_scope:
            return None
        parent, parent_frame = user, caller
        for step in reversed([frame, *between]):
            recorded = self.live.get(id(step))
            if step is frame or recorded is None or recorded.code is not step.f_code:
                if step is not frame and self.file_verdict(step.f_code.co_filename) != LIBRARY:
                    continue
                recorded = self._library_activation(step, parent, parent_frame, user, caller)
            parent, parent_frame = recorded, step
        return parent

    def _library_activation(
        self,
        frame: FrameType,
        parent: Activation,
        parent_frame: FrameType,
        user: Activation,
        user_frame: FrameType,
    ) -> Activation:
        """A recorded library frame: called by `parent` (directly where nothing lies between),
        below the user frame that was running `user_frame.f_lasti`."""
        direct = parent_frame is frame.f_back
        recorded = Activation(frame.f_code, parent, parent_frame.f_lasti, direct, True)
        recorded.library, recorded.user, recorded.user_offset = True, user, user_frame.f_lasti
        self.live[id(frame)] = recorded
        self.library_activations.append(recorded)
        self.namespaces.setdefault(id(frame.f_code), frame.f_globals)
        return recorded

    def begin(self, frame: FrameType) -> Activation:
        """Starts recording a new frame of user code; called by the hooks on function entry."""
        parent, caller, direct = self._nearest_recorded(frame.f_back)
        code = frame.f_code
        in_scope = code is self.root_code or (parent is not None and parent.in_scope)
        call_offset = caller.f_lasti if caller is not None else None
        activation = Activation(code, parent, call_offset, direct, in_scope)
        self.live[id(frame)] = activation
        if in_scope:
            self.activations.append(activation)
            self.namespaces.setdefault(id(code), frame.f_globals)
            if not direct and caller is not None:
                # Called from library code: no call in the source says what the arguments
                # were, but the objects themselves do.
                activation.provenance = provenance(frame, caller)
        return activation

    def _nearest_recorded(
        self, frame: FrameType | None
    ) -> tuple[Activation | None, FrameType | None, bool]:
        """The closest calling frame of user code, and whether it called this one directly."""
        direct = True
        while frame is not None:
            activation = self.live.get(id(frame))
            if (
                activation is not None
                and activation.code is frame.f_code
                and not activation.library
            ):
                return activation, frame, direct
            direct = False
            frame = frame.f_back
        return None, None, False


def near_user(live: dict[int, Activation], frame: FrameType) -> bool:
    """Whether a user frame runs within `LIBRARY_DEPTH` frames above `frame`: the check every
    call of library code that can decide makes, kept to a few lookups (most such calls run far
    below the user's code); `FrameLog.begin_library` decides the rest."""
    caller = frame.f_back
    for _ in range(LIBRARY_DEPTH):
        if caller is None:
            return False
        user = live.get(id(caller))
        if user is not None and user.code is caller.f_code and not user.library:
            return True
        caller = caller.f_back
    return False
