"""The HTML page of a watch report: how the run went, its warnings, the functions that compiled
(each linked to its compilations), every compilation with what differs from each earlier entry,
and for each compilation explained the real call's full trace report and, for a recompilation,
the full diff report against the nearest earlier one, embedded as on their own pages."""

from __future__ import annotations

from collections.abc import Sequence

from jaxexplain.renderers.html.diff import diff_nav, diff_report
from jaxexplain.renderers.html.page import (
    Embedded,
    Page,
    Scope,
    code,
    esc,
    figures,
    nav,
    section,
    table,
    tag,
)
from jaxexplain.renderers.html.recommendations import recommendations_section
from jaxexplain.renderers.html.trace import trace_nav, trace_report, trace_status
from jaxexplain.renderers.words import (
    DISK_COMPUTATION_CHANGED,
    DISK_NO_EARLIER_RECORD,
    FIRST_COMPILATION,
    LAYERS_LEGEND,
    REAL_CALL_TRACE,
    RECOMMENDATIONS_HEADING,
    SUMMARY,
    TRANSFORMED_OUTSIDE_JIT,
    against_title,
    called_at,
    capitalized,
    compile_title,
    defined_at,
    disk_differ_text,
    disk_head,
    disk_summary,
    eager_count_text,
    entry_text,
    internal_errors_text,
    layers_text,
    location,
    more_entries_text,
    other_compiles_text,
    program_end_text,
    reasons_text,
    recompilations_text,
    timing_text,
    watch_totals_text,
)
from jaxexplain.report import (
    PersistentCache,
    PersistentDiffer,
    WatchEvent,
    WatchExplained,
    WatchFunction,
    WatchReport,
)
from jaxexplain.userfiles import short_path
from jaxexplain.views import reasons_by_entry, watch_totals

#: Earlier entries a recompilation lists before the rest are folded away.
ENTRIES_SHOWN = 3
#: Up to this many explained compilations are open when the page loads; past it, all are
#: closed and a link opens one (each drawn only then, so a long run's page opens fast).
OPEN_EXPLAINED = 4
#: Heading level of an explained compilation's parts (trace, diff) and of their sections.
PART_LEVEL = 3
SECTION_LEVEL = 4


def render(report: WatchReport, *, color: bool = False, width: int = 100) -> str:
    """The watch report as one self-contained HTML page, starting with `<!DOCTYPE html>`
    (colors and width do not apply: the page has its colors and reflows)."""
    return watch_page(report).html()


def watch_page(report: WatchReport) -> Page:
    """The run first, then warnings, functions, compilations, and the explained ones in full."""
    events = {event.index: event for event in report.events}
    explained = {x.compile: x for x in report.explained}
    opened = len(report.explained) <= OPEN_EXPLAINED
    parts = [explained_part(x, events, opened) for x in report.explained]
    body = [
        watch_header(report),
        section("summary", SUMMARY, summary_figures(report)),
        program_error(report),
        warnings_section(report),
        recommendations_section(report),
        functions_section(report, explained),
        events_section(report.events, explained),
        eager_section(report),
        *(html for html, _ in parts),
    ]
    return Page(
        title=f"jaxexplain watch {report.program}".rstrip(),
        kind="watch",
        body=tag("main", "".join(body)),
        data={"kind": "watch", "reports": [panes for _, embedded in parts for panes in embedded]},
    )


def watch_header(report: WatchReport) -> str:
    """The program, how it ended, the totals, and links to the sections."""
    badge = ""
    if report.exit_code is not None:
        ok = report.exit_code == 0 and not report.error
        badge = " " + tag(
            "span", f"exit {report.exit_code}", class_="status " + ("ok" if ok else "bad")
        )
    title = tag(
        "h1",
        tag("span", "jaxexplain watch", class_="tool")
        + " "
        + code(report.program or "(Python API)")
        + badge,
    )
    totals = watch_totals(report)
    sub = watch_totals_text(totals, report.wall_seconds)
    if totals.recompilations:
        sub += f"; {recompilations_text(totals.recompilations)}"
    if report.jax_version:
        sub += f" · JAX {report.jax_version}"
    first = compile_anchor(report.explained[0].compile) if report.explained else ""
    links = nav(
        [
            ("program-error", "Program error", bool(report.error)),
            ("warnings", "Warnings", bool(report.warnings)),
            ("recommendations", RECOMMENDATIONS_HEADING, bool(report.recommendations)),
            ("functions", "Per function", bool(report.functions)),
            ("events", "Compilations", bool(report.events)),
            ("eager", "Eager operations", bool(report.eager or report.other_compiles)),
            (first, "Explained compilations", bool(report.explained)),
        ]
    )
    return tag("header", title + tag("div", esc(sub), class_="sub") + links)


def summary_figures(report: WatchReport) -> str:
    """The run's numbers: compilations, recompilations, functions, seconds, exit code."""
    totals = watch_totals(report)
    items = [
        ("compilations", str(totals.compilations)),
        ("recompilations", str(totals.recompilations)),
        ("functions", str(totals.functions)),
        ("compiling", f"{totals.seconds:.3f} s"),
        ("in all", f"{report.wall_seconds:.2f} s"),
    ]
    if report.exit_code is not None:
        items.append(("exit code", str(report.exit_code)))
    return figures(items)


def program_error(report: WatchReport) -> str:
    """What the program raised, with its traceback where there is more than its last line, or
    the status it exited with."""
    ended = program_end_text(report)
    if ended is None:
        return ""
    error = (report.error or "").strip()
    traceback = tag("pre", esc(error), class_="ir") if "\n" in error else ""
    return tag(
        "section",
        tag("h2", esc(capitalized(ended))) + traceback,
        id="program-error",
        class_="failure",
    )


def warnings_section(report: WatchReport) -> str:
    """The recompilation patterns known to be mistakes, each with its fix."""
    notes = ""
    if report.internal_errors:
        notes = tag("p", esc(internal_errors_text(report.internal_errors)), class_="note")
    if not report.warnings:
        return notes
    items = "".join(tag("li", esc(w.message)) for w in report.warnings)
    return section(
        "warnings",
        "Warnings",
        tag("ul", items, class_="warnings") + notes,
        str(len(report.warnings)),
    )


def functions_section(report: WatchReport, explained: dict[int, WatchExplained]) -> str:
    """One row per function: where it is defined, its compilations (each a link), seconds."""
    if not report.functions:
        return ""
    layered = any(fn.layers for fn in report.functions)
    rows = [
        (
            code(fn.function),
            esc(location(fn.file, fn.line)),
            tag("span", str(fn.compiles), class_="num")
            + " "
            + compile_links(events_of(report.events, fn), explained),
            str(fn.distinct_reasons),
            f"{fn.seconds:.3f}",
            *([esc(layers_text(fn.layers))] if layered else []),
        )
        for fn in report.functions
    ]
    headers = ("function", "defined at", "compiles", "distinct reasons", "seconds")
    legend = tag("p", esc(LAYERS_LEGEND), class_="note") if layered else ""
    return section(
        "functions",
        "Per function",
        table(headers + (("cache layers (calls, seconds)",) if layered else ()), rows) + legend,
        "each compilation links to its entry below",
    )


def events_of(events: Sequence[WatchEvent], fn: WatchFunction) -> list[WatchEvent]:
    """A function's compilations: the events of its name defined at its place."""
    return [e for e in events if (e.function, e.file, e.line) == (fn.function, fn.file, fn.line)]


def compile_links(events: Sequence[WatchEvent], explained: dict[int, WatchExplained]) -> str:
    """`#1 #2 #5`: each compilation linked to its full report where explained, else its row."""
    return " ".join(
        tag(
            "a",
            f"#{e.index}",
            href="#" + (compile_anchor(e.index) if e.index in explained else event_anchor(e.index)),
            class_="explained-link" if e.index in explained else None,
        )
        for e in events
    )


def events_section(events: Sequence[WatchEvent], explained: dict[int, WatchExplained]) -> str:
    """Every compilation in the order it happened, with what differs from earlier entries."""
    if not events:
        return ""
    numbered = {(e.function, e.file, e.line, e.compile_number): e for e in events}
    rows = "".join(event_row(e, numbered, e.index in explained) for e in events)
    head = "".join(
        tag("th", h)
        for h in ("#", "function", "called at", "seconds", "cache size", "what differs")
    )
    summary = disk_summary(events)
    return section(
        "events",
        "Compilations",
        (tag("p", esc(summary), class_="disk-summary") if summary else "")
        + tag("table", f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody>", class_="events"),
        "in the order they happened",
    )


def event_row(
    event: WatchEvent,
    numbered: dict[tuple[str, str, int, int], WatchEvent],
    is_explained: bool,
) -> str:
    """One compilation's row, anchored so that the function table and the reasons link to it."""
    number = tag("a", f"#{event.index}", href="#" + event_anchor(event.index))
    if is_explained:
        number += " " + tag("a", "report", href="#" + compile_anchor(event.index), class_="tag")
    called = esc(short_path(event.call_site))
    if event.call_source:
        called += tag("div", code(event.call_source))
    cells = (
        number,
        code(event.function) + tag("div", esc(location(event.file, event.line)), class_="via"),
        called,
        esc(timing_text(event)),
        "" if event.kind == "transformed" else str(event.cache_size),
        event_reasons(event, numbered) + event_disk(event.persistent),
    )
    return tag("tr", "".join(tag("td", c) for c in cells), id=event_anchor(event.index))


def event_reasons(event: WatchEvent, numbered: dict[tuple[str, str, int, int], WatchEvent]) -> str:
    """`vs compile #1: static lr 0.1 -> 0.05` per earlier entry, each entry linked to its
    row; past the first few, folded."""
    if event.kind == "transformed":
        return tag("span", esc(TRANSFORMED_OUTSIDE_JIT), class_="tag kind")
    if not event.reasons:
        return tag("span", esc(FIRST_COMPILATION), class_="first")
    lines = []
    for entry, reasons in reasons_by_entry(event.reasons):
        earlier = numbered.get((event.function, event.file, event.line, entry))
        label = esc(entry_text(entry))
        if earlier is not None:
            label = tag("a", label, href="#" + event_anchor(earlier.index))
        lines.append(tag("div", label + ": " + esc(reasons_text(reasons))))
    rest = lines[ENTRIES_SHOWN:]
    if not rest:
        return "".join(lines)
    fewest = len(reasons_by_entry(event.reasons)[ENTRIES_SHOWN][1])
    more = tag("summary", esc(more_entries_text(len(rest), fewest)))
    return "".join(lines[:ENTRIES_SHOWN]) + tag("details", more + "".join(rest))


def event_disk(persistent: PersistentCache | None) -> str:
    """What JAX's persistent compilation cache did for the compile, when a directory is in effect:
    served, missed, or not written and why; for a miss, each part of the disk key that differs
    from the nearest earlier record on a line of its own, and for a changed computation the
    StableHLO lines that differ, each with the user's line."""
    if persistent is None or persistent.status == "off":
        return ""
    head = disk_head(persistent)
    if persistent.status == "miss" and not persistent.differs:
        head += f" — {persistent.note or DISK_NO_EARLIER_RECORD}"
    elif persistent.note:
        head += f" — {persistent.note}"
    items = "".join(tag("li", disk_differ_html(d)) for d in persistent.differs)
    differs = tag("ul", items) if items else ""
    status = persistent.status.replace("_", "-")
    return tag("div", esc(head) + differs, class_=f"disk {status}")


def disk_differ_html(differ: PersistentDiffer) -> str:
    """One differing part of the disk key; a changed computation as its StableHLO lines, the
    earlier entry's marked -, this compile's +, each with the user's line."""
    if differ.part != "computation" or "\n" not in differ.a + differ.b:
        return esc(disk_differ_text(differ.part, differ.a, differ.b))
    excerpt = [tag("span", esc(f"- {text}"), class_="del") for text in differ.a.splitlines()]
    excerpt += [tag("span", esc(f"+ {text}"), class_="ins") for text in differ.b.splitlines()]
    return esc(DISK_COMPUTATION_CHANGED) + tag("pre", "\n".join(excerpt), class_="ir stablehlo")


def eager_section(report: WatchReport) -> str:
    """Small compilations of operations run outside jit: counted per primitive, not listed."""
    if not report.eager and not report.other_compiles:
        return ""
    totals = watch_totals(report)
    rows = [(code(e.primitive), str(e.compiles), f"{e.seconds:.3f}") for e in report.eager]
    other = (
        tag("p", esc(other_compiles_text(report)), class_="note") if report.other_compiles else ""
    )
    return section(
        "eager",
        "Eager operations",
        table(("primitive", "compiles", "seconds"), rows) + other,
        eager_count_text(totals),
    )


def explained_part(
    explained: WatchExplained, events: dict[int, WatchEvent], opened: bool
) -> tuple[str, list[dict[str, object]]]:
    """One explained compilation, folded under its heading: the real call's trace report, and
    for a recompilation the diff against the earlier compilation; with their panes' data."""
    event = events.get(explained.compile)
    anchor = compile_anchor(explained.compile)
    trace = trace_report(explained.trace, Scope(f"{anchor}-t-", SECTION_LEVEL))
    summary = tag(
        "summary",
        tag("h2", esc(compile_title(explained, event))) + " " + trace_status(explained.trace),
    )
    sub = defined_at(explained.trace.function)
    if event is not None:
        sub += " · " + called_at(event.call_site)
    parts = [
        tag("div", esc(sub), class_="sub"),
        tag("p", esc(explained.note), class_="note") if explained.note else "",
        part(capitalized(REAL_CALL_TRACE), trace_nav(explained.trace, trace.scope), trace),
    ]
    embedded = [trace]
    if explained.diff is not None and explained.against is not None:
        diff = diff_report(explained.diff, Scope(f"{anchor}-d-", SECTION_LEVEL))
        title = against_title(events[explained.against])
        parts.append(part(title, diff_nav(explained.diff, diff.scope), diff))
        embedded.append(diff)
    html = tag(
        "details",
        summary + "".join(parts),
        id=anchor,
        class_="explained",
        open="" if opened else None,
    )
    return html, [e.panes for e in embedded]


def part(title: str, links: str, embedded: Embedded) -> str:
    """A titled report inside an explained compilation, with links to its sections."""
    heading = Scope(level=PART_LEVEL).heading(esc(title))
    return tag("div", heading + links + embedded.html(), class_="part")


def compile_anchor(index: int) -> str:
    """The element id of event `index`'s explained compilation; its reports' ids start so."""
    return f"e{index}"


def event_anchor(index: int) -> str:
    """The element id of event `index`'s row in the compilations table."""
    return f"event-{index}"
