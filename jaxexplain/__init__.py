"""jaxexplain: explains what `jax.jit` does with a function.

The public API is loaded lazily so that `jaxexplain --help` and usage errors never import JAX;
`dir(jaxexplain)` still lists it, and `help()` shows its functions' annotations as types.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "trace": "jaxexplain.api",
    "trace_target": "jaxexplain.api",
    "diff": "jaxexplain.api",
    "diff_target": "jaxexplain.api",
    "sweep": "jaxexplain.api",
    "merge": "jaxexplain.api",
    "WatchMerge": "jaxexplain.report",
    "SweepReport": "jaxexplain.report",
    "TraceReport": "jaxexplain.report",
    "DiffReport": "jaxexplain.report",
    "render": "jaxexplain.renderers",
    "watch": "jaxexplain.watching.watcher",
    "assert_max_compiles": "jaxexplain.watching.watcher",
    "WatchReport": "jaxexplain.report",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jaxexplain' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    if inspect.isfunction(value):
        with_real_annotations(value)
    return value


def __dir__() -> list[str]:
    """The public names, loaded or not, for `dir()` and tab completion."""
    return sorted(__all__)


def with_real_annotations(function: Any) -> None:
    """Resolves a public function's annotations in place (and the function it wraps, which
    `help()` reads): its module postpones them (PEP 563), so they would show as quoted strings."""
    for each in {function, inspect.unwrap(function)}:
        each.__annotations__ = typing.get_type_hints(each)


__all__ = [
    "DiffReport",
    "SweepReport",
    "TraceReport",
    "WatchMerge",
    "WatchReport",
    "__version__",
    "assert_max_compiles",
    "diff",
    "diff_target",
    "merge",
    "render",
    "sweep",
    "trace",
    "trace_target",
    "watch",
]
