"""Sequence alignment: minimal where no item is unique, valid with anchors and past its budget."""

from __future__ import annotations

import random

from jaxexplain.diffing.align import Budget, align


def lcs_length(a: list[int], b: list[int]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def matched(a: list[int], b: list[int], opcodes: list[tuple[str, int, int, int, int]]) -> int:
    """Checks that opcodes tile both sequences and that equal runs are equal; returns matches."""
    i = j = total = 0
    for tag, i1, i2, j1, j2 in opcodes:
        assert (i1, j1) == (i, j)
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
            total += i2 - i1
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))
    return total


def test_alignment_is_minimal_without_unique_anchors() -> None:
    rng = random.Random(0)
    for _ in range(400):
        a = [rng.randrange(2) for _ in range(rng.randrange(30))] * 2
        b = [rng.randrange(2) for _ in range(rng.randrange(30))] * 2
        assert matched(a, b, align(a, b)) == lcs_length(a, b)


def test_alignment_is_valid_with_anchors() -> None:
    rng = random.Random(1)
    for _ in range(400):
        a = [rng.randrange(8) for _ in range(rng.randrange(40))]
        b = [rng.randrange(8) for _ in range(rng.randrange(40))]
        assert matched(a, b, align(a, b)) <= lcs_length(a, b)


def test_alignment_past_its_budget_stays_valid_and_says_so() -> None:
    rng = random.Random(2)
    a = [rng.randrange(3) for _ in range(3000)]
    b = [rng.randrange(3) for _ in range(3000)]
    budget = Budget(left=1000)
    matched(a, b, align(a, b, budget))
    assert budget.approximate >= 1
