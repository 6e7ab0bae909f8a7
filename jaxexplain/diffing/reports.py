"""Pure diff of two trace reports: the recompile verdict, flipped decisions, an aligned jaxpr diff.

Everything here works on the report data model (saved JSON reports diff as well as fresh
ones) and calls no JAX API. The jaxpr diff reads the reports' jaxpr text: equations are
parsed, variable names abstracted away, aligned with a near-linear sequence diff, and
rendered with one canonical naming shared by both sides, so that renaming is no change.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import linecache
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from jaxexplain.report import (
    LOOP_KINDS,
    DecisionChange,
    DiffReport,
    FigureChange,
    JaxprDiff,
    JaxprHunk,
    JaxprInfo,
    KeyChange,
    LibraryDecisionChange,
    TraceReport,
    Verification,
)
from jaxexplain.userfiles import library_label, short_path

CONTEXT = 3
DEFAULT_BUDGET = 1_500_000
MYERS_MAX_D = 256


def diff(a: TraceReport, b: TraceReport, *, vs: dict[str, str] | None = None) -> DiffReport:
    """Everything that differs between two traces of one function, and whether JAX recompiles.

    Args:
        a: the report of side A.
        b: the report of side B (A with some arguments changed).
        vs: the assignments that made B from A, as the user wrote them, for the report.

    Returns:
        The diff; `recompiles` is the prediction from the cache keys until `with_verification`
        adds what JAX itself did.
    """
    notes: list[str] = []
    changes = key_changes(a, b)
    predicted = None
    if a.cache_key is not None and b.cache_key is not None:
        predicted = a.cache_key.digest != b.cache_key.digest
        if predicted != bool(changes):
            notes.append(
                "the cache-key digests and the component comparison disagree; "
                "this is a jaxexplain bug, please report it"
            )
    notes += identity_notes(changes, b)
    jaxpr_changes = None
    if a.jaxpr is not None and b.jaxpr is not None:
        jaxpr_changes = jaxpr_diff(a.jaxpr, b.jaxpr, source_lookup(a, b))
    return DiffReport(
        target=a.target,
        a=a,
        b=b,
        recompiles=predicted,
        cache_key_changes=changes,
        decision_changes=decision_changes(a, b),
        library_decision_changes=library_decision_changes(a, b),
        jaxpr_diff=jaxpr_changes,
        predicted=predicted,
        compile_changes=compile_changes(a, b),
        vs=dict(vs or {}),
        notes=tuple(notes),
    )


def identity_notes(changes: Sequence[KeyChange], b: TraceReport) -> list[str]:
    """Side B's warnings for the statics that differ by identity: why a value that reads the
    same is another cache entry, and what to do about it."""
    if b.cache_key is None:
        return []
    changed = {c.path for c in changes if c.component == "static"}
    return [
        warning
        for static in b.cache_key.static
        if any(p.path in changed for p in static.identity_parts)
        for warning in static.warnings
    ]


def with_verification(report: DiffReport, verification: Verification) -> DiffReport:
    """The diff with JAX's own answer: `recompiles` becomes what JAX did when it was checked.

    Args:
        report: a diff from `diff`.
        verification: what calling the jitted function on both sides showed.

    Returns:
        The diff with `verification`, `verified` (checked and agreeing) and `recompiles` set.
    """
    recompiles = report.predicted
    if verification.checked and verification.jax_recompiled is not None:
        recompiles = verification.jax_recompiled
    return replace(
        report,
        verification=verification,
        verified=bool(verification.checked and verification.agrees),
        recompiles=recompiles,
    )


# --- cache key, decisions, compile figures -------------------------------------------------


def key_changes(a: TraceReport, b: TraceReport) -> tuple[KeyChange, ...]:
    """Every cache-key component that differs, unset statics described by their defaults."""
    if a.cache_key is None or b.cache_key is None:
        return ()
    # cache_key imports JAX for building keys; comparing them is pure, so import it late.
    from jaxexplain.tracing.key_compare import compare_keys

    changes = compare_keys(a.cache_key, b.cache_key)
    return tuple(_describe_unset(change, a, b) for change in changes)


_UNSET = "<traced or unset>"  # what compare_keys says of a static passed on one side only


def _describe_unset(change: KeyChange, a: TraceReport, b: TraceReport) -> KeyChange:
    """A static passed on one side only: say what the other side did (default or traced)."""
    if change.component != "static" or _UNSET not in (change.a, change.b):
        return change
    return replace(
        change,
        a=_argument_state(a, change.path) if change.a == _UNSET else change.a,
        b=_argument_state(b, change.path) if change.b == _UNSET else change.b,
    )


def _argument_state(report: TraceReport, name: str) -> str:
    for arg in report.arguments:
        if arg.name != name:
            continue
        if arg.source == "default":
            return f"not passed (default {arg.value})"
        if arg.role == "traced":
            return f"traced {arg.aval}"
    return "not passed"


def decision_changes(a: TraceReport, b: TraceReport) -> tuple[DecisionChange, ...]:
    """Decisions whose outcomes differ, keyed by (file, line, kind, column), in source order.

    Args:
        a: side A's report.
        b: side B's report.

    Returns:
        Flipped branches, loops with other iteration counts, and code that ran on one side only.
    """
    before = {(d.file, d.line, d.kind, d.column): d for d in a.decisions}
    after = {(d.file, d.line, d.kind, d.column): d for d in b.decisions}
    changes = []
    by_place = _outcomes_that_differ(before, after, lambda k: (k[0], k[1], k[3], k[2]))
    for key, x, y, some in by_place:
        changes.append(
            DecisionChange(
                file=some.file,
                line=some.line,
                source=some.source,
                a=x.outcomes if x else (),
                b=y.outcomes if y else (),
                kind=some.kind,
                change=_change_kind(x.outcomes if x else None, y.outcomes if y else None, key[2]),
                column=some.column,
            )
        )
    return tuple(changes)


def _outcomes_that_differ(
    before: dict[Any, Any], after: dict[Any, Any], order: Callable[[Any], Any] | None
) -> Iterator[tuple[Any, Any, Any, Any]]:
    """(key, A's record or None, B's or None, whichever exists) for every key whose outcomes
    differ between the sides or that ran on one side only, in key order."""
    for key in sorted(set(before) | set(after), key=order):
        x, y = before.get(key), after.get(key)
        if x is not None and y is not None and x.outcomes == y.outcomes:
            continue
        yield key, x, y, x or y


def library_decision_changes(a: TraceReport, b: TraceReport) -> tuple[LibraryDecisionChange, ...]:
    """Library tests on a static whose outcomes differ between the sides (or that ran on one
    side only), keyed by (static, file, line, column), in that order."""
    before = {(d.static, d.file, d.line, d.column): d for d in a.library_decisions}
    after = {(d.static, d.file, d.line, d.column): d for d in b.library_decisions}
    changes = []
    for _, x, y, some in _outcomes_that_differ(before, after, None):
        changes.append(
            LibraryDecisionChange(
                static=some.static,
                file=some.file,
                line=some.line,
                source=some.source,
                a=x.outcomes if x else (),
                b=y.outcomes if y else (),
                kind=some.kind,
            )
        )
    return tuple(changes)


def _change_kind(
    a: tuple[str | int, ...] | None, b: tuple[str | int, ...] | None, kind: str
) -> str:
    if a is None:
        return "only_b"
    if b is None:
        return "only_a"
    if kind in LOOP_KINDS:
        return "iterations"
    if kind == "while" and len(a) != len(b):
        return "iterations"
    return "flipped"


_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("flops", "flops", ""),
    ("transcendentals", "transcendentals", ""),
    ("bytes accessed", "bytes_accessed", "bytes"),
    ("argument memory", "memory.argument_bytes", "bytes"),
    ("output memory", "memory.output_bytes", "bytes"),
    ("temp memory", "memory.temp_bytes", "bytes"),
    ("generated code", "memory.generated_code_bytes", "bytes"),
    ("lower seconds", "lower_seconds", "s"),
    ("compile seconds", "compile_seconds", "s"),
)


def compile_changes(a: TraceReport, b: TraceReport) -> tuple[FigureChange, ...]:
    """XLA's figures of both sides, side by side (all of them: unchanged ones are news too)."""
    if a.compile is None and b.compile is None:
        return ()
    return tuple(
        FigureChange(name, _figure(a, path), _figure(b, path), unit)
        for name, path, unit in _FIGURES
    )


def _figure(report: TraceReport, path: str) -> float | None:
    value: object = report.compile
    for part in path.split("."):
        value = getattr(value, part, None)
    return value if isinstance(value, (int, float)) else None


# --- sequence alignment ----------------------------------------------------------------------

Opcode = tuple[str, int, int, int, int]


@dataclass
class Budget:
    """Work left for exact alignment; past it, regions are reported as replaced (honestly)."""

    left: int = DEFAULT_BUDGET
    approximate: int = 0

    def spend(self, amount: int) -> bool:
        self.left -= amount
        return self.left >= 0


def align(
    a: Sequence[Hashable], b: Sequence[Hashable], budget: Budget | None = None
) -> list[Opcode]:
    """difflib-style opcodes between two sequences, near-linear on what jaxprs look like.

    Common prefix and suffix first, then elements unique on both sides as anchors (patience
    diff), and Myers' O(ND) diff in the gaps with galloping snakes (slice comparisons run in
    C). Past the work budget a gap becomes one "replace" block, counted in
    `budget.approximate`.

    Args:
        a: the first sequence (hashable items; equal items are what may match).
        b: the second sequence.
        budget: work allowance shared by several calls.

    Returns:
        Opcodes ("equal", "replace", "delete", "insert", i1, i2, j1, j2) covering both sequences.
    """
    budget = budget or Budget()
    ids: dict[Hashable, int] = {}
    xa = [ids.setdefault(item, len(ids)) for item in a]
    xb = [ids.setdefault(item, len(ids)) for item in b]
    blocks = sorted(_matching_blocks(xa, xb, budget))
    return _opcodes(_merge_blocks(blocks), len(xa), len(xb))


def _matching_blocks(a: list[int], b: list[int], budget: Budget) -> list[tuple[int, int, int]]:
    """Matching runs (i, j, size), increasing on both sides."""
    blocks: list[tuple[int, int, int]] = []
    regions = [(0, len(a), 0, len(b))]
    while regions:
        alo, ahi, blo, bhi = regions.pop()
        head = _common_prefix(a, b, alo, ahi, blo, bhi)
        if head:
            blocks.append((alo, blo, head))
            alo, blo = alo + head, blo + head
        tail = _common_suffix(a, b, alo, ahi, blo, bhi)
        if tail:
            blocks.append((ahi - tail, bhi - tail, tail))
            ahi, bhi = ahi - tail, bhi - tail
        if alo == ahi or blo == bhi:
            continue
        anchors = _unique_anchors(a, b, alo, ahi, blo, bhi, budget)
        if anchors:
            previous = (alo, blo)
            for i, j in anchors:
                blocks.append((i, j, 1))
                regions.append((previous[0], i, previous[1], j))
                previous = (i + 1, j + 1)
            regions.append((previous[0], ahi, previous[1], bhi))
            continue
        found = _myers(a, b, alo, ahi, blo, bhi, budget)
        if found is None:
            budget.approximate += 1
            continue
        found_blocks, (x, y) = found
        blocks.extend(found_blocks)
        if (alo + x, blo + y) != (ahi, bhi):
            regions.append((alo + x, ahi, blo + y, bhi))
    return blocks


def _common_prefix(a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int) -> int:
    """Length of the common run at (alo, blo), found by galloping over C-level slice compares."""
    limit = min(ahi - alo, bhi - blo)
    if limit == 0 or a[alo] != b[blo]:
        return 0
    good, step = 1, 1
    while good < limit:
        bad = min(good + step, limit)
        if a[alo + good : alo + bad] == b[blo + good : blo + bad]:
            good, step = bad, step * 2
            continue
        while bad - good > 1:
            mid = (good + bad) // 2
            if a[alo + good : alo + mid] == b[blo + good : blo + mid]:
                good = mid
            else:
                bad = mid
        return good
    return good


def _common_suffix(a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int) -> int:
    """Length of the common run ending at (ahi, bhi)."""
    limit = min(ahi - alo, bhi - blo)
    if limit == 0 or a[ahi - 1] != b[bhi - 1]:
        return 0
    good, step = 1, 1
    while good < limit:
        bad = min(good + step, limit)
        if a[ahi - bad : ahi - good] == b[bhi - bad : bhi - good]:
            good, step = bad, step * 2
            continue
        while bad - good > 1:
            mid = (good + bad) // 2
            if a[ahi - mid : ahi - good] == b[bhi - mid : bhi - good]:
                good = mid
            else:
                bad = mid
        return good
    return good


def _unique_anchors(
    a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int, budget: Budget
) -> list[tuple[int, int]]:
    """Items occurring once on each side, in the longest order-preserving chain (patience)."""
    budget.spend((ahi - alo + bhi - blo) // 8)
    count_a = Counter(a[alo:ahi])
    count_b = Counter(b[blo:bhi])
    where_b = {x: j for j, x in enumerate(b[blo:bhi], blo) if count_b[x] == 1 and count_a[x] == 1}
    if not where_b:
        return []
    pairs = [(i, where_b[x]) for i, x in enumerate(a[alo:ahi], alo) if x in where_b]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest chain of pairs increasing in j (they already increase in i): patience sorting."""
    tails: list[int] = []
    tail_index: list[int] = []
    back = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_index.append(k)
        else:
            tails[pos] = j
            tail_index[pos] = k
        back[k] = tail_index[pos - 1] if pos else -1
    chain = []
    k = tail_index[-1] if tail_index else -1
    while k >= 0:
        chain.append(pairs[k])
        k = back[k]
    return chain[::-1]


def _myers(
    a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int, budget: Budget
) -> tuple[list[tuple[int, int, int]], tuple[int, int]] | None:
    """Myers' shortest edit script between two regions, as matching blocks and the point reached.

    Past MYERS_MAX_D edits the furthest-reaching path so far is taken and the rest of the
    region is left to the caller (GNU diff's heuristic for costly regions); None past the budget.
    """
    n, m = ahi - alo, bhi - blo
    if not set(a[alo:ahi]).intersection(b[blo:bhi]):
        return [], (n, m)
    limit = min(n + m, MYERS_MAX_D)
    offset = limit + 1
    frontier = [0] * (2 * offset + 1)
    history: list[list[int]] = []
    for d in range(limit + 1):
        if not budget.spend(d + 1):
            return None
        history.append(frontier[offset - d : offset + d + 1])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and frontier[offset + k - 1] < frontier[offset + k + 1]):
                x = frontier[offset + k + 1]
            else:
                x = frontier[offset + k - 1] + 1
            y = x - k
            if x < n and y < m:
                x += _common_prefix(a, b, alo + x, ahi, blo + y, bhi)
            frontier[offset + k] = x
            if x >= n and x - k >= m:
                return _myers_blocks(history, frontier, offset, d, k, alo, blo), (n, m)
    d = limit
    reachable = [
        k
        for k in range(-d, d + 1, 2)
        if frontier[offset + k] <= n and 0 <= frontier[offset + k] - k <= m
    ]
    if not reachable:
        return None
    k = max(reachable, key=lambda kk: 2 * frontier[offset + kk] - kk)
    x = frontier[offset + k]
    return _myers_blocks(history, frontier, offset, d, k, alo, blo), (x, x - k)


def _myers_blocks(
    history: list[list[int]],
    frontier: list[int],
    offset: int,
    d: int,
    k: int,
    alo: int,
    blo: int,
) -> list[tuple[int, int, int]]:
    """Walks Myers' frontiers back from the end, collecting the diagonal runs (snakes)."""
    blocks = []
    x = frontier[offset + k]
    while d > 0:
        previous = history[d]

        def at(kk: int, row: list[int] = previous, dd: int = d) -> int:
            return row[kk + dd]

        if k == -d or (k != d and at(k - 1) < at(k + 1)):
            prev_k = k + 1
            start_x = at(prev_k)
        else:
            prev_k = k - 1
            start_x = at(prev_k) + 1
        start_y = start_x - k
        if x > start_x:
            blocks.append((alo + start_x, blo + start_y, x - start_x))
        x = at(prev_k)
        k = prev_k
        d -= 1
    if x > 0:
        blocks.append((alo, blo, x))
    return blocks


def _merge_blocks(blocks: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    merged: list[tuple[int, int, int]] = []
    for i, j, size in blocks:
        if size <= 0:
            continue
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + size)
        else:
            merged.append((i, j, size))
    return merged


def _opcodes(blocks: list[tuple[int, int, int]], n: int, m: int) -> list[Opcode]:
    codes: list[Opcode] = []
    i = j = 0
    for bi, bj, size in [*blocks, (n, m, 0)]:
        if i < bi and j < bj:
            codes.append(("replace", i, bi, j, bj))
        elif i < bi:
            codes.append(("delete", i, bi, j, j))
        elif j < bj:
            codes.append(("insert", i, i, j, bj))
        if size:
            codes.append(("equal", bi, bi + size, bj, bj + size))
        i, j = bi + size, bj + size
    return codes


# --- jaxpr text as items ----------------------------------------------------------------------

_TOKEN = re.compile(r"\S+")
_BINDER = re.compile(r"(?:[a-z]+|_):\S")
_INNER_BINDER = re.compile(r"(?<![\w'\".])([a-z]+):(?=[A-Za-z~*])")
_INNER_VAR = re.compile(r"(?<![\w'\"=.<])(?<!= )(?<!\. )\b([a-z]+)\b(?![\w=\[(.'\"])(?! \()")
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
    key = "close " + " ".join(o if not _is_var(o) else "_" for o in outputs)
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


def _is_var(token: str) -> bool:
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
        params = _INNER_VAR.sub(lambda m: local.get(m.group(1), m.group(1)), params)
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


# --- the jaxpr diff ---------------------------------------------------------------------------

SourceLookup = Callable[[str], str | None]


@dataclass
class _Side:
    """One side's text, items, and the canonical number of each of its variable names."""

    text: str
    items: list[Item]
    sources: Sequence[str | None]
    libraries: Sequence[str | None] = ()
    canon: dict[str, int] = field(default_factory=dict)
    line_starts: list[int] = field(default_factory=list)
    main_start: int = 0  # the first item of the top-level jaxpr (JAX prints shared ones first)

    def __post_init__(self) -> None:
        self.main_start = max((hi for _, hi in shared_blocks(self.items).values()), default=0)

    def line_of(self, item: Item) -> int:
        """0-based text line of an item's start."""
        if not self.line_starts:
            self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return bisect.bisect_right(self.line_starts, item.start) - 1

    def source_of(self, item: Item) -> str | None:
        line = self.line_of(item)
        return self.sources[line] if line < len(self.sources) else None

    def library_of(self, item: Item) -> str | None:
        """The library frame that made an item's equation inside its user line's call."""
        line = self.line_of(item)
        return self.libraries[line] if line < len(self.libraries) else None


Row = tuple[str, int, int]


def jaxpr_diff(
    a: JaxprInfo, b: JaxprInfo, lookup: SourceLookup | None = None, budget: Budget | None = None
) -> JaxprDiff:
    """The real changes between two jaxprs: canonical names, aligned equations, unified hunks.

    Args:
        a: side A's jaxpr (text and per-line sources).
        b: side B's jaxpr.
        lookup: "file:line" -> that line's source text, for hunk headers.
        budget: work allowance for alignment (the default keeps 100,000 equations in seconds).

    Returns:
        Counts of added, removed and changed equations, per-primitive deltas, and the unified diff.
    """
    budget = budget or Budget()
    with _collector_paused():
        side_a, side_b = _sides(a, b)
        rows = _rows(side_a, side_b, budget)
    counts = Counter(
        status
        for status, ia, ib in rows
        if status != "equal" and _is_top_level_equation(side_a, side_b, ia, ib)
    )
    hunks, unified = _unified(side_a, side_b, rows, lookup or (lambda _: None))
    deltas = Counter(b.primitives)
    deltas.subtract(a.primitives)
    return JaxprDiff(
        equations_a=_top_level_equations(side_a),
        equations_b=_top_level_equations(side_b),
        sharing=tuple(_sharing_notes(side_a, side_b)),
        added=counts["added"],
        removed=counts["removed"],
        changed=counts["changed"],
        unified=unified,
        hunks=tuple(hunks),
        primitive_deltas={name: delta for name, delta in sorted(deltas.items()) if delta},
        approximate=budget.approximate,
    )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector while building many small objects that form no cycles.

    At 100,000 equations its repeated full passes otherwise double the time of the diff.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sides(a: JaxprInfo, b: JaxprInfo) -> tuple[_Side, _Side]:
    """Both texts as items; if either is not understood, both are compared line by line."""
    try:
        items_a, items_b = parse_jaxpr(a.text), parse_jaxpr(b.text)
    except JaxprParseError:
        items_a, items_b = line_items(a.text), line_items(b.text)
    return (
        _Side(a.text, items_a, a.line_sources, a.line_libraries),
        _Side(b.text, items_b, b.line_sources, b.line_libraries),
    )


def _is_top_level_equation(a: _Side, b: _Side, ia: int, ib: int) -> bool:
    """Counts are of the top-level equations, as `jax.make_jaxpr` counts them: a change inside a
    nested or shared jaxpr counts once, as the change of the equation that calls it."""
    side, index = (a, ia) if ia >= 0 else (b, ib)
    return index >= side.main_start and side.items[index].kind in ("eqn", "line")


def _top_level_equations(side: _Side) -> int:
    return sum(1 for item in side.items[side.main_start :] if item.kind in ("eqn", "line"))


def _one_sided_shared(side: _Side, other: _Side) -> dict[str, tuple[int, int]]:
    """Shared jaxprs of `side` that `other` does not print as shared (it prints them inline)."""
    theirs = shared_blocks(other.items)
    return {name: span for name, span in shared_blocks(side.items).items() if name not in theirs}


def _sharing_notes(a: _Side, b: _Side) -> list[str]:
    """What the diff leaves out as printing only: a jaxpr shared on one side, inline on the other."""
    notes = []
    for label, side, other in (("A", a, b), ("B", b, a)):
        for name in _one_sided_shared(side, other):
            notes.append(
                f"side {label} prints {name} once, as `let {name} = {{ ... }} in`, and refers to "
                f"it by name; the other side prints it inline. JAX shares a jaxpr used more "
                f"than once or longer than 10 equations: printing only, not a change"
            )
    return notes


def _aligned_indices(side: _Side, other: _Side) -> list[int]:
    """The items to align: all but shared jaxprs the other side prints inline, whose equations
    are compared through the equations that call them (their keys hold the body)."""
    skipped = _one_sided_shared(side, other).values()
    return [k for k in range(len(side.items)) if not any(lo <= k < hi for lo, hi in skipped)]


def _rows(a: _Side, b: _Side, budget: Budget) -> list[Row]:
    """Aligned rows (status, index in A or -1, index in B or -1), names made canonical on the way."""
    rows: list[Row] = []
    numbering = _Numbering(a.canon, b.canon)
    kept_a, kept_b = _aligned_indices(a, b), _aligned_indices(b, a)
    items_a, items_b = [a.items[k] for k in kept_a], [b.items[k] for k in kept_b]
    for ka, kb in _pairs(items_a, items_b, budget):
        ia = kept_a[ka] if ka >= 0 else -1
        ib = kept_b[kb] if kb >= 0 else -1
        x = a.items[ia] if ia >= 0 else None
        y = b.items[ib] if ib >= 0 else None
        if x is not None and y is not None:
            same = x.key == y.key and _same_operands(x.operands, y.operands, a.canon, b.canon)
            rows.append(("equal" if same else "changed", ia, ib))
        else:
            rows.append(("removed" if x is not None else "added", ia, ib))
        numbering.bind(x, y)
    return rows


def _pairs(a: list[Item], b: list[Item], budget: Budget) -> Iterator[tuple[int, int]]:
    """Items aligned by key; within replaced runs, items of the same kind and primitive paired."""
    keys_a, keys_b = [x.key for x in a], [y.key for y in b]
    coarse_a, coarse_b = [x.coarse for x in a], [y.coarse for y in b]
    opcodes = align(keys_a, keys_b, budget)
    for tag, i1, i2, j1, j2 in substitutions_in_place(opcodes, keys_a, keys_b, coarse_a, coarse_b):
        if tag == "equal":
            yield from zip(range(i1, i2), range(j1, j2), strict=True)
            continue
        for sub, k1, k2, l1, l2 in align(coarse_a[i1:i2], coarse_b[j1:j2], budget):
            if sub == "equal":
                yield from zip(range(i1 + k1, i1 + k2), range(j1 + l1, j1 + l2), strict=True)
                continue
            for k in range(i1 + k1, i1 + k2):
                yield k, -1
            for k in range(j1 + l1, j1 + l2):
                yield -1, k


def substitutions_in_place(
    opcodes: list[Opcode],
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    coarse_a: Sequence[Hashable],
    coarse_b: Sequence[Hashable],
) -> list[Opcode]:
    """Moves an insertion and a deletion that a repetitive run separates next to each other.

    In an unrolled loop every iteration looks alike, so a diff may insert a changed equation
    at one place and delete its original thousands of equations later, the run between
    matched one step off. Where the run matches as well unshifted and the two ends have the
    same primitive, they become one replaced block: the changed equation pairs in place.

    Args:
        opcodes: from `align(a, b)`.
        a: the keys aligned.
        b: the other side's keys.
        coarse_a: what pairs two items as one changed item (kind and primitive).
        coarse_b: the same for `b`.

    Returns:
        Opcodes covering the same sequences, with as many equal items.
    """
    out: list[Opcode] = []
    k = 0
    while k < len(opcodes):
        if k + 2 < len(opcodes) and opcodes[k + 1][0] == "equal":
            first, middle, last = opcodes[k], opcodes[k + 1], opcodes[k + 2]
            moved = _moved(first, middle, last, a, b, coarse_a, coarse_b)
            if moved:
                out += moved
                k += 3
                continue
        out.append(opcodes[k])
        k += 1
    return out


def _moved(
    first: Opcode,
    middle: Opcode,
    last: Opcode,
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    coarse_a: Sequence[Hashable],
    coarse_b: Sequence[Hashable],
) -> list[Opcode]:
    """[insert, equal, (delete|replace)] or [delete, equal, (insert|replace)] made in-place."""
    _, i0, _, j0, _ = first
    _, m1, m2, n1, n2 = middle
    length = m2 - m1
    if first[0] == "insert" and last[2] > last[1]:
        dropped = last[2] - last[1]
        j1 = first[4]
        if (
            coarse_a[i0 : i0 + dropped] == coarse_b[j0:j1]
            and a[i0 + dropped : i0 + dropped + length] == b[n1:n2]
        ):
            moved: list[Opcode] = [
                ("replace", i0, i0 + dropped, j0, j1),
                ("equal", i0 + dropped, i0 + dropped + length, n1, n2),
            ]
            if last[4] > last[3]:
                moved.append(("insert", last[2], last[2], last[3], last[4]))
            return moved
    if first[0] == "delete" and last[4] > last[3]:
        added = last[4] - last[3]
        i1 = first[2]
        if (
            coarse_a[i0:i1] == coarse_b[j0 : j0 + added]
            and a[m1:m2] == b[j0 + added : j0 + added + length]
        ):
            moved = [
                ("replace", i0, i1, j0, j0 + added),
                ("equal", m1, m2, j0 + added, j0 + added + length),
            ]
            if last[2] > last[1]:
                moved.append(("delete", last[1], last[2], last[4], last[4]))
            return moved
    return []


def _same_operands(
    a: list[str], b: list[str], canon_a: dict[str, int], canon_b: dict[str, int]
) -> bool:
    """Operands that read the same (canonically numbered) variables, or equal literals."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if _is_var(x):
            if canon_a.get(x, -1) != canon_b.get(y, -2):
                return False
        elif x != y:
            return False
    return True


class _Numbering:
    """Gives each bound name a canonical number; names bound by paired items share theirs."""

    def __init__(self, canon_a: dict[str, int], canon_b: dict[str, int]) -> None:
        self.canon_a = canon_a
        self.canon_b = canon_b
        self.next = 0

    def bind(self, x: Item | None, y: Item | None) -> None:
        self._bind_lists(x.outs if x else [], y.outs if y else [], self.canon_a, self.canon_b)
        self._bind_lists(
            x.inner if x else [],
            y.inner if y else [],
            x.inner_numbers if x else {},
            y.inner_numbers if y else {},
        )

    def _bind_lists(
        self, xs: list[str], ys: list[str], into_a: dict[str, int], into_b: dict[str, int]
    ) -> None:
        for k in range(max(len(xs), len(ys))):
            x = xs[k] if k < len(xs) else "_"
            y = ys[k] if k < len(ys) else "_"
            if x == "_" and y == "_":
                continue
            number = self.next
            self.next += 1
            if x != "_":
                into_a[x] = number
            if y != "_":
                into_b[y] = number


def canonical_name(number: int) -> str:
    """Variable names as JAX prints them: a ... z, ba ... zz, baa ..."""
    text = ""
    while not text or number:
        number, digit = divmod(number, 26)
        text = chr(97 + digit) + text
    return text


def render_item(side: _Side, item: Item) -> str:
    """The item's text with canonical names (layout of nested parameters kept)."""
    canon = side.canon

    def name(token: str) -> str:
        number = canon.get(token)
        return token if number is None or not _is_var(token) else canonical_name(number)

    if item.kind == "eqn":
        binders = " ".join(f"{name(n)}:{t}" for n, t in zip(item.outs, item.out_types, strict=True))
        params = item.params
        if item.inner:
            inner = item.inner_numbers
            params = _INNER_VAR.sub(
                lambda m: canonical_name(inner[m[1]]) if m[1] in inner else m[1], params
            )
        operands = "".join(" " + name(o) for o in item.operands)
        return f"    {binders}{' = ' if binders else ''}{item.head}{params}{operands}"
    if item.kind == "open":
        bound = [f"{name(n)}:{t}" for n, t in zip(item.outs, item.out_types, strict=True)]
        consts, invars = bound[: item.consts], bound[item.consts :]
        prefix = f"let {item.head} = " if item.head else ""
        return (
            f"{prefix}{{ lambda {' '.join(consts)}{' ' if consts else ''}; {' '.join(invars)}. let"
        )
    if item.kind == "close":
        outputs = [name(o) for o in item.operands]
        tuple_text = ", ".join(outputs) + ("," if len(outputs) == 1 else "")
        return f"  in ({tuple_text}) }}" + (" in" if item.head else "")
    return side.text[item.start : item.end]


def _unified(
    a: _Side, b: _Side, rows: list[Row], lookup: SourceLookup
) -> tuple[list[JaxprHunk], str]:
    """Unified hunks with CONTEXT rows around each change, each headed by its user source line."""
    hunks: list[JaxprHunk] = []
    out = ["--- a", "+++ b"]
    for first, last in _hunk_spans(rows):
        body: list[str] = []
        a_lines = b_lines = 0
        for status, ia, ib in rows[first:last]:
            if status == "equal":
                lines = render_item(b, b.items[ib]).split("\n")
                body += [" " + line for line in lines]
                a_lines += len(render_item(a, a.items[ia]).split("\n"))
                b_lines += len(lines)
                continue
            if ia >= 0:
                lines = render_item(a, a.items[ia]).split("\n")
                body += ["-" + line for line in lines]
                a_lines += len(lines)
            if ib >= 0:
                lines = render_item(b, b.items[ib]).split("\n")
                body += ["+" + line for line in lines]
                b_lines += len(lines)
        hunk = _hunk_header(a, b, rows, first, last, a_lines, b_lines, lookup)
        hunks.append(hunk)
        out.append(_hunk_line(hunk))
        out += body
    return hunks, "\n".join(out) + "\n" if hunks else ""


def _hunk_spans(rows: list[Row]) -> list[tuple[int, int]]:
    changed = [k for k, row in enumerate(rows) if row[0] != "equal"]
    spans: list[tuple[int, int]] = []
    for k in changed:
        first, last = max(0, k - CONTEXT), min(len(rows), k + CONTEXT + 1)
        if spans and first <= spans[-1][1]:
            spans[-1] = (spans[-1][0], last)
        else:
            spans.append((first, last))
    return spans


def _hunk_header(
    a: _Side,
    b: _Side,
    rows: list[Row],
    first: int,
    last: int,
    a_lines: int,
    b_lines: int,
    lookup: SourceLookup,
) -> JaxprHunk:
    a_rows = [ia for _, ia, _ in rows[first:last] if ia >= 0]
    b_rows = [ib for _, _, ib in rows[first:last] if ib >= 0]
    before = rows[:first]
    a_start = (
        a.line_of(a.items[a_rows[0]]) + 1 if a_rows else _line_after(a, [r[1] for r in before])
    )
    b_start = (
        b.line_of(b.items[b_rows[0]]) + 1 if b_rows else _line_after(b, [r[2] for r in before])
    )
    source = library = None
    for status, ia, ib in rows[first:last]:
        if status == "equal":
            continue
        side, item = (b, b.items[ib]) if ib >= 0 else (a, a.items[ia])
        source, library = side.source_of(item), side.library_of(item)
        if not source and ia >= 0:
            source, library = a.source_of(a.items[ia]), a.library_of(a.items[ia])
        if source:
            break
    text = lookup(source) if source else None
    return JaxprHunk(a_start, a_lines, b_start, b_lines, source, text, library if source else None)


def _line_after(side: _Side, indices: list[int]) -> int:
    """The 1-based line of the last item present before an insertion (0 at the very start)."""
    for index in reversed(indices):
        if index >= 0:
            return side.line_of(side.items[index]) + 1
    return 0


def _hunk_line(hunk: JaxprHunk) -> str:
    where = ""
    if hunk.source:
        path, _, line = hunk.source.rpartition(":")
        where = f" {short_path(path)}:{line}"
        if hunk.source_text:
            where += f"  {hunk.source_text.strip()}"
        if hunk.library:
            where += f"  ({library_label(hunk.library)})"
    return f"@@ -{hunk.a_start},{hunk.a_lines} +{hunk.b_start},{hunk.b_lines} @@{where}"


def source_lookup(a: TraceReport, b: TraceReport) -> SourceLookup:
    """'file:line' -> the line's text: from the reports' source listings, else the file itself."""
    known: dict[tuple[str, int], str] = {}
    for report in (a, b):
        for listing in report.sources:
            for line in listing.lines:
                known[(listing.file, line.number)] = line.text

    def lookup(where: str) -> str | None:
        path, _, number = where.rpartition(":")
        if not number.isdigit():
            return None
        text = known.get((path, int(number))) or linecache.getline(path, int(number))
        return text.strip() or None

    return lookup
