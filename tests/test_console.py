"""Tests for the text renderer's jaxpr coloring: the ANSI formatter over the jaxpr lexer."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
from pygments.token import Keyword, Name

from jaxexplain.jaxpr_lexer import SHAPE
from jaxexplain.renderers.console import AnsiFormatter, highlighted
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


def test_a_loop_that_ran_sixteen_times_is_flagged_in_the_summary() -> None:
    from jaxexplain.api import trace_target
    from jaxexplain.inputs.specs import ArraySpec
    from jaxexplain.renderers import render

    def summary(n: int) -> str:
        report = trace_target(
            "samples/unrolled.py:unrolled_power",
            {"n": n},
            {"x": ArraySpec((3,), "float32")},
            compile=False,
        )
        assert report.jaxpr is not None and report.jaxpr.primitives["mul"] == n
        return " ".join(render(report, "text", width=200).split())

    flagged = "! for _ in range(n) at samples/unrolled.py:12 ran 16 times while tracing"
    assert flagged in summary(16)
    assert "! for" not in summary(15)
