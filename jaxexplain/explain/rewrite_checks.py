"""Checks that a rewrite of the user's code is right: it compiles and traces, and on random
inputs it gives the values and gradients of the user's original, run eagerly.

The original function runs outside jit on concrete random inputs, where a Python `if` on a
one-element array works. An `if` on a larger array cannot run eagerly (its truth value is
ambiguous), so for a `jnp.where` rewrite the reference is built per element: a copy of the
original whose tests are forced (each branch taken in turn, on the whole input) records every
test's concrete value, and element i of the reference comes from the branch element i's test
selects. A test evaluated more than once per call has no single per-element answer, so such a
rewrite stays unverified.
"""

from __future__ import annotations

import ast
import dataclasses
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from jaxexplain import _jax_compat
from jaxexplain.explain import rewrites
from jaxexplain.explain.frames import Site, function_object
from jaxexplain.explain.retrace import TRACED, attempt, short_error
from jaxexplain.explain.rewrites import Aliases, Rewrite
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.tracing.stages import Target

# Random inputs per comparison: float data drawn normal, then all negative, all positive, and
# zero, so that a test on the sign of a value (`x > 0`) takes both branches, and a boundary
# (`sqrt` or a division at 0) is reached; integers and booleans are random each time.
TRIALS = ("normal", "negative", "positive", "zero")
MAX_JACOBIAN_INPUTS = 512
MAX_EAGER_LINES = 100_000
MAX_COMPARED_ELEMENTS = 1_000_000

# The checks a rewrite passes (TRACED is retrace's: a static fix passes it too).
VALUES = "values"
GRADIENTS = "gradients"
# A Python conversion (`.item()`, `float()`) makes a constant outside jit, so the original's
# gradient stops there; the rewrite keeps the value in JAX, and its gradient flows on. Said, not
# hidden, and not counted as a passed gradient check.
GRADIENTS_DETACHED = (
    "gradients differ: your conversion to a Python number makes a constant, so no gradient flows "
    "through it, while the rewrite's value is differentiated (wrap it in jax.lax.stop_gradient to "
    "keep your gradients)"
)

# How far a rewrite got.
VERIFIED = "verified"
TRACES = "traces"
FAILS = "fails"


@dataclass(frozen=True)
class RewriteCheck:
    """How far a rewrite got: VERIFIED (traced and matched), TRACES (traced, not compared), FAILS.

    `checks` are those it passed (TRACED, VALUES, GRADIENTS), `trials` the random inputs it was
    compared on.
    """

    status: str
    detail: str = ""
    checks: tuple[str, ...] = ()
    trials: int = 0


def verify_rewrite(
    target: Target,
    plan: CallPlan,
    site: Site,
    owner: Any,
    rewrite: Rewrite,
    aliases: Aliases,
    sites: list[Site],
) -> RewriteCheck:
    """Re-traces with the rewrite in place, then compares it with the original on random inputs.

    Returns:
        VERIFIED when it traced and matched; TRACES when it traced but could not be compared;
        FAILS when it does not trace or gives other values or gradients; with what went wrong.
    """
    extra = alias_values(aliases, owner.__globals__)
    try:
        code = rewrites.compile_function(
            rewrite.function, site.frame.file, owner.__code__.co_freevars
        )
        replacement = clone_function(owner, code, extra)
    except (SyntaxError, ValueError, TypeError) as exc:
        return RewriteCheck(FAILS, f"it does not compile ({exc})")
    with substituted(target, owner, replacement, sites) as new_target:
        result = attempt(new_target, plan)
    if result.error is not None:
        return RewriteCheck(FAILS, f"tracing it raises {short_error(result.error)}")
    return compare_on_random_inputs(target, plan, site, owner, rewrite, sites, replacement)


def clone_function(fn: Any, code: types.CodeType, extra: dict[str, Any]) -> types.FunctionType:
    """A new function object running `code`, with the original's closure and defaults.

    Names the rewrite needs that the module lacks (`jnp`, `lax`, the branch recorder) go into a
    copy of its globals, never into the user's module.
    """
    namespace = {**fn.__globals__, **extra} if extra else fn.__globals__
    clone = types.FunctionType(code, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
    clone.__kwdefaults__ = fn.__kwdefaults__
    clone.__qualname__ = fn.__qualname__
    clone.__module__ = fn.__module__
    return clone


def alias_values(aliases: Aliases, namespace: dict[str, Any]) -> dict[str, Any]:
    """The modules a rewrite names (`jnp`, `lax`, `np`) that the user's module does not bind,
    for the copy of its globals the rewrite runs in."""
    extra: dict[str, Any] = {}
    if aliases.jnp not in namespace:
        extra[aliases.jnp] = jax.numpy
    if aliases.np not in namespace:
        extra[aliases.np] = np
    head = aliases.lax.split(".")[0]
    if head not in namespace:
        extra[head] = jax.lax if head == aliases.lax else jax
    return extra


@contextmanager
def substituted(
    target: Target, owner: Any, replacement: types.FunctionType, sites: list[Site]
) -> Iterator[Target]:
    """A target that runs `replacement` in place of `owner` (the target itself or a helper).

    A helper is swapped in the module namespaces the user's frames look names up in, and put
    back afterwards; JAX's caches are cleared then, so that no trace made with the rewrite
    outlives the check (the functions that called it are the user's own objects).
    """
    if owner is function_object(target.function):
        bound = getattr(target.function, "__self__", None)
        fn = types.MethodType(replacement, bound) if bound is not None else replacement
        # The library wrapper stays: equinox.filter_jit's split parameters are joined again.
        yield dataclasses.replace(target, obj=fn, function=fn, options=None)
        return
    namespaces = {id(s.frame.frame.f_globals): s.frame.frame.f_globals for s in sites}
    namespaces[id(owner.__globals__)] = owner.__globals__
    saved: list[tuple[dict[str, Any], str, Any]] = []
    try:
        for namespace in namespaces.values():
            for name, value in list(namespace.items()):
                if value is owner:
                    saved.append((namespace, name, value))
                    namespace[name] = replacement
                elif (
                    callable(value)
                    and _jax_compat.is_jitted(value)
                    and _jax_compat.unwrap(value) is owner
                ):
                    saved.append((namespace, name, value))
                    options = _jax_compat.jit_options(value)
                    namespace[name] = jax.jit(
                        replacement,
                        static_argnums=options.static_argnums,
                        static_argnames=options.static_argnames,
                    )
        yield target
    finally:
        for namespace, name, value in saved:
            namespace[name] = value
        jax.clear_caches()


@dataclass(frozen=True)
class GradientCheck:
    """The float traced arguments gradients are taken with respect to, and the cotangents
    (random, shaped as the output) that the original and the rewrite are both pulled back with."""

    wrt: tuple[str, ...]
    cotangent: Any


@dataclass(frozen=True)
class Reference:
    """What the user's original code gives on one set of random inputs.

    `gradients` are those of `<check.cotangent, output>` with respect to `check.wrt`; `check`
    is None where inputs or outputs are not float, `gradients` None where the original could
    not be differentiated on these inputs.
    """

    plan: CallPlan
    output: Any
    check: GradientCheck | None = None
    gradients: Any | None = None


def compare_on_random_inputs(
    target: Target,
    plan: CallPlan,
    site: Site,
    owner: Any,
    rewrite: Rewrite,
    sites: list[Site],
    replacement: types.FunctionType,
) -> RewriteCheck:
    """Runs the user's original code outside jit on random inputs, then the rewrite under jit
    on the same inputs, and compares values and, where inputs and outputs are float, gradients.

    The original runs first and with nothing substituted: a rewritten helper that the target
    calls through a module global must not stand in for the original it is compared with.
    """
    rng = np.random.default_rng(0)
    references: list[Reference] = []
    for trial in TRIALS:
        values = random_arguments(plan, rng, trial)
        if values is None:
            return RewriteCheck(TRACES, "jaxexplain cannot make random inputs to compare it")
        concrete = plan.with_values(values)
        reference = reference_output(target, concrete, site, owner, rewrite, sites, rng)
        if reference is None and references:
            continue  # the original itself fails on these inputs: nothing to compare with
        if reference is None:
            return RewriteCheck(
                TRACES,
                "your original code cannot run outside jit on random inputs, so jaxexplain "
                "checked it only by tracing, not against your code",
            )
        references.append(reference)
    with substituted(target, owner, replacement, sites) as new_target:
        return _compare_with_rewrite(new_target, references, rewrite.kind)


def _compare_with_rewrite(
    new_target: Target, references: list[Reference], kind: str
) -> RewriteCheck:
    """The rewrite under jit against each reference: values first, then gradients.

    A rewrite JAX refuses to differentiate (`lax.while_loop` in reverse mode) keeps its values
    check, and says gradients were not compared and why: it fails loudly, never silently.
    Gradients that differ reject it: they would be wrong without a word.
    """
    gradients_compared = 0
    not_compared = ""
    for reference in references:
        jitted = new_target.jitted_for(reference.plan)
        args, kwargs = reference.plan.call_args()
        try:
            actual = jitted(*args, **kwargs)
        except Exception as exc:
            return RewriteCheck(FAILS, f"running it raises {short_error(exc)}")
        if not same_values(reference.output, actual):
            return RewriteCheck(FAILS, "it returns other values than your code on random inputs")
        if reference.check is None:
            continue
        if reference.gradients is None:
            not_compared = "jaxexplain could not take your code's gradients outside jit"
            continue
        try:
            gradients = gradients_of(jitted, reference.plan, reference.check)
        except Exception as exc:
            not_compared = f"differentiating the rewrite raises {short_error(exc)}"
            continue
        if not same_values(reference.gradients, gradients) and kind == "jnp":
            not_compared = GRADIENTS_DETACHED
            continue
        if not same_values(reference.gradients, gradients):
            return RewriteCheck(
                FAILS,
                "it returns your code's values but other gradients on random inputs (a side "
                "that is not selected still feeds NaN or infinite gradients into the result)",
            )
        gradients_compared += 1
    trials = len(references)
    if not_compared == GRADIENTS_DETACHED:
        return RewriteCheck(VERIFIED, not_compared, (TRACED, VALUES), trials=trials)
    if gradients_compared and not not_compared:
        return RewriteCheck(VERIFIED, checks=(TRACED, VALUES, GRADIENTS), trials=trials)
    note = f"gradients not compared: {not_compared}" if not_compared else ""
    return RewriteCheck(VERIFIED, note, (TRACED, VALUES), trials=trials)


def gradient_check(plan: CallPlan, output: Any, rng: np.random.Generator) -> GradientCheck | None:
    """What to differentiate with respect to, with cotangents for `output`; None unless there
    are float traced arguments and every output is float (other gradients are not defined)."""
    wrt = tuple(
        p.name
        for p in plan.params
        if not p.static and p.passed and _all_float(jax.tree_util.tree_leaves(p.value))
    )
    if not wrt or not _all_float(jax.tree_util.tree_leaves(output)):
        return None
    cotangent = jax.tree_util.tree_map(
        lambda leaf: jax.numpy.asarray(
            rng.normal(size=np.shape(leaf)), dtype=jax.numpy.result_type(leaf)
        ),
        output,
    )
    return GradientCheck(wrt, cotangent)


def _all_float(leaves: list[Any]) -> bool:
    return bool(leaves) and all(
        isinstance(leaf, float)
        or (
            not isinstance(leaf, bool | int)
            and hasattr(leaf, "dtype")
            and jax.dtypes.issubdtype(leaf.dtype, np.inexact)
        )
        for leaf in leaves
    )


def gradients_of(fn: Callable[..., Any], plan: CallPlan, check: GradientCheck) -> Any:
    """The reverse-mode gradients of `<check.cotangent, fn(...)>` with respect to `check.wrt`,
    as `jax.grad` computes them for a user."""
    params = {p.name: p.value for p in plan.params}
    primals = (params[name] for name in check.wrt)
    _, pullback = jax.vjp(_of_floats(fn, plan, check), *primals)
    return pullback(check.cotangent)


def _of_floats(fn: Callable[..., Any], plan: CallPlan, check: GradientCheck) -> Callable[..., Any]:
    """`fn` as a function of the arguments gradients are taken with respect to alone."""

    def of_floats(*floats: Any) -> Any:
        args, kwargs = plan.with_values(dict(zip(check.wrt, floats, strict=True))).call_args()
        return fn(*args, **kwargs)

    return of_floats


def reference_output(
    target: Target,
    plan: CallPlan,
    site: Site,
    owner: Any,
    rewrite: Rewrite,
    sites: list[Site],
    rng: np.random.Generator,
) -> Reference | None:
    """What the user's original code returns on the plan's concrete values, and its gradients,
    or None if it cannot say.

    The original runs outside jit (`jax.disable_jit()`, so helpers under their own `jax.jit`
    run as Python too); where an `if` on a multi-element array makes that impossible, a
    `jnp.where` rewrite is checked against the per-element reference (module docstring).
    """
    args, kwargs = plan.call_args()
    try:
        with jax.disable_jit(), step_limit(owner.__code__, enabled=rewrite.kind == "while_loop"):
            output = target.as_traced(*args, **kwargs)
    except Exception:
        if not rewrite.forced:
            return None
        return elementwise_reference(target, plan, site, owner, rewrite, sites, rng)
    check = gradient_check(plan, output, rng)
    if check is None:
        return Reference(plan, output)
    try:
        with jax.disable_jit():
            gradients = gradients_of(target.as_traced, plan, check)
    except Exception:
        gradients = None
    return Reference(plan, output, check, gradients)


class TooManySteps(Exception):
    """The original's loop ran longer than a comparison may wait for."""


@contextmanager
def step_limit(
    code: types.CodeType, *, enabled: bool, lines: int = MAX_EAGER_LINES
) -> Iterator[None]:
    """Stops an eager run after `lines` line events in `code`.

    A `while` loop may never end on random inputs; the rewritten `lax.while_loop` would then spin
    on the device with no way to stop it, so the original is run first, under this limit, and the
    rewrite runs only if the original finished.
    """
    if not enabled:
        yield
        return
    previous = sys.gettrace()
    count = 0

    def local(frame: types.FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
            if count > lines:
                raise TooManySteps(f"more than {lines} lines run")
        return local

    def start(frame: types.FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code is code else None

    sys.settrace(start)
    try:
        yield
    finally:
        sys.settrace(previous)


class BranchRecorder:
    """Stands in for the tests of an if-chain: records their values and takes branch `taken`."""

    def __init__(self, taken: int) -> None:
        self.taken = taken
        self.tests: dict[int, list[np.ndarray]] = {}

    def __call__(self, index: int, value: Any) -> bool:
        self.tests.setdefault(index, []).append(np.asarray(value))
        return index == self.taken


def elementwise_reference(
    target: Target,
    plan: CallPlan,
    site: Site,
    owner: Any,
    rewrite: Rewrite,
    sites: list[Site],
    rng: np.random.Generator,
) -> Reference | None:
    """Runs the original once per branch with the tests forced, and selects per element.

    Its gradients are each branch's, pulled back with the cotangent of the elements that branch
    selected: the original's gradient element by element, as if its `if` had been elementwise.
    """
    forced = rewrite.forced[0]
    code = rewrites.compile_function(forced, site.frame.file, owner.__code__.co_freevars)
    branches = _count_tests(forced) + 1
    order = [*range(branches - 1), -1]
    outputs = []
    recorder = BranchRecorder(-1)
    args, kwargs = plan.call_args()
    for taken in order:
        recorder = BranchRecorder(taken)
        clone = clone_function(owner, code, {rewrites.BRANCH_HELPER: recorder})
        try:
            with jax.disable_jit(), substituted(target, owner, clone, sites) as forced_target:
                outputs.append(forced_target.as_traced(*args, **kwargs))
        except Exception:
            return None
    tests = recorder.tests
    if len(tests) != branches - 1 or any(len(v) != 1 for v in tests.values()):
        return None
    result = outputs[-1]
    for index in reversed(range(branches - 1)):
        chosen = tests[index][0]
        result = jax.tree_util.tree_map(
            lambda a, b, c=chosen: np.where(c, np.asarray(a), np.asarray(b)), outputs[index], result
        )
    check = gradient_check(plan, result, rng)
    if check is None:
        return Reference(plan, result)
    masks = _branch_masks([tests[i][0] for i in range(branches - 1)])
    gradients = None
    if _masks_fit(masks, outputs, result):
        branch_code = (code, order)
        gradients = _selected_gradients(target, plan, owner, sites, check, masks, branch_code)
    return Reference(plan, result, check, gradients)


def _branch_masks(tests: list[np.ndarray]) -> list[np.ndarray]:
    """Where each branch of an if-chain is the one taken: its test true and no earlier one."""
    masks = []
    none_before = np.asarray(True)
    for test in tests:
        masks.append(np.logical_and(none_before, test))
        none_before = np.logical_and(none_before, np.logical_not(test))
    return [*masks, none_before]


def _masks_fit(masks: list[np.ndarray], outputs: list[Any], result: Any) -> bool:
    """Every branch's outputs are shaped as the result, and each mask broadcasts to them
    without growing them (else a branch's elements are not the result's)."""
    shapes = [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(result)]
    for output in outputs:
        leaves = jax.tree_util.tree_leaves(output)
        if [np.shape(leaf) for leaf in leaves] != shapes:
            return False
    try:
        return all(np.broadcast_shapes(m.shape, s) == s for m in masks for s in shapes)
    except ValueError:
        return False


def _selected_gradients(
    target: Target,
    plan: CallPlan,
    owner: Any,
    sites: list[Site],
    check: GradientCheck,
    masks: list[np.ndarray],
    branch_code: tuple[types.CodeType, list[int]],
) -> list[np.ndarray] | None:
    """`J^T cotangent` of the per-element original, J's rows taken from the branch each output
    element selected; None for inputs too large to build Jacobians of.

    Each branch's Jacobian comes from forward mode: a pullback would multiply the zero
    cotangent of an element a branch did not select by that branch's NaN or infinite
    derivative there (`sqrt` of a negative), which the original never computes.
    """
    code, order = branch_code
    params = {p.name: p.value for p in plan.params}
    primals = tuple(params[name] for name in check.wrt)
    input_leaves = jax.tree_util.tree_leaves(primals)
    if sum(int(np.size(leaf)) for leaf in input_leaves) > MAX_JACOBIAN_INPUTS:
        return None
    cotangents, output_tree = jax.tree_util.tree_flatten(check.cotangent)
    total = [np.zeros(np.shape(leaf)) for leaf in input_leaves]
    for taken, mask in zip(order, masks, strict=True):
        clone = clone_function(owner, code, {rewrites.BRANCH_HELPER: _forced_test(taken)})
        try:
            with jax.disable_jit(), substituted(target, owner, clone, sites) as forced_target:
                jacobian = jax.jacfwd(
                    _of_floats(forced_target.as_traced, plan, check), argnums=range(len(primals))
                )(*primals)
        except Exception:
            return None
        rows_of = output_tree.flatten_up_to(jacobian)  # type: ignore[attr-defined]
        for cotangent, rows in zip(cotangents, rows_of, strict=True):
            cotangent = np.asarray(cotangent)
            selected = np.broadcast_to(mask, cotangent.shape)
            for i, block in enumerate(jax.tree_util.tree_leaves(rows)):
                block = np.asarray(block)
                where = selected.reshape(selected.shape + (1,) * (block.ndim - selected.ndim))
                total[i] += np.tensordot(cotangent, np.where(where, block, 0), cotangent.ndim)
    return total


def _forced_test(taken: int) -> Callable[[int, Any], bool]:
    """Takes branch `taken` of a forced if-chain without recording (the tests are tracers)."""
    return lambda index, _value: index == taken


def _count_tests(function: ast.AST) -> int:
    return sum(
        1
        for node in ast.walk(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == rewrites.BRANCH_HELPER
    )


def random_arguments(
    plan: CallPlan, rng: np.random.Generator, trial: str = "normal"
) -> dict[str, Any] | None:
    """Random concrete values for every traced parameter, shaped as the plan's abstract ones;
    `trial` (one of TRIALS) says how float data is drawn."""
    values: dict[str, Any] = {}
    total = 0
    for param in plan.params:
        if param.static or not param.passed:
            continue
        leaves, treedef = jax.tree_util.tree_flatten(param.value)
        made = []
        for leaf in leaves:
            value = _random_leaf(leaf, rng, trial)
            if value is None:
                return None
            total += int(np.size(value))
            made.append(value)
        if total > MAX_COMPARED_ELEMENTS:
            return None
        values[param.name] = jax.tree_util.tree_unflatten(treedef, made)
    return values


def _random_leaf(leaf: Any, rng: np.random.Generator, trial: str) -> Any:
    """A random value like `leaf`: Python scalars stay Python scalars (weak types kept)."""
    if isinstance(leaf, bool):
        return bool(rng.integers(0, 2))
    if isinstance(leaf, int):
        return int(rng.integers(0, max(2 * abs(leaf), 4) + 1))
    if isinstance(leaf, float):
        return float(_float_data((), rng, trial) * max(1.0, abs(leaf)))
    shape, dtype = getattr(leaf, "shape", None), getattr(leaf, "dtype", None)
    if shape is None or dtype is None:
        return None
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return _random_keys(tuple(shape), dtype, rng)
    if jax.dtypes.issubdtype(dtype, jax.dtypes.extended):
        return None  # no NumPy dtype to draw values of
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        data = rng.random(shape) < 0.5
    elif np.issubdtype(dtype, np.unsignedinteger):
        data = rng.integers(0, 8, shape)
    elif np.issubdtype(dtype, np.integer):
        data = rng.integers(-4, 8, shape)
    else:
        data = _float_data(tuple(shape), rng, trial)
    return jax.numpy.asarray(data, dtype=dtype)


def _float_data(shape: tuple[int, ...], rng: np.random.Generator, trial: str) -> np.ndarray:
    """Normal draws, of one sign or zero as the trial says (TRIALS)."""
    data = rng.normal(size=shape)
    if trial == "negative":
        return -np.abs(data)
    if trial == "positive":
        return np.abs(data)
    if trial == "zero":
        return np.zeros(shape)
    return data


def _random_keys(shape: tuple[int, ...], dtype: Any, rng: np.random.Generator) -> Any:
    """PRNG keys (`jax.random.key`, dtype key<fry>) made of random key data of their impl."""
    template = jax.numpy.zeros(shape, dtype)
    data_shape = jax.random.key_data(template).shape
    data = jax.numpy.asarray(rng.integers(0, 2**32, data_shape, dtype=np.uint32))
    return jax.random.wrap_key_data(data, impl=jax.random.key_impl(template))


def same_values(expected: Any, actual: Any) -> bool:
    """Equal pytrees of equal shapes and (to float tolerance) equal values."""
    left = jax.tree_util.tree_leaves(expected)
    right = jax.tree_util.tree_leaves(actual)
    if len(left) != len(right):
        return False
    for a, b in zip(left, right, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if not np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True):
            return False
    return True
