"""make_traced: a static number that only changes constants is offered traced, checked by JAX's
cache size and by the results; one that changes the program's structure must stay static."""

from __future__ import annotations

import json
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from typer.testing import CliRunner

import jaxexplain
from jaxexplain.api import function_plan, static_names
from jaxexplain.cli import app
from jaxexplain.diffing import make_traced
from jaxexplain.renderers import render
from jaxexplain.renderers.words import structure_text
from jaxexplain.report import DiffReport


def sgd_step(w: jax.Array, lr: float) -> jax.Array:
    return w - lr * jnp.tanh(w) * 2.0


def unrolled(x: jax.Array, n: int) -> jax.Array:
    for _ in range(n):
        x = jnp.sin(x)
    return x


def padded(x: jax.Array, n: int) -> jax.Array:
    return jnp.concatenate([x, jnp.zeros(n)])


def _diff(fn: object, name: str, a: object, b: object) -> DiffReport:
    return jaxexplain.diff(fn, jnp.arange(4.0), **{name: a}, vs={name: b}, static_argnames=name)


def test_a_static_learning_rate_is_offered_traced_and_jax_agrees() -> None:
    report = _diff(sgd_step, "lr", 0.1, 0.2)
    (suggestion,) = report.suggestions
    assert suggestion.kind == "make_traced"
    assert suggestion.verified
    assert suggestion.checks == ("traced", "one_entry", "values")
    assert suggestion.params == ("lr",)
    assert report.recompiles  # the static version does compile once per value
    traced = jax.jit(sgd_step)
    w = jnp.linspace(-1.0, 1.0, 4)
    results = {lr: traced(w, lr=lr) for lr in (0.1, 0.2)}
    assert traced._cache_size() == 1  # read first: jit wrappers of one function share a cache
    for lr, result in results.items():
        expected = jax.jit(sgd_step, static_argnames="lr")(w, lr=lr)
        np.testing.assert_allclose(result, expected, rtol=1e-6)


def test_a_static_loop_count_must_stay_static() -> None:
    report = _diff(unrolled, "n", 3, 5)
    assert [s.kind for s in report.suggestions] == ["advice"]
    count = {
        n: len(jax.make_jaxpr(unrolled, static_argnums=1)(jnp.ones(4), n).eqns) for n in (3, 5)
    }
    assert f"equations: {count[3]} vs {count[5]}" in report.suggestions[0].text
    assert "must stay static" in report.suggestions[0].text


def test_a_static_that_only_changes_a_shape_must_stay_static() -> None:
    report = _diff(padded, "n", 2, 3)
    (suggestion,) = report.suggestions
    assert suggestion.kind == "advice"
    shapes = [jax.eval_shape(partial(padded, n=n), jnp.ones(4)).shape for n in (2, 3)]
    assert shapes[0] != shapes[1]
    assert "shape" in suggestion.text


def test_rendered_in_text_and_html() -> None:
    report = _diff(sgd_step, "lr", 0.1, 0.2)
    text = render(report, "text", width=200)
    assert "only changes constants" in text and "one_entry" in text
    page = render(report, "html")
    assert 'id="fixes"' in page and "make_traced" in page


def _candidate(traced: object) -> make_traced.Candidate:
    target, plan = function_plan(sgd_step, (jnp.arange(4.0),), static_names("lr"), {"lr": 0.1})
    honest = make_traced.static_candidate(target, plan, plan.with_values({"lr": 0.2}), "lr")
    outcome = make_traced.check(honest)
    assert outcome.verified  # the honest rewrite of the same function passes
    return make_traced.Candidate("lr", 0.1, 0.2, honest.baked, traced)  # type: ignore[arg-type]


def test_a_rewrite_whose_results_differ_is_rejected() -> None:
    def wrong(lr: float, arguments: dict[str, jax.Array]) -> jax.Array:
        return arguments["w"] - lr * jnp.tanh(arguments["w"])  # the original doubles the step

    outcome = make_traced.check(_candidate(wrong))
    assert outcome.checks == ("traced", "one_entry")
    assert not outcome.verified
    assert make_traced.suggestion_of(outcome) is None
    assert "results differ" in make_traced.rejected_text(outcome)


def test_a_rewrite_that_compiles_per_value_is_rejected() -> None:
    def per_value(lr: float, arguments: dict[str, jax.Array]) -> jax.Array:
        return sgd_step(arguments["w"], float(lr))  # concrete: fails when traced

    outcome = make_traced.check(_candidate(per_value))
    assert outcome.checks == ()
    assert outcome.error.startswith("ConcretizationTypeError")
    assert "traced, it fails: ConcretizationTypeError" in make_traced.rejected_text(outcome)


def test_structure_ignores_literals_but_not_parameters() -> None:
    def power(x: jax.Array, p: float) -> jax.Array:
        return x**p

    jaxprs = [jax.make_jaxpr(power, static_argnums=1)(jnp.ones(3), p) for p in (2.5, 3.5)]
    assert make_traced.structure_difference(*jaxprs) is None
    integer = [jax.make_jaxpr(power, static_argnums=1)(jnp.ones(3), p) for p in (2, 3)]
    (equation,) = integer[0].eqns
    assert equation.params["y"] == 2
    found = make_traced.structure_difference(*integer)
    assert found == make_traced.StructureDifference(
        "parameter", "2", "3", make_traced.Place(1, str(equation.primitive)), (), "y"
    )
    assert structure_text(found) == f"equation 1 ({equation.primitive}) y=2 vs 3"


def scanned(x: jax.Array, n: int) -> jax.Array:
    def body(carry: jax.Array, _: None) -> tuple[jax.Array, None]:
        return carry * jnp.ones(n).sum(), None

    return jax.lax.scan(body, x, None, length=3)[0]


def test_a_difference_inside_a_loop_body_says_where_it_is() -> None:
    jaxprs = [jax.make_jaxpr(scanned, static_argnums=1)(jnp.ones(2), n) for n in (2, 4)]
    (scan,) = jaxprs[0].eqns
    broadcast = scan.params["jaxpr"].jaxpr.eqns[0]
    shapes = [j.eqns[0].params["jaxpr"].jaxpr.eqns[0].params["shape"] for j in jaxprs]
    found = make_traced.structure_difference(*jaxprs)
    assert found is not None
    assert found.within == (make_traced.Place(1, str(scan.primitive), "jaxpr"),)
    assert found.at == make_traced.Place(1, str(broadcast.primitive))
    assert structure_text(found) == (
        f"equation 1 ({scan.primitive}) jaxpr: "
        f"equation 1 ({broadcast.primitive}) shape={shapes[0]} vs {shapes[1]}"
    )


def test_the_fix_is_in_the_callers_words() -> None:
    """The command line passes a value traced with --arg, the API by its spec string; a static
    of the function's own jax.jit is fixed there."""
    result = CliRunner().invoke(
        app,
        [
            "diff",
            f"{__file__}:sgd_step",
            "--arg",
            "w=f32[4]",
            "--static",
            "lr=0.1",
            "--vs",
            "lr=0.2",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    (cli,) = DiffReport.from_dict(json.loads(result.stdout)).suggestions
    assert "--arg lr=f32[] in place of --static lr=..." in cli.text
    assert "static_argnums" not in cli.text
    (api,) = _diff(sgd_step, "lr", 0.1, 0.2).suggestions
    assert 'lr="f32[]" in place of static_argnames="lr", lr=...' in api.text
    jitted = jax.jit(sgd_step, static_argnames="lr")
    (own,) = jaxexplain.diff(jitted, jnp.arange(4.0), lr=0.1, vs={"lr": 0.2}).suggestions
    assert own.verified and "static_argnums/static_argnames in its jax.jit" in own.text
    assert str(jax.typeof(jnp.asarray(0.1)).dtype) == "float32"
