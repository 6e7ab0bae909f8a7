"""The text watch report: each compilation with what differs from each earlier entry, cut after
a few entries, the totals, counted against JAX's own cache, and each explained compilation's
full trace and diff text."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from watched import explained, failed_call, watched_loop

import jaxexplain
from jaxexplain.renderers import render
from jaxexplain.renderers.console.watch import ENTRIES_SHOWN
from jaxexplain.renderers.words import against_title, compile_title, reasons_text
from jaxexplain.report import WatchReport
from jaxexplain.views import reasons_by_entry

WIDTH = 200


def watched_powers(exponents: list[int]) -> tuple[WatchReport, int]:
    """A watch of one jitted function called with each static exponent, and its cache size."""

    @partial(jax.jit, static_argnums=(1,))
    def power(x: jax.Array, n: int) -> jax.Array:
        return x**n

    with jaxexplain.watch() as watcher:
        for n in exponents:
            power(jnp.ones(2), n)
    return watcher.report(), power._cache_size()


def test_each_recompilation_lists_its_differences_per_earlier_entry() -> None:
    report, cached = watched_powers([2, 3])
    assert len(report.events) == cached == 2
    text = render(report, "text", width=200)
    first, second = report.events
    assert "first compilation" in text
    ((entry, reasons),) = reasons_by_entry(second.reasons)
    assert entry == first.compile_number
    assert f"vs compile #{entry}: {reasons_text(reasons)}" in text
    assert f"{cached} compilations of 1 function," in text and "; 1 recompilation" in text


def test_entries_past_the_first_few_are_counted_not_listed() -> None:
    exponents = list(range(2, 4 + ENTRIES_SHOWN))
    report, cached = watched_powers(exponents)
    assert len(report.events) == cached == len(exponents)
    last = report.events[-1]
    groups = reasons_by_entry(last.reasons)
    assert len(groups) == cached - 1 > ENTRIES_SHOWN
    text = render(report, "text", width=200)
    assert f"and {len(groups) - ENTRIES_SHOWN} more earlier entries" in text


def test_each_explained_compilation_follows_the_events_with_its_trace_and_diff_text() -> None:
    """The trace and diff reports' own text, whole, under a heading per compilation."""
    run = watched_loop([3, 5, 3])
    report = explained(run, compile=False)
    assert len(report.explained) == run.cache_size == 2
    text = render(report, "text", width=WIDTH)
    events = {e.index: e for e in report.events}
    at = text.index("Compilations")
    for x in report.explained:
        title = text.index(compile_title(x, events[x.compile]), at)
        trace = text.index(render(x.trace, "text", width=WIDTH).strip(), title)
        at = trace
        if x.diff is not None and x.against is not None:
            against = text.index(against_title(events[x.against]), trace)
            at = text.index(render(x.diff, "text", width=WIDTH).strip(), against)
    assert at < text.index("Per function")
    assert "Compile #" not in render(run.report, "text", width=WIDTH)


def test_a_call_that_failed_to_trace_is_explained_by_its_failure_text() -> None:
    report = failed_call()
    (x,) = report.explained
    text = render(report, "text", width=WIDTH)
    assert compile_title(x, None) in text
    assert render(x.trace, "text", width=WIDTH).strip() in text
