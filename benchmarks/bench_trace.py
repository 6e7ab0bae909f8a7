"""jaxexplain trace against the bare JAX calls that produce the same facts, as whole processes.

Run: python benchmarks/bench_trace.py   (BENCH_RUNS=N to change the number of runs; default 7)
Bars: at 48 layers with compilation, jaxexplain within 1.10x of bare JAX; --help within 0.3 s
of `python -c pass`.

jaxexplain trace ends without tearing the interpreter down (see `cli.exit_without_teardown`),
which a plain script does not; the last column compares against the bare script ending the same
way, so that the saving at exit does not hide any cost of jaxexplain's own work.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import RUNS, interleaved, python, table

LAYERS = (2, 12, 48)


def jaxexplain_argv(layers: int, fmt: str, *extra: str) -> list[str]:
    return [
        python(),
        "-m",
        "jaxexplain",
        "trace",
        "samples/transformer.py:transformer",
        "--args-from",
        f"samples/transformer.py:layers_{layers}",
        "--format",
        fmt,
        "--color",
        "never",
        *extra,
    ]


def describe_interpreter() -> str:
    """Which Python, JAX and decision-recording backend the figures are for."""
    import platform

    import jax

    from jaxexplain._py_compat import HAS_MONITORING

    backend = "sys.monitoring" if HAS_MONITORING else "sys.settrace"
    return f"Python {platform.python_version()}, jax {jax.__version__}, decisions via {backend}"


def main() -> None:
    print(describe_interpreter())
    rows = []
    for layers in LAYERS:
        for stage, extra in (("trace+compile", ()), ("trace only", ("--no-compile",))):
            times = interleaved(
                {
                    "bare": [python(), "benchmarks/bare_jax_trace.py", str(layers), *extra],
                    "bare_quick": [
                        python(),
                        "benchmarks/bare_jax_trace.py",
                        str(layers),
                        *extra,
                        "--no-teardown",
                    ],
                    "text": jaxexplain_argv(layers, "text", *extra),
                    "json": jaxexplain_argv(layers, "json", *extra),
                }
            )
            rows.append(
                (
                    layers,
                    stage,
                    times["bare"],
                    times["bare_quick"],
                    times["text"],
                    times["json"],
                    f"{times['text'] / times['bare']:.3f}x",
                    f"{times['json'] / times['bare']:.3f}x",
                    f"{times['text'] / times['bare_quick']:.3f}x",
                    f"{times['json'] / times['bare_quick']:.3f}x",
                )
            )
    print(
        table(
            f"jaxexplain trace vs bare JAX (median of {RUNS} whole-process runs, seconds)",
            (
                "layers",
                "stage",
                "bare JAX",
                "bare, no teardown",
                "jaxexplain text",
                "jaxexplain json",
                "text ratio",
                "json ratio",
                "text vs no teardown",
                "json vs no teardown",
            ),
            rows,
        )
    )
    startup = interleaved(
        {
            "python -c pass": [python(), "-c", "pass"],
            "jaxexplain --help": [python(), "-m", "jaxexplain", "--help"],
        }
    )
    delta = startup["jaxexplain --help"] - startup["python -c pass"]
    print()
    print(table("start-up", ("command", "seconds"), list(startup.items())))
    print(f"--help costs {delta:.3f} s over python -c pass (bar: 0.3 s)")


if __name__ == "__main__":
    main()
