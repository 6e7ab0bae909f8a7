"""Helpers in another file for failing_helpers.py: the failing line is here, not in the target."""


def clip_above(v, limit):
    """Fails on an array `v`: the `if` needs a Python bool."""
    if v.sum() > limit:
        return v - limit
    return v


def count_up(v, n):
    """Fails when `n` is traced: `range` needs a Python int."""
    for _ in range(n):
        v = v + 1
    return v
