"""`diff` on code written against the real libraries: verification, jaxpr diff, attribution."""

from __future__ import annotations

import ast
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain.renderers import render
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


def _printed_equations(closed) -> int:
    """Equations JAX prints for a jaxpr, nested ones included, a jaxpr used twice once."""
    seen, pending, total = set(), [closed.jaxpr], 0
    while pending:
        jaxpr = pending.pop()
        if id(jaxpr) in seen:
            continue
        seen.add(id(jaxpr))
        total += len(jaxpr.eqns)
        for eqn in jaxpr.eqns:
            for value in eqn.params.values():
                for item in value if isinstance(value, (tuple, list)) else (value,):
                    if isinstance(item, jax.extend.core.ClosedJaxpr):
                        pending.append(item.jaxpr)
                    elif isinstance(item, jax.extend.core.Jaxpr):
                        pending.append(item)
    return total


def test_a_helper_shared_on_one_side_and_inline_on_the_other_is_no_change() -> None:
    x = jnp.zeros(3)
    jaxpr_a = jax.make_jaxpr(lambda x, y: diffing.helper_once_or_twice(x, y, True))(x, x)
    jaxpr_b = jax.make_jaxpr(lambda x, y: diffing.helper_once_or_twice(x, y, False))(x, x)
    assert "let shared_helper = " in str(jaxpr_a) and "let shared_helper" not in str(jaxpr_b)
    report = jaxexplain.diff(
        diffing.helper_once_or_twice,
        "f32[3]",
        "f32[3]",
        static_argnames="twice",
        twice=True,
        vs={"twice": False},
        compile=False,
    )
    diff = report.jaxpr_diff
    assert diff is not None
    assert (diff.equations_a, diff.equations_b) == (len(jaxpr_a.eqns), len(jaxpr_b.eqns))
    assert (diff.added, diff.changed) == (0, 0)
    assert diff.removed == len(jaxpr_a.eqns) - len(jaxpr_b.eqns)
    assert diff.sharing and "shared_helper" in diff.sharing[0]
    assert "-let shared_helper" not in diff.unified
    assert report.a.jaxpr.equations_total == _printed_equations(jaxpr_a)
    assert report.b.jaxpr.equations_total == _printed_equations(jaxpr_b)
    text = str(report)
    assert "as printed" not in text and "printing only, not a change" in text


def test_a_long_changed_line_shows_where_it_changed() -> None:
    weights = ["f32[128,4]"] * 6
    report = jaxexplain.diff(
        diffing.concatenated, *weights, "f32[10,4]", vs={"x": "f32[5,4]"}, compile=False
    )
    opening = [line for line in report.jaxpr_diff.unified.splitlines() if "{ lambda" in line]
    assert min(len(line) for line in opening) > 100
    text = str(report)
    removed = next(line for line in text.splitlines() if line.startswith("-{ lambda"))
    added = next(line for line in text.splitlines() if line.startswith("+{ lambda"))
    assert len(removed) <= 100 and "f32[10,4]. let" in removed
    assert len(added) <= 100 and "f32[5,4]. let" in added


def test_a_verified_rewrite_is_printed_whole_at_any_width() -> None:
    report = jaxexplain.trace(diffing.thresholded, "f32[3]", "f32[]", "f32[]", compile=False)
    fixes = [s for s in report.error.suggestions if s.verified and s.code]
    assert fixes
    text = render(report, "text", width=60)
    assert max(len(line) for line in text.splitlines()) <= 60
    # A long line is continued with a backslash, which Python joins back: the code pastes whole.
    joined = " ".join(text.replace("\\\n", " ").split())
    for line in textwrap.dedent(fixes[0].code).strip().splitlines():
        assert " ".join(line.split()) in joined
    ast.parse(textwrap.dedent(fixes[0].code))
