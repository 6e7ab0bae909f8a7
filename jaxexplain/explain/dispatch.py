"""Explains a failed trace at the user's own line, with fixes jaxexplain re-traced to prove them.

The explanation names the construct that asked for a concrete value (`if`, `while`, `range`,
`int()`, boolean masks, `.item()`, NumPy...), the user's file, line and source text, and the
parameters the value came from. Each fix is tried before it is offered: "make `n` static" is
re-traced with `n` static; a rewrite of the user's lines (`jnp.where`, `lax.cond`,
`lax.fori_loop`, `lax.while_loop`) is compiled from their own source, re-traced, and run on
random inputs against the original run eagerly (`rewrite_checks`). Only a fix that passed is
`verified`. This module picks the explainer by the kind of failure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.explain.concretization import (
    explain_concretization,
    explain_library_rejection,
    rejected_in_library,
)
from jaxexplain.explain.frames import error_info
from jaxexplain.explain.hashability import explain_unhashable_static
from jaxexplain.explain.kinds import FailureKind, failure_kind
from jaxexplain.explain.leaks import explain_leak
from jaxexplain.explain.loop_grad import explain_loop_grad
from jaxexplain.explain.not_an_array import explain_not_an_array
from jaxexplain.explain.type_checks import explain_type_check, type_check_rejection
from jaxexplain.inputs.caller import CLI, Vocabulary
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import ErrorInfo
from jaxexplain.tracing.stages import Target


def explain_failure(
    exc: BaseException,
    target: Target,
    plan: CallPlan,
    recorder: DecisionRecorder | None = None,
    vocabulary: Vocabulary = CLI,
) -> ErrorInfo:
    """Why `trace_plan(target, plan)` raised `exc`, and the fixes that were re-traced to work.

    Args:
        exc: what tracing raised.
        target: the traced target.
        plan: the call plan it was traced with.
        recorder: what the user's frames did while it traced, which follows a value through
            loop carries (`lax.scan(body, (h, reps), xs)`) to the argument it came from.
        caller: who asked ("cli" or "api"): a fix names its command-line flag or its API
            parameter.

    Returns:
        The error with the user's location, the construct, what the value depended on, an
        explanation, and suggestions (`verified` only for fixes that traced when applied).
    """
    kind = failure_kind(exc)
    if kind is None and not rejected_in_library(exc) and type_check_rejection(exc) is None:
        return error_info(exc)
    explainer = _explainer(kind, recorder, vocabulary)
    try:
        return explainer(exc, target, plan)
    except Exception as failure:
        return dataclasses.replace(
            error_info(exc),
            explanation=f"(jaxexplain could not analyse this failure further: "
            f"{type(failure).__name__}: {failure}; this is a bug in jaxexplain.)",
        )


def _explainer(
    kind: FailureKind | None, recorder: DecisionRecorder | None, vocabulary: Vocabulary
) -> Callable[[BaseException, Target, CallPlan], ErrorInfo]:
    """The explainer of a kind of failure; None is a rejection of a value by a runtime type
    checker or by a library."""
    if kind == "unhashable_static":
        return explain_unhashable_static
    if kind == "not_an_array":
        return lambda exc, target, plan: explain_not_an_array(exc, target, plan, vocabulary)
    if kind == "leaked_tracer":
        return lambda exc, target, _: explain_leak(exc, target)
    if kind == "loop_grad":
        return lambda exc, target, plan: explain_loop_grad(exc, target, plan, vocabulary)
    if kind == "concretization":
        return lambda exc, target, plan: explain_concretization(
            exc, target, plan, recorder, vocabulary
        )
    return lambda exc, target, plan: (
        explain_type_check(exc, target, plan, vocabulary)
        if type_check_rejection(exc) is not None
        else explain_library_rejection(exc, target, plan, vocabulary)
    )
