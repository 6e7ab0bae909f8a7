"""jaxexplain watch against the same program run alone, as whole processes, with every piece of
accounting on: the cache layers per call site, and JAX's persistent compilation cache off and on.

Run: python benchmarks/bench_watch.py   (BENCH_RUNS=N to change the number of runs; default 7)
Bars: a 200-step jitted training loop runs within 1.05x of the program alone once compiled
(the loop's own time, measured by the program), with `--explain all` too: calls that hit the
cache cost nothing extra; a compile-heavy program within 1.15x under plain watch, whole process
included. `--explain` traces and compiles each compilation again to report it, so its cost on
the programs with recompilations (one with ten, one with 48) is shown without a bar. Every
program runs twice over: with no cache directory, and with a fresh temporary
`JAX_COMPILATION_CACHE_DIR` per run (every compile written: the minimum compile time is 0, so
watch keeps its record of each entry and compares each miss with the earlier records), each
compared with the program alone under the same setting. Each program prints its phase time;
runs alternate so that machine noise hits every side alike, and medians are compared.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ROOT, RUNS, compile_bytecode, python, table

TRAINING_LOOP = """
import time
import jax
import jax.numpy as jnp

@jax.jit
def step(params, x, y):
    def loss(params):
        h = jnp.tanh(x @ params["w1"])
        return jnp.mean((h @ params["w2"] - y) ** 2)
    grads = jax.grad(loss)(params)
    return jax.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, grads)

keys = jax.random.split(jax.random.PRNGKey(0), 4)
params = {"w1": jax.random.normal(keys[0], (256, 512)), "w2": jax.random.normal(keys[1], (512, 8))}
x, y = jax.random.normal(keys[2], (256, 256)), jax.random.normal(keys[3], (256, 8))
params = step(params, x, y)
jax.block_until_ready(params)
start = time.perf_counter()
for _ in range(200):
    params = step(params, x, y)
jax.block_until_ready(params)
print("PHASE", time.perf_counter() - start)
"""

COMPILE_HEAVY = """
import time
from functools import partial
import jax
import jax.numpy as jnp

@partial(jax.jit, static_argnames=("depth",))
def net(x, depth):
    for _ in range(depth):
        x = jnp.tanh(x @ x.T @ x) + jnp.sin(x)
    return x.sum()

start = time.perf_counter()
for size in range(8, 8 + 24):
    for depth in (2, 3):
        jax.block_until_ready(net(jnp.ones((size, 16)), depth=depth))
print("PHASE", time.perf_counter() - start)
"""

TEN_RECOMPILES = """
import time
from functools import partial
import jax
import jax.numpy as jnp

@partial(jax.jit, static_argnames=("scale",))
def step(params, x, scale):
    h = jnp.tanh(x @ params["w1"]) * scale
    return jax.tree_util.tree_map(lambda p: p * 0.99, params), jnp.mean(h)

params = {"w1": jnp.ones((64, 128))}
x = jnp.ones((32, 64))
start = time.perf_counter()
for epoch in range(11):
    for _ in range(20):
        params, loss = step(params, x, scale=1.0 / (1 + epoch))
jax.block_until_ready(loss)
print("PHASE", time.perf_counter() - start)
"""

PROGRAMS = {
    "200-step training loop": TRAINING_LOOP,
    "10 recompilations": TEN_RECOMPILES,
    "48 compilations": COMPILE_HEAVY,
}
# (program, mode) -> (the time the bar is on, the bar); a mode without a bar is reported only.
BARS = {
    ("200-step training loop", "watched"): ("phase", 1.05),
    ("200-step training loop", "explained"): ("phase", 1.05),
    ("10 recompilations", "watched"): ("process", 1.15),
    ("48 compilations", "watched"): ("process", 1.15),
}
MODES = {"watched": [], "explained": ["--explain", "all"]}
DISK_SETTINGS = ("no disk cache", "disk cache")


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Whole-process wall time and the phase time the program printed."""
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{argv} failed:\n{result.stderr[-2000:]}")
    (phase,) = [
        float(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("PHASE")
    ]
    return wall, phase


def environment(disk: str, scratch: Path) -> dict[str, str]:
    """The process environment of one run: with "disk cache", a fresh cache directory and record
    folder under `scratch`, every compile written (so each run pays for writing, not reading)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    if disk == "disk cache":
        folder = Path(tempfile.mkdtemp(dir=scratch))
        env["JAX_COMPILATION_CACHE_DIR"] = str(folder / "cache")
        env["JAXEXPLAIN_RECORD_DIR"] = str(folder / "records")
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    return env


def commands_for(script: Path, disk: str) -> dict[str, list[str]]:
    """The program alone, and under watch in each mode."""
    commands = {"alone": [python(), str(script)]}
    for mode, options in MODES.items():
        report = script.with_suffix(f".{mode}.{DISK_SETTINGS.index(disk)}.json")
        commands[mode] = [
            python(),
            "-m",
            "jaxexplain",
            "watch",
            *options,
            "--format",
            "json",
            "-o",
            str(report),
            "--",
            str(script),
        ]
    return commands


def measure(script: Path, disk: str) -> dict[str, dict[str, float]]:
    """Medians of the program alone and watched, alternating, under one disk-cache setting."""
    compile_bytecode()
    commands = commands_for(script, disk)
    samples: dict[str, dict[str, list[float]]] = {
        name: {"process": [], "phase": []} for name in commands
    }
    for _ in range(RUNS):
        for name, argv in commands.items():
            wall, phase = run(argv, environment(disk, script.parent))
            samples[name]["process"].append(wall)
            samples[name]["phase"].append(phase)
    return {
        name: {kind: statistics.median(values) for kind, values in kinds.items()}
        for name, kinds in samples.items()
    }


def rows_of(
    label: str, disk: str, times: dict[str, dict[str, float]], failed: list[str]
) -> list[tuple[object, ...]]:
    """One row per mode: the phase and process medians against the program alone, and the bar."""
    rows: list[tuple[object, ...]] = []
    for mode in MODES:
        phase_ratio = times[mode]["phase"] / times["alone"]["phase"]
        process_ratio = times[mode]["process"] / times["alone"]["process"]
        verdict = "(no bar)"
        if (label, mode) in BARS:
            kind, bar = BARS[label, mode]
            ratio = phase_ratio if kind == "phase" else process_ratio
            verdict = f"{kind} <= {bar:.2f}x: {'ok' if ratio <= bar else 'OVER'}"
            if ratio > bar:
                failed.append(f"{label} ({mode}, {disk})")
        rows.append(
            (
                label,
                disk,
                mode,
                times["alone"]["phase"],
                times[mode]["phase"],
                f"{phase_ratio:.3f}x",
                times["alone"]["process"],
                times[mode]["process"],
                f"{process_ratio:.3f}x",
                verdict,
            )
        )
    return rows


def main() -> None:
    rows: list[tuple[object, ...]] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, source in PROGRAMS.items():
            script = Path(tmp) / (label.split()[0].replace("-", "_") + "_program.py")
            script.write_text(source)
            for disk in DISK_SETTINGS:
                rows += rows_of(label, disk, measure(script, disk), failed)
    print(
        table(
            f"jaxexplain watch vs the program alone (median of {RUNS} whole-process runs, seconds)",
            (
                "program",
                "disk",
                "mode",
                "phase alone",
                "phase",
                "phase ratio",
                "process alone",
                "process",
                "process ratio",
                "bar",
            ),
            rows,
        )
    )
    if failed:
        raise SystemExit(f"over the bar: {', '.join(failed)}")


if __name__ == "__main__":
    main()
