"""Text rendering of a trace report: rich sections and tables, the jaxpr colored by the
Pygments jaxpr lexer."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.padding import Padding
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from jaxexplain.renderers.console.collectives import collective_sections
from jaxexplain.renderers.console.common import (
    EVERYTHING,
    THEME,
    Display,
    Fitted,
    JaxprBlock,
    Section,
    heading,
    note_text,
    title_text,
    write_sections,
)
from jaxexplain.renderers.console.failure import error_sections
from jaxexplain.renderers.console.layout import Breakable
from jaxexplain.renderers.words import (
    DECIDED_MOST,
    FULL_JAXPR,
    NEVER_RAN,
    STATIC_TRAPS,
    STATIC_TRAPS_DETAIL,
    SUMMARY,
    as_written,
    compared_by_text,
    compile_summary,
    deciding_statics_text,
    decisions_detail,
    defined_at,
    dependencies_text,
    disk_key_line,
    equations_summary,
    equations_text,
    failed_summary,
    figure_text,
    folded_lines_text,
    format_aval_tree,
    hash_time_text,
    library_decision_text,
    location,
    outcome_badge,
    outcomes_text,
    placement_text,
    repeated_text,
    shape_text,
    source_location,
    static_hash_text,
    static_trap_texts,
    top_sources_text,
    unrolled_text,
)
from jaxexplain.report import (
    CacheKey,
    CompileInfo,
    Decision,
    JaxprInfo,
    LibraryDecision,
    PersistentKey,
    SourceLine,
    SourceListing,
    TraceReport,
)
from jaxexplain.userfiles import library_label, short_identity, short_path
from jaxexplain.views import (
    compile_figures,
    context_split,
    deciding_statics,
    decisions_by_line,
    grouped_leaves,
    listing_equations,
    parameter_tree,
    primitives_by_count,
    repeated_block,
    top_sources,
    unrolled_loops,
)

PRIMITIVES_SHOWN = 12
TOP_SOURCES = 3  # source lines named in the summary
JAXPR_SHOWN = 80  # a jaxpr of more lines than this is folded unless --jaxpr full
JAXPR_HEAD = 24  # its lines shown before the repeated block (or at the start)
JAXPR_BLOCK = 40  # the repeated block's lines shown
JAXPR_TAIL = 12  # its last lines shown
PLAIN_RUN_SHOWN = 4
OUTCOME_WIDTH = 32
NOTE_INDENT = 4  # a note (marked ↳) or code continuation below a line: this far in from its code
MIN_CODE_ROOM = 20  # the code's columns at the narrowest console
NOTE_GAP = 2  # between the longest code line with a note beside it and the notes


def render(
    report: TraceReport, *, color: bool = False, width: int = 100, display: Display = EVERYTHING
) -> str:
    """The trace report as text, ANSI-colored when asked, `width` columns wide."""
    return write_sections(
        trace_sections(report, display), color=color, width=width, display=display
    )


def trace_sections(report: TraceReport, display: Display = EVERYTHING) -> list[Section]:
    """Every section of a trace report, the summary first, in the order a user reads them."""
    sections: list[Section] = [_title(report), *summary_sections(report)]
    if report.error is not None:
        sections += error_sections(report.error)
    sections += _argument_sections(report)
    if report.cache_key is not None:
        sections += cache_key_sections(report.cache_key)
        sections += static_trap_sections(report.cache_key, report.notes)
    if report.decisions:
        sections += decision_sections(report.decisions)
    elif report.decisions_unavailable:
        sections += [heading("Baked-in decisions", "not recorded")]
        sections.append(Padding(Text(report.decisions_unavailable, style="yellow"), (0, 0, 0, 2)))
    if report.library_decisions:
        sections += library_decision_sections(report.library_decisions)
    if report.sources:
        total = report.jaxpr.equations_total if report.jaxpr is not None else None
        sections += source_sections(report.sources, report.decisions, total)
    if report.jaxpr is not None:
        sections += jaxpr_sections(report.jaxpr, display.jaxpr_full)
    if report.compile is not None:
        sections += compile_sections(report.compile)
    if report.persistent is not None:
        sections += persistent_key_sections(report.persistent)
    return sections


def persistent_key_sections(persistent: PersistentKey) -> list[RenderableType]:
    """The call's key in JAX's persistent compilation cache, its parts, and whether the cache
    directory in effect holds it."""
    table = Table(box=None, padding=(0, 2), show_edge=False, show_header=False)
    table.add_column("part", style="bold")
    table.add_column("digest", style="dim")
    for part, digest in persistent.parts.items():
        table.add_row(part, digest[:16])
    line = Text(f"  {disk_key_line(persistent)}")
    return [heading("Persistent cache key"), line, Padding(table, (0, 0, 0, 4), expand=False)]


def _title(report: TraceReport) -> RenderableType:
    text = title_text("trace", report.target, defined_at(report.function))
    status = (
        Text("  traced", style="bold green") if report.ok else Text("  FAILED", style="bold red")
    )
    if report.trace_seconds is not None:
        status.append(f" in {report.trace_seconds:.3f} s", style="dim")
    text.append(status)
    return text


def _argument_sections(report: TraceReport) -> list[RenderableType]:
    table = Table(box=None, padding=(0, 2), show_edge=False, header_style="bold")
    table.add_column("parameter", style="bold")
    table.add_column("role")
    table.add_column("from", style="dim")
    table.add_column("value / abstract value", overflow="fold")
    for arg in report.arguments:
        role_style = "magenta" if arg.role == "static" else "green"
        shown = arg.value if arg.role == "static" else format_aval_tree(arg.aval, arg.pytree)
        table.add_row(arg.name, Text(arg.role, style=role_style), arg.source, shown or "")
    out: list[RenderableType] = [heading("Arguments"), Padding(table, (0, 0, 0, 2))]
    out += [note_text(note) for note in report.notes]
    return out


def static_trap_sections(key: CacheKey, notes: Sequence[str]) -> list[RenderableType]:
    """The traps the statics set (a stale entry, an unfrozen dataclass, a slow hash)."""
    traps = static_trap_texts(key, notes)
    if not traps:
        return []
    out: list[RenderableType] = [heading(STATIC_TRAPS, STATIC_TRAPS_DETAIL)]
    out += [Padding(Text(f"! {trap}", style="yellow"), (0, 0, 0, 2)) for trap in traps]
    return out


def cache_key_sections(key: CacheKey) -> list[RenderableType]:
    """The cache key: digest, function, statics, traced leaves, tree structure, context."""
    out: list[RenderableType] = [heading("Cache key", f"digest {key.digest}")]
    body = Table.grid(padding=(0, 2))
    body.add_column(style="bold")
    body.add_column(overflow="fold")
    body.add_row("function", short_identity(key.function))
    body.add_row("pytree", Breakable("\n".join(parameter_tree([leaf.path for leaf in key.traced]))))
    shown, rest = context_split(key)
    context = ", ".join(f"{name.removeprefix('jax_')}={key.context[name]}" for name in shown)
    hidden = len(rest)
    body.add_row(
        "context",
        Breakable(context + (f"  (+{hidden} more in --format json)" if hidden > 0 else "")),
    )
    out.append(Padding(body, (0, 0, 0, 2)))
    if key.static:
        statics = Table(box=None, padding=(0, 2), header_style="bold", title_justify="left")
        for column in ("static", "value", "type", "hash", "compared", "hash time"):
            statics.add_column(column, overflow="fold")
        for s in key.static:
            statics.add_row(
                s.name, s.value, s.type, static_hash_text(s), compared_by_text(s), hash_time_text(s)
            )
        out.append(Padding(Fitted(statics), (1, 0, 0, 2)))
    if key.traced:
        groups = grouped_leaves(key.traced)
        counted = any(count > 1 for count in groups.values())
        traced = Table(box=None, padding=(0, 2), header_style="bold")
        for column in ("traced leaf", "shape", "dtype", "weak", "sharding", *["count"] * counted):
            traced.add_column(column, overflow="fold")
        for (path, shape, dtype, weak, sharding, on_device), count in groups.items():
            traced.add_row(
                Breakable(path),
                shape_text(shape),
                dtype,
                "weak" if weak else "",
                placement_text(sharding, on_device),
                *[f"×{count}" if count > 1 else ""] * counted,
            )
        out.append(Padding(Fitted(traced), (1, 0, 0, 2)))
    return out


def library_decision_sections(decisions: Sequence[LibraryDecision]) -> list[RenderableType]:
    """Tests inside installed libraries on the target's statics, one line each."""
    out: list[RenderableType] = [
        heading("Decided in libraries", "tests on your statics inside installed libraries")
    ]
    out += [Text(f"  {library_decision_text(d)}") for d in decisions]
    return out


def decision_sections(decisions: Sequence[Decision]) -> list[RenderableType]:
    """Every Python decision frozen into the trace, led by what most deserves attention."""
    out: list[RenderableType] = [heading("Baked-in decisions", decisions_detail(len(decisions)))]
    summary = decision_summary(decisions)
    if summary is not None:
        out.append(Padding(summary, (0, 0, 0, 2)))
    table = Table(box=None, padding=(0, 2), header_style="bold")
    table.add_column("where", no_wrap=True)
    table.add_column("decision", overflow="fold", max_width=40)
    # Outcomes wrap: a branch taken once per unrolled layer lists one outcome per layer, and
    # kept on one line it would push the decision and its dependencies off the table.
    table.add_column("outcome", overflow="fold", max_width=OUTCOME_WIDTH)
    table.add_column("depends on", overflow="fold")
    for d in decisions:
        table.add_row(
            Text(location(d.file, d.line), style="dim"),
            Text(as_written(d.kind, d.source), style="yellow"),
            outcomes_text(d.kind, d.outcomes),
            dependencies_text(d),
        )
    out.append(Padding(table, (0, 0, 0, 2)))
    return out


def decision_summary(decisions: Sequence[Decision]) -> Text | None:
    """The line that catches the eye: big unrolled loops, and the statics that decided most."""
    text = Text()
    for loop in unrolled_loops(decisions):
        d = loop.decision
        text.append("! ", style="bold red")
        text.append(as_written(d.kind, d.source), style="bold")
        text.append(f" at {location(d.file, d.line)} {unrolled_text(loop)}\n")
    deciders = deciding_statics(decisions)
    if deciders:
        text.append(f"{DECIDED_MOST}: ", style="bold")
        text.append(deciding_statics_text(deciders))
    return text if text.plain else None


def source_sections(
    listings: Sequence[SourceListing], decisions: Sequence[Decision], total: int | None
) -> list[RenderableType]:
    """Each listing with, per line, equations emitted, decisions taken, and dead lines greyed;
    its heading says how many of the jaxpr's `total` equations its lines produced (None: no
    jaxpr, the trace failed)."""
    by_line = decisions_by_line(decisions)
    out: list[RenderableType] = []
    for listing in listings:
        detail = f"{listing.function}  {short_path(listing.file)}"
        if total is not None:
            detail += f"  {listing_equations(listing):,} of {total:,} equations"
        out.append(heading("Source", detail))
        out.append(_SourceRows(_listing_rows(listing, by_line)))
    return out


@dataclass(frozen=True)
class _Row:
    """One row of a listing: line number, equation count, code and decision note."""

    number: str
    equations: str
    code: Text
    note: str


def _listing_rows(
    listing: SourceListing, by_line: dict[tuple[str, int], list[Decision]]
) -> list[_Row]:
    rows: list[_Row] = []
    for row in _collapsed(
        listing.lines, lambda line: bool(by_line.get((listing.file, line.number)))
    ):
        if isinstance(row, int):
            rows.append(_Row("", "", Text(f"   ... {row} lines ...", style="dim"), ""))
            continue
        here = by_line.get((listing.file, row.number), [])
        note = "; ".join(outcome_badge(d) for d in here) or ("" if row.ran else NEVER_RAN)
        code = Text(row.text, style="" if row.ran else "dim strike")
        rows.append(_Row(str(row.number), equations_text(row.equations, row.libraries), code, note))
    return rows


class _SourceRows:
    """The listing laid out at the console's width, the code never cut nor given up for a note.

    A table narrows or drops columns to fit the width, and a long note (`comprehension ×5
    (unrolled); if → true ×3, false, true`) took the code's room. Here the line number, count
    and code come first, a code line wider than its room folded at a space onto the lines below
    it; a note sits to the right of the code where it fits, else on the lines below, wrapped."""

    def __init__(self, rows: list[_Row]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        number_width = max((len(r.number) for r in self.rows), default=0)
        count_width = max((len(r.equations) for r in self.rows), default=0)
        gutter = number_width + 1 + count_width + 1
        room = max(width - gutter, MIN_CODE_ROOM)
        fits = [
            len(r.code)
            for r in self.rows
            if r.note and gutter + len(r.code) + NOTE_GAP + len(r.note) <= width
        ]
        note_column = gutter + max(fits, default=0) + NOTE_GAP
        for row in self.rows:
            first, *rest = _folded(row.code, room)
            line = Text(no_wrap=True)
            line.append(row.number.rjust(number_width), style="dim")
            line.append(" " + row.equations.rjust(count_width) + " ", style="cyan")
            line.append_text(first)
            beside = (
                len(first) + gutter + NOTE_GAP <= note_column
                and note_column + len(row.note) <= width
            )
            if row.note and beside:
                line.pad_right(note_column - gutter - len(first))
                line.append(row.note, style="magenta")
            yield line
            for part in rest:
                yield Text(" " * gutter, no_wrap=True) + part
            if row.note and not beside:
                indent = gutter + NOTE_INDENT
                parts = textwrap.wrap(row.note, max(width - indent - 2, MIN_CODE_ROOM))
                for k, wrapped in enumerate(parts):
                    mark = "  " if k else "↳ "
                    yield Text(" " * indent + mark + wrapped, style="magenta", no_wrap=True)


def _folded(code: Text, room: int) -> list[Text]:
    """`code` in pieces of at most `room` columns, each cut after a space where one is near
    (a token is cut only where it is longer than the room); the pieces after the first are
    indented four more than the line, as a Python continuation is."""
    plain = code.plain
    hang = min(len(plain) - len(plain.lstrip(" ")) + NOTE_INDENT, room // 2)
    pieces: list[Text] = []
    start, limit = 0, room
    while len(plain) - start > limit:
        cut = plain.rfind(" ", start + 1, start + limit) + 1 or start + limit
        if cut <= start + limit // 2:
            cut = start + limit
        pieces.append(code[start:cut])
        start, limit = cut, room - hang
    pieces.append(code[start:])
    return [pieces[0], *(Text(" " * hang) + piece for piece in pieces[1:])]


def _collapsed(
    lines: Sequence[SourceLine], has_decision: Callable[[SourceLine], bool]
) -> list[SourceLine | int]:
    """Runs of plain lines (ran, no equations, no decision) longer than a few become a count."""
    out: list[SourceLine | int] = []
    run: list[SourceLine] = []

    def flush() -> None:
        out.extend(run if len(run) <= PLAIN_RUN_SHOWN else [run[0], len(run) - 2, run[-1]])
        run.clear()

    for line in lines:
        if line.ran and not line.equations and not has_decision(line):
            run.append(line)
            continue
        flush()
        out.append(line)
    flush()
    return out


def summary_sections(report: TraceReport) -> list[RenderableType]:
    """The answer first: the verdict, where the equations come from, the loops that unrolled,
    the compile time and memory; each a line, the sections below hold the detail."""
    lines = summary_lines(report)
    if not lines:
        return []
    return [heading(SUMMARY, always=True), *(Padding(line, (0, 0, 0, 2)) for line in lines)]


def summary_lines(report: TraceReport) -> list[Text]:
    """The summary's lines, each a fact worth reading before the sections."""
    lines: list[Text] = []
    if report.error is not None:
        lines.append(Text(failed_summary(report.error), style="bold red"))
    if report.jaxpr is not None:
        lines.append(Text(equations_summary(report.jaxpr)))
        sources = top_sources(report.jaxpr.line_sources, TOP_SOURCES)
        if sources:
            lines.append(Text(top_sources_text(sources), style="dim"))
    for loop in unrolled_loops(report.decisions):
        d = loop.decision
        line = Text("! ", style="bold red")
        line.append(as_written(d.kind, d.source), style="bold")
        line.append(f" at {location(d.file, d.line)} {unrolled_text(loop)}")
        lines.append(line)
    if report.compile is not None:
        lines.append(Text(compile_summary(compile_figures(report.compile))))
    return lines


def jaxpr_sections(jaxpr: JaxprInfo, full: bool = False) -> list[Section]:
    """The colored jaxpr with each line's user source, and counts per primitive; past a few
    dozen lines its telling parts only (the top sources, the repeated block once with its
    count, the start and the end), unless `full`."""
    detail = f"{jaxpr.equations} equation{'s' * (jaxpr.equations != 1)}"
    if jaxpr.equations_total != jaxpr.equations:
        detail += f" ({jaxpr.equations_total} with nested jaxprs)"
    out: list[Section] = [heading("Jaxpr", detail)]
    out.append(Padding(_primitive_table(jaxpr.primitives), (0, 0, 1, 2)))
    block = jaxpr_syntax(jaxpr.text, jaxpr.line_sources, jaxpr.line_libraries)
    if full or len(block.comments or block.text.split("\n")) <= JAXPR_SHOWN:
        return [*out, block]
    return out + folded_jaxpr(block)


def folded_jaxpr(block: JaxprBlock) -> list[Section]:
    """A long jaxpr's start, its repeated block once with the count of copies, and its end;
    each part left out said as a count with `--jaxpr full`."""
    lines = block.text.split("\n")
    comments = [*block.comments, *[None] * (len(lines) - len(block.comments))]
    repeat = repeated_block(lines, comments)
    shown: list[tuple[int, int]] = []
    if repeat is not None:
        shown.append((0, min(repeat.start, JAXPR_HEAD)))
        shown.append((repeat.start, repeat.start + min(repeat.length, JAXPR_BLOCK)))
        after = repeat.start + repeat.length * repeat.count
        shown.append((max(after, len(lines) - JAXPR_TAIL), len(lines)))
    else:
        shown += [(0, JAXPR_HEAD), (len(lines) - JAXPR_TAIL, len(lines))]
    out: list[Section] = []
    at = 0
    for start, end in shown:
        if start > at:
            out.append(_fold_note(folded_lines_text(start - at, FULL_JAXPR)))
        if end > start:
            out.append(JaxprBlock("\n".join(lines[start:end]), tuple(comments[start:end])))
        if repeat is not None and start == repeat.start:
            out.append(_fold_note(repeated_text(repeat.length, repeat.count)))
            end = repeat.start + repeat.length * repeat.count
        at = max(at, end)
    return out


def _fold_note(text: str) -> RenderableType:
    return Padding(Text(text, style="dim italic"), (0, 0, 0, 4))


def _primitive_table(primitives: dict[str, int]) -> RenderableType:
    items = primitives_by_count(primitives)
    text = Text()
    for i, (name, count) in enumerate(items[:PRIMITIVES_SHOWN]):
        if i:
            text.append("  ")
        text.append(name, style="bold yellow")
        text.append(f" {count}")
    if len(items) > PRIMITIVES_SHOWN:
        text.append(f"  (+{len(items) - PRIMITIVES_SHOWN} more primitives)", style="dim")
    return text


def jaxpr_syntax(
    text: str, line_sources: Sequence[str | None] = (), line_libraries: Sequence[str | None] = ()
) -> JaxprBlock:
    """The jaxpr for the jaxpr lexer, with the `file:line` of each equation as its comment:
    the user's line first, the library frame that made the equation after it (`step.py:8
    (optax/_src/transform.py:294)`)."""
    return JaxprBlock(text, tuple(_sources(line_sources, line_libraries)))


def _sources(
    sources: Sequence[str | None], libraries: Sequence[str | None]
) -> Iterable[str | None]:
    for i, source in enumerate(sources):
        if not source:
            yield None
            continue
        library = libraries[i] if i < len(libraries) else None
        after = f" ({library_label(library)})" if library else ""
        yield f"{source_location(source)}{after}"


def compile_sections(info: CompileInfo) -> list[RenderableType]:
    """Lowering and compile times, XLA's cost and memory analyses, and the requested IR texts."""
    out: list[RenderableType] = [heading("Compilation", f"backend {info.backend}")]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    for figure in compile_figures(info):
        grid.add_row(figure.label, figure_text(figure.value, figure.unit))
    out.append(Padding(grid, (0, 0, 0, 2)))
    if info.stablehlo is not None:
        out += [
            heading("StableHLO"),
            Syntax(info.stablehlo, "mlir", theme=THEME, background_color="default"),
        ]
    out += collective_sections(info)
    if info.hlo is not None:
        out += [heading("Optimized HLO"), Text(info.hlo)]
    return out
