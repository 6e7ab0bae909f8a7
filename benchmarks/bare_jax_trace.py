"""The bare JAX calls that give the facts of a `jaxexplain trace` report, for the benchmark.

Usage: python benchmarks/bare_jax_trace.py LAYERS [--no-compile]
"""

from __future__ import annotations

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
