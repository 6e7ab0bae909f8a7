"""`watch --explain NAME`: the full trace report of each real compilation of NAME, built from the
call the program made (its static values, its closure, its arguments as abstract values with their
shardings), and for a recompilation the diff against the nearest earlier compilation.

The explanation runs when the compilation (or the failed trace) happens, while the program's
objects are as the call saw them; a later call may change a closure's contents or donate the
arguments' buffers. jaxexplain's own tracing and compiling is hidden from every watch
(`hooks.paused`), so it is never counted as a compilation of the program. Calls that hit JAX's
cache never reach this module.
"""

from __future__ import annotations

import inspect
import linecache
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import jax

from jaxexplain import _jax_compat
from jaxexplain.diffing import make_traced
from jaxexplain.diffing.reports import diff, with_verification
from jaxexplain.explaining import Options, explain
from jaxexplain.inputs.caller import PROGRAM
from jaxexplain.inputs.calling import BoundParam, CallPlan
from jaxexplain.inputs.targets import function_plan, name_of
from jaxexplain.renderers.words import NEW_OBJECT, real_recompile_note, real_run_note
from jaxexplain.report import (
    DiffReport,
    KeyChange,
    TraceReport,
    Verification,
    WatchEvent,
    WatchExplained,
)
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.cache_key import plan_of_call
from jaxexplain.tracing.key_compare import compare_keys
from jaxexplain.tracing.stages import Target
from jaxexplain.watching import hooks

EVERY_FUNCTION = "all"

Definition = tuple[str, str, int]
"""(qualified name, file, first line) of a jitted function's code."""


@dataclass(frozen=True)
class Selector:
    """Which functions `--explain` names: `all`, a function name (qualified or bare), or the
    `file.py:line` of its definition (the file as given, matched by its end)."""

    names: tuple[str, ...]

    def matches(self, definition: Definition) -> bool:
        """True when any name selects the function defined at `definition`."""
        return any(_selects(name, definition) for name in self.names)

    def unmatched(self, definitions: Sequence[Definition]) -> list[str]:
        """The names that selected none of the functions the program compiled."""
        return [
            name
            for name in self.names
            if name != EVERY_FUNCTION and not any(_selects(name, d) for d in definitions)
        ]


def _selects(name: str, definition: Definition) -> bool:
    function, file, line = definition
    if name == EVERY_FUNCTION or name in (function, function.rpartition(".")[2]):
        return True
    where, _, number = name.rpartition(":")
    if not (where and number.isdigit()):
        return False
    path = os.path.normpath(where)
    return int(number) in _header_lines(file, line) and (
        os.path.normpath(file) == os.path.abspath(path) or file.endswith(os.sep + path)
    )


def _header_lines(file: str, first: int) -> range:
    """The lines that name a function's definition: its decorators (where its code starts)
    through its `def` line, which is the line a user reads as where it is defined."""
    number = first
    while number < first + 50:
        text = linecache.getline(file, number).lstrip()
        if not text or text.startswith(("def ", "async def ")):
            break
        number += 1
    return range(first, number + 1)


@dataclass
class _Explained:
    """An explained compilation, kept for the diffs of later ones of the same definition: the
    function and call explained too, for the make_traced check of a recompilation's static."""

    event: WatchEvent
    fun: hooks.FunctionRef
    trace: TraceReport
    target: Target
    plan: CallPlan


@dataclass
class RealCallExplainer:
    """Explains the selected compilations of a watched program as they happen."""

    selector: Selector
    # make_traced outcomes by function and pair, shared with the watch's recommendations.
    checks: make_traced.Checks = field(default_factory=dict)
    explained: list[WatchExplained] = field(default_factory=list)
    failed_definitions: set[Definition] = field(default_factory=set)
    _earlier: dict[Definition, list[_Explained]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def compiled(
        self, observation: hooks.Observation, event: WatchEvent, definition: Definition
    ) -> None:
        """The trace report of a compilation the program made, and its diff if it recompiled."""
        if event.kind != "jit" or not self.selector.matches(definition):
            return
        target, plan, name = _real_target(observation)
        plan = abstract_traced(plan)
        report = _explain(target, plan, name, compile=event.compiled)
        entry = _Explained(event, hooks.FunctionRef(observation.fun), report, target, plan)
        with self._lock:
            earlier = self._earlier.setdefault(definition, [])
            nearest = _nearest(earlier, report, observation.fun)
            earlier.append(entry)
        explained = (
            WatchExplained(event.function, event.index, report)
            if nearest is None
            else self._with_diff(entry, nearest, observation, definition)
        )
        with self._lock:
            self.explained.append(explained)

    def _with_diff(
        self,
        entry: _Explained,
        nearest: _Explained,
        observation: hooks.Observation,
        definition: Definition,
    ) -> WatchExplained:
        """The recompilation's diff, with the make_traced suggestion or the advice to stay
        static that `diff` gives for the same static, checked on the real call's values (or
        found before for the same pair by the watch's recommendation)."""
        explained = _with_diff(entry.event, entry, nearest, observation)
        if explained.diff is None:
            return explained
        with hooks.paused():
            diffed = make_traced.with_make_traced(
                explained.diff,
                nearest.target,
                (nearest.plan, entry.plan),
                PROGRAM,
                self.checks,
                definition,
            )
        return replace(explained, diff=diffed)

    def failed(self, observation: hooks.Observation, definition: Definition) -> None:
        """The failure explanation of a call whose trace raised, on the program's own values
        (`compile` 0: it made no compilation)."""
        self.failed_definitions.add(definition)
        if observation.transformed or not self.selector.matches(definition):
            return
        report = explain_real_call(observation)
        with self._lock:
            self.explained.append(WatchExplained(definition[0], 0, report))


def explain_real_call(observation: hooks.Observation, *, compile: bool = True) -> TraceReport:
    """The trace report of the call the program made, jaxexplain's own work unseen by watch;
    without compile figures for a cache entry that JAX made without compiling."""
    target, plan, name = _real_target(observation)
    return _explain(target, abstract_traced(plan), name, compile=compile)


def _explain(target: Target, plan: CallPlan, name: str, *, compile: bool) -> TraceReport:
    """The trace report of a real call's target and abstract plan, unseen by watch."""
    with hooks.paused():
        return explain(target, plan, name, Options(PROGRAM, compile=compile))


def _real_target(observation: hooks.Observation) -> tuple[Target, CallPlan, str]:
    """The function the program jitted and its call: under `equinox.filter_jit`, the user's
    function and arguments as they passed them (equinox's inner jit splits them), modelled as
    `trace` models filter_jit; else the jitted function with its jit options."""
    user_call = wrappers.filter_jit_call(observation.fun, tuple(observation.args))
    if user_call is not None:
        function, args, kwargs = user_call
        target, plan = function_plan(wrappers.filter_jit_of(function), args, set(), kwargs)
        return target, plan, name_of(function)
    options = _jax_compat.jit_info_options(observation.jit_info)
    plan = with_defaults(
        plan_of_call(observation.fun, tuple(observation.args), dict(observation.kwargs), options),
        observation.fun,
    )
    return Target(observation.fun, observation.fun, options), plan, name_of(observation.fun)


def with_defaults(plan: CallPlan, fun: Any) -> CallPlan:
    """The call's plan with the parameters it left to their defaults, which are constants of
    the trace (and of the report's arguments), as `trace` lists them."""
    given = {p.name for p in plan.params}
    try:
        signature = inspect.signature(fun)
    except (TypeError, ValueError):
        return plan
    defaults = tuple(
        BoundParam(p.name, p.kind, True, "default", p.default, False)
        for p in signature.parameters.values()
        if p.name not in given and p.default is not inspect.Parameter.empty
    )
    return replace(plan, params=(*plan.params, *defaults))


def abstract_traced(plan: CallPlan) -> CallPlan:
    """The plan with each traced array leaf as its abstract value (shape, dtype, weak type, and
    the sharding of a committed array, which JAX keys on): the program may donate or free the
    buffers, and an explanation needs none of their values. The program passed every value;
    its own jax.jit made the statics static."""
    params = tuple(
        p
        if not p.passed
        else replace(p, source="decorator")
        if p.static
        else replace(p, source="program", value=jax.tree.map(_abstract, p.value))
        for p in plan.params
    )
    return replace(plan, params=params)


def _abstract(leaf: Any) -> Any:
    if not isinstance(leaf, jax.Array):
        return leaf
    sharding = leaf.sharding if _jax_compat.is_committed(leaf) else None
    return jax.ShapeDtypeStruct(
        leaf.shape, leaf.dtype, sharding=sharding, weak_type=bool(getattr(leaf, "weak_type", False))
    )


def _nearest(earlier: Sequence[_Explained], report: TraceReport, fun: Any) -> _Explained | None:
    """The earlier compilation whose cache key differs from `report`'s in the fewest components
    (the latest of equals): the one this recompilation is best explained against. JAX's cache
    is per function object, so the same object's compilations come first; another object of the
    same code (a closure made again) only when this one has none."""
    if report.cache_key is None:
        return None
    keyed = [e for e in earlier if e.trace.cache_key is not None]
    keyed = [e for e in keyed if e.fun.is_(fun)] or keyed
    if not keyed:
        return None
    return min(
        reversed(keyed),
        key=lambda e: len(compare_keys(e.trace.cache_key, report.cache_key)),  # type: ignore[arg-type]
    )


def _another_object(report: DiffReport, compile_number: int) -> DiffReport:
    """A diff against another function object of the same code: whatever the traces share,
    JAX compiles again, since its cache belongs to the function object (the component watch
    names for it too)."""
    change = KeyChange(
        "function", "object", f"the function object of compile #{compile_number}", NEW_OBJECT
    )
    return replace(
        report,
        cache_key_changes=(change, *report.cache_key_changes),
        predicted=True,
        recompiles=True,
    )


def _with_diff(
    event: WatchEvent, entry: _Explained, nearest: _Explained, observation: hooks.Observation
) -> WatchExplained:
    """The recompilation's diff against `nearest`, its verdict what the real run did: JAX
    compiled this call again."""
    same_object = nearest.fun.is_(observation.fun)
    predicted: DiffReport = diff(nearest.trace, entry.trace)
    if not same_object:
        predicted = _another_object(predicted, nearest.event.compile_number)
    verification = Verification(
        checked=True,
        note=real_run_note(nearest.event.index, event.index, same_object, event.compiled),
        cache_size_a=nearest.event.cache_size,
        cache_size_b=event.cache_size,
        jax_recompiled=True,
        agrees=predicted.predicted is True,
    )
    return WatchExplained(
        event.function,
        event.index,
        entry.trace,
        with_verification(predicted, verification),
        against=nearest.event.index,
        note="" if same_object else real_recompile_note(nearest.event.compile_number),
    )
