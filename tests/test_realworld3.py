"""Third real-world pass (tests/realworld3/): hand-written module systems, transforms, RNNs,
solvers, routers and everyday failures, each fact checked against JAX itself."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import jaxexplain
from jaxexplain.api import diff_target, trace_target
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.renderers import render
from jaxexplain.report import TraceReport
from jaxexplain.tracing import verify

MODULES = "tests.targets.models.modules"
TRANSFORM = "tests.targets.models.transform"
MISC = "tests.targets.shapes.misc"
FAILING = "tests.targets.failures.everyday"
SOLVERS = "tests.targets.science.solvers"


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


def test_a_long_run_of_outcomes_leaves_the_decision_readable() -> None:
    """A branch taken once per layer of a 12-layer model lists 25 outcomes."""
    report = trace_target(f"{MODULES}:deep_apply", args_from=f"{MODULES}:deep_args", compile=False)
    text = render(report, "text", width=120)
    section = text[text.index("Baked-in decisions") : text.index("\nSource")]
    assert "isinstance(layer," in section and "params (shape)" in section
    assert "tests/targets/models/modules.py:74" in section
    fn, plan = prepare_target(f"{MODULES}:deep_apply", {}, {}, f"{MODULES}:deep_args")
    args, kwargs = plan.call_args()
    assert report.jaxpr.equations == len(fn.obj.trace(*args, **kwargs).jaxpr.eqns)


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


def test_a_static_keyword_handed_on_through_kwargs_decides_as_static() -> None:
    """`apply(params, *args, **kwargs)` calls `f(*args, **kwargs)`: the helper's `depth` is the
    static keyword passed into `apply`, not a shape."""
    report = trace_target(
        f"{TRANSFORM}:apply", {"depth": 2}, args_from=f"{TRANSFORM}:depth2_args", compile=False
    )
    assert report.ok, report.error
    loop = next(d for d in report.decisions if d.source == "i in range(depth)")
    assert (loop.outcomes, [(d.name, d.via) for d in loop.depends_on]) == (
        (2,),
        [("depth", "static")],
    )


def test_diff_vs_a_new_keyword_goes_into_kwargs_and_jax_agrees() -> None:
    report = diff_target(
        f"{TRANSFORM}:apply",
        vs={"n_classes": "5"},
        args_from=f"{TRANSFORM}:net_args",
        compile=False,
    )
    assert report.ok, (report.a.error, report.b.error)
    assert [(c.component, c.path, c.b) for c in report.cache_key_changes] == [
        ("static", "n_classes", "5")
    ]
    assert report.verification.checked and report.verification.agrees
    assert report.recompiles


def test_a_traced_scalar_parameter_needed_concretely_is_offered_static_unverified() -> None:
    """`x[:n]` with `n` given as i32[] (no value): `n` itself is the static choice, which
    jaxexplain cannot re-trace without a value, so it says so; JAX confirms n static works."""
    from tests.targets.failures import everyday as failing

    abstract = trace_target(
        f"{FAILING}:take_prefix",
        traced={"x": ArraySpec((8,), "float32"), "n": ArraySpec((), "int32")},
        compile=False,
    )
    assert abstract.error is not None
    assert "no static choice can help" not in abstract.error.explanation
    (static,) = [s for s in abstract.error.suggestions if s.kind == "make_static"]
    assert (static.params, static.verified) == (("n",), False)
    assert 'static={"n": VALUE}' in static.text and "as a Python int" in static.text
    take_prefix = jax.jit(failing.take_prefix.__wrapped__, static_argnames="n")
    assert len(take_prefix.trace(jnp.zeros(8), n=5).jaxpr.eqns) > 0
    x = ArraySpec((8,), "float32")
    assert trace_target(f"{FAILING}:take_prefix", {"n": 5}, {"x": x}, compile=False).ok
    literal = trace_target(f"{FAILING}:take_prefix", traced={"x": x, "n": 5}, compile=False)
    assert literal.error is not None
    (verified,) = [s for s in literal.error.suggestions if s.kind == "make_static"]
    assert verified.verified and 'static={"n": 5} to jaxexplain.trace_target' in verified.text


def test_a_concrete_0d_array_needed_concretely_is_verified_static_as_its_number() -> None:
    """`n = jnp.array(5)` from a factory: static as the Python int 5 (an array is no hashable
    static), re-traced and verified; JAX agrees `x[:5]` traces with n=5 static."""
    report = trace_target(f"{FAILING}:take_prefix", args_from=f"{FAILING}:prefix_args")
    assert report.error is not None
    assert "n is a 0-d array passed traced" in report.error.explanation
    (static,) = [s for s in report.error.suggestions if s.kind == "make_static"]
    assert static.verified and 'static={"n": 5} to jaxexplain.trace_target,' in static.text


def test_a_0d_prng_key_needed_concretely_is_explained_without_a_static_choice() -> None:
    report = trace_target(f"{FAILING}:keyed", args_from=f"{FAILING}:keyed_args", compile=False)
    assert report.error is not None and report.error.type
    assert not [s for s in report.error.suggestions if s.kind == "make_static"]


def test_an_array_needed_concretely_still_has_no_static_choice() -> None:
    """`if x > threshold` with x f32[8]: the 0-d threshold being traced too changes nothing."""
    report = trace_target(
        "samples/conditional.py:conditional_double",
        traced={"x": ArraySpec((8,), "float32"), "threshold": ArraySpec((), "float32")},
        compile=False,
    )
    assert report.error is not None
    assert "array data of x, so no static choice can help" in report.error.explanation
    assert not [s for s in report.error.suggestions if s.kind == "make_static"]


def test_the_users_own_exception_is_shown_as_theirs_not_jaxs() -> None:
    """`raise ValueError("unknown preconditioner 'amg'")` in solvers.py runs while jit traces;
    JAX's own errors alone are labelled JAX's."""
    from tests.targets.science import solvers

    a, b = jnp.zeros((4, 4)), jnp.zeros(4)
    try:
        solvers.cg_fixed.trace(a, b, preconditioner="amg")
    except ValueError as exc:
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        assert tb is not None and tb.tb_frame.f_code.co_filename.endswith("solvers.py")
    report = trace_target(
        f"{SOLVERS}:cg_fixed", {"preconditioner": "amg"}, {"a": a, "b": b}, compile=False
    )
    assert report.error is not None and report.error.raised_by == "user"
    where = f"at tests/targets/science/solvers.py:{report.error.line}: ValueError"
    text = " ".join(render(report, "text", color=False).split())
    assert f"raised by your code {where}: unknown preconditioner 'amg'" in text
    assert "JAX:" not in text
    html = render(report, "html")
    assert f"Raised by your code {where}: unknown preconditioner &#x27;amg&#x27;" in html
    assert TraceReport.from_dict(report.to_dict()) == report
    jax_error = trace_target(
        f"{FAILING}:take_prefix",
        traced={"x": ArraySpec((8,), "float32"), "n": ArraySpec((), "int32")},
        compile=False,
    )
    assert jax_error.error is not None and jax_error.error.raised_by == "jax"
    jax_text = " ".join(render(jax_error, "text", color=False).split())
    assert f"JAX: {' '.join(jax_error.error.message.split()[:4])}" in jax_text
    assert "raised by" not in jax_text


def test_the_decorator_note_names_only_statics_this_call_has() -> None:
    """`jax.jit(net.apply, static_argnames=("n_classes", "depth"))` over `**kwargs`: a call
    that passes neither has no static argument, and no note about them."""
    from tests.targets.models import transform

    neither = trace_target(f"{TRANSFORM}:apply", args_from=f"{TRANSFORM}:net_args", compile=False)
    assert neither.ok, neither.error
    assert [a.role for a in neither.arguments] == ["traced", "traced"]
    assert not [n for n in neither.notes if "decorator" in n]
    (params, images), _ = transform.net_args()
    assert transform.apply.trace(params, images).jaxpr.eqns
    depth = trace_target(
        f"{TRANSFORM}:apply", {"depth": 2}, args_from=f"{TRANSFORM}:depth2_args", compile=False
    )
    assert "static argument depth comes from the target's jax.jit decorator" in depth.notes
