"""display.py: reports in print, IPython, rich and a real Jupyter kernel (a notebook executed by
nbclient), the text report whole everywhere and the HTML page isolated per report."""

from __future__ import annotations

import html
import io
import json
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import nbformat
import pytest
from IPython.lib.pretty import pretty
from nbclient import NotebookClient
from rich.console import Console

import jaxexplain
from jaxexplain.renderers import render

ROOT = Path(__file__).resolve().parent.parent
HEADINGS = ("Arguments", "Cache key", "Baked-in decisions", "Jaxpr", "Compilation")

SETUP = """\
import jax, jax.numpy as jnp, jaxexplain

def f(x, n):
    for _ in range(n):
        x = jnp.sin(x)
    return x

report = jaxexplain.trace(f, "f32[3]", 2, static_argnames="n")
other = jaxexplain.diff(f, "f32[3]", 2, static_argnames="n", vs={"n": 3})
"""


def f(x: jax.Array, n: int) -> jax.Array:
    for _ in range(n):
        x = jnp.sin(x)
    return x


def sin_count(n: int) -> int:
    """The sin equations JAX's own trace of `f` has for `n`."""
    closed = jax.make_jaxpr(f, static_argnums=1)(jnp.zeros(3), n)
    return sum(1 for eqn in closed.eqns if eqn.primitive.name == "sin")


@pytest.fixture(scope="module")
def report() -> jaxexplain.TraceReport:
    return jaxexplain.trace(f, "f32[3]", 2, static_argnames="n")


def test_str_is_the_full_text_report(report: jaxexplain.TraceReport) -> None:
    text = str(report)
    assert text == render(report, "text")
    assert all(heading in text for heading in HEADINGS)
    assert f"sin {sin_count(2)}" in text


def test_ipython_pretty_printing_is_the_text_report(report: jaxexplain.TraceReport) -> None:
    assert pretty(report) == str(report)


def test_rich_prints_the_report_in_color(report: jaxexplain.TraceReport) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100, record=True)
    console.print(report)
    assert "\x1b[" in console.file.getvalue()  # type: ignore[attr-defined]
    shown = [line.rstrip() for line in console.export_text().strip().split("\n")]
    assert shown == str(report).strip().split("\n")


def test_html_is_the_page_in_its_own_frame(report: jaxexplain.TraceReport) -> None:
    frame = report._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and frame.endswith("</iframe>")
    page = html.unescape(frame.split('srcdoc="', 1)[1].split('" style=', 1)[0])
    assert page == render(report, "html")
    assert "http://" not in page and "https://" not in page


def kernel_dir(tmp_path: Path) -> Path:
    """A Jupyter data directory whose one kernel is this interpreter with this checkout."""
    spec = tmp_path / "kernels" / "jx"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "jx", "language": "python"}
    kernel["env"] = {"PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return tmp_path


def executed(cells: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The notebook of `cells` after a real kernel ran it."""
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir(tmp_path)))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(notebook, kernel_name="jx", timeout=300, resources={})
    client.execute(cwd=str(tmp_path))
    return notebook


@pytest.mark.slow
def test_a_real_notebook_shows_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = [SETUP, "print(report)", "report", "display(report, other)"]
    notebook = executed(cells, tmp_path, monkeypatch)
    printed, shown, both = (cell.outputs for cell in notebook.cells[1:])

    assert [o.output_type for o in printed] == ["stream"]
    assert all(heading in printed[0].text for heading in HEADINGS)
    assert f"sin {sin_count(2)}" in printed[0].text

    assert shown[0].data["text/html"].startswith("<iframe srcdoc=")
    assert shown[0].data["text/plain"] + "\n" == printed[0].text

    frames = [o.data["text/html"] for o in both]
    assert [o.output_type for o in both] == ["display_data", "display_data"]
    assert all(frame.startswith("<iframe srcdoc=") for frame in frames)
    assert "jaxexplain diff" in html.unescape(frames[1])
