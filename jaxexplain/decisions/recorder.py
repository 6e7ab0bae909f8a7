"""Records the Python control-flow decisions user code makes while JAX traces a function."""

from __future__ import annotations

import ast
import bisect
import builtins
import dis
import functools
import inspect
import itertools
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import (
    BuiltinFunctionType,
    CodeType,
    FrameType,
    FunctionType,
    MethodType,
    ModuleType,
    TracebackType,
)
from typing import Any

from jaxexplain import _source_ast as sa
from jaxexplain import userfiles
from jaxexplain.report import Decision, Dependency, LibraryDecision, SourceLine, SourceListing

CONSTANT = Dependency("<constant>", "constant")
BOUND = "bound"  # the role of a bound method's `self` in the root's parameter roles
# sys.settrace takes CPython 3.11 off its fast path: a recorded trace takes about 2.3x as long
# as a plain one; with sys.monitoring (3.12+) it takes about 1.05x.
RECORDING_SLOWS_TRACING = sys.version_info < (3, 12)
# From Python 3.12 sys.settrace runs on sys.monitoring, which switches opcode events per code
# object: a library frame switching them off for its own lines could hide them from another
# frame of the same code (see `_library_local_tracer`).
_PER_CODE_OPCODES = sys.version_info >= (3, 12)
# Generators and coroutines: a frame resumed may go on without a line event.
_SUSPENDS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
_FOR_ITER = 50  # label of a loop's own FOR_ITER instruction
_RETURN_OPCODES = frozenset({"RETURN_VALUE", "RETURN_CONST"})
# Instructions that only move control, start a loop or collect a comprehension's items: their
# source range is often the enclosing statement's or a neighbour's, so it tells nothing about
# which region is running.
_NEUTRAL_OPCODES = frozenset(
    {dis.opname[op] for op in {*dis.hasjrel, *dis.hasjabs, *getattr(dis, "hasjump", ())}}
    | {"EXTENDED_ARG", "CACHE", "RESUME", "NOT_TAKEN", "GET_ITER"}
    | {"LIST_APPEND", "SET_ADD", "MAP_ADD"}
) - {"FOR_ITER"}
_BRANCH_OPCODES = frozenset(
    code for name, code in dis.opmap.items() if "_IF_" in name or name == "FOR_ITER"
)
_SHAPE_VIAS = frozenset({sa.SHAPE, sa.DTYPE, sa.NDIM})
# How far below a user frame library code is recorded, counting the library frames from the
# one the user called (1) down: flax reaches `Dropout.__call__` at 3 (`wrapped_module_method`,
# `_call_wrapped_method`). Recording every library frame multiplies a flax trace's time by 12
# on Python 3.11; the decisions on the user's statics are taken this close to the user's call.
LIBRARY_DEPTH = 3
LIBRARY = "library"  # the verdict on an installed library's file (neither user code nor JAX)
_LIBRARY_KINDS = frozenset({"if", "ifexp", "while"})
_TOOL_PREFERENCE = (4, 3, 5, 2, 0, 1)  # unnamed ids first, the debugger's and coverage's last
# The user-file predicate of the previous monitoring session in this process (see _register).
_last_predicate: list[Callable[[str], bool] | None] = [None]


class DecisionRecorder:
    """Records every control-flow decision user code makes while JAX traces `root`.

    `param_roles` maps the root's parameter names to "static", "traced" or "default" (a
    default value nobody passed, which counts as static), and "name.attribute" to "static"
    for an attribute of a traced pytree object that is none of its leaves (aux data, which
    jit keys its cache on as it does a static); a bound method's `self` is a
    value the root carries, as a global is. `is_user_file` says which source
    files are user code; by default everything outside the standard library, installed
    packages, JAX and jaxexplain. Only code running inside the root's call is recorded, and
    only what runs: a trace JAX takes from its cache does not call the function at all.

    While active, every frame of user code records the instruction offsets it executes and
    the lines it runs: through `sys.monitoring` on Python 3.12+ (events enabled only on user
    code objects, so JAX runs at full speed), through `sys.settrace` with opcode events on
    3.11 (where any trace function slows all Python code down, JAX's included). Afterwards
    each executed instruction's source range is placed relative to the `if`/`while`/`for`/
    `match`/`assert`/conditional expression/comprehension holding it (its test, body, else
    branch, ...), which tells exactly which way each construct went. Both backends feed the
    same analysis, so their results agree.

    Outcomes are "true"/"false" per evaluation for if (an `if` clause of a comprehension
    included), ifexp, while and assert; for `for` loops and comprehensions (their outermost
    `for`), the number of times the body was entered per execution; for `match`, the
    0-based index of the case taken (-1 when none matched). A condition that reads no name
    depends on `<constant>`; nor does the length of a literal tuple or list display, except
    through its starred elements.

    A helper's parameters are followed to the arguments of the call that reached it, through
    JAX's transformations too (`jax.vmap(f)(a)`, `partial(f, a)`, `lax.scan(f, init, xs)`).
    A parameter no call can be found for keeps the helper's name and is reported by how it is
    read (its shape or dtype; read plainly, as a global), never as static.
    """

    def __init__(
        self,
        root: Callable[..., Any],
        param_roles: Mapping[str, str],
        is_user_file: Callable[[str], bool] | None = None,
    ) -> None:
        self._root_code = _code_of(root)
        self._roles = dict(param_roles)
        if inspect.ismethod(root):
            # `jax.jit(model.apply)`: the instance is bound before the call, not passed to it.
            bound = next(iter(inspect.signature(root.__func__).parameters), None)
            if bound is not None:
                self._roles.setdefault(bound, BOUND)
        self._is_user_file = is_user_file or userfiles.is_user_file
        self._file_verdicts: dict[str, bool | str] = {}
        self._live: dict[int, _Activation] = {}
        self._activations: list[_Activation] = []
        self._library_activations: list[_Activation] = []
        self._library_codes: dict[int, tuple[CodeType, bool]] = {}
        self._namespaces: dict[int, dict[str, Any]] = {}
        self._hook: _MonitoringHook | _TraceHook | None = None
        self._analysis: _Analysis | None = None
        self._unavailable: str | None = None

    def __enter__(self) -> DecisionRecorder:
        if self._hook is not None:
            raise RuntimeError("this DecisionRecorder is already recording")
        self._analysis, self._unavailable = None, None
        self._activations, self._namespaces = [], {}
        self._library_activations = []
        self._hook = _MonitoringHook.start(self) or _TraceHook.start(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        hook, self._hook = self._hook, None
        if hook is not None:
            self._unavailable = hook.stop()
        self._live.clear()

    @property
    def unavailable(self) -> str | None:
        """Why the decisions of the last recording are unknown, or None where they are known:
        another tool took Python's tracing hook while it ran (coverage.py's C tracer puts
        itself back on every call), so what was recorded is a part of unknown size."""
        return self._unavailable

    def decisions(self) -> tuple[Decision, ...]:
        """One record per construct that ran, ordered by (file, line, column); none where
        `unavailable` says why they are unknown."""
        if self._unavailable is not None:
            return ()
        return self._analyzed().decisions()

    def library_decisions(self) -> tuple[LibraryDecision, ...]:
        """The if/ifexp/while tests that installed libraries ran within `LIBRARY_DEPTH` frames
        of the user's code and whose tested value depends on a static of the root, one per
        (static, construct); none where `unavailable` says the recording is not whole."""
        if self._unavailable is not None:
            return ()
        return self._analyzed().library_decisions()

    def executed_lines(self) -> dict[str, set[int]]:
        """For every user file, the lines that ran inside the traced function's call."""
        return self._analyzed().executed_lines()

    def listings(
        self,
        equation_sources: Sequence[str | None],
        equation_libraries: Sequence[str | None] = (),
    ) -> tuple[SourceListing, ...]:
        """Annotated source of the root function, then of every helper that made a decision.

        `equation_sources` holds "file:line" for each equation of the jaxpr text, those in
        nested jaxprs (scan and while bodies, cond branches, checkpointed blocks) included, so
        that the lines of a loop body count the equations the user reads in them; each line
        reports how many equations it produced and whether it ran (every line, where
        `unavailable` says that what ran is unknown). `equation_libraries`, aligned with it,
        names the library frame that made each equation, where one did, so that a line
        calling `tx.update(...)` says that its equations came from optax.
        """
        counts = _EquationCounts.of(equation_sources, equation_libraries)
        return self._analyzed().listings(counts, self._unavailable is None)

    def dependencies_of(
        self,
        code: CodeType,
        expression: ast.expr,
        via: str | None = None,
        *,
        needs_value: bool = False,
    ) -> tuple[Dependency, ...]:
        """What `expression`, read in the last recorded run of `code` (say, the frame where
        the trace failed), depends on, in the root's parameters, as for a decision: a
        `lax.scan`/`fori_loop`/`while_loop` carry slot is the init item it was built from
        (`range(carry[1])` with init `(h, reps)` depends on `reps`, not on `xs`). Carries are
        traced, so a root argument reached through one is traced whatever its role. Empty
        where `code` did not run under the recorder. With `needs_value` (a failure needed the
        value), a plain read of a traced argument is its "value"; a decision that ran can only
        have read its shape."""
        return self._followed(code, expression, via, needs_value)[0]

    def carry_slots_of(self, code: CodeType, expression: ast.expr) -> tuple[CarrySlot, ...]:
        """The loop carry slots that the value of `expression`, read in the last recorded run
        of `code`, passed through on its way from the root's arguments, outermost last."""
        return self._followed(code, expression, None, True)[1]

    def _followed(
        self, code: CodeType, expression: ast.expr, via: str | None, needs_value: bool
    ) -> tuple[tuple[Dependency, ...], tuple[CarrySlot, ...]]:
        analysis = self._analyzed()
        for activation in reversed(self._activations):
            scope = analysis.scope(activation) if activation.code is code else None
            if scope is not None:
                resolver = _Resolver(self._roles, needs_value=needs_value, log_carries=True)
                found = tuple(dict.fromkeys(resolver.expression(expression, via, scope)))
                return found, tuple(dict.fromkeys(resolver.carry_slots))
        return (), ()

    def _is_user_code(self, code: CodeType) -> bool:
        """Whether a code object belongs to user code, decided once per file name."""
        return self._file_verdict(code.co_filename) is True

    def _file_verdict(self, filename: str) -> bool | str:
        """True for user code, LIBRARY for an installed library other than JAX, else False;
        a library file's frames are recorded only near a user frame (see `_begin_library`)."""
        known = self._file_verdicts.get(filename)
        if known is not None:
            return known
        verdict: bool | str = bool(self._is_user_file(filename))
        if not verdict and userfiles.library_path(filename) is not None:
            verdict = LIBRARY
        self._file_verdicts[filename] = verdict
        return verdict

    def _may_decide_in_library(self, code: CodeType) -> bool:
        """Whether a code object is library code that can decide anything (cached per code
        object, which the cache keeps alive so that its id is not reused): it branches, and
        once a frame of it ran near user code, one of its tests can be watched."""
        entry = self._library_codes.get(id(code))
        if entry is None:
            verdict = self._file_verdict(code.co_filename) == LIBRARY and _library_branches(code)
            entry = self._library_codes[id(code)] = (code, verdict)
        return entry[1]

    def _library_watch(self, code: CodeType, namespace: dict[str, Any]) -> _Watch | None:
        """What to watch in a library code object that runs near user code; None where it has
        no if/ifexp/while test to read (only loops, `and`/`or`, `try`), and then none of its
        frames is looked at again (its source is read only once a frame runs this close)."""
        watch = _library_watch(code, namespace)
        if watch is None:
            self._library_codes[id(code)] = (code, False)
        return watch

    def _begin_library(self, frame: FrameType) -> _Activation | None:
        """Starts recording a library frame that runs within `LIBRARY_DEPTH` frames below a
        user frame inside the root's call; None (not recorded) for any other. The library
        frames in between that decide nothing (`hk.dropout` calling `dropout_impl`) are
        recorded too, without events, so that each frame's arguments can be followed to the
        call that made it. `frame` has just started: whatever was recorded under its id
        belongs to a finished frame whose memory it took."""
        between: list[FrameType] = []
        caller = frame.f_back
        while caller is not None and len(between) < LIBRARY_DEPTH:
            user = self._live.get(id(caller))
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
            recorded = self._live.get(id(step))
            if step is frame or recorded is None or recorded.code is not step.f_code:
                if step is not frame and self._file_verdict(step.f_code.co_filename) != LIBRARY:
                    continue
                recorded = self._library_activation(step, parent, parent_frame, user, caller)
            parent, parent_frame = recorded, step
        return parent

    def _library_activation(
        self,
        frame: FrameType,
        parent: _Activation,
        parent_frame: FrameType,
        user: _Activation,
        user_frame: FrameType,
    ) -> _Activation:
        """A recorded library frame: called by `parent` (directly where nothing lies between),
        below the user frame that was running `user_frame.f_lasti`."""
        direct = parent_frame is frame.f_back
        recorded = _Activation(frame.f_code, parent, parent_frame.f_lasti, direct, True)
        recorded.library, recorded.user, recorded.user_offset = True, user, user_frame.f_lasti
        self._live[id(frame)] = recorded
        self._library_activations.append(recorded)
        self._namespaces.setdefault(id(frame.f_code), frame.f_globals)
        return recorded

    def _begin(self, frame: FrameType) -> _Activation:
        """Starts recording a new frame of user code; called by the hooks on function entry."""
        parent, caller, direct = self._nearest_recorded(frame.f_back)
        code = frame.f_code
        in_scope = code is self._root_code or (parent is not None and parent.in_scope)
        call_offset = caller.f_lasti if caller is not None else None
        activation = _Activation(code, parent, call_offset, direct, in_scope)
        self._live[id(frame)] = activation
        if in_scope:
            self._activations.append(activation)
            self._namespaces.setdefault(id(code), frame.f_globals)
            if not direct and caller is not None:
                # Called from library code: no call in the source says what the arguments
                # were, but the objects themselves do.
                activation.provenance = _provenance(frame, caller)
        return activation

    def _nearest_recorded(
        self, frame: FrameType | None
    ) -> tuple[_Activation | None, FrameType | None, bool]:
        """The closest calling frame of user code, and whether it called this one directly."""
        direct = True
        while frame is not None:
            activation = self._live.get(id(frame))
            if (
                activation is not None
                and activation.code is frame.f_code
                and not activation.library
            ):
                return activation, frame, direct
            direct = False
            frame = frame.f_back
        return None, None, False

    def _analyzed(self) -> _Analysis:
        if self._hook is not None:
            raise RuntimeError("read the decisions after the recorder has exited")
        if self._analysis is None:
            self._analysis = _Analysis(
                self._activations,
                self._root_code,
                self._roles,
                self._namespaces,
                self._library_activations,
            )
        return self._analysis


def _near_user(live: dict[int, _Activation], frame: FrameType) -> bool:
    """Whether a user frame runs within `LIBRARY_DEPTH` frames above `frame`: the check every
    call of library code that can decide makes, kept to a few lookups (most such calls run far
    below the user's code); `DecisionRecorder._begin_library` decides the rest."""
    caller = frame.f_back
    for _ in range(LIBRARY_DEPTH):
        if caller is None:
            return False
        user = live.get(id(caller))
        if user is not None and user.code is caller.f_code and not user.library:
            return True
        caller = caller.f_back
    return False


def _code_of(function: Callable[..., Any]) -> CodeType | None:
    """The code object JAX ends up running for `function` (wrappers and methods unwrapped)."""
    target: Any = inspect.unwrap(function)
    while isinstance(target, functools.partial):
        target = inspect.unwrap(target.func)
    target = getattr(target, "__func__", target)
    code = getattr(target, "__code__", None)
    if code is None and callable(target):
        code = getattr(type(target).__call__, "__code__", None)
    return code


@dataclass(frozen=True)
class CarrySlot:
    """A loop carry a value passed through: `loop` is the JAX function ("scan", "fori_loop",
    "while_loop"), `slot` the item read (`carry[1]`: 1; None for the whole carry),
    `parameter` the body's parameter that holds the carry in `function`, `init` the source of
    the init item the slot was built from, at `line`, and `dependencies` what that item
    depends on in the root's parameters."""

    loop: str
    slot: int | None
    parameter: str
    function: str
    init: str
    line: int
    dependencies: tuple[Dependency, ...]


class _Activation:
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
        parent: _Activation | None,
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
        self.user: _Activation | None = None
        self.user_offset = 0


# What a helper called from library code received: each of its arguments, and each attribute
# or item path inside one ("self.config"), mapped to the paths of the calling user frame's
# locals that held the very same object ("model.config"), and whether the object is a small
# value (a bool, number, string, None) that Python shares between unrelated uses, so that
# identity alone does not say where it came from.
Provenance = dict[str, tuple[tuple[tuple[str, ...], ...], bool]]
_PROVENANCE_DEPTH = 3  # attribute or item steps below a local or an argument
_PROVENANCE_NODES = 256  # objects visited per local or argument, so that a model's tree stays cheap
_PROVENANCE_ITEMS = 32  # items or attributes visited per container
_SHARED_TYPES = (bool, int, float, complex, str, bytes, type(None))
_CODE_TYPES = (type, ModuleType, FunctionType, MethodType, BuiltinFunctionType, functools.partial)
# Arrays and tracers are the traced data, never the static a decision reads; holding a
# tracer past its trace would also leak it.
_DATA_PACKAGES = frozenset({"jax", "jaxlib", "numpy", "ml_dtypes"})


def _provenance(frame: FrameType, caller: FrameType) -> Provenance:
    """Where the objects a helper received came from among its caller's locals, by identity:
    the library in between (haiku's `apply`, flax's module machinery, `nn.scan`) hands them on
    as they are, or builds new containers around the same objects (a module's clone keeps the
    field values it was built with)."""
    held: dict[int, list[tuple[str, ...]]] = {}
    for name, value in dict(caller.f_locals).items():
        for path, item in _reachable(name, value):
            held.setdefault(id(item), []).append(path)
    found: Provenance = {}
    for name, value in _arguments(frame).items():
        for path, item in _reachable(name, value):
            paths = held.get(id(item))
            if paths:
                found["".join(path)] = (tuple(paths), isinstance(item, _SHARED_TYPES))
    return found


def _arguments(frame: FrameType) -> dict[str, Any]:
    """The arguments a frame was called with, read when it starts."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    values = frame.f_locals
    return {name: values[name] for name in code.co_varnames[:count] if name in values}


def _reachable(name: str, value: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, object) for a value and the objects it holds, breadth first and bounded."""
    queue: deque[tuple[tuple[str, ...], Any]] = deque([((name,), value)])
    visited: set[int] = set()
    while queue and len(visited) < _PROVENANCE_NODES:
        path, item = queue.popleft()
        if id(item) in visited or type(item).__module__.partition(".")[0] in _DATA_PACKAGES:
            continue
        visited.add(id(item))
        yield path, item
        if len(path) <= _PROVENANCE_DEPTH:
            queue.extend(((*path, step), child) for step, child in _children(item))


def _children(item: Any) -> list[tuple[str, Any]]:
    """The items of a container and the public attributes of a plain object, each with the
    step that reaches it (`[0]`, `['w']`, `.act`); read without running any user code."""
    if isinstance(item, (*_SHARED_TYPES, *_CODE_TYPES)):
        return []
    if isinstance(item, dict):
        pairs = itertools.islice(item.items(), _PROVENANCE_ITEMS)
        return [(f"[{key!r}]", child) for key, child in pairs]
    if isinstance(item, (tuple, list)):
        fields = getattr(type(item), "_fields", None)
        steps = [f".{f}" for f in fields] if fields else [f"[{i}]" for i in range(len(item))]
        return list(zip(steps[:_PROVENANCE_ITEMS], item, strict=False))
    try:
        attributes = object.__getattribute__(item, "__dict__")
    except AttributeError:
        return []
    if not isinstance(attributes, dict):
        return []
    public = ((k, v) for k, v in attributes.items() if isinstance(k, str) and not k.startswith("_"))
    return [(f".{key}", child) for key, child in itertools.islice(public, _PROVENANCE_ITEMS)]


class _MonitoringHook:
    """Python 3.12+: PY_START everywhere (disabled per code object as soon as it is neither
    user code nor library code that can decide), INSTRUCTION, LINE and PY_RETURN events on
    user code objects, and on library code objects run near user code, INSTRUCTION events at
    the instructions its tests need (see `_Watch`) and PY_RETURN."""

    def __init__(self, recorder: DecisionRecorder, monitoring: Any, tool: int) -> None:
        self._recorder = recorder
        self._monitoring = monitoring
        self._tool = tool
        self._user_codes: dict[int, CodeType] = {}
        self._library_codes: dict[int, CodeType] = {}
        self._watched: dict[int, frozenset[int]] = {}  # per library code id: `_Watch.offsets`

    @classmethod
    def start(cls, recorder: DecisionRecorder) -> _MonitoringHook | None:
        """Installs the hook on a free tool id; None before 3.12 or when all ids are taken."""
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is None:
            return None
        for tool in _TOOL_PREFERENCE:
            if monitoring.get_tool(tool) is not None:
                continue
            try:
                monitoring.use_tool_id(tool, "jaxexplain")
            except ValueError:  # taken by another thread meanwhile
                continue
            hook = cls(recorder, monitoring, tool)
            hook._register()
            return hook
        return None

    def _register(self) -> None:
        """Registers the callbacks; events from frames not being recorded are dropped."""
        monitoring = self._monitoring
        events = monitoring.events
        if _last_predicate[0] is not self._recorder._is_user_file:
            # Code objects disabled under another notion of user code must fire again.
            monitoring.restart_events()
            _last_predicate[0] = self._recorder._is_user_file
        live, frame_at = self._recorder._live, sys._getframe
        watched, disable = self._watched, monitoring.DISABLE
        library_codes, first_start = self._recorder._library_codes, self._on_start

        def on_start(code: CodeType, offset: int) -> object:
            """Every Python call: a library code object seen before is settled here, most
            calls of it running far below user code; anything else in `_on_start`."""
            known = library_codes.get(id(code))
            if known is None:
                return first_start(code, frame_at(1))
            if not known[1]:
                return disable
            frame = frame_at(1)
            if _near_user(live, frame):
                return self._on_library_start(code, frame)
            live.pop(id(frame), None)  # what a finished frame at this address left
            return None

        def on_instruction(code: CodeType, offset: int) -> object:
            activation = live.get(id(frame_at(1)))
            if activation is not None and not activation.library:
                activation.events.append(offset)
                return None
            offsets = watched.get(id(code))
            if offsets is None:
                return None  # a frame of user code that started before the recording
            if offset not in offsets:
                return disable  # in every frame of this code, from now on
            if activation is not None and activation.code is code:
                activation.events.append(offset)
            return None

        def on_line(code: CodeType, line: int) -> None:
            activation = live.get(id(frame_at(1)))
            if activation is not None:
                activation.events.append(-line)

        def on_return(code: CodeType, offset: int, value: object) -> None:
            activation = live.get(id(frame_at(1)))
            if activation is not None and activation.code is code:
                activation.returned = True

        monitoring.register_callback(self._tool, events.PY_START, on_start)
        monitoring.register_callback(self._tool, events.INSTRUCTION, on_instruction)
        monitoring.register_callback(self._tool, events.LINE, on_line)
        monitoring.register_callback(self._tool, events.PY_RETURN, on_return)
        monitoring.set_events(self._tool, events.PY_START)

    def _on_start(self, code: CodeType, frame: FrameType) -> object:
        """A call of user code, or the first call of library code in this recording."""
        if id(code) not in self._user_codes:
            if not self._recorder._is_user_code(code):
                if not self._recorder._may_decide_in_library(code):
                    return self._monitoring.DISABLE
                return self._on_library_start(code, frame)
            self._user_codes[id(code)] = code
            events = self._monitoring.events
            local = events.LINE | events.PY_RETURN
            local |= events.INSTRUCTION if _branches(code) else 0
            self._monitoring.set_local_events(self._tool, code, local)
        self._recorder._begin(frame)
        return None

    def _on_library_start(self, code: CodeType, frame: FrameType) -> object:
        """Library code that can decide stays watched, since only some of its frames run near
        user code; its instructions are watched once a frame of it is recorded. Every frame of
        that code object then reports them, and only those of its tests (see `_Watch`): the
        others are switched off as they first run, and the unrecorded frames' dropped. A frame
        not recorded forgets a finished recorded frame whose address it took."""
        recorder = self._recorder
        if recorder._begin_library(frame) is None:
            recorder._live.pop(id(frame), None)
            return None
        if id(code) not in self._library_codes:
            watch = recorder._library_watch(code, frame.f_globals)
            if watch is None:
                return self._monitoring.DISABLE
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


class _TraceHook:
    """Python 3.11 (or no free monitoring tool id): `sys.settrace` with opcode events in user
    frames. A trace function installed before (a debugger, coverage) keeps receiving its
    events, and is put back on exit."""

    def __init__(self, recorder: DecisionRecorder) -> None:
        self._recorder = recorder
        self._prior: Callable[..., Any] | None = sys.gettrace()
        self._returns: dict[int, frozenset[int]] = {}
        self._branches: dict[int, bool] = {}
        self._tracers: dict[int, Callable[..., Any]] = {}
        self._installed: Callable[..., Any] | None = None

    @classmethod
    def start(cls, recorder: DecisionRecorder) -> _TraceHook:
        hook = cls(recorder)
        # Python 3.12 delivers opcode events only if some frame asked for them before
        # sys.settrace was called.
        here = sys._getframe()
        asked, here.f_trace_opcodes = here.f_trace_opcodes, True
        hook._installed = hook._global_tracer()
        sys.settrace(hook._installed)
        here.f_trace_opcodes = asked
        return hook

    def _global_tracer(self) -> Callable[..., Any]:
        """The function called on every Python call: with no prior tracer to feed, frames
        of files already known not to be user code cost one dictionary lookup."""
        if self._prior is not None:
            return self._on_call
        recorder, on_call = self._recorder, self._on_call
        verdicts, library_codes, live = (
            recorder._file_verdicts,
            recorder._library_codes,
            recorder._live,
        )

        def on_any_call(frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
            code = frame.f_code
            verdict = verdicts.get(code.co_filename)
            if verdict is False:
                return None
            if verdict == LIBRARY:
                known = library_codes.get(id(code))
                if known is not None and not (known[1] and _near_user(live, frame)):
                    return None  # nothing to watch, or not near user code
            return on_call(frame, event, arg)

        return on_any_call

    def stop(self) -> str | None:
        """Puts the prior trace function back; says why the recording is not whole where
        another one replaced this hook meanwhile."""
        current = sys.gettrace()
        sys.settrace(self._prior)
        if current is self._installed:
            return None
        return _displaced_reason(current)

    def _on_call(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        resumed = frame.f_trace is not None  # a generator coming back: it has its tracer
        prior = self._prior
        theirs = prior(frame, event, arg) if prior is not None else None
        if not self._recorder._is_user_code(frame.f_code):
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
        recorder, code = self._recorder, frame.f_code
        if resumed or not recorder._may_decide_in_library(code):
            return theirs
        activation = recorder._begin_library(frame)
        watch = recorder._library_watch(code, frame.f_globals) if activation else None
        if activation is None or watch is None:
            return theirs
        if theirs is None and not _PER_CODE_OPCODES and not code.co_flags & _SUSPENDS:
            tracer = _library_local_tracer(activation, watch)
        else:
            ours = _local_tracer(activation, watch.returns)
            tracer = ours if theirs is None else _chain(ours, theirs, frame.f_trace_opcodes)
        frame.f_trace, frame.f_trace_opcodes = tracer, True
        return tracer

    def _tracer_for(self, frame: FrameType, resumed: bool) -> Callable[..., Any]:
        """A resumed generator keeps its activation; a new frame gets a new one."""
        activation = self._recorder._live.get(id(frame))
        if resumed and activation is not None and activation.code is frame.f_code:
            return self._tracers[id(activation)]
        activation = self._recorder._begin(frame)
        tracer = _local_tracer(activation, self._return_offsets(frame.f_code))
        self._tracers[id(activation)] = tracer
        return tracer

    def _branching(self, code: CodeType) -> bool:
        verdict = self._branches.get(id(code))
        if verdict is None:
            verdict = self._branches[id(code)] = _branches(code)
        return verdict

    def _return_offsets(self, code: CodeType) -> frozenset[int]:
        offsets = self._returns.get(id(code))
        if offsets is None:
            offsets = frozenset(
                i.offset for i in dis.get_instructions(code) if i.opname in _RETURN_OPCODES
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
    monitoring = " and no sys.monitoring tool id was free" if hasattr(sys, "monitoring") else ""
    return (
        f"Decisions could not be recorded: {taker} while the function was traced{monitoring}, "
        "so jaxexplain could not see which way its Python branches and loops went. "
        "Run jaxexplain outside that tool to see them."
    )


def _branches(code: CodeType) -> bool:
    """Whether a code object can decide anything: only a conditional jump or a FOR_ITER
    does (a literal test such as `while True:` compiles to none and is read from lines)."""
    raw = code.co_code
    return any(raw[i] in _BRANCH_OPCODES for i in range(0, len(raw), 2))


@dataclass(frozen=True)
class _Watch:
    """The instructions of a library code object that can say which way one of its
    if/ifexp/while tests went (`offsets`), and per line holding some, the last of them."""

    offsets: frozenset[int]
    last_on_line: dict[int, int]
    returns: frozenset[int]  # the offsets of its return instructions


# Per library code object (kept alive with it, so that its id is not reused), what to watch in
# it; None where nothing. Kept for the process: a library's code and source do not change, and
# on Python 3.12+ the instructions not watched stay switched off between recordings.
_LIBRARY_WATCHES: dict[int, tuple[CodeType, _Watch | None]] = {}
_LIBRARY_BRANCHES: dict[int, tuple[CodeType, bool]] = {}  # `_branches` of library code
_JUMP_OPCODES = frozenset({*dis.hasjrel, *dis.hasjabs, *getattr(dis, "hasjump", ())})
_TELLING = frozenset({sa.BODY, sa.ORELSE, sa.OUTSIDE})  # labels that settle a pending test


def _library_branches(code: CodeType) -> bool:
    """`_branches` of a library code object, worked out once per process."""
    entry = _LIBRARY_BRANCHES.get(id(code))
    if entry is None:
        entry = _LIBRARY_BRANCHES[id(code)] = (code, _branches(code))
    return entry[1]


def _library_watch(code: CodeType, namespace: dict[str, Any]) -> _Watch | None:
    """What to watch in a library code object, worked out once per process."""
    entry = _LIBRARY_WATCHES.get(id(code))
    if entry is None:
        entry = _LIBRARY_WATCHES[id(code)] = (code, _watch_of(code, namespace))
    return entry[1]


def _watch_of(code: CodeType, namespace: dict[str, Any]) -> _Watch | None:
    """For each if/ifexp/while test, the instructions that show it ran and which way it went
    (see `_test_evidence`): `_test_outcomes` reads nothing else, so the outcomes found from
    these alone are those found from all of a frame's instructions. A flax method runs about
    60 instructions a call, and 3 or 4 of these."""
    source = sa.load_source(code.co_filename, namespace)
    scope = source.scope_for_code(code) if source is not None else None
    if source is None or scope is None:
        return None
    facts = _CodeFacts(code, source, scope)
    instructions = list(dis.get_instructions(code))
    successors = _successors(code, instructions)
    predecessors: dict[int, set[int]] = {}
    for offset, reach in successors.items():
        for after in reach:
            predecessors.setdefault(after, set()).add(offset)
    offsets: set[int] = set()
    for construct in facts.constructs:
        if construct.kind in _LIBRARY_KINDS:
            offsets |= _test_evidence(facts.labels(construct), successors, predecessors)
    if not offsets:
        return None
    last_on_line: dict[int, int] = {}
    for offset in sorted(offsets):
        position = facts.positions[offset]
        if position is not None:
            last_on_line[position[0]] = offset
    returns = frozenset(i.offset for i in instructions if i.opname in _RETURN_OPCODES)
    return _Watch(frozenset(offsets), last_on_line, returns)


def _successors(code: CodeType, instructions: list[dis.Instruction]) -> dict[int, set[int]]:
    """Where control can go after each instruction: the next one, a jump's target and the one
    after it (Python 3.12's FOR_ITER skips its END_FOR), the handlers of the exceptions it may
    raise. More than Python can take is harmless here (it only watches more); fewer is not."""
    offsets = [i.offset for i in instructions]
    handlers = dis.Bytecode(code).exception_entries  # type: ignore[attr-defined]  # not in typeshed
    found: dict[int, set[int]] = {}
    for index, instruction in enumerate(instructions):
        reach = set(offsets[index + 1 : index + 2])
        if instruction.opcode in _JUMP_OPCODES and isinstance(instruction.argval, int):
            at = bisect.bisect_left(offsets, instruction.argval)
            reach.update(offsets[at : at + 2])
        reach.update(h.target for h in handlers if h.start <= instruction.offset <= h.end)
        found[instruction.offset] = reach
    return found


def _test_evidence(
    labels: dict[int, int], successors: dict[int, set[int]], predecessors: dict[int, set[int]]
) -> set[int]:
    """For one construct: each test instruction that can start a run of them (the first of a
    function, or one that an instruction outside the test leads to), which shows that the test
    ran, and the first telling instruction (see `_TELLING`) reached from the test through
    instructions that tell nothing about it, which shows which way it went."""
    tests = {offset for offset, label in labels.items() if label == sa.TEST}
    found = {t for t in tests if not predecessors.get(t) or predecessors[t] - tests}
    seen = set(tests)
    queue = [after for offset in tests for after in successors[offset]]
    while queue:
        offset = queue.pop()
        if offset in seen:
            continue
        seen.add(offset)
        if labels.get(offset, sa.NEUTRAL) in _TELLING:
            found.add(offset)
        else:
            queue.extend(successors.get(offset, ()))
    return found


def _local_tracer(activation: _Activation, returns: frozenset[int]) -> Callable[..., Any]:
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


def _library_local_tracer(activation: _Activation, watch: _Watch) -> Callable[..., Any]:
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


class _CodeFacts:
    """What one code object's instructions mean: their source ranges, which ones carry no
    evidence, which FOR_ITER belongs to which loop, and the constructs it runs."""

    def __init__(self, code: CodeType, source: sa.SourceFile, scope: ast.AST) -> None:
        self.source = source
        self.scope = scope
        instructions = list(dis.get_instructions(code))
        self.positions = {i.offset: _span(i.positions) for i in instructions}
        self._starts = sorted(self.positions)
        own_returns = not isinstance(scope, sa.COMPREHENSIONS)
        self.neutral = frozenset(
            i.offset
            for i in instructions
            if _neutral(i, self.positions[i.offset], source, own_returns)
        ) | (frozenset() if own_returns else _yield_bookkeeping(instructions))
        self.constructs = self._constructs_in_scope(source, scope)
        self._for_iters = frozenset(i.offset for i in instructions if i.opname == "FOR_ITER")
        self._own_for_iters = self._assign_for_iters(instructions)
        self._labels: dict[sa.Construct, dict[int, int]] = {}

    def _constructs_in_scope(self, source: sa.SourceFile, scope: ast.AST) -> list[sa.Construct]:
        """Constructs this code object executes: those of its function, or for a comprehension
        compiled to its own code object, those inside the comprehension."""
        spans = {p for p in self.positions.values() if p is not None}
        if isinstance(scope, sa.COMPREHENSIONS):
            outer = sa.span_of(scope)
            candidates = [c for c in source.constructs if sa.contains(outer, c.span)]
        else:
            candidates = [c for c in source.constructs if c.function is scope]
        return [c for c in candidates if any(sa.contains(c.span, p) for p in spans)]

    def _assign_for_iters(self, instructions: list[dis.Instruction]) -> dict[int, sa.Construct]:
        """FOR_ITER offset -> the loop it drives; for a comprehension only its outermost `for`."""
        loops = [c for c in self.constructs if c.kind in ("for", "comprehension")]
        owned: dict[int, sa.Construct] = {}
        for instruction in instructions:
            position = self.positions[instruction.offset]
            if instruction.opname != "FOR_ITER" or position is None:
                continue
            holders = [c for c in loops if sa.contains(c.span, position)]
            if not holders:
                continue
            loop = max(holders, key=lambda c: (c.span[:2], (-c.span[2], -c.span[3])))
            if loop.kind == "for" or loop not in owned.values():
                owned[instruction.offset] = loop
        return owned

    def position_at(self, offset: int) -> sa.Span | None:
        """The source range of the instruction holding `offset`: a calling frame's f_lasti
        points into its CALL instruction's inline cache."""
        index = bisect.bisect_right(self._starts, offset) - 1
        return self.positions[self._starts[index]] if index >= 0 else None

    def labels(self, construct: sa.Construct) -> dict[int, int]:
        """Offset -> where that instruction lies relative to `construct`."""
        labels = self._labels.get(construct)
        if labels is None:
            labels = {offset: construct.label(p) for offset, p in self.positions.items()}
            for offset in self.neutral | self._for_iters:
                labels[offset] = sa.NEUTRAL
            for offset, loop in self._own_for_iters.items():
                if loop is construct:
                    labels[offset] = _FOR_ITER
            self._labels[construct] = labels
        return labels


def _neutral(
    instruction: dis.Instruction, position: sa.Span | None, source: sa.SourceFile, own_returns: bool
) -> bool:
    """Instructions whose range says nothing about where execution is: jumps (except those
    of `break`, `continue` and `pass`), implicit returns, comprehension bookkeeping.
    `own_returns` is False for a comprehension's own code object, whose return is implicit
    even where it sits inside a `return` statement."""
    if position is None:
        return True
    if instruction.opname in _RETURN_OPCODES:
        return not (own_returns and source.in_return_statement(position))
    return instruction.opname in _NEUTRAL_OPCODES and position not in source.bare_statements


def _yield_bookkeeping(instructions: list[dis.Instruction]) -> frozenset[int]:
    """A generator expression's YIELD_VALUE and the RESUME and POP_TOP after it: Python 3.11
    gives them the range of its last `if` clause, where they would read as the test running
    again after the element (each item then seeming to fail the test once more)."""
    found: set[int] = set()
    for previous, instruction in itertools.pairwise(instructions):
        if instruction.opname == "YIELD_VALUE" or (
            previous.offset in found and instruction.opname in ("RESUME", "POP_TOP")
        ):
            found.add(instruction.offset)
    return frozenset(found)


def _span(positions: Any) -> sa.Span | None:
    if positions is None:
        return None
    line, end_line, column, end_column = positions
    if line is None or end_line is None or column is None or end_column is None:
        return None
    return (line, column, end_line, end_column)


def _label_sequence(labels: dict[int, int], evidence: list[int]) -> list[int]:
    """The construct-relative labels of the executed instructions, jumps and instructions
    outside any relation left out, repeats collapsed."""
    get = labels.get
    sequence = (get(offset, sa.NEUTRAL) for offset in evidence)
    return [label for label, _ in itertools.groupby(sequence) if label != sa.NEUTRAL]


def _test_outcomes(labels: list[int], returned: bool, on_exit: str | None) -> list[str | int]:
    """if/while/ifexp: after each pass through the test, the body runs next ("true") or the
    else branch or code after the construct ("false"). `on_exit` is the outcome when control
    leaves the construct (or the function returns) straight from the test."""
    outcomes: list[str | int] = []
    pending = False
    for label in labels:
        if label == sa.TEST:
            pending = True
        elif pending and label in (sa.BODY, sa.ORELSE, sa.OUTSIDE):
            outcome = {sa.BODY: "true", sa.ORELSE: "false"}.get(label, on_exit)
            outcomes += [outcome] if outcome is not None else []
            pending = False
    if pending and returned and on_exit is not None:
        outcomes.append(on_exit)
    return outcomes


def _assert_outcomes(labels: list[int], returned: bool) -> list[str | int]:
    """assert: leaving the statement after its test means it passed; going on inside it
    (the message, the raise) means it failed."""
    outcomes: list[str | int] = []
    pending = False
    for label in labels:
        if label == sa.TEST:
            pending = True
        elif pending and label in (sa.OUTSIDE, sa.INSIDE):
            outcomes.append("true" if label == sa.OUTSIDE else "false")
            pending = False
    if pending and returned:
        outcomes.append("true")
    return outcomes


def _loop_outcomes(labels: list[int]) -> list[str | int]:
    """for/comprehension: per execution, how often FOR_ITER went on into the loop target.

    An execution starts at its iterable (or first FOR_ITER) and ends when FOR_ITER is
    exhausted, or when control is found outside the loop (`break`, `return`).
    """
    outcomes: list[str | int] = []
    count, running, iterated, after_iter = 0, False, False, False
    for label in labels:
        if after_iter:
            after_iter = False
            if label == sa.TARGET:
                count += 1
                continue
            outcomes.append(count)
            running = False
        if label == _FOR_ITER:
            if not running:
                running, count = True, 0
            iterated = after_iter = True
        elif label == sa.ITER and (not running or iterated):
            if running:
                outcomes.append(count)
            running, count, iterated = True, 0, False
        elif label == sa.OUTSIDE and running:
            outcomes += [count] if iterated else []
            running = False
    if running and iterated:
        outcomes.append(count)
    return outcomes


def _match_outcomes(labels: list[int], returned: bool, construct: sa.Construct) -> list[str | int]:
    """match: the first case body entered after the subject and patterns ran; leaving the
    statement without entering one means no case matched (-1)."""
    node: Any = construct.node
    no_body = len(node.cases) - 1 if construct.last_case_irrefutable else -1
    outcomes: list[str | int] = []
    pending = False
    for label in labels:
        if label == sa.ITER or sa.HEAD <= label < sa.CASE_BODY:
            pending = True
        elif pending and label >= sa.CASE_BODY:
            outcomes.append(label - sa.CASE_BODY)
            pending = False
        elif pending and label == sa.OUTSIDE:
            outcomes.append(no_body)
            pending = False
    if pending and returned:
        outcomes.append(no_body)
    return outcomes


def _outcomes(
    construct: sa.Construct, facts: _CodeFacts, activation: _Activation, evidence: list[int]
) -> list[str | int]:
    """Every outcome `construct` had during one activation, in order."""
    if construct.literal is not None and construct.kind in ("if", "while", "assert"):
        # The compiler folds a literal test away; the construct's line still runs each time.
        times = activation.events.count(-construct.line)
        return ["true" if construct.literal else "false"] * times
    labels = _label_sequence(facts.labels(construct), evidence)
    kind, returned = construct.kind, activation.returned
    if kind in ("if", "while"):
        return _test_outcomes(labels, returned, "false")
    if kind == "ifexp":
        return _test_outcomes(labels, returned, None)
    if kind == "assert":
        return _assert_outcomes(labels, returned)
    if kind == "match":
        return _match_outcomes(labels, returned, construct)
    return _loop_outcomes(labels)


class _Scope:
    """A function as it ran in one activation: where its argument expressions came from
    (`arguments` None when the call site is unknown) and the scopes around it."""

    __slots__ = (
        "arguments",
        "call_names",
        "carried",
        "complete",
        "function",
        "is_root",
        "library",
        "namespace",
        "parent",
        "provenance",
        "source",
        "user_call",
        "user_scope",
    )

    def __init__(
        self,
        source: sa.SourceFile,
        function: ast.AST,
        is_root: bool,
        namespace: dict[str, Any],
        parent: _Scope | None,
        arguments: dict[str, ast.expr | None] | None = None,
        complete: bool = False,
    ) -> None:
        self.source = source
        self.function = function
        self.is_root = is_root
        self.namespace = namespace
        self.parent = parent
        self.arguments = arguments
        self.complete = complete
        # For a helper that library code called: where its arguments' objects were held in
        # the calling user frame, and the names the call that led into the library reads.
        self.provenance: Provenance = {}
        self.call_names: frozenset[str] = frozenset()
        # The parameters a loop's body receives its carry in, and the loop ("scan").
        self.carried: dict[str, str] = {}
        # For library code: the user's scope above it and the call it was running, whose
        # arguments are what the library's fields and parameters were made from.
        self.library = False
        self.user_scope: _Scope | None = None
        self.user_call: ast.Call | None = None

    def definition(self) -> _Scope:
        """The module-level scope where this function's default values were evaluated."""
        return _Scope(self.source, self.source.tree, False, self.namespace, None)

    def enclosing(self, function: ast.AST) -> _Scope | None:
        """The scope of the nearest calling activation that runs `function`."""
        scope = self.parent
        while scope is not None and scope.function is not function:
            scope = scope.parent
        return scope


class _Analysis:
    """Turns the recorded activations into decisions, executed lines and listings."""

    def __init__(
        self,
        activations: list[_Activation],
        root_code: CodeType | None,
        roles: dict[str, str],
        namespaces: dict[int, dict[str, Any]],
        library_activations: Sequence[_Activation] = (),
    ) -> None:
        self._activations = activations
        self._library_activations = library_activations
        self._root_code = root_code
        self._roles = roles
        self._namespaces = namespaces
        self._facts: dict[int, _CodeFacts | None] = {}
        self._scopes: dict[int, _Scope | None] = {}
        self._shared_scopes: dict[tuple[Any, ...], _Scope] = {}
        self.resolver = _Resolver(roles)
        self._library_resolver = _Resolver(roles, budget=LIBRARY_RESOLUTION_BUDGET)
        self._decisions: tuple[Decision, ...] | None = None
        self._decision_functions: list[tuple[sa.SourceFile, ast.AST]] = []

    def facts(self, code: CodeType) -> _CodeFacts | None:
        """What the code object's instructions mean; None when its source is unavailable."""
        key = id(code)
        if key not in self._facts:
            source = sa.load_source(code.co_filename, self._namespaces.get(key))
            scope = source.scope_for_code(code) if source is not None else None
            self._facts[key] = _CodeFacts(code, source, scope) if source and scope else None
        return self._facts[key]

    def decisions(self) -> tuple[Decision, ...]:
        if self._decisions is None:
            self._decisions = self._collect_decisions()
        return self._decisions

    def _collect_decisions(self) -> tuple[Decision, ...]:
        outcomes: dict[sa.Construct, list[str | int]] = {}
        scopes: dict[sa.Construct, dict[int, _Scope]] = {}
        sources: dict[sa.Construct, sa.SourceFile] = {}
        for activation in self._activations:
            facts = self.facts(activation.code)
            if facts is None or not facts.constructs:
                continue
            evidence = [e for e in activation.events if e >= 0 and e not in facts.neutral]
            for construct in facts.constructs:
                found = _outcomes(construct, facts, activation, evidence)
                if not found:
                    continue
                outcomes.setdefault(construct, []).extend(found)
                scope = self.scope(activation)
                if scope is not None:
                    scopes.setdefault(construct, {})[id(scope)] = scope
                sources[construct] = facts.source
        records = [
            self._decision(c, sources[c], found, scopes.get(c, {}).values())
            for c, found in outcomes.items()
        ]
        self._decision_functions = list({(sources[c], c.function): None for c in outcomes})
        return tuple(sorted(records, key=lambda d: (d.file, d.line, d.column)))

    def library_decisions(self) -> tuple[LibraryDecision, ...]:
        """The library tests that depend on a static of the root, one per static and
        construct, with every outcome and how often the test ran."""
        found: dict[tuple[str, sa.Construct], list[str | int]] = {}
        sources: dict[sa.Construct, sa.SourceFile] = {}
        for activation in self._library_activations:
            facts = self.facts(activation.code)
            scope = self.scope(activation)
            if facts is None or scope is None:
                continue
            evidence = [e for e in activation.events if e >= 0 and e not in facts.neutral]
            for construct in facts.constructs:
                if construct.kind not in _LIBRARY_KINDS:
                    continue
                outcomes = _outcomes(construct, facts, activation, evidence)
                statics = self._library_statics(construct, scope) if outcomes else ()
                for static in statics:
                    found.setdefault((static, construct), []).extend(outcomes)
                    sources[construct] = facts.source
        records = [
            _library_decision(static, construct, sources[construct], outcomes)
            for (static, construct), outcomes in found.items()
        ]
        return tuple(sorted(records, key=lambda d: (d.static, d.file, d.line, d.column)))

    def _library_statics(self, construct: sa.Construct, scope: _Scope) -> tuple[str, ...]:
        """The root's statics a library test depends on; none once the trace's resolution
        budget is spent: the test is left out, never reported with a part of its
        dependencies."""
        try:
            found = self._library_resolver.dependencies(construct, scope)
        except _OverBudget:
            return ()
        return tuple(dict.fromkeys(d.name for d in found if d.via == "static"))

    def _decision(
        self,
        construct: sa.Construct,
        source: sa.SourceFile,
        outcomes: list[str | int],
        scopes: Iterable[_Scope],
    ) -> Decision:
        dependencies: dict[Dependency, None] = {}
        for scope in scopes:
            dependencies.update(dict.fromkeys(self.resolver.dependencies(construct, scope)))
        return Decision(
            file=source.path,
            line=construct.line,
            kind=construct.kind,  # type: ignore[arg-type]
            source=_construct_source(source, construct),
            outcomes=tuple(outcomes),
            depends_on=tuple(dependencies) or (CONSTANT,),
            function=source.qualname(construct.function),
            column=construct.column,
            end_line=getattr(construct.node, "end_lineno", None) or construct.line,
        )

    def scope(self, activation: _Activation) -> _Scope | None:
        """The scope an activation ran in; activations from the same call site share one."""
        key = id(activation)
        if key not in self._scopes:
            self._scopes[key] = self._build_scope(activation)
        return self._scopes[key]

    def _build_scope(self, activation: _Activation) -> _Scope | None:
        facts = self.facts(activation.code)
        if facts is None:
            return None
        parent = self.scope(activation.parent) if activation.parent is not None else None
        function = facts.scope
        if not isinstance(function, (*sa.FUNCTIONS, ast.Module)):
            function = facts.source.function_of(function)
            if parent is not None and parent.function is function:
                return parent
        shared_key = (id(activation.code), activation.call_offset, activation.direct, id(parent))
        if shared_key not in self._shared_scopes:
            is_root = activation.code is self._root_code
            namespace = self._namespaces.get(id(activation.code), {})
            scope = _Scope(facts.source, function, is_root, namespace, parent)
            if not is_root:
                self._bind_arguments(scope, activation)
            if activation.library:
                self._place_in_user_call(scope, activation)
            if activation.provenance:
                scope.provenance = activation.provenance
                scope.call_names = self._call_names(activation)
            self._shared_scopes[shared_key] = scope
        return self._shared_scopes[shared_key]

    def _bind_arguments(self, scope: _Scope, activation: _Activation) -> None:
        """Maps a helper's parameters to the argument expressions of the call that reached it:
        one that names it (directly, through a wrapper, a transformation such as
        `jax.vmap(f)(a)` or `lax.scan(f, init, xs)`, or a local such as
        `fn = jax.checkpoint(f)`), the running call or one inside the running instruction's
        range (a generator's creation in the loop that resumes it), or failing those a call
        that called it directly."""
        caller, caller_scope = activation.parent, scope.parent
        if caller is None or caller_scope is None or activation.call_offset is None:
            return
        caller_facts = self.facts(caller.code)
        position = caller_facts.position_at(activation.call_offset) if caller_facts else None
        if position is None:
            return
        source, function = caller_scope.source, caller_scope.function
        values_of = functools.partial(source.values_of, function)
        running = source.calls.get(position)
        for call in source.calls_within(position):
            bound = sa.bind_invocation(scope.source, call, scope.function, values_of)
            if bound is not None:
                scope.carried = sa.carried_parameters(call, bound[0])
                break
        else:
            bound = None
            if running is not None and activation.direct:
                bound = sa.bind_call(scope.source, running, scope.function)
        if bound is not None:
            scope.arguments, scope.complete = bound

    def _place_in_user_call(self, scope: _Scope, activation: _Activation) -> None:
        """Links a library frame's scope to the user's scope above it and the call it was
        running there (`nn.Dropout(0.1, deterministic=not train)(h)`)."""
        scope.library = True
        user = activation.user
        facts = self.facts(user.code) if user is not None else None
        if user is None or facts is None:
            return
        scope.user_scope = self.scope(user)
        position = facts.position_at(activation.user_offset)
        scope.user_call = facts.source.calls.get(position) if position is not None else None

    def _call_names(self, activation: _Activation) -> frozenset[str]:
        """The names read by the user's call that was running when library code called this
        helper (`model.apply(params, x, train=train)`)."""
        caller = activation.parent
        facts = self.facts(caller.code) if caller is not None else None
        if facts is None or activation.call_offset is None:
            return frozenset()
        position = facts.position_at(activation.call_offset)
        calls = facts.source.calls_within(position) if position is not None else []
        return frozenset(n.id for c in calls for n in ast.walk(c) if isinstance(n, ast.Name))

    def executed_lines(self) -> dict[str, set[int]]:
        lines: dict[str, set[int]] = {}
        for activation in self._activations:
            ran = lines.setdefault(activation.code.co_filename, set())
            ran.update(-e for e in activation.events if e < 0)
        return lines

    def listings(
        self, counts: _EquationCounts, lines_known: bool = True
    ) -> tuple[SourceListing, ...]:
        self.decisions()
        executed = self.executed_lines()
        functions = self._listed_functions(counts.per_line)
        return tuple(
            _listing(
                source,
                function,
                executed.get(source.path, set()) if lines_known else _all_lines(source),
                counts,
            )
            for source, function in functions
        )

    def _listed_functions(
        self, equations: Counter[tuple[str, int]]
    ) -> list[tuple[sa.SourceFile, ast.AST]]:
        """The root function, then each other function holding a decision or emitting
        equations (where the jaxpr comes from), skipping any nested inside one already listed."""
        listed: list[tuple[sa.SourceFile, ast.AST]] = []
        root_facts = self.facts(self._root_code) if self._root_code is not None else None
        if root_facts is not None and not isinstance(root_facts.scope, ast.Module):
            listed.append((root_facts.source, root_facts.scope))
        candidates = {(id(f), id(s)): (s, f) for s, f in self._decision_functions}
        for source, function in self._emitting_functions(equations):
            candidates.setdefault((id(function), id(source)), (source, function))
        helpers = sorted(candidates.values(), key=lambda f: (f[0].path, sa.first_line(f[1])))
        for source, function in helpers:
            if isinstance(function, ast.Module):
                continue
            inside = any(
                s is source and sa.contains(sa.span_of(f), sa.span_of(function)) for s, f in listed
            )
            if not inside:
                listed.append((source, function))
        return listed

    def _emitting_functions(
        self, equations: Counter[tuple[str, int]]
    ) -> list[tuple[sa.SourceFile, ast.AST]]:
        """The functions that ran while tracing and emitted jaxpr equations from their own lines."""
        found: dict[int, tuple[sa.SourceFile, ast.AST]] = {}
        for code in {id(a.code): a.code for a in self._activations}.values():
            facts = self.facts(code)
            function = _named_function(facts.source, facts.scope) if facts else None
            if facts is None or function is None or id(function) in found:
                continue
            end = getattr(function, "end_lineno", None) or sa.first_line(function)
            lines = range(sa.first_line(function), end + 1)
            if any(equations.get((facts.source.path, n)) for n in lines):
                found[id(function)] = (facts.source, function)
        return list(found.values())


def _named_function(source: sa.SourceFile, scope: ast.AST) -> ast.AST | None:
    """The `def` a code object's scope belongs to (a lambda or comprehension is part of the
    function around it); None at module level."""
    function = scope
    while isinstance(function, (ast.Lambda, *sa.COMPREHENSIONS)):
        function = source.function_of(function)
    return None if isinstance(function, ast.Module) else function


def _construct_source(source: sa.SourceFile, construct: sa.Construct) -> str:
    """The condition text: the test, `target in iterable` for loops, the match subject."""
    node: Any = construct.node
    if construct.kind == "for" or construct.kind == "comprehension":
        loop = node if construct.kind == "for" else node.generators[0]
        return f"{source.segment(loop.target)} in {source.segment(loop.iter)}"
    return source.segment(construct.conditions[0])


def _library_decision(
    static: str, construct: sa.Construct, source: sa.SourceFile, outcomes: list[str | int]
) -> LibraryDecision:
    """One library test on one static: its distinct outcomes in the order first seen."""
    path = userfiles.library_path(source.path) or source.path
    return LibraryDecision(
        static=static,
        file=path,
        line=construct.line,
        kind=construct.kind,  # type: ignore[arg-type]
        source=_construct_source(source, construct),
        outcomes=tuple(dict.fromkeys(outcomes)),
        count=len(outcomes),
        function=source.qualname(construct.function),
        column=construct.column,
    )


_LocalKey = tuple[int, str, str | None, tuple[int, ...]]
# Names one trace may follow for the tests of library code (user code's are never cut short).
# With each local resolved once, distrax's normalizing flow needs about 1,400 (a second on
# CPython 3.11); the bound keeps a library we have not met within seconds.
LIBRARY_RESOLUTION_BUDGET = 20_000


@dataclass(frozen=True)
class _Resolved:
    """What a local read depends on, the carry slots its value passed through, and, for a
    part of a cycle, the depth of the open local where the cycle was cut (None: whole)."""

    dependencies: tuple[Dependency, ...]
    carry_slots: tuple[CarrySlot, ...]
    cut_at: int | None


class _OverBudget(Exception):
    """The resolver followed more names than its budget allows: the test being resolved is
    left out rather than reported with a part of its dependencies."""


class _Resolver:
    """Finds what a construct's condition depends on, in terms of the root function's
    parameters wherever the values can be followed back to them."""

    def __init__(
        self,
        roles: dict[str, str],
        needs_value: bool = False,
        log_carries: bool = False,
        budget: int | None = None,
    ) -> None:
        self._roles = roles
        self._memo: dict[tuple[int, int], tuple[Dependency, ...]] = {}
        # A failure needed the value: a plain read of a traced argument is its value.
        self._plain_traced = "value" if needs_value else sa.SHAPE
        self._log_carries = log_carries
        self.carry_slots: list[CarrySlot] = []
        # Names followed so far, and how many may be (None: no bound): see `_OverBudget`.
        self._steps, self._budget = 0, budget
        # What each local read (scope, name, aspect, subscripts) depends on, with the carry
        # slots it passed through. A library's values flow through many paths into the same
        # locals (distrax's bijectors and distributions), so unremembered, the work grows
        # exponentially with the depth of calls followed.
        self._locals: dict[_LocalKey, _Resolved] = {}
        # The locals being resolved (scope, name, aspect), each with its depth; per depth, the
        # shallowest of them its resolution came back to (cutting a cycle there), and the
        # parts (results cut at that depth) to drop once it is resolved.
        self._open: dict[tuple[int, str, str | None], int] = {}
        self._lowest: list[int] = []
        self._parts: list[list[_LocalKey]] = []

    def dependencies(self, construct: sa.Construct, scope: _Scope) -> tuple[Dependency, ...]:
        key = (id(construct), id(scope))
        if key not in self._memo:
            via = sa.LENGTH if construct.kind in ("for", "comprehension") else None
            found = [
                dependency
                for condition in construct.conditions
                for dependency in self._expression(condition, via, scope)
            ]
            self._memo[key] = tuple(dict.fromkeys(found))
        return self._memo[key]

    def expression(
        self, expression: ast.expr, via: str | None, scope: _Scope
    ) -> Iterator[Dependency]:
        """What an expression read in `scope` depends on."""
        return self._expression(expression, via, scope)

    def _expression(
        self, expression: ast.expr, via: str | None, scope: _Scope
    ) -> Iterator[Dependency]:
        for read in sa.reads(expression, via):
            yield from self._resolve(read, scope)

    def _resolve(self, read: sa.Read, scope: _Scope) -> Iterator[Dependency]:
        self._steps += 1
        if self._budget is not None and self._steps > self._budget:
            raise _OverBudget
        source, function, name = scope.source, scope.function, read.name
        if isinstance(function, ast.Module):
            yield from _global(read, scope.namespace)
            return
        drawn = self._drawn(read, scope)
        iterable = source.comprehension_binding(read.node, name) if drawn is None else None
        if drawn is not None:
            yield from drawn
        elif iterable is not None:
            yield from self._expression(iterable, read.via, scope)
        elif name in sa.parameters(function):
            yield from self._parameter(read, scope)
            if scope.library and name in source.bindings(function):
                # Rebound (`deterministic = merge_param(..., deterministic)`): either value.
                yield from self._local(read, scope)
        elif name in source.bindings(function):
            yield from self._local(read, scope)
        else:
            yield from self._free(read, scope)

    def _drawn(self, read: sa.Read, scope: _Scope) -> list[Dependency] | None:
        """A comprehension variable unpacked from the items of a local written as one dict
        or list display (`kind, v in sites.values()` with `sites = {"a": ("sample", x)}`): the
        part of each item it takes (`"sample"`), never the rest (`x`), and a dict's keys as
        written (constants of the code); None where the items are not written out so, or
        where the local might change after (a store into it, a call it is passed to)."""
        found = scope.source.comprehension_item(read.node, read.name)
        view = sa.dict_view(found[0]) if found is not None else None
        if found is None or view is None or read.name == view[1]:
            return None
        bindings = scope.source.bindings(scope.function).get(view[1], [])
        if len(bindings) != 1 or bindings[0].value is None:
            return None
        if not sa.only_read(scope.source, scope.function, view[1]):
            return None
        parts = _display_items(bindings[0].value, view[0], found[1])
        if parts is None:
            return None
        index = read.index
        return [
            d
            for part, position in parts
            for d in self._item(
                part, sa.Read(read.name, read.via, (), read.node, False, (*position, *index)), scope
            )
        ]

    def _item(self, expression: ast.expr, read: sa.Read, scope: _Scope) -> Iterator[Dependency]:
        """What the value `read` takes from `expression` depends on: only the item its
        subscripts pick (`carry[1]` of `(h, reps)`), followed through names that hold it."""
        item, rest = sa.select(expression, read.index)
        if rest and isinstance(item, ast.Name):
            yield from self._resolve(sa.Read(item.id, read.via, (), item, False, rest), scope)
        else:
            yield from self._expression(item, read.via, scope)

    def _local(self, read: sa.Read, scope: _Scope) -> Iterator[Dependency]:
        """A local variable depends on whatever any of its assignments read, and, where it
        has several, on the tests of the branches that hold them: resolved once per
        (scope, name, aspect, subscripts); a read that comes back to a local still being
        resolved (a cycle) adds nothing there, since that local's result holds it."""
        key = (id(scope), read.name, read.via, read.index)
        known = self._locals.get(key)
        if known is None and key[:3] in self._open:
            self._lowest[-1] = min(self._lowest[-1], self._open[key[:3]])
            return
        if known is None:
            known = self._local_anew(read, scope, key)
        else:
            self.carry_slots.extend(known.carry_slots)
        if known.cut_at is not None:
            self._lowest[-1] = min(self._lowest[-1], known.cut_at)
        yield from known.dependencies

    def _local_anew(self, read: sa.Read, scope: _Scope, key: _LocalKey) -> _Resolved:
        """Resolves a local. The result is whole unless a cycle was cut at a local still open
        above it; such a part is reused only while that local stays open (the locals of
        distrax's `MultivariateNormalDiag` read each other through every aspect), and
        dropped when it closes, its own result then being whole."""
        depth = self._open[key[:3]] = len(self._open)
        self._lowest.append(depth)
        self._parts.append([])
        logged = len(self.carry_slots)
        try:
            found = tuple(dict.fromkeys(self._local_reads(read, scope)))
        finally:
            del self._open[key[:3]]
            lowest = self._lowest.pop()
            for part in self._parts.pop():
                del self._locals[part]
        cut_at = lowest if lowest < depth else None
        resolved = _Resolved(found, tuple(self.carry_slots[logged:]), cut_at)
        self._locals[key] = resolved
        if cut_at is not None:
            self._parts[cut_at].append(key)
        return resolved

    def _local_reads(self, read: sa.Read, scope: _Scope) -> Iterator[Dependency]:
        bindings = scope.source.bindings(scope.function)[read.name]
        for binding in bindings:
            if binding.value is not None:
                yield from self._item(binding.value, read, scope)
        if len(bindings) > 1:
            # Which of its values the name holds is decided by the branches that bind it.
            for binding in bindings:
                for test in scope.source.guards(binding.owner):
                    yield from self._expression(test, None, scope)

    def _free(self, read: sa.Read, scope: _Scope) -> Iterator[Dependency]:
        """A closure variable is followed into the enclosing function's activation."""
        binder = scope.source.enclosing_binder(scope.function, read.name)
        if binder is None:
            yield from _global(read, scope.namespace)
            return
        outer = scope.enclosing(binder)
        if outer is None:
            yield Dependency(read.name, "global")
            return
        yield from self._resolve(read, outer)

    def _parameter(self, read: sa.Read, scope: _Scope) -> Iterator[Dependency]:
        source, function, name = scope.source, scope.function, read.name
        self_attribute = bool(read.path) and source.is_method(function)
        self_attribute = self_attribute and sa.parameters(function)[0] == name
        if self_attribute and read.called:
            return  # a method call on self
        shown = f"{name}.{read.path[0]}" if self_attribute else name
        aspect = read.via if read.via in _SHAPE_VIAS else None
        if scope.is_root and self._roles.get(name) == BOUND:
            # A value the function carries, which jit neither traces nor keys its cache on.
            yield Dependency(shown, "global")
            return
        if scope.library:
            yield from self._library_parameter(read, scope, self_attribute)
            return
        attribute = f"{name}.{read.path[0]}" if read.path else None
        if scope.is_root and read.via is None and self._roles.get(attribute or "") == "static":
            yield Dependency(attribute or name, "static")  # aux data of a traced pytree object
            return
        if scope.is_root:
            static = self._roles.get(name, "traced") != "traced"
            plain = "static" if self_attribute else self._plain_traced
            yield Dependency(shown, "static" if static else aspect or plain)
            return
        origin = self._argument_origin(read, scope)
        forwarded = None if origin or self_attribute else self._forwarded_keyword(read, scope)
        held = None if origin or forwarded else self._held_by_caller(read, scope)
        if forwarded is not None:
            yield forwarded
        elif held is not None:
            yield from held
        elif origin is None:
            yield Dependency(shown, "global" if self_attribute else _unknown_origin_via(read.via))
        elif self_attribute:
            owner = _passed_parameter(scope, name, origin)
            shown = f"{owner}.{read.path[0]}" if owner else shown
            yield Dependency(shown, _self_via(origin, aspect))
        else:
            yield from origin

    def _library_parameter(
        self, read: sa.Read, scope: _Scope, self_attribute: bool
    ) -> Iterator[Dependency]:
        """A library function's parameter is the argument its caller passed (a library caller
        followed further up); where the user's call that led into the library passed it by
        name, or, for `self.<field>`, built the module with that keyword
        (`nn.Dropout(0.1, deterministic=not train)(h)`), it is that expression in the user's
        scope. Anything else (a default, a value made inside the library) is never static."""
        if not self_attribute:
            origin = self._argument_origin(read, scope)
            if origin is not None:
                yield from origin
                return
        passed = _passed_by_user(read, scope, self_attribute)
        if passed is not None and scope.user_scope is not None:
            yield from self._expression(passed, read.via, scope.user_scope)

    def _forwarded_keyword(self, read: sa.Read, scope: _Scope) -> Dependency | None:
        """A helper's parameter that the root handed on through `**kwargs`
        (`apply(params, *args, **kwargs)` calling `f(*args, **kwargs)`): the keyword argument of
        that name that the call passed into the root's `**kwargs`, static or traced as jit saw it.
        """
        caller = scope.parent
        if caller is None or not caller.is_root or scope.complete:
            return None
        if scope.arguments is not None and read.name in scope.arguments:
            return None
        role = self._roles.get(read.name)
        if role is None or role == BOUND or read.name in sa.parameters(caller.function):
            return None
        if role != "traced":
            return Dependency(read.name, "static")
        return Dependency(read.name, read.via if read.via in _SHAPE_VIAS else self._plain_traced)

    def _held_by_caller(self, read: sa.Read, scope: _Scope) -> list[Dependency] | None:
        """A parameter of a helper that library code called (haiku's `apply` calling the
        user's forward with `is_training`, flax calling `__call__` on a clone whose
        `self.act` is the object the user built the module with): the caller's local that
        held the object read, resolved there, named by its path (`model.config.act`);
        None where identity does not single one out."""
        caller = scope.parent
        if not scope.provenance or caller is None:
            return None
        chain = (read.name, *read.path)
        for length in range(len(chain), 0, -1):
            held = _holder(scope, chain[:length])
            if held is not None:
                return self._resolve_held(held, chain[length:], read, caller)
        return None

    def _resolve_held(
        self,
        held: tuple[str, ...],
        rest: tuple[str, ...],
        read: sa.Read,
        caller: _Scope,
    ) -> list[Dependency]:
        """What the caller's local `held[0]` depends on; read at the root, it is the root's
        parameter named by the whole path, and static: arrays and tracers are never matched,
        so what was found inside a traced argument is its tree's aux data, which jit keys on."""
        name, steps = held[0], [step.lstrip(".") for step in held[1:]]
        node = ast.Name(id=name, ctx=ast.Load())
        inner = sa.Read(name, read.via, (*steps, *rest), node, False)
        shown = name + "".join(held[1:]) + "".join(f".{step}" for step in rest)
        found = list(self._resolve(inner, caller))
        if not caller.is_root or self._roles.get(name) in (None, BOUND):
            return found
        named = {name, f"{name}.{inner.path[0]}" if inner.path else name}
        return [Dependency(shown, "static") if d.name in named else d for d in found]

    def _argument_origin(self, read: sa.Read, scope: _Scope) -> list[Dependency] | None:
        """What the caller passed for a parameter, or its default; None when unknown."""
        if scope.arguments is None:
            return None
        if read.name in scope.arguments:
            argument = scope.arguments[read.name]
            if argument is None or scope.parent is None:
                return None
            found = list(self._item(argument, read, scope.parent))
            if self._log_carries and read.name in scope.carried:
                self.carry_slots.append(_carry_slot(scope, read, argument, found))
            return found
        default = sa.parameter_defaults(scope.function).get(read.name)
        if default is None or not scope.complete:
            return None
        return list(self._expression(default, read.via, scope.definition()))


def _display_items(
    container: ast.expr, view: str, position: tuple[int, ...]
) -> list[tuple[ast.expr, tuple[int, ...]]] | None:
    """The expressions a target part at `position` takes from each item of a dict display's
    `view` ("keys", "values", "items") or of a list or tuple display iterated as such, with the
    subscripts left to pick inside them; None for any other container or a spread (`**d`,
    `*xs`) whose items are not written out."""
    if isinstance(container, ast.Dict) and all(k is not None for k in container.keys):
        keys = [k for k in container.keys if k is not None]
        if view == "keys":
            return [(k, position) for k in keys]
        if view == "values":
            return [(v, position) for v in container.values]
        if view == "items" and position[0] in (0, 1):
            chosen = keys if position[0] == 0 else container.values
            return [(part, position[1:]) for part in chosen]
        return None
    if view != "keys" or not isinstance(container, (ast.Tuple, ast.List)):
        return None
    if any(isinstance(e, ast.Starred) for e in container.elts):
        return None
    return [(e, position) for e in container.elts]


def _passed_by_user(read: sa.Read, scope: _Scope, self_attribute: bool) -> ast.expr | None:
    """The expression the user's running call gave for a library parameter or field: a
    keyword of that name, a positional argument of `Module(...)(x, flag)` bound to a
    `__call__`'s parameters, or for `self.<field>` a keyword of the constructor call that
    made the module being called (`nn.BatchNorm(use_running_average=not train)(x)`)."""
    call = scope.user_call
    if call is None:
        return None
    if self_attribute:
        constructor = call.func
        if not isinstance(constructor, ast.Call):
            return None
        return _keyword(constructor, read.path[0])
    by_name = _keyword(call, read.name)
    if by_name is not None or not isinstance(call.func, ast.Call):
        return by_name
    function = scope.function
    if getattr(function, "name", None) != "__call__" or not scope.source.is_method(function):
        return None
    arguments = function.args  # type: ignore[attr-defined]
    positional = [p.arg for p in (*arguments.posonlyargs, *arguments.args)][1:]
    positional = positional[: len(call.args)]
    if any(isinstance(a, ast.Starred) for a in call.args) or read.name not in positional:
        return None
    return call.args[positional.index(read.name)]


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The value of keyword `name` in a call, where it is passed by that name."""
    return next((k.value for k in call.keywords if k.arg == name), None)


def _carry_slot(
    scope: _Scope, read: sa.Read, argument: ast.expr, found: list[Dependency]
) -> CarrySlot:
    item, _ = sa.select(argument, read.index[:1])
    return CarrySlot(
        loop=scope.carried[read.name],
        slot=read.index[0] if read.index else None,
        parameter=read.name,
        function=getattr(scope.function, "name", "<lambda>"),
        init=ast.unparse(item),
        line=getattr(item, "lineno", argument.lineno),
        dependencies=tuple(dict.fromkeys(found)),
    )


def _holder(scope: _Scope, chain: tuple[str, ...]) -> tuple[str, ...] | None:
    """The caller's path that held the object at `chain` (a parameter, then attributes), where
    identity singles it out: a shared small value (True, 3, "gelu") only from a name the call
    into the library read, and then only one such name, or the one named like the parameter
    or attribute read (`train=train`)."""
    entry = scope.provenance.get(".".join(chain))
    if entry is None:
        return None
    paths, shared = entry
    if shared:
        paths = tuple(p for p in paths if p[0] in scope.call_names)
        if len(paths) > 1:
            paths = tuple(p for p in paths if p[-1].lstrip(".") == chain[-1])
        return paths[0] if len(paths) == 1 else None
    named = [p for p in paths if p[0] in scope.call_names] or list(paths)
    return min(named, key=len) if named else None


def _passed_parameter(scope: _Scope, name: str, origin: list[Dependency]) -> str | None:
    """The root parameter a method's `self` is, where the call passed it as is
    (`opt.update(...)` with `opt` static): `self.lr` is then shown as `opt.lr`, the name the
    user passed and the report lists; None where `self` was built from it (`Stack(n)`)."""
    argument = scope.arguments.get(name) if scope.arguments else None
    if isinstance(argument, ast.Name) and [d.name for d in origin] == [argument.id]:
        return argument.id
    return None


def _unknown_origin_via(via: str | None) -> str:
    """How a helper's parameter that no call site maps (a function JAX called in a way the
    recorder cannot follow) is read: its shape (its length or iteration included) or dtype,
    as for a traced argument; read plainly, it is a value from outside the parameters the
    recorder follows, which it cannot show to be static."""
    if via in _SHAPE_VIAS:
        return via  # type: ignore[return-value]
    return sa.SHAPE if via == sa.LENGTH else "global"


def _self_via(origin: list[Dependency], via: str | None) -> str:
    """`self.attr` is static when `self` came from a static argument, follows the aspect read
    when `self` is a traced argument, and is a global otherwise."""
    vias = {d.via for d in origin}
    if "static" in vias:
        return "static"
    if vias & _SHAPE_VIAS:
        return via or "static"
    return "global"


def _global(read: sa.Read, namespace: dict[str, Any]) -> Iterator[Dependency]:
    """A module global is a dependency unless it is code: a module, function or class used
    as such (`jnp.float32`, `range`), which cannot change between calls."""
    name = read.name
    if name in namespace:
        value = namespace[name]
    elif hasattr(builtins, name):
        return
    else:
        yield Dependency(name, "global")
        return
    shown = name
    if isinstance(value, ModuleType):
        for attribute in read.path:
            value = getattr(value, attribute, None)
            shown = f"{shown}.{attribute}"
            if not isinstance(value, ModuleType):
                break
        is_code = isinstance(value, ModuleType) or callable(value)
    elif read.path:
        attribute = inspect.getattr_static(value, read.path[0], None)
        is_code = inspect.isroutine(attribute) or isinstance(attribute, (staticmethod, classmethod))
    else:
        is_code = callable(value)
    if not (read.called or is_code):
        yield Dependency(shown, "global")


@dataclass(frozen=True)
class _EquationCounts:
    """Equations per user line ("file", line), and per line how many each library made."""

    per_line: Counter[tuple[str, int]]
    libraries: dict[tuple[str, int], Counter[str]]

    @classmethod
    def of(
        cls, equation_sources: Sequence[str | None], equation_libraries: Sequence[str | None]
    ) -> _EquationCounts:
        per_line: Counter[tuple[str, int]] = Counter()
        libraries: dict[tuple[str, int], Counter[str]] = {}
        for index, entry in enumerate(equation_sources):
            where = _file_and_line(entry) if entry else None
            if where is None:
                continue
            per_line[where] += 1
            library = equation_libraries[index] if index < len(equation_libraries) else None
            name = _library_of(library) if library else None
            if name is not None:
                libraries.setdefault(where, Counter())[name] += 1
        return cls(per_line, libraries)


def _file_and_line(entry: str) -> tuple[str, int] | None:
    file, _, line = entry.rpartition(":")
    return (file, int(line)) if line.isdigit() else None


def _library_of(entry: str) -> str | None:
    """`/.../site-packages/optax/_src/transform.py:294` -> `optax`."""
    path = userfiles.library_path(entry.rpartition(":")[0])
    return userfiles.library_name(path) if path is not None else None


def _all_lines(source: sa.SourceFile) -> set[int]:
    """Every line of a file: what counts as run where no recording says what did."""
    return set(range(1, len(source.lines) + 1))


def _listing(
    source: sa.SourceFile,
    function: ast.AST,
    executed: set[int],
    counts: _EquationCounts,
) -> SourceListing:
    start, end = sa.first_line(function), function.end_lineno or function.lineno  # type: ignore[attr-defined]
    dead = _dead_lines(function, executed)
    lines = tuple(
        SourceLine(
            number=n,
            text=source.lines[n - 1] if n <= len(source.lines) else "",
            ran=n not in dead,
            equations=counts.per_line.get((source.path, n), 0),
            libraries=dict(counts.libraries.get((source.path, n), Counter()).most_common()),
        )
        for n in range(start, end + 1)
    )
    return SourceListing(file=source.path, function=source.qualname(function), lines=lines)


def _dead_lines(function: ast.AST, executed: set[int]) -> set[int]:
    """Lines of statements that never ran, with the `else:` lines of branches that never ran."""
    dead: set[int] = set()
    _mark_dead_block(getattr(function, "body", []), executed, dead, docstring=True)
    return dead


def _mark_dead_block(
    statements: Any, executed: set[int], dead: set[int], docstring: bool = False
) -> bool:
    """Marks the dead statements of a block; True when none of them ran."""
    if not isinstance(statements, list):
        return False
    any_ran = False
    for index, statement in enumerate(statements):
        if _has_no_code(statement, docstring and index == 0):
            continue
        if _header_ran(statement, executed):
            any_ran = True
            _mark_dead_children(statement, executed, dead)
        else:
            dead.update(range(statement.lineno, statement.end_lineno + 1))
    return not any_ran


def _mark_dead_children(statement: ast.stmt, executed: set[int], dead: set[int]) -> None:
    blocks: list[tuple[list[ast.stmt], int | None]] = []
    body = getattr(statement, "body", None)
    if isinstance(body, list) and not isinstance(statement, (*sa.FUNCTIONS, ast.ClassDef)):
        blocks.append((body, None))
        orelse = getattr(statement, "orelse", [])
        if orelse:
            blocks.append((orelse, body[-1].end_lineno))
        for handler in getattr(statement, "handlers", []):
            if handler.lineno in executed:
                _mark_dead_block(handler.body, executed, dead)
            else:
                dead.update(range(handler.lineno, handler.end_lineno + 1))
        final = getattr(statement, "finalbody", [])
        if final:
            blocks.append((final, None))
    for case in getattr(statement, "cases", []):
        blocks.append((case.body, None))
    for block, previous_end in blocks:
        if _mark_dead_block(block, executed, dead) and previous_end is not None:
            dead.update(range(previous_end + 1, block[0].lineno))


def _has_no_code(statement: ast.stmt, is_docstring_position: bool) -> bool:
    """Statements that compile to nothing, so no line event can show that they ran."""
    if isinstance(statement, (ast.Global, ast.Nonlocal)):
        return True
    if isinstance(statement, ast.AnnAssign) and statement.value is None:
        return True
    return (
        is_docstring_position
        and isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _header_ran(statement: ast.stmt, executed: set[int]) -> bool:
    """Whether a statement started: any of its lines ran (decorators included)."""
    start = sa.first_line(statement)
    return any(n in executed for n in range(start, (statement.end_lineno or start) + 1))
