"""Plain Python control flow that logs its own choices, for the decision-counting tests: each
function returns what it decided, for the recorded outcomes to be compared with. Kept out of
the test modules, whose `assert` statements pytest rewrites."""

from __future__ import annotations

import sys
from typing import Any


def walk(n: int) -> list[tuple[int, str]]:
    """if/elif/else with continue and break in a loop; logs each pass's index and branch."""
    chosen = []
    for i in range(n):
        if i % 3 == 0:
            chosen.append((i, "three"))
        elif i % 2 == 0:
            chosen.append((i, "two"))
            continue
        else:
            chosen.append((i, "other"))
        if i > 6:
            break
    return chosen


def halvings(n: int) -> int:
    """How many times the while loop's body ran."""
    steps = 0
    while n > 1:
        n //= 2
        steps += 1
    return steps


def first_power_above(n: int) -> int:
    """A literal `while True:` left by a return."""
    power = 1
    while True:
        power *= 2
        if power > n:
            return power


def nested(n: int) -> list[int]:
    """The passes of the inner loop in each pass of the outer one, then -1 from the else."""
    sizes = []
    for a in range(n):
        inner = 0
        for _ in range(a):
            inner += 1
        sizes.append(inner)
    else:
        sizes.append(-1)
    return sizes


def kind_of(value: Any) -> str:
    """A match whose last case has a guard, so that a value may match no case."""
    match value:
        case 0:
            return "zero"
        case [_, _]:
            return "pair"
        case str() if len(value) > 3:
            return "long"
    return "none"


def wildcard(value: Any) -> bool:
    """A match whose last case matches anything and has an empty body; True for the first."""
    match value:
        case 1:
            hit = True
        case _:
            pass
    return value == 1 and hit


def checked(values: list[int]) -> None:
    """An assert per item, which fails on the first negative one."""
    for v in values:
        assert v >= 0, "negative"


def labels(n: int) -> list[str]:
    """A comprehension with a filter, and a conditional expression in its element."""
    return [("even" if i % 2 == 0 else "odd") for i in range(n) if i != 2]


def positives(values: list[int]) -> int:
    """A generator expression with a filter."""
    return sum(v for v in values if v > 0)


def last_if(flag: bool) -> None:
    """An `if` as the last statement, with a body that compiles to nothing but a jump."""
    if flag:
        pass


def straight(n: int) -> int:
    """No test, no loop."""
    return n + 1


def looping(n: int) -> int:
    """One loop, no test."""
    for _ in range(n):
        n += 1
    return n


def forever(n: int) -> int:
    """A literal `while True:`, which compiles to no test."""
    while True:
        return n


def pick(flag: bool) -> int:
    """A helper whose test runs once per call."""
    if flag:
        return 1
    return 0


def twice(a: bool, b: bool) -> int:
    """Calls the helper with each argument in turn."""
    return pick(a) + pick(b)


def clears_the_trace_function(n: int) -> int:
    """User code that removes Python's trace function while it runs, as a debugger may."""
    sys.settrace(None)
    return pick(n > 0)


def passes_until_above(rows: list[list[int]], limit: int) -> list[int]:
    """An inner loop that breaks, run once per row of an outer one: each execution's passes
    into its body (the break's own pass included), logged."""
    passes = []
    for row in rows:
        count = 0
        for value in row:
            count += 1
            if value > limit:
                break
        passes.append(count)
    return passes


def _ignores(frame: Any, event: str, arg: Any) -> None:
    """A trace or profile function that asks for nothing."""


def sets_and_restores_the_trace_function(n: int) -> int:
    """User code that sets a trace function of its own and puts the one before it back (a
    debugger stepping through, coverage.py started and stopped inside)."""
    before = sys.gettrace()
    sys.settrace(_ignores)
    taken = halvings(n)
    sys.settrace(before)
    return taken


def profiles_itself(n: int) -> int:
    """User code that profiles a part of itself through sys.setprofile, then stops."""
    before = sys.getprofile()
    sys.setprofile(_ignores)
    taken = halvings(n)
    sys.setprofile(before)
    return taken
