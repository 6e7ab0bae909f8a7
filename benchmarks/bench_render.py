"""Text rendering at scale: the 48-layer transformer and a 100,000-equation function, folded
(the default) and with `--jaxpr full`, in seconds and lines.

Run: python benchmarks/bench_render.py   (BENCH_RENDER_EQUATIONS=N for the large function's
size; default 100000)
Bar: a folded report is a few hundred lines whatever the size, and rendering stays near-linear
in the equations (the full 100,000-equation text in seconds, not minutes).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _timing import table

from jaxexplain import api
from jaxexplain.renderers import render
from jaxexplain.renderers.display import Display
from jaxexplain.report import TraceReport

EQUATIONS = int(os.environ.get("BENCH_RENDER_EQUATIONS", "100000"))
WIDTH = 120
PER_STEP = 10  # equations one pass of `training_like` puts into the jaxpr


def training_like(x, n):
    """About n equations: a residual block of ten equations from four lines, unrolled n // 10
    times, as a deep model's Python loop over its layers leaves it."""
    for _ in range(n // PER_STEP):
        h = jnp.tanh(x * 1.5 + 0.5)
        h = h * h - x
        x = x + jnp.sin(h) * 0.1
        x = x / (1.0 + jnp.abs(x))
    return x


def transformer_48() -> TraceReport:
    return api.trace_target(
        "samples/transformer.py:transformer",
        args_from="samples/transformer.py:layers_48",
        compile=False,
    )


def rendered(report: TraceReport, display: Display) -> tuple[float, int]:
    """Seconds to render the text, and its lines."""
    start = time.perf_counter()
    text = render(report, "text", width=WIDTH, display=display)
    return time.perf_counter() - start, text.count("\n")


def main() -> None:
    reports = {
        "48-layer transformer": transformer_48(),
        f"{EQUATIONS:,}-equation function": api.trace(
            training_like, "f32[8]", EQUATIONS, static_argnames="n", compile=False
        ),
    }
    rows = []
    for name, report in reports.items():
        assert report.ok and report.jaxpr is not None, report.error
        for label, display in (("folded", Display()), ("--jaxpr full", Display(jaxpr_full=True))):
            seconds, lines = rendered(report, display)
            rows.append(
                [name, f"{report.jaxpr.equations:,}", label, f"{seconds:.2f}", f"{lines:,}"]
            )
    print(table("text rendering", ["report", "equations", "jaxpr", "seconds", "lines"], rows))


if __name__ == "__main__":
    main()
