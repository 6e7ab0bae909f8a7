"""Tests for the jaxpr Pygments lexer, run on jaxprs that the installed JAX prints."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import pytest
from jax import lax
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    Text,
    _TokenType,
)

from jaxexplain.jaxpr_lexer import DROP_VAR, SHAPE, SHARED_JAXPR, JaxprLexer

Tokens = list[tuple[_TokenType, str]]

X = jnp.ones(3)
M = jnp.ones((3, 4))


def lex(text: str) -> Tokens:
    """Lexes `text` and checks what must hold for any jaxpr: exact text and no Error token."""
    tokens = list(JaxprLexer().get_tokens(text))
    assert "".join(value for _, value in tokens) == text
    assert [v for t, v in tokens if t in Error] == []
    return tokens


def lex_real(text: str) -> Tokens:
    """Like `lex`, and also no plain Text token: the lexer's catch-all never fires on real jaxprs.

    That catch-all is what keeps odd input from becoming Error tokens; on what JAX prints every
    piece should be recognized, so a new JAX syntax shows up here first.
    """
    tokens = lex(text)
    assert [v for t, v in tokens if t is Text] == []
    return tokens


def values(tokens: Tokens, ttype: _TokenType) -> list[str]:
    """The values of the tokens of exactly `ttype`."""
    return [v for t, v in tokens if t is ttype]


def jaxpr_text(f: Callable[..., Any], *args: Any) -> str:
    return str(jax.make_jaxpr(f)(*args))


def _elementwise(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.sin(a) * 2.0 + b - jnp.exp(a)


def _dot(a: jax.Array, b: jax.Array) -> jax.Array:
    return a @ b.T


def _reductions(a: jax.Array) -> tuple[jax.Array, ...]:
    return a.sum(axis=1), jnp.max(a), jnp.argmax(a, axis=0)


def _cond(p: jax.Array, a: jax.Array) -> jax.Array:
    return lax.cond(p > 0, lambda v: v + 1, lambda v: v * 2, a)


def _scan(c: jax.Array, xs: jax.Array) -> tuple[jax.Array, jax.Array]:
    return lax.scan(lambda c, x: (c + x, c * x), c, xs)


def _fori(a: jax.Array) -> jax.Array:
    return lax.fori_loop(0, 10, lambda i, v: v * i, a)


def _while(a: jax.Array) -> jax.Array:
    return lax.while_loop(lambda v: v.sum() < 10, lambda v: v + 1, a)


@jax.jit
def _inner(v: jax.Array) -> jax.Array:
    return jnp.tanh(v) + 1


def _nested_jit(a: jax.Array) -> jax.Array:
    return jax.jit(lambda b: _inner(b) * 2)(a)


def _custom_jvp(a: jax.Array) -> jax.Array:
    return jax.nn.relu(a) + jax.nn.gelu(a) + jax.nn.softplus(a)


def _random(seed: jax.Array) -> jax.Array:
    return jax.random.normal(jax.random.key(seed), (3,))


def _literals(a: jax.Array) -> tuple[jax.Array, ...]:
    return (
        jnp.where(a > 0, a, -jnp.inf),
        jnp.nan * a,
        a * 1e-30,
        a.astype(jnp.bfloat16),
        a > 1.5,
        jnp.logical_and(a > 0, True),
        a * (1 + 2j),
    )


def _nested_deep(a: jax.Array) -> jax.Array:
    def body(i: jax.Array, c: jax.Array) -> jax.Array:
        inner = jax.jit(lambda e: lax.cond(e.sum() > 0, jnp.sin, jnp.cos, e))
        return lax.fori_loop(0, 2, lambda j, d: inner(d), c)

    return lax.fori_loop(0, 3, body, a)


CASES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "elementwise": (_elementwise, (X, X)),
    "dot_general": (_dot, (M, M)),
    "reductions": (_reductions, (M,)),
    "cond": (_cond, (1.0, X)),
    "scan": (_scan, (0.0, X)),
    "fori_loop": (_fori, (X,)),
    "while_loop": (_while, (X,)),
    "nested_jit": (_nested_jit, (X,)),
    "grad": (jax.grad(lambda a: jnp.sum(jnp.sin(a) ** 2)), (X,)),
    "custom_jvp": (_custom_jvp, (X,)),
    "random": (_random, (0,)),
    "random_split": (jax.random.split, (jax.random.key(0),)),
    "literals": (_literals, (X,)),
    "nested_deep": (_nested_deep, (X,)),
    "constvars": (lambda a: a + jnp.array([1, 2, 3]), (X,)),
    "vmap": (jax.vmap(lambda a: jnp.dot(a, a)), (M,)),
    "checkpoint": (jax.checkpoint(lambda a: jnp.sin(jnp.sin(a))), (X,)),
    "switch": (lambda i, a: lax.switch(i, [lambda: a, lambda: a + 1, lambda: a * 2]), (1, X)),
    "linalg_solve": (jnp.linalg.solve, (jnp.eye(2), jnp.ones((2, 2)))),
    "debug_print": (lambda a: (jax.debug.print("a ] b # {x} ( [", x=a), a)[1], (X,)),
}


def _shared_definitions(tokens: Tokens) -> int:
    """How many `let name = { ... } in` definitions of shared jaxprs `tokens` holds."""
    return sum(
        1
        for i, (t, _) in enumerate(tokens)
        if t is SHARED_JAXPR and i >= 2 and tokens[i - 2] == (Keyword, "let")
    )


@pytest.mark.parametrize("name", list(CASES))
def test_real_jaxprs_lex_cleanly(name: str) -> None:
    f, args = CASES[name]
    text = jaxpr_text(f, *args)
    tokens = lex_real(text)
    keywords = values(tokens, Keyword)
    # Every jaxpr, however deeply nested, is recognized as one `{ lambda ... let ... in (...) }`;
    # a shared jaxpr adds a `let name = ... in` around its own.
    assert keywords.count("lambda") == text.count("{ lambda ") >= 1
    jaxprs_and_shared = keywords.count("lambda") + _shared_definitions(tokens)
    assert keywords.count("let") == keywords.count("in") == jaxprs_and_shared
    assert values(tokens, Name.Function)


def test_frame_tokens() -> None:
    text = jaxpr_text(lambda a: a + jnp.array([1, 2, 3]), X)
    assert text.startswith("{ lambda a:i32[3]; b:f32[3]. let")
    tokens = lex_real(text)
    assert tokens[:12] == [
        (Punctuation, "{"),
        (Text.Whitespace, " "),
        (Keyword, "lambda"),
        (Text.Whitespace, " "),
        (Name.Variable, "a"),
        (Punctuation, ":"),
        (Keyword.Type, "i32"),
        (SHAPE, "[3]"),
        (Punctuation, ";"),
        (Text.Whitespace, " "),
        (Name.Variable, "b"),
        (Punctuation, ":"),
    ]
    assert (Keyword, "let") in tokens
    assert tokens[-3:] == [(Punctuation, ")"), (Text.Whitespace, " "), (Punctuation, "}")]


def test_equation_tokens() -> None:
    tokens = lex_real(jaxpr_text(_elementwise, X, X))
    assert values(tokens, Name.Function) == ["sin", "mul", "add", "exp", "sub"]
    assert set(values(tokens, Name.Variable)) == set("abcdefg")
    assert values(tokens, Number.Float) == ["2.0"]
    assert set(values(tokens, Keyword.Type)) == {"f32"}
    assert set(values(tokens, SHAPE)) == {"[3]", "[]"}
    assert values(tokens, Operator) == ["="] * 5


def test_params() -> None:
    tokens = lex_real(jaxpr_text(_dot, M, M))
    assert "dot_general" in values(tokens, Name.Function)
    assert "transpose" in values(tokens, Name.Function)
    attributes = values(tokens, Name.Attribute)
    assert {"dimension_numbers", "preferred_element_type", "permutation"} <= set(attributes)
    assert "float32" in values(tokens, Keyword.Type)
    assert set(values(tokens, SHAPE)) == {"[3,4]", "[4,3]", "[3,3]"}

    tokens = lex_real(jaxpr_text(_reductions, M))
    assert {"reduce_sum", "reduce_max", "argmax"} <= set(values(tokens, Name.Function))
    assert {"axes", "index_dtype", "out_sharding"} <= set(values(tokens, Name.Attribute))
    assert "None" in values(tokens, Keyword.Constant)
    assert "int32" in values(tokens, Keyword.Type)


def test_sub_jaxpr_params() -> None:
    cond = lex_real(jaxpr_text(_cond, 1.0, X))
    assert {"gt", "convert_element_type", "cond", "mul", "add"} <= set(values(cond, Name.Function))
    assert "branches" in values(cond, Name.Attribute)
    assert values(cond, Keyword).count("lambda") == 3

    scan = lex_real(jaxpr_text(_scan, 0.0, X))
    assert {"jaxpr", "length", "reverse", "unroll"} <= set(values(scan, Name.Attribute))
    assert "scan" in values(scan, Name.Function)

    loop = lex_real(jaxpr_text(_while, X))
    assert {"body_jaxpr", "cond_jaxpr"} <= set(values(loop, Name.Attribute))
    assert {"while", "reduce_sum", "lt"} <= set(values(loop, Name.Function))

    nested = lex_real(jaxpr_text(_nested_jit, X))
    assert values(nested, Name.Function).count("jit") == 2
    assert values(nested, Name.Attribute).count("name") == 2
    assert "tanh" in values(nested, Name.Function)
    assert values(nested, Keyword).count("lambda") == 3


def _sub_jaxpr(tokens: Tokens, attribute: str) -> Tokens:
    """The tokens of the sub-jaxpr given as param `attribute`, without whitespace."""
    start = tokens.index((Name.Attribute, attribute)) + 2
    assert tokens[start] == (Punctuation, "{")
    depth = 0
    out: Tokens = []
    for t, v in tokens[start:]:
        if t is Punctuation and v in "{}":
            depth += 1 if v == "{" else -1
        if t is not Text.Whitespace:
            out.append((t, v))
        if depth == 0:
            return out
    raise AssertionError(f"{attribute} is not closed")


def _types(tokens: Tokens) -> list[_TokenType]:
    return [t for t, _ in tokens if t is not Text.Whitespace]


@pytest.mark.parametrize(
    ("f", "args", "attribute"),
    [
        (_scan, (0.0, X), "jaxpr"),
        (_while, (X,), "cond_jaxpr"),
        (_nested_jit, (X,), "jaxpr"),
        (_custom_jvp, (X,), "call_jaxpr"),
    ],
)
def test_sub_jaxprs_lex_like_top_level(
    f: Callable[..., Any], args: tuple[Any, ...], attribute: str
) -> None:
    """A jaxpr inside params gets the same tokens as the same jaxpr printed on its own."""
    closed = jax.make_jaxpr(f)(*args)
    eqn = next(e for e in closed.eqns if attribute in e.params)
    alone = lex_real(str(eqn.params[attribute]))
    embedded = _sub_jaxpr(lex_real(str(closed)), attribute)
    # Variable names differ (JAX numbers them per printout); the token types must not.
    assert _types(embedded) == _types(alone)


def test_drop_vars_and_keys() -> None:
    tokens = lex_real(jaxpr_text(_fori, X))
    assert "_" in values(tokens, DROP_VAR)
    assert "_" not in values(tokens, Name.Variable)

    tokens = lex_real(jaxpr_text(_random, 0))
    assert "key<fry>" in values(tokens, Keyword.Type)
    assert {"random_seed", "random_bits"} <= set(values(tokens, Name.Function))


def test_shared_jaxprs() -> None:
    g = jax.jit(lambda v: jnp.sin(v) * 2 + jnp.cos(v))
    text = jaxpr_text(lambda a: g(g(a)), X)
    assert text.startswith("let ")
    tokens = lex_real(text)
    name = values(tokens, SHARED_JAXPR)[0]
    assert tokens[:3] == [(Keyword, "let"), (Text.Whitespace, " "), (SHARED_JAXPR, name)]
    assert values(tokens, SHARED_JAXPR).count(name) == 3  # defined once, used twice


def test_literals() -> None:
    tokens = lex_real(jaxpr_text(_literals, X))
    floats = values(tokens, Number.Float)
    assert {"-inf", "nan", "1.0000000031710769e-30", "1.5", "(1+2j)"} <= set(floats)
    assert "True" in values(tokens, Keyword.Constant)
    assert {"bf16", "bool", "c64", "f32"} <= set(values(tokens, Keyword.Type))
    assert "bfloat16" in values(tokens, Keyword.Type)

    tokens = lex_real(jaxpr_text(_fori, X))
    assert {"0", "1"} <= set(values(tokens, Number.Integer))


def test_x64_types() -> None:
    enable_x64 = getattr(jax, "enable_x64", None)
    if enable_x64 is None:
        pytest.skip("this JAX has no jax.enable_x64")
    with enable_x64(True):
        text = jaxpr_text(lambda a, i: (a * 2 + 1, i + 1), jnp.ones(3, jnp.float64), jnp.int64(1))
    tokens = lex_real(text)
    assert {"f64", "i64"} <= set(values(tokens, Keyword.Type))


def test_source_info_comments() -> None:
    closed = jax.make_jaxpr(_cond)(1.0, X)
    text = closed.pretty_print(source_info=True, name_stack=True)
    tokens = lex_real(text)
    comments = values(tokens, Comment.Single)
    assert any("test_jaxpr_lexer.py" in c for c in comments)
    assert all(c.startswith("#") for c in comments)
    # The comments change nothing else.
    plain = lex_real(closed.pretty_print(source_info=False))
    assert values(tokens, Name.Function) == values(plain, Name.Function)
    assert values(tokens, Name.Attribute) == values(plain, Name.Attribute)

    nested = jax.make_jaxpr(_nested_deep)(X).pretty_print(source_info=True, name_stack=True)
    nested_tokens = lex_real(nested)
    assert values(nested_tokens, Keyword).count("lambda") == nested.count("{ lambda")


def test_trace_jaxpr() -> None:
    text = str(jax.jit(lambda a, b: (a @ b, jax.nn.gelu(a))).trace(M, M.T).jaxpr)
    tokens = lex_real(text)
    assert {"dot_general", "tanh"} <= set(values(tokens, Name.Function))


def test_effects_and_untyped_binders() -> None:
    closed = jax.make_jaxpr(lambda a: (jax.debug.print("{}", a, ordered=True), a)[1])(X)
    tokens = lex_real(closed.jaxpr.pretty_print(print_effects=True))
    assert "debug_print" in values(tokens, Name.Function)
    assert "fmt" in values(tokens, Name.Attribute)

    tokens = lex_real(jax.make_jaxpr(_cond)(1.0, X).pretty_print(print_shapes=False))
    assert set(values(tokens, SHAPE)) == {"[]"}  # only literals still carry types
    assert {"c", "d", "e"} <= set(values(tokens, Name.Variable))
    assert "cond" in values(tokens, Name.Function)


def test_debug_print_format_string_does_not_end_params() -> None:
    """`]`, `#`, `(` and `[` in a format string are value text, not structure."""
    tokens = lex_real(jaxpr_text(CASES["debug_print"][0], *CASES["debug_print"][1]))
    attributes = values(tokens, Name.Attribute)
    assert {"fmt", "has_placeholders", "ordered", "static_args"} <= set(attributes)
    assert values(tokens, Comment.Single) == []
    assert values(tokens, Name.Variable)[-2:] == ["a", "a"]


def test_variable_names_that_look_like_keywords() -> None:
    """JAX names variables a..z, ba, ...: big jaxprs have variables `in`, `let`, `nan`, `inf`."""

    def f(a: jax.Array) -> jax.Array:
        for _ in range(9000):
            a = jnp.sin(a)
        return a

    text = jaxpr_text(f, X)
    for name in ("in", "let", "nan", "inf", "do"):
        assert f"\n    {name}:f32[3] = sin " in text
    tokens = lex_real(text)
    variables = set(values(tokens, Name.Variable))
    assert {"in", "let", "nan", "inf", "do"} <= variables
    assert values(tokens, Keyword) == ["lambda", "let", "in"]
    assert values(tokens, Number.Float) == []


def test_wrapped_lines() -> None:
    """JAX wraps long binder and operand lists; the continuation lines lex the same way."""

    def f(*a: jax.Array) -> tuple[jax.Array, ...]:
        return lax.scan(lambda c, _: (tuple(v * 2 for v in c), None), a, None, length=3)[0]

    text = jaxpr_text(f, *[X] * 30)
    outer = text[text.rindex("{ lambda") :]
    binders, rest = outer.split(" = scan[")
    operands = rest.split("] ", 1)[1].split("\n  in (")[0]
    assert "\n" in binders.split(". let")[1]
    assert "\n" in operands
    tokens = lex_real(outer)
    scan = tokens.index((Name.Function, "scan"))
    let = tokens.index((Keyword, "let"))
    lhs = [t for t, _ in tokens[let + 1 : scan - 3] if t is not Text.Whitespace]
    assert lhs == [Name.Variable, Punctuation, Keyword.Type, SHAPE] * 30
    close = tokens.index((Punctuation, "]"), scan)
    end = tokens.index((Keyword, "in"), close)
    rhs = [t for t, _ in tokens[close + 1 : end] if t is not Text.Whitespace]
    assert rhs == [Name.Variable] * 30


def test_fragments() -> None:
    """A single equation, as a renderer may show one, lexes on its own."""
    tokens = lex_real("c:f32[3] = add a 1.0:f32[]")
    assert values(tokens, Name.Function) == ["add"]
    assert values(tokens, Name.Variable) == ["c", "a"]
    tokens = lex_real("dot_general[dimension_numbers=(([1], [0]), ([], []))] a b")
    assert values(tokens, Name.Function) == ["dot_general"]
    assert values(tokens, Name.Attribute) == ["dimension_numbers"]


def test_garbled_text_never_yields_error_tokens() -> None:
    rng = random.Random(0)
    samples = [
        jaxpr_text(CASES[name][0], *CASES[name][1])
        for name in ("cond", "nested_jit", "debug_print")
    ]
    alphabet = "{}[]()<>;:.,=+-#'\"_ \n\tabcxyz019eE@*"
    for _ in range(300):
        chars = list(rng.choice(samples))
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(chars))
            if rng.random() < 0.5:
                del chars[i]
            else:
                chars.insert(i, rng.choice(alphabet))
        lex("".join(chars))
    for _ in range(300):
        lex("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200))))


@pytest.mark.slow
def test_large_jaxpr_lexes_completely() -> None:
    """A 100,000-line jaxpr (its speed is measured in benchmarks/, not asserted here)."""

    def f(x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        for i in range(25_000):
            x = jnp.sin(x) * 1.5
            y = y + x.sum(axis=0)
            if i % 500 == 0:
                x = lax.cond(y.sum() > 0, lambda a: a + 1.0, lambda a: a - 1.0, x)
        return x, y

    text = jaxpr_text(f, jnp.ones((4, 3)), jnp.ones(3))
    assert text.count("\n") > 100_000
    tokens = lex(text)
    assert values(tokens, Keyword).count("lambda") == 1 + 2 * 50
