"""The few instructions of a library code object worth watching near user code: those that show
one of its if/ifexp/while tests ran and which way it went, found from the control flow of its
bytecode, so that a library frame costs a handful of events instead of one per instruction."""

from __future__ import annotations

import bisect
import dis
from dataclasses import dataclass
from types import CodeType
from typing import Any

from jaxexplain import _source_ast as sa
from jaxexplain._py_compat import JUMP_OPCODES, RETURN_OPCODES
from jaxexplain.decisions.bytecode import CodeFacts, can_decide

LIBRARY_KINDS = frozenset({"if", "ifexp", "while"})  # the constructs read in library code


@dataclass(frozen=True)
class Watch:
    """The instructions of a library code object that can say which way one of its
    if/ifexp/while tests went (`offsets`), and per line holding some, the last of them."""

    offsets: frozenset[int]
    last_on_line: dict[int, int]
    returns: frozenset[int]  # the offsets of its return instructions


# Per library code object (kept alive with it, so that its id is not reused), what to watch in
# it; None where nothing. Kept for the process: a library's code and source do not change, and
# on Python 3.12+ the instructions not watched stay switched off between recordings.
_LIBRARY_WATCHES: dict[int, tuple[CodeType, Watch | None]] = {}
_LIBRARY_BRANCHES: dict[int, tuple[CodeType, bool]] = {}  # `can_decide` of library code
_TELLING = frozenset({sa.BODY, sa.ORELSE, sa.OUTSIDE})  # labels that settle a pending test


def library_can_decide(code: CodeType) -> bool:
    """`can_decide` of a library code object, worked out once per process."""
    entry = _LIBRARY_BRANCHES.get(id(code))
    if entry is None:
        entry = _LIBRARY_BRANCHES[id(code)] = (code, can_decide(code))
    return entry[1]


def cached_watch(code: CodeType, namespace: dict[str, Any]) -> Watch | None:
    """What to watch in a library code object, worked out once per process."""
    entry = _LIBRARY_WATCHES.get(id(code))
    if entry is None:
        entry = _LIBRARY_WATCHES[id(code)] = (code, watch_of(code, namespace))
    return entry[1]


def watch_of(code: CodeType, namespace: dict[str, Any]) -> Watch | None:
    """For each if/ifexp/while test, the instructions that show it ran and which way it went
    (see `_test_evidence`): `bytecode.outcomes_of` reads nothing else, so the outcomes found from
    these alone are those found from all of a frame's instructions. A flax method runs about
    60 instructions a call, and 3 or 4 of these."""
    source = sa.load_source(code.co_filename, namespace)
    scope = source.scope_for_code(code) if source is not None else None
    if source is None or scope is None:
        return None
    facts = CodeFacts(code, source, scope)
    instructions = list(dis.get_instructions(code))
    successors = _successors(code, instructions)
    predecessors: dict[int, set[int]] = {}
    for offset, reach in successors.items():
        for after in reach:
            predecessors.setdefault(after, set()).add(offset)
    offsets: set[int] = set()
    for construct in facts.constructs:
        if construct.kind in LIBRARY_KINDS:
            offsets |= _test_evidence(facts.labels(construct), successors, predecessors)
    if not offsets:
        return None
    last_on_line: dict[int, int] = {}
    for offset in sorted(offsets):
        position = facts.positions[offset]
        if position is not None:
            last_on_line[position[0]] = offset
    returns = frozenset(i.offset for i in instructions if i.opname in RETURN_OPCODES)
    return Watch(frozenset(offsets), last_on_line, returns)


def _successors(code: CodeType, instructions: list[dis.Instruction]) -> dict[int, set[int]]:
    """Where control can go after each instruction: the next one, a jump's target and the one
    after it (Python 3.12's FOR_ITER skips its END_FOR), the handlers of the exceptions it may
    raise. More than Python can take is harmless here (it only watches more); fewer is not."""
    offsets = [i.offset for i in instructions]
    handlers = dis.Bytecode(code).exception_entries  # type: ignore[attr-defined]  # not in typeshed
    found: dict[int, set[int]] = {}
    for index, instruction in enumerate(instructions):
        reach = set(offsets[index + 1 : index + 2])
        if instruction.opcode in JUMP_OPCODES and isinstance(instruction.argval, int):
            at = bisect.bisect_left(offsets, instruction.argval)
            reach.update(offsets[at : at + 2])
        reach.update(h.target for h in handlers if h.start <= instruction.offset <= h.end)
        found[instruction.offset] = reach
    return found


def _test_evidence(
    labels: dict[int, int], successors: dict[int, set[int]], predecessors: dict[int, set[int]]
) -> set[int]:
    """For one construct: each test instruction that can start a run of them (the first of a
    function, or one that an instruction outside the test leads to), which shows that the test
    ran, and the first telling instruction (see `_TELLING`) reached from the test through
    instructions that tell nothing about it, which shows which way it went."""
    tests = {offset for offset, label in labels.items() if label == sa.TEST}
    found = {t for t in tests if not predecessors.get(t) or predecessors[t] - tests}
    seen = set(tests)
    queue = [after for offset in tests for after in successors[offset]]
    while queue:
        offset = queue.pop()
        if offset in seen:
            continue
        seen.add(offset)
        if labels.get(offset, sa.NEUTRAL) in _TELLING:
            found.add(offset)
        else:
            queue.extend(successors.get(offset, ()))
    return found
