"""Shared helpers for the benchmarks: whole-process timings, medians, and a printed table."""

from __future__ import annotations

import compileall
import functools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "7"))


@functools.cache
def compile_bytecode() -> None:
    """Writes the bytecode of jaxexplain, the samples and the benchmarks before any timing.

    An installed package has its bytecode, as jax has from pip. In a development checkout under
    PYTHONDONTWRITEBYTECODE (set on these machines and in many CI images) every process would
    compile jaxexplain's modules from source again, about 0.06 s that no user pays."""
    for folder in ("jaxexplain", "samples", "benchmarks"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def time_process(argv: Sequence[str], runs: int = RUNS) -> float:
    """Median wall time of running `argv` to completion, output discarded."""
    compile_bytecode()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def interleaved(commands: dict[str, Sequence[str]], runs: int = RUNS) -> dict[str, float]:
    """Medians of several commands run in turn, so that machine noise hits all of them alike."""
    compile_bytecode()
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            result = subprocess.run(
                argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
            )
            samples[name].append(time.perf_counter() - start)
            if result.returncode not in (0, 1):
                raise SystemExit(f"{name} failed: {result.stderr.decode()[-2000:]}")
    return {name: statistics.median(values) for name, values in samples.items()}


def python() -> str:
    return sys.executable


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned table for the terminal."""
    cells = [list(map(str, header))] + [
        [f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines)
