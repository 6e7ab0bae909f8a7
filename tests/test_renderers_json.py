"""The JSON renderer: the report's versioned document, which loads back into the same report,
with the derived facts a reader needs (unrolled loops and their cost, the deciding statics), timings to the microsecond."""

from __future__ import annotations

import json

import jaxexplain
from jaxexplain import api
from jaxexplain.renderers import render
from jaxexplain.report import DiffReport, TraceReport, WatchReport
from jaxexplain.timings import json_timings
from jaxexplain.views import diff_views, trace_views, unrolled_loops
from tests.targets.rendering import layered


def test_a_trace_document_adds_its_views_and_loads_back() -> None:
    report = api.trace(layered, "f32[3]", 20, static_argnames="layers", compile=False)
    data = json.loads(render(report, "json"))
    keys = list(data)
    assert keys[0] == "schema" and keys[-1] == "views"
    assert data["views"] == trace_views(report)
    (loop,) = unrolled_loops(report.decisions)
    assert data["views"]["unrolled_loops"][0]["equations"] == loop.equations
    loaded = TraceReport.from_dict(data)
    assert loaded.to_dict() == json_timings(report.to_dict())
    assert render(loaded, "json") == render(report, "json")
    assert {k: v for k, v in data.items() if k != "views"} == json_timings(report.to_dict())


def test_a_diff_document_adds_each_sides_views() -> None:
    report = api.diff(layered, "f32[3]", 16, static_argnames="layers", vs={"layers": 20})
    data = json.loads(render(report, "json"))
    assert data["views"] == diff_views(report)
    passes = [v["unrolled_loops"][0]["passes"] for v in (data["views"]["a"], data["views"]["b"])]
    assert passes == [16, 20]
    assert DiffReport.from_dict(data).to_dict() == json_timings(report.to_dict())


def test_a_watch_document_is_the_report_as_it_is() -> None:
    with jaxexplain.watch() as watcher:
        pass
    report = watcher.report()
    assert json.loads(render(report, "json")) == json_timings(json.loads(report.to_json()))
    loaded = WatchReport.from_dict(json.loads(render(report, "json")))
    assert loaded.to_dict() == json_timings(report.to_dict())
