"""A module that prints on import and while tracing: stdout must stay clean for JSON."""

print("hello from the user's module")


def noisy(x):
    print("tracing noisy")
    return x + 1
