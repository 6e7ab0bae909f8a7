"""Traces, lowers and compiles one call plan with `jax.jit`, recording what each stage produced.

Only JAX's AOT path runs (`jit(f).trace(...).lower().compile()`): the function never executes
on data, and the jit wrapper's dispatch cache is left untouched.
"""

from __future__ import annotations

import functools
import inspect
import re
import time
import types
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jax

from jaxexplain import _jax_compat
from jaxexplain.caching.persistent import disk_compiles_here, persistent_key
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import (
    LOOP_KINDS,
    CacheKey,
    CompileInfo,
    Decision,
    JaxprInfo,
    MemoryInfo,
    PersistentKey,
)
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.cache_key import build_cache_key
from jaxexplain.tracing.collectives import collectives_of, per_line
from jaxexplain.tracing.crediting import (
    Credit,
    commented_traceback,
    credit_of,
    uncommented_tracebacks,
)
from jaxexplain.tracing.shardings import spans_devices

_SOURCE_COMMENT = re.compile(r"\s+# ?(?P<src>.*)$")
# JAX prints each top-level equation of the main `{ lambda ...` body at this indentation, its
# `# file:line` comment on the equation's first line; the count is checked against the jaxpr.
TOP_LEVEL_INDENT = 4


@dataclass(frozen=True)
class Target:
    """The function to trace: the user's object, the Python function under it, its jit options."""

    obj: Callable[..., Any]
    function: Callable[..., Any]
    options: _jax_compat.JitOptions | None
    # The library wrapper the target is (`equinox.filter_jit`), modelled or not; None for a
    # plain function or a `jax.jit` wrapper.
    library: str | None = None

    @classmethod
    def of(cls, obj: Any) -> Target:
        if _jax_compat.is_jitted(obj):
            return cls(obj, _jax_compat.unwrap(obj), _jax_compat.jit_options(obj))
        library = wrappers.library_wrapper(obj)
        if library == wrappers.FILTER_JIT:
            return cls(obj, wrappers.wrapped_function(obj), None, library)
        if library == wrappers.NNX_JIT:
            if not wrappers.nnx_modelled(obj):
                return cls(obj, obj.fun, None, wrappers.NNX_JIT_SHARDED)
            # nnx passes its static and donated arguments to its inner jax.jit unchanged.
            return cls(obj, obj.fun, _jax_compat.jit_options(obj.jitted_fn), library)
        return cls(obj, obj, None, library)

    def _traceable(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """The function the jit wraps: under filter_jit, one that joins split parameters."""
        return wrappers.joining(fn) if self.library == wrappers.FILTER_JIT else fn

    @property
    def as_traced(self) -> Callable[..., Any]:
        """The function as its jit calls it with a plan's values, to run outside jit: under
        filter_jit, one that joins the split parameters and returns the array outputs."""
        return self._traceable(self.function)

    def decorator_statics(self) -> tuple[str, ...]:
        """Names of the parameters the jit decorator marks static (argnums mapped to names)."""
        if self.options is None:
            return ()
        names = list(inspect.signature(self.function).parameters)
        by_num = tuple(names[i] for i in self.options.static_argnums if i < len(names))
        return tuple(dict.fromkeys(self.options.static_argnames + by_num))

    def jitted_for(self, plan: CallPlan) -> Any:
        """The user's own jit wrapper when its statics match the plan, otherwise a new one."""
        if self.options is not None and set(plan.static_names) <= set(self.decorator_statics()):
            return self.obj
        if self.library == wrappers.NNX_JIT:
            return wrappers.NnxJit(self.function, plan.static_argnums, _argnames(plan))
        return jax.jit(
            self._traceable(self.function),
            static_argnums=plan.static_argnums,
            static_argnames=_argnames(plan),
        )

    def fresh_jit(self, plan: CallPlan) -> Any:
        """A jit wrapper over a fresh copy of the function, for tracing.

        JAX caches traces per function object, across jit wrappers; a trace served from that
        cache runs no Python, so the decisions of a second trace of one signature (a notebook,
        the equal sides of a diff, a fix's re-trace) would go unseen.
        """
        options = self.options
        if self.library == wrappers.NNX_JIT:
            return wrappers.NnxJit(
                fresh_copy(self.function),
                plan.static_argnums,
                _argnames(plan),
                options.donate_argnums if options else (),
                options.donate_argnames if options else (),
            )
        return jax.jit(
            self._traceable(fresh_copy(self.function)),
            static_argnums=plan.static_argnums,
            static_argnames=_argnames(plan),
            donate_argnums=options.donate_argnums if options else None,
            donate_argnames=options.donate_argnames if options else None,
        )


def _argnames(plan: CallPlan) -> tuple[str, ...]:
    """Static parameters that can be named (positional-only ones go by number)."""
    kinds = {p.name: p.kind for p in plan.params}
    return tuple(n for n in plan.static_names if kinds[n] != inspect.Parameter.POSITIONAL_ONLY)


def fresh_copy(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A new function object running the same code, globals, defaults and closure."""
    if inspect.ismethod(fn):
        return types.MethodType(fresh_copy(fn.__func__), fn.__self__)
    if not isinstance(fn, types.FunctionType):
        return fn
    copy = types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    copy.__kwdefaults__ = dict(fn.__kwdefaults__) if fn.__kwdefaults__ else None
    return functools.update_wrapper(copy, fn)


@dataclass
class Stages:
    """What the trace produced, kept live only until the report is built."""

    jitted: Any
    traced: Any
    trace_seconds: float


def trace_plan(target: Target, plan: CallPlan) -> Stages:
    """Runs `jit(f).trace(...)` on the plan's arguments; exceptions are the user's to explain."""
    jitted = target.fresh_jit(plan)
    args, kwargs = plan.call_args()
    start = time.perf_counter()
    with _jax_compat.uncached_inner_traces():
        traced = jitted.trace(*args, **kwargs)
    return Stages(jitted, traced, time.perf_counter() - start)


def jaxpr_info(jaxpr: Any, credits: PrintedCredits) -> JaxprInfo:
    """The jaxpr text (source comments split off into `line_sources`) and its counts; each
    equation credited to the user's line that made it (`credits`, of `printed_credits`), a
    library's frame kept beside it."""
    text, source_map = _jax_compat.pretty_print_with_tracebacks(jaxpr)
    inherited = credits.by_traceback
    text_lines: list[str] = []
    line_sources: list[str | None] = []
    line_libraries: list[str | None] = []
    equation_sources: list[str | None] = []
    in_main_body = False
    for i, line in enumerate(text.splitlines()):
        in_main_body = in_main_body or line.startswith("{ lambda")
        match = _SOURCE_COMMENT.search(line)
        tracebacks = _line_tracebacks(line, source_map[i] if i < len(source_map) else [])
        heir = next((inherited[id(t)] for t in tracebacks if id(t) in inherited), None)
        if match and not _inside_string(line, match.start()):
            credit = heir or _credit(match["src"], tracebacks[0] if tracebacks else None)
            text_lines.append(line[: match.start()].rstrip())
            if in_main_body and _indent(line) == TOP_LEVEL_INDENT:
                equation_sources.append(credit.user)
        else:
            credit = heir or Credit(None)
            text_lines.append(line)
        line_sources.append(credit.user)
        line_libraries.append(credit.library)
    if len(equation_sources) != len(jaxpr.eqns):
        equation_sources = [_equation_credit(eqn).user for eqn in jaxpr.eqns]
    return JaxprInfo(
        text="\n".join(text_lines),
        equations=len(jaxpr.eqns),
        primitives=dict(Counter(eqn.primitive.name for eqn in jaxpr.eqns).most_common()),
        equations_total=len(credits.equations),
        line_sources=tuple(line_sources),
        equation_sources=tuple(equation_sources),
        line_libraries=tuple(line_libraries),
    )


@dataclass(frozen=True)
class PrintedCredits:
    """The credit of every equation JAX prints, each jaxpr once (`equations_total` of them).

    JAX records the Python stack from where a nested jaxpr began tracing, so an equation that
    JAX or a library made inside a jitted helper or a loop body (`jax.random`'s `_uniform`,
    numpyro's `while_loop` body) can have no user frame; the user's line that made it is the
    one whose equation calls that jaxpr. A jaxpr that JAX prints once and several equations call
    is credited, once, to the first of them (the top level first, then each nested jaxpr in
    turn). `by_traceback` holds, for the jaxpr comments and diff hunks, the inherited credits
    of equations whose jaxpr only one user line calls: naming one of several would be made up.
    """

    equations: tuple[Credit, ...]
    by_traceback: dict[int, Credit]


def printed_credits(jaxpr: Any) -> PrintedCredits:
    """Every printed equation's credit, an equation without a user frame taking its caller's."""
    equations: list[Credit] = []
    first_caller: dict[int, Credit] = {id(jaxpr): Credit(None)}
    callers: dict[int, set[str | None]] = {}
    pending: deque[Any] = deque([jaxpr])
    orphans: list[tuple[Any, Any, Credit]] = []  # (traceback, jaxpr, credit) of inheritors
    while pending:
        current = pending.popleft()
        for eqn in current.eqns:
            own = _own_credit(eqn)
            credit = own if own.user is not None else _inherit(own, first_caller[id(current)])
            if own.user is None and credit.user is not None:
                orphans.append((eqn.source_info.traceback, current, credit))
            equations.append(credit)
            for sub in _jax_compat.sub_jaxprs(eqn):
                callers.setdefault(id(sub), set()).add(credit.user)
                if id(sub) not in first_caller:
                    first_caller[id(sub)] = credit
                    pending.append(sub)
    by_traceback = {
        id(traceback): credit
        for traceback, owner, credit in orphans
        if traceback is not None and len(callers.get(id(owner), ())) == 1
    }
    return PrintedCredits(tuple(equations), by_traceback)


def _line_tracebacks(line: str, regions: Sequence[tuple[int, int, Any]]) -> list[Any]:
    """The traceback of the equation a jaxpr line's comment belongs to; where there is none
    (JAX comments no equation made with only its own frames on the stack, and a one-line
    `let relu = { lambda ...; b = max a 0.0 ... }` puts its first ` = ` outside any equation),
    those of the equations printed on the line."""
    traceback = commented_traceback(line, regions)
    return [traceback] if traceback is not None else uncommented_tracebacks(line, regions)


def _own_credit(eqn: Any) -> Credit:
    traceback = eqn.source_info.traceback
    return credit_of(traceback) if traceback is not None else Credit(None)


def _inherit(own: Credit, caller: Credit) -> Credit:
    """The caller's user line, with the library frame that made the equation: its own, else
    the one that made the call (numpyro's, for `jax.random` code it called)."""
    return Credit(caller.user, own.library or caller.library)


def _credit(comment: str, traceback: Any) -> Credit:
    """The user line behind a source comment; JAX's own frame where no user frame is known."""
    if traceback is not None:
        credit = credit_of(traceback)
        if credit.user is not None:
            return credit
    return Credit(_file_line(comment))


def _equation_credit(eqn: Any) -> Credit:
    traceback = eqn.source_info.traceback
    credit = credit_of(traceback) if traceback is not None else Credit(None)
    return credit if credit.user is not None else Credit(_jax_compat.equation_source(eqn))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _inside_string(line: str, index: int) -> bool:
    return line.count("'", 0, index) % 2 == 1 or line.count('"', 0, index) % 2 == 1


def _file_line(summary: str) -> str | None:
    """`file.py:12:4 (fn)` -> `file.py:12`; empty summaries (no user frame) -> None."""
    match = re.match(r"(.+?):(\d+)(?::\d+)?(?: \(.*\))?$", summary.strip())
    return f"{match[1]}:{match[2]}" if match else None


def with_loop_equations(decisions: Sequence[Decision], traced: Any) -> tuple[Decision, ...]:
    """The decisions, each loop with the top-level equations created while it ran.

    An equation belongs to a loop when the Python stack that created it passes through the
    loop's lines, so equations its helpers create count too: what unrolling the loop put into
    the jaxpr, which the per-line counts (innermost user line only) cannot tell.
    """
    kinds = (*LOOP_KINDS, "while")
    loops = [d for d in decisions if d.kind in kinds]
    if not loops:
        return tuple(decisions)
    counts: Counter[int] = Counter()
    for eqn in _jax_compat.inner_jaxpr(traced).eqns:
        stack = _jax_compat.equation_user_lines(eqn)
        for loop in loops:
            if any(f == loop.file and loop.line <= n <= loop.end_line for f, n in stack):
                counts[id(loop)] += 1
    return tuple(replace(d, equations=counts[id(d)]) if d.kind in kinds else d for d in decisions)


def cache_key_of(target: Target, plan: CallPlan, stages: Stages) -> CacheKey:
    """The cache key of the traced call, from the tree and avals JAX itself flattened."""
    if target.library == wrappers.NNX_JIT:
        plan = wrappers.nnx_key_plan(plan, target.function)
    return build_cache_key(
        plan,
        target.function,
        _jax_compat.traced_in_tree(stages.traced),
        flat_in_avals(stages.traced),
        target.options,
    )


def flat_in_avals(traced: Any) -> list[Any]:
    """The abstract value of every traced leaf, in flattening order, from the jaxpr's inputs.

    `traced.in_avals` is the arguments' pytree rebuilt with abstract values as leaves, and a
    class whose flattening keeps only real arrays (a distrax distribution) flattens that
    rebuilt tree to no leaves at all. The arguments come first: a tracer leaked into the trace
    from another one (a scan body's, kept in a list) can add inputs after them, which the cache
    key leaves out by taking one input per argument leaf."""
    return [var.aval for var in _jax_compat.inner_jaxpr(traced).invars]


@dataclass
class LoweredStage:
    """The lowered computation and how long lowering took."""

    lowered: Any
    lower_seconds: float


def lower_stages(stages: Stages) -> LoweredStage:
    """Lowers the traced function to StableHLO (Python work that holds the GIL)."""
    start = time.perf_counter()
    lowered = stages.traced.lower()
    return LoweredStage(lowered, time.perf_counter() - start)


def compile_lowered(
    stage: LoweredStage, *, hlo: bool = False, stablehlo: bool = False
) -> CompileInfo:
    """Compiles with XLA (which releases the GIL), with XLA's cost and memory analyses."""
    start = time.perf_counter()
    compiled = stage.lowered.compile()
    compile_seconds = time.perf_counter() - start
    costs = _jax_compat.cost_analysis(compiled)
    found = collectives_of(compiled.as_text()) if spans_devices(compiled) else ()
    return CompileInfo(
        lower_seconds=stage.lower_seconds,
        compile_seconds=compile_seconds,
        backend=jax.default_backend(),
        flops=_cost(costs, "flops"),
        transcendentals=_cost(costs, "transcendentals"),
        bytes_accessed=_cost(costs, "bytes accessed"),
        memory=_memory_info(compiled),
        devices=tuple(str(d) for d in jax.devices()[:1]),
        stablehlo=stage.lowered.as_text() if stablehlo else None,
        hlo=compiled.as_text() if hlo else None,
        collectives=found,
        collective_lines=per_line(found),
    )


def compile_with_disk_key(
    stage: LoweredStage, *, hlo: bool = False, stablehlo: bool = False
) -> tuple[CompileInfo, PersistentKey | None]:
    """`compile_lowered`, with the compile's key in JAX's persistent compilation cache."""
    with disk_compiles_here() as disk:
        info = compile_lowered(stage, hlo=hlo, stablehlo=stablehlo)
    return info, persistent_key(disk[-1]) if disk else None


def _cost(costs: dict[str, float], name: str) -> float | None:
    """XLA leaves zero counts out of its analysis; with no analysis at all, the figure is unknown."""
    return costs.get(name, 0.0) if costs else None


def _memory_info(compiled: Any) -> MemoryInfo | None:
    sizes = _jax_compat.memory_sizes(compiled)
    return None if sizes is None else MemoryInfo(**sizes)
