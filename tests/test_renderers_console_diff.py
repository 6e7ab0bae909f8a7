"""The text diff report: the verdict first, a failing side named, changed lines focused on
where they differ, hunk headers fitted to the width, and the figures' changes."""

from __future__ import annotations

from rich.text import Text

from jaxexplain import api
from jaxexplain.inputs.loader import load_target
from jaxexplain.renderers import render
from jaxexplain.renderers.console.diff import _change_text, focus, focused_lines, header_lines
from jaxexplain.renderers.words import figure_change_text, source_location
from jaxexplain.report import DiffReport, FigureChange
from jaxexplain.views import figure_delta

UNROLLED = "samples/unrolled.py:unrolled_power"


def unrolled_diff(n: object, *, compile: bool = False) -> DiffReport:
    power = load_target(UNROLLED).obj
    return api.diff(power, "f32[3]", 3, static_argnames="n", vs={"n": n}, compile=compile)


def test_the_verdict_comes_first_and_says_how_many_components_differ() -> None:
    report = unrolled_diff(4)
    text = render(report, "text")
    assert report.recompiles and report.verification is not None
    count = len(report.cache_key_changes)
    assert count == 1
    verdict = text.index("JAX RECOMPILES for side B: 1 cache-key component differs")
    assert verdict < text.index("\nWhy  ") < text.index("\nJaxpr diff  ")
    assert f"verified against JAX: {report.verification.note}" in text


def test_a_failing_side_is_named_in_the_verdict_and_explained() -> None:
    report = unrolled_diff(2.5)
    assert report.recompiles is None and report.b.error is not None and report.a.error is None
    text = render(report, "text")
    assert "no verdict: side B failed to trace" in text
    assert "side B failed:" in text and report.b.error.type in text


def test_a_hunk_header_gives_way_library_first_then_the_source_moves_below() -> None:
    report = unrolled_diff(4)
    assert report.jaxpr_diff is not None
    (hunk,) = report.jaxpr_diff.hunks
    assert hunk.source is not None and hunk.source_text is not None
    (whole,) = header_lines(hunk, 200)
    assert whole.endswith(f"{source_location(hunk.source)}  {hunk.source_text.strip()}")
    where, below = header_lines(hunk, len(whole) - 1)
    assert where.endswith(source_location(hunk.source))
    assert below == "@    " + hunk.source_text.strip()


def test_a_long_changed_pair_is_focused_on_its_first_difference() -> None:
    common = "-    c:f32[3] = concatenate[dimension=0] " + " ".join(f"a{i}" for i in range(30))
    removed, added = common + " f32[10,4]", "+" + common[1:] + " f32[5,4]"
    shown = focused_lines([removed, added], 80)
    assert all(len(line) <= len(removed) for line in shown)
    assert all("…" in line for line in shown)
    assert shown[0].endswith("f32[10,4]") and shown[1].endswith("f32[5,4]")
    assert focus("-  short", 1, 80) == "-  short"


def test_figure_changes_are_colored_by_direction_and_timings_stay_dim() -> None:
    report = unrolled_diff(4, compile=True)
    flops = next(c for c in report.compile_changes if c.name == "flops")
    moved = figure_delta(flops)
    assert moved is not None and moved.delta > 0  # one more multiply on side B
    shown = _change_text(flops)
    assert shown.plain == figure_change_text(flops) and str(shown.style) == "yellow"
    timing = FigureChange("compile seconds", 0.25, 0.5, "s")
    assert str(_change_text(timing).style) == "dim"
    assert _change_text(FigureChange("flops", None, 1.0)) == Text("")
