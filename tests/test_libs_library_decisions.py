"""Tests inside flax and haiku on values made from the target's statics are listed one per
static and construct, with outcomes JAX confirms: flipping the static changes the jaxpr the
way the listed outcome says (dropout's random equations appear or disappear); a library test
on no static is not listed; `diff` lists the tests that flip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain.renderers import render
from jaxexplain.report import DiffReport, LibraryDecision, TraceReport
from tests.targets.libs import library_decisions as lib

X = jax.ShapeDtypeStruct((2, 3), jnp.float32)


def makes(fn: Callable[..., Any], static: dict[str, Any], *args: Any, primitive: str) -> bool:
    """Whether JAX's own jaxpr of `fn`, with `static` bound as jit statics, holds `primitive`
    anywhere (inside the nested jaxprs of jitted library helpers too)."""
    jaxpr = jax.jit(fn, static_argnames=tuple(static)).trace(*args, **static).jaxpr
    return f" {primitive}[" in str(jaxpr) or f" {primitive} " in str(jaxpr)


def only_decision(report: TraceReport, file: str) -> LibraryDecision:
    (found,) = [d for d in report.library_decisions if d.file == file]
    return found


CASES = [
    pytest.param(
        lib.flax_dropout_step,
        lambda: lib.flax_dropout_params()["params"],
        "train",
        "flax/linen/stochastic.py",
        "(self.rate == 0.0) or deterministic",
        "random_bits",
        id="flax-dropout-field",
    ),
    pytest.param(
        lib.flax_batchnorm_step,
        lambda: lib.flax_batchnorm_variables()["variables"],
        "train",
        "flax/linen/normalization.py",
        "use_running_average",
        "reduce_sum",
        id="flax-batchnorm-field",
    ),
]


@pytest.mark.parametrize(("fn", "make_args", "static", "file", "source", "primitive"), CASES)
def test_a_library_test_on_a_module_field_built_from_a_static_names_that_static(
    fn: Callable[..., Any],
    make_args: Callable[[], Any],
    static: str,
    file: str,
    source: str,
    primitive: str,
) -> None:
    """`nn.Dropout(deterministic=not train)`: true skips dropout's random bits (JAX's jaxpr
    has none), false keeps them; BatchNorm's batch statistics (reductions) likewise."""
    args = make_args()
    for value in (True, False):
        report = jaxexplain.trace(
            fn, args, X, static_argnames=static, compile=False, **{static: value}
        )
        decision = only_decision(report, file)
        assert (decision.static, decision.source, decision.count) == (static, source, 1)
        skipped = not makes(fn, {static: value}, args, X, primitive=primitive)
        assert decision.outcomes == (("true",) if skipped else ("false",))
    assert makes(fn, {static: True}, args, X, primitive=primitive)  # the test did flip


def test_haiku_dropout_rate_chosen_by_is_training_is_decided_on_is_training() -> None:
    """`hk.dropout(key, 0.5 if is_training else 0.0, x)`: haiku's `if rate == 0.0` returns x
    untouched (no random bits in JAX's jaxpr) exactly where the summary says true."""
    params = lib.haiku_dropout_params()["params"]
    for value in (True, False):
        report = jaxexplain.trace(
            lib.haiku_dropout_step,
            params,
            X,
            static_argnames="is_training",
            compile=False,
            is_training=value,
        )
        (decision,) = [d for d in report.library_decisions if d.source == "rate == 0.0"]
        assert (decision.static, decision.file) == ("is_training", "haiku/_src/basic.py")
        static = {"is_training": value}
        bits = makes(lib.haiku_dropout_step, static, params, X, primitive="random_bits")
        assert decision.outcomes == (("false",) if bits else ("true",))


def test_a_library_test_on_no_static_is_not_listed() -> None:
    """Dense's `if self.use_bias` ran (the bias add is in the jaxpr) on a literal, not a
    static: it is not listed; nor is anything under a static no library test read."""
    args = lib.flax_dropout_params()["params"]
    report = jaxexplain.trace(
        lib.flax_dropout_step, args, X, static_argnames="train", compile=False, train=True
    )
    assert makes(lib.flax_dropout_step, {"train": True}, args, X, primitive="add")
    assert [d.file for d in report.library_decisions] == ["flax/linen/stochastic.py"]
    assert {d.static for d in report.library_decisions} == {"train"}


def test_diff_lists_the_library_tests_that_flip_and_every_format_shows_them() -> None:
    args = lib.flax_dropout_params()["params"]
    diff = jaxexplain.diff(
        lib.flax_dropout_step,
        args,
        X,
        static_argnames="train",
        vs={"train": False},
        compile=False,
        train=True,
    )
    (change,) = diff.library_decision_changes
    assert (change.static, change.file, change.a, change.b) == (
        "train",
        "flax/linen/stochastic.py",
        ("false",),
        ("true",),
    )
    assert DiffReport.from_dict(diff.to_dict()) == diff
    assert "train: flax/linen/stochastic.py:" in str(diff)
    a = diff.a
    assert TraceReport.from_dict(a.to_dict()) == a
    line = f"train: decided in flax/linen/stochastic.py:{change.line}"
    assert line in str(a)
    assert line in render(a, "html")
