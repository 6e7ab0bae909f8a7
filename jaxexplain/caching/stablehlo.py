"""StableHLO text without debug info, each line with the user's `file:line` its location names.

JAX hashes the module with its locations stripped (`strip-debuginfo`), so the text compared
here is the same program its "computation" digest is of; the locations, printed by MLIR as
`#locN = loc(...)` definitions, are read only to point at the user's line. JAX locates a
constant at the jitted function's own call (`jit(f)` at the caller's line), not where the
constant is used, so a constant is given the line of the first operation that uses it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from jaxexplain.userfiles import is_user_file, short_path

_LOC_USE = re.compile(r'\s*loc\((?:[^()"]|"[^"]*"|\([^()]*\))*\)')
_LOC_DEF = re.compile(r"^(#loc\d*) = loc\((.*)\)$")
_LOC_REF = re.compile(r"loc\((#loc\d*)\)\s*$")
_FILE_LOC = re.compile(r'^"(?P<file>[^"]+)":(?P<line>\d+)')
_NAMED_LOC = re.compile(r'^"[^"]*"\((?P<inner>#loc\d*)\)$')
_CALLSITE = re.compile(r"^callsite\((?P<callee>#loc\d*) at (?P<caller>#loc\d*)\)$")
_CONSTANT = re.compile(r"^\s*(?P<name>%[\w.$-]+) = stablehlo\.constant\b")
EXCERPT_LINES = 6


@dataclass(frozen=True)
class Program:
    """A module's lines with debug info stripped, and per line the user's `file:line` (or "")."""

    lines: tuple[str, ...]
    where: tuple[str, ...]


def program_of(module_text: str) -> Program:
    """The stripped lines of a module printed with its locations, and where each came from."""
    definitions: dict[str, str] = {}
    body: list[str] = []
    for line in module_text.splitlines():
        match = _LOC_DEF.match(line)
        if match:
            definitions[match[1]] = match[2]
        elif line.strip():
            body.append(line)
    lines, where = [], []
    for line in body:
        ref = _LOC_REF.search(line)
        lines.append(_LOC_USE.sub("", line).rstrip())
        where.append(_user_line(ref[1], definitions) if ref else "")
    return Program(tuple(lines), _constants_where_used(lines, where))


def _constants_where_used(lines: list[str], where: list[str]) -> tuple[str, ...]:
    """Each constant's line moved to the user's line of the first operation that uses it (kept
    where that operation has none)."""
    out = list(where)
    for index, line in enumerate(lines):
        constant = _CONSTANT.match(line)
        if constant is None:
            continue
        use = re.compile(re.escape(constant["name"]) + r"(?![\w.$-])")
        for later in range(index + 1, len(lines)):
            if use.search(lines[later]):
                out[index] = where[later] or where[index]
                break
    return tuple(out)


def _user_line(ref: str, definitions: dict[str, str], depth: int = 0) -> str:
    """The innermost user `file:line` a location reaches (a call site's callee before its caller)."""
    body = definitions.get(ref, "")
    if depth > 50 or not body:
        return ""
    file_loc = _FILE_LOC.match(body)
    if file_loc:
        file = file_loc["file"]
        return short_path(f"{file}:{file_loc['line']}") if is_user_file(file) else ""
    named = _NAMED_LOC.match(body)
    if named:
        return _user_line(named["inner"], definitions, depth + 1)
    callsite = _CALLSITE.match(body)
    if callsite:
        return _user_line(callsite["callee"], definitions, depth + 1) or _user_line(
            callsite["caller"], definitions, depth + 1
        )
    return ""


def changed_lines(before: Program, after: Program) -> tuple[list[str], list[str]]:
    """The lines of `before` and of `after` that differ (at most `EXCERPT_LINES` each), each
    with the user's line its location names."""
    matcher = difflib.SequenceMatcher(a=before.lines, b=after.lines, autojunk=False)
    removed: list[str] = []
    added: list[str] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed += [_located(before, i) for i in range(a0, a1)]
        added += [_located(after, i) for i in range(b0, b1)]
    return removed[:EXCERPT_LINES], added[:EXCERPT_LINES]


def _located(program: Program, index: int) -> str:
    line = program.lines[index].strip()
    where = program.where[index]
    return f"{line}  @ {where}" if where else line
