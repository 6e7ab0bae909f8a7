"""`watch`: every jit compilation of a running program, with the exact cache-key reasons.

A `Watcher` receives each compilation from `_watch_hooks`, builds the call's cache key with
`cache_key.build_cache_key` and compares it (`key_compare.compare_keys`) with every earlier entry of
the same function, so a recompilation names each component that differs from each entry, not a
closest-key guess. `report()` turns what was collected into a `WatchReport` (data only); the
warnings about well-known recompilation mistakes are a pure function of its events.
"""

from __future__ import annotations

import contextlib
import functools
import linecache
import os
import re
import runpy
import sys
import threading
import time
import traceback
import types
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

import jax
import numpy as np

from jaxexplain import _jax_compat
from jaxexplain.caching.persistent import off as persistent_off
from jaxexplain.caching.persistent import persistent_of
from jaxexplain.exits import interrupt_status
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.renderers.words import (
    NEW_FUNCTION_FIX,
    NEW_OBJECT,
    counted_only,
    filter_field_float_text,
    live_line,
    new_function_text,
    program_interrupted_text,
    too_many_compiles_text,
    unmatched_explain_text,
    untraceable_static_text,
)
from jaxexplain.report import (
    CacheKey,
    EagerCompiles,
    KeyChange,
    PersistentCache,
    Recommendation,
    WatchEvent,
    WatchFunction,
    WatchReason,
    WatchReport,
    WatchWarning,
)
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.cache_key import (
    build_cache_key,
    filter_jit_key,
    identity_parts,
    plan_of_call,
    static_children,
    static_repr,
    static_values,
)
from jaxexplain.tracing.key_compare import compare_keys
from jaxexplain.userfiles import is_jax_file, is_user_file, short_path
from jaxexplain.watching import hooks as _watch_hooks
from jaxexplain.watching.buckets import ShapeLog, recommend, without_bucketed
from jaxexplain.watching.growth import (
    Growth,
    deduplicated,
    function_build_site,
    program_digest,
    static_build_site,
)
from jaxexplain.watching.layers import LayerCounts
from jaxexplain.watching.processes import process_info

if TYPE_CHECKING:
    from jaxexplain.diffing.make_traced import Candidate, Outcome, StructureDifference
    from jaxexplain.watching.real_calls import RealCallExplainer

Definition = tuple[str, str, int]
"""(qualified name, file, first line) of a jitted function's code: what recompiles share."""


@dataclass
class _Entry:
    """One compiled entry of a function object's jit cache, as watch saw it being made."""

    number: int
    fun: _watch_hooks.FunctionRef
    key: CacheKey | None
    call_site: str
    statics: dict[str, Any] = field(default_factory=dict)
    # For the make_traced check: the call's plan with arrays as abstract values, the Python
    # function (kept for the first two entries only), and for a function object made again,
    # the one closed-over number it differs in from the first entry's.
    call: CallPlan | None = None
    function: types.FunctionType | None = None
    closure: tuple[str, Any, Any] | None = None
    # Under equinox.filter_jit (whose inner function `function` is), the user's function.
    wrapped: Any = None


@dataclass
class _Definition:
    """All entries compiled from one function definition, over every function object made from it."""

    entries: list[_Entry] = field(default_factory=list)
    objects: int = 0


class Watcher:
    """Collects the compilations of the code that runs inside `with`; `report()` summarizes them.

    Args:
        live: a stream to print one line per compilation to as it happens (True: stderr).
        program: what is being watched, for the report's title.
        explain: functions whose every compilation gets its full trace report (and diff), by
            name, `file.py:line` of the definition, or "all" (`watch --explain`).
    """

    def __init__(
        self, live: bool | TextIO = False, program: str = "", explain: Sequence[str] = ()
    ) -> None:
        self.live: TextIO | None = sys.stderr if live is True else (live or None)
        self._checks: dict[tuple[Any, ...], Outcome] = {}
        self.explainer = _explainer(explain, self._checks)
        self.program = program
        self.events: list[WatchEvent] = []
        self.definitions: dict[Definition, _Definition] = {}
        self.eager: dict[str, list[float]] = {}
        self.other = [0, 0.0]
        self.layers = LayerCounts()
        self.growth = Growth({}, {}, {})
        self.internal_errors: list[str] = []
        self.exit_code: int | None = None
        self.error: str | None = None
        self.started = 0.0
        self.stopped: float | None = None
        self._lock = threading.Lock()
        self._active = False
        self._recommended: dict[Definition, tuple[int, Outcome | None]] = {}
        self.shapes = ShapeLog()
        self._bucketed: tuple[int, tuple[Recommendation, ...]] = (0, ())
        # (function, path) of each leaf equinox.filter_jit held static inside a traced argument.
        self.filter_fields: set[tuple[str, str]] = set()

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Installs the hooks (shared with any enclosing watch)."""
        if not self._active:
            self.started = time.perf_counter()
            _watch_hooks.subscribe(self)
            self._active = True

    def stop(self) -> None:
        """Removes the hooks once no other watch needs them; the program's JAX is as before."""
        if self._active:
            _watch_hooks.unsubscribe(self)
            self._active = False
            self.stopped = time.perf_counter()

    def on_compile(self, observation: _watch_hooks.Observation, frame: FrameType) -> None:
        """One compilation, told by the hooks while the user's frames are still on the stack."""
        seconds = (
            observation.trace_seconds + observation.lower_seconds + observation.compile_seconds
        )
        if observation.eager:
            with self._lock:
                self.eager.setdefault(_name(observation.fun), []).append(seconds)
            return
        definition = user_definition(observation, frame)
        if definition is None:
            with self._lock:
                self.eager.setdefault(definition_of(observation.fun)[0], []).append(seconds)
            return
        call_site, call_source = user_call_site(frame)
        if not observation.transformed:
            with self._lock:
                self.layers.count(observation, definition, call_site)
        if not observation.compiled and observation.fast_path is False:
            return
        call = (None, {}, None) if observation.transformed else self._key(observation)
        key, statics = call[0], call[1]
        if key is not None:
            with self._lock:
                self.shapes.saw(definition, observation, key)
        if not observation.compiled and not self._new_entry(observation, definition, key):
            return
        with self._lock:
            event = self._record(observation, definition, call, seconds, call_site, call_source)
            self.events.append(event)
            if event.kind == "jit":
                self._note_growth(observation, event, statics, frame)
        if self.live is not None:
            print(live_line(event), file=self.live, flush=True)
        if self.explainer is not None:
            self.explainer.compiled(observation, event, definition)

    def _new_entry(
        self, observation: _watch_hooks.Observation, definition: Definition, key: CacheKey | None
    ) -> bool:
        """A call that compiled nothing made a new jit cache entry unless the function object
        already has an entry of its key. A call JAX keeps off the fast path every time (a host
        callback) is only counted, never keyed here: keying it would cost every step."""
        if key is None:
            return False
        group = self.definitions.get(definition)
        entries = group.entries if group else []
        return not any(
            e.fun.is_(observation.fun) and e.key is not None and e.key.digest == key.digest
            for e in entries
        )

    def _note_growth(
        self,
        observation: _watch_hooks.Observation,
        event: WatchEvent,
        statics: dict[str, Any],
        frame: FrameType,
    ) -> None:
        """For an entry of a new function object, or of a new identity-compared static: its
        program's digest and where the object was built (a first entry's digest is the one later
        objects are compared with)."""
        renewed = any((r.component, r.path) == ("function", "object") for r in event.reasons)
        roots = _identity_roots(event)
        if not (renewed or roots or event.cache_size == 1) or observation.params is None:
            return
        try:
            self.growth.digests[event.index] = program_digest(observation.params)
            if renewed:
                self.growth.functions[event.index] = function_build_site(
                    observation.fun, event.call_site
                )
            for root in roots:
                if root in statics:
                    self.growth.statics[(event.index, root)] = static_build_site(
                        frame, statics[root], event.call_site
                    )
        except Exception as exc:
            self.on_internal_error(exc)

    def _unmatched_explain(self) -> tuple[WatchWarning, ...]:
        """A `--explain` name that selected nothing: said, not silently ignored (a typo, or a
        line that is no function's definition)."""
        if self.explainer is None:
            return ()
        return tuple(
            WatchWarning("explain_unmatched", "", name, unmatched_explain_text(name))
            for name in self.explainer.selector.unmatched(
                [*self.definitions, *self.explainer.failed_definitions]
            )
        )

    def on_failure(
        self, observation: _watch_hooks.Observation, exc: Exception, frame: FrameType
    ) -> None:
        """A jitted call whose trace raised: explained under `--explain`, then raised as before."""
        if self.explainer is None:
            return
        definition = user_definition(observation, frame)
        if definition is not None:
            self.explainer.failed(observation, definition)

    def on_unattributed(self, event: str, seconds: float) -> None:
        """Lowering or compilation outside any jit call (AOT `.lower().compile()`, internals)."""
        with self._lock:
            self.other[1] += seconds
            if event == _jax_compat.COMPILE_EVENT:
                self.other[0] += 1

    def on_internal_error(self, exc: BaseException) -> None:
        """jaxexplain failed on one event: noted in the report, never raised into the program."""
        self.internal_errors.append(
            "".join(traceback.format_exception_only(type(exc), exc)).strip()
        )

    def _key(self, observation: _watch_hooks.Observation) -> Call:
        """The call's cache key, its static values themselves (compared as JAX does), and its
        plan with arrays as abstract values."""
        try:
            in_tree, in_avals = _jax_compat.pjit_params_tree_and_avals(observation.params)
            user_call = wrappers.filter_jit_call(observation.fun, tuple(observation.args))
            if user_call is not None:
                key, plan = filter_jit_call_key(user_call, observation.args, in_avals)
            else:
                options = _jax_compat.jit_info_options(observation.jit_info)
                plan = plan_of_call(
                    observation.fun, tuple(observation.args), dict(observation.kwargs), options
                )
                key = build_cache_key(plan, observation.fun, in_tree, in_avals, options)
        except Exception as exc:
            self.on_internal_error(exc)
            return None, {}, None
        return key, static_values(plan), abstract_plan(plan)

    def _record(
        self,
        observation: _watch_hooks.Observation,
        definition: Definition,
        call: Call,
        seconds: float,
        call_site: str,
        call_source: str,
    ) -> WatchEvent:
        group = self.definitions.setdefault(definition, _Definition())
        same_object = [e for e in group.entries if e.fun.is_(observation.fun)]
        reasons: tuple[WatchReason, ...] = ()
        kind = "transformed" if observation.transformed else "jit"
        number = len(group.entries) + 1
        key, statics, plan = call
        if plan is not None:
            held = set(statics) - set(plan.static_names)
            self.filter_fields.update((definition[0], path) for path in held)
        if kind == "jit":
            reasons = explain_recompile(group, same_object, key, statics)
            if not same_object:
                group.objects += 1
            function = observation.fun if isinstance(observation.fun, types.FunctionType) else None
            group.entries.append(
                _Entry(
                    number,
                    _watch_hooks.FunctionRef(observation.fun),
                    key,
                    call_site,
                    statics,
                    plan,
                    function if number <= 2 else None,
                    _closure_change(group, function) if not same_object else None,
                    filter_jit_function(observation) if number <= 2 else None,
                )
            )
            same_object.append(group.entries[-1])
        name, file, line = definition
        return WatchEvent(
            function=name,
            file=file,
            line=line,
            call_site=call_site,
            seconds=seconds,
            cache_size=len(same_object),
            reasons=reasons,
            index=len(self.events) + 1,
            compile_number=number if kind == "jit" else 0,
            kind=kind,
            trace_seconds=observation.trace_seconds,
            lower_seconds=observation.lower_seconds,
            compile_seconds=observation.compile_seconds,
            call_source=call_source,
            time=observation.started - self.started,
            persistent_cache_hit=observation.persistent_cache_hit,
            key=key,
            compiled=observation.compiled,
            persistent=self._persistent(observation),
        )

    def _persistent(self, observation: _watch_hooks.Observation) -> PersistentCache | None:
        """What the disk cache did for the call's backend compile (the last, if several); "off"
        for a compile with no cache directory in effect, None where nothing was compiled."""
        if observation.disk:
            try:
                return persistent_of(observation.disk[-1])
            except Exception as exc:
                self.on_internal_error(exc)
                return None
        return persistent_off() if observation.compile_seconds else None

    def report(self) -> WatchReport:
        """Everything seen so far (or in all, after `with`), as a `WatchReport`."""
        with self._lock:
            events = tuple(self.events)
            eager = tuple(
                EagerCompiles(name, len(times), sum(times))
                for name, times in sorted(self.eager.items(), key=lambda kv: -len(kv[1]))
            )
            other = tuple(self.other)
            functions = self.layers.with_layers(function_totals(events))
            layer_warnings = self.layers.warnings()
            grown = self.growth.recommendations(events)
        end = self.stopped if self.stopped is not None else time.perf_counter()
        recommendations = superseded(
            grown + self._recommendations() + self._bucket_recommendations(events)
        )
        return WatchReport(
            events=events,
            functions=functions,
            eager=eager,
            warnings=unsaid(
                said_once(find_warnings(events, self.filter_fields), self._outcomes()),
                recommendations,
            )
            + layer_warnings
            + self._unmatched_explain(),
            program=self.program,
            exit_code=self.exit_code,
            error=self.error,
            wall_seconds=end - self.started if self.started else 0.0,
            other_compiles=int(other[0]),
            other_seconds=float(other[1]),
            internal_errors=tuple(self.internal_errors),
            jax_version=_jax_compat.JAX_VERSION,
            explained=tuple(self.explainer.explained) if self.explainer else (),
            recommendations=recommendations,
            process=process_info(),
        )

    def _recommendations(self) -> tuple[Recommendation, ...]:
        """make_traced for each function that recompiled only for one number, verified."""
        outcomes = self._outcomes()
        if not outcomes:
            return ()
        from jaxexplain.diffing.make_traced import recommendation_of

        found = (recommendation_of(o, *definition) for definition, o in outcomes.items())
        return tuple(r for r in found if r is not None)

    def _outcomes(self) -> dict[Definition, Outcome]:
        """The make_traced check of each function that recompiled only for one number, run
        once per definition and number of entries (report() may run more than once)."""
        with self._lock:
            groups = [(d, g, len(g.entries)) for d, g in self.definitions.items()]
        found = {}
        for definition, group, count in groups:
            known = self._recommended.get(definition)
            if known is None or known[0] != count:
                known = (count, self._make_traced(definition, group.entries[:count]))
                self._recommended[definition] = known
            if known[1] is not None:
                found[definition] = known[1]
        return found

    def _make_traced(self, definition: Definition, entries: list[_Entry]) -> Outcome | None:
        """The make_traced check of one function (its outcome found before, where `--explain`
        checked the same pair for its diff), or None; the check's own traces and compiles are
        not the program's, so watch's hooks are paused meanwhile."""
        candidate = make_traced_candidate(entries)
        if candidate is None:
            return None
        # The check traces and compiles with jaxexplain's tracing machinery: imported only here.
        from jaxexplain.diffing import make_traced

        try:
            with _watch_hooks.paused():
                return make_traced.checked(candidate, self._checks, definition)
        except Exception as exc:
            self.on_internal_error(exc)
            return None

    def _bucket_recommendations(self, events: tuple[WatchEvent, ...]) -> tuple[Recommendation, ...]:
        """Bucket recommendations, checked by compiling: made again only after new events."""
        seen, recommendations = self._bucketed
        if seen != len(events):
            recommendations = recommend(self.shapes, events, self.on_internal_error)
            self._bucketed = (len(events), recommendations)
        return recommendations


Call = tuple[CacheKey | None, dict[str, Any], CallPlan | None]
"""A call as watch keeps it: its cache key, its static values, its abstract plan."""


def abstract_plan(plan: CallPlan) -> CallPlan:
    """The plan with every array leaf of a traced argument as its abstract value: what the
    make_traced check needs (random inputs of the shapes seen), without keeping the data."""
    return plan.with_values(
        {
            p.name: jax.tree_util.tree_map(_abstract_leaf, p.value)
            for p in plan.params
            if p.passed and not p.static
        }
    )


def filter_jit_function(observation: _watch_hooks.Observation) -> Any:
    """The user's function when the observed jit is equinox.filter_jit's inner one, else None."""
    user_call = wrappers.filter_jit_call(observation.fun, tuple(observation.args))
    return None if user_call is None else user_call[0]


def filter_jit_call_key(
    user_call: tuple[Any, tuple[Any, ...], dict[str, Any]], inner_args: Any, in_avals: Any
) -> tuple[CacheKey, CallPlan]:
    """The key and plan of the call the user made to an `equinox.filter_jit` function, named
    by their parameters and fields (`model.scale`), not by the `static` argument of equinox's
    inner jit that holds them all; `inner_args` are that inner jit's, whose third is static."""
    function, args, kwargs = user_call
    plan = wrappers.filter_jit_plan(plan_of_call(function, args, kwargs, NO_JIT_OPTIONS))
    return filter_jit_key(plan, function, tuple(inner_args)[:2], in_avals), plan


NO_JIT_OPTIONS = _jax_compat.JitOptions((), (), (), (), None, None)


def _abstract_leaf(leaf: Any) -> Any:
    if isinstance(leaf, (jax.Array, np.ndarray)):
        return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype)
    return leaf


def _closure_change(group: _Definition, function: types.FunctionType | None) -> Any:
    """The one closed-over number a new function object differs in from the first entry's."""
    first = group.entries[0].function if group.entries else None
    if first is None or function is None:
        return None
    from jaxexplain.diffing.make_traced import closure_change

    return closure_change(first, function)


def make_traced_candidate(entries: Sequence[_Entry]) -> Any:
    """What to check when every later entry of a function differs from its first in one number
    only: the same closed-over number of a closure made again, or the same static argument."""
    if len(entries) < 2 or entries[0].function is None:
        return None
    from jaxexplain.diffing import filter_fields, make_traced

    first, *later = entries
    if first.call is None or later[0].call is None:
        return None
    plans = [first.call, later[0].call]
    names = {e.closure[0] if e.closure else None for e in later}
    if names != {None}:
        closure = later[0].closure
        if None in names or len(names) != 1 or closure is None:
            return None
        return make_traced.closure_candidate(first.function, plans[0], closure)
    changed = {_only_static_number(first, e) for e in later}
    name = changed.pop() if len(changed) == 1 else None
    if name is None or not all(e.fun.is_(first.function) for e in later):
        return None
    if first.wrapped is not None:
        return filter_fields.watched_candidate(first.wrapped, (plans[0], plans[1]), name)
    return make_traced.watched_static_candidate(first.function, plans, name)


def _only_static_number(first: _Entry, later: _Entry) -> str | None:
    """The static argument `later` differs in from `first` when nothing else differs and both
    of its values are numbers; None otherwise."""
    changes = _changes(first, later.key, later.statics)
    names = {c.path for c in changes}
    if len(names) != 1 or any(c.component != "static" for c in changes):
        return None
    (name,) = names
    values = (first.statics.get(name), later.statics.get(name))
    return name if all(isinstance(v, (int, float, complex, np.number)) for v in values) else None


def superseded(recommendations: tuple[Recommendation, ...]) -> tuple[Recommendation, ...]:
    """The recommendations less a jit_once of a function that a verified make_traced covers: a
    closure made per value of a number is ended by passing the number to one jitted function,
    which make_traced says, checked; jit_once would say it again, unchecked."""
    covered = {r.function for r in recommendations if r.kind == "make_traced" and r.verified}
    return tuple(r for r in recommendations if r.kind != "jit_once" or r.function not in covered)


def unsaid(
    warnings: tuple[WatchWarning, ...], recommendations: Sequence[Recommendation]
) -> tuple[WatchWarning, ...]:
    """The warnings less each one a recommendation says better (a new function object or an
    identity static built per call, a shape that buckets cover)."""
    return without_bucketed(deduplicated(warnings, recommendations), recommendations)


def said_once(
    warnings: tuple[WatchWarning, ...], outcomes: Mapping[Definition, Outcome]
) -> tuple[WatchWarning, ...]:
    """The warnings, each thing said once beside the make_traced checks' outcomes: a verified
    recommendation carries the fix, so a static_float warning of its number goes and a
    new_function warning of its closure only counts; a static float that the check found to
    change the program's structure must stay static, which replaces the advice to pass it
    traced (and is said for a static int too), as does the error of one that fails traced."""
    by_function = {definition[0]: outcome for definition, outcome in outcomes.items()}
    kept = {
        function: _stay_static_warning(function, outcome.candidate, outcome.structure)
        for function, outcome in by_function.items()
        if outcome.structure is not None and outcome.candidate.where in ("static", "filter_jit")
    }
    out: list[WatchWarning] = []
    for warning in warnings:
        outcome = by_function.get(warning.function)
        if outcome is None:
            out.append(warning)
        elif warning.kind == "static_float" and warning.path == outcome.candidate.name:
            if warning.function in kept:
                out.append(kept.pop(warning.function))
            elif outcome.error:
                text = untraceable_static_text(warning.function, warning.path, outcome.error)
                out.append(replace(warning, message=text))
            elif not outcome.verified:
                out.append(warning)
        elif (
            warning.kind == "new_function"
            and outcome.verified
            and outcome.candidate.where == "closure"
        ):
            out.append(replace(warning, message=counted_only(warning.message)))
        else:
            out.append(warning)
    return tuple(out) + tuple(kept.values())


def _identity_roots(event: WatchEvent) -> list[str]:
    """The identity-compared statics whose change (a new object) is among the event's reasons."""
    roots = [s.name for s in (event.key.static if event.key else ()) if s.compared_by == "identity"]
    return [
        root
        for root in roots
        if any(
            r.component == "static"
            and (r.path == root or r.path.startswith((f"{root}.", f"{root}[")))
            for r in event.reasons
        )
    ]


def _stay_static_warning(
    function: str, candidate: Candidate, structure: StructureDifference
) -> WatchWarning:
    from jaxexplain.diffing.make_traced import stay_static_advice

    text = stay_static_advice(candidate, structure)
    return WatchWarning("stay_static", function, candidate.name, f"{function}: {text}")


def _explainer(
    names: Sequence[str], checks: dict[tuple[Any, ...], Outcome]
) -> RealCallExplainer | None:
    """The explainer of the named functions' real calls, sharing the make_traced checks'
    outcomes with the watch; its tracing machinery is imported only when a watch asks for it."""
    if not names:
        return None
    from jaxexplain.watching.real_calls import RealCallExplainer, Selector

    return RealCallExplainer(Selector(tuple(names)), checks=checks)


def watch(*, live: bool | TextIO = False, explain: Sequence[str] = ()) -> Watcher:
    """Watches every jit compilation of the code run inside `with`.

    Args:
        live: print one line per compilation as it happens (True: to stderr, or a stream).
        explain: functions (names, `file.py:line` of the definition, or "all") whose every
            compilation gets its full trace report, and each recompilation its diff.

    Returns:
        A `Watcher`: use it as `with jaxexplain.watch() as w: ...`, then `w.report()`.
    """
    return Watcher(live=live, explain=explain)


@contextlib.contextmanager
def assert_max_compiles(
    fn_or_name: Callable[..., Any] | str, n: int, *, live: bool | TextIO = False
) -> Iterator[Watcher]:
    """Fails when the code inside `with` compiles `fn_or_name` more than `n` times.

    Args:
        fn_or_name: a function (jitted or not: matched by its definition) or a function name.
        n: the most compilations allowed (`jit` entries; eager operations never count).
        live: print a line per compilation as it happens.

    Returns:
        A context manager yielding the `Watcher`.

    Raises:
        AssertionError: on exit, listing every compilation with the reasons for each.
    """
    with Watcher(live=live) as watcher:
        yield watcher
    events = [e for e in watcher.events if e.kind == "jit" and _matches(e, fn_or_name)]
    if len(events) > n:
        name = fn_or_name if isinstance(fn_or_name, str) else events[0].function
        raise AssertionError(too_many_compiles_text(name, n, events))


def _matches(event: WatchEvent, fn_or_name: Callable[..., Any] | str) -> bool:
    if isinstance(fn_or_name, str):
        return event.function == fn_or_name or event.function.endswith("." + fn_or_name)
    return (event.function, event.file, event.line) == definition_of(_jax_compat.unwrap(fn_or_name))


def explain_recompile(
    group: _Definition,
    same_object: Sequence[_Entry],
    key: CacheKey | None,
    statics: dict[str, Any],
) -> tuple[WatchReason, ...]:
    """What differs between the new key and each earlier entry, fewest differences first.

    Entries of the same function object are what its jit cache held; a new function object of a
    known definition starts with an empty cache, which is the reason given first, followed by
    what differs from the most recent entry of an earlier object.
    """
    if not group.entries:
        return ()
    if not same_object:
        last = group.entries[-1]
        reasons = [
            WatchReason(
                "function",
                "object",
                f"{group.objects} earlier function object(s) from this definition",
                NEW_OBJECT,
                last.number,
            )
        ]
        changes = _changes(last, key, statics)
        return tuple(reasons + [_reason(c, last.number) for c in changes])
    compared = [(entry.number, _changes(entry, key, statics)) for entry in same_object]
    compared.sort(key=lambda pair: len(pair[1]))
    reasons = []
    for number, changes in compared:
        if not changes:
            changes = (
                KeyChange(
                    "evicted",
                    "",
                    "an equal key was compiled before",
                    "compiled again: the entry was cleared or evicted, or JAX keyed on "
                    "something outside the key (an ambient mesh)",
                ),
            )
        reasons += [_reason(c, number) for c in changes]
    return tuple(reasons)


def _changes(
    entry: _Entry, after: CacheKey | None, statics: dict[str, Any]
) -> tuple[KeyChange, ...]:
    """The key's differing components, less static values that only read differently: JAX
    compares statics by type, hash and `==`, and equal objects may have different reprs."""
    if entry.key is None or after is None:
        return (KeyChange("unknown", "", "?", "the cache key could not be read"),)
    changes: list[KeyChange] = []
    for change in compare_keys(entry.key, after):
        if (
            change.component != "static"
            or change.path not in entry.statics
            or change.path not in statics
        ):
            changes.append(change)
        elif not _equal_statics(entry.statics, statics, change.path):
            before, now = entry.statics[change.path], statics[change.path]
            inner = static_leaf_changes(change.path, before, now)
            changes += inner or [change]
    return tuple(changes)


def static_leaf_changes(path: str, before: Any, after: Any, depth: int = 6) -> list[KeyChange]:
    """The parts of a structured static value (tuple, named tuple, frozen dataclass, dict) that
    differ, by path (`config.depth`, `shape[1]`), so that the reason is not two long reprs."""
    children_before, children_after = static_children(before), static_children(after)
    if (
        depth == 0
        or type(before) is not type(after)
        or children_before is None
        or children_after is None
        or [k for k, _ in children_before] != [k for k, _ in children_after]
    ):
        return []
    changes = []
    for (suffix, a), (_, b) in zip(children_before, children_after, strict=True):
        if _same(a, b):
            continue
        inner = static_leaf_changes(path + suffix, a, b, depth - 1)
        changes += inner or [KeyChange("static", path + suffix, _static_text(a), _static_text(b))]
    return changes


def _static_text(value: Any) -> str:
    """A static part as a reason shows it: with its address where it compares by identity."""
    return static_repr(value, keep_addresses=bool(identity_parts("", value)))


def _same(a: Any, b: Any) -> bool:
    try:
        return a is b or (type(a) is type(b) and bool(a == b))
    except Exception:
        return False


def _equal_statics(before: dict[str, Any], after: dict[str, Any], name: str) -> bool:
    if name not in before or name not in after:
        return False
    a, b = before[name], after[name]
    try:
        return type(a) is type(b) and hash(a) == hash(b) and bool(a == b)
    except Exception:
        return False


def _reason(change: KeyChange, entry: int) -> WatchReason:
    return WatchReason(change.component, change.path, change.a, change.b, entry)


def user_call_site(frame: FrameType | None) -> tuple[str, str]:
    """`file:line` and source text of the innermost frame in the user's own code.

    Frames of JAX, libraries (equinox's `filter_jit` and the like), the standard library and
    jaxexplain are skipped, so the call site is the user's line that made the call.
    """
    while frame is not None:
        code = frame.f_code
        if is_user_file(code.co_filename):
            line = frame.f_lineno
            return f"{code.co_filename}:{line}", linecache.getline(code.co_filename, line).strip()
        frame = frame.f_back
    return "<unknown>", ""


def definition_of(fun: Any) -> Definition:
    """Where a jitted callable's code is defined, looking through partials and decorators."""
    seen = 0
    while seen < 16:
        seen += 1
        if isinstance(fun, functools.partial):
            fun = fun.func
        elif hasattr(fun, "__func__"):
            fun = fun.__func__
        elif hasattr(fun, "__wrapped__"):
            fun = fun.__wrapped__
        else:
            break
    code = getattr(fun, "__code__", None)
    if code is None:
        code = getattr(type(fun).__call__, "__code__", None) if callable(fun) else None
        name = type(fun).__qualname__
    else:
        name = getattr(fun, "__qualname__", code.co_name)
    if code is None:
        return name, "", 0
    return name, code.co_filename, code.co_firstlineno


def user_definition(observation: _watch_hooks.Observation, frame: FrameType) -> Definition | None:
    """The user's function behind a compilation, or None for a library's own jitted helper.

    A function defined in user code is itself. A library wrapper that jits the user's function
    for them (equinox's `filter_jit` passes it among the static arguments) is the user function
    found there. A library function the user jitted and called directly is reported as is;
    one that the library called internally (`x.sum()` runs jax's jitted `_reduce_sum`) is not,
    and neither is JAX's own jitted operation called from user code (`jnp.sqrt(x)`): both are
    counted with the eager operations.
    """
    definition = definition_of(observation.fun)
    if is_user_file(definition[1]):
        return definition
    found = find_user_function((observation.args, observation.kwargs))
    if found is not None:
        return definition_of(found)
    caller = _jax_compat.jit_caller(frame)
    if (
        caller is not None
        and is_user_file(caller.f_code.co_filename)
        and not is_jax_file(definition[1])
    ):
        return definition
    return None


def find_user_function(tree: Any, depth: int = 5) -> Any:
    """The first function defined in user code inside nested tuples, lists and dicts."""
    code = getattr(tree, "__code__", None)
    if code is not None and is_user_file(code.co_filename):
        return tree
    if depth == 0:
        return None
    items = tree.values() if isinstance(tree, dict) else tree
    if isinstance(tree, (tuple, list, dict)):
        for item in items:
            found = find_user_function(item, depth - 1)
            if found is not None:
                return found
    return None


def _name(fun: Any) -> str:
    return str(getattr(fun, "__name__", type(fun).__name__))


def function_totals(events: Sequence[WatchEvent]) -> tuple[WatchFunction, ...]:
    """Per function, in order of first compilation: compiles, distinct reasons, seconds."""
    grouped: dict[Definition, list[WatchEvent]] = {}
    for event in events:
        grouped.setdefault((event.function, event.file, event.line), []).append(event)
    return tuple(
        WatchFunction(
            function=name,
            compiles=sum(1 for e in group if e.compiled),
            seconds=sum(e.seconds for e in group),
            file=file,
            line=line,
            distinct_reasons=len({(r.component, r.path) for e in group for r in e.reasons}),
            call_sites=tuple(dict.fromkeys(e.call_site for e in group)),
        )
        for (name, file, line), group in grouped.items()
    )


def find_warnings(
    events: Sequence[WatchEvent], filter_fields: Set[tuple[str, str]] = frozenset()
) -> tuple[WatchWarning, ...]:
    """The usual recompilation mistakes, each named once per function and argument;
    `filter_fields` the (function, path) of leaves equinox.filter_jit held static."""
    warnings: list[WatchWarning] = []
    grouped: dict[Definition, list[WatchEvent]] = {}
    for event in events:
        if event.kind == "jit":
            grouped.setdefault((event.function, event.file, event.line), []).append(event)
    for (name, _, _), group in grouped.items():
        warnings += _static_warnings(name, group, filter_fields)
        warnings += _weak_type_warnings(name, group)
        warnings += _shape_warnings(name, group)
        warnings += _new_function_warnings(name, group)
    return tuple(warnings)


def _changed_paths(group: Sequence[WatchEvent], component: str) -> list[str]:
    return list(dict.fromkeys(r.path for e in group for r in e.reasons if r.component == component))


def _static_warnings(
    name: str, group: Sequence[WatchEvent], filter_fields: Set[tuple[str, str]]
) -> list[WatchWarning]:
    out = []
    named_by_identity: set[str] = set()
    for path in _changed_paths(group, "static"):
        root = _static_root(group, path)
        identity = [
            w
            for e in group
            if e.key
            for s in e.key.static
            if s.name == root and s.compared_by == "identity"
            for w in s.warnings
        ]
        if identity:
            if root not in named_by_identity:
                named_by_identity.add(root)
                out.append(
                    WatchWarning(
                        "identity", name, root, f"{name}: {identity[-1]} ({len(group)} compiles)."
                    )
                )
            continue
        statics = [s for e in group if e.key for s in e.key.static if s.name == path]
        values = list(dict.fromkeys(s.value for s in statics)) or _reason_values(group, path)
        shown = ", ".join(values[:4]) + (", ..." if len(values) > 4 else "")
        if len(values) >= 2 and (
            any(s.type == "float" for s in statics) or all(map(_reads_as_float, values))
        ):
            text = (
                filter_field_float_text(name, path, shown, len(values))
                if (name, path) in filter_fields
                else f"{name}: static argument `{path}` is a float that changes between calls "
                f"({len(values)} values: {shown}); each new value compiles anew. "
                + _pass_traced_advice(path)
            )
            out.append(WatchWarning("static_float", name, path, text))
    return out


def _static_root(group: Sequence[WatchEvent], path: str) -> str:
    """The static argument a changed path belongs to: `tx` for its part `tx.init`."""
    names = {s.name for e in group if e.key for s in e.key.static}
    return next((n for n in names if path == n or path.startswith((f"{n}.", f"{n}["))), path)


def _pass_traced_advice(path: str) -> str:
    """A whole static argument can simply become traced; a field of a static config cannot be
    un-marked on its own, so it has to leave the config."""
    root = re.match(r"\w+", path)
    if root is None or root[0] == path:
        return "Pass it as a traced argument (remove it from static_argnums/static_argnames)."
    return (
        f"Take it out of the static `{root[0]}` and pass it as a traced argument of its own "
        f"(or make `{root[0]}` a pytree whose `{path[len(root[0]) :].lstrip('.')}` is a data "
        f"leaf, e.g. with jax.tree_util.register_dataclass, and pass it traced)."
    )


def _reason_values(group: Sequence[WatchEvent], path: str) -> list[str]:
    """The values a static field (`config.lr`) took, from the reasons that name it."""
    values = (v for e in group for r in e.reasons if r.path == path for v in (r.before, r.after))
    return list(dict.fromkeys(values))


def _reads_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return any(c in text for c in ".eE") or text in ("inf", "-inf", "nan")


def _weak_type_warnings(name: str, group: Sequence[WatchEvent]) -> list[WatchWarning]:
    return [
        WatchWarning(
            "weak_type",
            name,
            path,
            f"{name}: `{path}` is sometimes a Python scalar (weakly typed) and sometimes an "
            f"array; each form compiles separately. Pass the same kind every time, for example "
            f"jnp.asarray({path.split('[')[0]}, dtype=jnp.{_leaf_dtype(group, path)}).",
        )
        for path in _changed_paths(group, "weak_type")
    ]


def _leaf_dtype(group: Sequence[WatchEvent], path: str) -> str:
    """The dtype a traced leaf had in the function's compilations (the one to make it)."""
    for event in group:
        for leaf in event.key.traced if event.key else ():
            if leaf.path == path:
                return leaf.dtype
    return "float32"


def _shape_warnings(name: str, group: Sequence[WatchEvent]) -> list[WatchWarning]:
    out = []
    for path in _changed_paths(group, "shape"):
        shapes = list(
            dict.fromkeys(
                leaf.shape for e in group if e.key for leaf in e.key.traced if leaf.path == path
            )
        )
        if len(shapes) < 2:
            continue
        axes = _varying_axes(shapes)
        if len(axes) == 1:
            sizes = ", ".join(str(s[axes[0]]) for s in shapes[:6]) + (
                ", ..." if len(shapes) > 6 else ""
            )
            detail = f"axis {axes[0]} took {len(shapes)} sizes ({sizes})"
        else:
            detail = f"it took {len(shapes)} shapes"
        out.append(
            WatchWarning(
                "varying_shape",
                name,
                path,
                f"{name}: the shape of `{path}` varies between calls: {detail}, and each shape "
                f"compiles anew. Pad to a fixed size (or a few bucket sizes), or drop the last "
                f"partial batch.",
            )
        )
    return out


def _varying_axes(shapes: Sequence[tuple[int, ...]]) -> list[int]:
    if len({len(s) for s in shapes}) != 1:
        return []
    return [axis for axis in range(len(shapes[0])) if len({s[axis] for s in shapes}) > 1]


def _new_function_warnings(name: str, group: Sequence[WatchEvent]) -> list[WatchWarning]:
    renewed = [
        e for e in group if any((r.component, r.path) == ("function", "object") for r in e.reasons)
    ]
    if not renewed:
        return []
    sites = Counter(short_path(e.call_site) for e in renewed)
    site = sites.most_common(1)[0][0]
    return [
        WatchWarning(
            "new_function",
            name,
            "",
            f"{new_function_text(name, len(renewed) + 1, site)} {NEW_FUNCTION_FIX}",
        )
    ]


def run_program(argv: Sequence[str], watcher: Watcher) -> int:
    """Runs `SCRIPT.py ARGS...` or `-m MODULE ARGS...` as Python would, under `watcher`.

    The program sees its own `sys.argv` and runs as `__main__`; `sys.argv` and `sys.path[0]`
    are restored afterwards.

    Args:
        argv: the program's command line, as after `jaxexplain watch --`.
        watcher: the watch to run it under (started and stopped here).

    Returns:
        The program's exit code: 0, its `sys.exit` status, or 1 when it raised (its traceback
        printed to stderr, as Python would).
    """
    saved_argv, saved_path0 = list(sys.argv), sys.path[0] if sys.path else None
    try:
        with watcher:
            code, watcher.error = _run_main(list(argv))
    finally:
        sys.argv[:] = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0
    watcher.exit_code = code
    return code


def _run_main(argv: list[str]) -> tuple[int, str | None]:
    """The exit status, and what the program raised (None when it ended or exited normally)."""
    try:
        if argv[0] == "-m":
            sys.argv[:] = argv[1:]
            _set_path0(os.getcwd())
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv[:] = argv
            _set_path0(os.path.dirname(os.path.abspath(argv[0])))
            runpy.run_path(os.path.abspath(argv[0]), run_name="__main__")
    except SystemExit as exc:
        return _exit_status(exc.code), None
    except KeyboardInterrupt as exc:
        print(f"jaxexplain: {program_interrupted_text(interrupt_status(exc))}", file=sys.stderr)
        return interrupt_status(exc), type(exc).__name__
    except Exception as exc:
        _print_user_traceback(exc)
        return 1, f"{type(exc).__name__}: {exc}"
    return 0, None


def _set_path0(directory: str) -> None:
    """`sys.path[0]` is the script's directory (or the current one for -m), as for `python`."""
    if sys.path:
        sys.path[0] = directory
    else:
        sys.path.append(directory)


def _exit_status(code: Any) -> int:
    """`sys.exit(code)` as the interpreter maps it: None is 0, an int itself, anything else 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _print_user_traceback(exc: BaseException) -> None:
    """The program's traceback from its own first frame on, without jaxexplain's and runpy's;
    an error with no frame of the program (`-m pkg.missing`: runpy found no module) is its one
    line, as `python -m` prints it."""
    tb = exc.__traceback__
    while tb is not None and not is_user_file(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    if tb is None:
        print("".join(traceback.format_exception_only(exc)).strip(), file=sys.stderr)
        return
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
