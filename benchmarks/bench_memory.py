"""Resident memory of one process over many `jaxexplain.trace` calls, against the bare JAX calls
(`jax.jit(f).trace(...)`) that give the same jaxpr.

Run: python benchmarks/bench_memory.py   (BENCH_TRACES=N to change the number of calls; 1000)
Each side runs in a process of its own: a function with a nested jit and a scan body (the inner
traces jaxexplain re-runs to record their decisions), traced BENCH_TRACES times without
compiling, then 200 times compiled. Memory is the resident set after a warm-up and at the end;
JAX's caches keyed on the trace context grow per trace if jaxexplain's fresh contexts stay in
them, which is what this watches.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ROOT, compile_bytecode, python

TRACES = int(os.environ.get("BENCH_TRACES", "1000"))
COMPILED = 200

PROGRAM = """
import gc, os, sys
import jax, jax.numpy as jnp
import jaxexplain

@jax.jit
def inner(x):
    return jnp.sin(x) * 2

def body(carry, x):
    return carry + inner(x), carry

def model(x, n):
    carry, ys = jax.lax.scan(body, 0.0, inner(x))
    return carry * n + ys.sum()

def resident_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

side, traces, compiled = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = jax.ShapeDtypeStruct((8,), jnp.float32)

def call(compile):
    if side == "jaxexplain":
        jaxexplain.trace(model, x, 2, static_argnames="n", compile=compile)
    else:
        traced = jax.jit(lambda x: model(x, 2)).trace(x)
        if compile:
            traced.lower().compile()

for _ in range(5):
    call(True)
gc.collect()
start = resident_mb()
for _ in range(traces):
    call(False)
gc.collect()
traced_end = resident_mb()
for _ in range(compiled):
    call(True)
gc.collect()
print(start, traced_end, resident_mb())
"""


def measure(side: str) -> tuple[float, float, float]:
    """Resident MB at the start, after the trace-only calls, after the compiled ones."""
    result = subprocess.run(
        [python(), "-c", PROGRAM, side, str(TRACES), str(COMPILED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"},
    )
    start, traced, compiled = (float(v) for v in result.stdout.split()[-3:])
    return start, traced, compiled


def main() -> None:
    compile_bytecode()
    print(f"Resident memory growth: {TRACES} trace-only calls, then {COMPILED} compiled ones")
    for side in ("bare JAX", "jaxexplain"):
        start, traced, compiled = measure("jaxexplain" if side == "jaxexplain" else "bare")
        print(
            f"  {side:<11} start {start:7.1f} MB   +{traced - start:6.1f} MB after {TRACES} traces"
            f"   +{compiled - traced:6.1f} MB after {COMPILED} compiled"
        )


if __name__ == "__main__":
    main()
