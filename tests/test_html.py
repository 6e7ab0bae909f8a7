"""HTML reports: the page as text (self-contained, escaped, same model), then in headless Chromium."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest
from browser import Browser, BrowserUnavailable, ensure_chromium, hook_results, parse_dom
from jax import lax
from pygments.token import Name
from typer.testing import CliRunner

from jaxexplain import api
from jaxexplain.cli import app
from jaxexplain.inputs.loader import load_target
from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers import guess_format, render
from jaxexplain.renderers.html import fold_ranges, token_class, tokenize_lines
from jaxexplain.renderers.html_diff import ADDED, CHANGED, HUNK
from jaxexplain.report import DecisionChange, DiffReport, TraceReport
from jaxexplain.style import JaxprStyle

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "out" / "screenshots"


def loop_and_branch(x, n):
    y = jnp.ones_like(x)
    for _ in range(n):
        y = y * x  # marker: loop body
    if n > 2:  # noqa: SIM108 (the if statement is what the decision recorder sees)
        y = y + 1.0  # marker: taken
    else:
        y = y - 1.0  # marker: dead
    return lax.cond(x.sum() > 0, lambda v: v * 2.0, jnp.cos, y)  # marker: cond


def concatenated(x, n):
    parts = [x * i for i in range(40)]  # one jaxpr line with 41 operands, wider than the pane
    return jnp.concatenate([*parts, jnp.zeros((n,)), jnp.ones((n,)), jnp.zeros((n,))]).sum()


def long_source_line(x, n):
    # A short jaxpr under a long user line: the hunk header is wider than both columns.
    return x * n + jnp.sin(x) * jnp.cos(x) - jnp.tanh(x) * jnp.exp(-x) / (1.0 + jnp.abs(x)) + 2.0


def hostile(x, label):
    jax.debug.print("</script><b>{x}</b>", x=x)
    return x * 2.0


# ------------------------------------------------------------------------------------- helpers


def line_of(fn: Callable[..., Any], marker: str) -> int:
    """The line number of `# marker: ...` in fn's source."""
    lines, first = inspect.getsourcelines(fn)
    return next(first + i for i, text in enumerate(lines) if f"# marker: {marker}" in text)


def src(fn: Callable[..., Any], marker: str) -> str:
    """The `file:line` key the report uses for a marked line."""
    return f"{inspect.getsourcefile(fn)}:{line_of(fn, marker)}"


def failed_report() -> TraceReport:
    """The classic failure: a Python `if` on a traced array (samples/conditional.py)."""
    fn = load_target("samples/conditional.py:conditional_double").obj
    report = api.trace(fn, "f32[8]", 0.5, static_argnames="threshold", compile=False)
    assert report.error is not None
    return report


def page_data(page: str) -> dict[str, Any]:
    """The JSON block the page's script reads."""
    match = re.search(r'<script type="application/json" id="jx-data">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match[1])


def write(tmp_path: Path, name: str, page: str) -> Path:
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def loop_report() -> TraceReport:
    report = api.trace(loop_and_branch, "f32[4]", 3, static_argnames="n")
    assert report.ok, report.error
    return report


@pytest.fixture(scope="module")
def loop_page(loop_report: TraceReport) -> str:
    return render(loop_report, "html")


@pytest.fixture(scope="session")
def chromium() -> Browser:
    try:
        return Browser(ensure_chromium())
    except BrowserUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {exc}")
        pytest.skip(str(exc))


# ------------------------------------------------------------------------------ the page as text


def test_html_is_guessed_from_the_output_suffix() -> None:
    assert guess_format("report.html", None) == "html"
    assert guess_format("report.HTM", None) == "html"
    assert guess_format("report.html", "json") == "json"


def test_page_is_one_self_contained_file(loop_page: str) -> None:
    assert loop_page.startswith("<!DOCTYPE html>")
    assert loop_page.count("<style>") == 1
    assert loop_page.count("<script") == 2  # the report's data and the page's script
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", loop_page)
    assert "url(" not in loop_page
    assert "@import" not in loop_page
    assert "<link" not in loop_page


def test_user_text_is_escaped_everywhere() -> None:
    label = '<img src=x onerror="alert(1)">'
    report = api.trace(hostile, "f32[3]", label, static_argnames="label", compile=False)
    page = render(report, "html")
    assert "<img" not in page
    assert "</script><b>" not in page
    assert page.count("<script") == 2
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page  # the argument, as text
    lines = page_data(page)["jaxpr"]["lines"]
    assert any("</script><b>{x}</b>" in line for line in lines)  # the jaxpr text, intact


def test_jaxpr_rows_carry_the_lexers_tokens_and_sources(loop_report: TraceReport) -> None:
    page = render(loop_report, "html")
    jaxpr = page_data(page)["jaxpr"]
    assert "\n".join(jaxpr["lines"]) == loop_report.jaxpr.text
    primitive = token_class(Name.Function)
    for line, runs in zip(jaxpr["lines"], jaxpr["tok"], strict=True):
        assert sum(runs[0::2]) == len(line)
        pos = 0
        for length, cls in zip(runs[0::2], runs[1::2], strict=True):
            if line[pos : pos + length] == "mul":
                assert jaxpr["cls"][cls] == primitive
            pos += length
    color = JaxprStyle.style_for_token(Name.Function)["color"].upper()
    assert re.search(rf"\.code \.{primitive} \{{[^}}]*#{color}", page)
    for own, sid in zip(loop_report.jaxpr.line_sources, jaxpr["src"], strict=True):
        if own is not None:
            assert jaxpr["srcs"][sid] == own
    body = src(loop_and_branch, "loop body")
    assert jaxpr["src"].count(jaxpr["srcs"].index(body)) == 3


def test_sub_jaxprs_fold_between_their_first_and_last_lines() -> None:
    report = api.trace(loop_and_branch, "f32[4]", 3, static_argnames="n", compile=False)
    rows = tokenize_lines(report.jaxpr.text, JaxprLexer())
    folds = fold_ranges(rows.brackets)
    cond = next(i for i, line in enumerate(rows.lines) if "= cond[" in line)
    start, end, depth = next(f for f in folds if f[0] == cond)
    assert rows.lines[end].lstrip().startswith("]")
    assert depth == 1
    branches = next(i for i, line in enumerate(rows.lines) if "branches=(" in line)
    assert any(f[0] == branches and start < f[1] < end and f[2] == 2 for f in folds)
    outer = folds[0]
    assert (outer[0], outer[1], outer[2]) == (0, len(rows.lines) - 1, 0)


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


def test_failed_trace_page_explains_the_failure_first() -> None:
    report = failed_report()
    assert report.error is not None
    page = render(report, "html")
    dom = parse_dom(page)
    sections = [e.attrs.get("id") for e in dom.select(tag="section")]
    assert sections[0] == "error"
    failure = dom.select(tag="section", id="error")[0].text()
    assert report.error.type in failure
    assert "if x > threshold" in failure
    assert "failed" in dom.select(tag="h1")[0].text()
    assert page_data(page)["jaxpr"] is None


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


@pytest.fixture(scope="module")
def loop_diff() -> DiffReport:
    report = api.diff(loop_and_branch, "f32[4]", 3, static_argnames="n", vs={"n": 5})
    assert report.recompiles and report.verified
    return report


def test_diff_page_starts_with_the_verdict_and_its_reasons(loop_diff: DiffReport) -> None:
    page = render(loop_diff, "html")
    dom = parse_dom(page)
    first = dom.select(tag="section")[0]
    assert first.attrs["id"] == "verdict"
    verdict = first.text()
    assert verdict.startswith("JAX recompiles")
    assert "Verified" in verdict
    assert "static value" in verdict and "n: 3 → 5" in verdict
    arguments = dom.select(tag="section", id="arguments")[0].text()
    assert "static 3" in arguments and "static 5" in arguments
    figures = dom.select(tag="section", id="compile-changes")[0].text()
    flops = next(c for c in loop_diff.compile_changes if c.name == "flops")
    assert f"+{flops.b - flops.a:g}" in figures


def test_diff_rows_pair_changed_lines_and_leave_gaps_for_added_ones(loop_diff: DiffReport) -> None:
    data = page_data(render(loop_diff, "html"))["diff"]
    rows = [data["rows"][k : k + 5] for k in range(0, len(data["rows"]), 5)]
    added = [data["b"]["lines"][ib] for ia, ib, kind, _, _ in rows if kind == ADDED]
    assert len(added) == loop_diff.jaxpr_diff.added == 2
    assert all("= mul " in line for line in added)
    changed = [
        (data["a"]["lines"][ia], data["b"]["lines"][ib])
        for ia, ib, kind, _, _ in rows
        if kind == CHANGED
    ]
    assert len(changed) == loop_diff.jaxpr_diff.changed == 1
    assert all("= add " in a and "= add " in b and a != b for a, b in changed)
    heads = [row for row in rows if row[2] == HUNK]
    assert len(heads) == len(loop_diff.jaxpr_diff.hunks)
    assert data["heads"][0][1] == src(loop_and_branch, "loop body")


def test_diff_page_lists_changed_decisions(loop_diff: DiffReport) -> None:
    file = inspect.getsourcefile(loop_and_branch)
    line = line_of(loop_and_branch, "taken") - 1
    flipped = DecisionChange(file, line, "n > 2", ("false",), ("true",), "if", "flipped")
    page = render(dataclasses.replace(loop_diff, decision_changes=(flipped,)), "html")
    table = parse_dom(page).select(tag="section", id="decision-changes")[0].text()
    assert "n > 2" in table and "branch flipped" in table and "false" in table


def test_cli_diff_writes_html(tmp_path: Path) -> None:
    out = tmp_path / "diff.html"
    args = ["diff", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]", "--static", "n=3"]
    result = CliRunner().invoke(app, [*args, "--vs", "n=4", "--no-compile", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "JAX recompiles" in parse_dom(page).select(tag="section", id="verdict")[0].text()


# --------------------------------------------------------------------------- in a real browser


def states(chromium: Browser, page: Path, hash: str) -> list[dict[str, Any]]:
    """Loads the page with test actions in its URL hash and returns the state after each."""
    results = hook_results(chromium.dump_dom(page, hash))
    for result in results:
        assert "error" not in result, result
    return [r["state"] for r in results]


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
    lines = report.jaxpr.text.split("\n")
    page = write(tmp_path, "large.html", render(report, "html"))
    last_mul = max(i for i, line in enumerate(lines) if "= mul " in line)
    needle = lines[last_mul].split("=")[0].strip()  # that equation's output variable
    loaded, found, scrolled = states(chromium, page, f"test:scroll=0&search={needle}&scroll=10000")
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
def test_failed_trace_page_loads_in_the_browser(chromium: Browser, tmp_path: Path) -> None:
    report = failed_report()
    page = write(tmp_path, "failed.html", render(report, "html"))
    dom = parse_dom(chromium.dump_dom(page))
    failure = dom.select(tag="section", id="error")[0]
    assert report.error.type in failure.text()
    assert "data-ready-ms" in dom.select(tag="body")[0].attrs  # the script ran to its end


@pytest.mark.browser
def test_screenshots_for_a_person_to_look_at(
    chromium: Browser, loop_page: str, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = write(tmp_path, "trace.html", loop_page)
    body = src(loop_and_branch, "loop body")
    shot = chromium.screenshot(page, SCREENSHOTS / "trace-hover.png", f"test:hover-src={body}")
    assert shot.stat().st_size > 10_000


@pytest.mark.browser
def test_diff_page_draws_the_jaxprs_side_by_side(
    chromium: Browser, loop_diff: DiffReport, tmp_path: Path
) -> None:
    page = write(tmp_path, "diff.html", render(loop_diff, "html"))
    dom_text = chromium.dump_dom(page, "test:next-hunk=1")
    (state,) = [r["state"] for r in hook_results(dom_text)]
    assert state["status"] == "hunk 1 / 1"
    rows = [row for row in state["shown"] if isinstance(row, list)]
    added = [b["text"] for a, b in rows if a["cls"] == "gap" and b["cls"] == "ins"]
    assert len(added) == 2 and all("= mul " in text for text in added)
    (changed,) = [(a, b) for a, b in rows if a["cls"] == b["cls"] == "chg"]
    assert changed[0]["marked"] and changed[1]["marked"]
    assert changed[0]["marked"] != changed[1]["marked"]  # the operand that differs
    hunk = state["shown"][0]["hunk"]
    assert f"test_html.py:{line_of(loop_and_branch, 'loop body')}" in hunk
    assert "y = y * x" in hunk  # the user line that produced the change
    verdict = parse_dom(dom_text).select(tag="section", id="verdict")[0].text()
    assert verdict.startswith("JAX recompiles")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = chromium.screenshot(page, SCREENSHOTS / "diff.png")
    assert shot.stat().st_size > 10_000


@pytest.mark.browser
@pytest.mark.parametrize("fn", [concatenated, long_source_line])
def test_diff_page_scrolls_long_lines_instead_of_cutting_them(
    chromium: Browser, tmp_path: Path, fn: Callable[..., Any]
) -> None:
    diff = api.diff(fn, "f32[3]", 10, static_argnames="n", vs={"n": 5}, compile=False)
    lines = diff.jaxpr_diff.unified.split("\n")
    page = write(tmp_path, "long-diff.html", render(diff, "html"))
    (state,) = states(chromium, page, "test:next-hunk=1")
    cells = [cell for row in state["shown"] if isinstance(row, list) for cell in row]
    body = [line for line in lines[2:] if line and not line.startswith("@@")]
    assert max(len(cell["text"]) for cell in cells) >= max(len(line) for line in body) - 1
    assert [cell["text"] for cell in cells if cell["cut"]] == []
    heads = [row for row in state["shown"] if isinstance(row, dict)]
    assert heads and [row["hunk"] for row in heads if row["cut"]] == []
