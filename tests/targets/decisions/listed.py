"""Plain Python for the listing tests: every statement that does not run with `[1, 2]` ends in
a `# dead` comment, and so does an `else:` whose branch never runs."""

from __future__ import annotations

import functools

COUNT = 0


def handled(values: list[int]) -> int:
    """A docstring, a global statement and a nested function: none of them is dead code."""
    global COUNT
    COUNT += 1
    try:
        total = sum(values)
    except TypeError:  # dead
        total = -1  # dead
    else:
        total += 1
    finally:
        total *= 2
    match total:
        case 0:
            total = 10  # dead
        case _:
            total += 3
    if total > 100:
        total = 0  # dead
    else:
        total -= 1
    if total > 0:
        total -= 1
    else:  # dead
        total = 0  # dead

    @functools.lru_cache
    def never_called() -> int:
        return total

    for _ in ():
        total += 1  # dead
    return total
