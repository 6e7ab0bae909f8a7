"""The HTML page of a watch merge: the processes, each function's compilations per process
(a diverging function's row marked and linked to its divergences), and the divergences."""

from __future__ import annotations

from jaxexplain.renderers.html.page import Page, code, esc, section, table, tag
from jaxexplain.renderers.html.summary import merge_summary_lines, summary_section
from jaxexplain.renderers.words import (
    MERGE_AGREE,
    MERGE_DIVERGENCES_HEADING,
    MERGE_FUNCTION_COLUMN,
    MERGE_FUNCTIONS_HEADING,
    MERGE_PROCESS_COLUMNS,
    MERGE_PROCESSES_HEADING,
    called_at,
    divergence_text,
    merge_summary_text,
)
from jaxexplain.report import WatchMerge
from jaxexplain.userfiles import short_path


def render(report: WatchMerge, *, color: bool = False, width: int = 100) -> str:
    """The merge as one self-contained HTML page (colors and width do not apply)."""
    summary = merge_summary_text(len(report.processes), len(report.divergences))
    title = tag("h1", tag("span", "jaxexplain merge", class_="tool") + " " + esc(summary))
    body = [
        tag("header", title),
        summary_section(merge_summary_lines(report)),
        section("processes", MERGE_PROCESSES_HEADING, processes_table(report)),
        section("functions", MERGE_FUNCTIONS_HEADING, functions_table(report)),
        section(
            "divergences",
            MERGE_DIVERGENCES_HEADING,
            divergences_list(report),
            str(len(report.divergences)),
        ),
        "".join(tag("p", esc(note), class_="note") for note in report.notes),
    ]
    return Page(
        title=f"jaxexplain merge: {summary}",
        kind="merge",
        body=tag("main", "".join(body)),
        data={"kind": "merge", "jaxpr": None, "diff": None},
    ).html()


def processes_table(report: WatchMerge) -> str:
    rows = [
        [
            esc(p.process),
            esc(p.compiles),
            esc("" if p.exit_code is None else p.exit_code),
            code(short_path(p.file)),
        ]
        for p in report.processes
    ]
    return table(MERGE_PROCESS_COLUMNS, rows)


def functions_table(report: WatchMerge) -> str:
    """One row per function; a function that diverged links to its first divergence."""
    indices = [str(p.process) for p in report.processes]
    first: dict[str, int] = {}
    for number, d in enumerate(report.divergences):
        first.setdefault(d.function, number)
    rows = []
    for fn in report.functions:
        name = code(fn.function)
        if fn.function in first:
            name = tag("a", name, href=f"#divergence-{first[fn.function]}", class_="bad")
        rows.append([name, *(esc(fn.compiles.get(i, 0)) for i in indices)])
    return table([MERGE_FUNCTION_COLUMN, *(f"p{i}" for i in indices)], rows)


def divergences_list(report: WatchMerge) -> str:
    if not report.divergences:
        return tag("p", esc(MERGE_AGREE), class_="good")
    items = []
    for number, d in enumerate(report.divergences):
        where = tag("div", esc(called_at(d.call_site)), class_="sub") if d.call_site else ""
        items.append(tag("li", esc(divergence_text(d)) + where, id=f"divergence-{number}"))
    return tag("ul", "".join(items))
