"""The Python API leaves the process as it found it: after traces, diffs and watches that
succeed, fail to trace, or raise a usage error, the interpreter's trace and monitoring hooks, the
import path, the modules loaded, JAX's config and the logging handlers are exactly as before."""

from __future__ import annotations

import logging
import sys
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain.errors import UsageError

X = jax.ShapeDtypeStruct((4,), jnp.float32)


def _branchy(x: Any, n: int) -> Any:
    for _ in range(n):
        x = jnp.sin(x)
    return x if n > 1 else -x


def _fails(x: Any) -> Any:
    if x.sum() > 0:
        return x
    return -x


def _state() -> dict[str, Any]:
    """What a tool that runs user code must leave as it found it."""
    monitoring = getattr(sys, "monitoring", None)
    tools = [monitoring.get_tool(i) for i in range(6)] if monitoring else []
    return {
        "trace": sys.gettrace(),
        "profile": sys.getprofile(),
        "tools": tools,
        "path": list(sys.path),
        "modules": {m for m in sys.modules if not m.startswith(("jaxexplain", "jax", "jaxlib"))},
        "x64": jax.config.jax_enable_x64,  # type: ignore[attr-defined]
        "log_compiles": jax.config.jax_log_compiles,  # type: ignore[attr-defined]
        "explain_misses": jax.config.jax_explain_cache_misses,  # type: ignore[attr-defined]
        "handlers": {
            name: list(logging.getLogger(name).handlers) for name in ("", "jax", "jax._src")
        },
        "levels": {name: logging.getLogger(name).level for name in ("", "jax", "jax._src")},
    }


def _one_of_each() -> None:
    jaxexplain.trace(_branchy, X, 3, static_argnames="n")
    jaxexplain.trace(_fails, X)
    jaxexplain.diff(_branchy, X, 1, vs={"n": 2}, static_argnames="n")
    with pytest.raises(UsageError):
        jaxexplain.trace(_branchy, X, 3, static_argnames="no_such_parameter")
    with jaxexplain.watch():
        jax.jit(_branchy, static_argnums=1)(jnp.ones(4), 2)


def test_many_api_calls_leave_the_process_as_they_found_it() -> None:
    _one_of_each()  # the first call imports what jaxexplain needs
    before = _state()
    for _ in range(5):
        _one_of_each()
    after = _state()
    assert after == before
