"""jaxexplain diff at scale: two traces of a loop unrolled to 10,000 and 100,000 equations.

Side A applies `sin` every 1000th iteration, side B every 999th: about one change per thousand
equations, scattered over the whole jaxpr, the hard case for alignment (an unrolled loop
repeats one equation, so nothing is unique to anchor on).

Run: python benchmarks/bench_diff.py   (BENCH_RUNS=N to change the number of runs; default 7)
Bars: diff + text rendering grows near-linearly (10x the equations: under 15x the time), and at
100,000 equations it takes at most 2x the time JAX needs to trace both sides.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import jax
import jax.numpy as jnp
from _timing import RUNS, table

import jaxexplain
from jaxexplain.diffing import reports as diffing
from jaxexplain.renderers import render

SIZES = (10_000, 100_000)
EVERY_A, EVERY_B = 1000, 999
GROWTH_BAR = 15.0
TRACE_BAR = 2.0


def unrolled(x: Any, n: int, every: int) -> Any:
    y = x
    for i in range(n):
        y = y * x if i % every else jnp.sin(y)
    return y


def median_seconds(work: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def jax_trace_both(n: int) -> float:
    """Bare JAX: `jit(f).trace` of side A and side B, each on a fresh wrapper (no cache hits)."""
    spec = jax.ShapeDtypeStruct((3,), jnp.float32)

    def trace_both() -> None:
        jax.clear_caches()
        for every in (EVERY_A, EVERY_B):
            jax.jit(unrolled, static_argnames=("n", "every")).trace(spec, n=n, every=every)

    return median_seconds(trace_both, max(1, min(RUNS, 3)))


def reports(n: int) -> tuple[Any, Any]:
    def side(every: int) -> Any:
        return jaxexplain.trace(
            unrolled, "f32[3]", n=n, every=every, static_argnames=("n", "every"), compile=False
        )

    return side(EVERY_A), side(EVERY_B)


def main() -> None:
    rows = []
    totals: dict[int, float] = {}
    traced: dict[int, float] = {}
    for n in SIZES:
        a, b = reports(n)
        result = diffing.diff(a, b)
        diff_seconds = median_seconds(partial(diffing.diff, a, b), RUNS)
        text_seconds = median_seconds(partial(render, result, "text"), RUNS)
        json_seconds = median_seconds(partial(render, result, "json"), max(1, min(RUNS, 3)))
        traced[n] = jax_trace_both(n)
        totals[n] = diff_seconds + text_seconds
        jaxpr = result.jaxpr_diff
        assert jaxpr is not None
        rows.append(
            (
                f"{jaxpr.equations_a:,} / {jaxpr.equations_b:,}",
                f"+{jaxpr.added} -{jaxpr.removed} ~{jaxpr.changed} ({len(jaxpr.hunks)} hunks)",
                traced[n],
                diff_seconds,
                text_seconds,
                totals[n],
                f"{totals[n] / traced[n]:.2f}x",
                json_seconds,
            )
        )
    print(
        table(
            f"jaxexplain diff of two unrolled loops (median of {RUNS} runs, seconds)",
            (
                "equations A / B",
                "jaxpr diff",
                "JAX trace A+B",
                "diff",
                "text render",
                "diff+text",
                "vs JAX trace",
                "json render",
            ),
            rows,
        )
    )
    small, large = SIZES
    growth = totals[large] / totals[small]
    against_trace = totals[large] / traced[large]
    print()
    print(
        f"growth from {small:,} to {large:,} equations ({large // small}x): {growth:.1f}x "
        f"(bar: under {GROWTH_BAR:.0f}x) {'ok' if growth < GROWTH_BAR else 'FAIL'}"
    )
    print(
        f"diff+text at {large:,} equations: {totals[large]:.2f} s vs JAX tracing both sides "
        f"{traced[large]:.2f} s = {against_trace:.2f}x (bar: at most {TRACE_BAR:.0f}x) "
        f"{'ok' if against_trace <= TRACE_BAR else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
