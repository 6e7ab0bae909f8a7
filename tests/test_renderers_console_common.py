"""What every text report is made of: the jaxpr colored by its lexer through the ANSI
formatter, code written whole, and plain text without rich's trailing blanks."""

from __future__ import annotations

import ast
import re
import textwrap

import jax
import jax.numpy as jnp
from pygments.token import Keyword, Name
from rich.table import Table
from rich.text import Text

from jaxexplain.jaxpr_lexer import SHAPE
from jaxexplain.renderers.console.common import (
    AnsiFormatter,
    CodeBlock,
    JaxprBlock,
    heading,
    highlighted,
    write_sections,
)
from jaxexplain.renderers.display import Display
from jaxexplain.renderers.words import MORE_LINES, folded_lines_text, unknown_sections_text
from jaxexplain.style import JaxprStyle

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def sgr(token: object) -> str:
    """The escape that the style asks for, written out by hand from its definition."""
    spec = JaxprStyle.style_for_token(token)
    codes = ["1"] if spec["bold"] else []
    rgb = spec["color"]
    codes.append(f"38;2;{int(rgb[0:2], 16)};{int(rgb[2:4], 16)};{int(rgb[4:6], 16)}")
    return f"\x1b[{';'.join(codes)}m"


def body(x: jax.Array) -> jax.Array:
    return jax.lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x)


def test_colored_jaxpr_is_the_text_with_the_styles_escapes() -> None:
    text = str(jax.make_jaxpr(body)(jnp.ones((2, 3))))
    colored = highlighted(text, color=True)
    assert _ANSI.sub("", colored) == text
    assert f"{sgr(Name.Function)}cond\x1b[0m" in colored
    assert f"{sgr(Keyword.Type)}f32\x1b[0m{sgr(Keyword.Type)}[2,3]\x1b[0m" in colored
    assert highlighted(text, color=False) == text


def test_token_subtypes_take_their_parents_style_and_lines_end_reset() -> None:
    formatter = AnsiFormatter(style=JaxprStyle)
    assert formatter._escapes(SHAPE) == formatter._escapes(Keyword.Type)
    assert formatter._escapes(Name) == ("", "")
    out: list[str] = []

    class Sink:
        write = staticmethod(out.append)

    formatter.format(iter([(Name.Function, "a\nb")]), Sink)
    start = sgr(Name.Function)
    assert "".join(out) == f"{start}a\x1b[0m\n{start}b\x1b[0m"


def test_a_jaxpr_and_code_fit_the_width_and_keep_every_token() -> None:
    text = str(jax.make_jaxpr(body)(jnp.ones((2, 3))))
    code = "y = " + " + ".join(f"x{i}" for i in range(40))
    written = write_sections([JaxprBlock(text), CodeBlock(code, indent=6)], color=False, width=40)
    assert all(len(line) <= 40 for line in written.split("\n"))
    jaxpr_part, code_part = written.split("      y = ")
    assert "".join(jaxpr_part.split()) == "".join(text.split())
    continued = textwrap.dedent("      y = " + code_part)
    assert ast.dump(ast.parse(continued)) == ast.dump(ast.parse(code))


def test_sections_are_picked_by_title_and_capped_with_a_count() -> None:
    rows = [Text(f"row {i}") for i in range(10)]
    sections = [Text("title"), heading("Summary", always=True), Text("verdict")]
    sections += [heading("Cache key"), *rows, heading("Jaxpr"), *rows]
    written = write_sections(
        sections, color=False, width=80, display=Display(sections=("jaxpr",), max_lines=4)
    )
    assert "title" in written and "verdict" in written and "Cache key" not in written
    assert "Jaxpr" in written and "row 3" in written and "row 4" not in written
    assert folded_lines_text(6, MORE_LINES) in written
    unknown = write_sections(sections, color=False, width=80, display=Display(sections=("hlo",)))
    assert unknown_sections_text(["hlo"], ["summary", "cache-key", "jaxpr"]) in unknown


def test_a_wrapped_paragraph_keeps_its_indent() -> None:
    written = write_sections([Text("    " + "word " * 30)], color=False, width=40)
    assert all(line.startswith("    word") for line in written.strip("\n").split("\n"))


def test_plain_text_has_no_trailing_blanks_and_color_only_when_asked() -> None:
    table = Table("name", "value")
    table.add_row("n", "3")
    plain = write_sections([table], color=False, width=80)
    assert all(line == line.rstrip() for line in plain.split("\n"))
    assert not _ANSI.search(plain)
    assert _ANSI.search(write_sections([table], color=True, width=80))
