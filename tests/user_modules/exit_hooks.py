"""A module that registers an atexit handler on import: it must still run when jaxexplain ends."""

import atexit
import sys

atexit.register(lambda: print("user atexit handler ran", file=sys.stderr))


def double(x):
    return 2 * x


def branchy(x):
    if x.sum() > 0:
        return x
    return -x
