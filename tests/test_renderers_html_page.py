"""The HTML page and its pieces: one self-contained file, every user text escaped, and the jaxpr
lexed into the token runs the page's script colors with the terminal's style."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
from pages import page_data
from pygments.token import Name

from jaxexplain import api
from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers import render
from jaxexplain.renderers.html import themes
from jaxexplain.renderers.html.page import (
    fill,
    script_json,
    source_label,
    tag,
    token_class,
    tokenize_lines,
)
from tests.targets.rendering import hostile, loop_and_branch


def test_page_is_one_self_contained_file() -> None:
    page = render(api.trace(loop_and_branch, "f32[4]", 3, static_argnames="n"), "html")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<style>") == 1
    assert page.count("<script") == 2  # the report's data and the page's script
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "url(" not in page
    assert "@import" not in page
    assert "<link" not in page


def test_user_text_is_escaped_everywhere() -> None:
    label = '<img src=x onerror="alert(1)">'
    report = api.trace(hostile, "f32[3]", label, static_argnames="label", compile=False)
    page = render(report, "html")
    assert "<img" not in page
    assert "</script><b>" not in page
    assert page.count("<script") == 2
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page  # the argument, as text
    lines = page_data(page)["jaxpr"]["lines"]
    assert any("</script><b>{x}</b>" in line for line in lines)  # the jaxpr text, intact


def test_script_json_cannot_close_its_script_element() -> None:
    text = script_json({"line": "</script><!-- & -->"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert tag("code", "x", class_="a b", data_src="f.py:1") == (
        '<code class="a b" data-src="f.py:1">x</code>'
    )


def test_slots_are_filled_once_so_inserted_text_is_never_a_slot() -> None:
    assert fill("{{a}} {{b}}", a="{{b}}", b="B") == "{{b}} B"


def test_token_runs_cover_every_line_and_carry_the_styles_classes() -> None:
    text = str(
        jax.make_jaxpr(lambda x: jax.lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x))(jnp.ones(3))
    )
    rows = tokenize_lines(text, JaxprLexer())
    assert rows.lines == text.split("\n")
    primitive = token_class(Name.Function)
    for line, runs in zip(rows.lines, rows.tokens, strict=True):
        assert sum(runs[0::2]) == len(line)
        pos = 0
        for length, cls in zip(runs[0::2], runs[1::2], strict=True):
            if line[pos : pos + length] in ("cond", "sin", "cos"):
                assert rows.classes[cls] == primitive
            pos += length
    page = render(api.trace(loop_and_branch, "f32[4]", 3, static_argnames="n"), "html")
    for theme in (themes.DARK, themes.LIGHT):
        color = theme[Name.Function].upper()
        assert re.search(rf"\.code \.{primitive} \{{[^}}]*{color}", page)


def test_a_source_label_is_the_file_name_and_line() -> None:
    assert source_label(f"{loop_and_branch.__code__.co_filename}:12") == "rendering.py:12"
