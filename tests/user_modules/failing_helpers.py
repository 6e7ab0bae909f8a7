"""Targets whose failing line is in a helper in another file (failing_helpers_lib.py)."""

from failing_helpers_lib import clip_above, count_up


def calls_helper(x, limit, unused):
    """The helper's `v` is this function's `y`, computed from x."""
    y = x * 2
    return clip_above(y, limit) + unused


def helper_in_loop(x, steps):
    """The helper fails inside a loop over a static count."""
    for i in range(steps):
        x = clip_above(x, i)
    return x


def helper_with_count(x, k):
    """The helper's `n` is this function's `k`: a traced scalar that could be static."""
    return count_up(x, k + 1)
