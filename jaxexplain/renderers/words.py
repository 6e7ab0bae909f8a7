"""How decisions (and who raised an error) read in every renderer: as the user wrote them,
with their outcomes in words."""

from __future__ import annotations

from collections.abc import Sequence

from jaxexplain.report import (
    LOOP_KINDS,
    Decision,
    DiffReport,
    ErrorInfo,
    LibraryDecision,
    LibraryDecisionChange,
)
from jaxexplain.userfiles import short_path

_KEYWORDS = {"comprehension": "for"}


def as_written(kind: str, source: str) -> str:
    """The decision as the user wrote it: `if n > 2`, `for _ in range(n)`, `... if c else ...`."""
    if kind == "ifexp":
        return f"... if {source} else ..."
    return f"{_KEYWORDS.get(kind, kind)} {source}"


def outcomes_text(kind: str, outcomes: Sequence[str | int]) -> str:
    """All outcomes in words: `3 iterations`, `case 1`, `true ×2, false`, or `did not run`."""
    if not outcomes:
        return "did not run"
    if kind in LOOP_KINDS:
        return f"{compress(outcomes)} iteration{'' if tuple(outcomes) == (1,) else 's'}"
    if kind == "match":
        return compress([f"case {o}" for o in outcomes])
    return compress(outcomes)


def library_decision_text(d: LibraryDecision) -> str:
    """One line per library test on a static: `train: decided in flax/linen/stochastic.py:92
    by if (self.rate == 0.0) or deterministic → true (12 times, Dropout.__call__)`."""
    times = f"{d.count} time{'s' * (d.count != 1)}"
    where = f", {d.function}" if d.function else ""
    return (
        f"{d.static}: decided in {d.file}:{d.line} by {as_written(d.kind, d.source)}"
        f" → {outcomes_text(d.kind, d.outcomes)} ({times}{where})"
    )


def library_change_text(c: LibraryDecisionChange) -> str:
    """A library test on a static that went another way: `train: flax/linen/stochastic.py:92
    if (self.rate == 0.0) or deterministic: false -> true`."""
    a, b = outcomes_text(c.kind, c.a), outcomes_text(c.kind, c.b)
    return f"{c.static}: {c.file}:{c.line} {as_written(c.kind, c.source)}: {a} -> {b}"


def decision_outcome(d: Decision) -> str:
    """A decision's outcomes in words, with what a loop put into the jaxpr where counted
    (`48 iterations → 3,120 eq`, as the annotated source counts equations per line)."""
    text = outcomes_text(d.kind, d.outcomes)
    if d.equations is not None and d.outcomes:
        text += f" → {d.equations:,} eq"
    return text


def outcome_badge(d: Decision) -> str:
    """A short inline form: `if → true`, `for ×4 (unrolled)`, `match → case 1`."""
    if d.kind in LOOP_KINDS:
        counts = compress(d.outcomes)
        return f"{d.kind} ×{counts} (unrolled)" if len(d.outcomes) == 1 else f"{d.kind} ×{counts}"
    if d.kind == "match":
        return "match → " + compress([f"case {o}" for o in d.outcomes])
    return f"{d.kind} → {compress(d.outcomes)}"


def compress(outcomes: Sequence[object]) -> str:
    """Runs of equal outcomes, counted: `true, true, false` -> `true ×2, false`."""
    out: list[str] = []
    previous: object = object()
    count = 0
    for outcome in [*outcomes, object()]:
        if outcome == previous:
            count += 1
            continue
        if count:
            out.append(f"{previous}" + (f" ×{count}" if count > 1 else ""))
        previous, count = outcome, 1
    return ", ".join(out)


def raised_by_text(error: ErrorInfo) -> str:
    """Who raised the error, to head its message: `JAX` for JAX's own errors only; `raised by
    your code at solvers.py:23: ValueError` for the user's; `raised by numpy: TypeError`."""
    if error.raised_by == "jax":
        return "JAX"
    if error.raised_by == "user" and error.file:
        return f"raised by your code at {short_path(error.file)}:{error.line}: {error.type}"
    who = "your code" if error.raised_by == "user" else error.raised_by
    return f"raised by {who}: {error.type}"


def dependencies_text(d: Decision) -> str:
    """`n (static), x (shape)`."""
    return ", ".join(f"{dep.name} ({dep.via})" for dep in d.depends_on)


def unrolled_iterations(d: Decision) -> int:
    """How many copies of a loop body the trace holds (all executions of the loop together)."""
    return sum(int(o) for o in d.outcomes) if d.kind in LOOP_KINDS else 0


def equation_counts(report: DiffReport) -> tuple[str, str | None]:
    """`59 -> 41 equations` as each side's trace report counts them (top level, as
    `jax.make_jaxpr` does), and, where they differ, the diff's own counts over the printed
    text with nested jaxprs (`189 -> 125`): its added, removed and changed are of those."""
    assert report.jaxpr_diff is not None and report.a.jaxpr and report.b.jaxpr
    diff = report.jaxpr_diff
    top = (report.a.jaxpr.equations, report.b.jaxpr.equations)
    printed = (diff.equations_a, diff.equations_b)
    text = f"{top[0]:,} -> {top[1]:,} equations"
    return text, None if top == printed else f"{printed[0]:,} -> {printed[1]:,}"


def equations_text(equations: int, libraries: dict[str, int]) -> str:
    """A source line's equation count with the libraries that made them inside its calls:
    `24 eq (optax)` when optax made all of them, `27 eq (24 flax)` when the line made the rest
    itself, `3 eq` with no library; "" for none."""
    if not equations:
        return ""
    if list(libraries.values()) == [equations]:
        return f"{equations} eq ({next(iter(libraries))})"
    shares = ", ".join(f"{count} {name}" for name, count in libraries.items())
    return f"{equations} eq ({shares})" if shares else f"{equations} eq"
