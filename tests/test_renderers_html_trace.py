"""The trace page: the source linked to the jaxpr it produced, decisions, key, compilation;
as text first, then in headless Chromium."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import jax.numpy as jnp
import pytest
from browser import Browser, hook_results, parse_dom
from disk_runs import CONSTANTS_PROGRAM, jaxexplain_json
from pages import line_of, page_data, src, states, write
from typer.testing import CliRunner

from jaxexplain import api
from jaxexplain.cli import app
from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers import render
from jaxexplain.renderers.html.page import tokenize_lines
from jaxexplain.renderers.html.trace import hue, jaxpr_pane_data
from jaxexplain.renderers.words import disk_key_line, format_aval_tree
from jaxexplain.report import TraceReport
from jaxexplain.views import fold_ranges
from tests.targets.rendering import Batch, batch_total, loop_and_branch

ROOT = Path(__file__).resolve().parent.parent
# A search through 20,000 jaxpr lines answers within this (ms), on a busy two-core machine.
SEARCH_MS_BAR = 2000
SCREENSHOTS = ROOT / "out" / "screenshots"


@pytest.fixture(scope="module")
def loop_report() -> TraceReport:
    report = api.trace(loop_and_branch, "f32[4]", 3, static_argnames="n")
    assert report.ok, report.error
    return report


@pytest.fixture(scope="module")
def loop_page(loop_report: TraceReport) -> str:
    return render(loop_report, "html")


# ------------------------------------------------------------------------------ the page as text


def test_the_jaxpr_pane_holds_each_lines_source_its_own_or_its_equations(
    loop_report: TraceReport,
) -> None:
    assert loop_report.jaxpr is not None
    jaxpr = jaxpr_pane_data(loop_report.jaxpr)
    assert jaxpr == page_data(render(loop_report, "html"))["jaxpr"]
    assert "\n".join(jaxpr["lines"]) == loop_report.jaxpr.text
    for own, sid in zip(loop_report.jaxpr.line_sources, jaxpr["src"], strict=True):
        if own is not None:
            assert jaxpr["srcs"][sid] == own
    body = src(loop_and_branch, "loop body")
    (loop,) = [d for d in loop_report.decisions if d.kind == "for"]
    assert jaxpr["src"].count(jaxpr["srcs"].index(body)) == loop.outcomes[0] == 3
    branches = next(i for i, line in enumerate(jaxpr["lines"]) if "branches=(" in line)
    assert jaxpr["srcs"][jaxpr["src"][branches]] == src(loop_and_branch, "cond")
    assert jaxpr["hue"] == [hue(i) for i in range(len(jaxpr["srcs"]))]
    assert len(set(jaxpr["hue"])) == len(jaxpr["hue"])


def test_the_pane_folds_are_the_views_folds(loop_report: TraceReport) -> None:
    assert loop_report.jaxpr is not None
    rows = tokenize_lines(loop_report.jaxpr.text, JaxprLexer())
    folds = [n for fold in fold_ranges(rows.brackets) for n in fold]
    assert jaxpr_pane_data(loop_report.jaxpr)["folds"] == folds


def test_decisions_and_dead_lines_are_marked_on_the_source(loop_report: TraceReport) -> None:
    file = inspect.getsourcefile(loop_and_branch)
    dom = parse_dom(render(loop_report, "html"))
    rows = {e.attrs["data-src"]: e for e in dom.select(cls="sl")}
    loop_row = rows[f"{file}:{line_of(loop_and_branch, 'loop body') - 1}"]
    assert [b.text() for b in loop_row.select(cls="badge")] == ["for ×3 (unrolled)"]
    branch_row = rows[f"{file}:{line_of(loop_and_branch, 'taken') - 1}"]
    assert [b.text() for b in branch_row.select(cls="badge")] == ["if → true"]
    assert "depends on n (static)" in branch_row.select(cls="badge")[0].attrs["title"]
    assert "dead" in rows[src(loop_and_branch, "dead")].classes
    assert "dead" not in rows[src(loop_and_branch, "taken")].classes
    counts = rows[src(loop_and_branch, "loop body")].select(cls="eqs")[0].text()
    assert counts == "3"  # the loop body, unrolled three times
    table = dom.select(tag="section", id="decisions")[0].text()
    assert "if n > 2" in table and "for _ in range(n)" in table and "3 iterations" in table


def test_the_decisions_section_leads_with_unrolled_loops_and_the_deciding_statics() -> None:
    """The summary the text report had alone: a loop run 16 times, and `n` deciding both the
    loop and the branch."""
    report = api.trace(loop_and_branch, "f32[4]", 16, static_argnames="n", compile=False)
    assert report.jaxpr is not None
    decided_by_n = sum(
        1 for d in report.decisions if ("n", "static") in [(e.name, e.via) for e in d.depends_on]
    )
    section = parse_dom(render(report, "html")).select(tag="section", id="decisions")[0]
    warning = " ".join(section.select(tag="p", cls="warning")[0].text().split())
    assert warning.startswith("for _ in range(n) at ") and "ran 16 times while tracing" in warning
    assert f"Static arguments that decided the most: n ({decided_by_n})" in section.text()
    quiet = api.trace(loop_and_branch, "f32[4]", 15, static_argnames="n", compile=False)
    assert parse_dom(render(quiet, "html")).select(tag="p", cls="warning") == []


def test_arguments_name_a_pytrees_class_as_the_text_report_does() -> None:
    batch = Batch(jnp.ones((2, 3)), jnp.ones(2))
    report = api.trace(batch_total, batch, compile=False)
    (argument,) = report.arguments
    assert argument.pytree is not None and "Batch" in argument.pytree
    shown = format_aval_tree(argument.aval, argument.pytree)
    arguments = parse_dom(render(report, "html")).select(tag="section", id="arguments")[0].text()
    assert shown.startswith(argument.pytree) and shown in arguments
    assert shown in render(report, "text", width=200)


def test_a_report_loaded_from_json_renders_the_same_page(loop_report: TraceReport) -> None:
    loaded = TraceReport.from_dict(json.loads(loop_report.to_json()))
    assert render(loaded, "html") == render(loop_report, "html")


def test_cli_writes_an_html_file_named_by_its_suffix(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    args = ["trace", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]", "--static", "n=3"]
    result = CliRunner().invoke(app, [*args, "--no-compile", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert sum("= mul " in line for line in page_data(page)["jaxpr"]["lines"]) == 3
    stdout = CliRunner().invoke(app, [*args, "--no-compile", "--format", "html"])
    assert stdout.exit_code == 0 and stdout.stdout.startswith("<!DOCTYPE html>")


# --------------------------------------------------------------------------- in a real browser


@pytest.mark.browser
def test_hovering_a_source_line_lights_its_equations(
    chromium: Browser, loop_page: str, tmp_path: Path
) -> None:
    page = write(tmp_path, "trace.html", loop_page)
    body = src(loop_and_branch, "loop body")
    dom_text = chromium.dump_dom(page, f"test:hover-src={body}")
    (state,) = [r["state"] for r in hook_results(dom_text)]
    assert state["active"] == body
    assert state["sourceOn"] == [body]
    assert len(state["jaxprOnText"]) == 3
    assert all("= mul " in text for text in state["jaxprOnText"])
    dom = parse_dom(dom_text)
    lit = [e for e in dom.select(cls="jr") if "on" in e.classes]
    assert [e.select(cls="t")[0].text() for e in lit] == state["jaxprOnText"]
    assert {e.attrs["data-src"] for e in dom.select(cls="sl") if "on" in e.classes} == {body}
    assert "linking" in dom.select(tag="body")[0].classes


@pytest.mark.browser
def test_hovering_an_equation_lights_its_source_line(
    chromium: Browser, loop_report: TraceReport, loop_page: str, tmp_path: Path
) -> None:
    assert loop_report.jaxpr is not None
    page = write(tmp_path, "trace.html", loop_page)
    lines = loop_report.jaxpr.text.split("\n")
    add = next(i for i, line in enumerate(lines) if "= add " in line)
    cond = next(i for i, line in enumerate(lines) if "branches=(" in line)
    taken, cond_src = states(chromium, page, f"test:hover-eq={add}&hover-eq={cond}")
    assert taken["sourceOn"] == [src(loop_and_branch, "taken")]
    # a line of cond's params has no source of its own: it lights the line that made the cond
    assert cond_src["sourceOn"] == [src(loop_and_branch, "cond")]


@pytest.mark.browser
def test_clicking_pins_the_link_and_scrolls_to_the_equations(
    chromium: Browser, tmp_path: Path
) -> None:
    report = api.trace(loop_and_branch, "f32[4]", 200, static_argnames="n", compile=False)
    page = write(tmp_path, "long.html", render(report, "html"))
    cond = src(loop_and_branch, "cond")
    clicked, escaped = states(chromium, page, f"test:click-src={cond}&escape=1")
    assert clicked["pinned"] == cond
    assert clicked["jaxprScrollTop"] > 0  # the cond is 200 equations down
    assert any("reduce_sum" in text for text in clicked["jaxprOnText"])
    assert escaped["pinned"] is None and escaped["active"] is None


@pytest.mark.browser
def test_a_large_jaxpr_keeps_the_dom_light_and_stays_searchable(
    chromium: Browser, tmp_path: Path
) -> None:
    report = api.trace(loop_and_branch, "f32[4]", 20_000, static_argnames="n", compile=False)
    assert report.jaxpr is not None
    lines = report.jaxpr.text.split("\n")
    page = write(tmp_path, "large.html", render(report, "html"))
    last_mul = max(i for i, line in enumerate(lines) if "= mul " in line)
    needle = lines[last_mul].split("=")[0].strip()  # that equation's output variable
    results = hook_results(chromium.dump_dom(page, f"test:scroll=0&search={needle}&scroll=10000"))
    loaded, found, scrolled = (r["state"] for r in results)
    assert results[1]["ms"] < SEARCH_MS_BAR, results[1]["ms"]
    assert loaded["visible"] == len(lines)
    assert loaded["rendered"] < 200
    assert found["rendered"] < 200
    assert found["marks"] >= 1
    assert needle in found["currentText"]
    assert found["status"].startswith("1 / ")
    assert scrolled["rendered"] < 200 and scrolled["jaxprScrollTop"] > 0


@pytest.mark.browser
def test_folding_hides_a_sub_jaxpr_and_fold_all_folds_every_one(
    chromium: Browser, loop_report: TraceReport, loop_page: str, tmp_path: Path
) -> None:
    assert loop_report.jaxpr is not None
    page = write(tmp_path, "trace.html", loop_page)
    rows = tokenize_lines(loop_report.jaxpr.text, JaxprLexer())
    folds = fold_ranges(rows.brackets)
    cond = next(i for i, line in enumerate(rows.lines) if "= cond[" in line)
    end = next(f[1] for f in folds if f[0] == cond)
    folded, unfolded, all_folded = states(
        chromium, page, f"test:fold={cond}&fold={cond}&fold-all=1"
    )
    assert folded["visible"] == len(rows.lines) - (end - cond - 1)
    assert folded["folded"] == 1
    assert unfolded["visible"] == len(rows.lines)
    equations_with_params = [f for f in folds if f[2] == 1]
    assert all_folded["folded"] == len(equations_with_params)  # the nested ones fold inside
    hidden = sum(end - start - 1 for start, end, _ in equations_with_params)
    assert all_folded["visible"] == len(rows.lines) - hidden


@pytest.mark.browser
def test_screenshots_for_a_person_to_look_at(
    chromium: Browser, loop_page: str, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = write(tmp_path, "trace.html", loop_page)
    body = src(loop_and_branch, "loop body")
    shot = chromium.screenshot(page, SCREENSHOTS / "trace-hover.png", f"test:hover-src={body}")
    assert shot.stat().st_size > 10_000


def test_the_persistent_cache_key_says_whether_the_directory_holds_it(tmp_path: Path) -> None:
    """A trace over an empty directory (its compile writes the entry), then the same again."""
    program = tmp_path / "constants.py"
    program.write_text(CONSTANTS_PROGRAM)
    trace = ["trace", f"{program}:step", "--arg", "x=f32[3]"]
    before = TraceReport.from_dict(jaxexplain_json(tmp_path, trace))
    after = TraceReport.from_dict(jaxexplain_json(tmp_path, trace))
    for report, status in ((before, "miss"), (after, "hit")):
        assert report.persistent is not None
        (section,) = parse_dom(render(report, "html")).select(tag="section", id="persistent")
        (line,) = section.select(tag="p", cls="disk")
        assert line.classes == {"disk", status}
        assert line.text() == disk_key_line(report.persistent)
        rows = [[td.text() for td in tr.select(tag="td")] for tr in section.select(tag="tr")[1:]]
        assert rows == [[p, d[:16]] for p, d in report.persistent.parts.items()]
        assert "computation" in report.persistent.parts
    assert before.persistent is not None and after.persistent is not None
    assert (before.persistent.would_hit, after.persistent.would_hit) == (False, True)
    assert before.persistent.key == after.persistent.key
