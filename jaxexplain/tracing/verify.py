"""Checks a diff's verdict against JAX: one jit wrapper, called on zeros of side A, then of side B.

JAX's AOT path (`trace`/`lower`/`compile`), which the reports come from, never touches the jit
wrapper's dispatch cache; a real call does. The number of cache entries after A and after B
says whether JAX compiled again, whatever jaxexplain predicted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxexplain import _jax_compat
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.inputs.specs import format_aval
from jaxexplain.renderers.words import human_bytes
from jaxexplain.report import Verification
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.stages import Target

DEFAULT_LIMIT = 256 * 2**20


class NotReproducible(Exception):
    """A traced input that zeros cannot stand for with the same cache key."""


def verify(
    target: Target,
    plan_a: CallPlan,
    plan_b: CallPlan,
    predicted: bool,
    *,
    limit: int = DEFAULT_LIMIT,
) -> Verification:
    """Calls the jitted target on zero-filled inputs of A, then B, and reads its cache size.

    Args:
        target: the function, as the reports traced it.
        plan_a: side A's call.
        plan_b: side B's call (same calling convention).
        predicted: whether the cache keys say JAX compiles again for B.
        limit: the most bytes of inputs one side may allocate; above it nothing is called.

    Returns:
        What JAX did and whether it agrees with `predicted`, or why it was not checked.
    """
    statics_a, statics_b = set(plan_a.static_names), set(plan_b.static_names)
    if not (statics_a <= statics_b or statics_b <= statics_a):
        return Verification(False, "not checked: the two sides make different arguments static")
    jitted = _called_for_verification(target, plan_b if statics_a <= statics_b else plan_a)
    needed = max(input_bytes(plan_a), input_bytes(plan_b))
    if needed > limit:
        return Verification(
            False,
            f"not checked: one side's inputs need {human_bytes(needed)}, over the "
            f"--verify-limit of {human_bytes(limit)}",
            input_bytes=needed,
        )
    try:
        calls = _cache_sizes(jitted, plan_a, plan_b)
    except NotReproducible as exc:
        return Verification(False, f"not checked: {exc}", input_bytes=needed)
    except Exception as exc:
        return Verification(
            False,
            f"not checked: calling the function on zeros raised {type(exc).__name__}: "
            f"{_first_line(exc)}",
            input_bytes=needed,
        )
    size_a, size_b = calls.size_a, calls.size_b
    if size_a == 0:
        return Verification(
            False,
            "not checked: JAX kept no dispatch-cache entry for this function "
            "(it runs through JAX's slow path), so its cache size cannot tell",
            size_a,
            size_b,
            input_bytes=needed,
        )
    recompiled = size_b > size_a
    return Verification(
        checked=True,
        note=f"called {_called_what(target)} on zeros: cache size {size_a} after A, {size_b} "
        f"after B{calls.failure_note()}",
        cache_size_a=size_a,
        cache_size_b=size_b,
        jax_recompiled=recompiled,
        agrees=recompiled == predicted,
        input_bytes=needed,
    )


@dataclass
class CacheSizes:
    """JAX's dispatch-cache size after side A's call and after side B's, and what each raised.

    A call that raises at run time (`eqx.error_if`, a callback that raises) still answers: JAX's
    C++ dispatch cache makes its entry for the call's signature before tracing, compiling and
    running, and keeps it when the call fails, so the size counts the keys JAX has seen.
    """

    size_a: int
    size_b: int
    raised: dict[str, str] = field(default_factory=dict)

    def failure_note(self) -> str:
        """' (both calls raised at run time ...: why)' for the sides whose call raised, else ''."""
        if not self.raised:
            return ""
        calls = (
            "both calls" if len(self.raised) == 2 else f"the call of side {next(iter(self.raised))}"
        )
        reasons = "; ".join(dict.fromkeys(self.raised.values()))
        return f" ({calls} raised at run time, after JAX had made the cache entry: {reasons})"


def _called_for_verification(target: Target, plan: CallPlan) -> Any:
    """What the verification calls: the user's own equinox.filter_jit wrapper (equinox splits
    the arguments itself and its cache is the truth), else the jit the target calls for."""
    if target.library == wrappers.FILTER_JIT:
        return target.obj
    return target.jitted_for(plan)


def _called_what(target: Target) -> str:
    """The function the verification called, as the note names it."""
    if target.library == wrappers.FILTER_JIT:
        return "your equinox.filter_jit function (equinox's own cache)"
    if target.library == wrappers.NNX_JIT:
        return "the flax.nnx.jit function (the cache of nnx's inner jax.jit)"
    return "the jitted function"


def _cache_sizes(jitted: Any, plan_a: CallPlan, plan_b: CallPlan) -> CacheSizes:
    """Cache sizes after a call with A's zeros and then B's, starting from an empty cache."""
    as_user_gave = wrappers.library_wrapper(jitted) == wrappers.FILTER_JIT
    args_a = zero_call(plan_a, as_user_gave)
    args_b = zero_call(plan_b, as_user_gave)
    cache = wrappers.dispatch_cache_of(jitted)
    raised: dict[str, str] = {}
    _jax_compat.clear_cache(cache)
    try:
        with _captured_callback_errors() as logged:
            _call_keeping_runtime_error(jitted, args_a, "A", raised, logged)
            size_a = _jax_compat.cache_size(cache)
            _call_keeping_runtime_error(jitted, args_b, "B", raised, logged)
            size_b = _jax_compat.cache_size(cache)
    finally:
        _jax_compat.clear_cache(cache)
    return CacheSizes(size_a, size_b, raised)


def _call_keeping_runtime_error(
    jitted: Any,
    call: tuple[tuple[Any, ...], dict[str, Any]],
    side: str,
    raised: dict[str, str],
    logged: list[BaseException],
) -> None:
    """Calls the function; a run-time error (zeros rejected by a check) is noted in `raised`.

    Any other exception propagates: only an error of the running program leaves the cache
    entry that JAX made for the call as the answer.
    """
    logged.clear()
    try:
        _call(jitted, call)
    except jax.errors.JaxRuntimeError as exc:
        raised[side] = _runtime_error_text(exc, logged)


def _runtime_error_text(exc: BaseException, logged: list[BaseException]) -> str:
    """The callback's own exception when JAX logged one (its message is the useful part;
    XLA's wraps it in 'CpuCallback error'), else the first line of JAX's error."""
    cause = logged[-1] if logged else exc
    return f"{type(cause).__name__.lstrip('_')}: {_first_line(cause)}"


@contextmanager
def _captured_callback_errors() -> Iterator[list[BaseException]]:
    """Keeps the tracebacks JAX logs when a callback raises off the user's terminal.

    `jax.pure_callback`/`jax.debug.callback` log the callback's exception with its traceback
    (`logger.exception`) before XLA raises; on zeros that is expected, so those records are
    collected instead and every other record of JAX's loggers goes where it went before.
    """
    jax_logger = logging.getLogger("jax")
    saved_handlers, saved_propagate = jax_logger.handlers, jax_logger.propagate
    collector = _CallbackErrorCollector(saved_handlers, saved_propagate, jax_logger)
    jax_logger.handlers, jax_logger.propagate = [collector], False
    try:
        yield collector.errors
    finally:
        jax_logger.handlers, jax_logger.propagate = saved_handlers, saved_propagate


class _CallbackErrorCollector(logging.Handler):
    """Collects records that carry an exception; hands all others to the usual handlers."""

    def __init__(self, handlers: list[logging.Handler], propagate: bool, owner: logging.Logger):
        super().__init__()
        self.errors: list[BaseException] = []
        self._handlers = list(handlers)
        self._propagate = propagate
        self._owner = owner

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])
            return
        for handler in self._handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        if self._propagate and self._owner.parent is not None:
            self._owner.parent.handle(record)


def _call(jitted: Any, call: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    args, kwargs = call
    jax.block_until_ready(jitted(*args, **kwargs))


def zero_call(plan: CallPlan, as_user_gave: bool) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The plan's positional and keyword arguments with every traced leaf replaced by zeros.

    Args:
        plan: a call plan whose traced values are specs, `ShapeDtypeStruct`s or arrays.
        as_user_gave: join split parameters again, for calling the library's own wrapper.

    Returns:
        `(args, kwargs)` that key JAX's cache exactly as the plan does: weak-typed scalars as
        Python scalars, committed arrays on their device; raises `NotReproducible` otherwise.
    """
    values = {p.name: zeros_like_tree(p.value) for p in plan.params if p.passed and not p.static}
    if as_user_gave:
        values = {name: wrappers.user_value(value) for name, value in values.items()}
    return plan.with_values(values).call_args()


def zeros_like_tree(tree: Any) -> Any:
    """Every leaf of a traced argument replaced by a zero value of the same abstract value."""
    return jax.tree_util.tree_map(zero_leaf, tree)


def zero_leaf(leaf: Any) -> Any:
    """A zero with the leaf's shape, dtype, weak type and (where committed) sharding."""
    if isinstance(leaf, (bool, np.bool_)):
        return type(leaf)(False)
    if isinstance(leaf, (int, float, complex)):
        return type(leaf)(0)
    if isinstance(leaf, np.ndarray):
        return np.zeros(leaf.shape, leaf.dtype)
    if isinstance(leaf, np.generic):
        return leaf.dtype.type(0)
    if isinstance(leaf, (jax.Array, jax.ShapeDtypeStruct)):
        return _zero_array(leaf)
    raise NotReproducible(f"cannot build a zero input for a leaf of type {type(leaf).__name__}")


def _zero_array(leaf: Any) -> Any:
    # The dtype stays JAX's: PRNG key arrays (`jax.random.key`) have an extended dtype such as
    # key<fry> that NumPy cannot read, and `jnp.zeros` makes zero keys of it directly.
    shape, dtype = tuple(leaf.shape), leaf.dtype
    weak = bool(getattr(leaf, "weak_type", False))
    value = _weak_zero(shape, np.dtype(dtype)) if weak else jnp.zeros(shape, dtype)
    sharding = _committed_sharding(leaf)
    if sharding is not None:
        value = jax.device_put(value, sharding)
    return value


def _weak_zero(shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """JAX makes weak types only from Python scalars (a float, a complex, an int), broadcast to
    the shape: a weak-typed jax.Array, as `jnp.asarray(1)` gives (JAX keys it apart from the
    Python scalar itself, which a Python leaf keeps)."""
    python_zero = {"f": 0.0, "c": 0j, "i": 0}.get(dtype.kind)
    if python_zero is None:
        raise NotReproducible(f"cannot build a weak-typed {dtype} input")
    value = jnp.broadcast_to(python_zero, shape)
    aval = _jax_compat.typeof(value)
    if np.dtype(aval.dtype) != dtype or not aval.weak_type:
        raise NotReproducible(
            f"a Python {type(python_zero).__name__} traces as "
            f"{format_aval(tuple(aval.shape), str(aval.dtype), bool(aval.weak_type))}, "
            f"not as the weak-typed {dtype} the report has (is jax_enable_x64 different?)"
        )
    return value


def _committed_sharding(leaf: Any) -> Any:
    if isinstance(leaf, jax.Array):
        return leaf.sharding if _jax_compat.is_committed(leaf) else None
    return getattr(leaf, "sharding", None)


def input_bytes(plan: CallPlan) -> int:
    """Bytes that zero-filled traced inputs of the plan would take."""
    total = 0
    for p in plan.params:
        if not p.passed or p.static:
            continue
        for leaf in jax.tree_util.tree_leaves(p.value):
            shape = getattr(leaf, "shape", ())
            dtype = getattr(leaf, "dtype", None)
            itemsize = getattr(dtype, "itemsize", 8)  # key<fry> has one; np.dtype() fails
            total += math.prod(shape) * itemsize
    return total


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
