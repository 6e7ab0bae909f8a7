"""The annotated source listings of a trace: the root function, then every helper that made a
decision or emitted equations, each line with whether it ran and how many jaxpr equations it
produced (and which libraries made them)."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jaxexplain import _source_ast as sa
from jaxexplain import userfiles
from jaxexplain.decisions.analysis import Analysis
from jaxexplain.report import SourceLine, SourceListing


def listings(
    analysis: Analysis, counts: EquationCounts, lines_known: bool = True
) -> tuple[SourceListing, ...]:
    """One listing per function listed (see `_listed_functions`); with `lines_known` False
    (what ran is unknown), every line counts as run."""
    executed = analysis.executed_lines()
    functions = _listed_functions(analysis, counts.per_line)
    return tuple(
        _listing(
            source,
            function,
            executed.get(source.path, set()) if lines_known else _all_lines(source),
            counts,
        )
        for source, function in functions
    )


def _listed_functions(
    analysis: Analysis, equations: Counter[tuple[str, int]]
) -> list[tuple[sa.SourceFile, ast.AST]]:
    """The root function, then each other function holding a decision or emitting
    equations (where the jaxpr comes from), skipping any nested inside one already listed."""
    listed: list[tuple[sa.SourceFile, ast.AST]] = []
    root = analysis.root_code
    root_facts = analysis.facts(root) if root is not None else None
    if root_facts is not None and not isinstance(root_facts.scope, ast.Module):
        listed.append((root_facts.source, root_facts.scope))
    candidates = {(id(f), id(s)): (s, f) for s, f in analysis.decision_functions()}
    for source, function in _emitting_functions(analysis, equations):
        candidates.setdefault((id(function), id(source)), (source, function))
    helpers = sorted(candidates.values(), key=lambda f: (f[0].path, sa.first_line(f[1])))
    for source, function in helpers:
        if isinstance(function, ast.Module):
            continue
        inside = any(
            s is source and sa.contains(sa.span_of(f), sa.span_of(function)) for s, f in listed
        )
        if not inside:
            listed.append((source, function))
    return listed


def _emitting_functions(
    analysis: Analysis, equations: Counter[tuple[str, int]]
) -> list[tuple[sa.SourceFile, ast.AST]]:
    """The functions that ran while tracing and emitted jaxpr equations from their own lines."""
    found: dict[int, tuple[sa.SourceFile, ast.AST]] = {}
    for code in analysis.codes_run():
        facts = analysis.facts(code)
        function = _named_function(facts.source, facts.scope) if facts else None
        if facts is None or function is None or id(function) in found:
            continue
        end = getattr(function, "end_lineno", None) or sa.first_line(function)
        lines = range(sa.first_line(function), end + 1)
        if any(equations.get((facts.source.path, n)) for n in lines):
            found[id(function)] = (facts.source, function)
    return list(found.values())


def _named_function(source: sa.SourceFile, scope: ast.AST) -> ast.AST | None:
    """The `def` a code object's scope belongs to (a lambda or comprehension is part of the
    function around it); None at module level."""
    function = scope
    while isinstance(function, (ast.Lambda, *sa.COMPREHENSIONS)):
        function = source.function_of(function)
    return None if isinstance(function, ast.Module) else function


@dataclass(frozen=True)
class EquationCounts:
    """Equations per user line ("file", line), and per line how many each library made."""

    per_line: Counter[tuple[str, int]]
    libraries: dict[tuple[str, int], Counter[str]]

    @classmethod
    def of(
        cls, equation_sources: Sequence[str | None], equation_libraries: Sequence[str | None]
    ) -> EquationCounts:
        per_line: Counter[tuple[str, int]] = Counter()
        libraries: dict[tuple[str, int], Counter[str]] = {}
        for index, entry in enumerate(equation_sources):
            where = _file_and_line(entry) if entry else None
            if where is None:
                continue
            per_line[where] += 1
            library = equation_libraries[index] if index < len(equation_libraries) else None
            name = _library_of(library) if library else None
            if name is not None:
                libraries.setdefault(where, Counter())[name] += 1
        return cls(per_line, libraries)


def _file_and_line(entry: str) -> tuple[str, int] | None:
    file, _, line = entry.rpartition(":")
    return (file, int(line)) if line.isdigit() else None


def _library_of(entry: str) -> str | None:
    """`/.../site-packages/optax/_src/transform.py:294` -> `optax`."""
    path = userfiles.library_path(entry.rpartition(":")[0])
    return userfiles.library_name(path) if path is not None else None


def _all_lines(source: sa.SourceFile) -> set[int]:
    """Every line of a file: what counts as run where no recording says what did."""
    return set(range(1, len(source.lines) + 1))


def _listing(
    source: sa.SourceFile,
    function: ast.AST,
    executed: set[int],
    counts: EquationCounts,
) -> SourceListing:
    start, end = sa.first_line(function), function.end_lineno or function.lineno  # type: ignore[attr-defined]
    dead = _dead_lines(function, executed)
    lines = tuple(
        SourceLine(
            number=n,
            text=source.lines[n - 1] if n <= len(source.lines) else "",
            ran=n not in dead,
            equations=counts.per_line.get((source.path, n), 0),
            libraries=dict(counts.libraries.get((source.path, n), Counter()).most_common()),
        )
        for n in range(start, end + 1)
    )
    return SourceListing(file=source.path, function=source.qualname(function), lines=lines)


def _dead_lines(function: ast.AST, executed: set[int]) -> set[int]:
    """Lines of statements that never ran, with the `else:` lines of branches that never ran."""
    dead: set[int] = set()
    _mark_dead_block(getattr(function, "body", []), executed, dead, docstring=True)
    return dead


def _mark_dead_block(
    statements: Any, executed: set[int], dead: set[int], docstring: bool = False
) -> bool:
    """Marks the dead statements of a block; True when none of them ran."""
    if not isinstance(statements, list):
        return False
    any_ran = False
    for index, statement in enumerate(statements):
        if _has_no_code(statement, docstring and index == 0):
            continue
        if _header_ran(statement, executed):
            any_ran = True
            _mark_dead_children(statement, executed, dead)
        else:
            dead.update(range(statement.lineno, statement.end_lineno + 1))
    return not any_ran


def _mark_dead_children(statement: ast.stmt, executed: set[int], dead: set[int]) -> None:
    blocks: list[tuple[list[ast.stmt], int | None]] = []
    body = getattr(statement, "body", None)
    if isinstance(body, list) and not isinstance(statement, (*sa.FUNCTIONS, ast.ClassDef)):
        blocks.append((body, None))
        orelse = getattr(statement, "orelse", [])
        if orelse:
            blocks.append((orelse, body[-1].end_lineno))
        for handler in getattr(statement, "handlers", []):
            if handler.lineno in executed:
                _mark_dead_block(handler.body, executed, dead)
            else:
                dead.update(range(handler.lineno, handler.end_lineno + 1))
        final = getattr(statement, "finalbody", [])
        if final:
            blocks.append((final, None))
    for case in getattr(statement, "cases", []):
        blocks.append((case.body, None))
    for block, previous_end in blocks:
        if _mark_dead_block(block, executed, dead) and previous_end is not None:
            dead.update(range(previous_end + 1, block[0].lineno))


def _has_no_code(statement: ast.stmt, is_docstring_position: bool) -> bool:
    """Statements that compile to nothing, so no line event can show that they ran."""
    if isinstance(statement, (ast.Global, ast.Nonlocal)):
        return True
    if isinstance(statement, ast.AnnAssign) and statement.value is None:
        return True
    return (
        is_docstring_position
        and isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _header_ran(statement: ast.stmt, executed: set[int]) -> bool:
    """Whether a statement started: any of its lines ran (decorators included)."""
    start = sa.first_line(statement)
    return any(n in executed for n in range(start, (statement.end_lineno or start) + 1))
