"""What every text report is made of: a rich console writing to a string, section headings and
notes, and the blocks written past rich (the jaxpr colored by its own lexer, code to copy)."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pygments import highlight
from pygments.formatter import Formatter
from pygments.lexers.python import PythonLexer
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.rule import Rule
from rich.style import Style
from rich.syntax import SyntaxTheme
from rich.table import Table
from rich.text import Text

from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers.console.layout import broken, jaxpr_lines
from jaxexplain.renderers.display import EVERYTHING, Display
from jaxexplain.renderers.words import MORE_LINES, folded_lines_text, unknown_sections_text
from jaxexplain.style import JaxprStyle


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


THEME = StyleTheme()


@dataclass(frozen=True)
class JaxprBlock:
    """A jaxpr written past rich: its layout engine is too slow for jaxprs of 100,000 lines,
    so they are laid out for the width here (`comments[i]`, the source of line i, beside it or
    under it), highlighted by the jaxpr lexer and `AnsiFormatter`, or written plain."""

    text: str
    comments: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class Heading:
    """A section rule: the title bold, a short detail dimmed; it starts a section that
    `--sections` picks by its title and `--max-lines` caps."""

    title: str
    detail: str = ""
    always: bool = False  # shown whatever `--sections` picks (the summary)

    @property
    def name(self) -> str:
        """The title as `--sections` matches it: lower case, words joined by `-`."""
        return "-".join(self.title.lower().split())

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = Text(self.title, style="bold cyan")
        if self.detail:
            text.append(f"  {self.detail}", style="dim")
        yield Group(Text(""), Rule(text, align="left", style="cyan"))


@dataclass(frozen=True)
class CodeBlock:
    """Code the user copies (a verified rewrite), written past rich: rich crops or folds every
    line at the terminal width, and a cut line pasted back is a syntax error. It overflows."""

    code: str
    indent: int = 4


# What a text report is made of: rich renderables, and the blocks printed as they are (the
# jaxpr, colored by its own lexer; verified code, never wrapped or cut).
Section = RenderableType | JaxprBlock | CodeBlock | Heading


def make_console(color: bool, width: int, file: Any = None) -> Console:
    """A console writing to a string (or `file`), with ANSI codes only when asked; never a
    Jupyter console, which would display in the cell and leave the string empty."""
    return Console(
        file=file or io.StringIO(),
        force_jupyter=False,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="truecolor" if color else None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )


def write_sections(
    sections: Sequence[Section], *, color: bool, width: int, display: Display = EVERYTHING
) -> str:
    """The sections as one text, ANSI-colored when asked: those `display` picks (the part
    before the first heading, the title and summary, always), each capped at its line limit."""
    console = make_console(color, width)
    chunks: list[str] = []
    matched: set[str] = set()
    for head, part in _parts(sections):
        picked = [name for name in display.sections if head is not None and name in head.name]
        matched.update(picked)
        if display.sections and head is not None and not head.always and not picked:
            continue
        console.file = io.StringIO()
        body = part[1:] if head is not None else part
        if head is not None:
            console.print(head)
            chunks.append(console.file.getvalue())
            console.file = io.StringIO()
        for section in body:
            _write(console, section, color, width)
        chunks.append(_capped(console.file.getvalue(), display.max_lines, color))
    unmatched = [name for name in display.sections if name not in matched]
    if unmatched:
        names = [head.name for head, _ in _parts(sections) if head is not None]
        chunks.append(unknown_sections_text(unmatched, list(dict.fromkeys(names))) + "\n")
    text = "".join(chunks)
    if color:
        return text
    # rich pads table rows to the full width; in a file or a pipe that is only trailing blanks.
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _parts(sections: Sequence[Section]) -> list[tuple[Heading | None, list[Section]]]:
    """The sections grouped under their headings; the first group has none."""
    parts: list[tuple[Heading | None, list[Section]]] = [(None, [])]
    for section in sections:
        if isinstance(section, Heading):
            parts.append((section, []))
        parts[-1][1].append(section)
    return parts


def _write(console: Console, section: Section, color: bool, width: int) -> None:
    if isinstance(section, JaxprBlock):
        lines = jaxpr_lines(section.text.split("\n"), section.comments, width)
        console.file.write(highlighted("\n".join(lines), color) + "\n")
    elif isinstance(section, CodeBlock):
        console.file.write(highlighted_code(section, color, width) + "\n")
    else:
        console.print(_kept_indent(section))


def _kept_indent(section: RenderableType) -> RenderableType:
    """A text that starts with spaces, its wrapped lines indented as far as its first."""
    if not isinstance(section, Text) or section.no_wrap:
        return section
    indent = len(section.plain) - len(section.plain.lstrip(" "))
    return Padding(section[indent:], (0, 0, 0, indent)) if indent else section


def _capped(chunk: str, max_lines: int | None, color: bool) -> str:
    """The section's text, past `max_lines` lines cut with a line that says how many more."""
    lines = chunk.split("\n")
    if max_lines is None or len(lines) - 1 <= max_lines:
        return chunk
    fold = folded_lines_text(len(lines) - 1 - max_lines, MORE_LINES)
    return "\n".join([*lines[:max_lines], _dim(fold, color), ""])


def _dim(text: str, color: bool) -> str:
    return f"\x1b[2m{text}\x1b[0m" if color else text


def highlighted(text: str, color: bool) -> str:
    """`text` colored by the jaxpr lexer and style (plain when color is off)."""
    if not color:
        return text
    return highlight(text, JaxprLexer(), AnsiFormatter(style=JaxprStyle)).rstrip("\n")


def highlighted_code(block: CodeBlock, color: bool, width: int | None = None) -> str:
    """The block's lines, each indented; Python-colored when color is on. A line longer than
    `width` is broken after a space with a backslash, which Python reads as the same line, so
    the code still pastes back whole."""
    code = textwrap.dedent(block.code).rstrip("\n")
    if width is not None:
        code = "\n".join(
            " \\\n".join(broken(line, width - block.indent - 2)) if line else line
            for line in code.split("\n")
        )
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


def heading(title: str, detail: str = "", *, always: bool = False) -> Heading:
    """A section rule: the title bold, a short detail dimmed."""
    return Heading(title, detail, always)


def note_text(note: str) -> RenderableType:
    """A note, its wrapped lines indented under its first word."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="italic dim", no_wrap=True)
    grid.add_column(style="italic", overflow="fold")
    grid.add_row("note:", note)
    return Padding(grid, (0, 0, 0, 2))


def title_text(tool: str, target: str, defined: str) -> Text:
    """`jaxexplain trace TARGET` bold, and where the function is defined dimmed below it."""
    text = Text(f"jaxexplain {tool} ", style="bold")
    text.append(target, style="bold yellow")
    text.append(f"\n{defined}", style="dim")
    return text


#: A width no terminal has: a table measured within it says how narrow it can go uncut.
UNBOUNDED = 1_000_000


class Fitted:
    """A table that reads well at any width: as a table where its columns fit without cutting a
    word (`compare`/`d`), else stacked, each row its first cell and under it `header  value`
    for the other cells that say something, so that a narrow terminal reads every name whole."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        unbounded = options.update_width(UNBOUNDED)  # rich clamps a measure to the width
        if Measurement.get(console, unbounded, self.table).minimum <= options.max_width:
            yield self.table
            return
        yield from stacked_rows(self.table)


def stacked_rows(table: Table) -> Iterable[RenderableType]:
    """The first column's header, then each row of `table` as its first cell and its other
    cells under their headers."""
    columns = table.columns
    yield Text(str(columns[0].header), style="bold underline")
    for row in zip(*(column.cells for column in columns), strict=True):
        first, *rest = row
        yield Text(first, style="bold") if isinstance(first, str) else first
        cells = Table.grid(padding=(0, 2))
        cells.add_column(style="dim", no_wrap=True)
        cells.add_column(overflow="fold")
        for column, cell in zip(columns[1:], rest, strict=True):
            if cell != "":
                cells.add_row(str(column.header), cell)
        yield Padding(cells, (0, 0, 0, 2))
