"""Text rendering of a watch report: each compilation with its reasons, the full trace and diff
reports of the compilations explained, totals, warnings."""

from __future__ import annotations

from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from jaxexplain.renderers.console.common import (
    EVERYTHING,
    Display,
    Section,
    heading,
    note_text,
    write_sections,
)
from jaxexplain.renderers.console.diff import diff_sections
from jaxexplain.renderers.console.layout import Breakable
from jaxexplain.renderers.console.recommendations import recommendation_sections
from jaxexplain.renderers.console.trace import trace_sections
from jaxexplain.renderers.words import (
    FIRST_COMPILATION,
    LAYERS_LEGEND,
    NO_COMPILE,
    TRANSFORMED_OUTSIDE_JIT,
    against_title,
    called_at,
    compile_title,
    disk_line,
    disk_summary,
    eager_text,
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
from jaxexplain.report import WatchEvent, WatchExplained, WatchReport
from jaxexplain.views import reasons_by_entry, watch_totals

EVENTS_SHOWN = 60
ENTRIES_SHOWN = 3
EAGER_SHOWN = 8


def render(
    report: WatchReport, *, color: bool = False, width: int = 100, display: Display = EVERYTHING
) -> str:
    """The watch report as text, ANSI-colored when asked, `width` columns wide."""
    return write_sections(
        watch_sections(report, display), color=color, width=width, display=display
    )


def watch_sections(report: WatchReport, display: Display = EVERYTHING) -> list[Section]:
    """Title, compilations, the explained ones in full, per-function table, eager operations,
    warnings."""
    sections: list[Section] = [_title(report)]
    if report.events:
        sections += _event_sections(report.events)
        sections += _disk_sections(report)
    events = {event.index: event for event in report.events}
    for explained in report.explained:
        sections += explained_sections(explained, events, display)
    if report.functions:
        sections += _function_sections(report)
    if report.eager or report.other_compiles:
        sections.append(_eager_text(report))
    if report.warnings:
        sections += _warning_sections(report)
    sections += recommendation_sections(report)
    if report.internal_errors:
        sections.append(Text(internal_errors_text(report.internal_errors), style="dim"))
    return sections


def explained_sections(
    explained: WatchExplained, events: dict[int, WatchEvent], display: Display = EVERYTHING
) -> list[Section]:
    """One explained compilation: its heading, the real call's trace report, and for a
    recompilation the diff report against the earlier compilation it is compared with."""
    sections: list[Section] = [heading(compile_title(explained, events.get(explained.compile)))]
    if explained.note:
        sections.append(note_text(explained.note))
    sections += trace_sections(explained.trace, display)
    if explained.diff is not None and explained.against is not None:
        sections.append(heading(against_title(events[explained.against])))
        sections += diff_sections(explained.diff)
    return sections


def _title(report: WatchReport) -> RenderableType:
    text = Text("jaxexplain watch ", style="bold")
    text.append(report.program or "(Python API)", style="bold yellow")
    totals = watch_totals(report)
    text.append("\n" + watch_totals_text(totals, report.wall_seconds), style="dim")
    if totals.recompilations:
        text.append(f"; {recompilations_text(totals.recompilations)}", style="bold magenta")
    ended = program_end_text(report)
    if ended:
        text.append(f"\n{ended}", style="bold red")
    return text


def _event_sections(events: tuple[WatchEvent, ...]) -> list[RenderableType]:
    out: list[RenderableType] = [heading("Compilations", "in the order they happened")]
    for event in events[:EVENTS_SHOWN]:
        out += _event_lines(event)
    if len(events) > EVENTS_SHOWN:
        out.append(Text(f"  ... {len(events) - EVENTS_SHOWN} more in --format json", style="dim"))
    return out


def _event_lines(event: WatchEvent) -> list[RenderableType]:
    """One compilation: what, where it was called, how long, and what differs from each entry."""
    title = Text(f"  #{event.index} ", style="dim")
    title.append(event.function, style="bold yellow")
    title.append(f"  defined {location(event.file, event.line)}", style="dim")
    called = Text(f"     {called_at(event.call_site)}")
    if event.call_source:
        called.append(f"   {event.call_source}", style="cyan")
    timing = Text(f"     {timing_text(event)}", style="dim")
    lines: list[RenderableType] = [title, called, timing, *_disk_lines(event)]
    if event.kind == "transformed":
        timing.append(f"   {TRANSFORMED_OUTSIDE_JIT}", style="magenta")
        return lines
    timing.append(f"   cache size {event.cache_size}", style="dim")
    if not event.compiled:
        lines.append(Text(f"     {NO_COMPILE}", style="cyan"))
    if not event.reasons:
        lines.append(Text(f"     {FIRST_COMPILATION}", style="green"))
        return lines
    groups = reasons_by_entry(event.reasons)
    for entry, reasons in groups[:ENTRIES_SHOWN]:
        line = Text(f"     {entry_text(entry)}: ", style="bold magenta")
        line.append(reasons_text(reasons))
        lines.append(line)
    if len(groups) > ENTRIES_SHOWN:
        fewest = len(groups[ENTRIES_SHOWN][1])
        more = more_entries_text(len(groups) - ENTRIES_SHOWN, fewest)
        lines.append(Text(f"     {more} (--format json lists them)", style="dim"))
    return lines


def _function_sections(report: WatchReport) -> list[RenderableType]:
    table = Table(box=None, padding=(0, 2), header_style="bold", show_edge=False)
    table.add_column("function", style="bold")
    table.add_column("defined at", style="dim")
    table.add_column("compiles", justify="right")
    table.add_column("distinct reasons", justify="right")
    table.add_column("seconds", justify="right")
    layered = any(fn.layers for fn in report.functions)
    if layered:
        table.add_column("cache layers (calls, seconds)")
    for fn in report.functions:
        style = "bold red" if fn.compiles > 2 else ""
        row: list[RenderableType] = [
            Breakable(fn.function),
            Breakable(location(fn.file, fn.line), style="dim"),
            Text(str(fn.compiles), style=style),
            str(fn.distinct_reasons),
            f"{fn.seconds:.3f}",
        ]
        table.add_row(*row, *([layers_text(fn.layers)] if layered else []))
    out: list[RenderableType] = [
        heading("Per function"),
        Padding(table, (0, 0, 0, 2), expand=False),
    ]
    if layered:
        out.append(Text(f"  {LAYERS_LEGEND}", style="dim"))
    return out


def _eager_text(report: WatchReport) -> RenderableType:
    text = Text(f"  {eager_text(report, watch_totals(report), EAGER_SHOWN)}", style="dim")
    if report.other_compiles:
        text.append(f"\n  {other_compiles_text(report)}", style="dim")
    return text


def _warning_sections(report: WatchReport) -> list[RenderableType]:
    out: list[RenderableType] = [heading("Warnings", f"{len(report.warnings)}")]
    for warning in report.warnings:
        text = Text("  warning: ", style="bold yellow")
        text.append(warning.message)
        out.append(text)
    return out


def _disk_lines(event: WatchEvent) -> list[RenderableType]:
    """What JAX's persistent compilation cache did for the compile, when a directory is in effect."""
    persistent = event.persistent
    if persistent is None or persistent.status == "off":
        return []
    style = {"hit": "green", "miss": "magenta"}.get(persistent.status, "yellow")
    lines: list[RenderableType] = [Text(f"     {disk_line(persistent)}", style=style)]
    computation = next((d for d in persistent.differs if d.part == "computation"), None)
    if computation is not None and "\n" in computation.a + computation.b:
        excerpt = [f"- {line}" for line in computation.a.splitlines()]
        excerpt += [f"+ {line}" for line in computation.b.splitlines()]
        lines.append(Text("\n".join(f"       {line}" for line in excerpt), style="dim"))
    return lines


def _disk_sections(report: WatchReport) -> list[RenderableType]:
    """The run's disk-cache totals, when any compile used a cache directory."""
    summary = disk_summary(report.events)
    return [Text(f"  {summary}", style="bold")] if summary else []
