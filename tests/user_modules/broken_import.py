"""A module whose import fails inside the user's own code."""

import json

CONFIG = json.loads("{not json")


def f(x):
    return x
