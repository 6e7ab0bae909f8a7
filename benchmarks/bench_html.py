"""HTML trace pages of 1,000 to 100,000 equations: render time in Python, then in headless Chromium.

Run: python benchmarks/bench_html.py   (BENCH_RUNS=N browser loads per page; default 7;
BENCH_HTML_SIZES=1000,100000 to pick the sizes)
Bar: a 100,000-equation trace page renders in headless Chromium in under 5 s. "ready" is the
page's own clock when its script has drawn the jaxpr (HTML parsed, JSON read, rows in the DOM);
"painted" is a whole `chromium --screenshot` run (load, layout, paint, PNG) minus the same run
on an empty page, so browser start-up is not counted.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _timing import RUNS, table
from browser import Browser, ensure_chromium

from jaxexplain import api
from jaxexplain.renderers import render

SIZES = tuple(int(n) for n in os.environ.get("BENCH_HTML_SIZES", "1000,10000,100000").split(","))
BAR_SECONDS = 5.0


def flat(x, n):
    """n top-level equations: one `mul` per unrolled iteration."""
    y = jnp.ones_like(x)
    for _ in range(n - 1):
        y = y * x
    return y


@jax.jit
def _block(y, x):
    return jnp.sin(y * x) + 1.0


def nested(x, n):
    """About n equations in all, a quarter of them `jit` equations holding a 3-equation jaxpr."""
    y = x
    for _ in range(n // 4):
        y = _block(y, x)
    return y


def trace(fn: Callable[..., Any], n: int) -> Any:
    report = api.trace(fn, "f32[8]", n, static_argnames="n", compile=False)
    assert report.ok, report.error
    return report


def ready_ms(browser: Browser, page: Path) -> float:
    """The page's own clock (ms since navigation) when its script finished drawing."""
    dom = browser.dump_dom(page)
    match = re.search(r'data-ready-ms="(\d+)"', dom)
    assert match is not None, "the page's script did not finish"
    return float(match[1])


def screenshot_seconds(browser: Browser, page: Path, png: Path) -> float:
    start = time.perf_counter()
    browser.screenshot(page, png)
    return time.perf_counter() - start


def main() -> None:
    browser = Browser(ensure_chromium(), timeout=300)
    rows = []
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="jx-bench-html-") as tmp:
        folder = Path(tmp)
        empty = folder / "empty.html"
        empty.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
        png = folder / "shot.png"
        for shape, fn in (("flat", flat), ("nested", nested)):
            for n in SIZES:
                report = trace(fn, n)
                start = time.perf_counter()
                page_text = render(report, "html")
                render_seconds = time.perf_counter() - start
                page = folder / f"{shape}-{n}.html"
                page.write_text(page_text, encoding="utf-8")
                ready = statistics.median(ready_ms(browser, page) for _ in range(RUNS)) / 1000
                painted = []
                for _ in range(RUNS):
                    baseline = screenshot_seconds(browser, empty, png)
                    painted.append(screenshot_seconds(browser, page, png) - baseline)
                paint = statistics.median(painted)
                worst = max(worst, ready, paint) if n >= 100_000 else worst
                rows.append(
                    (
                        shape,
                        f"{report.jaxpr.equations_total:,}",
                        f"{len(report.jaxpr.text.splitlines()):,}",
                        f"{len(page_text) / 1e6:.1f} MB",
                        render_seconds,
                        ready,
                        paint,
                    )
                )
                print(f"  {shape} {n:,}: ready {ready:.3f} s, painted {paint:.3f} s", flush=True)
    print(
        table(
            f"HTML trace pages in headless Chromium (median of {RUNS} loads, seconds)",
            ("jaxpr", "equations", "lines", "page", "render (Python)", "ready", "painted"),
            rows,
        )
    )
    if any(n >= 100_000 for n in SIZES):
        verdict = "PASS" if worst < BAR_SECONDS else "FAIL"
        print(f"\n100,000 equations: {worst:.3f} s in the browser (bar {BAR_SECONDS} s): {verdict}")


if __name__ == "__main__":
    main()
