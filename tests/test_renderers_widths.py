"""Every report kind at 60, 80, 120 and 200 columns: no line is longer than the width."""

from __future__ import annotations

import re

import pytest

import jaxexplain
from jaxexplain.renderers import render
from jaxexplain.report import Report
from tests.targets.sweep.growth import picky
from tests.test_gold import LIVE_RUNS, saved_report

ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDTHS = (60, 80, 120, 200)


@pytest.fixture(scope="module", params=[*LIVE_RUNS, "sweep"])
def report(request: pytest.FixtureRequest) -> Report:
    """Each gold sample (traces, a failing trace, a diff, a watch report) and a sweep."""
    if request.param == "sweep":
        return jaxexplain.sweep(
            picky, "f32[8]", over={"n": [1, 2, 4, 8]}, static_argnames="n", compile=False
        )
    return saved_report(request.param, False)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_no_line_is_longer_than_the_width(report: Report, width: int, color: bool) -> None:
    text = ANSI.sub("", render(report, "text", color=color, width=width))
    too_long = [line for line in text.split("\n") if len(line) > width]
    assert not too_long


@pytest.mark.parametrize("width", WIDTHS)
def test_narrow_tables_keep_every_name_and_header_whole(width: int) -> None:
    """The statics table at any width: `n_layers` and `compared` never fold into `n_layer`/`s`."""
    report = saved_report("transformer", False)
    assert report.cache_key is not None and report.cache_key.static
    words = {w for line in render(report, "text", width=width).split("\n") for w in line.split()}
    for static in report.cache_key.static:
        assert static.name in words
    assert {"compared", "value", "hash"} <= words
