"""Which kind of failure an exception is, told from its class and JAX's message alone."""

from __future__ import annotations

from typing import Literal

import jax

from jaxexplain import _jax_compat

FailureKind = Literal[
    "unhashable_static", "not_an_array", "leaked_tracer", "loop_grad", "concretization"
]


def failure_kind(exc: BaseException) -> FailureKind | None:
    """The kind of JAX failure `exc` is, or None for one that jaxexplain does not recognise
    (its explanation is then the error as it is, or a library's rejection of a value)."""
    message = str(exc)
    if is_concretization(exc):
        return "concretization"
    if isinstance(exc, ValueError) and _jax_compat.NON_HASHABLE_STATIC.search(message):
        return "unhashable_static"
    if isinstance(exc, TypeError) and _jax_compat.NOT_AN_ARRAY.search(message):
        return "not_an_array"
    if isinstance(exc, jax.errors.UnexpectedTracerError):
        return "leaked_tracer"
    if isinstance(exc, ValueError) and _jax_compat.LOOP_GRAD.search(message):
        return "loop_grad"
    return None


def is_concretization(exc: BaseException) -> bool:
    """True for every way tracing fails because Python asked a tracer for a concrete value."""
    concrete_types = (
        jax.errors.ConcretizationTypeError,
        jax.errors.TracerIntegerConversionError,
        jax.errors.TracerArrayConversionError,
        jax.errors.NonConcreteBooleanIndexError,
    )
    if isinstance(exc, concrete_types):
        return True
    message = str(exc)
    return bool(
        (isinstance(exc, ValueError) and _jax_compat.AMBIGUOUS_TRUTH_VALUE.search(message))
        or (
            isinstance(exc, IndexError)
            and _jax_compat.message_match(message, *_jax_compat.SLICE_NOT_STATIC)
        )
        or (isinstance(exc, TypeError) and _jax_compat.SHAPE_NOT_CONCRETE.search(message))
        or (isinstance(exc, ValueError) and _jax_compat.TRACER_AS_STATIC.search(message))
        or (
            isinstance(exc, TypeError) and _jax_compat.TRACER_AS_PRIMITIVE_PARAMETER.search(message)
        )
    )
