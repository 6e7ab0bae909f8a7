"""The text lines of a buckets recommendation: the sentence, then what was checked, which calls
the sizes count, and the export's outcome with the line that stops it."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console

from jaxexplain.renderers.console.buckets import buckets_lines
from jaxexplain.report import Buckets, ExportCheck, Recommendation

BUCKETS = Buckets(
    path="x.shape[0]",
    sizes={"3": 1, "5": 2, "9": 1},
    edges=(5, 9),
    compiles_now=3,
    compiles_with=2,
    compile_seconds_now=1.5,
    compile_seconds_with=0.8,
    padding_flops_ratio=0.2,
    export=ExportCheck(False, "`if x.shape[0] > 4:`: inconclusive", "/src/model.py", 12),
)
RECOMMENDATION = Recommendation(
    "step", "buckets", "step: x.shape[0]: ...", True, ("compiled_at_edges",), buckets=BUCKETS
)


def text_of(recommendation: Recommendation) -> str:
    console = Console(width=200, record=True, color_system=None)
    for line in buckets_lines(recommendation):
        console.print(line)
    return console.export_text()


def test_lines_say_the_check_the_calls_and_the_export() -> None:
    text = text_of(RECOMMENDATION)
    assert "buckets: step: x.shape[0]: ..." in text
    assert "compiled the function at each of the 2 edges" in text
    assert "(3: 1, 5: 2, 9: 1) count only the calls that reached JAX's Python dispatch" in text
    assert "does not work at /src/model.py:12: `if x.shape[0] > 4:`: inconclusive" in text


def test_an_unverified_recommendation_claims_no_check() -> None:
    text = text_of(replace(RECOMMENDATION, verified=False, checks=()))
    assert "compiled the function" not in text
