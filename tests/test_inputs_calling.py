"""inputs/calling.py: values bound to parameters with their roles and calling convention, on
targets of every shape (JAX transformations, partials, jitted methods, `**kwargs`), and usage
errors that show each caller how to pass what is missing."""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import pytest
from typer.testing import CliRunner

import jaxexplain
from jaxexplain.api import diff_target, trace_target
from jaxexplain.cli import app
from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI, FUNCTION_API, TARGET_API, Vocabulary
from jaxexplain.inputs.calling import plan_call
from jaxexplain.inputs.specs import ArraySpec, to_abstract
from jaxexplain.renderers import render
from jaxexplain.tracing import verify
from tests.targets.shapes.package import model

WRAPPERS = "tests.targets.shapes.wrappers"
MODULES = "tests.targets.models.modules"
TRANSFORM = "tests.targets.models.transform"
MISC = "tests.targets.shapes.misc"
MODEL = "tests.targets.shapes.package.model"


def affine(x: Any, w: Any, b: Any, scale: float = 2.0) -> Any:
    return (x @ w + b) * scale


def positional_only(x: Any, n: int, /, *rest: Any) -> Any:
    return x * n + sum(rest)


class Model:
    def apply(self, x: Any) -> Any:
        return x


@pytest.mark.parametrize(
    ("vocabulary", "example"),
    [
        (CLI, "--arg x=f32[8,128]  (or --static x=3)"),
        (TARGET_API, 'traced={"x": parse_array_spec("f32[8,128]")}  (or static={"x": 3})'),
        (FUNCTION_API, 'x="f32[8,128]"  (or static_argnames="x", x=3)'),
    ],
)
def test_every_missing_parameter_is_named_with_an_example_in_the_callers_words(
    vocabulary: Vocabulary, example: str
) -> None:
    with pytest.raises(UsageError) as raised:
        plan_call(affine, {}, {}, vocabulary=vocabulary)
    message = str(raised.value)
    assert message.startswith("affine needs a value for x, w, b;")
    assert example in message
    assert "scale" not in message


def test_a_missing_self_is_explained_for_each_caller() -> None:
    for vocabulary in (CLI, TARGET_API, FUNCTION_API):
        with pytest.raises(UsageError, match="self is the instance of a jitted method") as raised:
            plan_call(Model.apply, {}, {"x": 1.0}, vocabulary=vocabulary)
        assert vocabulary.instance in str(raised.value)


def test_an_unknown_parameter_suggests_the_closest_name() -> None:
    with pytest.raises(UsageError, match=r"unknown parameter 'scal' \(did you mean 'scale'\?\)"):
        plan_call(affine, {"scal": 3}, {"x": 1.0, "w": 1.0, "b": 1.0}, vocabulary=CLI)


def test_a_default_nobody_passes_is_a_static_constant_and_values_go_by_keyword() -> None:
    traced = {k: to_abstract(ArraySpec((2, 2), "float32")) for k in ("x", "w", "b")}
    plan = plan_call(affine, {}, traced, vocabulary=CLI)
    scale = plan.params[-1]
    assert (scale.name, scale.static, scale.passed, scale.source) == (
        "scale",
        True,
        False,
        "default",
    )
    args, kwargs = plan.call_args()
    assert args == () and list(kwargs) == ["x", "w", "b"]
    jaxpr = jax.jit(affine).trace(*args, **kwargs).jaxpr
    assert len(jaxpr.eqns) == len(jax.make_jaxpr(affine)(*[jnp.zeros((2, 2))] * 3).eqns)


def test_positional_only_and_varargs_are_passed_by_position() -> None:
    plan = plan_call(
        positional_only,
        {"n": 2},
        {"x": 1.0, "rest": (1.0, 2.0)},
        vocabulary=CLI,
    )
    args, kwargs = plan.call_args()
    assert (args, kwargs) == ((1.0, 2, 1.0, 2.0), {})
    assert plan.static_argnums == (1,)
    assert [p.kind for p in plan.params] == [
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.VAR_POSITIONAL,
    ]
    assert jax.jit(positional_only, static_argnums=plan.static_argnums)(*args) == 5.0


@pytest.mark.parametrize("name", ["grad_mse", "batched_loss", "huber_loss"])
def test_transformed_and_partial_targets_trace_as_jax_calls_them(name: str) -> None:
    """`jax.grad(f)` and `jax.vmap(f)` read their arguments by position; the report shows f."""
    from tests.targets.shapes import wrappers

    report = trace_target(f"{WRAPPERS}:{name}", args_from=f"{WRAPPERS}:args", compile=False)
    assert report.ok, report.error
    fn = getattr(wrappers, name)
    kwargs = verify.zeros_like_tree(wrappers.args())
    args = (kwargs["params"], kwargs["x"], kwargs["y"])
    expected = jax.make_jaxpr(fn)(*args)
    assert report.jaxpr is not None and report.jaxpr.equations == len(expected.jaxpr.eqns)
    underlying = "mse" if name == "grad_mse" else "per_example_loss"
    assert report.function.name == underlying and report.function.file.endswith("wrappers.py")
    assert report.cache_key is not None and "0x" not in report.cache_key.function
    assert f"wrappers.{underlying} @ " in report.cache_key.function


def test_a_static_passed_through_kwargs_is_static_as_jit_makes_it() -> None:
    """`jax.jit(net.apply, static_argnames="depth")` over `apply(params, *args, **kwargs)`:
    a `depth=` keyword is static to JAX, its own argument and cache-key entry."""
    from tests.targets.models import transform

    report = trace_target(
        f"{TRANSFORM}:apply", {"depth": 2}, args_from=f"{TRANSFORM}:depth2_args", compile=False
    )
    assert report.ok, report.error
    depth = next(a for a in report.arguments if a.name == "depth")
    assert (depth.role, depth.source, depth.value) == ("static", "cli", "2")
    assert [s.name for s in report.cache_key.static] == ["depth"]
    (params, images), _ = transform.depth2_args()
    jax_count = len(transform.apply.trace(params, images, depth=2).jaxpr.eqns)
    assert report.jaxpr.equations == jax_count


def test_keywords_into_kwargs_keep_the_factory_as_source_and_diff_by_name() -> None:
    from tests.targets.models import transform

    report = diff_target(
        f"{TRANSFORM}:apply",
        vs={"images": "f32[2,16,16,3]"},
        args_from=f"{TRANSFORM}:net_kwargs",
        compile=False,
    )
    assert report.ok, (report.a.error, report.b.error)
    images = next(a for a in report.a.arguments if a.name == "images")
    assert (images.role, images.source) == ("traced", "factory")
    assert [(c.component, c.path) for c in report.cache_key_changes] == [("shape", "images")]
    assert report.verification.checked and report.verification.agrees
    kwargs = verify.zeros_like_tree(transform.net_kwargs())
    transform.apply(**kwargs)
    transform.apply(kwargs["params"], images=jnp.zeros((2, 16, 16, 3)))
    assert report.verification.jax_recompiled and transform.apply._cache_size() >= 2


def test_the_instance_of_a_jitted_bound_method_is_no_static_argument() -> None:
    """`jax.jit(MODEL.apply)` carries `self`; JAX keys no static argument on it."""
    report = trace_target(f"{MODULES}:apply_fn", args_from=f"{MODULES}:apply_args", compile=False)
    assert report.ok, report.error
    assert report.cache_key.static == ()
    widths = next(d for d in report.decisions if "self.widths" in d.source)
    assert {(dep.name, dep.via) for dep in widths.depends_on} == {("self.widths", "global")}
    assert "decided the most: self" not in render(report, "text", width=100)


def test_a_partial_of_a_jitted_function_is_traced_as_the_call_jax_caches() -> None:
    """`partial(deep_net, n_layers=2, activation="relu")` calls deep_net's own jit wrapper
    with those statics: its cache key holds them and its jaxpr is deep_net's, not a jit
    around a nested `jit` call."""
    from tests.targets.shapes import misc

    x, w = jnp.zeros((4, 8)), jnp.zeros((8, 8))
    report = trace_target(f"{MISC}:shallow_relu", traced={"x": x, "w": w}, compile=False)
    assert report.ok, report.error
    assert {s.name: s.value for s in report.cache_key.static} == {
        "n_layers": "2",
        "activation": "'relu'",
    }
    assert {a.name: a.source for a in report.arguments}["n_layers"] == "partial"
    expected = misc.deep_net.trace(x, w, n_layers=2, activation="relu")
    assert report.jaxpr.equations == len(expected.jaxpr.eqns) == 4
    api = jaxexplain.diff(misc.shallow_relu, x, w, vs={"n_layers": 3}, compile=False)
    assert [(c.component, c.path) for c in api.cache_key_changes] == [("static", "n_layers")]
    assert api.verification.checked and api.verification.agrees
    assert api.verification.jax_recompiled


def test_keywords_into_kwargs_are_traced_leaves_and_decide_as_traced_arguments() -> None:
    """`mix(*arrays, **weights)` called with pytrees by keyword: each keyword is an argument
    of its own and `weights` is read as the traced structure it is, not as a static."""
    from tests.targets.shapes import misc

    report = trace_target(f"{MISC}:jit_mix", args_from=f"{MISC}:mix_args", compile=False)
    assert report.ok, report.error
    assert [(a.name, a.role, a.kind) for a in report.arguments] == [
        ("arrays", "traced", "var_positional"),
        ("a", "traced", "var_keyword"),
        ("neg_b", "traced", "var_keyword"),
    ]
    branch = next(d for d in report.decisions if d.source == 'name.startswith("neg_")')
    assert branch.outcomes == ("false", "true")
    assert [(dep.name, dep.via) for dep in branch.depends_on] == [("weights", "shape")]
    args, kwargs = misc.mix_args()
    traced = misc.jit_mix.trace(*args, **kwargs)
    assert report.jaxpr.equations == len(traced.jaxpr.eqns)
    assert [leaf.path for leaf in report.cache_key.traced] == [
        "arrays[0]",
        "arrays[1]",
        "a['scale']",
        "a['value']",
        "neg_b['scale']",
        "neg_b['value']",
    ]


def test_positional_values_from_a_factory_are_labelled_as_the_factory_s() -> None:
    report = trace_target(f"{MODEL}:kwonly_jit", args_from=f"{MODEL}:kwonly_args", compile=False)
    assert report.ok, report.error
    assert {a.name: (a.source, a.role) for a in report.arguments} == {
        "x": ("factory", "traced"),
        "n": ("factory", "static"),
    }


def test_a_bound_jitted_method_is_traced_with_its_instance_as_self() -> None:
    instance = model.Model(2.0)
    report = jaxexplain.trace(instance.apply, jnp.ones(3), compile=False)
    assert report.ok, report.error
    self_arg = next(a for a in report.arguments if a.name == "self")
    assert self_arg.role == "static"
    assert report.jaxpr.equations == len(
        jax.make_jaxpr(model.Model.apply.__wrapped__, static_argnums=0)(instance, jnp.ones(3)).eqns
    )


def test_an_unbound_jitted_method_on_the_command_line_asks_for_a_factory() -> None:
    result = CliRunner().invoke(app, ["trace", f"{MODEL}:Model.apply", "--arg", "x=f32[3]"])
    assert result.exit_code == 2
    assert "--args-from" in result.output and "Traceback" not in result.output


def test_a_bound_method_of_a_registered_dataclass_traces_self_as_a_pytree() -> None:
    mlp = model.Mlp(jnp.eye(3), 2)
    report = jaxexplain.trace(mlp.apply, jnp.ones(3), compile=False)
    assert report.ok, report.error
    assert report.jaxpr.equations == len(model.Mlp.apply.trace(mlp, jnp.ones(3)).jaxpr.eqns)
    assert [leaf.path for leaf in report.cache_key.traced] == ["self.w", "x"]


def test_a_jit_of_a_partial_with_a_keyword_static_matches_jax() -> None:
    report = jaxexplain.trace(model.jit_partial, jnp.ones(3), compile=False)
    assert report.ok, report.error
    assert report.jaxpr.equations == len(model.jit_partial.trace(jnp.ones(3)).jaxpr.eqns)
