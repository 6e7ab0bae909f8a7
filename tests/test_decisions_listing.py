"""The annotated source listings (decisions/listing.py): the root function, then every helper
that decided or emitted equations; per line whether it ran (dead statements and the `else:` of
a branch never taken) and how many equations it made, and which library made them."""

from __future__ import annotations

import inspect
from pathlib import Path

import optax
import pytest

from jaxexplain.decisions.recorder import DecisionRecorder
from tests.recording import X, marker_line, record, roles_of, user_module
from tests.targets.decisions import listed


@pytest.fixture
def targets() -> object:
    return user_module("decisions_targets")


def test_listings_mark_dead_lines_and_count_equations(targets):
    recorder = record(targets.branches, X, n=2)
    start = marker_line("if")
    equation_sources = [f"{targets.__file__}:{start + 8}"] * 3 + [None, "elsewhere.py:1"]
    (listing,) = recorder.listings(equation_sources)
    assert listing.function == "branches"
    assert listing.file == targets.__file__
    assert listing.lines[0].text == "def branches(x, n):"
    by_number = {line.number: line for line in listing.lines}
    dead = {n for n, line in by_number.items() if not line.ran}
    # y = x / y = x + 1 never ran, nor the else: branch and its body.
    assert dead == {start + 1, start + 3, start + 6, start + 7}
    assert {n: line.equations for n, line in by_number.items() if line.equations} == {start + 8: 3}


def test_listings_follow_with_the_helpers_that_made_decisions(targets):
    recorder = record(targets.with_helpers, X, n=2, kind="wide")
    listings = recorder.listings([])
    assert [(Path(x.file).name, x.function) for x in listings] == [
        ("decisions_targets.py", "with_helpers"),
        ("decisions_helpers.py", "outer"),
        ("decisions_helpers.py", "inner"),
    ]
    assert all(line.ran for listing in listings for line in listing.lines)


def test_dead_statements_handlers_cases_and_else_lines() -> None:
    """What did not run is dead, and nothing that compiles to no code is: the docstring, the
    `global` statement, a nested function's body (its `def` ran)."""
    with DecisionRecorder(listed.handled, roles_of(listed.handled, {})) as recorder:
        listed.handled([1, 2])
    (listing,) = recorder.listings([])
    source, first = inspect.getsourcelines(listed.handled)
    marked = {first + i for i, text in enumerate(source) if text.rstrip().endswith("# dead")}
    assert {line.number for line in listing.lines if not line.ran} == marked
    assert [line.text for line in listing.lines] == [text.rstrip("\n") for text in source]


def test_a_line_says_which_library_made_its_equations(targets):
    """Equations made inside optax on the user's line count on that line and name optax."""
    recorder = record(targets.branches, X, n=2)
    line = marker_line("ternaries")
    user = f"{targets.__file__}:{line}"
    inside = f"{inspect.getfile(optax)}:1"
    (listing,) = recorder.listings([user, user, user], [inside, None, inside])
    (counted,) = [x for x in listing.lines if x.equations]
    assert (counted.number, counted.equations, counted.libraries) == (line, 3, {"optax": 2})
