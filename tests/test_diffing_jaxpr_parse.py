"""parse_jaxpr: the jaxpr text as JAX prints it (shared `let` jaxprs, wrapped binders, one-line
jaxprs) read into items whose keys abstract variable names away."""

from __future__ import annotations

import re
from collections import Counter
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from jaxexplain.diffing.jaxpr_parse import (
    JaxprParseError,
    line_items,
    parse_jaxpr,
    shared_blocks,
)
from tests.targets.diffing import many_carries, power, shared

SHAPES = {shared: (4,), many_carries: (5,), jnp.sin: (4,)}


def printed(fn: Any, shape: tuple[int, ...]) -> tuple[str, Any]:
    """The text `jax.make_jaxpr` prints for `fn` on zeros of `shape`, and the jaxpr."""
    jaxpr = jax.make_jaxpr(fn)(jnp.zeros(shape))
    return str(jaxpr), jaxpr


@pytest.mark.parametrize("fn", list(SHAPES), ids=["shared", "many_carries", "one_line"])
def test_shared_let_jaxprs_wrapped_binders_and_one_line_jaxprs_parse(fn: Any) -> None:
    text, jaxpr = printed(fn, SHAPES[fn])
    kinds = [item.kind for item in parse_jaxpr(text)]
    blocks = 1 + len(re.findall(r"^let \w+ = ", text, re.MULTILINE))
    assert kinds.count("open") == kinds.count("close") == blocks
    if blocks == 1:
        assert kinds.count("eqn") == len(jaxpr.eqns)


def test_the_printings_those_cases_stand_for() -> None:
    """The cases above parse what they mean to: a shared jaxpr, binders wrapped onto more
    lines, and a whole jaxpr on one line."""
    assert "let eleven_steps = " in printed(shared, SHAPES[shared])[0]
    assert re.search(r"\n      \w+:f32\[3\] ", printed(many_carries, SHAPES[many_carries])[0])
    assert "\n" not in printed(jnp.sin, SHAPES[jnp.sin])[0]


def test_equations_parse_one_item_each_with_their_primitive() -> None:
    text, jaxpr = printed(partial(power, n=5), (3,))
    equations = [item for item in parse_jaxpr(text) if item.kind == "eqn"]
    assert Counter(item.head for item in equations) == Counter(
        eqn.primitive.name for eqn in jaxpr.eqns
    )


def test_keys_abstract_variable_names_away() -> None:
    text, _ = printed(partial(power, n=5), (3,))
    mirror = {chr(97 + k): chr(122 - k) for k in range(26)}
    renamed = re.sub(r"(?<![\w.])([a-z])(?![\w\[])", lambda m: mirror[m[1]], text)
    items, renamed_items = parse_jaxpr(text), parse_jaxpr(renamed)
    assert [item.key for item in items] == [item.key for item in renamed_items]
    assert [item.outs for item in items] != [item.outs for item in renamed_items]


def test_shared_blocks_span_each_let_jaxpr() -> None:
    text, _ = printed(shared, SHAPES[shared])
    items = parse_jaxpr(text)
    blocks = shared_blocks(items)
    assert sorted(blocks) == sorted(re.findall(r"^let (\w+) = ", text, re.MULTILINE))
    for name, (first, last) in blocks.items():
        assert (items[first].kind, items[first].head) == ("open", name)
        assert (items[last - 1].kind, items[last - 1].head) == ("close", name)


@pytest.mark.parametrize(
    "text",
    [
        "{ lambda ; a:f32[3]. let\n    b:f32[3] = sin a",
        "{ lambda ; a:f32[3]. let b:f32[3] = foo[x=(1, a in (b,) }",
        "{ lambda ; a. let b:f32[3] = sin a in (b,) }",
    ],
    ids=["ends_early", "unbalanced", "binder_without_type"],
)
def test_text_not_as_jax_prints_it_raises(text: str) -> None:
    with pytest.raises(JaxprParseError):
        parse_jaxpr(text)


def test_the_fallback_reads_one_item_per_line() -> None:
    items = line_items("alpha\n  beta\n")
    assert [(item.kind, item.key) for item in items] == [
        ("line", "alpha"),
        ("line", "beta"),
        ("line", ""),
    ]
