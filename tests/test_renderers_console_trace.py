"""The text trace report: the summary that catches the eye, the annotated source whose counts
add up to the jaxpr's, and the sections in the order a user reads them."""

from __future__ import annotations

import re

from jaxexplain.api import trace_target
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.renderers import render
from jaxexplain.renderers.words import deciding_statics_text
from jaxexplain.report import TraceReport
from jaxexplain.views import deciding_statics, listing_equations

OPTIM = "tests.targets.training.optim"
MODULES = "tests.targets.models.modules"


def unrolled(n: int, compile: bool = False) -> TraceReport:
    report = trace_target(
        "samples/unrolled.py:unrolled_power",
        {"n": n},
        {"x": ArraySpec((3,), "float32")},
        compile=compile,
    )
    assert report.jaxpr is not None and report.jaxpr.primitives["mul"] == n
    return report


def one_line(report: TraceReport) -> str:
    return " ".join(render(report, "text", width=200).split())


def test_a_loop_that_ran_sixteen_times_is_flagged_in_the_summary() -> None:
    flagged = "! for _ in range(n) at samples/unrolled.py:12 ran 16 times while tracing"
    assert flagged in one_line(unrolled(16))
    assert "! for" not in one_line(unrolled(15))


def test_the_statics_that_decided_most_are_named_with_their_decisions() -> None:
    report = unrolled(3)
    statics = deciding_statics(report.decisions)
    assert [s.name for s in statics] == ["n"]
    assert f"static arguments that decided the most: {deciding_statics_text(statics)}" in (
        one_line(report)
    )


def test_each_listing_says_how_many_of_the_jaxprs_equations_its_lines_made() -> None:
    report = unrolled(4)
    assert report.jaxpr is not None
    (listing,) = report.sources
    made = listing_equations(listing)
    assert made == report.jaxpr.equations_total
    assert f"{made:,} of {report.jaxpr.equations_total:,} equations" in one_line(report)


def test_sections_come_in_reading_order_and_compilation_last() -> None:
    text = render(unrolled(3, compile=True), "text", width=200)
    headings = ["Arguments", "Cache key", "Baked-in decisions", "Source", "Jaxpr", "Compilation"]
    places = [text.index(f"\n{heading}  ") for heading in headings[1:]]
    assert text.index("\nArguments") < places[0]
    assert places == sorted(places)


def test_source_listing_keeps_line_numbers_and_counts_beside_a_long_badge() -> None:
    report = trace_target(f"{OPTIM}:sgd_step", args_from=f"{OPTIM}:sgd_args", compile=False)
    assert report.ok, report.error
    text = render(report, "text", width=100)
    listing = next(s for s in report.sources if s.function.startswith("clip_by_global_norm"))
    for line in listing.lines:
        if line.equations:
            assert re.search(rf"^{line.number} +{line.equations} eq ", text, re.M), text


def test_a_long_run_of_outcomes_leaves_the_decision_readable() -> None:
    """A branch taken once per layer of a 12-layer model lists 25 outcomes."""
    report = trace_target(f"{MODULES}:deep_apply", args_from=f"{MODULES}:deep_args", compile=False)
    text = render(report, "text", width=120)
    section = text[text.index("Baked-in decisions") : text.index("\nSource")]
    assert "isinstance(layer," in section and "params (shape)" in section
    assert "tests/targets/models/modules.py:74" in section
    fn, plan = prepare_target(f"{MODULES}:deep_apply", {}, {}, f"{MODULES}:deep_args")
    args, kwargs = plan.call_args()
    assert report.jaxpr.equations == len(fn.obj.trace(*args, **kwargs).jaxpr.eqns)
