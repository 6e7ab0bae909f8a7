"""explain/leaks.py: a value traced inside a transformation and kept after it finished is
reported where it escapes, where it was made, and before the compiled function is called;
JAX, run by the test, raises where jaxexplain says it would."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain import api
from tests.failing_cases import USER, line_of
from tests.targets.libs import rewrites as lib_rewrites


@pytest.fixture
def leaks() -> Any:
    sys.path.insert(0, str(USER))
    import failing_leaks

    return failing_leaks


def _leak_line(text: str) -> int:
    return line_of("failing_leaks.py", text)


def test_tracer_leaked_from_vmap_is_explained_where_it_escapes(leaks: Any) -> None:
    error = api.trace(leaks.leak_from_vmap, "f32[3]", compile=False).error
    assert error is not None
    assert error.type == "UnexpectedTracerError"
    assert error.construct == "leaked_tracer"
    assert error.line == _leak_line("return saved[0] + 1")
    assert error.depends_on == ()
    assert "through `saved`" in error.explanation
    assert error.suggestions[0].kind == "advice"


def test_tracer_leaked_from_scan_is_caught_before_it_is_called(leaks: Any) -> None:
    error = api.trace(leaks.leak_from_scan, "f32[]", compile=False).error
    assert error is not None
    assert error.type == "UnexpectedTracerError"
    assert error.line == _leak_line("return final + saved[0]")
    assert error.created_at == f"{leaks.__file__}:{_leak_line('saved.append(carry * 2)')}"
    assert "`body` for scan" in error.explanation
    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.jit(leaks.leak_from_scan)(jnp.ones(()))


def test_tracer_stored_by_another_jit_is_caught(leaks: Any) -> None:
    stored = api.trace(leaks.store_tracer, "f32[]", compile=False).error
    assert stored is not None and stored.construct == "leaked_tracer"
    assert stored.line == _leak_line('STORE["h"] = x * 3')
    report = api.trace(leaks.use_stored, "f32[]")
    error = report.error
    assert error is not None and report.compile is None
    assert error.type == "UnexpectedTracerError"
    assert error.line == _leak_line('return y * STORE["h"]')
    created = _leak_line('STORE["h"] = x * 3')
    assert error.created_at == f"{leaks.__file__}:{created}"
    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.jit(leaks.use_stored)(jnp.ones(()))


def test_a_tracer_kept_in_a_global_is_reported_at_its_line() -> None:
    """Issue 12 item 11: JAX's own leak checker names the global; jaxexplain reports it."""
    leak = r"referred to by .*rewrites\.cache"
    with pytest.raises(Exception, match=leak), jax.checking_leaks():
        jax.jit(lib_rewrites.remember).trace(jnp.ones(3))
    lib_rewrites.cache = None

    report = jaxexplain.trace(lib_rewrites.remember, "f32[3]", compile=False)
    lib_rewrites.cache = None
    assert report.error is not None
    assert report.error.construct == "leaked_tracer"
    source = Path(lib_rewrites.__file__).read_text().splitlines()
    assert report.error.line == source.index("    cache = y") + 1
    assert "`cache`" in report.error.explanation
