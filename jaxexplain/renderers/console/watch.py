"""Text rendering of a watch report: each compilation with its reasons, totals, warnings."""

from __future__ import annotations

from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from jaxexplain.renderers.console.common import heading, write_sections
from jaxexplain.renderers.words import (
    FIRST_COMPILATION,
    NO_COMPILE,
    location,
    reasons_text,
    timing_text,
)
from jaxexplain.report import WatchEvent, WatchReport
from jaxexplain.userfiles import short_path
from jaxexplain.views import reasons_by_entry, watch_totals

EVENTS_SHOWN = 60
ENTRIES_SHOWN = 3


def render(report: WatchReport, *, color: bool = False, width: int = 100) -> str:
    """The watch report as text, ANSI-colored when asked, `width` columns wide."""
    return write_sections(watch_sections(report), color=color, width=width)


def watch_sections(report: WatchReport) -> list[RenderableType]:
    """Title, compilations, per-function table, eager operations, warnings."""
    sections: list[RenderableType] = [_title(report)]
    if report.events:
        sections += _event_sections(report.events)
    if report.functions:
        sections += _function_sections(report)
    if report.eager or report.other_compiles:
        sections.append(_eager_text(report))
    if report.warnings:
        sections += _warning_sections(report)
    if report.internal_errors:
        sections.append(
            Text(
                f"jaxexplain could not analyse {len(report.internal_errors)} event(s): "
                + report.internal_errors[0],
                style="dim",
            )
        )
    return sections


def _title(report: WatchReport) -> RenderableType:
    text = Text("jaxexplain watch ", style="bold")
    text.append(report.program or "(Python API)", style="bold yellow")
    totals = watch_totals(report)
    text.append(
        f"\n{totals.compilations} compilations of {totals.functions} functions, "
        f"{totals.seconds:.3f} s compiling, {report.wall_seconds:.2f} s in all",
        style="dim",
    )
    if totals.recompilations:
        text.append(f"; {totals.recompilations} recompilations", style="bold magenta")
    if report.error:
        first_line = report.error.strip().splitlines()[0]
        text.append(f"\nthe program raised {first_line}", style="bold red")
    elif report.exit_code:
        text.append(f"\nthe program exited with status {report.exit_code}", style="bold red")
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
    called = Text(f"     called at {short_path(event.call_site)}")
    if event.call_source:
        called.append(f"   {event.call_source}", style="cyan")
    timing = Text(f"     {timing_text(event)}", style="dim")
    lines: list[RenderableType] = [title, called, timing]
    if event.kind == "transformed":
        timing.append("   under vmap/grad outside jit", style="magenta")
        return lines
    timing.append(f"   cache size {event.cache_size}", style="dim")
    if not event.compiled:
        lines.append(Text(f"     {NO_COMPILE}", style="cyan"))
    if not event.reasons:
        lines.append(Text(f"     {FIRST_COMPILATION}", style="green"))
        return lines
    groups = reasons_by_entry(event.reasons)
    for entry, reasons in groups[:ENTRIES_SHOWN]:
        line = Text(f"     vs compile #{entry}: ", style="bold magenta")
        line.append(reasons_text(reasons))
        lines.append(line)
    if len(groups) > ENTRIES_SHOWN:
        fewest = len(groups[ENTRIES_SHOWN][1])
        lines.append(
            Text(
                f"     and {len(groups) - ENTRIES_SHOWN} more earlier entries, each with "
                f"{fewest} or more differences (--format json lists them)",
                style="dim",
            )
        )
    return lines


def _function_sections(report: WatchReport) -> list[RenderableType]:
    table = Table(box=None, padding=(0, 2), header_style="bold", show_edge=False)
    table.add_column("function", style="bold")
    table.add_column("defined at", style="dim")
    table.add_column("compiles", justify="right")
    table.add_column("distinct reasons", justify="right")
    table.add_column("seconds", justify="right")
    for fn in report.functions:
        style = "bold red" if fn.compiles > 2 else ""
        table.add_row(
            fn.function,
            location(fn.file, fn.line),
            Text(str(fn.compiles), style=style),
            str(fn.distinct_reasons),
            f"{fn.seconds:.3f}",
        )
    return [heading("Per function"), Padding(table, (0, 0, 0, 2), expand=False)]


def _eager_text(report: WatchReport) -> RenderableType:
    totals = watch_totals(report)
    text = Text(f"  {totals.eager_compiles} small compilations of eager operations ", style="dim")
    shown = ", ".join(f"{e.primitive} {e.compiles}" for e in report.eager[:8])
    if len(report.eager) > 8:
        shown += ", ..."
    text.append(f"({shown}), {totals.eager_seconds:.3f} s", style="dim")
    if report.other_compiles:
        text.append(
            f"\n  {report.other_compiles} compilations outside jit calls (AOT .lower().compile() "
            f"and the like), {report.other_seconds:.3f} s",
            style="dim",
        )
    return text


def _warning_sections(report: WatchReport) -> list[RenderableType]:
    out: list[RenderableType] = [heading("Warnings", f"{len(report.warnings)}")]
    for warning in report.warnings:
        text = Text("  warning: ", style="bold yellow")
        text.append(warning.message)
        out.append(text)
    return out
