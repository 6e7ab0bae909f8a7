"""A module that imports a package that is not installed."""

import not_a_real_package_xyz  # noqa: F401


def f(x):
    return x
