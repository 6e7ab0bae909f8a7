"""A Pygments lexer for jaxpr text: the one source of token types for terminal and HTML colors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from pygments.lexer import RegexLexer, bygroups, default, include
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
    _TokenType,
)

__all__ = ["DROP_VAR", "SHAPE", "SHARED_JAXPR", "JaxprLexer"]

#: The dims of a type, ``[3,4]`` in ``f32[3,4]``, and a ``{V:x}`` sharding suffix. A subtype of
#: Keyword.Type, so a style that knows only Keyword.Type still colors the whole type alike.
SHAPE: _TokenType = Keyword.Type.Shape
#: The ``_`` binder of an output that is dropped. Not a Name.Variable, so that a renderer linking
#: variables to their binders leaves it alone.
DROP_VAR: _TokenType = Name.Builtin.Pseudo
#: The name of a jaxpr that JAX prints once (``let _where = { lambda ... } in``) and then refers
#: to from params (``jaxpr=_where``).
SHARED_JAXPR: _TokenType = Name.Label

# Pieces of regexes. None of them nests a quantifier inside another over overlapping
# characters, so no rule can backtrack catastrophically on long lines.
_IDENT = r"[A-Za-z_]\w*"
# f32, bool, key<fry>, f32<host>: JAX's short dtype name, then an optional memory space or PRNG impl.
_DTYPE = r"[A-Za-z_]\w*(?:<[^<>\s\[\]{}()]*>)?"
# [3,4], [], [8@x,4], [8@(x,y)]
_DIMS = r"\[[^\[\]\n]*\]"
# The {V:x, U:y} varying/unreduced axes suffix, or any other {...} suffix a newer JAX adds.
_SUFFIX = r"\{[^{}\n]*\}"
_FAST_TYPE = rf"({_DTYPE})({_DIMS})({_SUFFIX})?"
_FLOAT = r"-?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|-?\d+[eE][+-]?\d+"
_INT_RE = re.compile(r"-?\d+")
# The value of a literal operand, before its `:type`: 2, -1.5e-30, 1j, nan, -inf, True,
# (1+2j), (nan+infj), [...] for an array, (b'',) for a float0.
_LITERAL = (
    r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?j?|-?inf|-?nan|True|False|\[\.\.\.\]|\([^()\n]*\)"
)
# What may follow `in` when it is the keyword and not an operand named `in`: the outvars tuple,
# unless that parenthesis is a complex literal such as (1+2j):c64[].
_IN_KEYWORD = r"in(?= \()(?!\s*\([^()\n]*\):)"
# A line of wrapped operands: JAX breaks a long operand list onto following lines. Such a line
# starts with a literal or with a bare variable, never with a binder (`a:f32[]`), a ref (`a[...]`)
# or the `in (` that ends the body. `nan`/`inf` are both literals and variable names (JAX names
# variables a..z, ba, bb, ..., so `nan`, `inf`, `in` and `let` all occur in big jaxprs); as a
# binder the line has an ` = `.
_CONTINUATION = (
    r"\n(?=[ \t]*(?:"
    r"[\d\-(]"
    r"|(?:True|False|\[\.\.\.\]):"
    r"|(?:nan|inf):(?![^\n]*\s(?:=|<-)\s)"
    rf"|(?!in \(){_IDENT}\b(?=[ \t]*(?:$|#|[\w(\-])))"
    r")"
)
# A source_info comment inside params: JAX pads it with spaces and writes either
# `file.py:3:17 (f)`, `unknown` or a `[name/stack]`. Requiring that shape keeps a `#` inside a
# debug_print format string from eating the `]` that closes the params.
_PARAM_COMMENT = r"(?<=\s)#(?= (?:\S+:\d+|unknown\b|\[)| *$)[^\n]*"
# A line that closes params broken over lines (see the `params-block` state), or that starts the
# next param: a bracket left open by a value's text, such as a format string, ends there.
_BLOCK_END = r"\s*\n[ \t]*(?:\]|\w+=)"
# Literals spelled like variables; as literals they always carry a type.
_WORD_LITERAL = r"(?:nan|inf|True|False):"
_VALUE_DTYPE = r"(?:bfloat16|float\d+(?:_\w+)?|u?int\d+|complex\d+|bool|float0)\b"


def _nothing(
    lexer: RegexLexer, match: re.Match[str], ctx: Any = None
) -> Iterator[tuple[int, _TokenType, str]]:
    """Yields no token: for lookahead rules that only pop, so no empty tokens reach formatters."""
    return iter(())


def _pop_before(regex: str) -> tuple[Any, ...]:
    """A rule that leaves the state, without consuming, when `regex` comes next."""
    return (rf"(?={regex})", _nothing, "#pop")


def _binder(
    lexer: RegexLexer, match: re.Match[str], ctx: Any = None
) -> Iterator[tuple[int, _TokenType, str]]:
    """Yields a binder's name: `_` (an output nobody reads) gets its own token."""
    name = match.group()
    yield match.start(), DROP_VAR if name == "_" else Name.Variable, name


def _typed(value: str, token: Any) -> list[tuple[Any, ...]]:
    """Rules for `value:type` (a literal or a binder), fast path first.

    The fast path lexes the whole `2.0:f32[]` in one regex, which is most of what a large jaxpr
    holds; the slow path hands the type to the `type` state for `Ref{f32[8]}` and the like.
    """
    fast = (
        rf"({value})(:){_FAST_TYPE}",
        bygroups(token, Punctuation, Keyword.Type, SHAPE, SHAPE),
    )
    slow = (rf"({value})(:)", bygroups(token, Punctuation), "type")
    return [fast, slow]


def _literal(
    lexer: RegexLexer, match: re.Match[str], ctx: Any = None
) -> Iterator[tuple[int, _TokenType, str]]:
    """Yields a literal's value with the token of its kind.

    One regex takes every kind of literal and this picks the token, which is cheaper than a rule
    per kind: most of a large jaxpr is binders and operands, and each rule tried costs time.
    """
    value = match.group()
    if value in ("True", "False"):
        token = Keyword.Constant
    elif _INT_RE.fullmatch(value):
        token = Number.Integer
    elif value[0] == "(" and not value.endswith("j)"):
        token = Number  # e.g. the float0 zero `(b'',)`
    elif value == "[...]":
        token = Number  # an array literal, printed without its elements
    else:
        token = Number.Float
    yield match.start(), token, value


def _literals() -> list[tuple[Any, ...]]:
    """Rules for literal operands: `2.0:f32[]`, `-inf:f32[]`, `True:bool[]`, `(1+2j):c64[]`."""
    return _typed(_LITERAL, _literal)


class JaxprLexer(RegexLexer):
    """Lexes jaxprs as JAX prints them (`str(jax.make_jaxpr(f)(...))`, `.trace(...).jaxpr`).

    Each `{ lambda ... }` is one entry on the state stack that moves through `jaxpr-head`,
    `jaxpr-body` and `jaxpr-out`, so a sub-jaxpr inside params lexes exactly like the top level,
    nested to any depth. Param values are whatever `str()` gives, so every state ends in rules that
    take any character: the lexer never yields Token.Error, it only colors oddities plainly.

    Tokens reproduce the input exactly: `stripnl` and `ensurenl` default to off, because the
    renderers map token offsets back onto the text.
    """

    name = "jaxpr"
    aliases: ClassVar[list[str]] = ["jaxpr"]
    filenames: ClassVar[list[str]] = ["*.jaxpr"]
    mimetypes: ClassVar[list[str]] = ["text/x-jaxpr"]

    def __init__(self, **options: Any) -> None:
        options.setdefault("stripnl", False)
        options.setdefault("ensurenl", False)
        super().__init__(**options)

    tokens: ClassVar[dict[str, list[Any]]] = {
        # Top level: shared jaxprs (`let name = { ... } in`), then the jaxpr. Equations are
        # accepted here too so that a single equation line lexes on its own. No rule here may
        # match the empty string: popping the root is a no-op and would loop.
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            include("shared-def"),
            (r"\{", Punctuation, "jaxpr-head"),
            (r"(in)( )(?=\()", bygroups(Keyword, Whitespace), "jaxpr-out"),
            (r"[}\])]", Punctuation),
            include("eqn"),
            (r".", Text),
        ],
        "shared-def": [
            (
                r"(let)(\s+)([^\s=]+)(\s*)(=)(?=\s*\{)",
                bygroups(Keyword, Whitespace, SHARED_JAXPR, Whitespace, Operator),
            ),
            (r"in(?=\s*(?:\{|let\s|$))", Keyword),
        ],
        # `{ lambda a:i32[3]; b:f32[3]. let` -- constvars, `;`, invars, `.`.
        "jaxpr-head": [
            (r"\s+", Whitespace),
            *_typed(_IDENT, _binder),
            (r"lambda\b", Keyword),
            (r";", Punctuation),
            (
                r"(\.)(\s*)(let)\b",
                bygroups(Punctuation, Whitespace, Keyword),
                ("#pop", "jaxpr-body"),
            ),
            (r"let\b", Keyword, ("#pop", "jaxpr-body")),
            (_IDENT, Name.Variable),  # print_shapes=False
            (r"#[^\n]*", Comment.Single),
            (r"\}", Punctuation, "#pop"),
            _pop_before(r"[\])]"),
            (r"[^\s\w]", Punctuation),
            (r".", Text),
        ],
        # Equations, one per line or separated by `; `, up to `in (`.
        "jaxpr-body": [
            include("eqn"),
            (r"\s+", Whitespace),
            (_IN_KEYWORD, Keyword, ("#pop", "jaxpr-out")),
            (r"\}", Punctuation, "#pop"),
            _pop_before(r"[\])]"),
            (r".", Text),
        ],
        # The start of an equation, up to and including the primitive's name.
        "eqn": [
            *_typed(_IDENT, _binder),
            (
                r"([ \t]*)(=)([ \t]+)([A-Za-z_]\w*)",
                bygroups(Whitespace, Operator, Whitespace, Name.Function),
                "rhs",
            ),
            (r"[ \t]+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            # Ref effects as the state primitives print them: `x[i] <- v`, `y:T <- x[i]`,
            # `x[i] += v`.
            (r"<-|\+=", Operator, "ref-rhs"),
            (rf"{_IDENT}\b(?=[^\n=<#]*(?:<-|\+=))", Name.Variable),
            (r"\[", Punctuation, "index"),
            (r"[,;]", Punctuation),
            # Binders without types (print_shapes=False): `a b = add c d`.
            (rf"{_IDENT}(?=(?:[ \t]+{_IDENT})*[ \t]+=[ \t])", Name.Variable),
            # An equation without outputs (debug_print, ...) starts with its primitive.
            (rf"(?!{_IN_KEYWORD}){_IDENT}", Name.Function, "rhs"),
            (r"=", Operator),
        ],
        # After the primitive: params, then operands, to the end of the equation.
        "rhs": [
            (
                rf"([ \t]+)(?!{_WORD_LITERAL}|{_IN_KEYWORD})({_IDENT})",
                bygroups(Whitespace, Name.Variable),
            ),
            (
                rf"([ \t]+)({_LITERAL})(:){_FAST_TYPE}",
                bygroups(Whitespace, _literal, Punctuation, Keyword.Type, SHAPE, SHAPE),
            ),
            # A binder on the next line ends the equation; wrapped operands do not.
            (rf"\n[ \t]*(?=(?!{_WORD_LITERAL}){_IDENT}:)", Whitespace, "#pop"),
            (r"[ \t]+", Whitespace),
            *_literals(),
            (r"\[(?=[ \t]*(?:#[^\n]*)?\n)", Punctuation, "params-block"),
            (r"\[", Punctuation, "params"),
            (rf"(?!{_WORD_LITERAL}|{_IN_KEYWORD}){_IDENT}", Name.Variable),
            (_CONTINUATION, Whitespace),
            (r"\n", Whitespace, "#pop"),
            (r";", Punctuation, "#pop"),
            (r"#[^\n]*", Comment.Single),
            _pop_before(rf"[}}\])]|{_IN_KEYWORD}"),
            (r"(=)([ \t]+)([A-Za-z_]\w*)", bygroups(Operator, Whitespace, Name.Function)),
            (r"[^\s\w]", Punctuation),
            (r".", Text),
        ],
        # After `<-` or `+=`: a ref with its indexers, or the value written.
        "ref-rhs": [
            (r"[ \t]+", Whitespace),
            *_literals(),
            (r"\[", Punctuation, "index"),
            (rf"(?!{_IN_KEYWORD}){_IDENT}", Name.Variable),
            (r"\n", Whitespace, "#pop"),
            (r";", Punctuation, "#pop"),
            (r"#[^\n]*", Comment.Single),
            _pop_before(rf"[}}\])]|{_IN_KEYWORD}"),
            (r"[^\s\w]", Punctuation),
            (r".", Text),
        ],
        # `[2:4]`, `[...]`, `[:, i]` after a ref.
        "index": [
            (r"\]", Punctuation, "#pop"),
            (r"\[", Punctuation, "#push"),
            (r"-?\d+", Number.Integer),
            (_IDENT, Name.Variable),
            (r"[ \t]+", Whitespace),
            _pop_before(r"[\n})]"),
            (r"[^\s\w]", Punctuation),
            (r".", Text),
        ],
        # `in (a, 2.0:f32[])`, an optional ` : { Effect }`, then the `}` that ends the jaxpr.
        "jaxpr-out": [
            (r"\s+", Whitespace),
            *_literals(),
            (_IDENT, Name.Variable),
            (r"[(),]", Punctuation),
            (r"(:)(\s*)(\{)", bygroups(Punctuation, Whitespace, Punctuation), "effects"),
            (r"\}", Punctuation, "#pop"),
            (r"#[^\n]*", Comment.Single),
            _pop_before(r"\]"),
            (r"[^\s\w]", Punctuation),
            (r".", Text),
        ],
        "effects": [
            (r"\}", Punctuation, "#pop"),
            (r"\{", Punctuation, "#push"),
            (r"\s+", Whitespace),
            (r",", Punctuation),
            (r"[^{},\s]+", Name),
        ],
        # A type after `:`, when the fast path did not take it: `Ref{f32[8]}`, `Tok`, ...
        "type": [
            (_FAST_TYPE, bygroups(Keyword.Type, SHAPE, SHAPE), "#pop"),
            (
                rf"({_DTYPE})(\{{)",
                bygroups(Keyword.Type, Punctuation),
                ("#pop", "type-close", "type"),
            ),
            (_DTYPE, Keyword.Type, "#pop"),
            default("#pop"),
        ],
        "type-close": [
            (r"\}", Punctuation, "#pop"),
            default("#pop"),
        ],
        # `[axes=(0,) out_sharding=None]` on the primitive's line: the first `]` outside a
        # value's brackets ends it.
        "params": [
            (r"\]", Punctuation, "#pop"),
            include("param"),
        ],
        # Params that JAX broke over lines, as it does for sub-jaxprs and long values. Only a `]`
        # that starts a line ends them, so a `]` inside a value, such as a debug_print format
        # string, does not.
        "params-block": [
            (r"(\s*\n[ \t]*)(\])", bygroups(Whitespace, Punctuation), "#pop"),
            (r"\]", Punctuation),
            include("param"),
        ],
        "param": [
            (r"\s+", Whitespace),
            (
                rf"(?<=[\s\[])(\w*jaxpr\w*)(=)(?!(?:None|True|False)\b)({_IDENT})(?=[\s\]])",
                bygroups(Name.Attribute, Operator, SHARED_JAXPR),
            ),
            (rf"(?<=[\s\[])({_IDENT})(=)", bygroups(Name.Attribute, Operator)),
            (r"[})]", Punctuation),
            include("value"),
        ],
        "paren": [
            (r"\)", Punctuation, "#pop"),
            _pop_before(r"[\]}]"),
            _pop_before(_BLOCK_END),
            # Keyword arguments in reprs: GatherDimensionNumbers(offset_dims=(0,), ...).
            (rf"(?<=[\s(,])({_IDENT})(=)(?!=)", bygroups(Name.Attribute, Operator)),
            include("value"),
        ],
        "bracket": [
            (r"\]", Punctuation, "#pop"),
            _pop_before(r"[)}]"),
            _pop_before(_BLOCK_END),
            include("value"),
        ],
        "brace": [
            (r"\}", Punctuation, "#pop"),
            _pop_before(r"[)\]]"),
            _pop_before(_BLOCK_END),
            include("value"),
        ],
        # A param value: JAX prints `str(value)`, so this takes anything, and recurses into
        # sub-jaxprs and brackets so that the `]` closing the params is found.
        "value": [
            (r"\s+", Whitespace),
            (r"\{(?=\s*lambda\b)", Punctuation, "jaxpr-head"),
            include("shared-def"),
            (_PARAM_COMMENT, Comment.Single),
            (r"'(?:[^'\\\n]|\\.)*'", String.Single),
            (r'"(?:[^"\\\n]|\\.)*"', String.Double),
            (r"0x[0-9a-fA-FX]+", Number.Hex),
            (rf"{_FLOAT}|-?(?:inf|nan)\b", Number.Float),
            (r"-?\d+", Number.Integer),
            (r"(?:None|True|False)\b", Keyword.Constant),
            (rf"({_VALUE_DTYPE})({_DIMS})?", bygroups(Keyword.Type, SHAPE)),
            (rf"{_IDENT}(?:\.{_IDENT})*", Name),
            (r"\(", Punctuation, "paren"),
            (r"\[", Punctuation, "bracket"),
            (r"\{", Punctuation, "brace"),
            (r"=", Operator),
            (r"[^\s\w]", Punctuation),
            (r".", Text),
        ],
    }
