"""Rewrites are verified against the user's original code, values and gradients, and each check
is shown to reject: a rewrite compared with itself, one with other values, one with other
gradients (the static fix whose re-trace fails is in tests/test_explain_static_fixes.py, the
tracer kept in a global in tests/test_explain_leaks.py). JAX, run by the test, says what is
true."""

from __future__ import annotations

import importlib.util
import re
import types
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxexplain
from jaxexplain.report import Suggestion, TraceReport
from tests.targets.libs import rewrites as user

SOURCE = Path(user.__file__)
POINTS = (-1.5, -0.25, 0.0, 0.3, 2.0)


def explain(fn: Any, *args: Any, **kwargs: Any) -> TraceReport:
    report = jaxexplain.trace(fn, *args, compile=False, **kwargs)
    assert report.error is not None
    return report


def verified(report: TraceReport) -> list[Suggestion]:
    assert report.error is not None
    return [s for s in report.error.suggestions if s.verified]


def with_fix(
    suggestion: Suggestion, tmp_path: Path, source: Path | None = None
) -> types.ModuleType:
    """The user's module with the fix written in, as the user would, imported afresh."""
    assert suggestion.code is not None
    match = re.search(r"replace lines? (\d+)(?:-(\d+))?", suggestion.text)
    assert match, suggestion.text
    first, last = int(match[1]), int(match[2] or match[1])
    lines = (source or SOURCE).read_text().splitlines()
    lines[first - 1 : last] = suggestion.code.splitlines()
    path = tmp_path / "rewrites_fixed.py"
    path.write_text("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location("rewrites_fixed", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["through_helper", "inline"])
def test_a_rewrite_with_other_values_is_rejected_in_a_helper_too(name: str) -> None:
    """Issue 12 item 1: the helper's rewrite was compared with itself and marked verified."""
    x = jnp.arange(3.0)
    original = getattr(user, name)(x, jnp.float32(0.1))
    where = jnp.where(jnp.float32(0.1) > 0.5, x * 2, jnp.float32(-1.0))
    assert np.shape(original) != np.shape(where)  # JAX: the jnp.where is no fix

    report = explain(getattr(user, name), "f32[3]", "f32[]")
    assert verified(report) == []
    assert report.error is not None
    tried = " ".join(s.text for s in report.error.suggestions)
    assert "jnp.where instead of a Python branch: it returns other values" in tried


def test_a_helper_rewrite_that_is_right_is_verified_against_the_original(
    tmp_path: Path,
) -> None:
    report = explain(user.scaled_sqrt, "f32[]")
    (fix,) = verified(report)
    assert fix.checks == ("traced", "values", "gradients")
    fixed = with_fix(fix, tmp_path)
    for point in POINTS:
        x = jnp.float32(point)
        assert jax.jit(fixed.scaled_sqrt)(x) == user.scaled_sqrt(x)
        assert jax.grad(jax.jit(fixed.scaled_sqrt))(x) == jax.grad(user.scaled_sqrt)(x)


def test_a_where_that_differs_only_in_gradients_is_rejected(tmp_path: Path) -> None:
    """`jnp.where(x > 0, jnp.sqrt(x), 0.0)` has the original's values, not its gradients."""

    def plain_where(x: jax.Array) -> jax.Array:
        return jnp.where(x > 0, jnp.sqrt(x), 0.0)

    x = jnp.float32(-1.0)
    assert plain_where(x) == user.safe_sqrt(x)
    assert np.isnan(jax.grad(plain_where)(x)) and jax.grad(user.safe_sqrt)(x) == 0.0

    report = explain(user.safe_sqrt, "f32[]")
    (fix,) = verified(report)
    assert "jnp.where(x > 0, jnp.sqrt(x), 0.0)" not in (fix.code or "")
    assert "gradients" in fix.checks and "the same values and gradients" in fix.text
    fixed = with_fix(fix, tmp_path)
    for point in POINTS:
        x = jnp.float32(point)
        assert jax.grad(jax.jit(fixed.safe_sqrt))(x) == jax.grad(user.safe_sqrt)(x)


def test_an_array_branch_gets_the_double_where_verified_by_gradients(tmp_path: Path) -> None:
    """On f32[5] only a `jnp.where` fits (lax.cond needs a scalar); the plain one has NaN
    gradients where x <= 0, the double where has the original's, element by element."""
    report = explain(user.log_or_identity, "f32[5]")
    (fix,) = verified(report)
    assert fix.checks == ("traced", "values", "gradients")
    fixed = with_fix(fix, tmp_path)
    x = jnp.asarray(POINTS, jnp.float32)
    per_element = jnp.stack([jax.grad(user.log_or_identity)(v) for v in x])
    rewritten = jax.grad(lambda v: jax.jit(fixed.log_or_identity)(v).sum())(x)
    np.testing.assert_allclose(rewritten, per_element)
    plain = jax.grad(lambda v: jnp.where(v > 0, jnp.log(v), v).sum())(x)
    assert np.isnan(plain).any()  # JAX: the plain where is rightly rejected


def test_a_target_that_differentiates_the_helper_is_checked_on_its_gradients(
    tmp_path: Path,
) -> None:
    report = explain(user.grad_of_sqrt, "f32[]")
    (fix,) = verified(report)
    fixed = with_fix(fix, tmp_path)
    for point in POINTS:
        x = jnp.float32(point)
        assert jax.jit(fixed.grad_of_sqrt)(x) == user.grad_of_sqrt(x)


def test_an_optax_update_branch_is_verified_on_values_and_gradients(tmp_path: Path) -> None:
    report = explain(user.clipped_update, "f32[3]", "f32[]")
    (fix,) = verified(report)
    assert fix.checks == ("traced", "values", "gradients")
    fixed = with_fix(fix, tmp_path)
    grads = jnp.asarray([0.5, -1.0, 2.0])
    for point in POINTS:
        scale = jnp.float32(point)
        np.testing.assert_allclose(
            jax.jit(fixed.clipped_update)(grads, scale), user.clipped_update(grads, scale)
        )
        by_scale = jax.grad(lambda s, f: f(grads, s).sum())
        np.testing.assert_allclose(
            by_scale(scale, jax.jit(fixed.clipped_update)), by_scale(scale, user.clipped_update)
        )


def test_a_rewrite_in_an_equinox_filter_jit_function_calling_its_module_is_verified(
    tmp_path: Path,
) -> None:
    """The model is split by equinox (arrays traced, the rest static); the rewrite's checks
    call the user's function with it joined again, as equinox does (they failed on the split
    value before)."""
    from tests.targets.libs import filter_jit_branch as lib

    args = lib.drift_args()
    report = jaxexplain.trace(lib.drift_with_schedule, compile=False, **args)
    assert report.error is not None
    (fix,) = [s for s in verified(report) if s.kind == "rewrite"]
    assert fix.code is not None and set(fix.checks) >= {"traced", "values"}
    fixed = with_fix(fix, tmp_path, Path(lib.__file__))
    for t in (0.7, 0.2):
        inputs = {**args, "t": jnp.asarray(t)}
        expected = lib.drift_with_schedule.__wrapped__(**inputs)
        assert np.allclose(fixed.drift_with_schedule(**inputs), expected)
