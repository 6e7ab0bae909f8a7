"""The HTML diff page: the verdict and its reasons first, then flipped decisions, the aligned
jaxpr diff side by side, and the compile figures with their deltas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jaxexplain.diffing.jaxpr_diff import hunk_span
from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers.console import format_aval_tree, human_bytes, human_number
from jaxexplain.renderers.html import (
    Page,
    as_written,
    code,
    error_section,
    esc,
    figures,
    section,
    source_label,
    table,
    tag,
    template,
    tokenize_lines,
)
from jaxexplain.renderers.words import equation_counts, library_change_text, outcomes_text
from jaxexplain.report import (
    Argument,
    DecisionChange,
    DiffReport,
    FigureChange,
    JaxprDiff,
    JaxprHunk,
    KeyChange,
    LibraryDecisionChange,
    TraceReport,
)
from jaxexplain.userfiles import library_label, short_path

#: Row kinds of the side-by-side jaxpr diff, as the page's script reads them.
EQUAL, CHANGED, REMOVED, ADDED, HUNK = range(5)
ROW_KINDS = {"context": EQUAL, "changed": CHANGED, "removed": REMOVED, "added": ADDED}
COMPONENT_NAMES = {
    "function": "the function itself",
    "static": "static value",
    "static_type": "static value's type",
    "shape": "shape",
    "dtype": "dtype",
    "weak_type": "weak type",
    "treedef": "pytree structure",
    "context": "JAX context",
    "sharding": "sharding",
    "device": "device",
}
CHANGE_NAMES = {
    "flipped": "branch flipped",
    "iterations": "loop count changed",
    "only_a": "ran on A only",
    "only_b": "ran on B only",
}


def diff_page(report: DiffReport) -> Page:
    """The diff report: why JAX recompiles (or not), then everything that changed."""
    parts = [
        diff_header(report),
        verdict(report),
        *(side_failure(label, side) for label, side in (("A", report.a), ("B", report.b))),
        arguments_compared(report.a, report.b, report.vs),
        decision_changes_section(report.decision_changes),
        library_changes_section(report.library_decision_changes),
        jaxpr_diff_section(report.jaxpr_diff, report),
        figures_section(report.compile_changes),
        "".join(tag("p", "note: " + esc(n), class_="note") for n in report.notes),
    ]
    data = jaxpr_diff_data(report.jaxpr_diff) if report.jaxpr_diff is not None else None
    return Page(
        title=f"jaxexplain diff {report.target}",
        kind="diff",
        body=tag("main", "".join(parts)),
        data={"kind": "diff", "jaxpr": None, "diff": data},
    )


def diff_header(report: DiffReport) -> str:
    """Target, the assignments that made side B, and links to the sections."""
    title = tag("h1", tag("span", "jaxexplain diff", class_="tool") + " " + code(report.target))
    vs = " ".join(f"--vs {name}={value}" for name, value in report.vs.items())
    fn = report.a.function
    sub = f"{fn.qualname or fn.name} defined at {short_path(fn.file)}:{fn.line}"
    if vs:
        sub += f" · side B is side A with {vs}"
    links = [
        ("verdict", "Verdict", True),
        ("arguments", "Arguments", True),
        ("decision-changes", "Decisions", bool(report.decision_changes)),
        ("jaxpr-diff", "Jaxpr diff", report.jaxpr_diff is not None),
        ("compile-changes", "Compilation", bool(report.compile_changes)),
    ]
    nav = tag(
        "nav",
        "".join(tag("a", esc(text), href=f"#{anchor}") for anchor, text, shown in links if shown),
    )
    return tag("header", title + tag("div", esc(sub), class_="sub") + nav)


def verdict(report: DiffReport) -> str:
    """Recompiles or not, how we know, and every cache-key component responsible."""
    if report.recompiles is None:
        failed = " and ".join(
            label for label, side in (("A", report.a), ("B", report.b)) if not side.ok
        )
        headline, cls = f"No verdict: side {failed or '?'} failed to trace", "recompiles"
    elif report.recompiles:
        headline, cls = "JAX recompiles", "recompiles"
    else:
        headline, cls = "JAX reuses the compiled function", "reuses"
    why = tag("span", esc(how_we_know(report)), class_="why")
    reasons = ""
    if report.cache_key_changes:
        reasons = tag(
            "ul",
            "".join(tag("li", key_change_html(c)) for c in report.cache_key_changes),
            class_="reasons",
        )
    elif report.recompiles is False:
        reasons = tag("p", "Every component of the cache key is equal.", class_="why")
    warning = disagreement(report)
    body = tag("div", esc(headline) + why + reasons, class_=f"verdict {cls}") + warning
    return tag("section", body, id="verdict")


def disagreement(report: DiffReport) -> str:
    """When JAX did other than the cache keys predict: said loudly, as the bug it is."""
    check = report.verification
    if not report.disagrees or check is None:
        return ""
    said = "a recompile" if report.predicted else "no recompile"
    did = "compiled again" if check.jax_recompiled else "reused its entry"
    text = (
        f"jaxexplain and JAX disagree: the cache keys predicted {said}, but JAX {did} "
        f"(cache size {check.cache_size_a} after A, {check.cache_size_b} after B). The verdict "
        "above is JAX's own; the reasons miss something. This is a jaxexplain bug: please "
        "report it with this page."
    )
    return tag("p", esc(text), class_="disagree")


def how_we_know(report: DiffReport) -> str:
    """Verified against JAX's own cache, or predicted from the keys (and why not verified)."""
    check = report.verification
    if report.verified and check is not None:
        return (
            f"Verified: after calling the jitted function on side A its cache held "
            f"{entries(check.cache_size_a)}, after side B {entries(check.cache_size_b)}."
        )
    if report.recompiles is None:
        return "A side that does not trace has no cache key to compare."
    note = f" ({check.note})" if check is not None and check.note else ""
    return "Predicted from the cache keys, not checked against JAX" + note + "."


def entries(count: int | None) -> str:
    """`1 entry`, `2 entries`."""
    return (
        "an unknown number of entries"
        if count is None
        else f"{count} entr{'y' if count == 1 else 'ies'}"
    )


def key_change_html(change: KeyChange) -> str:
    """One differing cache-key component: which, where, A's value and B's."""
    name = COMPONENT_NAMES.get(change.component, change.component)
    return (
        tag("span", esc(name), class_="tag kind")
        + code(change.path)
        + ": "
        + tag("code", esc(change.a), class_="side-a")
        + " → "
        + tag("code", esc(change.b), class_="side-b")
    )


def side_failure(label: str, side: TraceReport) -> str:
    """A side that failed to trace gets its failure explanation, titled by side."""
    if side.error is None:
        return ""
    return error_section(
        side.error, title=f"Side {label}: tracing failed", anchor=f"error-{label.lower()}"
    )


def arguments_compared(a: TraceReport, b: TraceReport, vs: dict[str, str]) -> str:
    """Each parameter on both sides; the ones that differ stand out."""
    by_a = {arg.name: arg for arg in a.arguments}
    by_b = {arg.name: arg for arg in b.arguments}
    rows = []
    for name in dict.fromkeys([*by_a, *by_b]):
        x, y = describe(by_a.get(name)), describe(by_b.get(name))
        changed = x != y
        rows.append(
            (
                code(name),
                tag("code", esc(x), class_="side-a" if changed else None),
                tag("code", esc(y), class_="side-b" if changed else None),
                tag("span", "changed", class_="tag kind") if changed else "",
            )
        )
    return section("arguments", "Arguments", table(("parameter", "A", "B", ""), rows))


def describe(arg: Argument | None) -> str:
    """`static 3`, `traced f32[8]`, or that the parameter was not passed."""
    if arg is None:
        return "not passed"
    if arg.role == "static":
        return f"static {arg.value}" + (" (default)" if arg.source == "default" else "")
    return f"traced {format_aval_tree(arg.aval)}"


def decision_changes_section(changes: Sequence[DecisionChange]) -> str:
    """Decisions that went another way on side B: flipped branches, other loop counts."""
    if not changes:
        return ""
    rows = [
        (
            code(f"{short_path(c.file)}:{c.line}"),
            code(as_written(c.kind, c.source)),
            esc(CHANGE_NAMES.get(c.change, c.change)),
            tag("span", esc(outcomes_text(c.kind, c.a)), class_="side-a"),
            tag("span", esc(outcomes_text(c.kind, c.b)), class_="side-b"),
        )
        for c in changes
    ]
    return section(
        "decision-changes",
        "Decisions that changed",
        table(("where", "decision", "change", "A", "B"), rows),
        f"{len(changes)} changed",
    )


def library_changes_section(changes: Sequence[LibraryDecisionChange]) -> str:
    """Tests inside installed libraries on a static that went another way on side B."""
    if not changes:
        return ""
    items = "".join(tag("li", esc(library_change_text(c))) for c in changes)
    return section(
        "library-decision-changes",
        "Decided in libraries",
        tag("ul", items),
        f"{len(changes)} changed",
    )


def jaxpr_diff_section(diff: JaxprDiff | None, report: DiffReport) -> str:
    """Counts, per-primitive deltas, and the side-by-side view the script draws."""
    if diff is None or report.a.jaxpr is None or report.b.jaxpr is None:
        return ""
    top, printed = equation_counts(report)
    items = [("equations A → B", top.removesuffix(" equations").replace("->", "→"))]
    if printed is not None:
        items.append(("as printed, nested jaxprs included", printed.replace("->", "→")))
    items += [
        ("added", f"+{diff.added:,}"),
        ("removed", f"−{diff.removed:,}"),
        ("changed", f"~{diff.changed:,}"),
    ]
    deltas = " ".join(
        tag("span", code(name) + f" {delta:+,}", class_="tag " + ("up" if delta > 0 else "down"))
        for name, delta in sorted(diff.primitive_deltas.items(), key=lambda kv: -abs(kv[1]))
    )
    notes = tag("p", "Per primitive: " + deltas, class_="deltas") if deltas else ""
    if diff.approximate:
        notes += tag(
            "p",
            f"{diff.approximate} regions were too scattered to align exactly in time; they are "
            "shown as removed and added.",
            class_="note",
        )
    notes += "".join(tag("p", esc(note), class_="note") for note in diff.sharing)
    if not diff.unified:
        body = tag("p", "The jaxprs are the same up to variable names.", class_="note")
    else:
        body = tag("div", template("diff_pane.html"), class_="pane")
    detail = "variable names made canonical on both sides, so renaming is no change"
    return section("jaxpr-diff", "Jaxpr diff", figures(items) + notes + body, detail)


def jaxpr_diff_data(diff: JaxprDiff) -> dict[str, Any]:
    """The hunks' rows for the page's script, each hunk headed by a row of its own.

    Rows are flattened `[A line, B line, kind, A number, B number]`, -1 where a side has none;
    a hunk row holds its header's index in `heads` as its A line.
    """
    a_lines: list[str] = []
    b_lines: list[str] = []
    rows: list[int] = []
    heads: list[list[str]] = []
    for hunk in diff.hunks:
        heads.append(hunk_head(hunk))
        rows.extend((len(heads) - 1, -1, HUNK, 0, 0))
        for row in hunk.rows:
            rows.extend(
                (
                    _line_index(a_lines, row.a),
                    _line_index(b_lines, row.b),
                    ROW_KINDS[row.kind],
                    row.a_line or 0,
                    row.b_line or 0,
                )
            )
    a, b = (
        tokenize_lines("\n".join(a_lines), JaxprLexer()),
        tokenize_lines("\n".join(b_lines), JaxprLexer()),
    )
    return {
        "a": {
            "lines": a.lines if a_lines else [],
            "tok": a.tokens if a_lines else [],
            "cls": a.classes,
        },
        "b": {
            "lines": b.lines if b_lines else [],
            "tok": b.tokens if b_lines else [],
            "cls": b.classes,
        },
        "rows": rows,
        "heads": heads,
        "width": max((len(t) for t in a_lines + b_lines), default=0),
        # A hunk header spans both sides: a long user line makes the rows this wide.
        "head_width": max(
            (len(f"{where} {text}  {span}") for where, _, text, span in heads), default=0
        ),
    }


def _line_index(lines: list[str], text: str | None) -> int:
    """Appends a side's line and returns its index; -1 (nothing appended) where it has none."""
    if text is None:
        return -1
    lines.append(text)
    return len(lines) - 1


def hunk_head(hunk: JaxprHunk) -> list[str]:
    """`[where, full path:line, source text, line spans]` for a hunk's header row."""
    spans = hunk_span(hunk)
    if not hunk.source:
        return ["", "", "", spans]
    text = (hunk.source_text or "").strip()
    if hunk.library:
        text += f"  ({library_label(hunk.library)})"
    return [source_label(hunk.source), hunk.source, text, spans]


def figures_section(changes: Sequence[FigureChange]) -> str:
    """XLA's figures on both sides with the change; up is red (more work), down green."""
    if not changes:
        return ""
    rows = [(esc(c.name), figure(c.a, c.unit), figure(c.b, c.unit), delta(c)) for c in changes]
    return section(
        "compile-changes",
        "Compilation",
        table(("figure", "A", "B", "change"), rows, cls="figs"),
        "seconds are timings, and vary from run to run",
    )


def figure(value: float | None, unit: str) -> str:
    """A figure in its unit: bytes, seconds, or a count."""
    if unit == "bytes":
        return esc(human_bytes(value))
    if unit == "s":
        return esc("n/a" if value is None else f"{value:.3f} s")
    return esc(human_number(value))


def delta(change: FigureChange) -> str:
    """`+8 (+18.2%)` in red, `−8 (−2.0%)` in green, blank when equal or unknown."""
    if change.a is None or change.b is None or change.a == change.b:
        return ""
    difference = change.b - change.a
    shown = figure(abs(difference), change.unit)
    percent = f" ({difference / change.a:+.1%})" if change.a else ""
    sign = "+" if difference > 0 else "−"
    return tag("span", f"{sign}{shown}{percent}", class_="up" if difference > 0 else "down")
