"""The registry of renderers: which function renders which report kind in which format, a clear
error for a pair it does not render, and every renderer over the edge cases of every report."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain import api, schema
from jaxexplain.errors import UsageError
from jaxexplain.inputs.loader import load_target
from jaxexplain.renderers import FORMATS, RENDERERS, guess_format, load_format, render
from jaxexplain.report import (
    DiffReport,
    ErrorInfo,
    ErrorReport,
    Report,
    SweepReport,
    TraceReport,
    WatchReport,
)
from jaxexplain.timings import json_timings
from tests.targets.rendering import loop_and_branch

UNROLLED = "samples/unrolled.py:unrolled_power"


def failed_trace() -> TraceReport:
    fn = load_target("samples/conditional.py:conditional_double").obj
    return api.trace(fn, "f32[8]", 0.5, static_argnames="threshold", compile=False)


def trace_without_arguments() -> TraceReport:
    return api.trace(lambda: jnp.ones(3))


def diff_with_a_failing_side() -> DiffReport:
    power = load_target(UNROLLED).obj
    return api.diff(power, "f32[3]", 2, static_argnames="n", vs={"n": 2.5}, compile=False)


def diff_of_equal_sides() -> DiffReport:
    return api.diff(loop_and_branch, "f32[4]", 3, static_argnames="n", vs={"n": 3}, compile=False)


def watch_of_nothing() -> WatchReport:
    with jaxexplain.watch() as watcher:
        pass
    return watcher.report()


def watch_of_recompiles() -> WatchReport:
    @partial(jax.jit, static_argnums=(1,))
    def power(x: jax.Array, n: int) -> jax.Array:
        return x**n

    with jaxexplain.watch() as watcher:
        for n in (2, 3):
            power(jnp.ones(2), n)
    return watcher.report()


EDGE_CASES: dict[str, Callable[[], Report]] = {
    "failed-trace": failed_trace,
    "trace-without-arguments": trace_without_arguments,
    "diff-with-a-failing-side": diff_with_a_failing_side,
    "diff-of-equal-sides": diff_of_equal_sides,
    "watch-of-nothing": watch_of_nothing,
    "watch-of-recompiles": watch_of_recompiles,
}


@pytest.fixture(scope="module", params=list(EDGE_CASES))
def edge_case(request: pytest.FixtureRequest) -> Report:
    return EDGE_CASES[request.param]()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_renderer_renders_every_edge_case_it_is_registered_for(
    edge_case: Report, fmt: str
) -> None:
    if (fmt, type(edge_case)) not in RENDERERS:
        with pytest.raises(UsageError, match=f"--format {fmt} renders"):
            render(edge_case, fmt)
        return
    out = render(edge_case, fmt)
    if fmt == "json":
        data = json.loads(out)
        loaded = type(edge_case).from_dict(data)
        assert loaded.to_dict() == json_timings(edge_case.to_dict())
    elif fmt == "html":
        assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    else:
        assert out == str(edge_case) and out.startswith("jaxexplain ")


def test_str_of_a_report_is_its_full_text_report() -> None:
    report = failed_trace()
    assert str(report) == render(report, "text", color=False, width=100)
    assert "Tracing failed" in str(report)


def test_every_report_kind_has_text_json_and_html() -> None:
    kinds = set(schema.commands().values())  # every document of the model
    assert {TraceReport, DiffReport, WatchReport, SweepReport} <= kinds
    assert {kind for fmt, kind in RENDERERS if fmt == "text"} == kinds
    # A run that ended before its report (usage error, bug, interrupt) still writes its JSON.
    assert {kind for fmt, kind in RENDERERS if fmt == "json"} == kinds | {ErrorReport}
    assert {kind for fmt, kind in RENDERERS if fmt == "html"} == kinds
    for where in RENDERERS.values():
        module, _, function = where.partition(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_an_unsupported_pair_and_an_unknown_format_are_usage_errors() -> None:
    usage = ErrorReport("t", ErrorInfo("UsageError", "no such target", None, None, None), 2)
    with pytest.raises(
        UsageError,
        match="--format html renders trace, diff, watch, sweep, watch-merge reports, not error",
    ):
        render(usage, "html")
    with pytest.raises(UsageError, match="unknown format 'pdf'; use one of text, json, html"):
        render(trace_without_arguments(), "pdf")
    with pytest.raises(UsageError, match="unknown format"):
        load_format("pdf")


def test_a_format_is_loaded_ahead_of_use() -> None:
    load_format("html")
    modules = {where.partition(":")[0] for (fmt, _), where in RENDERERS.items() if fmt == "html"}
    assert modules <= set(sys.modules)


def test_the_format_is_guessed_from_the_output_suffix() -> None:
    assert guess_format("report.html", None) == "html"
    assert guess_format("report.HTM", None) == "html"
    assert guess_format("report.json", None) == "json"
    assert guess_format("report.html", "json") == "json"
    assert guess_format("-", None) == "text"
    assert guess_format(None, None) == "text"
