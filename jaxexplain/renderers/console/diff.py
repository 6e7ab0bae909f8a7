"""Text rendering of a diff report: the verdict first, then why, what flipped, the jaxpr, the
numbers."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from jaxexplain.renderers.console.collectives import collective_diff_sections
from jaxexplain.renderers.console.common import (
    EVERYTHING,
    Display,
    Section,
    heading,
    note_text,
    title_text,
    write_sections,
)
from jaxexplain.renderers.console.failure import error_sections, suggestion_rows
from jaxexplain.renderers.words import (
    DISAGREEMENT_MEANING,
    FIXES_DETAIL,
    SAME_UP_TO_NAMES,
    approximate_text,
    as_written,
    defined_at,
    disagreement_text,
    equation_counts_text,
    figure_change_text,
    figure_text,
    library_change_text,
    location,
    no_verdict_text,
    outcomes_text,
    source_location,
    timing_noise_text,
    verification_text,
    vs_text,
)
from jaxexplain.report import DecisionChange, DiffReport, FigureChange, JaxprDiff, JaxprHunk
from jaxexplain.userfiles import library_label, library_name, library_path
from jaxexplain.views import EquationCounts, deltas_by_size, equation_counts, figure_delta

DIFF_LINES_SHOWN = 400
DELTAS_SHOWN = 12
FOCUS_LEAD = 24  # of a long changed line, how much of its start stays (indentation, binders)
FOCUS_CONTEXT = 16  # and how much of the common text before its first difference
HEADER_SOURCE_INDENT = 4  # a hunk's source line moved below its header, after an '@'


def render(
    report: DiffReport, *, color: bool = False, width: int = 100, display: Display = EVERYTHING
) -> str:
    """The diff report as text, ANSI-colored when asked, `width` columns wide."""
    return write_sections(diff_sections(report), color=color, width=width, display=display)


def diff_sections(report: DiffReport) -> list[Section]:
    """Every section of a diff report, in the order a user reads them."""
    sections: list[Section] = [_title(report), *_verdict(report)]
    for side, trace in (("A", report.a), ("B", report.b)):
        if trace.error is not None:
            sections.append(Text(f"\nside {side} failed:", style="bold red"))
            sections += error_sections(trace.error)
    if report.cache_key_changes or report.ok:
        sections += _key_sections(report)
    if report.decision_changes:
        sections += _decision_sections(report.decision_changes)
    if report.library_decision_changes:
        sections += [heading("Decided in libraries", "tests on your statics that went otherwise")]
        sections += [Text(f"  {library_change_text(c)}") for c in report.library_decision_changes]
    counts = equation_counts(report)
    if report.jaxpr_diff is not None and counts is not None:
        sections += _jaxpr_sections(report.jaxpr_diff, counts)
    if report.compile_changes:
        sections += _compile_sections(report.compile_changes)
    sections += collective_diff_sections(report)
    sections += suggestion_sections(report)
    sections += [note_text(note) for note in report.notes]
    return sections


def suggestion_sections(report: DiffReport) -> list[Section]:
    """What ends the recompilation (a number passed traced, verified), or why it must stay."""
    if not report.suggestions:
        return []
    out: list[Section] = [heading("Fixes", FIXES_DETAIL)]
    for suggestion in report.suggestions:
        out += suggestion_rows(suggestion)
    return out


def _title(report: DiffReport) -> RenderableType:
    text = title_text("diff", report.target, defined_at(report.a.function))
    if report.vs:
        text.append("\nside B is side A with ", style="dim")
        text.append(vs_text(report.vs), style="bold")
    return text


def _verdict(report: DiffReport) -> list[RenderableType]:
    """Does JAX recompile, and did JAX itself confirm it; a disagreement is shouted."""
    out: list[RenderableType] = [heading("Verdict")]
    line = Text("  ")
    if report.recompiles is None:
        line.append(no_verdict_text(report), style="bold red")
    elif report.recompiles:
        line.append("JAX RECOMPILES", style="bold magenta")
        count = len(report.cache_key_changes)
        line.append(
            f" for side B: {count} cache-key component{'s differ' if count != 1 else ' differs'}"
        )
    else:
        line.append("no recompile", style="bold green")
        line.append(": side B hits side A's compiled entry (equal cache keys)")
    out.append(line)
    check = report.verification
    if report.disagrees and check is not None:
        out.append(_disagreement(report))
    elif check is not None:
        style = "green" if check.checked else "yellow"
        out.append(Text(f"  {verification_text(check)}", style=style))
    return out


def _disagreement(report: DiffReport) -> RenderableType:
    text = Text("\n  !! JAXEXPLAIN AND JAX DISAGREE !!\n", style="bold white on red")
    text.append(f"  {disagreement_text(report)}\n  {DISAGREEMENT_MEANING}", style="bold red")
    return text


def _key_sections(report: DiffReport) -> list[RenderableType]:
    changes = report.cache_key_changes
    if not changes:
        return [heading("Cache key", "every component equal"), Text("  nothing differs")]
    out: list[RenderableType] = [heading("Why", "every cache-key component that differs")]
    table = Table(box=None, padding=(0, 2), header_style="bold")
    table.add_column("component", style="magenta")
    table.add_column("path", style="bold")
    table.add_column("side A", overflow="fold")
    table.add_column("side B", overflow="fold")
    for change in changes:
        table.add_row(change.component, change.path or "-", change.a, change.b)
    out.append(Padding(table, (0, 0, 0, 2)))
    return out


def _decision_sections(changes: tuple[DecisionChange, ...]) -> list[RenderableType]:
    out: list[RenderableType] = [heading("Decisions", "Python control flow that went otherwise")]
    for change in changes:
        where = Text(f"  {location(change.file, change.line)}  ", style="dim")
        where.append(_construct(change), style="yellow")
        what = Text("      ")
        what.append(_outcomes(change, change.a), style="red")
        what.append("  ->  ")
        what.append(_outcomes(change, change.b), style="green")
        out += [where, what]
    return out


def _construct(change: DecisionChange) -> str:
    return as_written(change.kind, change.source)


def _outcomes(change: DecisionChange, outcomes: tuple[str | int, ...]) -> str:
    return outcomes_text(change.kind, outcomes)


def _jaxpr_sections(diff: JaxprDiff, counts: EquationCounts) -> list[RenderableType]:
    top, printed = equation_counts_text(counts)
    changes = f"{diff.added} added, {diff.removed} removed, {diff.changed} changed"
    if printed is None:
        out: list[RenderableType] = [heading("Jaxpr diff", f"{top}: {changes}")]
    else:
        out = [
            heading("Jaxpr diff", top),
            Text(f"  as printed, nested jaxprs included ({printed}): {changes}"),
        ]
    out += [Text(f"  {note}", style="dim") for note in diff.sharing]
    if not diff.unified:
        out.append(Text(f"  {SAME_UP_TO_NAMES}"))
        return out
    if diff.primitive_deltas:
        out.append(Padding(_deltas(diff.primitive_deltas), (0, 0, 1, 2)))
    out.append(_unified_text(diff.unified, diff.hunks))
    if diff.approximate:
        out.append(Text(f"  note: {approximate_text(diff.approximate)}", style="italic"))
    return out


def _deltas(deltas: dict[str, int]) -> Text:
    text = Text()
    items = deltas_by_size(deltas)
    for i, (name, delta) in enumerate(items[:DELTAS_SHOWN]):
        if i:
            text.append("  ")
        text.append(name, style="bold yellow")
        text.append(f" {delta:+d}", style="green" if delta > 0 else "red")
    if len(items) > DELTAS_SHOWN:
        text.append(f"  (+{len(items) - DELTAS_SHOWN} more primitives)", style="dim")
    return text


_LINE_STYLES = {"+": "green", "-": "red", "@": "bold cyan", " ": "dim"}


def _unified_text(unified: str, hunks: Sequence[JaxprHunk]) -> RenderableType:
    """The unified diff, colored by line kind; long diffs are cut (JSON has all of it)."""
    lines = removed_first(unified.split("\n")[2:])
    if lines and not lines[-1]:
        lines.pop()
    parts: list[RenderableType] = [_UnifiedLines(lines[:DIFF_LINES_SHOWN], hunks)]
    if len(lines) > DIFF_LINES_SHOWN:
        hunks_left = sum(1 for line in lines[DIFF_LINES_SHOWN:] if line.startswith("@@"))
        parts.append(
            Text(
                f"... {len(lines) - DIFF_LINES_SHOWN} more lines ({hunks_left} more hunks) "
                f"in --format json",
                style="dim",
            )
        )
    return Group(*parts)


def removed_first(lines: list[str]) -> list[str]:
    """Each run of changed lines with its `-` lines before its `+` lines, as git prints them."""
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if line[:1] in ("-", "+"):
            run.append(line)
            continue
        out += [r for r in run if r.startswith("-")] + [r for r in run if r.startswith("+")]
        run.clear()
        out.append(line)
    return out[:-1]


class _UnifiedLines:
    """Diff lines one row each; a changed line too long for the width shows where it changed.

    Cutting a long line at the width hides a change near its end (`f32[10,4]` -> `f32[5,4]`
    in a long equation); a removed line and the added line paired with it keep their start
    and the part around their first difference, and elide the common text between."""

    def __init__(self, lines: list[str], hunks: Sequence[JaxprHunk] = ()) -> None:
        self.lines = lines
        self.hunks = hunks

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = Text(no_wrap=True, overflow="ellipsis")
        shown = fitted_headers(focused_lines(self.lines, options.max_width), self.hunks, options)
        for k, line in enumerate(shown):
            text.append(("\n" if k else "") + line, style=_LINE_STYLES.get(line[:1], ""))
        yield text


def fitted_headers(
    lines: list[str], hunks: Sequence[JaxprHunk], options: ConsoleOptions
) -> list[str]:
    """The lines with each hunk header fitted to the width (`header_lines`)."""
    headers = iter(hunks)
    out: list[str] = []
    for line in lines:
        hunk = next(headers, None) if line.startswith("@@") else None
        out += header_lines(hunk, options.max_width) if hunk is not None else [line]
    return out


def header_lines(hunk: JaxprHunk, width: int) -> list[str]:
    """A hunk header within `width` where it can be: the user's `file:line` and source are
    what a reader looks for, so the library frame after them gives way first (to its package's
    name, then entirely), and a source still too long goes whole onto the line below."""
    head = f"@@ -{hunk.a_start},{hunk.a_lines} +{hunk.b_start},{hunk.b_lines} @@"
    if not hunk.source:
        return [head]
    where = f"{head} {source_location(hunk.source)}"
    source = f"  {hunk.source_text.strip()}" if hunk.source_text else ""
    for library in _library_forms(hunk.library):
        if len(where + source + library) <= width:
            return [where + source + library]
    return [where, "@" + " " * HEADER_SOURCE_INDENT + source.strip()] if source else [where]


def _library_forms(library: str | None) -> list[str]:
    """The header's library part, longest first: `  (numpyro/infer/util.py:106)`, `  (numpyro)`,
    then nothing."""
    if library is None:
        return [""]
    label = library_label(library)
    path = library_path(library.rpartition(":")[0])
    name = f"  ({library_name(path)})" if path is not None else ""
    return [f"  ({label})", name, ""] if name else [f"  ({label})", ""]


def focused_lines(lines: list[str], width: int) -> list[str]:
    """The lines, each removed/added pair that is too wide focused on its first difference."""
    shown = list(lines)
    for removed, added in _changed_pairs(lines):
        start = _first_difference(lines[removed], lines[added])
        shown[removed] = focus(lines[removed], start, width)
        shown[added] = focus(lines[added], start, width)
    return shown


def _changed_pairs(lines: list[str]) -> list[tuple[int, int]]:
    """(removed, added) line indices: the k-th `-` line of a run with the k-th `+` line after it."""
    pairs: list[tuple[int, int]] = []
    k = 0
    while k < len(lines):
        minus_start = k
        while k < len(lines) and lines[k].startswith("-"):
            k += 1
        plus_start = k
        while k < len(lines) and lines[k].startswith("+"):
            k += 1
        pairs += zip(range(minus_start, plus_start), range(plus_start, k), strict=False)
        if k == minus_start:
            k += 1
    return pairs


def _first_difference(a: str, b: str) -> int:
    """Index of the first character where the two lines (after their -/+ mark) differ."""
    k = 1
    while k < len(a) and k < len(b) and a[k] == b[k]:
        k += 1
    return k


def focus(line: str, start: int, width: int) -> str:
    """`line` within `width`: whole if it fits, else its start, `…`, and the rest from at least
    a little before `start` on, as much of it as the width holds (cut at the end as usual)."""
    if len(line) <= width or start < width - FOCUS_CONTEXT:
        return line
    lead = line[: min(FOCUS_LEAD, width // 3)]
    room = width - len(lead) - 1
    rest = max(len(lead), min(start - FOCUS_CONTEXT, len(line) - room))
    return f"{lead}…{line[rest:]}"


def _compile_sections(figures: tuple[FigureChange, ...]) -> list[RenderableType]:
    out: list[RenderableType] = [heading("Compilation", "side A and side B")]
    table = Table(box=None, padding=(0, 2), header_style="bold")
    table.add_column("figure", style="bold")
    table.add_column("side A", justify="right")
    table.add_column("side B", justify="right")
    table.add_column("change", justify="right")
    for figure in figures:
        table.add_row(
            figure.name,
            figure_text(figure.a, figure.unit),
            figure_text(figure.b, figure.unit),
            _change_text(figure),
        )
    out.append(Padding(table, (0, 0, 0, 2)))
    noise = timing_noise_text([f for f in figures if f.unit == "s"])
    if noise:
        out.append(Text(f"  {noise}", style="dim italic"))
    return out


def _change_text(figure: FigureChange) -> Text:
    """The change in its unit: more in yellow, less in green, dim where equal and for timings
    (they vary from run to run)."""
    moved = figure_delta(figure)
    text = figure_change_text(figure)
    if moved is None:
        return Text("")
    if moved.delta == 0 or figure.unit == "s":
        return Text(text, style="dim")
    return Text(text, style="yellow" if moved.delta > 0 else "green")
