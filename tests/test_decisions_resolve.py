"""What a decision depends on (decisions/resolve.py): each name a condition reads, followed through
locals, closures, defaults, helpers' calls (through JAX's transformations too) and loop carries,
back to the root's static or traced arguments, a global or a constant, on real JAX traces."""

from __future__ import annotations

import functools
import types

import jax
import pytest

import jaxexplain
from jaxexplain.api import trace_target
from jaxexplain.decisions import resolve
from jaxexplain.decisions.recorder import DecisionRecorder
from tests.recording import PARAMS, W, X, dependencies, record, roles_of, summary, user_module
from tests.targets.decisions import closures, reads
from tests.targets.libs import library_decisions as lib

OPTIM = "tests.targets.training.optim_classes"
TRANSFORM = "tests.targets.models.transform"
FLOWS = "tests.targets.science.flows"


@pytest.fixture
def targets() -> object:
    return user_module("decisions_targets")


@pytest.fixture
def transforms() -> object:
    return user_module("decisions_transforms")


def test_every_test_of_an_elif_chain_and_its_ternaries_depends_on_the_static(targets):
    found = dependencies(record(targets.branches, X, n=2).decisions())
    assert set(map(tuple, found.values())) == {(("n", "static"),)}


def test_loop_counts_depend_on_what_their_iterable_reads(targets):
    found = dependencies(record(targets.loops, X, n=3).decisions())
    assert found["empty"] == [("n", "static")]
    assert found["break"] == [("<constant>", "constant")]
    assert found["alternating"] == [("<constant>", "constant")]
    assert found["while"] == [("n", "static")]


def test_a_match_depends_on_its_subject_and_its_guards(targets):
    decisions = record(targets.matching, X, mode=("scale", 5), limit=3).decisions()
    assert dependencies(decisions)["match"] == [("mode", "static"), ("limit", "static")]


def test_a_generator_expression_counts_the_lists_it_reads_not_their_elements(targets):
    found = dependencies(record(targets.comprehensions, X, n=3).decisions())
    assert found["genexpr"] == [("n", "static")]


def test_an_assert_on_the_rank_depends_on_the_rank(targets):
    assert dependencies(record(targets.asserting, X, n=3).decisions())["assert"] == [("x", "ndim")]


def test_a_part_drawn_from_written_out_items_depends_on_that_part_alone(targets):
    """`kind` is the first item of each site written in the dict display: a constant of the
    code, not x's shape (JAX keeps the same sums for another shape of x); `v.sum()`'s items
    are x's, and the loop's length is the display's."""
    other = jax.ShapeDtypeStruct((3, 5), "float32")
    runs = [record(targets.site_sums, shape).decisions() for shape in (X, other)]
    for decisions in runs:
        found = dependencies(decisions)
        assert found["genexp_if"] == found["listcomp_if"] == [("<constant>", "constant")]
    assert [d.outcomes for d in runs[0]] == [d.outcomes for d in runs[1]]
    sums = [
        [e.primitive.name for e in jax.make_jaxpr(targets.site_sums)(shape).eqns]
        for shape in (X, other)
    ]
    assert sums[0].count("reduce_sum") == sums[1].count("reduce_sum") == 4


def test_dependencies_through_locals_dtype_globals_defaults_and_literals(targets):
    decisions = record(targets.dependencies, X, n=3).decisions()
    assert summary(decisions) == [
        ("shape_local", "if", ("true",)),
        ("dtype", "if", ("true",)),
        ("global", "if", ("false",)),
        ("default", "if", ("true",)),
        ("static", "if", ("false",)),
        ("constant", "if", ("true",)),
    ]
    assert dependencies(decisions) == {
        "shape_local": [("x", "shape")],
        "dtype": [("x", "dtype")],
        "global": [("DEBUG", "global")],
        "default": [("scale", "static")],
        "static": [("n", "static")],
        "constant": [("<constant>", "constant")],
    }


def test_helpers_in_another_file_depend_on_the_root_parameters(targets):
    decisions = record(targets.with_helpers, X, n=2, kind="wide").decisions()
    assert summary(decisions) == [
        ("h_loop", "for", (2,)),
        ("h_rows", "if", ("true", "true")),
        ("h_wide", "if", ("true", "true")),
    ]
    assert dependencies(decisions) == {
        "h_loop": [("n", "static")],
        "h_rows": [("x", "shape")],
        "h_wide": [("kind", "static")],
    }


def test_method_decisions_name_self_attributes(targets):
    decisions = record(targets.with_method, X, n=2).decisions()
    assert summary(decisions) == [("method_loop", "for", (2,)), ("method_attr", "if", ("true",))]
    # `self` is Stack(n) with n static.
    assert dependencies(decisions) == {
        "method_loop": [("self.n_layers", "static")],
        "method_attr": [("self.width", "static")],
    }


def test_a_function_called_by_jax_resolves_closure_variables(targets):
    decisions = record(targets.with_closure, X, n=3).decisions()
    assert summary(decisions) == [("closure", "ifexp", ("true",))]
    assert dependencies(decisions) == {"closure": [("n", "static")]}


def test_a_generator_follows_its_creation_and_recursion_its_constant_argument(targets):
    found = dependencies(record(targets.unusual_flow, X, n=3).decisions())
    assert found["gen_if"] == [("n", "static")]
    assert found["recursion"] == [("<constant>", "constant")]


def test_a_helper_under_jax_checkpoint_depends_on_the_traced_root_parameter(transforms):
    """The loop over params["layers"] is decided by the traced params' structure (it was
    reported as `params (static)`: the helper's call site was not followed through
    `jax.checkpoint(forward)(params, x)`)."""
    decisions = record(transforms.checkpointed, PARAMS, X).decisions()
    assert summary(decisions) == [("t_forward", "for", (2,))]
    assert dependencies(decisions) == {"t_forward": [("params", "shape")]}


@pytest.mark.parametrize(
    ("function", "static"),
    [
        ("vmapped", {"n": 2}),
        ("remat_vmapped", {"n": 2, "remat": True}),
        ("remat_vmapped", {"n": 2, "remat": False}),
    ],
)
def test_vmap_partial_and_locals_map_a_helper_to_the_root_arguments(transforms, function, static):
    """`jax.vmap(partial(per_example, scale=n), ...)` bound to a local, and a local that holds
    either per_example or its `jax.checkpoint`: the traced params stay traced, the static n
    stays static and keeps the root's name (it was `params (static)`, `scale (static)`)."""
    decisions = record(getattr(transforms, function), PARAMS, X, **static).decisions()
    found = dependencies(decisions)
    assert found.pop("t_remat", [("remat", "static")]) == [("remat", "static")]
    assert found == {
        "t_forward": [("params", "shape")],
        "t_vmap_len": [("params", "shape")],
        "t_vmap_ndim": [("x", "ndim")],
        "t_vmap_scale": [("n", "static")],
    }


def test_scan_loop_and_cond_operands_reach_their_functions_parameters(transforms):
    """lax.scan's carry and rows, fori_loop's and while_loop's state and cond's operands come
    from the root's traced arguments (each was `carry`/`state`/`p (static)`)."""
    scanned = record(transforms.scanned, PARAMS, X).decisions()
    assert summary(scanned) == [
        ("t_scan_carry", "for", (2,)),
        ("t_scan_row", "if", ("true",)),
    ]
    assert dependencies(scanned) == {
        "t_scan_carry": [("params", "shape")],
        "t_scan_row": [("xs", "dtype")],
    }
    vector = jax.ShapeDtypeStruct((8,), "float32")
    looped = record(transforms.looped, PARAMS, vector).decisions()
    assert summary(looped) == [
        ("t_fori", "comprehension", (2,)),
        ("t_while", "comprehension", (2,)),
        ("t_while_body", "comprehension", (2,)),
        ("t_cond_true", "comprehension", (2,)),
    ]
    assert set(map(tuple, dependencies(looped).values())) == {(("params", "shape"),)}


def test_a_helper_whose_call_cannot_be_followed_is_never_said_to_be_static(transforms):
    """Called through a dictionary lookup under vmap: each parameter keeps the helper's name
    and is classified by how it is read (all three were `static`)."""
    decisions = record(transforms.through_a_table, PARAMS, X).decisions()
    assert dependencies(decisions) == {
        "t_unknown_loop": [("params", "shape")],
        "t_unknown_dtype": [("x", "dtype")],
        "t_unknown_plain": [("train", "global")],
    }


def test_loops_over_literal_displays_depend_only_on_starred_elements(transforms):
    """`for t in (q, k, v)` runs as many times as the source lists items, whatever q, k and v
    were computed from (they were reported as `x (shape)`, `w (shape)`); zip counts its other
    argument, a starred element its iterable, and a loop over an item its elements."""
    decisions = record(transforms.displays, X, W, [X, X]).decisions()
    assert summary(decisions) == [
        ("d_genexpr", "comprehension", (3,)),
        ("d_list", "for", (2,)),
        ("d_enumerate", "for", (2,)),
        ("d_zip", "for", (2,)),
        ("d_starred", "for", (3,)),
        ("d_elements", "for", (2,)),
        ("d_rows", "for", (4, 8)),
    ]
    constant = [("<constant>", "constant")]
    assert dependencies(decisions) == {
        "d_genexpr": constant,
        "d_list": constant,
        "d_enumerate": constant,
        "d_zip": [("xs", "shape")],
        "d_starred": [("xs", "shape")],
        "d_elements": constant,
        "d_rows": [("x", "shape"), ("w", "shape")],
    }


def test_globals_are_dependencies_unless_they_are_code() -> None:
    """A module global's value is a dependency; a module's function, a builtin and a called
    global are code, which cannot change between calls."""
    with DecisionRecorder(reads.thresholds, roles_of(reads.thresholds, {"n": 1})) as recorder:
        reads.thresholds([1.0, 2.0], n=1)
    by_source = {d.source: [(x.name, x.via) for x in d.depends_on] for d in recorder.decisions()}
    assert by_source == {
        "len(values) > LIMIT": [("values", "shape"), ("LIMIT", "global")],
        "math.floor(math.pi) > n": [("math.pi", "global"), ("n", "static")],
        "scaled(n) > 1": [("n", "static")],
    }


def test_a_bound_methods_self_is_a_value_the_function_carries() -> None:
    """`jax.jit(model.apply)`: jit neither traces nor keys its cache on the bound instance, so
    a test on its attribute is a global's, never a static's."""
    model = reads.Model(depth=2)
    with DecisionRecorder(model.apply, {"x": "traced"}) as recorder:
        model.apply(1.0)
    (decision,) = recorder.decisions()
    assert decision.outcomes == (model.depth,)
    assert [(x.name, x.via) for x in decision.depends_on] == [("self.depth", "global")]


def test_a_closure_made_by_a_factory_depends_on_what_the_factory_held() -> None:
    """`make_policy(config)` returned before the trace: its cells are constants of the trace,
    named by the entry read (also through a local the factory built from its argument), and
    a module global the factory read stays a global."""
    policy = closures.make_policy({"ANNEAL_LR": True})
    with DecisionRecorder(policy, {"x": "traced"}) as recorder:
        policy(1.0)
    by_source = {d.source: [(x.name, x.via) for x in d.depends_on] for d in recorder.decisions()}
    assert by_source == {
        'config["ANNEAL_LR"]': [("config['ANNEAL_LR']", "constant")],
        "anneal": [("config['ANNEAL_LR']", "constant")],
        'config.get("CLIP", False)': [("config", "constant")],
        "x > limit": [("x", "shape"), ("THRESHOLD", "global")],
        "_ in range(steps)": [("width", "constant")],
    }


def test_a_closure_read_inside_a_helper_is_named_by_its_attribute() -> None:
    step = closures.make_stepper(types.SimpleNamespace(lr=0.5))
    with DecisionRecorder(step, {"x": "traced"}) as recorder:
        step(1.0)
    (decision,) = recorder.decisions()
    assert [(x.name, x.via) for x in decision.depends_on] == [("settings.lr", "constant")]


def test_what_a_partial_holds_is_a_constant_and_what_the_call_passes_keeps_its_role() -> None:
    held = functools.partial(closures.scaled, {"scale": 2.0}, center=True)
    with DecisionRecorder(held, {"x": "traced", "center": "default"}) as recorder:
        held(1.0)
    assert [[(x.name, x.via) for x in d.depends_on] for d in recorder.decisions()] == [
        [("config['scale']", "constant")],
        [("center", "constant")],
    ]
    with DecisionRecorder(held, {"x": "traced", "center": "static"}) as recorder:
        held(1.0, center=False)
    assert [d.depends_on[0].via for d in recorder.decisions()] == ["constant", "static"]


@pytest.mark.parametrize("budget", [1, 10**6])
def test_a_spent_resolution_budget_leaves_the_library_test_out(
    monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    """flax Dropout's test on `not train` is listed, whole, within the budget; with no budget
    left it is not listed at all, never with part of what it depends on."""
    monkeypatch.setattr(resolve, "LIBRARY_RESOLUTION_BUDGET", budget)
    params = lib.flax_dropout_params()["params"]
    x = jax.ShapeDtypeStruct((2, 3), "float32")
    report = jaxexplain.trace(
        lib.flax_dropout_step, params, x, static_argnames="train", compile=False, train=True
    )
    listed = [(d.static, d.file) for d in report.library_decisions]
    assert listed == ([] if budget == 1 else [("train", "flax/linen/stochastic.py")])


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


def test_a_static_optimizer_s_attribute_is_named_by_the_argument_passed() -> None:
    """`opt.update(...)` with `opt` a static frozen dataclass: the `self.weight_decay` test in
    the method depends on `opt.weight_decay`, the argument the user passed, not on a `self`
    the report lists nowhere; `p.ndim` is params' ndim, one outcome per leaf as JAX visits them."""
    from tests.targets.training import optim_classes as optim

    report = trace_target(f"{OPTIM}:lion_step", args_from=f"{OPTIM}:lion_args", compile=False)
    assert report.ok, report.error
    (decision,) = report.decisions
    assert [(d.name, d.via) for d in decision.depends_on] == [
        ("opt.weight_decay", "static"),
        ("params", "ndim"),
    ]
    args = optim.lion_args()
    leaves = jax.tree_util.tree_leaves(args["params"])
    assert decision.outcomes == tuple("true" if p.ndim > 1 else "false" for p in leaves)
    assert report.jaxpr.equations == len(optim.lion_step.trace(**args).jaxpr.eqns)


def test_a_decision_on_a_pytree_s_aux_data_depends_on_that_static_value() -> None:
    """`if state.adapt:` where `adapt` is aux data of a registered pytree class: the decision
    depends on `state.adapt` as a static (JAX recompiles when it changes, through the tree
    structure), not on any shape of `state`."""
    from tests.targets.science import flows

    report = trace_target(
        f"{FLOWS}:sampler_update", args_from=f"{FLOWS}:sampler_args", compile=False
    )
    assert report.ok, report.error
    (decision,) = report.decisions
    assert decision.outcomes == ("true",)
    assert [(d.name, d.via) for d in decision.depends_on] == [("state.adapt", "static")]
    args = flows.sampler_args()
    flows.sampler_update.clear_cache()
    flows.sampler_update(**args)
    flows.sampler_update(
        flows.SamplerState(args["state"].position, args["state"].step_size, False), args["grad"]
    )
    assert flows.sampler_update._cache_size() == 2
    assert report.jaxpr.equations == len(flows.sampler_update.trace(**args).jaxpr.eqns)
