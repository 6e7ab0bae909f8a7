"""Reverse-mode differentiation of a `lax.fori_loop` whose bounds are tracers."""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxexplain.explain.frames import error_info
from jaxexplain.explain.retrace import MAX_RETRACES, Budget, proven_first
from jaxexplain.explain.static_fixes import make_static_suggestions
from jaxexplain.explain.wording import and_join
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import Dependency, ErrorInfo, Suggestion
from jaxexplain.tracing.stages import Target


def explain_loop_grad(
    exc: BaseException, target: Target, plan: CallPlan, vocabulary: Vocabulary
) -> ErrorInfo:
    """`jax.grad` through a `lax.fori_loop` whose bounds are tracers (a while_loop then).

    JAX raises this when it transposes the loop, after the loop's own line has run, so the
    traceback ends at the call of the gradient, not at the loop; the bound is found by
    re-tracing with the traced Python ints made static, which is also the fix.
    """
    base = error_info(exc)
    ints = [
        Dependency(p.name, "value")
        for p in plan.params
        if p.passed
        and not p.static
        and isinstance(p.value, int | np.integer)
        and not isinstance(p.value, bool)
    ]
    suggestions = make_static_suggestions(
        target, plan, ints, None, None, Budget(MAX_RETRACES), vocabulary=vocabulary
    )
    fixed = [name for s in suggestions if s.verified for name in s.params]
    parts = [
        "jax.grad (reverse mode) cannot differentiate a lax.fori_loop whose start or stop is a "
        "tracer: JAX turns it into a lax.while_loop, whose number of iterations is unknown "
        "when the gradient is built."
    ]
    if fixed:
        parts.append(
            f"The bound comes from {and_join(fixed)}, a Python int passed traced: as static it "
            f"fixes the number of iterations."
        )
    advice = Suggestion(
        "advice",
        (),
        "Give the loop static bounds (a Python int or a static argument), or use "
        "lax.scan(f, init, length=n) with a static n; for an unknown count, loop to a static "
        "maximum and mask the steps past the count with jnp.where.",
    )
    return dataclasses.replace(
        base,
        depends_on=tuple(d for d in ints if d.name in fixed),
        suggestions=proven_first([*suggestions, advice]),
        explanation=" ".join(parts),
    )
