"""`diff` on code written against the real libraries: verification, jaxpr diff, attribution."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from tests.targets.libs import diffing

ROOT = Path(__file__).resolve().parent.parent


def _cache_sizes_of_failing_calls(fn, *shapes: tuple[int, ...]) -> list[int]:
    """JAX's own cache size after each call on zeros, every call raising at run time."""
    jitted = jax.jit(fn)
    sizes = []
    for shape in shapes:
        with pytest.raises(jax.errors.JaxRuntimeError):
            jax.block_until_ready(jitted(jnp.zeros(shape)))
        sizes.append(jitted._cache_size())
    return sizes


@pytest.mark.parametrize("shape_b", [(5, 4), (10, 4)])
def test_a_runtime_check_that_rejects_zeros_still_verifies(shape_b, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    spec_b = f"f32[{shape_b[0]},{shape_b[1]}]"
    report = jaxexplain.diff(diffing.checked_inverse, "f32[10,4]", vs={"x": spec_b}, compile=False)
    leaked = [record for record in caplog.records if record.exc_info]
    size_a, size_b = _cache_sizes_of_failing_calls(diffing.checked_inverse, (10, 4), shape_b)
    check = report.verification
    assert report.verified and check is not None and check.agrees
    assert (check.cache_size_a, check.cache_size_b) == (size_a, size_b)
    assert report.recompiles == (size_b > size_a)
    assert "x must be non-zero" in check.note and "raised at run time" in check.note
    assert leaked == []


def test_the_terminal_gets_the_verdict_and_no_callback_traceback() -> None:
    command = [
        *(sys.executable, "-m", "jaxexplain", "diff"),
        "tests/targets/libs/diffing.py:checked_inverse",
        *("--arg", "x=f32[10,4]", "--vs", "x=f32[5,4]", "--no-compile", "--color", "never"),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu", "COLUMNS": "200"}
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "verified against JAX" in result.stdout and "x must be non-zero" in result.stdout
    assert result.stderr == ""
