"""The watch page: the run, its functions linked to their compilations, every compilation, and
the explained ones with their full trace and diff reports embedded; as text first, then in
headless Chromium (several jaxpr panes on one page, each drawn and linked to its own source)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from browser import Browser, Element, hook_results, parse_dom
from disk_runs import CONSTANTS_PROGRAM, jaxexplain_json, marked_line
from pages import page_data, src, states, write
from typer.testing import CliRunner
from watched import WatchedRun, explained, failed_call, watched_loop

from jaxexplain.cli import app
from jaxexplain.renderers import render
from jaxexplain.renderers.html.diff import jaxpr_diff_data
from jaxexplain.renderers.html.trace import jaxpr_pane_data
from jaxexplain.renderers.html.watch import OPEN_EXPLAINED
from jaxexplain.renderers.words import (
    DISK_NO_EARLIER_RECORD,
    FIRST_COMPILATION,
    VERIFIED,
    compile_title,
    disk_head,
    disk_summary,
    entry_text,
    reasons_text,
)
from jaxexplain.report import WatchEvent, WatchReport
from jaxexplain.views import reasons_by_entry
from tests.targets.rendering import loop_and_branch

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "watch_programs"
SCREENSHOTS = ROOT / "out" / "screenshots"


@pytest.fixture(scope="module")
def run() -> WatchedRun:
    """Two compilations (n=3, then n=5) and a call that hits the cache (n=3 again)."""
    return watched_loop([3, 5, 3])


@pytest.fixture(scope="module")
def report(run: WatchedRun) -> WatchReport:
    return explained(run)


@pytest.fixture(scope="module")
def many() -> WatchReport:
    """More explained compilations than the page opens on load."""
    return explained(watched_loop(list(range(1, OPEN_EXPLAINED + 2))), compile=False)


def ids_of(dom: Element) -> list[str]:
    return [e.attrs["id"] for e in dom.iter() if "id" in e.attrs]


def by_id(dom: Element, anchor: str) -> Element:
    (element,) = [e for e in dom.iter() if e.attrs.get("id") == anchor]
    return element


# ------------------------------------------------------------------------------ the page as text


def test_every_compilation_is_a_row_and_every_explained_one_a_section(
    run: WatchedRun, report: WatchReport
) -> None:
    dom = parse_dom(render(report, "html"))
    rows = [e for e in dom.select(tag="tr") if e.attrs.get("id", "").startswith("event-")]
    assert len(rows) == len(report.events) == run.cache_size == 2
    sections = dom.select(tag="details", cls="explained")
    assert [s.attrs["id"] for s in sections] == [f"e{x.compile}" for x in report.explained]
    events = {e.index: e for e in report.events}
    for section, x in zip(sections, report.explained, strict=True):
        heading = section.select(tag="summary")[0].text()
        assert heading.startswith(compile_title(x, events[x.compile]))


def test_element_ids_are_unique_and_every_link_lands_on_one(
    report: WatchReport, many: WatchReport
) -> None:
    for each in (report, many):
        dom = parse_dom(render(each, "html"))
        ids = ids_of(dom)
        assert [name for name, count in Counter(ids).items() if count > 1] == []
        links = [e.attrs["href"] for e in dom.select(tag="a")]
        assert links and all(link.startswith("#") for link in links)
        assert [link for link in links if link[1:] not in ids] == []


def test_each_function_links_to_its_compilations(run: WatchedRun, report: WatchReport) -> None:
    (row,) = (
        by_id(parse_dom(render(report, "html")), "functions")
        .select(tag="tbody")[0]
        .select(tag="tr")
    )
    links = [a.attrs["href"] for a in row.select(tag="a")]
    assert links == [f"#e{e.index}" for e in report.events]
    unexplained = by_id(parse_dom(render(run.report, "html")), "functions")
    assert [a.attrs["href"] for a in unexplained.select(tag="a")] == [
        f"#event-{e.index}" for e in run.report.events
    ]


def test_a_recompilation_names_what_differs_and_links_the_earlier_entry(
    report: WatchReport,
) -> None:
    dom = parse_dom(render(report, "html"))
    first, second = report.events
    assert FIRST_COMPILATION in by_id(dom, f"event-{first.index}").text()
    row = by_id(dom, f"event-{second.index}")
    ((entry, reasons),) = reasons_by_entry(second.reasons)
    assert entry == first.compile_number
    assert f"{entry_text(entry)}: {reasons_text(reasons)}" in row.text()
    assert "n 3 -> 5" in reasons_text(reasons)
    hrefs = [a.attrs["href"] for a in row.select(tag="a")]
    assert f"#event-{first.index}" in hrefs and f"#e{second.index}" in hrefs


def test_embedded_reports_show_what_their_own_pages_show(report: WatchReport) -> None:
    """Built by the trace and diff pages' own builders: the same sections, ids kept apart."""
    dom = parse_dom(render(report, "html"))
    for x in report.explained:
        own = parse_dom(render(x.trace, "html"))
        for anchor in ("arguments", "decisions", "cache-key", "compile", "primitives"):
            assert by_id(dom, f"e{x.compile}-t-{anchor}").text() == by_id(own, anchor).text()
        if x.diff is not None:
            own_diff = parse_dom(render(x.diff, "html"))
            for anchor in ("verdict", "arguments", "decision-changes", "jaxpr-diff"):
                assert (
                    by_id(dom, f"e{x.compile}-d-{anchor}").text() == by_id(own_diff, anchor).text()
                )
    expected = []
    for x in report.explained:
        assert x.trace.jaxpr is not None
        expected.append({"scope": f"e{x.compile}-t-", "jaxpr": jaxpr_pane_data(x.trace.jaxpr)})
        if x.diff is not None:
            assert x.diff.jaxpr_diff is not None
            expected.append(
                {"scope": f"e{x.compile}-d-", "diff": jaxpr_diff_data(x.diff.jaxpr_diff)}
            )
    assert page_data(render(report, "html"))["reports"] == expected


def test_the_recompilations_diff_is_the_real_static_change(report: WatchReport) -> None:
    (recompiled,) = [x for x in report.explained if x.diff is not None]
    assert recompiled.diff is not None and recompiled.diff.recompiles
    verdict = by_id(parse_dom(render(report, "html")), f"e{recompiled.compile}-d-verdict").text()
    assert verdict.startswith("JAX recompiles") and "n: 3 → 5" in verdict


def test_a_few_explained_compilations_are_open_many_start_closed(
    report: WatchReport, many: WatchReport
) -> None:
    opened = parse_dom(render(report, "html")).select(tag="details", cls="explained")
    assert all("open" in d.attrs for d in opened)
    closed = parse_dom(render(many, "html")).select(tag="details", cls="explained")
    assert len(closed) == len(many.events) > OPEN_EXPLAINED
    assert not any("open" in d.attrs for d in closed)


def test_a_call_that_failed_to_trace_shows_its_failure_and_the_fixes_verified() -> None:
    report = failed_call()
    (x,) = report.explained
    assert x.trace.error is not None
    dom = parse_dom(render(report, "html"))
    section = by_id(dom, f"e{x.compile}")
    summary = section.select(tag="summary")[0]
    assert summary.text().startswith(compile_title(x, None))
    assert summary.select(cls="status")[0].text() == "failed"
    failure = by_id(dom, f"e{x.compile}-t-error")
    assert failure.text() == by_id(parse_dom(render(x.trace, "html")), "error").text()
    verified = [s for s in x.trace.error.suggestions if s.verified]
    assert verified
    marks = [e for e in failure.select(cls="tag") if e.text() == VERIFIED]
    assert len(marks) == len(verified)


def test_a_report_loaded_from_json_renders_the_same_page(report: WatchReport) -> None:
    loaded = WatchReport.from_dict(json.loads(report.to_json()))
    assert render(loaded, "html") == render(report, "html")


def test_cli_watch_writes_one_page_and_keeps_the_programs_exit_code(tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    result = CliRunner().invoke(
        app, ["watch", "-o", str(out), "--", str(PROGRAMS / "exits.py"), "raise"]
    )
    assert result.exit_code == 1
    compiled = result.stderr.count("jaxexplain: compiled ")
    dom = parse_dom(out.read_text(encoding="utf-8"))
    rows = [e for e in dom.select(tag="tr") if e.attrs.get("id", "").startswith("event-")]
    assert len(rows) == compiled == 1
    assert "ValueError: the program failed" in by_id(dom, "program-error").text()
    assert dom.select(cls="status")[0].text() == "exit 1"


# --------------------------------------------------------------------------- in a real browser


@pytest.mark.browser
def test_the_pages_script_draws_every_reports_pane(
    chromium: Browser, report: WatchReport, tmp_path: Path
) -> None:
    page = write(tmp_path, "watch.html", render(report, "html"))
    (state,) = states(chromium, page, "test:load=1")
    assert state["errors"] == []
    drawn = {r["scope"]: r for r in state["reports"]}
    for x in report.explained:
        assert x.trace.jaxpr is not None
        lines = len(x.trace.jaxpr.text.split("\n"))
        assert (
            drawn[f"e{x.compile}-t-"]["mounted"] and drawn[f"e{x.compile}-t-"]["jaxprRows"] == lines
        )
        if x.diff is not None and x.diff.jaxpr_diff is not None:
            hunks = x.diff.jaxpr_diff.hunks
            rows = sum(len(h.rows) + 1 for h in hunks)  # each hunk's rows under its header row
            assert drawn[f"e{x.compile}-d-"]["diffRows"] == rows


@pytest.mark.browser
def test_hovering_a_source_line_lights_its_equations_in_its_own_report_only(
    chromium: Browser, report: WatchReport, tmp_path: Path
) -> None:
    page = write(tmp_path, "watch.html", render(report, "html"))
    first, second = report.explained
    (loop,) = [d for d in second.trace.decisions if d.kind == "for"]
    body = src(loop_and_branch, "loop body")
    scope = f"e{second.compile}-t-"
    dom_text = chromium.dump_dom(page, f"test:report={scope}&hover-src={body}")
    (_, state) = [r["state"] for r in hook_results(dom_text)]
    assert state["sourceOn"] == [body]
    assert len(state["jaxprOnText"]) == loop.outcomes[0] == 5
    assert all("= mul " in text for text in state["jaxprOnText"])
    dom = parse_dom(dom_text)
    lit, other = by_id(dom, f"{scope}report"), by_id(dom, f"e{first.compile}-t-report")
    assert "linking" in lit.classes and "linking" not in other.classes
    assert [e for e in other.select(cls="sl") if "on" in e.classes] == []
    assert [e for e in other.select(cls="jr") if "on" in e.classes] == []


@pytest.mark.browser
def test_a_closed_compilation_is_drawn_when_it_opens(
    chromium: Browser, many: WatchReport, tmp_path: Path
) -> None:
    page = write(tmp_path, "many.html", render(many, "html"))
    last = many.explained[-1]
    loaded, opened = states(chromium, page, f"test:load=1&report=e{last.compile}-t-")
    assert [r["mounted"] for r in loaded["reports"]] == [False] * len(loaded["reports"])
    drawn = {r["scope"]: r for r in opened["reports"] if r["mounted"]}
    assert last.trace.jaxpr is not None
    assert list(drawn) == [f"e{last.compile}-t-"]
    assert drawn[f"e{last.compile}-t-"]["jaxprRows"] == len(last.trace.jaxpr.text.split("\n"))
    assert opened["errors"] == []


@pytest.mark.browser
def test_the_embedded_diff_steps_through_its_hunks(
    chromium: Browser, report: WatchReport, tmp_path: Path
) -> None:
    (recompiled,) = [x for x in report.explained if x.diff is not None]
    assert recompiled.diff is not None and recompiled.diff.jaxpr_diff is not None
    hunks = len(recompiled.diff.jaxpr_diff.hunks)
    page = write(tmp_path, "watch.html", render(report, "html"))
    _, stepped = states(chromium, page, f"test:report=e{recompiled.compile}-d-&next-hunk=1")
    assert stepped["status"] == f"hunk 1 / {hunks}"
    added = [b["text"] for row in stepped["shown"] if isinstance(row, list) for b in row[1:]]
    assert any("= mul " in text for text in added)


@pytest.mark.browser
def test_screenshot_for_a_person_to_look_at(
    chromium: Browser, report: WatchReport, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = write(tmp_path, "watch.html", render(report, "html"))
    shot = chromium.screenshot(page, SCREENSHOTS / "watch.png", size=(1400, 2400))
    assert shot.stat().st_size > 10_000


@pytest.mark.browser
def test_a_link_into_a_closed_compilation_opens_and_draws_it(
    chromium: Browser, many: WatchReport, tmp_path: Path
) -> None:
    page = write(tmp_path, "many.html", render(many, "html"))
    last, other = many.explained[-1], many.explained[0]
    assert last.trace.jaxpr is not None
    dom = parse_dom(chromium.dump_dom(page, f"e{last.compile}-t-arguments", budget_ms=1000))
    assert "open" in by_id(dom, f"e{last.compile}").attrs
    assert "open" not in by_id(dom, f"e{other.compile}").attrs
    drawn = by_id(dom, f"e{last.compile}-t-jx-rows").select(cls="jr")
    assert len(drawn) == len(last.trace.jaxpr.text.split("\n"))
    assert by_id(dom, f"e{other.compile}-t-jx-rows").select(cls="jr") == []


# ------------------------------------------------------- JAX's persistent compilation cache


@pytest.fixture(scope="module")
def disk_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[WatchReport]]:
    """One program over one cache directory: written; its constants and an XLA flag changed
    (a miss against the first run's record); the first run again (served from disk); and with
    a minimum compile time no compile reaches (not written)."""
    folder = tmp_path_factory.mktemp("disk-page")
    program = folder / "constants.py"
    program.write_text(CONSTANTS_PROGRAM)
    runs = [
        {},
        {"SCALE": "5.0", "XLA_FLAGS": "--xla_cpu_enable_fast_math=true"},
        {},
        {"SCALE": "7.0", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "600"},
    ]
    reports = [
        WatchReport.from_dict(jaxexplain_json(folder, ["watch", "--", str(program)], **extra))
        for extra in runs
    ]
    return program, reports


def disk_of(report: WatchReport) -> tuple[Element, WatchEvent]:
    """The disk line of the program's one jit compile, and its event."""
    (event,) = [e for e in report.events if e.function == "step"]
    row = by_id(parse_dom(render(report, "html")), f"event-{event.index}")
    (disk,) = row.select(tag="div", cls="disk")
    return disk, event


def test_each_compile_says_what_the_disk_cache_did(
    disk_runs: tuple[Path, list[WatchReport]],
) -> None:
    _, (written, changed, again, skipped) = disk_runs
    statuses = []
    for report in (written, changed, again, skipped):
        disk, event = disk_of(report)
        assert event.persistent is not None
        statuses.append(event.persistent.status)
        assert disk.classes == {"disk", event.persistent.status.replace("_", "-")}
        assert disk.text().startswith(disk_head(event.persistent))
    assert statuses == ["miss", "miss", "hit", "not_written"]
    assert DISK_NO_EARLIER_RECORD in disk_of(written)[0].text()
    assert "jax_persistent_cache_min_compile_time_secs = 600" in disk_of(skipped)[0].text()


def test_a_miss_lists_each_differing_part_and_the_changed_stablehlo_with_the_users_line(
    disk_runs: tuple[Path, list[WatchReport]],
) -> None:
    program, (_, changed, _, _) = disk_runs
    disk, event = disk_of(changed)
    assert event.persistent is not None
    items = disk.select(tag="li")
    assert len(items) == len(event.persistent.differs) > 1
    assert all(
        i.text().startswith(d.part) for i, d in zip(items, event.persistent.differs, strict=True)
    )
    flags = next(i.text() for i in items if i.text().startswith("XLA flags"))
    assert "--xla_cpu_enable_fast_math=true (was absent)" in flags
    (excerpt,) = disk.select(tag="pre", cls="stablehlo")
    removed = [s.text() for s in excerpt.select(tag="span", cls="del")]
    added = [s.text() for s in excerpt.select(tag="span", cls="ins")]
    assert any("dense<2.0" in line for line in removed)
    assert any("dense<5.0" in line for line in added)
    scale = f"{program.name}:{marked_line(program, 'scale')}"
    shift = f"{program.name}:{marked_line(program, 'shift')}"
    assert any("dense<5.0" in line and line.endswith(scale) for line in added)
    assert any("dense<6.0" in line and line.endswith(shift) for line in added)


def test_the_run_has_its_disk_totals(disk_runs: tuple[Path, list[WatchReport]]) -> None:
    _, reports = disk_runs
    for report in reports:
        (summary,) = parse_dom(render(report, "html")).select(tag="p", cls="disk-summary")
        assert summary.text() == disk_summary(report.events)
    assert disk_summary(reports[2].events).startswith("disk cache: 1 hit")


@pytest.mark.browser
def test_disk_cache_screenshot_for_a_person_to_look_at(
    chromium: Browser, disk_runs: tuple[Path, list[WatchReport]], tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = write(tmp_path, "watch-disk.html", render(disk_runs[1][1], "html"))
    shot = chromium.screenshot(page, SCREENSHOTS / "watch-disk.png", "events")
    assert shot.stat().st_size > 10_000
