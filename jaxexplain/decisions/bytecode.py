"""What a code object's instructions say about its decisions: each executed instruction placed
relative to the if/while/for/match/assert/conditional expression/comprehension holding it (its
test, body, else branch, ...), and from that sequence, the outcome of every evaluation: "true"
or "false", a loop's number of passes, a match's case."""

from __future__ import annotations

import ast
import bisect
import dis
import itertools
from types import CodeType
from typing import Any, Protocol

from jaxexplain import _source_ast as sa
from jaxexplain._py_compat import JUMP_OPCODES, RETURN_OPCODES

_FOR_ITER = 50  # label of a loop's own FOR_ITER instruction

# Instructions that only move control, start a loop or collect a comprehension's items: their
# source range is often the enclosing statement's or a neighbour's, so it tells nothing about
# which region is running.
_NEUTRAL_OPCODES = frozenset(
    {dis.opname[op] for op in JUMP_OPCODES}
    | {"EXTENDED_ARG", "CACHE", "RESUME", "NOT_TAKEN", "GET_ITER"}
    | {"LIST_APPEND", "SET_ADD", "MAP_ADD"}
) - {"FOR_ITER"}
_BRANCH_OPCODES = frozenset(
    code for name, code in dis.opmap.items() if "_IF_" in name or name == "FOR_ITER"
)


class Run(Protocol):
    """One run of a frame as the recorder saw it: its events (instruction offsets >= 0, lines
    as negative numbers) in order, and whether it returned normally."""

    events: list[int]
    returned: bool


def can_decide(code: CodeType) -> bool:
    """Whether a code object can decide anything: only a conditional jump or a FOR_ITER
    does (a literal test such as `while True:` compiles to none and is read from lines)."""
    raw = code.co_code
    return any(raw[i] in _BRANCH_OPCODES for i in range(0, len(raw), 2))


class CodeFacts:
    """What one code object's instructions mean: their source ranges, which ones carry no
    evidence, which FOR_ITER belongs to which loop, and the constructs it runs."""

    def __init__(self, code: CodeType, source: sa.SourceFile, scope: ast.AST) -> None:
        self.source = source
        self.scope = scope
        instructions = list(dis.get_instructions(code))
        self.positions = {i.offset: _span(i.positions) for i in instructions}
        self._starts = sorted(self.positions)
        own_returns = not isinstance(scope, sa.COMPREHENSIONS)
        self.neutral = frozenset(
            i.offset
            for i in instructions
            if _neutral(i, self.positions[i.offset], source, own_returns)
        ) | (frozenset() if own_returns else _yield_bookkeeping(instructions))
        self.constructs = self._constructs_in_scope(source, scope)
        self._for_iters = frozenset(i.offset for i in instructions if i.opname == "FOR_ITER")
        self._own_for_iters = self._assign_for_iters(instructions)
        self._labels: dict[sa.Construct, dict[int, int]] = {}

    def _constructs_in_scope(self, source: sa.SourceFile, scope: ast.AST) -> list[sa.Construct]:
        """Constructs this code object executes: those of its function, or for a comprehension
        compiled to its own code object, those inside the comprehension."""
        spans = {p for p in self.positions.values() if p is not None}
        if isinstance(scope, sa.COMPREHENSIONS):
            outer = sa.span_of(scope)
            candidates = [c for c in source.constructs if sa.contains(outer, c.span)]
        else:
            candidates = [c for c in source.constructs if c.function is scope]
        return [c for c in candidates if any(sa.contains(c.span, p) for p in spans)]

    def _assign_for_iters(self, instructions: list[dis.Instruction]) -> dict[int, sa.Construct]:
        """FOR_ITER offset -> the loop it drives; for a comprehension only its outermost `for`."""
        loops = [c for c in self.constructs if c.kind in ("for", "comprehension")]
        owned: dict[int, sa.Construct] = {}
        for instruction in instructions:
            position = self.positions[instruction.offset]
            if instruction.opname != "FOR_ITER" or position is None:
                continue
            holders = [c for c in loops if sa.contains(c.span, position)]
            if not holders:
                continue
            loop = max(holders, key=lambda c: (c.span[:2], (-c.span[2], -c.span[3])))
            if loop.kind == "for" or loop not in owned.values():
                owned[instruction.offset] = loop
        return owned

    def position_at(self, offset: int) -> sa.Span | None:
        """The source range of the instruction holding `offset`: a calling frame's f_lasti
        points into its CALL instruction's inline cache."""
        index = bisect.bisect_right(self._starts, offset) - 1
        return self.positions[self._starts[index]] if index >= 0 else None

    def labels(self, construct: sa.Construct) -> dict[int, int]:
        """Offset -> where that instruction lies relative to `construct`."""
        labels = self._labels.get(construct)
        if labels is None:
            labels = {offset: construct.label(p) for offset, p in self.positions.items()}
            for offset in self.neutral | self._for_iters:
                labels[offset] = sa.NEUTRAL
            for offset, loop in self._own_for_iters.items():
                if loop is construct:
                    labels[offset] = _FOR_ITER
            self._labels[construct] = labels
        return labels


def _neutral(
    instruction: dis.Instruction, position: sa.Span | None, source: sa.SourceFile, own_returns: bool
) -> bool:
    """Instructions whose range says nothing about where execution is: jumps (except those
    of `break`, `continue` and `pass`), implicit returns (except one that Python 3.12+ gives
    the range of a `pass` it compiles into), comprehension bookkeeping. `own_returns` is
    False for a comprehension's own code object, whose return is implicit even where it sits
    inside a `return` statement."""
    if position is None:
        return True
    if instruction.opname in RETURN_OPCODES:
        telling = source.in_return_statement(position) or position in source.bare_statements
        return not (own_returns and telling)
    return instruction.opname in _NEUTRAL_OPCODES and position not in source.bare_statements


def _yield_bookkeeping(instructions: list[dis.Instruction]) -> frozenset[int]:
    """A generator expression's YIELD_VALUE and the RESUME and POP_TOP after it: Python 3.11
    gives them the range of its last `if` clause, where they would read as the test running
    again after the element (each item then seeming to fail the test once more)."""
    found: set[int] = set()
    for previous, instruction in itertools.pairwise(instructions):
        if instruction.opname == "YIELD_VALUE" or (
            previous.offset in found and instruction.opname in ("RESUME", "POP_TOP")
        ):
            found.add(instruction.offset)
    return frozenset(found)


def _span(positions: Any) -> sa.Span | None:
    if positions is None:
        return None
    line, end_line, column, end_column = positions
    if line is None or end_line is None or column is None or end_column is None:
        return None
    return (line, column, end_line, end_column)


def _label_sequence(labels: dict[int, int], evidence: list[int]) -> list[int]:
    """The construct-relative labels of the executed instructions, jumps and instructions
    outside any relation left out, repeats collapsed."""
    get = labels.get
    sequence = (get(offset, sa.NEUTRAL) for offset in evidence)
    return [label for label, _ in itertools.groupby(sequence) if label != sa.NEUTRAL]


def _test_outcomes(labels: list[int], returned: bool, on_exit: str | None) -> list[str | int]:
    """if/while/ifexp: after each pass through the test, the body runs next ("true") or the
    else branch or code after the construct ("false"). `on_exit` is the outcome when control
    leaves the construct (or the function returns) straight from the test."""
    outcomes: list[str | int] = []
    pending = False
    for label in labels:
        if label == sa.TEST:
            pending = True
        elif pending and label in (sa.BODY, sa.ORELSE, sa.OUTSIDE):
            outcome = {sa.BODY: "true", sa.ORELSE: "false"}.get(label, on_exit)
            outcomes += [outcome] if outcome is not None else []
            pending = False
    if pending and returned and on_exit is not None:
        outcomes.append(on_exit)
    return outcomes


def _assert_outcomes(labels: list[int], returned: bool) -> list[str | int]:
    """assert: leaving the statement after its test means it passed; going on inside it
    (the message, the raise) means it failed."""
    outcomes: list[str | int] = []
    pending = False
    for label in labels:
        if label == sa.TEST:
            pending = True
        elif pending and label in (sa.OUTSIDE, sa.INSIDE):
            outcomes.append("true" if label == sa.OUTSIDE else "false")
            pending = False
    if pending and returned:
        outcomes.append("true")
    return outcomes


def _loop_outcomes(labels: list[int]) -> list[str | int]:
    """for/comprehension: per execution, how often FOR_ITER went on into the loop target.

    An execution starts at its iterable (or first FOR_ITER) and ends when FOR_ITER is
    exhausted, or when control is found outside the loop (`break`, `return`).
    """
    outcomes: list[str | int] = []
    count, running, iterated, after_iter = 0, False, False, False
    for label in labels:
        if after_iter:
            after_iter = False
            if label == sa.TARGET:
                count += 1
                continue
            outcomes.append(count)
            running = False
        if label == _FOR_ITER:
            if not running:
                running, count = True, 0
            iterated = after_iter = True
        elif label == sa.ITER and (not running or iterated):
            if running:
                outcomes.append(count)
            running, count, iterated = True, 0, False
        elif label == sa.OUTSIDE and running:
            outcomes += [count] if iterated else []
            running = False
    if running and iterated:
        outcomes.append(count)
    return outcomes


def _match_outcomes(labels: list[int], returned: bool, construct: sa.Construct) -> list[str | int]:
    """match: the first case body entered after the subject and patterns ran; leaving the
    statement without entering one means no case matched (-1)."""
    node: Any = construct.node
    no_body = len(node.cases) - 1 if construct.last_case_irrefutable else -1
    outcomes: list[str | int] = []
    pending = False
    for label in labels:
        if label == sa.ITER or sa.HEAD <= label < sa.CASE_BODY:
            pending = True
        elif pending and label >= sa.CASE_BODY:
            outcomes.append(label - sa.CASE_BODY)
            pending = False
        elif pending and label == sa.OUTSIDE:
            outcomes.append(no_body)
            pending = False
    if pending and returned:
        outcomes.append(no_body)
    return outcomes


def outcomes_of(
    construct: sa.Construct, facts: CodeFacts, run: Run, evidence: list[int]
) -> list[str | int]:
    """Every outcome `construct` had during one run of its code, in order."""
    if construct.literal is not None and construct.kind in ("if", "while", "assert"):
        # The compiler folds a literal test away; the construct's line still runs each time.
        times = run.events.count(-construct.line)
        return ["true" if construct.literal else "false"] * times
    labels = _label_sequence(facts.labels(construct), evidence)
    kind, returned = construct.kind, run.returned
    if kind in ("if", "while"):
        return _test_outcomes(labels, returned, "false")
    if kind == "ifexp":
        return _test_outcomes(labels, returned, None)
    if kind == "assert":
        return _assert_outcomes(labels, returned)
    if kind == "match":
        return _match_outcomes(labels, returned, construct)
    return _loop_outcomes(labels)
