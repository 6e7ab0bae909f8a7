"""The text of a sweep report: sparklines, the points table, failing rows, budgets."""

from __future__ import annotations

import pytest

import jaxexplain
from jaxexplain.renderers import render
from jaxexplain.renderers.console.sweep import SPARKS, sparkline
from jaxexplain.report import SweepReport
from tests.targets.sweep.growth import picky


@pytest.fixture(scope="module")
def picky_sweep() -> SweepReport:
    return jaxexplain.sweep(
        picky,
        "f32[8]",
        over={"n": [1, 2, 4, 8]},
        static_argnames="n",
        compile=False,
        budget={"equations_nested": 100},
    )


def test_a_sparkline_spans_the_lowest_to_the_highest_with_gaps() -> None:
    assert sparkline([1.0, 2.0, None, 8.0]) == SPARKS[0] + SPARKS[1] + " " + SPARKS[-1]
    assert sparkline([3.0, 3.0]) == SPARKS[0] * 2
    assert sparkline([None]) == ""


def test_a_failing_point_is_a_row_and_the_rest_render(picky_sweep: SweepReport) -> None:
    text = render(picky_sweep, "text", width=160)
    failed = picky_sweep.points[-1].error
    assert failed is not None
    assert f"{failed.type} at tests/targets/sweep/growth.py:{failed.line}" in text
    assert "every point within budget (equations, nested included 100)" in text
    assert "if n > 4: false -> true" in text


def test_without_a_compile_no_xla_column(picky_sweep: SweepReport) -> None:
    header = next(line for line in str(picky_sweep).splitlines() if line.strip().startswith("n "))
    assert header.split() == ["n", "eqns", "nested", "trace", "changed"]
