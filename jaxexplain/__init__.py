"""jaxexplain: explains what `jax.jit` does with a function.

The public API is loaded lazily so that `jaxexplain --help` and usage errors never import JAX.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "trace": "jaxexplain.api",
    "trace_target": "jaxexplain.api",
    "diff": "jaxexplain.api",
    "diff_target": "jaxexplain.api",
    "sweep": "jaxexplain.api",
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
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DiffReport",
    "SweepReport",
    "TraceReport",
    "WatchReport",
    "__version__",
    "assert_max_compiles",
    "diff",
    "diff_target",
    "render",
    "sweep",
    "trace",
    "trace_target",
    "watch",
]
