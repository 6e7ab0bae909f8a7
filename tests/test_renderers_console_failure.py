"""A failed trace as text: the user's line with the failing expression underlined, what the
value came from, who raised the error, and the fixes with their marks and checks."""

from __future__ import annotations

from jaxexplain import api
from jaxexplain.inputs.loader import load_target
from jaxexplain.renderers.console.common import write_sections
from jaxexplain.renderers.console.failure import error_sections
from jaxexplain.renderers.words import error_dependencies_text, location, raised_by_text
from jaxexplain.report import ErrorInfo


def conditional_failure() -> ErrorInfo:
    fn = load_target("samples/conditional.py:conditional_double").obj
    report = api.trace(fn, "f32[8]", 0.5, static_argnames="threshold", compile=False)
    assert report.error is not None and report.error.file is not None
    return report.error


def test_the_failing_expression_is_underlined_under_the_users_line() -> None:
    error = conditional_failure()
    assert error.source is not None and error.column is not None and error.end_column
    lines = write_sections(error_sections(error), color=False, width=200).split("\n")
    k = next(
        i
        for i, line in enumerate(lines)
        if line.strip().startswith(location(error.file or "", error.line))
    )
    start = lines[k].index(error.source)
    carets = lines[k + 1]
    assert carets.index("^") == start + error.column
    assert carets.count("^") == error.end_column - error.column


def test_dependencies_and_who_raised_it_are_worded_once() -> None:
    error = conditional_failure()
    text = " ".join(write_sections(error_sections(error), color=False, width=200).split())
    assert f"depends on: {error_dependencies_text(error)}" in text
    assert f"{raised_by_text(error)}: {error.message.splitlines()[0]}" in text


def test_each_fix_is_marked_verified_only_when_it_was() -> None:
    error = conditional_failure()
    text = write_sections(error_sections(error), color=False, width=200)
    verified = [s for s in error.suggestions if s.verified]
    assert text.count("✓ verified") == len(verified) > 0
    assert text.count("checks passed: ") == sum(1 for s in verified if s.checks)
