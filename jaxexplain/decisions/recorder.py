"""The decision recorder's public face: `DecisionRecorder` records the control-flow decisions
user code makes while JAX traces a function, and answers for them afterwards (decisions,
library decisions, executed lines, listings, what an expression depends on)."""

from __future__ import annotations

import ast
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from types import CodeType, TracebackType
from typing import Any

from jaxexplain import userfiles
from jaxexplain.decisions.analysis import Analysis
from jaxexplain.decisions.disturbance import SetterWatch, disturbed_reason
from jaxexplain.decisions.frames import FrameLog
from jaxexplain.decisions.listing import EquationCounts, listings
from jaxexplain.decisions.monitoring import MonitoringHook
from jaxexplain.decisions.resolve import BOUND, HELD, CarrySlot, Resolver
from jaxexplain.decisions.settrace import TraceHook
from jaxexplain.report import Decision, Dependency, LibraryDecision, SourceListing


class DecisionRecorder:
    """Records every control-flow decision user code makes while JAX traces `root`.

    `param_roles` maps the root's parameter names to "static", "traced" or "default" (a
    default value nobody passed, which counts as static; one a `functools.partial` root
    binds is held, as a closure holds its cells, and depends on as a constant), and "name.attribute" to "static"
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
        self._roles = dict(param_roles)
        if inspect.ismethod(root):
            # `jax.jit(model.apply)`: the instance is bound before the call, not passed to it.
            bound = next(iter(inspect.signature(root.__func__).parameters), None)
            if bound is not None:
                self._roles.setdefault(bound, BOUND)
        for held in _held_by_partial(root):
            if self._roles.get(held, "default") == "default":
                self._roles[held] = HELD
        self._frames = FrameLog(_code_of(root), is_user_file or userfiles.is_user_file)
        self._hook: MonitoringHook | TraceHook | None = None
        self._setters = SetterWatch()
        self._analysis: Analysis | None = None
        self._unavailable: str | None = None

    def __enter__(self) -> DecisionRecorder:
        if self._hook is not None:
            raise RuntimeError("this DecisionRecorder is already recording")
        self._analysis, self._unavailable = None, None
        self._frames.begin_recording()
        self._setters.start()
        self._hook = MonitoringHook.start(self._frames) or TraceHook.start(self._frames)
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
            self._setters.stop()
            if self._unavailable is None and self._setters.calls:
                self._unavailable = disturbed_reason(self._setters.calls)
        self._frames.live.clear()

    @property
    def unavailable(self) -> str | None:
        """Why the decisions of the last recording are unknown, or None where they are known:
        another tool took Python's tracing hook while it ran (coverage.py's C tracer puts
        itself back on every call), or the code being traced set a trace or profile function
        (pdb, a profiler), so what was recorded is a part of unknown size."""
        return self._unavailable

    @property
    def root_runs(self) -> int:
        """How many times the root function's body ran in the last recording, counting its
        calls from outside its own call only (JAX traces it once per trace; a recursive root
        calling itself is one run)."""
        root = self._frames.root_code
        return sum(
            1
            for a in self._frames.activations
            if a.code is root and (a.parent is None or not a.parent.in_scope)
        )

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
        counts = EquationCounts.of(equation_sources, equation_libraries)
        return listings(self._analyzed(), counts, self._unavailable is None)

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
        for activation in reversed(self._frames.activations):
            scope = analysis.scope(activation) if activation.code is code else None
            if scope is not None:
                resolver = Resolver(self._roles, needs_value=needs_value, log_carries=True)
                found = tuple(dict.fromkeys(resolver.expression(expression, via, scope)))
                return found, tuple(dict.fromkeys(resolver.carry_slots))
        return (), ()

    def _analyzed(self) -> Analysis:
        if self._hook is not None:
            raise RuntimeError("read the decisions after the recorder has exited")
        if self._analysis is None:
            frames = self._frames
            self._analysis = Analysis(
                frames.activations,
                frames.root_code,
                self._roles,
                frames.namespaces,
                frames.library_activations,
            )
        return self._analysis


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _held_by_partial(root: Callable[..., Any]) -> list[str]:
    """The parameters a `functools.partial` root binds (`partial(train, config)`): values the
    function holds, as a closure holds its cells; a keyword the call passes again is the
    call's own argument (its role already given)."""
    if not isinstance(root, functools.partial):
        return []
    try:
        parameters = list(inspect.signature(root.func).parameters.values())
    except (TypeError, ValueError):
        return []
    positional = [p.name for p in parameters if p.kind in _POSITIONAL][: len(root.args)]
    return [*positional, *root.keywords]


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
