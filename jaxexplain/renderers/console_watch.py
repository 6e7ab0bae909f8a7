"""Text rendering of a watch report: each compilation with its reasons, totals, warnings."""

from __future__ import annotations

from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from jaxexplain.renderers.console import heading
from jaxexplain.report import WatchEvent, WatchReason, WatchReport
from jaxexplain.userfiles import short_path

EVENTS_SHOWN = 60
ENTRIES_SHOWN = 3


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
    jit = [e for e in report.events if e.kind == "jit"]
    seconds = sum(e.seconds for e in report.events)
    text.append(
        f"\n{len(report.events)} compilations of {len(report.functions)} functions, "
        f"{seconds:.3f} s compiling, {report.wall_seconds:.2f} s in all",
        style="dim",
    )
    recompiles = sum(1 for e in jit if e.reasons)
    if recompiles:
        text.append(f"; {recompiles} recompilations", style="bold magenta")
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
    title.append(f"  defined {short_path(event.file)}:{event.line}", style="dim")
    called = Text(f"     called at {short_path(event.call_site)}")
    if event.call_source:
        called.append(f"   {event.call_source}", style="cyan")
    timing = Text(
        f"     {event.seconds:.3f} s (trace {event.trace_seconds:.3f}, lower "
        f"{event.lower_seconds:.3f}, compile {event.compile_seconds:.3f})",
        style="dim",
    )
    lines: list[RenderableType] = [title, called, timing]
    if event.kind == "transformed":
        timing.append("   under vmap/grad outside jit", style="magenta")
        return lines
    timing.append(f"   cache size {event.cache_size}", style="dim")
    if not event.reasons:
        lines.append(Text("     first compilation", style="green"))
        return lines
    groups = _by_entry(event.reasons)
    for entry, reasons in groups[:ENTRIES_SHOWN]:
        line = Text(f"     vs compile #{entry}: ", style="bold magenta")
        line.append("; ".join(_reason_text(r) for r in reasons))
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


def _by_entry(reasons: tuple[WatchReason, ...]) -> list[tuple[int, list[WatchReason]]]:
    groups: dict[int, list[WatchReason]] = {}
    for reason in reasons:
        groups.setdefault(reason.entry, []).append(reason)
    return list(groups.items())


def _reason_text(reason: WatchReason) -> str:
    if reason.component == "function" and reason.path == "object":
        return "a new function object (its jit cache starts empty)"
    if reason.component == "evicted":
        return "no key component differs: " + reason.after
    where = f" {reason.path}" if reason.path else ""
    return f"{reason.component}{where} {reason.before} -> {reason.after}"


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
            f"{short_path(fn.file)}:{fn.line}",
            Text(str(fn.compiles), style=style),
            str(fn.distinct_reasons),
            f"{fn.seconds:.3f}",
        )
    return [heading("Per function"), Padding(table, (0, 0, 0, 2), expand=False)]


def _eager_text(report: WatchReport) -> RenderableType:
    total = sum(e.compiles for e in report.eager)
    seconds = sum(e.seconds for e in report.eager)
    text = Text(f"  {total} small compilations of eager operations ", style="dim")
    shown = ", ".join(f"{e.primitive} {e.compiles}" for e in report.eager[:8])
    if len(report.eager) > 8:
        shown += ", ..."
    text.append(f"({shown}), {seconds:.3f} s", style="dim")
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
