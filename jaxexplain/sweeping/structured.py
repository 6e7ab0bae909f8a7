"""The structured form of a loop that unrolls with the swept value: its `lax.fori_loop` rewrite
(from `explain.rewrites`), offered only once it traced at the sweep's first and last points
with the same equation count at both (it no longer grows) and returned the values of the
user's loop, run eagerly, on random inputs.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

import jax
import numpy as np

from jaxexplain import _jax_compat
from jaxexplain.explain import constructs, rewrites
from jaxexplain.explain.frames import function_object
from jaxexplain.explain.retrace import TRACED
from jaxexplain.explain.rewrite_checks import (
    VALUES,
    alias_values,
    clone_function,
    random_arguments,
    same_values,
    substituted,
)
from jaxexplain.explain.rewrite_fixes import module_aliases
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.renderers.words import (
    rewrite_differs_text,
    rewrite_fails_text,
    rewrite_grows_text,
    rewrite_unchecked_text,
)
from jaxexplain.report import LoopGrowth
from jaxexplain.sweeping.measured import Measured
from jaxexplain.tracing.stages import Target, trace_plan

# The check that the rewrite's equation count is the same at the sweep's first and last points.
NO_GROWTH = "no_growth"
SEED = 0


def with_rewrite(loop: LoopGrowth, measured: Measured) -> LoopGrowth:
    """The loop with its structured rewrite and how far its checks got; unchanged where no
    rewrite fits (a loop outside the target's own function, over no `range`, that breaks)."""
    owner = function_object(measured.target.function)
    code = getattr(owner, "__code__", None)
    if loop.line == 0 or code is None or code.co_filename != loop.file:
        return loop
    found = _rewrite_of(owner, loop.line)
    if found is None:
        return loop
    rewrite, aliases = found
    loop = replace(
        loop,
        rewrite=rewrite.code,
        rewrite_kind=rewrite.kind,
        first_line=rewrite.first_line,
        last_line=rewrite.last_line,
    )
    plans = [plan for plan, p in zip(measured.plans, measured.points, strict=True) if p.ok]
    return _checked(loop, measured.target, owner, rewrite, aliases, [plans[0], plans[-1]])


def _rewrite_of(owner: Any, line: int) -> tuple[rewrites.Rewrite, rewrites.Aliases] | None:
    """The `lax.fori_loop` rewrite of the `for` loop at `line` of `owner`, if one fits."""
    fn = constructs.user_function(owner.__code__)
    if fn is None:
        return None
    node = next((n for n in ast.walk(fn.node) if isinstance(n, ast.For) and n.lineno == line), None)
    if node is None:
        return None
    aliases = module_aliases(owner.__globals__)
    found = rewrites.rewrite_for(fn, constructs.Construct("for_range", node, ()), aliases)
    return (found[0], aliases) if found else None


def _checked(
    loop: LoopGrowth,
    target: Target,
    owner: Any,
    rewrite: rewrites.Rewrite,
    aliases: rewrites.Aliases,
    plans: list[CallPlan],
) -> LoopGrowth:
    """The loop with the checks its rewrite passed: traced, equations that stay the same from
    the first to the last point, the original's values at both."""
    try:
        code = rewrites.compile_function(rewrite.function, loop.file, owner.__code__.co_freevars)
        replacement = clone_function(owner, code, alias_values(aliases, owner.__globals__))
    except (SyntaxError, ValueError, TypeError) as exc:
        return replace(loop, rejected=rewrite_fails_text(str(exc)))
    expected = [_original_output(target, plan) for plan in plans]
    with substituted(target, owner, replacement, []) as new_target:
        try:
            counts = tuple(_equations(new_target, plan) for plan in plans)
            actual = [_rewrite_output(new_target, made) for made in expected]
        except Exception as exc:
            return replace(loop, rejected=rewrite_fails_text(f"{type(exc).__name__}: {exc}"))
    loop = replace(loop, rewrite_equations=counts, checks=(TRACED,))
    if len(set(counts)) != 1:
        return replace(loop, rejected=rewrite_grows_text(counts))
    loop = replace(loop, checks=(TRACED, NO_GROWTH))
    if not all(expected):
        return replace(loop, rejected=rewrite_unchecked_text())
    if not all(same_values(e[1], a) for e, a in zip(expected, actual, strict=True) if e):
        return replace(loop, rejected=rewrite_differs_text())
    return replace(loop, checks=(TRACED, NO_GROWTH, VALUES), verified=True)


def _equations(target: Target, plan: CallPlan) -> int:
    return len(_jax_compat.inner_jaxpr(trace_plan(target, plan).traced).eqns)


def _original_output(target: Target, plan: CallPlan) -> tuple[CallPlan, Any] | None:
    """Random concrete inputs shaped as the plan's, and the user's original code's output on
    them, run eagerly; None where either cannot be made."""
    values = random_arguments(plan, np.random.default_rng(SEED))
    if values is None:
        return None
    concrete = plan.with_values(values)
    args, kwargs = concrete.call_args()
    try:
        with jax.disable_jit():
            return concrete, target.as_traced(*args, **kwargs)
    except Exception:
        return None


def _rewrite_output(target: Target, made: tuple[CallPlan, Any] | None) -> Any:
    """The rewrite's output, jitted, on the inputs the original ran on (None where it did not)."""
    if made is None:
        return None
    concrete = made[0]
    args, kwargs = concrete.call_args()
    return target.jitted_for(concrete)(*args, **kwargs)
