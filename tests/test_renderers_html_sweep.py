"""The HTML page of a sweep: one inline SVG plot per fitted figure, its points and its law."""

from __future__ import annotations

import re

import pytest

import jaxexplain
from jaxexplain.renderers import render
from jaxexplain.renderers.html.sweep import CURVE_SAMPLES
from jaxexplain.report import SweepReport
from tests.targets.sweep.growth import unrolled


@pytest.fixture(scope="module")
def page() -> tuple[SweepReport, str]:
    report = jaxexplain.sweep(
        unrolled, "f32[8]", over={"n": [1, 2, 4, 8]}, static_argnames="n", compile=False
    )
    return report, render(report, "html")


def test_each_fitted_figure_has_a_plot_of_its_points_and_its_law(page) -> None:
    report, html = page
    plots = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(plots) == len(report.growth)
    for plot in plots:
        assert plot.count("<circle") == len(report.points)
        (points,) = re.findall(r'<polyline points="([^"]+)"', plot)
        assert len(points.split()) == CURVE_SAMPLES + 1


def test_the_page_names_the_loop_and_its_verified_rewrite(page) -> None:
    _, html = page
    assert "loop at tests/targets/sweep/growth.py:13 unrolls n times" in html
    assert "lax.fori_loop(0, n" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
