"""The diff page: the verdict and its reasons first, the jaxprs aligned side by side, the compile
figures with their changes; as text first, then in headless Chromium."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, hook_results, parse_dom
from pages import line_of, page_data, src, states, write
from typer.testing import CliRunner

from jaxexplain import api
from jaxexplain.cli import app
from jaxexplain.renderers import render
from jaxexplain.renderers.html.diff import ADDED, CHANGED, HUNK, delta
from jaxexplain.renderers.words import figure_change_text
from jaxexplain.report import DecisionChange, DiffReport, FigureChange, Verification
from tests.targets.rendering import concatenated, long_source_line, loop_and_branch

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "out" / "screenshots"


@pytest.fixture(scope="module")
def loop_diff() -> DiffReport:
    report = api.diff(loop_and_branch, "f32[4]", 3, static_argnames="n", vs={"n": 5})
    assert report.recompiles and report.verified
    return report


# ------------------------------------------------------------------------------ the page as text


def test_diff_page_starts_with_the_verdict_and_its_reasons(loop_diff: DiffReport) -> None:
    page = render(loop_diff, "html")
    dom = parse_dom(page)
    first = dom.select(tag="section")[0]
    assert first.attrs["id"] == "verdict"
    verdict = first.text()
    assert verdict.startswith("JAX recompiles")
    check = loop_diff.verification
    assert check is not None
    assert f"Verified against JAX: {check.note}" in verdict
    assert "static value" in verdict and "n: 3 → 5" in verdict
    arguments = dom.select(tag="section", id="arguments")[0].text()
    assert "static 3" in arguments and "static 5" in arguments
    figures = dom.select(tag="section", id="compile-changes")[0].text()
    flops = next(c for c in loop_diff.compile_changes if c.name == "flops")
    assert flops.a is not None and flops.b is not None
    assert f"+{flops.b - flops.a:g}" in figures


def test_side_b_is_named_by_its_assignments_not_by_a_cli_flag(loop_diff: DiffReport) -> None:
    """The API user never typed `--vs`: the page says what side B is, as the text report does."""
    sub = parse_dom(render(loop_diff, "html")).select(tag="header")[0].text()
    assert "side B is side A with n=5" in sub and "--vs" not in sub


def test_figure_changes_read_as_in_the_text_report(loop_diff: DiffReport) -> None:
    """The change column of both renderings comes from one function: the same sign, the same
    percent, and `=` for an equal figure."""
    cells = [
        row.select(tag="td")[-1].text()
        for row in parse_dom(render(loop_diff, "html"))
        .select(tag="section", id="compile-changes")[0]
        .select(tag="tr")[1:]
    ]
    assert cells == [figure_change_text(c) for c in loop_diff.compile_changes]
    text = render(loop_diff, "text", width=200)
    for change in loop_diff.compile_changes:
        assert figure_change_text(change) in text


def test_a_figure_that_grew_is_marked_up_one_that_shrank_down() -> None:
    grew, shrank = FigureChange("flops", 6.0, 9.0), FigureChange("flops", 9.0, 6.0)
    assert parse_dom(delta(grew)).select(cls="up")[0].text() == "+3 (+50%)"
    assert parse_dom(delta(shrank)).select(cls="down")[0].text() == "-3 (-33%)"
    assert delta(FigureChange("flops", 6.0, 6.0)) == "="
    assert delta(FigureChange("flops", None, 6.0)) == ""


def test_a_disagreement_is_said_loudly_with_the_words_of_the_text_report(
    loop_diff: DiffReport,
) -> None:
    check = loop_diff.verification
    assert check is not None
    contradicted = dataclasses.replace(
        loop_diff,
        verification=Verification(
            True, check.note, check.cache_size_a, check.cache_size_a, False, False
        ),
        recompiles=False,
    )
    loud = parse_dom(render(contradicted, "html")).select(tag="p", cls="disagree")[0].text()
    said = f"cache size {check.cache_size_a} after A, {check.cache_size_a} after B"
    assert loud.startswith("jaxexplain and JAX disagree") and said in loud
    assert said in render(contradicted, "text")


def test_diff_rows_pair_changed_lines_and_leave_gaps_for_added_ones(loop_diff: DiffReport) -> None:
    diff = loop_diff.jaxpr_diff
    assert diff is not None
    data = page_data(render(loop_diff, "html"))["diff"]
    rows = [data["rows"][k : k + 5] for k in range(0, len(data["rows"]), 5)]
    added = [data["b"]["lines"][ib] for ia, ib, kind, _, _ in rows if kind == ADDED]
    assert len(added) == diff.added == 2
    assert all("= mul " in line for line in added)
    changed = [
        (data["a"]["lines"][ia], data["b"]["lines"][ib])
        for ia, ib, kind, _, _ in rows
        if kind == CHANGED
    ]
    assert len(changed) == diff.changed == 1
    assert all("= add " in a and "= add " in b and a != b for a, b in changed)
    heads = [row for row in rows if row[2] == HUNK]
    assert len(heads) == len(diff.hunks)
    assert data["heads"][0][1] == src(loop_and_branch, "loop body")


def test_diff_page_lists_changed_decisions(loop_diff: DiffReport) -> None:
    file = inspect.getsourcefile(loop_and_branch)
    assert file is not None
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
    assert f"rendering.py:{line_of(loop_and_branch, 'loop body')}" in hunk
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
    assert diff.jaxpr_diff is not None
    lines = diff.jaxpr_diff.unified.split("\n")
    page = write(tmp_path, "long-diff.html", render(diff, "html"))
    (state,) = states(chromium, page, "test:next-hunk=1")
    cells = [cell for row in state["shown"] if isinstance(row, list) for cell in row]
    body = [line for line in lines[2:] if line and not line.startswith("@@")]
    assert max(len(cell["text"]) for cell in cells) >= max(len(line) for line in body) - 1
    assert [cell["text"] for cell in cells if cell["cut"]] == []
    heads = [row for row in state["shown"] if isinstance(row, dict)]
    assert heads and [row["hunk"] for row in heads if row["cut"]] == []
