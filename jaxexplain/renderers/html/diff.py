"""The HTML diff page: the verdict and its reasons first, then flipped decisions, the aligned
jaxpr diff side by side, and the compile figures with their deltas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jaxexplain.diffing.jaxpr_diff import hunk_span
from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers.html.failure import error_section, suggestion_html
from jaxexplain.renderers.html.page import (
    PAGE,
    Embedded,
    Page,
    Scope,
    code,
    esc,
    figures,
    nav,
    section,
    source_label,
    table,
    tag,
    tokenize_lines,
)
from jaxexplain.renderers.html.summary import diff_summary_lines, summary_section
from jaxexplain.renderers.words import (
    DISAGREEMENT_MEANING,
    FIXES_DETAIL,
    NO_KEY_WITHOUT_TRACE,
    PREDICTED_ONLY,
    SAME_UP_TO_NAMES,
    approximate_text,
    argument_text,
    as_written,
    capitalized,
    component_name,
    decision_change_name,
    defined_at,
    disagreement_text,
    equation_counts_text,
    figure_change_text,
    figure_text,
    library_change_text,
    location,
    no_verdict_text,
    outcomes_text,
    sentence,
    verification_text,
    vs_text,
)
from jaxexplain.report import (
    DecisionChange,
    DiffReport,
    FigureChange,
    JaxprDiff,
    JaxprHunk,
    KeyChange,
    LibraryDecisionChange,
    TraceReport,
)
from jaxexplain.userfiles import library_label
from jaxexplain.views import argument_pairs, deltas_by_size, equation_counts, figure_delta

#: Row kinds of the side-by-side jaxpr diff, as the page's script reads them.
EQUAL, CHANGED, REMOVED, ADDED, HUNK = range(5)
ROW_KINDS = {"context": EQUAL, "changed": CHANGED, "removed": REMOVED, "added": ADDED}


def render(report: DiffReport, *, color: bool = False, width: int = 100) -> str:
    """The diff report as one self-contained HTML page, starting with `<!DOCTYPE html>`
    (colors and width do not apply: the page has its colors and reflows)."""
    return diff_page(report).html()


def diff_page(report: DiffReport) -> Page:
    """The diff report: why JAX recompiles (or not), then everything that changed."""
    part = diff_report(report, PAGE)
    return Page(
        title=f"jaxexplain diff {report.target}",
        kind="diff",
        body=tag("main", diff_header(report) + part.body),
        data={"kind": "diff", "jaxpr": None, "diff": part.panes["diff"]},
    )


def diff_report(report: DiffReport, scope: Scope) -> Embedded:
    """The diff report's sections, on a page of their own or embedded under `scope`."""
    parts = [
        verdict(report, scope),
        summary_section(diff_summary_lines(report), scope),
        *(side_failure(label, side, scope) for label, side in (("A", report.a), ("B", report.b))),
        arguments_compared(report, scope),
        decision_changes_section(report.decision_changes, scope),
        library_changes_section(report.library_decision_changes, scope),
        jaxpr_diff_section(report.jaxpr_diff, report, scope),
        figures_section(report.compile_changes, scope),
        suggestions_section(report, scope),
        "".join(tag("p", esc(f"note: {n}"), class_="note") for n in report.notes),
    ]
    data = jaxpr_diff_data(report.jaxpr_diff) if report.jaxpr_diff is not None else None
    return Embedded("".join(parts), {"scope": scope.prefix, "diff": data}, scope)


def suggestions_section(report: DiffReport, scope: Scope = PAGE) -> str:
    """What ends the recompilation (a number passed traced, verified), or why it must stay."""
    if not report.suggestions:
        return ""
    items = "".join(suggestion_html(s) for s in report.suggestions)
    return section("fixes", "Fixes", tag("div", items, class_="fixes"), FIXES_DETAIL, scope)


def diff_header(report: DiffReport) -> str:
    """Target, the assignments that made side B, and links to the sections."""
    title = tag("h1", tag("span", "jaxexplain diff", class_="tool") + " " + code(report.target))
    sub = defined_at(report.a.function)
    if report.vs:
        sub += f" · side B is side A with {vs_text(report.vs)}"
    return tag("header", title + tag("div", esc(sub), class_="sub") + diff_nav(report))


def diff_nav(report: DiffReport, scope: Scope = PAGE) -> str:
    """Links to the sections this diff report has."""
    return nav(
        [
            ("verdict", "Verdict", True),
            ("arguments", "Arguments", True),
            ("decision-changes", "Decisions", bool(report.decision_changes)),
            ("jaxpr-diff", "Jaxpr diff", report.jaxpr_diff is not None),
            ("compile-changes", "Compilation", bool(report.compile_changes)),
            ("fixes", "Fixes", bool(report.suggestions)),
        ],
        scope,
    )


def verdict(report: DiffReport, scope: Scope = PAGE) -> str:
    """Recompiles or not, how we know, and every cache-key component responsible."""
    if report.recompiles is None:
        headline, cls = capitalized(no_verdict_text(report)), "recompiles"
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
    return tag("section", body, id=scope.id("verdict"))


def disagreement(report: DiffReport) -> str:
    """When JAX did other than the cache keys predict: said loudly, as the bug it is."""
    if not report.disagrees or report.verification is None:
        return ""
    text = f"jaxexplain and JAX disagree: {disagreement_text(report)} {DISAGREEMENT_MEANING}"
    return tag("p", esc(text), class_="disagree")


def how_we_know(report: DiffReport) -> str:
    """Verified against JAX's own cache, or predicted from the keys (and why not verified)."""
    check = report.verification
    if report.recompiles is None:
        return sentence(NO_KEY_WITHOUT_TRACE)
    return sentence(verification_text(check) if check is not None else PREDICTED_ONLY)


def key_change_html(change: KeyChange) -> str:
    """One differing cache-key component: which, where, A's value and B's."""
    return (
        tag("span", esc(component_name(change.component)), class_="tag kind")
        + code(change.path)
        + ": "
        + tag("code", esc(change.a), class_="side-a")
        + " → "
        + tag("code", esc(change.b), class_="side-b")
    )


def side_failure(label: str, side: TraceReport, scope: Scope = PAGE) -> str:
    """A side that failed to trace gets its failure explanation, titled by side."""
    if side.error is None:
        return ""
    return error_section(
        side.error, f"Side {label}: tracing failed", f"error-{label.lower()}", scope
    )


def arguments_compared(report: DiffReport, scope: Scope = PAGE) -> str:
    """Each parameter on both sides; the ones that differ stand out."""
    rows = []
    for name, a, b in argument_pairs(report):
        x, y = argument_text(a), argument_text(b)
        changed = x != y
        rows.append(
            (
                code(name),
                tag("code", esc(x), class_="side-a" if changed else None),
                tag("code", esc(y), class_="side-b" if changed else None),
                tag("span", "changed", class_="tag kind") if changed else "",
            )
        )
    return section("arguments", "Arguments", table(("parameter", "A", "B", ""), rows), scope=scope)


def decision_changes_section(changes: Sequence[DecisionChange], scope: Scope = PAGE) -> str:
    """Decisions that went another way on side B: flipped branches, other loop counts."""
    if not changes:
        return ""
    rows = [
        (
            code(location(c.file, c.line)),
            code(as_written(c.kind, c.source)),
            esc(decision_change_name(c)),
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
        scope,
    )


def library_changes_section(changes: Sequence[LibraryDecisionChange], scope: Scope = PAGE) -> str:
    """Tests inside installed libraries on a static that went another way on side B."""
    if not changes:
        return ""
    items = "".join(tag("li", esc(library_change_text(c))) for c in changes)
    return section(
        "library-decision-changes",
        "Decided in libraries",
        tag("ul", items),
        f"{len(changes)} changed",
        scope,
    )


def jaxpr_diff_section(diff: JaxprDiff | None, report: DiffReport, scope: Scope = PAGE) -> str:
    """Counts, per-primitive deltas, and the side-by-side view the script draws."""
    counts = equation_counts(report)
    if diff is None or counts is None:
        return ""
    top, printed = equation_counts_text(counts)
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
        for name, delta in deltas_by_size(diff.primitive_deltas)
    )
    notes = tag("p", "Per primitive: " + deltas, class_="deltas") if deltas else ""
    if diff.approximate:
        notes += tag("p", esc(sentence(approximate_text(diff.approximate))), class_="note")
    notes += "".join(tag("p", esc(note), class_="note") for note in diff.sharing)
    if not diff.unified:
        body = tag("p", esc(sentence(f"the jaxprs are {SAME_UP_TO_NAMES}")), class_="note")
    else:
        body = tag("div", scope.pane("diff_pane.html"), class_="pane")
    detail = "variable names made canonical on both sides, so renaming is no change"
    return section("jaxpr-diff", "Jaxpr diff", figures(items) + notes + body, detail, scope)


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


def figures_section(changes: Sequence[FigureChange], scope: Scope = PAGE) -> str:
    """XLA's figures on both sides with the change; up is red (more work), down green."""
    if not changes:
        return ""
    rows = [
        (esc(c.name), esc(figure_text(c.a, c.unit)), esc(figure_text(c.b, c.unit)), delta(c))
        for c in changes
    ]
    return section(
        "compile-changes",
        "Compilation",
        table(("figure", "A", "B", "change"), rows, cls="figs"),
        "seconds are timings, and vary from run to run",
        scope,
    )


def delta(change: FigureChange) -> str:
    """`+8 (+18%)` in red (more work), `-8 (-2%)` in green, `=` when equal, blank when unknown."""
    moved = figure_delta(change)
    if moved is None or moved.delta == 0:
        return esc(figure_change_text(change))
    return tag("span", esc(figure_change_text(change)), class_="up" if moved.delta > 0 else "down")
