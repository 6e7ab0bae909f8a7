"""The bare JAX calls that give the facts of a `jaxexplain trace` report, for the benchmark.

Usage: python benchmarks/bare_jax_trace.py LAYERS [--no-compile] [--no-teardown]

--no-teardown ends the process as jaxexplain trace does (atexit handlers, flush, os._exit),
for a like-for-like comparison of the work itself.
"""

from __future__ import annotations

import atexit
import os
import sys

sys.path.insert(0, ".")
from samples.transformer import make_args, transformer


def main() -> None:
    kwargs = make_args(int(sys.argv[1]))
    traced = transformer.trace(**kwargs)
    print(traced.jaxpr)
    if "--no-compile" in sys.argv:
        return
    lowered = traced.lower()
    compiled = lowered.compile()
    print(compiled.cost_analysis())
    print(compiled.memory_analysis())


main()
if "--no-teardown" in sys.argv:
    atexit._run_exitfuncs()
    sys.stdout.flush()
    os._exit(0)
