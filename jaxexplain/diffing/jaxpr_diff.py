"""The jaxpr diff: both sides' items aligned, names made canonical, unified hunks and rows.

Equations are parsed, variable names abstracted away, aligned with a near-linear sequence diff,
and rendered with one canonical naming shared by both sides, so that renaming is no change.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field

from jaxexplain.diffing.align import Budget, Opcode, align
from jaxexplain.diffing.jaxpr_parse import (
    INNER_VAR,
    Item,
    JaxprParseError,
    is_var,
    line_items,
    parse_jaxpr,
    shared_blocks,
)
from jaxexplain.report import JaxprDiff, JaxprHunk, JaxprInfo, JaxprRow, JaxprRowKind
from jaxexplain.userfiles import library_label, short_path

CONTEXT = 3

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
        Counts of added, removed and changed equations, per-primitive deltas, the unified diff,
        and its hunks with their lines side by side.
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
        if is_var(x):
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
        return token if number is None or not is_var(token) else canonical_name(number)

    if item.kind == "eqn":
        binders = " ".join(f"{name(n)}:{t}" for n, t in zip(item.outs, item.out_types, strict=True))
        params = item.params
        if item.inner:
            inner = item.inner_numbers
            params = INNER_VAR.sub(
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


@dataclass(frozen=True)
class _Printed:
    """One aligned row's item as each side prints it: its lines on side A and on side B, empty
    where that side has no item; an unchanged item shows side B's lines."""

    status: str
    a: list[str]
    b: list[str]


def _unified(
    a: _Side, b: _Side, rows: list[Row], lookup: SourceLookup
) -> tuple[list[JaxprHunk], str]:
    """Unified hunks with CONTEXT rows around each change, each headed by its user source line."""
    hunks: list[JaxprHunk] = []
    out = ["--- a", "+++ b"]
    for first, last in _hunk_spans(rows):
        printed = [_printed(a, b, row) for row in rows[first:last]]
        a_start, b_start = _hunk_starts(a, b, rows, first, last)
        source, library = _hunk_source(a, b, rows[first:last])
        hunk = JaxprHunk(
            a_start,
            sum(len(p.a) for p in printed),
            b_start,
            sum(len(p.b) for p in printed),
            source,
            lookup(source) if source else None,
            library if source else None,
            _side_by_side(printed, a_start, b_start),
        )
        hunks.append(hunk)
        out.append(hunk_header(hunk))
        out += [line for p in printed for line in _unified_lines(p)]
    return hunks, "\n".join(out) + "\n" if hunks else ""


def _printed(a: _Side, b: _Side, row: Row) -> _Printed:
    status, ia, ib = row
    return _Printed(
        status,
        render_item(a, a.items[ia]).split("\n") if ia >= 0 else [],
        render_item(b, b.items[ib]).split("\n") if ib >= 0 else [],
    )


def _unified_lines(printed: _Printed) -> list[str]:
    """An item's lines in the unified diff: unchanged as side B prints it, else A's then B's."""
    if printed.status == "equal":
        return [" " + line for line in printed.b]
    return ["-" + line for line in printed.a] + ["+" + line for line in printed.b]


def _side_by_side(printed: list[_Printed], a_start: int, b_start: int) -> tuple[JaxprRow, ...]:
    """A hunk's lines side by side: a changed item's lines on side A paired line for line with
    its lines on side B (the longer side's surplus removed or added), so that a row pairs what
    the diff paired; lines are numbered on each side from the hunk's starts, as the unified
    diff shows them."""
    rows: list[JaxprRow] = []
    a_line, b_line = a_start, b_start
    for item in printed:
        if item.status == "equal":
            for k, line in enumerate(item.b):
                rows.append(JaxprRow("context", line, line, a_line + k, b_line + k))
            a_line += len(item.b)
            b_line += len(item.b)
            continue
        for k in range(max(len(item.a), len(item.b))):
            x = item.a[k] if k < len(item.a) else None
            y = item.b[k] if k < len(item.b) else None
            rows.append(
                JaxprRow(
                    _row_kind(x, y),
                    x,
                    y,
                    a_line + k if x is not None else None,
                    b_line + k if y is not None else None,
                )
            )
        a_line += len(item.a)
        b_line += len(item.b)
    return tuple(rows)


def _row_kind(a: str | None, b: str | None) -> JaxprRowKind:
    if a is None:
        return "added"
    return "removed" if b is None else "changed"


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


def _hunk_starts(a: _Side, b: _Side, rows: list[Row], first: int, last: int) -> tuple[int, int]:
    """The 1-based text line where the hunk of rows[first:last] starts on each side."""
    a_rows = [ia for _, ia, _ in rows[first:last] if ia >= 0]
    b_rows = [ib for _, _, ib in rows[first:last] if ib >= 0]
    before = rows[:first]
    a_start = (
        a.line_of(a.items[a_rows[0]]) + 1 if a_rows else _line_after(a, [r[1] for r in before])
    )
    b_start = (
        b.line_of(b.items[b_rows[0]]) + 1 if b_rows else _line_after(b, [r[2] for r in before])
    )
    return a_start, b_start


def _hunk_source(a: _Side, b: _Side, rows: list[Row]) -> tuple[str | None, str | None]:
    """The user source line and library frame of the hunk's first change that has one (side
    B's item first, side A's where B's has no source)."""
    for status, ia, ib in rows:
        if status == "equal":
            continue
        side, item = (b, b.items[ib]) if ib >= 0 else (a, a.items[ia])
        source, library = side.source_of(item), side.library_of(item)
        if not source and ia >= 0:
            source, library = a.source_of(a.items[ia]), a.library_of(a.items[ia])
        if source:
            return source, library
    return None, None


def _line_after(side: _Side, indices: list[int]) -> int:
    """The 1-based line of the last item present before an insertion (0 at the very start)."""
    for index in reversed(indices):
        if index >= 0:
            return side.line_of(side.items[index]) + 1
    return 0


def hunk_span(hunk: JaxprHunk) -> str:
    """`-3,4 +3,5`: where a hunk starts on each side and how many lines it takes there."""
    return f"-{hunk.a_start},{hunk.a_lines} +{hunk.b_start},{hunk.b_lines}"


def hunk_header(hunk: JaxprHunk) -> str:
    """The unified diff's header of a hunk, built from its fields: its span, then the user's
    line (path as the user wrote it, relative to the working directory), that line's text, and
    the library frame that made the change."""
    where = ""
    if hunk.source:
        path, _, line = hunk.source.rpartition(":")
        where = f" {short_path(path)}:{line}"
        if hunk.source_text:
            where += f"  {hunk.source_text.strip()}"
        if hunk.library:
            where += f"  ({library_label(hunk.library)})"
    return f"@@ {hunk_span(hunk)} @@{where}"
