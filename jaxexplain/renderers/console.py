"""Text renderer: rich sections and tables, the jaxpr colored by the Pygments jaxpr lexer."""

from __future__ import annotations

import io
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pygments import highlight
from pygments.formatter import Formatter
from pygments.lexers.python import PythonLexer
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.rule import Rule
from rich.style import Style
from rich.syntax import Syntax, SyntaxTheme
from rich.table import Table
from rich.text import Text

from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers.words import (
    as_written,
    dependencies_text,
    equations_text,
    library_decision_text,
    outcome_badge,
    outcomes_text,
    raised_by_text,
    unrolled_iterations,
)
from jaxexplain.report import (
    LOOP_KINDS,
    CacheKey,
    CompileInfo,
    Decision,
    ErrorInfo,
    JaxprInfo,
    LibraryDecision,
    SourceLine,
    SourceListing,
    Suggestion,
    TracedLeaf,
    TraceReport,
)
from jaxexplain.style import JaxprStyle
from jaxexplain.userfiles import library_label, short_identity, short_path

CONTEXT_SHOWN = (
    "jax_enable_x64",
    "jax_default_device",
    "jax_default_matmul_precision",
    "jax_numpy_rank_promotion",
    "jax_numpy_dtype_promotion",
    "jax_disable_jit",
)
PRIMITIVES_SHOWN = 12
UNROLL_WARNING = 16
PLAIN_RUN_SHOWN = 4
OUTCOME_WIDTH = 32
NOTE_INDENT = 4  # a note (marked ↳) or code continuation below a line: this far in from its code
MIN_CODE_ROOM = 20  # the code's columns at the narrowest console
NOTE_GAP = 2  # between the longest code line with a note beside it and the notes
GROUP_LEAVES_OVER = 16
_LIST_INDEX = re.compile(r"\[\d+\]")
MAX_LEAVES_SHOWN = 8


class StyleTheme(SyntaxTheme):
    """Rich's view of the Pygments style; tokens the style leaves uncolored keep the
    terminal's own color (rich's PygmentsSyntaxTheme would paint them black)."""

    def get_style_for_token(self, token_type: Any) -> Style:
        spec = JaxprStyle.style_for_token(token_type)
        return Style(
            color=f"#{spec['color']}" if spec["color"] else None,
            bold=spec["bold"] or None,
            italic=spec["italic"] or None,
            underline=spec["underline"] or None,
        )

    def get_background_style(self) -> Style:
        return Style()


_THEME = StyleTheme()


def make_console(color: bool, width: int, file: Any = None) -> Console:
    """A console writing to a string (or `file`), with ANSI codes only when asked."""
    return Console(
        file=file or io.StringIO(),
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="truecolor" if color else None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )


@dataclass(frozen=True)
class JaxprBlock:
    """A jaxpr written past rich: its layout engine is too slow for jaxprs of 100,000 lines,
    so they are highlighted by the jaxpr lexer and `AnsiFormatter`, or written plain."""

    text: str


@dataclass(frozen=True)
class CodeBlock:
    """Code the user copies (a verified rewrite), written past rich: rich crops or folds every
    line at the terminal width, and a cut line pasted back is a syntax error. It overflows."""

    code: str
    indent: int = 4


def render(report: Any, *, color: bool = False, width: int = 100) -> str:
    """Renders a trace report (other report kinds bring their own `console_sections`)."""
    console = make_console(color, width)
    sections = (
        report.console_sections() if hasattr(report, "console_sections") else trace_sections(report)
    )
    for section in sections:
        if isinstance(section, JaxprBlock):
            console.file.write(highlighted(section.text, color) + "\n")
        elif isinstance(section, CodeBlock):
            console.file.write(highlighted_code(section, color) + "\n")
        else:
            console.print(section)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    if color:
        return text
    # rich pads table rows to the full width; in a file or a pipe that is only trailing blanks.
    return "\n".join(line.rstrip() for line in text.split("\n"))


def highlighted(text: str, color: bool) -> str:
    """`text` colored by the jaxpr lexer and style (plain when color is off)."""
    if not color:
        return text
    return highlight(text, JaxprLexer(), AnsiFormatter(style=JaxprStyle)).rstrip("\n")


# What a text report is made of: rich renderables, and the blocks printed as they are (the
# jaxpr, colored by its own lexer; verified code, never wrapped or cut).
Section = RenderableType | JaxprBlock | CodeBlock


def highlighted_code(block: CodeBlock, color: bool) -> str:
    """The block's lines, whole, each indented; Python-colored when color is on."""
    code = textwrap.dedent(block.code).rstrip("\n")
    if color:
        code = highlight(code, PythonLexer(), AnsiFormatter(style=JaxprStyle)).rstrip("\n")
    margin = " " * block.indent
    return "\n".join(margin + line if line else line for line in code.split("\n"))


class AnsiFormatter(Formatter):  # type: ignore[misc]
    """Pygments tokens as 24-bit ANSI colors, like rich's sections around them.

    Pygments' own terminal formatters look each token's style up by name, token by token, which
    takes most of the time of coloring a large jaxpr; here each token type's escape codes are
    worked out once."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._codes: dict[Any, tuple[str, str]] = {}

    def format(self, tokensource: Iterable[tuple[Any, str]], outfile: Any) -> None:
        for ttype, value in tokensource:
            start, end = self._codes.get(ttype) or self._escapes(ttype)
            if not start:
                outfile.write(value)
            elif "\n" in value:
                outfile.write(
                    "\n".join(start + part + end if part else part for part in value.split("\n"))
                )
            else:
                outfile.write(start + value + end)

    def _escapes(self, ttype: Any) -> tuple[str, str]:
        """The (start, reset) codes of a token type; empty where the style leaves it plain."""
        styled = ttype
        while not self.style.styles_token(styled):
            styled = styled.parent
        spec = self.style.style_for_token(styled)
        sgr = [
            code
            for flag, code in (("bold", "1"), ("italic", "3"), ("underline", "4"))
            if spec[flag]
        ]
        if spec["color"]:
            red, green, blue = (int(spec["color"][i : i + 2], 16) for i in (0, 2, 4))
            sgr.append(f"38;2;{red};{green};{blue}")
        codes = (f"\x1b[{';'.join(sgr)}m", "\x1b[0m") if sgr else ("", "")
        self._codes[ttype] = codes
        return codes


def heading(title: str, detail: str = "") -> RenderableType:
    """A section rule: the title bold, a short detail dimmed."""
    text = Text(title, style="bold cyan")
    if detail:
        text.append(f"  {detail}", style="dim")
    return Group(Text(""), Rule(text, align="left", style="cyan"))


def trace_sections(report: TraceReport) -> list[Section]:
    """Every section of a trace report, in the order a user reads them."""
    sections: list[Section] = [_title(report)]
    if report.error is not None:
        sections += error_sections(report.error)
    sections += _argument_sections(report)
    if report.cache_key is not None:
        sections += cache_key_sections(report.cache_key)
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
        sections += jaxpr_sections(report.jaxpr)
    if report.compile is not None:
        sections += compile_sections(report.compile)
    return sections


def _title(report: TraceReport) -> RenderableType:
    fn = report.function
    text = Text("jaxexplain trace ", style="bold")
    text.append(report.target, style="bold yellow")
    text.append(
        f"\n{fn.qualname or fn.name} defined at {short_path(fn.file)}:{fn.line}", style="dim"
    )
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


def note_text(note: str) -> RenderableType:
    """A note, its wrapped lines indented under its first word."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="italic dim", no_wrap=True)
    grid.add_column(style="italic", overflow="fold")
    grid.add_row("note:", note)
    return Padding(grid, (0, 0, 0, 2))


def format_aval_tree(aval: Any, pytree: str | None = None) -> str:
    """A pytree of abstract values written compactly: `{'b': f32[4], 'w': f32[3,4]}`, led by
    its class where it is no plain container (`Batch (NamedTuple) {...}`); large trees are
    summarized (their leaves are listed in the cache key section)."""
    leaves = _count_leaves(aval)
    kind = pytree or ("dict" if isinstance(aval, dict) else "list")
    if leaves > MAX_LEAVES_SHOWN:
        return f"pytree ({kind}) of {leaves} arrays, listed under Cache key"
    text = _aval_tree_text(aval)
    return text if kind in ("dict", "list", "tuple") else f"{kind} {text}"


def _count_leaves(aval: Any) -> int:
    if isinstance(aval, dict):
        return sum(_count_leaves(v) for v in aval.values())
    if isinstance(aval, (list, tuple)):
        return sum(_count_leaves(v) for v in aval)
    return 1


def _aval_tree_text(aval: Any) -> str:
    if isinstance(aval, dict):
        return "{" + ", ".join(f"{k!r}: {_aval_tree_text(v)}" for k, v in aval.items()) + "}"
    if isinstance(aval, (list, tuple)):
        return "[" + ", ".join(_aval_tree_text(v) for v in aval) + "]"
    return str(aval)


def cache_key_sections(key: CacheKey) -> list[RenderableType]:
    """The cache key: digest, function, statics, traced leaves, tree structure, context."""
    out: list[RenderableType] = [heading("Cache key", f"digest {key.digest}")]
    body = Table.grid(padding=(0, 2))
    body.add_column(style="bold")
    body.add_column(overflow="fold")
    body.add_row("function", short_identity(key.function))
    body.add_row("pytree", key.treedef)
    context = ", ".join(
        f"{name.removeprefix('jax_')}={key.context[name]}"
        for name in CONTEXT_SHOWN
        if name in key.context
    )
    hidden = len(key.context) - sum(1 for n in CONTEXT_SHOWN if n in key.context)
    body.add_row(
        "context", context + (f"  (+{hidden} more in --format json)" if hidden > 0 else "")
    )
    out.append(Padding(body, (0, 0, 0, 2)))
    if key.static:
        statics = Table(box=None, padding=(0, 2), header_style="bold", title_justify="left")
        for column in ("static", "value", "type", "hash"):
            statics.add_column(column, overflow="fold")
        for s in key.static:
            hashed = "unhashable" if s.hash is None else str(s.hash)
            if s.compared_by == "identity":
                hashed += " (compared by identity: every new object recompiles)"
            statics.add_row(s.name, s.value, s.type, hashed)
        out.append(Padding(statics, (1, 0, 0, 2)))
    if key.traced:
        groups = grouped_leaves(key.traced)
        counted = any(count > 1 for count in groups.values())
        traced = Table(box=None, padding=(0, 2), header_style="bold")
        for column in ("traced leaf", "shape", "dtype", "weak", "sharding", *["count"] * counted):
            traced.add_column(column, overflow="fold")
        for (path, shape, dtype, weak, sharding), count in groups.items():
            traced.add_row(
                path,
                "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")",
                dtype,
                "weak" if weak else "",
                sharding or "uncommitted",
                *[f"×{count}" if count > 1 else ""] * counted,
            )
        out.append(Padding(traced, (1, 0, 0, 2)))
    return out


def grouped_leaves(leaves: Sequence[TracedLeaf]) -> dict[tuple[Any, ...], int]:
    """Leaves that differ only by list index (`blocks[0]`, `blocks[1]`, ...) and agree on
    everything else become one row `blocks[*]` with a count, when there are many leaves."""
    groups: dict[tuple[Any, ...], int] = {}
    for leaf in leaves:
        path = _LIST_INDEX.sub("[*]", leaf.path) if len(leaves) > GROUP_LEAVES_OVER else leaf.path
        row = (path, leaf.shape, leaf.dtype, leaf.weak_type, leaf.sharding)
        groups[row] = groups.get(row, 0) + 1
    return groups


def library_decision_sections(decisions: Sequence[LibraryDecision]) -> list[RenderableType]:
    """Tests inside installed libraries on the target's statics, one line each."""
    out: list[RenderableType] = [
        heading("Decided in libraries", "tests on your statics inside installed libraries")
    ]
    out += [Text(f"  {library_decision_text(d)}") for d in decisions]
    return out


def decision_sections(decisions: Sequence[Decision]) -> list[RenderableType]:
    """Every Python decision frozen into the trace, led by what most deserves attention."""
    out: list[RenderableType] = [
        heading(
            "Baked-in decisions",
            f"{len(decisions)} construct{'s' * (len(decisions) != 1)} decided while tracing",
        )
    ]
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
            Text(f"{short_path(d.file)}:{d.line}", style="dim"),
            Text(as_written(d.kind, d.source), style="yellow"),
            outcomes_text(d.kind, d.outcomes),
            dependencies_text(d),
        )
    out.append(Padding(table, (0, 0, 0, 2)))
    return out


def decision_summary(decisions: Sequence[Decision]) -> Text | None:
    """The line that catches the eye: big unrolled loops, and the statics that decided most."""
    text = Text()
    for d in sorted(decisions, key=unrolled_iterations, reverse=True):
        if _longest_run(d) >= UNROLL_WARNING and d.equations != 0:
            text.append("! ", style="bold red")
            text.append(f"{as_written(d.kind, d.source)}", style="bold")
            text.append(f" at {short_path(d.file)}:{d.line} {_unrolled_text(d)}\n")
    deciders = Counter(dep.name for d in decisions for dep in d.depends_on if dep.via == "static")
    if deciders:
        text.append("static arguments that decided the most: ", style="bold")
        text.append(", ".join(f"{name} ({count})" for name, count in deciders.most_common(5)))
    return text if text.plain else None


def _longest_run(d: Decision) -> int:
    """A loop's most passes in one execution: a 3-pass loop in a helper that a 48-layer loop
    calls runs 144 times in all, but it is the layer loop that unrolls."""
    return max((int(o) for o in d.outcomes), default=0) if d.kind in LOOP_KINDS else 0


def _unrolled_text(d: Decision) -> str:
    """What unrolling a loop cost: the equations it put into the jaxpr where they were counted
    (a loop that adds none, such as a NumPy mask built in Python, is not flagged at all)."""
    passes = unrolled_iterations(d)
    if d.equations is None:
        return (
            f"ran {passes} times while tracing: the JAX operations of its body, helpers included,"
            " are copied that many times into the jaxpr, and compile time grows with them"
        )
    return (
        f"ran {passes} times while tracing and put {d.equations:,} equations into the jaxpr"
        f" (about {round(d.equations / passes):,} per pass): compile time grows with them"
    )


def source_sections(
    listings: Sequence[SourceListing], decisions: Sequence[Decision], total: int | None
) -> list[RenderableType]:
    """Each listing with, per line, equations emitted, decisions taken, and dead lines greyed;
    its heading says how many of the jaxpr's `total` equations its lines produced (None: no
    jaxpr, the trace failed)."""
    by_line: dict[tuple[str, int], list[Decision]] = {}
    for d in decisions:
        by_line.setdefault((d.file, d.line), []).append(d)
    out: list[RenderableType] = []
    for listing in listings:
        detail = f"{listing.function}  {short_path(listing.file)}"
        if total is not None:
            detail += f"  {sum(line.equations for line in listing.lines):,} of {total:,} equations"
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
        note = "; ".join(outcome_badge(d) for d in here) or ("" if row.ran else "never ran")
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


def jaxpr_sections(jaxpr: JaxprInfo) -> list[Section]:
    """The colored jaxpr with each line's user source, and counts per primitive."""
    detail = f"{jaxpr.equations} equation{'s' * (jaxpr.equations != 1)}"
    if jaxpr.equations_total != jaxpr.equations:
        detail += f" ({jaxpr.equations_total} with nested jaxprs)"
    out: list[Section] = [heading("Jaxpr", detail)]
    out.append(Padding(_primitive_table(jaxpr.primitives), (0, 0, 1, 2)))
    out.append(jaxpr_syntax(jaxpr.text, jaxpr.line_sources, jaxpr.line_libraries))
    return out


def _primitive_table(primitives: dict[str, int]) -> RenderableType:
    items = sorted(primitives.items(), key=lambda kv: (-kv[1], kv[0]))
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
    """The jaxpr for the jaxpr lexer, with `# file:line` of each equation appended: the user's
    line first, the library frame that made the equation after it (`# step.py:8
    (optax/_src/transform.py:294)`)."""
    if line_sources:
        text = "\n".join(_with_sources(text.split("\n"), line_sources, line_libraries))
    return JaxprBlock(text)


def _with_sources(
    lines: list[str], sources: Sequence[str | None], libraries: Sequence[str | None]
) -> Iterable[str]:
    for i, (line, source) in enumerate(zip(lines, sources, strict=False)):
        if not source:
            yield line
            continue
        library = libraries[i] if i < len(libraries) else None
        after = f" ({library_label(library)})" if library else ""
        yield f"{line}  # {short_path(source)}{after}"


def compile_sections(info: CompileInfo) -> list[RenderableType]:
    """Lowering and compile times, XLA's cost and memory analyses, and the requested IR texts."""
    out: list[RenderableType] = [heading("Compilation", f"backend {info.backend}")]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    grid.add_row("lower", f"{info.lower_seconds:.3f} s")
    grid.add_row("compile", f"{info.compile_seconds:.3f} s")
    grid.add_row("flops", human_number(info.flops))
    grid.add_row("transcendentals", human_number(info.transcendentals))
    grid.add_row("bytes accessed", human_bytes(info.bytes_accessed))
    if info.memory is not None:
        grid.add_row("argument memory", human_bytes(info.memory.argument_bytes))
        grid.add_row("output memory", human_bytes(info.memory.output_bytes))
        grid.add_row("temp memory", human_bytes(info.memory.temp_bytes))
        grid.add_row("generated code", human_bytes(info.memory.generated_code_bytes))
    out.append(Padding(grid, (0, 0, 0, 2)))
    if info.stablehlo is not None:
        out += [
            heading("StableHLO"),
            Syntax(info.stablehlo, "mlir", theme=_THEME, background_color="default"),
        ]
    if info.hlo is not None:
        out += [heading("Optimized HLO"), Text(info.hlo)]
    return out


def human_number(value: float | None) -> str:
    """1234567 -> "1.23 M"; None -> "n/a"."""
    if value is None:
        return "n/a"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:g}"


def human_bytes(value: float | None) -> str:
    """1536 -> "1.5 KiB"; None -> "n/a"."""
    if value is None:
        return "n/a"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{int(value)} B"


def error_sections(error: ErrorInfo) -> list[Section]:
    """The failure first: the user's line, why it fails, what it came from, and the fixes tried."""
    out: list[Section] = [heading("Tracing failed", error.type)]
    body = Text()
    if error.file:
        location = f"{short_path(error.file)}:{error.line}"
        body.append(location, style="bold")
        if error.source:
            body.append("   ")
            body.append(error.source, style="yellow")
            if error.column is not None and error.end_column is not None:
                width = max(1, error.end_column - error.column)
                body.append("\n" + " " * (len(location) + 3 + error.column))
                body.append("^" * width, style="bold red")
        body.append("\n")
    if error.explanation:
        body.append(error.explanation + "\n")
    if error.created_at:
        path, _, line = error.created_at.rpartition(":")
        body.append("leaked value created at ", style="dim")
        body.append(f"{short_path(path)}:{line}\n", style="bold")
    if error.depends_on:
        body.append("depends on: ", style="dim")
        body.append(
            ", ".join(f"{d.name} ({_VIA_WORDS.get(d.via, d.via)})" for d in error.depends_on)
        )
        body.append("\n")
    body.append(f"{raised_by_text(error)}: ", style="dim")
    body.append(error.message.splitlines()[0] if error.message else "", style="dim")
    out.append(Padding(body, (0, 0, 0, 2)))
    if error.suggestions:
        out.append(heading("Fixes", "verified ones were re-traced by jaxexplain"))
        for suggestion in error.suggestions:
            out += _suggestion(suggestion)
    return out


_VIA_WORDS = {
    "value": "traced value",
    "static": "static value",
    "shape": "shape",
    "dtype": "dtype",
    "global": "global",
}


def _suggestion(suggestion: Suggestion) -> list[Section]:
    """One fix: verified, tried and not verified, or advice; its code and what it costs."""
    if suggestion.verified:
        marker = Text("✓ verified", style="bold green")
    elif suggestion.kind == "advice":
        marker = Text("•", style="bold")
    else:
        marker = Text("✗ not verified", style="bold red")
    row = Table.grid(padding=(0, 2))
    row.add_column(no_wrap=True)
    row.add_column(overflow="fold")
    row.add_row(marker, Text(suggestion.text))
    out: list[Section] = [Padding(row, (0, 0, 0, 2))]
    if suggestion.code:
        out.append(CodeBlock(suggestion.code, indent=6))
    if suggestion.cost:
        out.append(Padding(Text(f"cost: {suggestion.cost}", style="dim"), (0, 0, 0, 6)))
    if suggestion.verified and suggestion.checks:
        checks = f"checks passed: {', '.join(suggestion.checks)}"
        out.append(Padding(Text(checks, style="dim"), (0, 0, 0, 6)))
    return out
