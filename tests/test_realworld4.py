"""Fourth real-world pass (tests/realworld4/): optimizers as classes, attention variants,
integrators and training loops, each fact checked against JAX itself."""

from __future__ import annotations

import jax

from jaxexplain.api import trace_target

PKG = "tests.realworld4"
OPTIM = f"{PKG}.optim"


def test_a_static_optimizer_s_attribute_is_named_by_the_argument_passed() -> None:
    """`opt.update(...)` with `opt` a static frozen dataclass: the `self.weight_decay` test in
    the method depends on `opt.weight_decay`, the argument the user passed, not on a `self`
    the report lists nowhere; `p.ndim` is params' ndim, one outcome per leaf as JAX visits them."""
    from tests.realworld4 import optim

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
