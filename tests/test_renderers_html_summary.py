"""The summary on top of every page: the same facts as the text report's, from `views`."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import pytest
from browser import parse_dom

import jaxexplain
from jaxexplain import api
from jaxexplain.renderers import render
from jaxexplain.renderers.words import merge_summary_text
from jaxexplain.report import WatchMerge
from jaxexplain.watching.merge import merge_reports
from tests.targets.rendering import loop_and_branch
from tests.targets.sweep.growth import unrolled

UNROLLED = 20  # passes of the loop: over views.UNROLL_WARNING, so the summary warns of it


def _equations(n: int) -> int:
    return len(jax.make_jaxpr(partial(loop_and_branch, n=n))(jnp.ones(4)).eqns)


def _sections(page: str) -> list[str]:
    return [e.attrs.get("id", "") for e in parse_dom(page).select(tag="section")]


def _summary(page: str) -> str:
    return parse_dom(page).select(tag="section", id="summary")[0].text()


@pytest.fixture(scope="module")
def trace_page() -> str:
    report = api.trace(loop_and_branch, "f32[4]", UNROLLED, static_argnames="n")
    assert report.ok
    return render(report, "html")


def test_the_trace_page_opens_with_the_summary(trace_page: str) -> None:
    assert _sections(trace_page)[0] == "summary"
    summary = _summary(trace_page)
    assert f"{_equations(UNROLLED):,} equations in the jaxpr" in summary
    assert "most from " in summary and "rendering.py:18" in summary


def test_the_summary_warns_of_the_unrolled_loop_and_says_what_it_compiled_to(
    trace_page: str,
) -> None:
    dom = parse_dom(trace_page)
    warnings = dom.select(tag="section", id="summary")[0].select(tag="span", cls="warning")
    assert len(warnings) == 1
    assert "for _ in range(n)" in warnings[0].text()
    assert f"ran {UNROLLED} times" in warnings[0].text()
    assert "compiled: compile " in _summary(trace_page)


def test_the_diff_page_gives_each_sides_summary_after_the_verdict() -> None:
    report = api.diff(loop_and_branch, "f32[4]", 3, static_argnames="n", vs={"n": UNROLLED})
    page = render(report, "html")
    assert _sections(page)[:2] == ["verdict", "summary"]
    summary = _summary(page)
    assert f"A {_equations(3):,} equations in the jaxpr" in summary
    assert f"B {_equations(UNROLLED):,} equations in the jaxpr" in summary


def test_the_sweep_page_opens_with_what_grows_and_why() -> None:
    report = jaxexplain.sweep(
        unrolled, "f32[8]", over={"n": [1, 2, 4, 8]}, static_argnames="n", compile=False
    )
    page = render(report, "html")
    assert _sections(page)[0] == "summary"
    summary = _summary(page)
    assert "grow linearly with n" in summary
    assert "unrolls n times" in summary


def test_the_merge_page_opens_with_its_counts() -> None:
    merged = merge_reports([])
    assert isinstance(merged, WatchMerge)
    page = render(merged, "html")
    assert _sections(page)[0] == "summary"
    assert _summary(page).endswith(merge_summary_text(0, 0))
