"""`jaxexplain sweep` on the command line: the text, JSON and HTML reports, budgets exiting 1,
bad input exiting 2 with a valid JSON document."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
from typer.testing import CliRunner

from jaxexplain.cli import app
from jaxexplain.report import SweepReport
from tests.targets.sweep.growth import unrolled

runner = CliRunner()
TARGET = "tests/targets/sweep/growth.py:unrolled"


def invoke(*args: str):
    return runner.invoke(app, ["sweep", TARGET, "--arg", "x=f32[8]", *args])


def test_text_shows_a_table_sparklines_the_verdict_and_the_rewrite() -> None:
    result = invoke("--over", "n=1..8x2", "--no-compile", "--predict", "n=64", "--color", "never")
    assert result.exit_code == 0, result.output
    expected = len(jax.make_jaxpr(functools.partial(unrolled, n=64))(jnp.zeros(8)).eqns)
    assert (
        f"equations grow linearly with n: loop at tests/targets/sweep/growth.py:13 unrolls n times; at n=64 expect ~{expected}"
        in " ".join(result.output.split())
    )
    assert re.search(r"▁+.*█", result.output)
    assert "acc = lax.fori_loop(0, n, lambda _, acc: jnp.sin(acc) * 1.5, acc)" in result.output
    assert "compile seconds" not in result.output


def test_a_budget_exceeded_exits_1_with_the_first_point_over() -> None:
    result = invoke("--over", "n=1,2,4,8", "--no-compile", "--budget", "equations=5")
    assert result.exit_code == 1
    assert "equations 8 is over the budget of 5 at n=4" in result.output


def test_json_is_the_sweep_document() -> None:
    result = invoke("--over", "n=1,2,4", "--no-compile", "--format", "json")
    assert result.exit_code == 0, result.stdout
    report = SweepReport.from_dict(json.loads(result.stdout))
    assert [p.values for p in report.points] == [{"n": 1}, {"n": 2}, {"n": 4}]
    assert [p.equations for p in report.points] == [
        len(jax.make_jaxpr(functools.partial(unrolled, n=n))(jnp.zeros(8)).eqns) for n in (1, 2, 4)
    ]


def test_html_plots_each_figure_inline_with_nothing_fetched(tmp_path) -> None:
    out = tmp_path / "sweep.html"
    result = invoke("--over", "n=1,2,4", "-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") >= 3 and "<polyline" in page and "<circle" in page
    assert not re.search(r"(src|href)=\"https?://", page)


def test_bad_over_exits_2_with_a_json_error_document() -> None:
    result = invoke("--over", "n=8..1x2", "--format", "json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["schema"] == "jaxexplain.sweep/1"
    assert "runs upwards" in document["error"]["message"]


def test_a_swept_name_that_is_no_parameter_exits_2() -> None:
    result = invoke("--over", "m=1,2")
    assert result.exit_code == 2
    assert "unknown parameter 'm'" in result.output


def test_an_interrupted_sweep_writes_its_points_and_exits_130() -> None:
    target = "tests/targets/sweep/growth.py:interrupted"
    options = ["--arg", "x=f32[4]", "--over", "n=1,2,4", "--no-compile", "--format", "json"]
    result = runner.invoke(app, ["sweep", target, *options])
    assert result.exit_code == 130
    document = json.loads(result.stdout)
    assert document["interrupted"] is True and len(document["points"]) == 2


def test_sigterm_ends_a_sweep_with_143_and_the_points_so_far(tmp_path: Path) -> None:
    root = Path(__file__).parent.parent
    out = tmp_path / "sweep.json"
    target = "tests/targets/sweep/growth.py:terminated"
    command = ["sweep", target, "--arg", "x=f32[4]", "--over", "n=1,2,4,8", "--no-compile"]
    done = subprocess.run(
        [sys.executable, "-m", "jaxexplain", *command, "-o", str(out)],
        cwd=root,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 143, done.stderr
    report = json.loads(out.read_text())
    assert [p["values"] for p in report["points"]] == [{"n": 1}, {"n": 2}]
    assert report["interrupted"] and report["interrupt_status"] == 143
