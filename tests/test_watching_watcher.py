"""watching/watcher.py on a real training script run whole: the compilations `watch` counts are
the entries JAX's own cache holds, each with its cache-key reasons and warnings."""

from __future__ import annotations

import runpy
from pathlib import Path

import jax
import jax.numpy as jnp

import jaxexplain

TRAINING_DIR = Path(__file__).resolve().parent / "targets" / "training"


def test_watch_of_a_training_script_counts_what_jax_compiled() -> None:
    """Adam with a donated state, a frozen config whose lr decays, and a partial last batch."""
    with jaxexplain.watch() as watcher:
        program = runpy.run_path(str(TRAINING_DIR / "train_script.py"), run_name="not_main")
        program["main"]()
    report = watcher.report()
    steps = [e for e in report.compiles_of("step") if e.kind == "jit"]
    assert len(steps) == program["step"]._cache_size() == 6
    assert {(r.component, r.path) for e in steps for r in e.reasons} == {
        ("static", "config.lr"),
        ("shape", "x"),
        ("shape", "y"),
    }
    (warning,) = [w for w in report.warnings if w.kind == "static_float"]
    assert warning.path == "config.lr"
    assert (
        "static_argnames" not in warning.message and "out of the static `config`" in warning.message
    )


def test_a_new_entry_without_a_compile_is_reported_with_what_changed() -> None:
    """A step counter that goes from a Python int to an array: JAX makes a second cache entry
    but reuses the trace and executable, so nothing is lowered or compiled."""

    @jax.jit
    def step(x, i):
        return x + i

    x = jnp.ones(3)
    with jaxexplain.watch() as watcher:
        step(x, 0)
        step(x, jnp.asarray(1))
        step(x, jnp.asarray(2))
    assert step._cache_size() == 2
    report = watcher.report()
    first, second = report.compiles_of("step")
    assert first.compiled and not second.compiled
    assert second.cache_size == 2 and second.compile_seconds == 0.0
    assert [(r.component, r.path) for r in second.reasons] == [("sharding", "i")]
    (totals,) = report.functions
    assert totals.compiles == 1, "one XLA compilation, two cache entries"
