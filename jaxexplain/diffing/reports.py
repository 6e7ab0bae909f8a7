"""Pure diff of two trace reports: the recompile verdict, its reasons, flipped decisions,
compile figures, and the aligned jaxpr diff.

Everything here works on the report data model (saved JSON reports diff as well as fresh
ones) and calls no JAX API.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from jaxexplain.diffing.jaxpr_diff import SourceLookup, jaxpr_diff
from jaxexplain.report import (
    LOOP_KINDS,
    DecisionChange,
    DiffReport,
    FigureChange,
    KeyChange,
    LibraryDecisionChange,
    TraceReport,
    Verification,
)


def diff(a: TraceReport, b: TraceReport, *, vs: dict[str, str] | None = None) -> DiffReport:
    """Everything that differs between two traces of one function, and whether JAX recompiles.

    Args:
        a: the report of side A.
        b: the report of side B (A with some arguments changed).
        vs: the assignments that made B from A, as the user wrote them, for the report.

    Returns:
        The diff; `recompiles` is the prediction from the cache keys until `with_verification`
        adds what JAX itself did.
    """
    notes: list[str] = []
    changes = key_changes(a, b)
    predicted = None
    if a.cache_key is not None and b.cache_key is not None:
        predicted = a.cache_key.digest != b.cache_key.digest
        if predicted != bool(changes):
            notes.append(
                "the cache-key digests and the component comparison disagree; "
                "this is a jaxexplain bug, please report it"
            )
    notes += identity_notes(changes, b)
    jaxpr_changes = None
    if a.jaxpr is not None and b.jaxpr is not None:
        jaxpr_changes = jaxpr_diff(a.jaxpr, b.jaxpr, source_lookup(a, b))
    return DiffReport(
        target=a.target,
        a=a,
        b=b,
        recompiles=predicted,
        cache_key_changes=changes,
        decision_changes=decision_changes(a, b),
        library_decision_changes=library_decision_changes(a, b),
        jaxpr_diff=jaxpr_changes,
        predicted=predicted,
        compile_changes=compile_changes(a, b),
        vs=dict(vs or {}),
        notes=tuple(notes),
    )


def identity_notes(changes: Sequence[KeyChange], b: TraceReport) -> list[str]:
    """Side B's warnings for the statics that differ by identity: why a value that reads the
    same is another cache entry, and what to do about it."""
    if b.cache_key is None:
        return []
    changed = {c.path for c in changes if c.component == "static"}
    return [
        warning
        for static in b.cache_key.static
        if any(p.path in changed for p in static.identity_parts)
        for warning in static.warnings
    ]


def with_verification(report: DiffReport, verification: Verification) -> DiffReport:
    """The diff with JAX's own answer: `recompiles` becomes what JAX did when it was checked.

    Args:
        report: a diff from `diff`.
        verification: what calling the jitted function on both sides showed.

    Returns:
        The diff with `verification`, `verified` (checked and agreeing) and `recompiles` set.
    """
    recompiles = report.predicted
    if verification.checked and verification.jax_recompiled is not None:
        recompiles = verification.jax_recompiled
    return replace(
        report,
        verification=verification,
        verified=bool(verification.checked and verification.agrees),
        recompiles=recompiles,
    )


# --- cache key, decisions, compile figures -------------------------------------------------


def key_changes(a: TraceReport, b: TraceReport) -> tuple[KeyChange, ...]:
    """Every cache-key component that differs, unset statics described by their defaults."""
    if a.cache_key is None or b.cache_key is None:
        return ()
    # cache_key imports JAX for building keys; comparing them is pure, so import it late.
    from jaxexplain.tracing.key_compare import compare_keys

    changes = compare_keys(a.cache_key, b.cache_key)
    return tuple(_describe_unset(change, a, b) for change in changes)


_UNSET = "<traced or unset>"  # what compare_keys says of a static passed on one side only


def _describe_unset(change: KeyChange, a: TraceReport, b: TraceReport) -> KeyChange:
    """A static passed on one side only: say what the other side did (default or traced)."""
    if change.component != "static" or _UNSET not in (change.a, change.b):
        return change
    return replace(
        change,
        a=_argument_state(a, change.path) if change.a == _UNSET else change.a,
        b=_argument_state(b, change.path) if change.b == _UNSET else change.b,
    )


def _argument_state(report: TraceReport, name: str) -> str:
    for arg in report.arguments:
        if arg.name != name:
            continue
        if arg.source == "default":
            return f"not passed (default {arg.value})"
        if arg.role == "traced":
            return f"traced {arg.aval}"
    return "not passed"


def decision_changes(a: TraceReport, b: TraceReport) -> tuple[DecisionChange, ...]:
    """Decisions whose outcomes differ, keyed by (file, line, kind, column), in source order.

    Args:
        a: side A's report.
        b: side B's report.

    Returns:
        Flipped branches, loops with other iteration counts, and code that ran on one side only.
    """
    before = {(d.file, d.line, d.kind, d.column): d for d in a.decisions}
    after = {(d.file, d.line, d.kind, d.column): d for d in b.decisions}
    changes = []
    by_place = _outcomes_that_differ(before, after, lambda k: (k[0], k[1], k[3], k[2]))
    for key, x, y, some in by_place:
        changes.append(
            DecisionChange(
                file=some.file,
                line=some.line,
                source=some.source,
                a=x.outcomes if x else (),
                b=y.outcomes if y else (),
                kind=some.kind,
                change=_change_kind(x.outcomes if x else None, y.outcomes if y else None, key[2]),
                column=some.column,
            )
        )
    return tuple(changes)


def _outcomes_that_differ(
    before: dict[Any, Any], after: dict[Any, Any], order: Callable[[Any], Any] | None
) -> Iterator[tuple[Any, Any, Any, Any]]:
    """(key, A's record or None, B's or None, whichever exists) for every key whose outcomes
    differ between the sides or that ran on one side only, in key order."""
    for key in sorted(set(before) | set(after), key=order):
        x, y = before.get(key), after.get(key)
        if x is not None and y is not None and x.outcomes == y.outcomes:
            continue
        yield key, x, y, x or y


def library_decision_changes(a: TraceReport, b: TraceReport) -> tuple[LibraryDecisionChange, ...]:
    """Library tests on a static whose outcomes differ between the sides (or that ran on one
    side only), keyed by (static, file, line, column), in that order."""
    before = {(d.static, d.file, d.line, d.column): d for d in a.library_decisions}
    after = {(d.static, d.file, d.line, d.column): d for d in b.library_decisions}
    changes = []
    for _, x, y, some in _outcomes_that_differ(before, after, None):
        changes.append(
            LibraryDecisionChange(
                static=some.static,
                file=some.file,
                line=some.line,
                source=some.source,
                a=x.outcomes if x else (),
                b=y.outcomes if y else (),
                kind=some.kind,
            )
        )
    return tuple(changes)


def _change_kind(
    a: tuple[str | int, ...] | None, b: tuple[str | int, ...] | None, kind: str
) -> str:
    if a is None:
        return "only_b"
    if b is None:
        return "only_a"
    if kind in LOOP_KINDS:
        return "iterations"
    if kind == "while" and len(a) != len(b):
        return "iterations"
    return "flipped"


_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("flops", "flops", ""),
    ("transcendentals", "transcendentals", ""),
    ("bytes accessed", "bytes_accessed", "bytes"),
    ("argument memory", "memory.argument_bytes", "bytes"),
    ("output memory", "memory.output_bytes", "bytes"),
    ("temp memory", "memory.temp_bytes", "bytes"),
    ("generated code", "memory.generated_code_bytes", "bytes"),
    ("lower seconds", "lower_seconds", "s"),
    ("compile seconds", "compile_seconds", "s"),
)


def compile_changes(a: TraceReport, b: TraceReport) -> tuple[FigureChange, ...]:
    """XLA's figures of both sides, side by side (all of them: unchanged ones are news too)."""
    if a.compile is None and b.compile is None:
        return ()
    return tuple(
        FigureChange(name, _figure(a, path), _figure(b, path), unit)
        for name, path, unit in _FIGURES
    )


def _figure(report: TraceReport, path: str) -> float | None:
    value: object = report.compile
    for part in path.split("."):
        value = getattr(value, part, None)
    return value if isinstance(value, (int, float)) else None


def source_lookup(a: TraceReport, b: TraceReport) -> SourceLookup:
    """'file:line' -> the line's text: from the reports' source listings, else the file itself.

    The listings hold every line that made an equation whenever the recorder ran; a line
    outside them (the recorder was unavailable) is read from its file now, at diff time, and
    kept in the hunk, so that no renderer reads a file.
    """
    known: dict[tuple[str, int], str] = {}
    for report in (a, b):
        for listing in report.sources:
            for line in listing.lines:
                known[(listing.file, line.number)] = line.text

    def lookup(where: str) -> str | None:
        path, _, number = where.rpartition(":")
        if not number.isdigit():
            return None
        text = known.get((path, int(number))) or linecache.getline(path, int(number))
        return text.strip() or None

    return lookup
