"""Gold files: every renderer's output for saved reports, compared character for character.

Collect once, render many: each case is a report saved as JSON from a live run (trace, failing
trace, diff, watch), so the renderings do not move with the JAX version or the machine. The
JSON renderer must give the saved document back; the text renderer must give the gold text,
plain and colored; the HTML renderer the gold page, scrubbed of what is not
the report's (the stylesheet and script, the JAX version). `pytest tests/test_gold.py --update-gold` re-creates the saved reports from
live runs and the renderings from them; review the change with `git diff tests/gold`.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jaxexplain.api import diff_target, trace_target
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.renderers import RENDERERS, render
from jaxexplain.report import DIFF_SCHEMA, TRACE_SCHEMA, DiffReport, TraceReport, WatchReport
from jaxexplain.watching.watcher import Watcher, run_program
from tests.conftest import ROOT

GOLD = Path(__file__).resolve().parent / "gold"
# Absolute paths in saved reports are written relative to this marker, so that the gold files
# hold in any checkout.
ROOT_MARK = "<ROOT>"
F32_8 = ArraySpec((8,), "float32")
FIXED_SECONDS = 0.125


def _watch_training_loop() -> WatchReport:
    watcher = Watcher(program="tests/watch_programs/training_loop.py")
    with contextlib.redirect_stdout(io.StringIO()):
        run_program(["tests/watch_programs/training_loop.py"], watcher)
    return watcher.report()


LIVE_RUNS: dict[str, Callable[[], Any]] = {
    "unrolled": lambda: trace_target(
        "samples/unrolled.py:unrolled_power", {"n": 3}, {"x": ArraySpec((3,), "float32")}
    ),
    "transformer": lambda: trace_target(
        "samples/transformer.py:transformer", args_from="samples/transformer.py:layers_2"
    ),
    "conditional": lambda: trace_target(
        "samples/conditional.py:conditional_double", {"threshold": 0.5}, {"x": F32_8}
    ),
    "unrolled-diff": lambda: diff_target(
        "samples/unrolled.py:unrolled_power",
        {"n": 3},
        {"x": ArraySpec((3,), "float32")},
        {"n": "4"},
    ),
    "training-watch": _watch_training_loop,
}


def _scrubbed(document: str) -> str:
    return document.replace(json.dumps(str(ROOT))[1:-1], ROOT_MARK)


# The page's parts that are the package's files, not the report, and the JAX that made it.
_STYLESHEET = re.compile(r"<style>\n.*?\n</style>", re.S)
_SCRIPT = re.compile(r"<script>\n.*?\n</script>", re.S)
_DATA = re.compile(r'(<script type="application/json" id="jx-data">)(.*?)(</script>)', re.S)
_JAX_VERSION = re.compile(r" · JAX [^<]+")
# Where the page's one-line body is broken for the gold file: a change shows in its row.
_ROWS = re.compile(r'(?=<section|<details class="explained"|<tr[ >]|<div class="sl[ "])')


def _page_scrubbed(page: str) -> str:
    """The page without its stylesheet, script and JAX version, its sections, table rows and
    source lines each on a line, and its data block one item a line (`_lines`)."""
    page = _STYLESHEET.sub("<style>/* report.css and Pygments' colors */</style>", page)
    page = _SCRIPT.sub("<script>/* report.js */</script>", page)
    page = _JAX_VERSION.sub(" · JAX <VERSION>", page)
    page = _DATA.sub(lambda m: f"{m[1]}\n{_lines(json.loads(m[2]))}\n{m[3]}", page)
    return _ROWS.sub("\n", page)


def _lines(value: Any, depth: int = 0) -> str:
    """JSON with each key and each item on its own line, a list of numbers on one."""
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_lines(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(not isinstance(v, (int, float)) for v in value):
        return "[\n" + ",\n".join(inner + _lines(v, depth + 1) for v in value) + f"\n{pad}]"
    return json.dumps(value, separators=(",", ":"))


def _unscrubbed(document: str) -> str:
    return document.replace(ROOT_MARK, json.dumps(str(ROOT))[1:-1])


def _fixed_timings(data: Any) -> Any:
    """The document with every `...seconds` figure set to one value, so that re-creating the
    gold files changes them only where the reports really changed."""
    if isinstance(data, dict):
        timing = data.get("unit") == "s"  # a diff's figure row: "compile seconds", a, b
        return {
            key: FIXED_SECONDS
            if isinstance(value, float) and (_is_timing(key) or (timing and key in ("a", "b")))
            else _fixed_timings(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_fixed_timings(value) for value in data]
    return data


def _is_timing(key: str) -> bool:
    return key.endswith("seconds") or key == "time"


def saved_report(case: str, update: bool) -> Any:
    """The case's saved report, re-created from a live run first when updating."""
    path = GOLD / f"{case}.json"
    if update:
        GOLD.mkdir(exist_ok=True)
        document = _fixed_timings(json.loads(render(LIVE_RUNS[case](), "json")))
        path.write_text(_scrubbed(json.dumps(document, indent=2)), encoding="utf-8")
    if not path.exists():
        pytest.fail(f"{path} is missing: run pytest tests/test_gold.py --update-gold")
    data = json.loads(_unscrubbed(path.read_text(encoding="utf-8")))
    loader = {TRACE_SCHEMA: TraceReport, DIFF_SCHEMA: DiffReport}.get(data["schema"], WatchReport)
    return loader.from_dict(data)


def check_gold(path: Path, rendered: str, update: bool) -> None:
    """Compares with the gold file (writing it instead when updating)."""
    rendered = _scrubbed(rendered)
    if update:
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run pytest tests/test_gold.py --update-gold"
    assert rendered == path.read_text(encoding="utf-8")


@pytest.fixture(scope="module", params=list(LIVE_RUNS))
def saved(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """(case, its saved report), re-created once per case when updating."""
    case = request.param
    return case, saved_report(case, bool(request.config.getoption("--update-gold")))


def test_json_renders_the_saved_report_back(saved: tuple[str, Any]) -> None:
    case, report = saved
    document = _unscrubbed((GOLD / f"{case}.json").read_text(encoding="utf-8"))
    assert render(report, "json") == document


@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_text_matches_gold(saved: tuple[str, Any], color: bool, update_gold: bool) -> None:
    case, report = saved
    suffix = "ansi" if color else "txt"
    check_gold(GOLD / f"{case}.{suffix}", render(report, "text", color=color), update_gold)


def test_html_matches_gold(saved: tuple[str, Any], update_gold: bool) -> None:
    case, report = saved
    gold = GOLD / f"{case}.html"
    if ("html", type(report)) not in RENDERERS:
        assert not gold.exists(), f"{case} has no HTML rendering"
        return
    check_gold(gold, _page_scrubbed(render(report, "html")), update_gold)


def trace_facts(report: TraceReport, counts: bool = True) -> dict[str, Any]:
    """What a trace report claims about JAX, without what varies between runs (timings, the
    digest's context, memory addresses): the facts a regression must not change silently.
    Equation counts are left out (`counts`) when the saved report came from another JAX,
    which lowers the same code to other equations (they are checked against make_jaxpr)."""
    key = report.cache_key
    return {
        "equations": report.jaxpr.equations if report.jaxpr and counts else None,
        "primitives": report.jaxpr.primitives if report.jaxpr and counts else None,
        "statics": [(s.name, s.value, s.type, s.compared_by) for s in key.static] if key else None,
        "traced": [(t.path, t.shape, t.dtype, t.weak_type) for t in key.traced] if key else None,
        "treedef": key.treedef if key else None,
        "decisions": [(d.line, d.kind, d.source, d.outcomes) for d in report.decisions],
        "error": (report.error.type, report.error.line) if report.error else None,
        "suggestions": [
            (s.kind, s.params, s.verified, s.checks)
            for s in (report.error.suggestions if report.error else ())
        ],
    }


def report_facts(report: Any, counts: bool = True) -> Any:
    """The facts of a trace, of both sides and the verdict of a diff, or of every compile."""
    if isinstance(report, TraceReport):
        return trace_facts(report, counts)
    if isinstance(report, DiffReport):
        return {
            "a": trace_facts(report.a, counts),
            "b": trace_facts(report.b, counts),
            "recompiles": report.recompiles,
            "changes": [(c.component, c.path, c.a, c.b) for c in report.cache_key_changes],
            "flipped": [(c.line, c.a, c.b) for c in report.decision_changes],
        }
    return [
        (e.function, e.kind, [(r.component, r.path, r.entry) for r in e.reasons])
        for e in report.events
    ]


def test_a_live_run_still_claims_what_the_saved_report_claims(saved: tuple[str, Any]) -> None:
    """The renderings above come from saved reports; this ties those reports to today's code
    and JAX, so a regression in the jaxpr, the key, the decisions or a verified fix shows."""
    case, report = saved
    live = json.loads(_scrubbed(render(LIVE_RUNS[case](), "json")))
    loader = {TRACE_SCHEMA: TraceReport, DIFF_SCHEMA: DiffReport}.get(live["schema"], WatchReport)
    live_report = loader.from_dict(json.loads(_unscrubbed(json.dumps(live))))
    same_jax = _jax_version(live_report) == _jax_version(report)
    assert report_facts(live_report, same_jax) == report_facts(report, same_jax)


def _jax_version(report: Any) -> str:
    return getattr(report, "jax_version", "") or getattr(
        getattr(report, "a", None), "jax_version", ""
    )
