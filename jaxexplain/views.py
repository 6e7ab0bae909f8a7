"""Facts derived from a report, computed once here and shown by every renderer.

Like coverage.py's `results.Numbers`: the model holds what was observed, this module what
follows from it (the loops that unrolled and what they cost, the statics that decided most,
each jaxpr line's inherited source, figure deltas, reasons grouped by entry), so that the text,
HTML and JSON renderings agree because none of them works a fact out on its own. Pure
functions of the model; nothing here imports JAX or a renderer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jaxexplain.report import (
    LOOP_KINDS,
    Argument,
    CacheKey,
    CompileInfo,
    Decision,
    DiffReport,
    ErrorInfo,
    FigureChange,
    Growth,
    JaxprInfo,
    SourceListing,
    SweepPoint,
    SweepReport,
    TracedLeaf,
    TraceReport,
    WatchReason,
    WatchReport,
    to_dict,
)

# A loop whose single execution ran this many passes or more is worth the reader's attention.
UNROLL_WARNING = 16
# The context options that change what a user's code computes: shown first, the rest folded.
CONTEXT_SHOWN = (
    "jax_enable_x64",
    "jax_default_device",
    "jax_default_matmul_precision",
    "jax_numpy_rank_promotion",
    "jax_numpy_dtype_promotion",
    "jax_disable_jit",
)
# The source lines a summary names, those that put the most equations into the jaxpr.
SUMMARY_SOURCES = 3
# With more leaves than this, leaves that differ only by list index are counted as one row.
GROUP_LEAVES_OVER = 16
_LIST_INDEX = re.compile(r"\[\d+\]")
_OPENERS = "([{"


@dataclass(frozen=True)
class UnrolledLoop:
    """A Python loop that ran many times while tracing, so its body is copied that many times
    into the jaxpr: `passes` counts all its executions together, `equations` what they put
    into the jaxpr (None where not counted), `per_pass` the equations of one pass."""

    decision: Decision
    passes: int
    equations: int | None
    per_pass: int | None


@dataclass(frozen=True)
class DecidingStatic:
    """A static argument and how many of the recorded decisions depended on its value."""

    name: str
    decisions: int


@dataclass(frozen=True)
class Figure:
    """One compile figure as every renderer lists it: label, value and unit ("s", "bytes",
    or "" for a count)."""

    label: str
    value: float | None
    unit: str = ""


@dataclass(frozen=True)
class FigureDelta:
    """How a figure moved from side A to side B: `relative` is None where A is zero."""

    delta: float
    relative: float | None


@dataclass(frozen=True)
class EquationCounts:
    """Both sides' equation counts: top level as the trace reports count them (`jax.make_jaxpr`),
    and, where those differ, the diff's own counts over the printed text with nested jaxprs."""

    top: tuple[int, int]
    printed: tuple[int, int] | None


@dataclass(frozen=True)
class WatchTotals:
    """A watch report's headline numbers."""

    compilations: int
    functions: int
    seconds: float
    recompilations: int
    eager_compiles: int
    eager_seconds: float


def unrolled_iterations(d: Decision) -> int:
    """How many copies of a loop body the trace holds (all executions of the loop together)."""
    return sum(int(o) for o in d.outcomes) if d.kind in LOOP_KINDS else 0


def longest_run(d: Decision) -> int:
    """A loop's most passes in one execution: a 3-pass loop in a helper that a 48-layer loop
    calls runs 144 times in all, but it is the layer loop that unrolls."""
    return max((int(o) for o in d.outcomes), default=0) if d.kind in LOOP_KINDS else 0


def unrolled_loops(decisions: Sequence[Decision]) -> tuple[UnrolledLoop, ...]:
    """The loops that unrolled enough to matter, most passes first; a loop that put no
    equations into the jaxpr (a NumPy mask built in Python) is left out."""
    return tuple(
        _unrolled(d)
        for d in sorted(decisions, key=unrolled_iterations, reverse=True)
        if longest_run(d) >= UNROLL_WARNING and d.equations != 0
    )


def _unrolled(d: Decision) -> UnrolledLoop:
    passes = unrolled_iterations(d)
    per_pass = None if d.equations is None else round(d.equations / passes)
    return UnrolledLoop(d, passes, d.equations, per_pass)


def deciding_statics(decisions: Sequence[Decision]) -> tuple[DecidingStatic, ...]:
    """The static arguments that decided most, by the number of decisions on their value."""
    counts = Counter(dep.name for d in decisions for dep in d.depends_on if dep.via == "static")
    return tuple(DecidingStatic(name, count) for name, count in counts.most_common())


def decisions_by_line(decisions: Sequence[Decision]) -> dict[tuple[str, int], list[Decision]]:
    """The decisions taken on each (file, line), in the order they were recorded."""
    by_line: dict[tuple[str, int], list[Decision]] = {}
    for d in decisions:
        by_line.setdefault((d.file, d.line), []).append(d)
    return by_line


def listing_equations(listing: SourceListing) -> int:
    """How many of the jaxpr's equations the lines of one source listing produced."""
    return sum(line.equations for line in listing.lines)


def primitives_by_count(primitives: dict[str, int]) -> list[tuple[str, int]]:
    """Primitives with their counts, most frequent first, ties by name."""
    return sorted(primitives.items(), key=lambda kv: (-kv[1], kv[0]))


def deltas_by_size(deltas: dict[str, int]) -> list[tuple[str, int]]:
    """Per-primitive changes, the largest change first, ties by name."""
    return sorted(deltas.items(), key=lambda kv: (-abs(kv[1]), kv[0]))


def context_split(key: CacheKey) -> tuple[list[str], list[str]]:
    """The context options of a key: those in `CONTEXT_SHOWN` (in that order), and the rest."""
    shown = [name for name in CONTEXT_SHOWN if name in key.context]
    return shown, sorted(name for name in key.context if name not in shown)


def grouped_leaves(leaves: Sequence[TracedLeaf]) -> dict[tuple[Any, ...], int]:
    """Leaves that differ only by list index (`blocks[0]`, `blocks[1]`, ...) and agree on
    everything else become one row `blocks[*]` with a count, when there are many leaves."""
    groups: dict[tuple[Any, ...], int] = {}
    for leaf in leaves:
        path = _LIST_INDEX.sub("[*]", leaf.path) if len(leaves) > GROUP_LEAVES_OVER else leaf.path
        row = (path, leaf.shape, leaf.dtype, leaf.weak_type, leaf.sharding, leaf.on_device)
        groups[row] = groups.get(row, 0) + 1
    return groups


def leaf_count(aval: Any) -> int:
    """The array leaves of an argument's abstract value (dicts and lists of aval strings)."""
    if isinstance(aval, dict):
        return sum(leaf_count(v) for v in aval.values())
    if isinstance(aval, (list, tuple)):
        return sum(leaf_count(v) for v in aval)
    return 1


def compile_figures(info: CompileInfo) -> tuple[Figure, ...]:
    """Lowering and compile times, XLA's cost analysis and, where it ran, its memory analysis."""
    figures = [
        Figure("lower", info.lower_seconds, "s"),
        Figure("compile", info.compile_seconds, "s"),
        Figure("flops", info.flops),
        Figure("transcendentals", info.transcendentals),
        Figure("bytes accessed", info.bytes_accessed, "bytes"),
    ]
    if info.memory is not None:
        figures += [
            Figure("argument memory", info.memory.argument_bytes, "bytes"),
            Figure("output memory", info.memory.output_bytes, "bytes"),
            Figure("temp memory", info.memory.temp_bytes, "bytes"),
            Figure("generated code", info.memory.generated_code_bytes, "bytes"),
        ]
    return tuple(figures)


def figure_delta(change: FigureChange) -> FigureDelta | None:
    """B minus A, and relative to A; None where a side has no figure."""
    if change.a is None or change.b is None:
        return None
    delta = change.b - change.a
    return FigureDelta(delta, delta / change.a if change.a else None)


def equation_counts(report: DiffReport) -> EquationCounts | None:
    """Both sides' equation counts (see `EquationCounts`); None without a jaxpr on each side."""
    diff = report.jaxpr_diff
    if diff is None or report.a.jaxpr is None or report.b.jaxpr is None:
        return None
    top = (report.a.jaxpr.equations, report.b.jaxpr.equations)
    printed = (diff.equations_a, diff.equations_b)
    return EquationCounts(top, None if printed == top else printed)


def argument_pairs(report: DiffReport) -> list[tuple[str, Argument | None, Argument | None]]:
    """Each parameter of either side with its argument on side A and on side B (None where a
    side did not pass it), in side A's order and then side B's."""
    by_a = {arg.name: arg for arg in report.a.arguments}
    by_b = {arg.name: arg for arg in report.b.arguments}
    return [(name, by_a.get(name), by_b.get(name)) for name in dict.fromkeys([*by_a, *by_b])]


def failed_sides(report: DiffReport) -> list[str]:
    """The sides ("A", "B") that failed to trace."""
    return [label for label, side in (("A", report.a), ("B", report.b)) if not side.ok]


def reasons_by_entry(reasons: Sequence[WatchReason]) -> list[tuple[int, list[WatchReason]]]:
    """Reasons grouped by the earlier entry they compare with, in the order given."""
    groups: dict[int, list[WatchReason]] = {}
    for reason in reasons:
        groups.setdefault(reason.entry, []).append(reason)
    return list(groups.items())


def watch_totals(report: WatchReport) -> WatchTotals:
    """Compilations, functions, seconds compiling, recompilations of jit caches, and the small
    eager compilations counted apart."""
    return WatchTotals(
        compilations=sum(1 for e in report.events if e.compiled),
        functions=len(report.functions),
        seconds=sum(e.seconds for e in report.events),
        recompilations=sum(
            1 for e in report.events if e.kind == "jit" and e.reasons and e.compiled
        ),
        eager_compiles=sum(e.compiles for e in report.eager),
        eager_seconds=sum(e.seconds for e in report.eager),
    )


def fold_ranges(brackets: Sequence[str]) -> list[tuple[int, int, int]]:
    """Foldable blocks `(first line, last line, nesting)` of a jaxpr text, from the bracket
    characters of each line as the jaxpr lexer reads them: a line whose brackets stay open.

    The first and last lines stay visible when folded (`cond[` ... `] a b`), so only blocks
    with something between them count.
    """
    folds: list[tuple[int, int, int]] = []
    stack: list[tuple[int, int]] = []
    depth = 0
    for i, chars in enumerate(brackets):
        low = depth
        for c in chars:
            depth += 1 if c in _OPENERS else -1
            low = min(low, depth)
        while stack and stack[-1][1] >= low:
            start, _ = stack.pop()
            if i > start + 1:
                folds.append((start, i, len(stack)))
        if depth > low:
            stack.append((i, low))
    return sorted(folds)


def inherited_sources(
    count: int, line_sources: Sequence[str | None], folds: Iterable[tuple[int, int, int]]
) -> list[str | None]:
    """The source of each of `count` jaxpr lines; lines JAX left without one take their
    enclosing equation's.

    The params and sub-jaxprs of `cond[...]` or `jit[...]` were produced by the same user line
    as the equation that holds them, so they belong to it.
    """
    ends = {start: end for start, end, _ in folds}
    out: list[str | None] = []
    stack: list[tuple[int, str | None]] = []
    for i in range(count):
        while stack and stack[-1][0] < i:
            stack.pop()
        own = line_sources[i] if i < len(line_sources) else None
        source = own or (stack[-1][1] if stack else None)
        out.append(source)
        if i in ends:
            stack.append((ends[i], source))
    return out


def trace_views(report: TraceReport) -> dict[str, Any]:
    """The derived facts a JSON reader needs beside the report: the loops that unrolled with
    what they cost, and the statics that decided most."""
    return {
        "unrolled_loops": [
            {
                "file": loop.decision.file,
                "line": loop.decision.line,
                "kind": loop.decision.kind,
                "source": loop.decision.source,
                "passes": loop.passes,
                "longest_run": longest_run(loop.decision),
                "equations": loop.equations,
                "equations_per_pass": loop.per_pass,
            }
            for loop in unrolled_loops(report.decisions)
        ],
        "deciding_statics": [to_dict(s) for s in deciding_statics(report.decisions)],
    }


def diff_views(report: DiffReport) -> dict[str, Any]:
    """Each side's derived facts (`trace_views`)."""
    return {"a": trace_views(report.a), "b": trace_views(report.b)}


# A key path's steps: `['key']`, `[0]`, `.attr`, or the parameter name at the start.
_PATH_STEP = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]|\.(\w+)|^(\w+)")
# Tree lines whose sibling leaves are listed in braces up to this many names.
TREE_SIBLINGS_SHOWN = 8


def parameter_tree(paths: Sequence[str]) -> list[str]:
    """The traced leaves as the user's parameter tree, one line per branch: `params.blocks[0..47]
    .{attn,mlp}`. Runs of list items with the same subtree are one line with an index range,
    and the leaves under one node one brace group, so a 48-layer tree is a few lines where
    JAX's PyTreeDef string fills dozens."""
    tree: dict[str | int, Any] = {}
    for path in paths:
        node = tree
        for step in _path_steps(path):
            node = node.setdefault(step, {})
    return _tree_lines("", tree)


def _path_steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for quoted, index, attr, name in _PATH_STEP.findall(path):
        steps.append(int(index) if index else quoted or attr or name)
    return steps


def _tree_lines(prefix: str, node: dict[str | int, Any]) -> list[str]:
    if not node:
        return [prefix]
    names = [_step_text(prefix, step) for step in node]
    if all(not child for child in node.values()) and all(isinstance(s, str) for s in node):
        if len(node) == 1:
            return [names[0]]
        shown = [str(s) for s in list(node)[:TREE_SIBLINGS_SHOWN]]
        more = len(node) - len(shown)
        return [f"{prefix}.{{{','.join(shown)}{f',+{more}' if more else ''}}}"]
    lines: list[str] = []
    for first, last, child in _index_runs(node):
        if first == last:
            lines += _tree_lines(_step_text(prefix, first), child)
        else:
            lines += _tree_lines(f"{prefix}[{first}..{last}]", child)
    return lines


def _step_text(prefix: str, step: str | int) -> str:
    if isinstance(step, int):
        return f"{prefix}[{step}]"
    return f"{prefix}.{step}" if prefix else step


def _index_runs(node: dict[str | int, Any]) -> list[tuple[str | int, str | int, Any]]:
    """The node's children in order, consecutive list items with equal subtrees as one run."""
    runs: list[tuple[str | int, str | int, Any]] = []
    for step, child in node.items():
        if runs and isinstance(step, int):
            first, last, kept = runs[-1]
            if isinstance(last, int) and step == last + 1 and kept == child:
                runs[-1] = (first, step, kept)
                continue
        runs.append((step, step, child))
    return runs


@dataclass(frozen=True)
class RepeatedBlock:
    """Jaxpr text lines `start` to `start + length` repeated `count` times in a row: the same
    primitives from the same source lines, as an unrolled Python loop leaves them."""

    start: int
    length: int
    count: int


# A block must span this many lines and repeat this many times to be folded as one.
REPEAT_MIN_LINES = 4
REPEAT_MIN_COUNT = 3
_REPEAT_STARTS = 400
_REPEAT_PERIODS = 12
_PRIMITIVE = re.compile(r" = ([\w.]+)")
_NAMES = re.compile(r"\b[a-z]+\b")


def repeated_block(lines: Sequence[str], sources: Sequence[str | None]) -> RepeatedBlock | None:
    """The longest run of a block of jaxpr lines repeated back to back, compared by each line's
    primitive and source line (variable names differ between copies); None where nothing
    repeats. Tries the first few hundred lines as starts, skipping those inside the copies of
    the best block found, so it stays near-linear in the jaxpr."""
    keys = [
        (m[1] if (m := _PRIMITIVE.search(line)) else _NAMES.sub("", line), source)
        for line, source in zip(
            lines, [*sources, *[None] * (len(lines) - len(sources))], strict=False
        )
    ]
    best: RepeatedBlock | None = None
    for start in range(min(len(keys), _REPEAT_STARTS)):
        if best is not None and best.start < start < best.start + _span(best):
            continue  # a start inside the copies repeats a shift of the block found
        for length in _periods(keys, start):
            count = _repeats(keys, start, length)
            block = RepeatedBlock(start, length, count)
            if count >= REPEAT_MIN_COUNT and (best is None or _span(block) > _span(best)):
                best = block
    return best


def _span(block: RepeatedBlock) -> int:
    return block.length * block.count


def _periods(keys: list[tuple[str, str | None]], start: int) -> Iterable[int]:
    """Candidate block lengths from `start`: the distances to the next lines with its key."""
    found = 0
    for k in range(start + REPEAT_MIN_LINES, len(keys)):
        if keys[k] == keys[start]:
            yield k - start
            found += 1
            if found == _REPEAT_PERIODS:
                return


def _repeats(keys: list[tuple[str, str | None]], start: int, length: int) -> int:
    block = keys[start : start + length]
    count = 1
    while keys[start + count * length : start + (count + 1) * length] == block:
        count += 1
    return count


def top_sources(sources: Sequence[str | None], shown: int) -> list[tuple[str, int]]:
    """The source lines that made the most jaxpr lines, most first."""
    return Counter(s for s in sources if s).most_common(shown)


@dataclass(frozen=True)
class TraceSummary:
    """What a trace report says before its sections, the same on every page: the failure, the
    equations and the source lines most of them come from, the loops that unrolled, and the
    compile figures (empty where it did not compile)."""

    error: ErrorInfo | None
    jaxpr: JaxprInfo | None
    top_sources: tuple[tuple[str, int], ...]
    loops: tuple[UnrolledLoop, ...]
    figures: tuple[Figure, ...]


def trace_summary(report: TraceReport) -> TraceSummary:
    """The summary's facts of one trace report."""
    sources = report.jaxpr.line_sources if report.jaxpr is not None else ()
    return TraceSummary(
        error=report.error,
        jaxpr=report.jaxpr,
        top_sources=tuple(top_sources(sources, SUMMARY_SOURCES)),
        loops=unrolled_loops(report.decisions),
        figures=compile_figures(report.compile) if report.compile is not None else (),
    )


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep says first: the points that failed, the figures that grow with a swept
    value (constant ones left out), and the budgets gone over."""

    failed: tuple[SweepPoint, ...]
    growing: tuple[tuple[str, Growth], ...]


def sweep_summary(report: SweepReport) -> SweepSummary:
    """The summary's facts of one sweep report."""
    return SweepSummary(
        failed=tuple(p for p in report.points if p.error is not None),
        growing=tuple((f, g) for f, g in report.growth.items() if g.name != "constant"),
    )
