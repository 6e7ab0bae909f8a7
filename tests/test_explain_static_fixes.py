"""explain/static_fixes.py: static fixes proven by re-tracing (a group widened by what its
re-trace still needed, a group that gets past one line to fail at another), and their wording
for each caller; the test re-traces with `jax.jit(..., static_argnames=...)`, so JAX says
whether each works."""

from __future__ import annotations

import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxexplain
from jaxexplain.api import trace_target
from jaxexplain.inputs.caller import Caller
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.report import TraceReport
from tests.failing_cases import USER, explain_as
from tests.targets.explain import failing as user
from tests.targets.libs import rewrites as lib_rewrites

EVERYDAY = "tests.targets.failures.everyday"
DOMAINS = "tests.targets.failures.domains"

F8 = jax.ShapeDtypeStruct((8,), np.float32)
I32 = jax.ShapeDtypeStruct((), np.int32)


@pytest.fixture
def control_flow() -> Any:
    sys.path.insert(0, str(USER))
    import failing_control_flow

    return failing_control_flow


def explain(fn: Any, *args: Any, **kwargs: Any) -> TraceReport:
    report = jaxexplain.trace(fn, *args, compile=False, **kwargs)
    assert report.error is not None
    return report


def test_more_scalars_made_static_whose_retrace_fails_is_not_verified() -> None:
    """`t_end` static stops at the `while` for `dt`; both static stop at `if x.sum() > 0`."""
    with pytest.raises(jax.errors.TracerBoolConversionError) as caught:
        jax.jit(lib_rewrites.march, static_argnames=("t_end", "dt")).trace(jnp.ones(3), 1.0, 0.25)
    assert str(caught.traceback[-1].statement).strip() == "if x.sum() > 0:"

    report = explain(lib_rewrites.march, "f32[3]", 1.0, 0.25)
    assert report.error is not None
    statics = [s for s in report.error.suggestions if s.kind == "make_static"]
    assert [s.params for s in statics] == [("t_end", "dt")]
    assert not statics[0].verified and statics[0].checks == ()
    assert "if x.sum() > 0:" in statics[0].text


def test_a_verified_static_fix_names_each_callers_way_and_jax_agrees(control_flow: Any) -> None:
    fn = control_flow.branch_on_scalar
    callers: list[tuple[Caller, str]] = [
        ("cli", "(--static n=3, or jax.jit(..., static_argnames=('n',)))"),
        (
            "api",
            "(static_argnames=('n',) to jaxexplain.trace, or jax.jit(..., static_argnames=('n',)))",
        ),
    ]
    for caller, how in callers:
        error = explain_as(caller, fn, traced={"x": F8, "n": 3})
        (static,) = [s for s in error.suggestions if s.kind == "make_static"]
        assert static.verified and static.checks == ("traced",)
        assert (
            static.text
            == f"Mark `n` static {how}: jaxexplain re-traced with it, and tracing succeeds."
        )
    jax.jit(fn, static_argnames="n").trace(jnp.ones(8), 3)


def test_a_count_given_as_an_array_is_offered_unverified_with_how_to_verify() -> None:
    with pytest.raises(TypeError, match="Shapes must be 1D sequences of concrete values"):
        jax.jit(user.zeros_of).trace(1.0, jnp.int32(3))
    cli = explain_as("cli", user.zeros_of, traced={"x": 1.0, "n": I32})
    api = explain_as("api", user.zeros_of, traced={"x": 1.0, "n": I32})
    (cli_fix,) = [s for s in cli.suggestions if s.kind == "make_static"]
    (api_fix,) = [s for s in api.suggestions if s.kind == "make_static"]
    assert not cli_fix.verified and not api_fix.verified
    head = (
        "Mark `n` static (jax.jit(..., static_argnames=('n',))): not verified, because this call "
    )
    assert cli_fix.text.startswith(head) and api_fix.text.startswith(head)
    assert cli_fix.text.endswith(
        "Pass n as a Python int with --static n=VALUE to let jaxexplain re-trace and verify it."
    )
    assert api_fix.text.endswith(
        "Pass n as a Python int with static_argnames=('n',) to jaxexplain.trace to let "
        "jaxexplain re-trace and verify it."
    )
    assert jax.jit(user.zeros_of, static_argnames="n")(1.0, 3) == 1.0


def test_the_cost_of_a_static_loop_count_is_its_unrolled_body() -> None:
    error = explain_as("cli", user.loops_over, traced={"x": 1.0, "n": 3})
    (static,) = [s for s in error.suggestions if s.kind == "make_static"]
    assert static.cost == (
        "one compilation per distinct value of n, and the loop is unrolled into the jaxpr (one "
        "copy of its body per iteration)"
    )
    unrolled = jax.make_jaxpr(user.loops_over, static_argnums=1)(1.0, 3)
    assert len(unrolled.jaxpr.eqns) == 3


def test_a_traced_scalar_parameter_needed_concretely_is_offered_static_unverified() -> None:
    """`x[:n]` with `n` given as i32[] (no value): `n` itself is the static choice, which
    jaxexplain cannot re-trace without a value, so it says so; JAX confirms n static works."""
    from tests.targets.failures import everyday as failing

    abstract = trace_target(
        f"{EVERYDAY}:take_prefix",
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
    assert trace_target(f"{EVERYDAY}:take_prefix", {"n": 5}, {"x": x}, compile=False).ok
    literal = trace_target(f"{EVERYDAY}:take_prefix", traced={"x": x, "n": 5}, compile=False)
    assert literal.error is not None
    (verified,) = [s for s in literal.error.suggestions if s.kind == "make_static"]
    assert verified.verified and 'static={"n": 5} to jaxexplain.trace_target' in verified.text


def test_a_static_fix_that_needs_a_second_python_number_is_verified_with_both() -> None:
    """`while t < t_end` with `t += dt`: `t_end` static gets past the first test, the next
    needs `dt`; jaxexplain offers both static, verified, and JAX traces it so."""
    from tests.targets.failures import domains as failing

    report = trace_target(
        f"{DOMAINS}:integrate_until",
        {},
        {"x": ArraySpec((4,), "float32"), "v": ArraySpec((4,), "float32"), "dt": 0.1, "t_end": 1.0},
        compile=False,
    )
    assert report.error is not None and report.error.line == 44
    (fix,) = [s for s in report.error.suggestions if s.kind == "make_static"]
    assert fix.verified and set(fix.params) == {"t_end", "dt"}
    assert "static_argnames=('t_end', 'dt'))" in fix.text
    zeros = jnp.zeros(4)
    fixed = jax.jit(failing.integrate_until.__wrapped__, static_argnames=fix.params)
    assert len(fixed.trace(zeros, zeros, dt=0.1, t_end=1.0).jaxpr.eqns) > 0
