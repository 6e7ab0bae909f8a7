"""A failed trace on the HTML page: the failure first, at the user's line, with what the value
came from, where a leaked tracer was made, and the fixes jaxexplain verified."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import Browser, parse_dom
from pages import page_data, write

from jaxexplain import api
from jaxexplain.inputs.loader import load_target
from jaxexplain.renderers import render
from jaxexplain.renderers.html.failure import error_section
from jaxexplain.renderers.words import failed_summary, source_location, via_text
from jaxexplain.report import TraceReport

LEAKS = "tests/user_modules/failing_leaks.py"


def failed_report() -> TraceReport:
    """The classic failure: a Python `if` on a traced array (samples/conditional.py)."""
    fn = load_target("samples/conditional.py:conditional_double").obj
    report = api.trace(fn, "f32[8]", 0.5, static_argnames="threshold", compile=False)
    assert report.error is not None
    return report


def test_failed_trace_page_explains_the_failure_first() -> None:
    report = failed_report()
    assert report.error is not None
    page = render(report, "html")
    dom = parse_dom(page)
    sections = [e.attrs.get("id") for e in dom.select(tag="section")]
    assert sections[:2] == ["summary", "error"]
    summary = dom.select(tag="section", id="summary")[0].text()
    assert failed_summary(report.error) in summary and report.error.type in summary
    failure = dom.select(tag="section", id="error")[0].text()
    assert report.error.type in failure
    assert "if x > threshold" in failure
    assert "failed" in dom.select(tag="h1")[0].text()
    assert page_data(page)["jaxpr"] is None


def test_what_the_value_came_from_is_worded_as_in_the_text_report() -> None:
    report = failed_report()
    assert report.error is not None and report.error.depends_on
    depends = parse_dom(error_section(report.error)).select(tag="p", cls="depends")[0].text()
    text = render(report, "text", width=200)
    for dependency in report.error.depends_on:
        worded = f"{dependency.name} ({via_text(dependency.via)})"
        assert worded in depends and worded in text


def test_verified_fixes_show_their_checks() -> None:
    report = failed_report()
    assert report.error is not None
    verified = [s for s in report.error.suggestions if s.verified]
    assert verified and all(s.checks for s in verified)
    fixes = parse_dom(error_section(report.error)).select(cls="fix")
    shown = [f for f in fixes if f.select(cls="good")]
    assert len(shown) == len(verified)
    for fix, suggestion in zip(shown, verified, strict=True):
        assert f"checks passed: {', '.join(suggestion.checks)}" in fix.text()


def test_a_leaked_tracer_says_where_it_was_made() -> None:
    """The text report named the line that made a leaked tracer; the page did not."""
    report = api.trace(load_target(f"{LEAKS}:leak_from_scan").obj, "f32[]", compile=False)
    error = report.error
    assert error is not None and error.created_at is not None
    failure = parse_dom(render(report, "html")).select(tag="section", id="error")[0].text()
    made = source_location(error.created_at)
    assert f"Leaked value created at {made}" in failure
    assert f"leaked value created at {made}" in render(report, "text", width=200)


@pytest.mark.browser
def test_failed_trace_page_loads_in_the_browser(chromium: Browser, tmp_path: Path) -> None:
    report = failed_report()
    assert report.error is not None
    page = write(tmp_path, "failed.html", render(report, "html"))
    dom = parse_dom(chromium.dump_dom(page))
    failure = dom.select(tag="section", id="error")[0]
    assert report.error.type in failure.text()
    assert "data-ready-ms" in dom.select(tag="body")[0].attrs  # the script ran to its end
