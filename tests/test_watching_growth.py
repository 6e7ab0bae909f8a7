"""`watch` names what grows a jit cache without a recompile reason (a function or an
identity-compared static built per step) with the line that builds it, checked against JAX."""

from __future__ import annotations

from jaxexplain.renderers import render
from tests.watching_support import PROGRAMS, run_watched


def line_of(name: str, text: str) -> int:
    lines = (PROGRAMS / name).read_text().splitlines()
    (number,) = [i for i, line in enumerate(lines, 1) if text in line]
    return number


def test_a_lambda_jitted_per_step_is_named_with_its_line_and_verified() -> None:
    report, program = run_watched("jit_in_loop.py")
    (recommendation,) = report.recommendations
    assert recommendation.kind == "jit_once"
    assert (recommendation.file, recommendation.line) == (
        str(PROGRAMS / "jit_in_loop.py"),
        program["update"].__wrapped__.__code__.co_firstlineno,
    )
    assert recommendation.line == line_of("jit_in_loop.py", "update = jax.jit(lambda")
    assert recommendation.verified and recommendation.checks == ("same_key", "same_program")
    assert program["update"]._cache_size() == 1, "each lambda's own cache holds one entry"
    assert "3 new function objects" in recommendation.text and "lambda defined at" in (
        recommendation.text
    )
    assert not [w for w in report.warnings if w.kind == "new_function"], "said once"


def test_closures_over_different_configs_are_not_verified() -> None:
    """purejaxrl's make_train: the two closures trace different programs, so one jit could
    not serve both; the recommendation says so and is not verified."""
    report, _ = run_watched("closure_configs.py")
    recommendations = [r for r in report.recommendations if r.kind == "jit_once"]
    assert [r.verified for r in recommendations] == [False]
    assert recommendations[0].line == line_of("closure_configs.py", "def train(")


def test_an_optax_optimizer_rebuilt_per_step_is_named_at_its_assignment() -> None:
    report, program = run_watched("optax_rebuilt.py")
    (recommendation,) = report.recommendations
    assert recommendation.kind == "build_once" and recommendation.params == ("tx",)
    assert recommendation.line == line_of("optax_rebuilt.py", "tx = optax.sgd(0.1)")
    assert recommendation.verified
    assert program["step"]._cache_size() == program["STEPS"]
    assert "assignment of `tx`" in recommendation.text
    assert not [w for w in report.warnings if w.kind == "identity"], "said once"


def test_a_static_built_inside_the_call_is_named_at_the_call() -> None:
    report, program = run_watched("identity_static.py")
    (recommendation,) = report.recommendations
    assert recommendation.kind == "build_once" and recommendation.verified
    assert recommendation.line == line_of("identity_static.py", "step(w, Config(0.5))")
    assert "passed at the call" in recommendation.text
    assert program["step"]._cache_size() == 3


def test_recommendations_and_layers_are_rendered() -> None:
    report, _ = run_watched("jit_in_loop.py")
    text = render(report, "text", width=200)
    page = render(report, "html")
    for shown in (text, page):
        assert "Recommendations" in shown and "jit once (verified)" in shown
        assert "cache layers" in shown and "compile 3" in shown
