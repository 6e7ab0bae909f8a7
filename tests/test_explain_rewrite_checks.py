"""explain/rewrite_checks.py: a rewrite is verified only when it traces and gives the values and
gradients of the user's original on random inputs, and every check says no where it must (a
rewrite that traces but returns other values, one that differs only in gradients, one that
does not compile, trace or run). JAX, run by the test, says what the original gives.

Mutation testing runs this module ([tool.mutmut] in pyproject.toml): it starts no XLA at
import time (forked workers would hang), and each test makes its arrays itself.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import types
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.api import trace_target
from jaxexplain.explain import rewrite_checks as checks
from jaxexplain.explain import rewrites
from jaxexplain.explain.frames import Site, frames_below_target, read_sites, user_frames
from jaxexplain.explain.rewrite_fixes import module_aliases
from jaxexplain.explain.rewrites import Aliases, Rewrite
from jaxexplain.inputs.calling import CallPlan, plan_call
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.tracing import verify
from jaxexplain.tracing.stages import Target, trace_plan
from tests.targets.explain import checked as user

FAILING = "tests.targets.failures.practitioners"

F32 = jax.ShapeDtypeStruct((), np.float32)


class Failing:
    """A target whose trace fails, as the explainer sees it: its plan and the user's sites."""

    def __init__(self, fn: Callable[..., Any], *specs: Any) -> None:
        self.target = Target.of(fn)
        names = list(inspect.signature(fn).parameters)
        self.plan = plan_call(fn, {}, dict(zip(names, specs, strict=True)), source="api")
        with pytest.raises(Exception) as caught:
            trace_plan(self.target, self.plan)
        self.sites: list[Site] = read_sites(
            frames_below_target(user_frames(caught.value), self.target)
        )
        self.site = self.sites[-1]
        self.owner: Any = getattr(sys.modules[fn.__module__], self.site.frame.code.co_name)
        self.aliases = module_aliases(self.owner.__globals__)

    def rewrites(self) -> dict[str, Rewrite]:
        """jaxexplain's own rewrites of the failing construct, by kind."""
        assert self.site.function is not None and self.site.construct is not None
        found = rewrites.rewrite_for(self.site.function, self.site.construct, self.aliases)
        return {r.kind: r for r in found}

    def verify(self, rewrite: Rewrite) -> checks.RewriteCheck:
        return checks.verify_rewrite(
            self.target, self.plan, self.site, self.owner, rewrite, self.aliases, self.sites
        )

    def compare(self, rewrite: Rewrite, plan: CallPlan | None = None) -> checks.RewriteCheck:
        code = rewrites.compile_function(rewrite.function, self.site.frame.file, ())
        replacement = checks.clone_function(self.owner, code, {"lax": jax.lax})
        return checks.compare_on_random_inputs(
            self.target, plan or self.plan, self.site, self.owner, rewrite, self.sites, replacement
        )


def written(source: str, kind: str = "where") -> Rewrite:
    """A rewrite as the test writes it: the whole new function."""
    function = ast.parse(textwrap.dedent(source)).body[0]
    assert isinstance(function, ast.FunctionDef)
    return Rewrite(kind, function, "", function.lineno, function.lineno, frozenset())


# ---------------------------------------------------------------------------------------------
# Verifying rewrites: values, gradients, and the ways a rewrite fails


def test_a_rewrite_with_the_originals_values_and_gradients_is_verified() -> None:
    failing = Failing(user.clipped_sqrt, F32)
    check = failing.verify(failing.rewrites()["safe_where"])
    assert check == checks.RewriteCheck(
        checks.VERIFIED, "", ("traced", "values", "gradients"), len(checks.TRIALS)
    )


def test_a_rewrite_that_traces_but_returns_other_values_is_rejected() -> None:
    x = jnp.float32(-1.0)
    assert user.clipped_sqrt(x) != jnp.where(x > 0, jnp.sqrt(x), 1.0)  # JAX: other values
    failing = Failing(user.clipped_sqrt, F32)
    other = written(
        """
        def clipped_sqrt(x):
            return jnp.where(x > 0, jnp.sqrt(x), 1.0)
        """
    )
    check = failing.verify(other)
    assert check.status == checks.FAILS
    assert check.detail == "it returns other values than your code on random inputs"


def test_a_rewrite_that_differs_only_in_gradients_is_rejected() -> None:
    """The plain `jnp.where(x > 0, jnp.sqrt(x), 0.0)`: the original's values, a NaN gradient
    where x <= 0 (JAX says so here)."""
    x = jnp.float32(-1.0)
    plain = jax.grad(lambda v: jnp.where(v > 0, jnp.sqrt(v), 0.0))(x)
    assert np.isnan(plain) and jax.grad(user.clipped_sqrt)(x) == 0.0
    failing = Failing(user.clipped_sqrt, F32)
    check = failing.verify(failing.rewrites()["where"])
    assert check.status == checks.FAILS
    assert "your code's values but other gradients" in check.detail


def test_a_helpers_rewrite_is_checked_against_the_helper_and_put_back() -> None:
    failing = Failing(user.through_helper, F32)
    assert failing.owner is user.clipped_sqrt
    found = failing.rewrites()
    assert failing.verify(found["where"]).status == checks.FAILS
    assert failing.verify(found["safe_where"]).status == checks.VERIFIED
    assert user.clipped_sqrt is failing.owner


def test_a_helper_under_its_own_jit_is_swapped_with_its_statics_and_put_back() -> None:
    wrapper = user.jitted_sqrt
    failing = Failing(user.through_jitted_helper, F32)
    replacement = types.FunctionType(
        user.clipped_sqrt.__code__, user.clipped_sqrt.__globals__, "clipped_sqrt"
    )
    with checks.substituted(failing.target, user.clipped_sqrt, replacement, failing.sites):
        swapped = user.jitted_sqrt
        assert swapped is not wrapper and swapped.__wrapped__ is replacement
    assert user.jitted_sqrt is wrapper
    assert failing.verify(failing.rewrites()["safe_where"]).status == checks.VERIFIED


def test_a_rewrite_that_does_not_compile_is_rejected() -> None:
    failing = Failing(user.clipped_sqrt, F32)
    broken = written(
        """
        def clipped_sqrt(x):
            nonlocal unbound
            return x
        """
    )
    check = failing.verify(broken)
    assert check.status == checks.FAILS and check.detail.startswith("it does not compile (")


def test_a_rewrite_that_does_not_trace_is_rejected_with_jaxs_error() -> None:
    failing = Failing(user.clipped_sqrt, F32)
    unchanged = written(inspect.getsource(user.clipped_sqrt))
    check = failing.verify(unchanged)
    assert check.status == checks.FAILS
    assert check.detail.startswith("tracing it raises TracerBoolConversionError: ")


def test_a_rewrite_that_fails_when_it_runs_is_rejected() -> None:
    failing = Failing(user.clipped_sqrt, F32)
    refusing = written(
        """
        def clipped_sqrt(x):
            return jax.pure_callback(refuse, jax.ShapeDtypeStruct((), jnp.float32), x)
        """
    )
    check = failing.verify(refusing)
    assert check.status == checks.FAILS and check.detail.startswith("running it raises ")


def test_a_rewrite_jax_cannot_differentiate_keeps_its_values_check_and_says_why() -> None:
    with pytest.raises(ValueError, match="Reverse-mode differentiation"):
        jax.grad(lambda x: jax.lax.while_loop(lambda v: v > 1.0, lambda v: v / 2, x))(4.0)
    failing = Failing(user.halve_while_large, F32)
    check = failing.verify(failing.rewrites()["while_loop"])
    assert check.status == checks.VERIFIED and check.checks == ("traced", "values")
    assert check.detail.startswith("gradients not compared: differentiating the rewrite raises ")


def test_a_conversion_kept_in_jax_is_verified_on_values_and_says_gradients_differ() -> None:
    x = jnp.arange(1.0, 4.0)
    kept = jax.grad(lambda v: (v * v.mean()).sum())(x)
    with jax.disable_jit():
        stopped = jax.grad(lambda v: user.scaled_by_mean(v).sum())(x)
    assert not np.allclose(kept, stopped)  # JAX: the gradients differ
    failing = Failing(user.scaled_by_mean, jax.ShapeDtypeStruct((3,), np.float32))
    check = failing.verify(failing.rewrites()["jnp"])
    assert check.status == checks.VERIFIED and check.checks == ("traced", "values")
    assert check.detail == checks.GRADIENTS_DETACHED


def test_an_original_that_cannot_be_differentiated_leaves_gradients_uncompared() -> None:
    with pytest.raises(jax.errors.TracerArrayConversionError):
        jax.grad(lambda x: user.numpy_sin(x).sum())(jnp.ones(3))
    failing = Failing(user.numpy_sin, jax.ShapeDtypeStruct((3,), np.float32))
    check = failing.verify(failing.rewrites()["jnp"])
    assert check.status == checks.VERIFIED and check.checks == ("traced", "values")
    assert check.detail == (
        "gradients not compared: jaxexplain could not take your code's gradients outside jit"
    )


def test_integer_results_are_compared_on_values_alone() -> None:
    failing = Failing(user.count_positive, F32)
    check = failing.verify(failing.rewrites()["where"])
    assert check == checks.RewriteCheck(
        checks.VERIFIED, "", ("traced", "values"), len(checks.TRIALS)
    )


def test_an_array_branch_is_compared_with_the_original_element_by_element() -> None:
    failing = Failing(user.relu_or_square, jax.ShapeDtypeStruct((4,), np.float32))
    found = failing.rewrites()
    assert failing.verify(found["safe_where"]).checks == ("traced", "values", "gradients")
    assert failing.verify(found["where"]).status == checks.VERIFIED
    wrong = written(
        """
        def relu_or_square(x):
            return jnp.where(x > 0, x * x, x)
        """
    )
    wrong = Rewrite("where", wrong.function, "", 1, 1, frozenset(), found["where"].forced)
    assert failing.verify(wrong).status == checks.FAILS


def test_a_trial_the_original_cannot_finish_is_skipped_and_not_run_on_the_device() -> None:
    """`while x < 0: x = x - 1` never ends on the negative trial: the original is stopped
    there, and the rewrite is compared on the other trials. (Given as a Python float, its
    random values are Python floats, so the stopped loop runs in Python alone.)"""
    failing = Failing(user.grow_while_negative, -1.0)
    check = failing.compare(failing.rewrites()["while_loop"])
    assert check.status == checks.VERIFIED and check.trials == len(checks.TRIALS) - 1


def test_without_random_inputs_or_an_eager_original_a_rewrite_is_only_traced() -> None:
    failing = Failing(user.clipped_sqrt, F32)
    no_inputs = failing.compare(failing.rewrites()["cond"], failing.plan.with_values({"x": "?"}))
    assert no_inputs == checks.RewriteCheck(
        checks.TRACES, "jaxexplain cannot make random inputs to compare it"
    )
    array = Failing(user.relu_or_square, jax.ShapeDtypeStruct((4,), np.float32))
    cond = array.compare(array.rewrites()["cond"])
    assert cond.status == checks.TRACES and "cannot run outside jit" in cond.detail


# ---------------------------------------------------------------------------------------------
# The reference: the original run eagerly, its gradients, the per-element reading


def test_the_reference_is_the_original_run_eagerly_with_its_gradients() -> None:
    failing = Failing(user.clipped_sqrt, F32)
    rng = np.random.default_rng(0)
    plan = failing.plan.with_values({"x": jnp.float32(2.0)})
    reference = checks.reference_output(
        failing.target, plan, failing.site, failing.owner, failing.rewrites()["where"], [], rng
    )
    assert reference is not None and reference.check is not None
    assert reference.output == user.clipped_sqrt(jnp.float32(2.0))
    assert reference.check.wrt == ("x",)
    expected = jax.grad(user.clipped_sqrt)(jnp.float32(2.0)) * reference.check.cotangent
    np.testing.assert_allclose(reference.gradients[0], expected, rtol=1e-6)


def test_the_elementwise_reference_takes_each_elements_branch_and_gradient() -> None:
    failing = Failing(user.relu_or_square, jax.ShapeDtypeStruct((4,), np.float32))
    x = jnp.asarray([-2.0, -0.5, 0.5, 3.0], jnp.float32)
    plan = failing.plan.with_values({"x": x})
    rng = np.random.default_rng(0)
    where = failing.rewrites()["where"]
    reference = checks.elementwise_reference(
        failing.target, plan, failing.site, failing.owner, where, failing.sites, rng
    )
    assert reference is not None and reference.check is not None
    per_element = np.stack([user.relu_or_square(v) for v in x])
    np.testing.assert_allclose(reference.output, per_element)
    grads = np.stack([jax.grad(user.relu_or_square)(v) for v in x])
    np.testing.assert_allclose(reference.gradients[0], grads * reference.check.cotangent, rtol=1e-6)


def test_a_forced_branch_records_each_test_and_takes_the_branch_asked_for() -> None:
    recorder = checks.BranchRecorder(1)
    assert recorder(0, np.asarray([True, False])) is False
    assert recorder(1, np.asarray([False, True])) is True
    assert recorder(1, 0.5) is True
    assert list(recorder.tests) == [0, 1] and len(recorder.tests[1]) == 2
    np.testing.assert_array_equal(recorder.tests[0][0], [True, False])


def test_gradient_checks_take_float_traced_arguments_and_float_outputs_only() -> None:
    rng = np.random.default_rng(0)
    fn = lambda x, n, flag: x * n  # noqa: E731
    plan = plan_call(fn, {"flag": True}, {"x": jnp.ones(3), "n": 2}, source="api")
    output = jnp.ones(3) * 2
    check = checks.gradient_check(plan, output, rng)
    assert check is not None and check.wrt == ("x",)
    assert check.cotangent.shape == output.shape and check.cotangent.dtype == output.dtype
    assert checks.gradient_check(plan, jnp.ones(3, jnp.int32), rng) is None
    integers = plan_call(fn, {"flag": True}, {"x": 1, "n": 2}, source="api")
    assert checks.gradient_check(integers, output, rng) is None


def test_gradients_of_pull_the_cotangent_back_as_jax_does() -> None:
    fn = lambda x, y: x * x * y  # noqa: E731
    x, y = jnp.asarray([1.0, -2.0]), jnp.asarray([0.5, 3.0])
    plan = plan_call(fn, {}, {"x": x, "y": y}, source="api")
    cotangent = jnp.asarray([2.0, -1.0])
    (by_x,) = checks.gradients_of(fn, plan, checks.GradientCheck(("x",), cotangent))
    np.testing.assert_allclose(by_x, jax.grad(lambda v: (fn(v, y) * cotangent).sum())(x))


def test_the_step_limit_stops_only_the_code_it_watches_and_restores_the_tracer() -> None:
    before = sys.gettrace()

    def count(n: int) -> int:
        total = 0
        for i in range(n):
            total += i
        return total

    with checks.step_limit(count.__code__, enabled=True, lines=20):
        assert count(5) == sum(range(5))
        with pytest.raises(checks.TooManySteps):
            count(100)
    assert sys.gettrace() is before
    with checks.step_limit(count.__code__, enabled=False, lines=1):
        assert count(100) == sum(range(100))


# ---------------------------------------------------------------------------------------------
# Random inputs


def test_random_arguments_follow_the_plans_abstract_values() -> None:
    fn = lambda x, i, u, b, n, f, flag, key, static: x  # noqa: E731
    traced = {
        "x": jax.ShapeDtypeStruct((2, 3), np.float32),
        "i": jax.ShapeDtypeStruct((4,), np.int32),
        "u": jax.ShapeDtypeStruct((4,), np.uint8),
        "b": jax.ShapeDtypeStruct((3,), np.bool_),
        "n": 7,
        "f": 2.5,
        "flag": True,
        "key": jax.random.key(0),
    }
    plan = plan_call(fn, {"static": "kept"}, traced, source="api")
    values = checks.random_arguments(plan, np.random.default_rng(0))
    assert values is not None and "static" not in values
    for name in ("x", "i", "u", "b", "key"):
        assert jax.typeof(values[name]) == jax.typeof(traced[name]), name
    assert type(values["n"]) is int and 0 <= values["n"] <= 14
    assert type(values["f"]) is float and type(values["flag"]) is bool
    assert values["u"].min() >= 0
    again = checks.random_arguments(plan, np.random.default_rng(1))
    assert again is not None
    assert not np.array_equal(jax.random.key_data(again["key"]), jax.random.key_data(values["key"]))


@pytest.mark.parametrize("trial", checks.TRIALS)
def test_each_trial_draws_floats_of_its_sign(trial: str) -> None:
    fn = lambda x, f: x  # noqa: E731
    traced = {"x": jax.ShapeDtypeStruct((64,), np.float32), "f": -3.0}
    plan = plan_call(fn, {}, traced, source="api")
    values = checks.random_arguments(plan, np.random.default_rng(0), trial)
    assert values is not None
    data = np.append(np.asarray(values["x"]), values["f"])
    signs = {"normal": {-1.0, 1.0}, "negative": {-1.0}, "positive": {1.0}, "zero": {0.0}}
    assert set(np.sign(data)) == signs[trial]


def test_no_random_arguments_for_too_much_data_or_a_leaf_without_a_dtype() -> None:
    fn = lambda x: x  # noqa: E731
    big = jax.ShapeDtypeStruct((checks.MAX_COMPARED_ELEMENTS + 1,), np.float32)
    rng = np.random.default_rng(0)
    assert checks.random_arguments(plan_call(fn, {}, {"x": big}, source="api"), rng) is None
    assert checks.random_arguments(plan_call(fn, {}, {"x": "text"}, source="api"), rng) is None


# ---------------------------------------------------------------------------------------------
# Comparing values, cloning functions, and the aliases a rewrite needs


def test_same_values_is_equal_pytrees_of_equal_shapes_within_tolerance() -> None:
    nan = jnp.sqrt(jnp.float32(-1.0))
    assert checks.same_values({"a": jnp.ones(3), "b": 1.0}, {"a": np.ones(3), "b": 1.0})
    assert checks.same_values(1.0, 1.0 + 5e-6)
    assert not checks.same_values(1.0, 1.0 + 2e-5)
    assert checks.same_values(0.0, 5e-7) and not checks.same_values(0.0, 2e-6)
    assert checks.same_values(nan, nan) and not checks.same_values(nan, 0.0)
    assert not checks.same_values(jnp.ones(3), jnp.ones((1, 3)))
    assert not checks.same_values((1.0, 2.0), (1.0,))
    assert not checks.same_values(jnp.ones(3), jnp.asarray([1.0, 1.0, 2.0]))


def test_a_clone_runs_new_code_with_the_originals_closure_and_defaults() -> None:
    def make(scale: float) -> Callable[..., Any]:
        def scaled(x: float, shift: float = 1.0, *, power: int = 1) -> float:
            return (x * scale + shift) ** power

        return scaled

    original = make(2.0)
    code = rewrites.compile_function(
        ast.parse(
            "def scaled(x, shift=1.0, *, power=1):\n    return -(x * scale + shift) ** power"
        ).body[0],  # type: ignore[arg-type]
        __file__,
        original.__code__.co_freevars,
    )
    clone = checks.clone_function(original, code, {"extra_name": 1})
    assert clone(3.0) == -7.0 and clone(3.0, power=2) == -49.0
    assert clone.__qualname__ == original.__qualname__ and clone.__module__ == __name__
    assert "extra_name" in clone.__globals__ and "extra_name" not in globals()
    assert checks.clone_function(original, code, {}).__globals__ is original.__globals__


def test_alias_values_supply_only_the_modules_the_users_namespace_lacks() -> None:
    assert checks.alias_values(Aliases(), {"jnp": jnp, "np": np, "lax": jax.lax}) == {}
    extra = checks.alias_values(Aliases(jnp="jnp", lax="jax.lax", np="onp"), {})
    assert extra == {"jnp": jax.numpy, "onp": np, "jax": jax}
    assert checks.alias_values(Aliases(), {})["lax"] is jax.lax


def test_a_rewrite_is_verified_for_a_function_that_takes_a_prng_key() -> None:
    """Comparing the rewrite with the original on random inputs needs random new-style keys."""
    report = trace_target(
        f"{FAILING}:langevin_step", args_from=f"{FAILING}:langevin_args", compile=False
    )
    assert report.error is not None and report.error.type == "TracerBoolConversionError"
    (rewrite,) = [s for s in report.error.suggestions if s.kind == "rewrite"]
    assert rewrite.verified and "jnp.where(step < 100" in rewrite.code
    fn, plan = prepare_target(f"{FAILING}:langevin_step", {}, {}, f"{FAILING}:langevin_args")
    args, kwargs = verify.zero_call(plan, as_user_gave=False)
    with pytest.raises(jax.errors.TracerBoolConversionError):
        fn.obj(*args, **kwargs)
