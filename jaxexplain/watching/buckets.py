"""Shape buckets for a function `watch` saw recompile on shapes, checked by compiling them.

While the program runs, `ShapeLog` counts the calls of each jitted function that reached JAX's
Python dispatch, per shape signature, and keeps the abstract arguments (`ShapeDtypeStruct`s,
never the arrays) of its latest compile once a second shape was seen. When the report is built,
each dimension that varied (the leaves whose axis took the same sizes together) gets bucket
edges that minimise the compile seconds plus the padding's flops, each as a fraction of what the
program pays now: JAX's C++ fast path serves repeated calls of a size without telling anyone, so
only the calls that reached Python are counted, and the padding can only be weighed per call
seen, never priced against seconds. The function is then compiled at every edge (hooks paused,
a fresh function object, so no cache of JAX serves it) for the measured compile seconds with
buckets, and `jax.export` with a symbolic dimension says whether one compile could serve all.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import jax
import numpy as np

from jaxexplain import _jax_compat
from jaxexplain.renderers.words import buckets_text
from jaxexplain.report import (
    Buckets,
    CacheKey,
    ExportCheck,
    Recommendation,
    WatchEvent,
    WatchWarning,
)
from jaxexplain.tracing.cache_key import plan_of_call, traced_leaves
from jaxexplain.tracing.stages import fresh_copy
from jaxexplain.userfiles import is_user_file
from jaxexplain.watching import hooks

Definition = tuple[str, str, int]
Signature = tuple[tuple[str, tuple[int, ...]], ...]
"""Each traced leaf's path and shape, in JAX's flattening order: what a shape recompile changes."""

#: Below this many sizes the varying_shape warning's advice (pad to the largest size, or drop
#: the last partial batch) is already the whole recommendation.
FEWEST_SIZES = 3
#: Sizes whose flops are read from a lowering; the others are interpolated between them.
FLOP_SAMPLES = 9
#: The most buckets tried: past a few dozen, buckets save little over compiling every size.
MOST_BUCKETS = 24


@dataclass
class AbstractCall:
    """A real call of the function with every traced leaf as a `ShapeDtypeStruct` (statics kept
    as values): enough to compile it again at another size, without keeping the arrays alive."""

    fun: Callable[..., Any]
    options: _jax_compat.JitOptions
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    dynamic_positions: tuple[int, ...]
    dynamic_names: tuple[str, ...]
    treedef: Any
    paths: tuple[str, ...]
    specs: tuple[jax.ShapeDtypeStruct, ...]

    def with_specs(self, specs: Sequence[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The call's arguments with these leaves in place of its own."""
        dyn_args, dyn_kwargs = jax.tree_util.tree_unflatten(self.treedef, list(specs))
        args = list(self.args)
        for position, value in zip(self.dynamic_positions, dyn_args, strict=True):
            args[position] = value
        return tuple(args), {**self.kwargs, **dyn_kwargs}

    def resized(self, axes: Sequence[tuple[str, int]], size: Any) -> list[Any]:
        """Its leaves with each (path, axis) of `axes` set to `size` (an int or a symbol)."""
        return [
            jax.ShapeDtypeStruct(
                tuple(size if (p, i) in axes else d for i, d in enumerate(s.shape)),
                s.dtype,
                weak_type=s.weak_type,
            )
            for p, s in zip(self.paths, self.specs, strict=True)
        ]

    def jitted(self) -> Any:
        """A jit of a fresh copy of the function: no cache of JAX holds its compilations yet."""
        return jax.jit(
            fresh_copy(self.fun),
            static_argnums=self.options.static_argnums,
            static_argnames=self.options.static_argnames,
        )


def abstract_call(observation: hooks.Observation) -> AbstractCall:
    """The call behind `observation` with its traced leaves made abstract, each named by its
    path as the cache key names it."""
    options = _jax_compat.jit_info_options(observation.jit_info)
    args, kwargs = tuple(observation.args), dict(observation.kwargs)
    plan = plan_of_call(observation.fun, args, kwargs, options)
    static_positions = set(plan.static_argnums)
    static_names = set(plan.static_names)
    positions = tuple(i for i in range(len(args)) if i not in static_positions)
    names = tuple(k for k in kwargs if k not in static_names)
    dynamic = (tuple(args[i] for i in positions), {k: kwargs[k] for k in names})
    _, in_avals = _jax_compat.pjit_params_tree_and_avals(observation.params)
    leaves, treedef = jax.tree_util.tree_flatten(dynamic)
    avals = in_avals[: len(leaves)]
    specs = tuple(
        jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=bool(getattr(a, "weak_type", False)))
        for a in avals
    )
    return AbstractCall(
        fun=observation.fun,
        options=options,
        args=tuple(None if i in positions else a for i, a in enumerate(args)),
        kwargs={k: v for k, v in kwargs.items() if k not in names},
        dynamic_positions=positions,
        dynamic_names=names,
        treedef=treedef,
        paths=tuple(leaf.path for leaf in traced_leaves(plan, in_avals)),
        specs=specs,
    )


@dataclass
class ShapeHistory:
    """One function's calls that reached Python, per signature, and its latest abstract call."""

    calls: Counter[Signature] = field(default_factory=Counter)
    call: AbstractCall | None = None


class ShapeLog:
    """What `watch` keeps for buckets: a counter per call, abstract arguments per compile once
    a function has seen two signatures (a function that never changes shape costs a counter)."""

    def __init__(self) -> None:
        self.histories: dict[Definition, ShapeHistory] = {}

    def saw(self, definition: Definition, observation: hooks.Observation, key: CacheKey) -> None:
        """One call of the function that reached JAX's Python dispatch, with its cache key."""
        history = self.histories.setdefault(definition, ShapeHistory())
        history.calls[tuple((leaf.path, leaf.shape) for leaf in key.traced)] += 1
        if observation.compiled and len(history.calls) > 1:
            history.call = abstract_call(observation)


@dataclass(frozen=True)
class Dimension:
    """Axes of leaves (path, axis) that took the same size as each other in every signature
    seen: one batch dimension, padded together."""

    axes: tuple[tuple[str, int], ...]
    sizes: dict[int, int]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"{path}.shape[{axis}]" for path, axis in self.axes)


def varying_dimensions(calls: Counter[Signature]) -> list[Dimension]:
    """The axes that took more than one size, grouped where they always move together."""
    signatures = [s for s in calls if len(s) == len(next(iter(calls)))]
    paths = [p for p, _ in signatures[0]] if signatures else []
    if any([p for p, _ in s] != paths for s in signatures):
        return []
    groups: dict[tuple[int, ...], list[tuple[str, int]]] = {}
    for index, path in enumerate(paths):
        shapes = [s[index][1] for s in signatures]
        if len({len(shape) for shape in shapes}) != 1:
            continue
        for axis in range(len(shapes[0])):
            sizes = tuple(shape[axis] for shape in shapes)
            if len(set(sizes)) > 1:
                groups.setdefault(sizes, []).append((path, axis))
    dimensions = []
    for sizes, axes in groups.items():
        per_size: Counter[int] = Counter()
        for size, signature in zip(sizes, signatures, strict=True):
            per_size[size] += calls[signature]
        dimensions.append(Dimension(tuple(axes), dict(sorted(per_size.items()))))
    return dimensions


def best_edges(sizes: Sequence[int], calls: Sequence[int], flops: Sequence[float]) -> list[int]:
    """The edges minimising buckets/sizes + padding flops/flops now (sizes ascending).

    For each number of buckets, the optimal edges come from a dynamic program over contiguous
    groups of sizes, each padded to its largest; the number with the least sum wins (the fewer
    buckets on a tie). Both terms are fractions of what the program pays now (one compile per
    size; its flops per call seen), since the calls per size that the fast path served are
    unknown.
    """
    n = len(sizes)
    cost = [float(f) for f in flops]
    total_flops = sum(w * f for w, f in zip(calls, cost, strict=True))
    cum_w = list(accumulate((float(w) for w in calls), initial=0.0))
    cum_wf = list(accumulate((w * f for w, f in zip(calls, cost, strict=True)), initial=0.0))

    def padding(i: int, j: int) -> float:
        """Flops added when sizes i..j are padded to size j."""
        return cost[j] * (cum_w[j + 1] - cum_w[i]) - (cum_wf[j + 1] - cum_wf[i])

    best = [padding(0, j) for j in range(n)]
    choice: list[list[int]] = [[0] * n]
    scores = [1 / n + best[n - 1] / total_flops]
    for _ in range(1, min(n, MOST_BUCKETS)):
        row, starts = [float("inf")] * n, [0] * n
        for j in range(n):
            for i in range(1, j + 1):
                value = best[i - 1] + padding(i, j)
                if value < row[j]:
                    row[j], starts[j] = value, i
        best = row
        choice.append(starts)
        scores.append(len(choice) / n + best[n - 1] / total_flops)
    buckets = scores.index(min(scores)) + 1
    return _edges_from(choice[:buckets], sizes)


def _edges_from(choice: list[list[int]], sizes: Sequence[int]) -> list[int]:
    """Walks the dynamic program's choices back from the largest size."""
    edges, j = [], len(sizes) - 1
    for starts in reversed(choice):
        edges.append(sizes[j])
        j = starts[j] - 1
    return sorted(edges)


def flops_at(call: AbstractCall, dimension: Dimension, sizes: Sequence[int]) -> list[float]:
    """XLA's cost analysis of the lowered function at a few sizes, interpolated between them."""
    last = len(sizes) - 1
    picked = sorted({sizes[round(i * last / (FLOP_SAMPLES - 1))] for i in range(FLOP_SAMPLES)})
    jitted = call.jitted()
    measured = [_lowered_flops(jitted, call, dimension, size)[1] for size in picked]
    return [float(f) for f in np.interp(sizes, picked, measured)]


def _lowered_flops(
    jitted: Any, call: AbstractCall, dimension: Dimension, size: int
) -> tuple[Any, float]:
    args, kwargs = call.with_specs(call.resized(dimension.axes, size))
    lowered = jitted.lower(*args, **kwargs)
    return lowered, float(_jax_compat.cost_analysis(lowered).get("flops", 0.0))


def compile_at_edges(
    call: AbstractCall, dimension: Dimension, edges: Sequence[int]
) -> list[tuple[float, float]]:
    """Compiles the function at each edge: (seconds to trace, lower and compile, flops)."""
    jitted = call.jitted()
    out = []
    for edge in edges:
        start = time.perf_counter()
        lowered, flops = _lowered_flops(jitted, call, dimension, edge)
        lowered.compile()
        out.append((time.perf_counter() - start, flops))
    return out


def export_check(call: AbstractCall, dimension: Dimension) -> ExportCheck:
    """Whether `jax.export` traces the function with the dimension symbolic; if not, the
    first operation that stopped it, at the innermost line of the user's code."""
    (symbol,) = jax.export.symbolic_shape("b")
    args, kwargs = call.with_specs(call.resized(dimension.axes, symbol))
    try:
        jax.export.export(call.jitted())(*args, **kwargs)
    except Exception as exc:
        return _blocker(exc)
    return ExportCheck(works=True)


def _blocker(exc: Exception) -> ExportCheck:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if not frames:
        return ExportCheck(works=False, blocker=message)
    frame = frames[-1]
    return ExportCheck(
        works=False,
        blocker=f"`{frame.line}`: {message}" if frame.line else message,
        file=frame.filename,
        line=frame.lineno or 0,
    )


def recommend(
    log: ShapeLog, events: Sequence[WatchEvent], on_error: Callable[[BaseException], None]
) -> tuple[Recommendation, ...]:
    """A checked bucket recommendation per dimension that varied over enough sizes."""
    out = []
    for definition, history in log.histories.items():
        if history.call is None:
            continue
        compiles = [
            e
            for e in events
            if (e.function, e.file, e.line) == definition and e.kind == "jit" and e.compiled
        ]
        for dimension in varying_dimensions(history.calls):
            if len(dimension.sizes) < FEWEST_SIZES:
                continue
            try:
                with hooks.paused():
                    rec = _recommendation(definition, history.call, dimension, compiles)
            except Exception as exc:
                on_error(exc)
                continue
            if rec is not None:
                out.append(rec)
    return tuple(out)


def _recommendation(
    definition: Definition,
    call: AbstractCall,
    dimension: Dimension,
    compiles: Sequence[WatchEvent],
) -> Recommendation | None:
    sizes, calls = list(dimension.sizes), list(dimension.sizes.values())
    flops = flops_at(call, dimension, sizes)
    if not any(flops):
        return None
    edges = best_edges(sizes, calls, flops)
    if len(edges) >= len(compiles):
        return None
    compiled = compile_at_edges(call, dimension, edges)
    edge_flops = dict(zip(edges, (f for _, f in compiled), strict=True))
    padded = [edge_flops[next(e for e in edges if e >= s)] for s in sizes]
    now = float(np.dot(calls, flops))
    buckets = Buckets(
        path=dimension.names[0],
        sizes={str(s): c for s, c in dimension.sizes.items()},
        edges=tuple(edges),
        compiles_now=len(compiles),
        compiles_with=len(edges),
        compile_seconds_now=sum(e.seconds for e in compiles),
        compile_seconds_with=sum(seconds for seconds, _ in compiled),
        padding_flops_ratio=float(np.dot(calls, padded)) / now - 1.0,
        export=export_check(call, dimension),
        also=dimension.names[1:],
    )
    name, file, line = definition
    return Recommendation(
        function=name,
        kind="buckets",
        text=buckets_text(name, buckets),
        verified=True,
        checks=("compiled_at_edges",),
        file=file,
        line=line,
        buckets=buckets,
    )


def without_bucketed(
    warnings: Sequence[WatchWarning], recommendations: Sequence[Recommendation]
) -> tuple[WatchWarning, ...]:
    """The warnings less each varying_shape one that a bucket recommendation says better."""
    covered = {
        (r.function, path.rpartition(".shape[")[0])
        for r in recommendations
        if r.buckets is not None
        for path in (r.buckets.path, *r.buckets.also)
    }
    return tuple(
        w for w in warnings if w.kind != "varying_shape" or (w.function, w.path) not in covered
    )
