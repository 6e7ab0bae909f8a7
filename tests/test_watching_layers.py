"""`watch` counts the cache layer that served every jit call that missed JAX's C++ fast path,
per function and call site, checked against JAX's own counts taken by the test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain.report import WatchFunction, WatchReport
from tests.watching_support import PROGRAMS, run_watched


class JaxLog(logging.Handler):
    """JAX's compile log (jax_log_compiles), counted per jitted function name."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def compiles(self, name: str) -> int:
        return sum(f"XLA compilation of jit({name})" in m for m in self.messages)

    def traces(self, name: str) -> int:
        # jax 0.4.38 and 0.7 say "Finished tracing + transforming NAME for pjit".
        wordings = (
            f"Finished tracing {name} for jit",
            f"Finished tracing + transforming {name} for",
        )
        return sum(m.startswith(wordings) for m in self.messages)


@pytest.fixture
def jax_log() -> Iterator[JaxLog]:
    handler = JaxLog()
    logger = logging.getLogger("jax")
    logger.addHandler(handler)
    with jax.log_compiles(True):
        yield handler
    logger.removeHandler(handler)


def the_function(report: WatchReport, name: str) -> WatchFunction:
    (function,) = [f for f in report.functions if f.function.rpartition(".")[2] == name]
    return function


def calls(function: WatchFunction) -> dict[str, int | None]:
    return {layer: count.calls for layer, count in function.layers.items()}


def line_of(name: str, text: str) -> int:
    """The line of the program that holds `text` (the program's own source, read here)."""
    lines = (PROGRAMS / name).read_text().splitlines()
    (number,) = [i for i, line in enumerate(lines, 1) if text in line]
    return number


def test_a_steady_loop_compiles_once_and_leaves_the_rest_to_the_fast_path(
    jax_log: JaxLog,
) -> None:
    @jax.jit
    def step(w):
        return w * 0.5 + 1.0

    w = jnp.ones(3)
    with jaxexplain.watch() as watcher:
        for _ in range(20):
            w = step(w)
    function = the_function(watcher.report(), "step")
    assert step._cache_size() == 1
    assert calls(function) == {
        "fast_path": None,
        "tracing_cache": 0,
        "executable": 0,
        "lowering": 0,
        "disk": 0,
        "compile": jax_log.compiles("step"),
    }
    assert jax_log.compiles("step") == 1
    assert "no count" in function.layers["fast_path"].note
    assert not [w for w in watcher.report().warnings if w.kind == "fast_path_miss"]


def test_a_debug_print_in_the_step_misses_the_fast_path_every_call_and_says_why(
    jax_log: JaxLog,
) -> None:
    report, program = run_watched("debug_print_step.py")
    function = the_function(report, "step")
    compiled = jax_log.compiles("step")
    assert jax_log.traces("step") == compiled in (1, 2), "0.12 traces the fed-back output again"
    assert calls(function)["compile"] == compiled
    assert calls(function)["tracing_cache"] == program["STEPS"] - compiled
    (site,) = function.sites
    assert (
        site.call_site
        == f"{PROGRAMS / 'debug_print_step.py'}:{line_of('debug_print_step.py', 'w = step(w)')}"
    )
    assert site.layers["tracing_cache"].seconds > 0
    (warning,) = [w for w in report.warnings if w.kind == "fast_path_miss"]
    printed = line_of("debug_print_step.py", 'jax.debug.print("loss')
    assert f"debug_print_step.py:{printed}" in warning.message
    assert f"all {program['STEPS']} calls" in warning.message
    assert "host callback" in warning.message


def test_an_io_callback_in_the_step_is_named_as_the_cause(jax_log: JaxLog) -> None:
    report, program = run_watched("io_callback_step.py")
    function = the_function(report, "step")
    assert len(program["LOGGED"]) == program["STEPS"]
    assert calls(function)["tracing_cache"] == program["STEPS"] - 1
    assert calls(function)["compile"] == jax_log.compiles("step") == 1
    (warning,) = [w for w in report.warnings if w.kind == "fast_path_miss"]
    assert f"io_callback_step.py:{line_of('io_callback_step.py', 'io_callback(LOGGED')}" in (
        warning.message
    )


def test_a_new_jit_of_the_same_function_shares_its_fast_path_entry(jax_log: JaxLog) -> None:
    """`jax.jit(f)` per step of one function `f`: JAX's global C++ cache is keyed on the function,
    so every new wrapper is served on the fast path, with one trace and one compile in all."""

    def scale(w):
        return w * 2.0

    w = jnp.ones(3)
    wrappers = []
    with jaxexplain.watch() as watcher:
        for _ in range(4):
            wrappers.append(jax.jit(scale))
            w = wrappers[-1](w)
    function = the_function(watcher.report(), "scale")
    assert [j._cache_size() for j in wrappers] == [1, 1, 1, 1]
    assert jax_log.traces("scale") == 1 == jax_log.compiles("scale")
    assert calls(function)["compile"] == 1
    assert calls(function)["tracing_cache"] == 0
    assert not watcher.report().recommendations


def test_layers_are_kept_per_call_site() -> None:
    @jax.jit
    def step(w):
        jax.debug.print("{}", w.sum())
        return w

    w = jnp.ones(2)
    with jaxexplain.watch() as watcher:
        for _ in range(3):
            step(w)
        for _ in range(2):
            step(w)
    function = the_function(watcher.report(), "step")
    per_site = [
        (s.layers["compile"].calls, s.layers["tracing_cache"].calls) for s in function.sites
    ]
    assert per_site == [(1, 2), (0, 2)]
    assert function.layers["tracing_cache"].calls == 4
