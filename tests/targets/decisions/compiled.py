"""Functions whose bytecode the Python-version tests read: returns, jumps, comprehensions."""

from __future__ import annotations


def returns_a_constant() -> int:
    return 1


def returns_a_local(x: int) -> int:
    return x


def returns_nothing(x: list[int]) -> None:
    x.append(1)


def jumps(xs: list[int], n: int) -> int:
    """Every kind of jump: if/elif/else, while, for with break and continue, and/or, ifexp."""
    total = 0
    if n > 1 and total == 0:
        total = 1
    elif n < -1 or total:
        total = 2
    else:
        total = 3
    while n > 0:
        n -= 1
    for x in xs:
        if x == 2:
            continue
        if x > 3:
            break
        total += x if x else 1
    return total


def comprehensions(xs: list[int]) -> int:
    """One comprehension of each kind."""
    as_list = [x for x in xs]
    as_set = {x for x in xs}
    as_dict = {x: x for x in xs}
    lazily = sum(x for x in xs)
    return len(as_list) + len(as_set) + len(as_dict) + lazily
