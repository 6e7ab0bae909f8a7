"""Plain Python whose tests read globals, modules, builtins and a bound instance's attributes,
for the resolver tests."""

from __future__ import annotations

import math

LIMIT = 1


def scaled(n: int) -> int:
    return n * 2


def thresholds(values: list[float], n: int = 0) -> int:
    """Tests on a builtin's result and a global value, on a module's constant, and on a
    global function's result."""
    count = 0
    if len(values) > LIMIT:
        count += 1
    if math.floor(math.pi) > n:
        count += 1
    if scaled(n) > 1:
        count += 1
    return count


class Model:
    """A model whose depth is an attribute of the instance a bound method carries."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def apply(self, x: float) -> float:
        for _ in range(self.depth):
            x = x * 2
        return x
