"""Fourth real-world pass (tests/realworld4/): optimizers as classes, attention variants,
integrators and training loops, each fact checked against JAX itself."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxexplain.api import trace_target
from jaxexplain.inputs.specs import ArraySpec

OPTIM = "tests.targets.training.optim_classes"


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


FAILING = "tests.targets.failures.domains"


def test_a_static_fix_that_needs_a_second_python_number_is_verified_with_both() -> None:
    """`while t < t_end` with `t += dt`: `t_end` static gets past the first test, the next
    needs `dt`; jaxexplain offers both static, verified, and JAX traces it so."""
    from tests.targets.failures import domains as failing

    report = trace_target(
        f"{FAILING}:integrate_until",
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


def test_a_print_of_a_converted_traced_value_becomes_a_verified_jax_debug_print() -> None:
    """`print(f"lr={float(lr):.5f}")` on a traced schedule value: the fix is
    `jax.debug.print('lr={:.5f}', lr)`, verified; the function with that line traces in JAX."""
    import inspect
    import textwrap

    from tests.targets.failures import domains as failing

    tree = {"w": ArraySpec((3,), "float32")}
    report = trace_target(
        f"{FAILING}:sgd_logged",
        {},
        {"params": tree, "grads": tree, "step": ArraySpec((), "int32")},
        compile=False,
    )
    assert report.error is not None and report.error.line == 32
    (fix,) = [s for s in report.error.suggestions if s.kind == "rewrite"]
    assert fix.verified and fix.code.strip() == "jax.debug.print('lr={:.5f}', lr)"
    source = textwrap.dedent(inspect.getsource(failing.sgd_logged.__wrapped__))
    source = source.replace('print(f"lr={float(lr):.5f}")', fix.code.strip())
    namespace = dict(vars(failing))
    exec(compile(source.replace("@jax.jit\n", ""), "<fixed>", "exec"), namespace)
    zeros = {"w": jnp.zeros(3)}
    traced = jax.jit(namespace["sgd_logged"]).trace(zeros, zeros, jnp.int32(5))
    assert "debug_print" in {e.primitive.name for e in traced.jaxpr.eqns}
