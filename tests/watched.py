"""Watch reports of real runs for the renderer tests, their compilations explained by real
trace and diff reports of the same calls, as `watch --explain` explains them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain import api
from jaxexplain.inputs.loader import load_target
from jaxexplain.report import WatchExplained, WatchReport
from tests.targets.rendering import loop_and_branch

FAILING = "samples/conditional.py:conditional_double"


@dataclass(frozen=True)
class WatchedRun:
    """A watched run, what JAX's own cache held after it, and the static `n` of each compile."""

    report: WatchReport
    cache_size: int
    compiled: tuple[int, ...]


def watched_loop(calls: Sequence[int]) -> WatchedRun:
    """`loop_and_branch` jitted with `n` static and called once per `n` under watch."""
    jitted = jax.jit(loop_and_branch, static_argnames="n")
    with jaxexplain.watch() as watcher:
        for n in calls:
            jitted(jnp.ones(4), n=n)
    return WatchedRun(watcher.report(), jitted._cache_size(), tuple(dict.fromkeys(calls)))


def explained(run: WatchedRun, compile: bool = True) -> WatchReport:
    """The run's report with every compilation explained: `jaxexplain.trace` of its call, and
    for a recompilation `jaxexplain.diff` against the compilation before it."""
    events = run.report.events
    assert len(events) == len(run.compiled) == run.cache_size
    reports = []
    for k, (event, n) in enumerate(zip(events, run.compiled, strict=True)):
        trace = api.trace(loop_and_branch, "f32[4]", n, static_argnames="n", compile=compile)
        diff = None
        if k:
            before = run.compiled[k - 1]
            diff = api.diff(
                loop_and_branch, "f32[4]", before, static_argnames="n", vs={"n": n}, compile=compile
            )
        against = events[k - 1].index if k else None
        reports.append(WatchExplained(event.function, event.index, trace, diff, against))
    return dataclasses.replace(run.report, explained=tuple(reports))


def failed_call() -> WatchReport:
    """A run whose jitted call fails to trace (a Python `if` on a traced array), explained by
    the trace report of that call: its failure and the fixes verified. It never compiled, so
    no event holds it."""
    fn = load_target(FAILING).obj
    with jaxexplain.watch() as watcher, pytest.raises(ValueError, match="truth value"):
        jax.jit(fn, static_argnames="threshold")(jnp.ones(8), threshold=0.5)
    report = watcher.report()
    assert report.events == ()
    trace = api.trace(fn, "f32[8]", 0.5, static_argnames="threshold", compile=False)
    assert trace.error is not None
    return dataclasses.replace(report, explained=(WatchExplained(fn.__name__, 1, trace),))
