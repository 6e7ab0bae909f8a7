"""The jaxpr text as JAX prints it, read into diff items whose keys abstract variable names away."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\S+")
_BINDER = re.compile(r"(?:[a-z]+|_):\S")
_INNER_BINDER = re.compile(r"(?<![\w'\".])([a-z]+):(?=[A-Za-z~*])")
# A variable read or bound inside a nested jaxpr's parameters (no parameter name, type or literal).
INNER_VAR = re.compile(r"(?<![\w'\"=.<])(?<!= )(?<!\. )\b([a-z]+)\b(?![\w=\[(.'\"])(?! \()")
_OPERAND_VAR = re.compile(r"(?<!\S)[a-z]+(?!\S)")
_SQUARE = re.compile(r"[\[\]]")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_SPACES = re.compile(r"\s+")
_BRACKET_SPACE = re.compile(r"(?<=[\[(]) | (?=[\])])")
_LITERAL_NAMES = frozenset({"inf", "nan"})


class JaxprParseError(ValueError):
    """The jaxpr text is not in the form JAX prints; the diff falls back to lines."""


@dataclass(slots=True)
class Item:
    """One unit of the aligned diff: a jaxpr's opening (its binders), an equation, or its outputs.

    `key` abstracts variable names away (types, primitive, parameters and literals stay);
    `outs` are the names the item binds, `operands` what it reads, `inner` the names bound
    inside its nested jaxprs, in order of appearance.
    """

    kind: str
    start: int
    end: int
    key: str
    outs: list[str] = field(default_factory=list)
    out_types: list[str] = field(default_factory=list)
    head: str = ""
    params: str = ""
    operands: list[str] = field(default_factory=list)
    inner: list[str] = field(default_factory=list)
    consts: int = 0
    # Nested jaxprs are scopes of their own: JAX reuses outer names in them (`c` outside and in).
    inner_numbers: dict[str, int] = field(default_factory=dict)

    @property
    def coarse(self) -> str:
        """What two items must share to be one changed item rather than a removal and an addition."""
        return f"{self.kind}:{self.head}"


@dataclass(slots=True)
class _Chunk:
    start: int
    end: int
    text: str


def parse_jaxpr(text: str) -> list[Item]:
    """The jaxpr text (as JAX prints it, `let`-shared sub-jaxprs included) as diff items.

    JAX prints a jaxpr either on one line or one equation per line (an equation continues on
    more deeply indented lines while its brackets are open); the common one-line equation is
    parsed directly, everything else through bracket-aware tokens.

    Args:
        text: a report's `jaxpr.text`.

    Returns:
        Items in text order; raises `JaxprParseError` on text it does not understand.
    """
    lines = _Lines(text)
    items: list[Item] = []
    k = 0
    try:
        while k < len(lines.text):
            if lines.text[k].strip():
                k = _parse_block(lines, k, items)
            else:
                k += 1
    except IndexError as exc:
        raise JaxprParseError("the jaxpr text ended early") from exc
    _expand_shared_references(text, items)
    return items


def shared_blocks(items: list[Item]) -> dict[str, tuple[int, int]]:
    """Each `let NAME = { ... } in` jaxpr JAX printed once for several uses: NAME -> item range."""
    blocks: dict[str, tuple[int, int]] = {}
    opened: dict[str, int] = {}
    for k, item in enumerate(items):
        if item.kind == "open" and item.head:
            opened[item.head] = k
        elif item.kind == "close" and item.head in opened:
            blocks[item.head] = (opened.pop(item.head), k + 1)
    return blocks


def _expand_shared_references(text: str, items: list[Item]) -> None:
    """Keys of equations that name a shared jaxpr (`jit[name=f jaxpr=f]`) made from its body.

    JAX prints a jaxpr once, as `let f = { ... } in`, when it is used twice or is long, and inline
    otherwise; whether it is shared says nothing about the computation. With the body in the key,
    a call reads the same whether its side printed the callee shared or inline.
    """
    blocks = shared_blocks(items)
    if not blocks:
        return
    bodies = {name: _shared_body(text, items, span) for name, span in blocks.items()}
    # A shared jaxpr is named after the `name=` of its first caller, which is no reference.
    reference = re.compile(
        r"(?<=[=(\s])(?<!name=)(" + "|".join(map(re.escape, bodies)) + r")(?=[\s,)\]])"
    )

    def expanded(params: str, depth: int = 0) -> str:
        if depth > len(bodies):
            raise JaxprParseError("shared jaxprs that refer to each other in a cycle")
        return reference.sub(lambda m: expanded(bodies[m[1]], depth + 1), params)

    for k, item in enumerate(items):
        if item.kind == "eqn" and item.params and reference.search(item.params):
            binders = [f"{n}:{t}" for n, t in zip(item.outs, item.out_types, strict=True)]
            prim = item.head + item.params
            keyed = expanded(item.params)
            items[k] = _equation(item.start, item.end, binders, prim, item.operands, keyed)


def _shared_body(text: str, items: list[Item], span: tuple[int, int]) -> str:
    """`{ lambda ... }` of a shared jaxpr, as it would be printed inline."""
    body = text[items[span[0]].start : items[span[1] - 1].end]
    return body[body.index("{") : body.rindex("}") + 1]


class _Lines:
    """The text's lines with their offsets."""

    def __init__(self, text: str) -> None:
        self.whole = text
        self.text = text.split("\n")
        self.starts = []
        offset = 0
        for line in self.text:
            self.starts.append(offset)
            offset += len(line) + 1

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Offsets from the start of line `first` to the end of line `last` (inclusive)."""
        return self.starts[first], self.starts[last] + len(self.text[last])


def _parse_block(lines: _Lines, k: int, items: list[Item]) -> int:
    """One `[let NAME =] { lambda consts ; invars. let ... in outs } [in]`; returns the next line."""
    last = k
    while not _ends_header(lines.text[last]):
        last += 1
    lo, hi = lines.span(k, last)
    chunks = _chunks(lines.whole, lo, hi)
    name, consts, invars, i = _parse_header(chunks)
    names, types = _binders(consts + invars)
    key = f"open {name}|{' '.join(types[: len(consts)])};{' '.join(types[len(consts) :])}"
    items.append(
        Item("open", chunks[0].start, chunks[i].end, key, names, types, name, consts=len(consts))
    )
    if i + 1 < len(chunks):
        _parse_inline_body(chunks, i + 1, name, items)
        return last + 1
    k = last + 1
    indent = _indent(lines.text[k])
    while not _is_close(lines.text[k]):
        k = _parse_equation_lines(lines, k, indent, items)
    last = k
    while not lines.text[last].rstrip().endswith(("}", "} in")):
        last += 1
    _parse_close(_chunks(lines.whole, *lines.span(k, last)), 0, name, items)
    return last + 1


def _ends_header(line: str) -> bool:
    stripped = line.rstrip()
    return stripped.endswith(" let") or stripped == "let" or ". let " in stripped


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_close(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("in (") or stripped == "in"


def _parse_header(chunks: list[_Chunk]) -> tuple[str, list[str], list[str], int]:
    """`[let NAME =] { lambda consts ; invars. let`: the name, binders, and the index of `let`."""
    i = 0
    name = ""
    if chunks[0].text == "let" and chunks[2].text == "=":
        name = chunks[1].text
        i = 3
    _expect(chunks, i, "{")
    _expect(chunks, i + 1, "lambda")
    i += 2
    consts = []
    while chunks[i].text != ";":
        consts.append(chunks[i].text)
        i += 1
    i += 1
    invars = []
    while True:
        token = chunks[i].text
        i += 1
        if token == ".":
            break
        if token.endswith("."):
            invars.append(token[:-1])
            break
        invars.append(token)
    _expect(chunks, i, "let")
    return name, consts, invars, i


def _parse_inline_body(chunks: list[_Chunk], i: int, name: str, items: list[Item]) -> None:
    """The rest of a jaxpr printed on one line: equations (separated by `;`), then `in (...) }`."""
    while not _is_close_at(chunks, i):
        binders = []
        start = chunks[i].start
        while chunks[i].text != "=":
            binders.append(chunks[i].text)
            i += 1
        prim = chunks[i + 1].text
        i += 2
        operands: list[str] = []
        ended = prim.endswith(";")
        while not ended and not _is_close_at(chunks, i) and not _starts_inline_equation(chunks, i):
            operands.append(chunks[i].text)
            ended = operands[-1].endswith(";")
            i += 1
        if operands:
            operands[-1] = operands[-1].removesuffix(";")
        item = _equation(start, chunks[i - 1].end, binders, prim.removesuffix(";"), operands)
        items.append(item)
    _parse_close(chunks, i, name, items)


def _is_close_at(chunks: list[_Chunk], i: int) -> bool:
    return chunks[i].text == "in" and i + 1 < len(chunks) and chunks[i + 1].text.startswith("(")


def _starts_inline_equation(chunks: list[_Chunk], i: int) -> bool:
    """Binders followed by `=` start the next equation (`inf:f32[]` and `nan:f32[]` are literals)."""
    if not _BINDER.match(chunks[i].text) or chunks[i].text.split(":", 1)[0] in _LITERAL_NAMES:
        return False
    while i < len(chunks) and _BINDER.match(chunks[i].text):
        i += 1
    return i < len(chunks) and chunks[i].text == "="


def _parse_close(chunks: list[_Chunk], i: int, name: str, items: list[Item]) -> None:
    """`in (outputs) }` (and the `in` after a shared jaxpr)."""
    _expect(chunks, i, "in")
    outputs = [t for t in re.split(r"[\s,()]+", chunks[i + 1].text) if t]
    _expect(chunks, i + 2, "}")
    end = chunks[i + 2].end
    if name:
        _expect(chunks, i + 3, "in")
        end = chunks[i + 3].end
    key = "close " + " ".join(o if not is_var(o) else "_" for o in outputs)
    items.append(Item("close", chunks[i].start, end, key, head=name, operands=outputs))


def _parse_equation_lines(lines: _Lines, k: int, indent: int, items: list[Item]) -> int:
    """One equation starting at line `k` (continued while brackets are open or lines indent deeper)."""
    line = lines.text[k]
    depth = _depth_change(line)
    # An equation with no outputs (`debug_callback[...] a`) has no binders and no `=`.
    seen_equals = " = " in line or not _BINDER.match(line.lstrip(" "))
    last = k
    while depth or not seen_equals or _indent(lines.text[last + 1]) > indent:
        last += 1
        depth += _depth_change(lines.text[last])
        seen_equals = seen_equals or " = " in lines.text[last]
    if last == k:
        item = _one_line_equation(line, lines.starts[k])
        if item is not None:
            items.append(item)
            return k + 1
    chunks = _chunks(lines.whole, *lines.span(k, last))
    equals = 0
    if _BINDER.match(chunks[0].text):
        while chunks[equals].text != "=":
            equals += 1
    binders = [c.text for c in chunks[:equals]]
    prim = equals + 1 if binders else 0
    items.append(
        _equation(
            chunks[0].start,
            chunks[-1].end,
            binders,
            chunks[prim].text,
            [c.text for c in chunks[prim + 1 :]],
        )
    )
    return last + 1


def _one_line_equation(line: str, offset: int) -> Item | None:
    """The common case, `    c:f32[3] = mul[params] b a`, without tokenizing; None if unusual."""
    lhs, equals, rhs = line.partition(" = ")
    if not equals:
        return None
    head, _, rest = rhs.partition(" ")
    params = ""
    bracket = head.find("[")
    if bracket >= 0:
        close = _matching_square(rhs, bracket)
        if close < 0:
            return None
        head, params, rest = rhs[:bracket], rhs[bracket : close + 1], rhs[close + 1 :].lstrip(" ")
    start = offset + _indent(line)
    return _equation(start, offset + len(line), lhs.split(), head + params, rest.split())


def _matching_square(text: str, opening: int) -> int:
    depth = 0
    for m in _SQUARE.finditer(text, opening):
        depth += 1 if m.group() == "[" else -1
        if depth == 0:
            return m.start()
    return -1


def _equation(
    start: int,
    end: int,
    binders: list[str],
    prim: str,
    operands: list[str],
    keyed_params: str | None = None,
) -> Item:
    """An equation item: its key keeps types, primitive, parameters and literals, not names
    (the parameters as `keyed_params` reads them, where given: shared jaxprs written out)."""
    head, bracket, rest = prim.partition("[")
    params = bracket + rest
    names, types = _binders(binders)
    inner: list[str] = []
    canonical_params = params
    if params:
        canonical_params, inner = _canonical_params(params)
    if keyed_params is not None:
        canonical_params = _canonical_params(keyed_params)[0]
    operand_text = _OPERAND_VAR.sub("_", " ".join(operands))
    key = f"{' '.join(types)}={head}{canonical_params}|{operand_text}"
    return Item("eqn", start, end, key, names, types, head, params, operands, inner)


def _chunks(text: str, lo: int, hi: int) -> list[_Chunk]:
    """Whitespace-separated tokens of text[lo:hi], merged while a bracket is open."""
    chunks: list[_Chunk] = []
    depth = 0
    start = lo
    for m in _TOKEN.finditer(text, lo, hi):
        token = m.group()
        if depth == 0:
            start = m.start()
            if token == "{" or token == "}":
                chunks.append(_Chunk(start, m.end(), token))
                continue
        depth += _depth_change(token)
        if depth <= 0:
            depth = 0
            chunks.append(_Chunk(start, m.end(), text[start : m.end()]))
    if depth:
        raise JaxprParseError("unbalanced brackets in the jaxpr text")
    return chunks


def _depth_change(text: str) -> int:
    change = 0
    for opening, closing in ("[]", "()", "{}"):
        if opening in text or closing in text:
            change += text.count(opening) - text.count(closing)
    return change


def _expect(chunks: list[_Chunk], i: int, text: str) -> None:
    if chunks[i].text != text:
        raise JaxprParseError(f"expected {text!r} in the jaxpr text, found {chunks[i].text!r}")


def _binders(tokens: list[str]) -> tuple[list[str], list[str]]:
    names, types = [], []
    for token in tokens:
        name, colon, kind = token.partition(":")
        if not colon:
            raise JaxprParseError(f"expected NAME:TYPE in the jaxpr text, found {token!r}")
        names.append(name)
        types.append(kind)
    return names, types


def is_var(token: str) -> bool:
    """A variable name as JAX prints it (`a`, `bc`), not a literal (`2.0:f32[]`)."""
    return token.isalpha() and token.islower()


def _canonical_params(params: str) -> tuple[str, list[str]]:
    """Parameters with layout, memory addresses and nested jaxprs' own variable names abstracted."""
    if "0x" in params:
        params = _ADDRESS.sub("", params)
    inner: list[str] = []
    if "{" in params:
        inner = list(dict.fromkeys(m.group(1) for m in _INNER_BINDER.finditer(params)))
    if inner:
        local = {name: f"%{k}" for k, name in enumerate(inner)}
        params = INNER_VAR.sub(lambda m: local.get(m.group(1), m.group(1)), params)
    if "\n" in params or "{" in params:
        # Inline and shared printings of one jaxpr differ only in layout: `[\n  name=f` vs `[name=f`.
        params = _BRACKET_SPACE.sub("", _SPACES.sub(" ", params))
    return params, inner


def line_items(text: str) -> list[Item]:
    """The fallback for text `parse_jaxpr` does not understand: one item per line."""
    items = []
    offset = 0
    for line in text.split("\n"):
        items.append(Item("line", offset, offset + len(line), line.strip(), head=line.strip()))
        offset += len(line) + 1
    return items
