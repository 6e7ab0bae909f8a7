"""A module with a syntax error."""

def f(x)
    return x
