"""Explains a failed trace at the user's own line, with fixes jaxexplain re-traced to prove them.

The explanation names the construct that asked for a concrete value (`if`, `while`, `range`,
`int()`, boolean masks, `.item()`, NumPy...), the user's file, line and source text, and the
parameters the value came from. Each fix is tried before it is offered: "make `n` static" is
re-traced with `n` static; a rewrite of the user's lines (`jnp.where`, `lax.cond`,
`lax.fori_loop`, `lax.while_loop`) is compiled from their own source, re-traced, and run on
random inputs against the original run eagerly. Only a fix that passed is `verified`.

Rewrite comparison, in detail: the original function runs outside jit on concrete random inputs,
where a Python `if` on a one-element array works. An `if` on a larger array cannot run eagerly
(its truth value is ambiguous), so for a `jnp.where` rewrite the reference is built per element:
a copy of the original whose tests are forced (each branch taken in turn, on the whole input)
records every test's concrete value, and element i of the reference comes from the branch
element i's test selects. A test evaluated more than once per call has no single per-element
answer, so such a rewrite stays unverified.
"""

from __future__ import annotations

import ast
import dataclasses
import linecache
import os
import re
import shlex
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from jaxexplain import _jax_compat
from jaxexplain import _source_ast as sa
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.decisions.resolve import CarrySlot
from jaxexplain.explain import rewrites
from jaxexplain.explain.rewrites import Aliases, Construct, Position, Rewrite, UserFunction
from jaxexplain.inputs.calling import BoundParam, CallPlan
from jaxexplain.inputs.specs import format_aval
from jaxexplain.report import Dependency, ErrorInfo, Suggestion
from jaxexplain.tracing.cache_key import is_hashable
from jaxexplain.tracing.stages import Stages, Target, trace_plan
from jaxexplain.userfiles import is_user_file

MAX_RETRACES = 6
TRIED = "jaxexplain tried rewriting these lines, but no rewrite passed its checks"
# Random inputs per comparison: float data drawn normal, then all negative, all positive, and
# zero, so that a test on the sign of a value (`x > 0`) takes both branches, and a boundary
# (`sqrt` or a division at 0) is reached; integers and booleans are random each time.
TRIALS = ("normal", "negative", "positive", "zero")
MAX_JACOBIAN_INPUTS = 512
TRACED = "traced"
# A Python conversion (`.item()`, `float()`) makes a constant outside jit, so the original's
# gradient stops there; the rewrite keeps the value in JAX, and its gradient flows on. Said, not
# hidden, and not counted as a passed gradient check.
GRADIENTS_DETACHED = (
    "gradients differ: your conversion to a Python number makes a constant, so no gradient flows "
    "through it, while the rewrite's value is differentiated (wrap it in jax.lax.stop_gradient to "
    "keep your gradients)"
)
VALUES = "values"
GRADIENTS = "gradients"
MAX_EAGER_LINES = 100_000
MAX_COMPARED_ELEMENTS = 1_000_000

_NON_HASHABLE = "Non-hashable static arguments are not supported"
_NOT_AN_ARRAY = re.compile(r"as an abstract array.*?at path (?P<path>\S+?)\.?$", re.S | re.M)
_AMBIGUOUS = "truth value of an array with more than one element is ambiguous"
_LOOP_GRAD = "Reverse-mode differentiation does not work for lax.while_loop"
# JAX 0.12 words a traced slice bound as "Array slice indices must have static start/stop/step".
_SLICE_NOT_STATIC = ("Slice entries must be static", "slice indices must have static")
_SHAPE_NOT_CONCRETE = "Shapes must be 1D sequences of concrete values"
_PROVENANCE = re.compile(
    r"tracing the function (?P<fn>\S+) at (?P<file>.+?):(?P<line>\d+) for \w+\. "
    r"(?:This concrete value was not available in Python because it depends on the values? of "
    r"the arguments? (?P<names>.+?)\.(?:\n|$)|(?P<constants>This value became a tracer due to "
    r"JAX operations))",
    re.S,
)
_LEAK_CREATED = re.compile(
    r"created on line (?P<file>.+?):(?P<line>\d+)(?::\d+)? \((?P<fn>[^)]*)\)"
)
_LEAK_TRACED = re.compile(
    r"function being traced when the value leaked was (?P<fn>\S+) at (?P<where>\S+) "
    r"traced for (?P<transform>\w+)"
)

NEEDS = {
    "if": "a Python bool",
    "elif": "a Python bool",
    "while": "a Python bool",
    "ifexp": "a Python bool",
    "assert": "a Python bool",
    "comprehension": "a Python bool",
    "bool": "a Python bool",
    "for_range": "a Python int",
    "range": "a Python int",
    "int": "a Python int",
    "index": "a Python int",
    "slice": "Python ints",
    "shape": "Python ints (array shapes are fixed when jit traces)",
    "len": "a sized Python value",
    "float": "a Python float",
    "complex": "a Python complex",
    "item": "a Python number",
    "tolist": "Python numbers",
    "numpy": "a NumPy array",
    "bool_index": "a concrete mask (the result's shape depends on it)",
    "sized": "concrete values (its result's length depends on them)",
    "minmax": "a Python bool (to compare)",
}

ADVICE = {
    "if": "Select values with jnp.where(c, a, b) (elementwise; both sides are computed), or "
    "branch with lax.cond(pred, true_fn, false_fn, *operands) when a branch does more work "
    "(pred must be a scalar); lax.switch picks among several branches.",
    "while": "Loop on the device with lax.while_loop(cond_fun, body_fun, init); every carried "
    "value must keep its shape and dtype.",
    "for_range": "Loop on the device with lax.fori_loop(lower, upper, body_fun, init) or "
    "lax.scan; every carried value must keep its shape and dtype.",
    "bool_index": "A mask changes the result's shape, which jit fixes when it traces: keep the "
    "shape with jnp.where(mask, x, fill), or give a static bound: "
    "jnp.nonzero(mask, size=K, fill_value=...).",
    "numpy": "Use jax.numpy (jnp) instead of NumPy on traced values.",
    "item": "Keep the value as an array (drop .item()); a Python number cannot come from "
    "traced data.",
    "convert": "Keep the value as an array: x.astype(dtype) instead of int()/float()/bool(); a "
    "Python number cannot come from traced data.",
    "slice": "Slice with a traced start but a static size: lax.dynamic_slice(x, (start,), (size,)).",
    "shape": "Array shapes are fixed when jit traces: make the size static, or use a static "
    "upper bound and a mask.",
    "index": "Index an array instead of a Python sequence (jnp.asarray(seq)[i]), or choose "
    "among functions with lax.switch(i, branches, *operands).",
    "minmax": "Use jnp.maximum / jnp.minimum, which work elementwise on traced values.",
    "sized": "The result's length depends on the values, and jit fixes shapes when it traces: "
    "pass a static bound, size=K (with fill_value=...), as in jnp.unique(x, size=K, "
    "fill_value=-1) or jnp.nonzero(mask, size=K, fill_value=0), and mask the padding.",
    "len": "Use x.shape[0]: shapes are static, values are not.",
}
ADVICE["elif"] = ADVICE["ifexp"] = ADVICE["if"]
ADVICE["comprehension"] = (
    "A filter decides the result's length, which jit fixes when it traces: compute every "
    "element and mask with jnp.where(cond, value, fill), or bound it statically with "
    "jnp.nonzero(mask, size=K, fill_value=...)."
)
ADVICE["assert"] = (
    "An assert cannot check traced values while jit traces: check them at run time with "
    "jax.experimental.checkify.check(cond, message) (and checkify.checkify the function), or "
    "jax.debug.print the value; assert only on shapes and static values."
)
ADVICE["range"] = ADVICE["for_range"]
ADVICE["tolist"] = ADVICE["item"]
ADVICE["int"] = ADVICE["float"] = ADVICE["bool"] = ADVICE["complex"] = ADVICE["convert"]

REWRITE_TEXT = {
    "where": "Select with jnp.where instead of a Python branch",
    "safe_where": "Select with jnp.where, each side fed safe inputs where it is not selected "
    "(the double-where trick, so no NaN gradient leaks), instead of a Python branch",
    "cond": "Branch on the device with lax.cond",
    "fori_loop": "Loop on the device with lax.fori_loop",
    "while_loop": "Loop on the device with lax.while_loop",
    "jnp": "Keep the value in JAX",
    "numpy": "Compute it with NumPy, so that it stays a concrete value",
    "debug_print": "Print the traced value with jax.debug.print",
}
REWRITE_COST = {
    "where": "both sides are computed for every element, then one is selected",
    "safe_where": "both sides are computed for every element (on guarded inputs), then one "
    "is selected",
    "cond": "both branches are compiled; only the selected one runs",
    "fori_loop": "none: one compilation serves every trip count, and the loop is not unrolled",
    "while_loop": "none for jit; lax.while_loop cannot be reverse-differentiated (use lax.scan "
    "with a fixed length for gradients)",
    "jnp": "none: the value stays on the device",
    "numpy": "none: NumPy runs once, while jit traces, and its result is a constant of the trace",
    "debug_print": "a host callback each time the compiled function runs (it prints every call, "
    "not once while tracing)",
}


# ---------------------------------------------------------------------------------------------
# Frames of the user's code in a traceback


@dataclass(frozen=True)
class UserFrame:
    """One traceback frame in the user's code, with the position of the running instruction."""

    frame: types.FrameType
    line: int
    position: Position | None
    # Libraries (other than JAX) whose frames lie between this frame and the user frame above
    # it: a function that a library called back (a diffrax vector field, a flax module's
    # `__call__`) gets values the library computed, not the caller's arguments as written.
    called_through: tuple[str, ...] = ()

    @property
    def code(self) -> types.CodeType:
        return self.frame.f_code

    @property
    def file(self) -> str:
        return self.code.co_filename


@dataclass(frozen=True)
class Site:
    """A user frame read as source: the function's AST, the failing node and its construct."""

    frame: UserFrame
    function: UserFunction | None
    node: ast.AST | None
    construct: Construct | None


def user_frames(exc: BaseException) -> list[UserFrame]:
    """The traceback's frames in user files, outermost first."""
    found: list[UserFrame] = []
    between: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if is_user_file(code.co_filename):
            position = _position(code, tb.tb_lasti)
            libraries = tuple(dict.fromkeys(between)) if found else ()
            found.append(UserFrame(tb.tb_frame, tb.tb_lineno, position, libraries))
            between = []
        elif _library_package(tb.tb_frame) is not None:
            between.append(_library_package(tb.tb_frame) or "")
        tb = tb.tb_next
    return found


def _library_package(frame: types.FrameType) -> str | None:
    """The top-level package of a library frame; None for JAX, jaxexplain and the standard
    library, whose frames between two user frames are transforms or plumbing (`jax.vmap`,
    `functools`) that pass the caller's arguments on."""
    package = _package(frame)
    if package in (*_JAX_PACKAGES, "jaxexplain", "") or package in sys.stdlib_module_names:
        return None
    return package


def _package(frame: types.FrameType) -> str:
    return str(frame.f_globals.get("__name__", "")).split(".")[0]


def _position(code: types.CodeType, lasti: int) -> Position | None:
    positions = list(code.co_positions())
    if 0 <= lasti // 2 < len(positions):
        line, end_line, col, end_col = positions[lasti // 2]
        if None not in (line, end_line, col, end_col):
            return (line, end_line, col, end_col)  # type: ignore[return-value]
    return None


def frames_below_target(frames: list[UserFrame], target: Target) -> list[UserFrame]:
    """The frames from the target function down: callers above it (a test, a script) are not it."""
    code = getattr(_function_object(target.function), "__code__", None)
    starts = [i for i, f in enumerate(frames) if f.code is code]
    return frames[starts[-1] :] if starts else frames


def _function_object(fn: Any) -> Any:
    fn = _jax_compat.unwrap(fn)
    return getattr(fn, "__func__", fn)


def read_sites(frames: list[UserFrame]) -> list[Site]:
    """Each frame as source; a comprehension or lambda frame folds into its enclosing function."""
    sites: list[Site] = []
    for frame in frames:
        function = rewrites.user_function(frame.code)
        enclosing = sites[-1].function if sites else None
        if (
            function is None
            and enclosing is not None
            and frame.position is not None
            and frame.code.co_name.startswith("<")
            and rewrites.contains(enclosing, frame.position)
        ):
            moved = dataclasses.replace(sites[-1].frame, position=frame.position, line=frame.line)
            sites[-1] = _site(moved, enclosing)
            continue
        sites.append(_site(frame, function))
    return sites


def _site(frame: UserFrame, function: UserFunction | None) -> Site:
    if function is None or frame.position is None:
        return Site(frame, function, None, None)
    node = rewrites.node_at(function, frame.position)
    if node is None:
        return Site(frame, function, None, None)
    return Site(frame, function, node, rewrites.classify(function, node, _line_text(frame)))


def _line_text(frame: UserFrame) -> str:
    return linecache.getline(frame.file, frame.line)


# ---------------------------------------------------------------------------------------------
# The entry points


def error_info(exc: BaseException) -> ErrorInfo:
    """The error class, its first paragraph, who raised it, and the user's file, line and
    source text."""
    frames = user_frames(exc)
    frame = frames[-1] if frames else None
    return ErrorInfo(
        type=type(exc).__name__,
        message=first_paragraph(str(exc)),
        file=frame.file if frame else None,
        line=frame.line if frame else None,
        source=_line_text(frame).strip() or None if frame else None,
        raised_by=raised_by(exc),
    )


def raised_by(exc: BaseException) -> str:
    """Who raised `exc`: "jax" for JAX's own errors, "user" for the user's code, otherwise the
    top-level package of the library whose code raised it (only JAX's are labelled JAX's).

    JAX removes its internal frames from tracebacks, so a builtin exception JAX raised from a
    dunder method (`bool(tracer)`, a truth value that is ambiguous) can end at the user's line:
    an exception of a JAX class, or one that jaxexplain recognises as JAX's, is JAX's wherever
    it ends. Otherwise the innermost frame decides; jaxexplain's own frames end the traceback
    only when JAX's frames below them were removed.
    """
    if type(exc).__module__.split(".")[0] in _JAX_PACKAGES or _explainer_for(exc) is not None:
        return "jax"
    tb = exc.__traceback__
    if tb is None:
        return "jax"
    while tb.tb_next is not None:
        tb = tb.tb_next
    if is_user_file(tb.tb_frame.f_code.co_filename):
        return "user"
    package = str(tb.tb_frame.f_globals.get("__name__", "")).split(".")[0]
    return "jax" if package in (*_JAX_PACKAGES, "jaxexplain", "") else package


_JAX_PACKAGES = ("jax", "jaxlib")


def first_paragraph(message: str) -> str:
    """JAX error messages run long; the first paragraph carries the fact."""
    return message.strip().split("\n\n")[0].strip()


def explain_failure(
    exc: BaseException, target: Target, plan: CallPlan, recorder: DecisionRecorder | None = None
) -> ErrorInfo:
    """Why `trace_plan(target, plan)` raised `exc`, and the fixes that were re-traced to work.

    Args:
        exc: what tracing raised.
        target: the traced target.
        plan: the call plan it was traced with.
        recorder: what the user's frames did while it traced, which follows a value through
            loop carries (`lax.scan(body, (h, reps), xs)`) to the argument it came from.

    Returns:
        The error with the user's location, the construct, what the value depended on, an
        explanation, and suggestions (`verified` only for fixes that traced when applied).
    """
    explainer = _explainer_for(exc, recorder)
    if explainer is None and _rejected_in_library(exc):
        explainer = explain_library_rejection
    if explainer is None:
        return error_info(exc)
    try:
        return explainer(exc, target, plan)
    except Exception as failure:
        return dataclasses.replace(
            error_info(exc),
            explanation=f"(jaxexplain could not analyse this failure further: "
            f"{type(failure).__name__}: {failure}; this is a bug in jaxexplain.)",
        )


def _explainer_for(
    exc: BaseException, recorder: DecisionRecorder | None = None
) -> Callable[[BaseException, Target, CallPlan], ErrorInfo] | None:
    message = str(exc)
    if isinstance(exc, ValueError) and _NON_HASHABLE in message:
        return explain_unhashable_static
    if isinstance(exc, TypeError) and _NOT_AN_ARRAY.search(message):
        return explain_not_an_array
    if isinstance(exc, jax.errors.UnexpectedTracerError):
        return lambda e, target, _: explain_leak(e, target)
    if isinstance(exc, ValueError) and _LOOP_GRAD in message:
        return explain_loop_grad
    if is_concretization(exc):
        return lambda e, target, plan: explain_concretization(e, target, plan, recorder)
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
    return (
        (isinstance(exc, ValueError) and _AMBIGUOUS in message)
        or (isinstance(exc, IndexError) and any(s in message for s in _SLICE_NOT_STATIC))
        or (isinstance(exc, TypeError) and _SHAPE_NOT_CONCRETE in message)
    )


# ---------------------------------------------------------------------------------------------
# Concretization: a traced value where Python needs a concrete one


def explain_concretization(
    exc: BaseException, target: Target, plan: CallPlan, recorder: DecisionRecorder | None = None
) -> ErrorInfo:
    """A tracer reached Python control flow or a conversion: where, from what, and what works."""
    sites = read_sites(frames_below_target(user_frames(exc), target))
    if sites:
        sites[-1] = _mask_index(exc, sites[-1])
    carried = explain_carried(exc, target, plan, sites, recorder)
    if carried is not None:
        return carried
    base = error_info(exc)
    site = sites[-1] if sites else None
    construct = site.construct if site else None
    library = library_site(exc)
    depends_on = dependencies(exc, target, plan, sites)
    budget = Budget(MAX_RETRACES)
    trials: list[StaticTrial] | None = None
    if _source_cannot_tell(exc, target, sites, library):
        trials = probe_statics(exc, target, plan, _probe_candidates(plan, depends_on), budget)
        depends_on = probed_dependencies(depends_on, trials)
    if _inside_library_call(library, sites):
        depends_on = [d for d in depends_on if d.via == "value"]
    from_constants = _from_constants(exc, target, sites, depends_on) and trials is None
    suggestions = make_static_suggestions(target, plan, depends_on, construct, exc, budget, trials)
    data_dependent = _array_value_params(plan, depends_on)
    if site is not None and construct is not None and site.function is not None:
        suggestions += rewrite_suggestions(target, plan, site, sites, budget, from_constants)
        advice = ADVICE.get(construct.kind)
        if advice and not any(s.verified for s in suggestions):
            suggestions.append(Suggestion("advice", (), advice))
    explanation = concretization_text(
        site, construct, depends_on, plan, data_dependent, from_constants, library, trials
    )
    return dataclasses.replace(
        base,
        file=site.frame.file if site else base.file,
        line=site.frame.line if site else base.line,
        depends_on=tuple(depends_on),
        suggestions=proven_first(suggestions),
        construct=construct.kind if construct else None,
        explanation=explanation,
        column=_columns(site)[0],
        end_column=_columns(site)[1],
    )


def _source_cannot_tell(
    exc: BaseException, target: Target, sites: list[Site], library: LibrarySite | None
) -> bool:
    """JAX names no argument of the target, and the source cannot be followed to the value:
    it was needed inside a library (the user's line only shows the call's arguments), or in a
    function a library called back."""
    if provenance(exc, target) is not None:
        return False
    return _inside_library_call(library, sites) or not sites or _uses_at_target(sites) is None


def _inside_library_call(library: LibrarySite | None, sites: list[Site]) -> bool:
    """The value was needed inside a library's call: the user's line shows every argument of
    the call (`segment_mean(nodes, ..., num_segments=total)` reads the shapes of `nodes`), not
    which one reached the value, so only the traced arguments JAX names (or re-tracing found)
    are what it depends on."""
    return library is not None and _construct_kind(sites) == "call"


def _construct_kind(sites: list[Site]) -> str | None:
    construct = sites[-1].construct if sites else None
    return construct.kind if construct else None


def _probe_candidates(plan: CallPlan, depends_on: Sequence[Dependency]) -> list[str]:
    """The traced Python numbers to re-trace static: those the source points to first, then
    every other (a library's own computations may reach any of them)."""
    pointed = [d.name for d in depends_on if d.via == "value"]
    scalars = _traced_scalars(plan)
    return [n for n in scalars if n in pointed] + [n for n in scalars if n not in pointed]


def _rejected_in_library(exc: BaseException) -> bool:
    """A library's own check failed while tracing (a shape that must be hashable, an
    `assert isinstance(n, int)`): perhaps a traced value where it needs a concrete one."""
    checks = (TypeError, ValueError, AssertionError, IndexError)
    return isinstance(exc, checks) and library_site(exc) is not None


def explain_library_rejection(exc: BaseException, target: Target, plan: CallPlan) -> ErrorInfo:
    """A library rejected a value while tracing; when a traced Python number made static gets
    past the rejection, that number is what reached it, and the failure is explained like a
    tracer error. Otherwise the error is shown as it is.

    A re-trace that fails elsewhere blames the number only when the message named a tracer:
    a rejection unrelated to tracing may move for other reasons.
    """
    base = error_info(exc)
    library = library_site(exc)
    sites = read_sites(frames_below_target(user_frames(exc), target))
    trials = probe_statics(exc, target, plan, _traced_scalars(plan), Budget(MAX_RETRACES))
    found = responsible(trials)
    names_tracer = "Tracer" in str(exc)
    if not sites or library is None or found is None or not (found.result.ok or names_tracer):
        return base
    site = sites[-1]
    depends_on = probed_dependencies((), trials)
    construct = site.construct
    suggestions = make_static_suggestions(
        target, plan, depends_on, construct, exc, Budget(0), trials
    )
    return dataclasses.replace(
        base,
        file=site.frame.file,
        line=site.frame.line,
        depends_on=tuple(depends_on),
        suggestions=tuple(suggestions),
        construct=construct.kind if construct else None,
        explanation=rejection_text(site, library, depends_on, plan, exc),
        column=_columns(site)[0],
        end_column=_columns(site)[1],
    )


def rejection_text(
    site: Site,
    library: LibrarySite,
    depends_on: Sequence[Dependency],
    plan: CallPlan,
    exc: BaseException,
) -> str:
    """`Inside `call`, the library's line L rejects a traced value (TypeError): it comes from
    n (...), which static would be concrete.`"""
    params = {p.name: p for p in plan.params}
    traced = [params[d.name] for d in depends_on if d.via == "value" and d.name in params]
    construct = site.construct
    expression = _expression_text(construct) if construct else _line_text(site.frame).strip()
    listed = _and([f"{p.name} ({_describe_traced(p)})" for p in traced])
    return (
        f"{_inside_call(expression, library)} rejects a traced value ({type(exc).__name__}): "
        f"it comes from {listed}, whose value jit does not know while it traces; made static, "
        f"{_it([p.name for p in traced])} would be a concrete Python number there."
    )


def _mask_index(exc: BaseException, site: Site) -> Site:
    """`x[mask]` with `mask` a name reads, by its syntax alone, as indexing a sequence with a
    traced integer; JAX's boolean-index error says the index is a mask, which decides the
    result's shape and calls for other fixes."""
    construct = site.construct
    if (
        isinstance(exc, jax.errors.NonConcreteBooleanIndexError)
        and construct is not None
        and construct.kind == "index"
    ):
        return dataclasses.replace(
            site, construct=dataclasses.replace(construct, kind="bool_index")
        )
    return site


def _from_constants(
    exc: BaseException, target: Target, sites: list[Site], depends_on: Sequence[Dependency]
) -> bool:
    """The tracer came from no traced argument: JAX says so, or the source shows it."""
    if any(d.via == "value" for d in depends_on):
        return False
    jax_says = provenance(exc, target)
    if jax_says is not None:
        return not jax_says
    return bool(sites) and _uses_at_target(sites) is not None


def proven_first(suggestions: Sequence[Suggestion]) -> tuple[Suggestion, ...]:
    """Verified fixes first; fixes that were tried and failed only when nothing worked."""
    verified = [s for s in suggestions if s.verified]
    advice = [s for s in suggestions if s.kind == "advice" and not s.text.startswith(TRIED)]
    if verified:
        return (*verified, *advice)
    return tuple(suggestions)


def _columns(site: Site | None) -> tuple[int | None, int | None]:
    """The failing expression's span within the stripped source line, for a caret under it."""
    if site is None or site.frame.position is None:
        return None, None
    line, end_line, col, end_col = _caret_position(site)
    if line != end_line or line != site.frame.line:
        return None, None
    raw = _line_text(site.frame)
    indent = len(raw) - len(raw.lstrip())
    return col - indent, end_col - indent


def _caret_position(site: Site) -> tuple[int, int, int, int]:
    """Where the caret goes: the failing instruction's position, or, where Python 3.11 gives
    the jump of `if flag:` the span of the whole statement, the one expression it tested."""
    assert site.frame.position is not None
    line, end_line, _, _ = site.frame.position
    needed = site.construct.needed if site.construct is not None else ()
    node = needed[0] if len(needed) == 1 else None
    if line != end_line and node is not None:
        last, end_col = node.end_lineno, node.end_col_offset
        if last is not None and end_col is not None:
            return node.lineno, last, node.col_offset, end_col
    return site.frame.position


def concretization_text(
    site: Site | None,
    construct: Construct | None,
    depends_on: Sequence[Dependency],
    plan: CallPlan,
    data_dependent: Sequence[BoundParam],
    from_constants: bool,
    library: LibrarySite | None = None,
    trials: Sequence[StaticTrial] | None = None,
) -> str:
    """The explanation, short and specific: the construct, the tracer, where it came from.

    A value needed inside a library's call is worded at the library's line, which needed it;
    the call's result is no tracer. Where perturbing decided the dependencies (`trials`), what
    it showed is said.
    """
    if site is None or construct is None:
        return ""
    expression = _expression_text(construct)
    needs = NEEDS.get(construct.kind, "a concrete value")
    params = {p.name: p for p in plan.params}
    traced = [params[d.name] for d in depends_on if d.via == "value" and d.name in params]
    head = f"{_capital(construct.label)} needs {needs}, but `{expression}` is a tracer"
    if library is not None and construct.kind == "call":
        head = f"{_inside_call(expression, library)} needs a concrete value, but gets a tracer"
    if len(traced) == 1 and expression == traced[0].name:
        parts = [
            f"{head}: {expression} is {_describe_traced(traced[0])}, so jit does not know its value."
        ]
    elif traced:
        listed = _and([f"{p.name} ({_describe_traced(p)})" for p in traced])
        parts = [
            f"{head}: it is computed from {listed}, whose values jit does not know while it traces."
        ]
    elif from_constants:
        parts = [
            f"{head}: it is computed by JAX operations, which jit traces even on constants; "
            f"compute it with NumPy or plain Python to keep it concrete."
        ]
    elif site.frame.called_through:
        callers = _and(site.frame.called_through)
        parts = [
            f"{head}: it is computed from what {callers} passed to `{site.frame.code.co_name}`, "
            f"which jaxexplain does not follow to your arguments."
        ]
    else:
        parts = [f"{head}; jaxexplain could not follow which arguments it came from."]
    if library is not None and library.package not in _JAX_PACKAGES and construct.kind != "call":
        parts.append(f"It is needed at {library.where} (`{library.source}`).")
    if trials and not traced:
        parts.append(_probe_text(trials))
    static = [d.name for d in depends_on if d.via == "static"]
    if static:
        verb = "is" if len(static) == 1 else "are"
        parts.append(
            f"{_and(static)} {verb} already static; making {_it(static)} static does not help."
        )
    if data_dependent:
        parts.append(
            f"The value depends on the array data of {_and([p.name for p in data_dependent])}, "
            f"so no static choice can help."
        )
    sequences = [p for p in traced if _is_number_sequence(p)]
    if sequences and not data_dependent:
        parts.append(_sequences_text(sequences))
    scalars = [p.name for p in traced if _is_python_number(p.value)]
    if scalars and not data_dependent:
        parts.append(
            f"{_and(scalars)} {'is a Python number' if len(scalars) == 1 else 'are Python numbers'} "
            f"passed traced: as static {'it' if len(scalars) == 1 else 'they'} would be concrete."
        )
    valued = [
        p.name
        for p in traced
        if not _is_python_number(p.value)
        and not _is_number_sequence(p)
        and _concrete_scalar(p) is not None
    ]
    if valued and not data_dependent:
        one = len(valued) == 1
        parts.append(
            f"{_and(valued)} {'is a 0-d array' if one else 'are 0-d arrays'} passed traced: as "
            f"static Python {'a number' if one else 'numbers'}, {_it(valued)} would be concrete."
        )
    unvalued = [p for p in traced if _scalar_without_value(p) is not None]
    if unvalued and not data_dependent:
        one = len(unvalued) == 1
        what = "is a 0-d traced argument" if one else "are 0-d traced arguments"
        kinds = _and(sorted({f"a Python {_scalar_without_value(p)}" for p in unvalued}))
        parts.append(
            f"{_and([p.name for p in unvalued])} {what}: passed static, as {kinds}, "
            f"{'it' if one else 'they'} would be concrete."
        )
    return " ".join(parts)


def _sequences_text(sequences: Sequence[BoundParam]) -> str:
    """`sample_shape is a tuple of Python numbers passed traced: as a static tuple it would be
    concrete.`"""
    one = len(sequences) == 1
    kinds = _and(sorted({type(p.value).__name__ for p in sequences}))
    what = f"is a {kinds}" if one else f"are {kinds}s"
    return (
        f"{_and([p.name for p in sequences])} {what} of Python numbers passed traced: as a "
        f"static tuple{'' if one else 's'}, {_it([p.name for p in sequences])} would be concrete."
    )


def _inside_call(expression: str, library: LibrarySite) -> str:
    """`Inside `call(...)`, flax's line flax/linen/attention.py:527 (`assert ...`)`."""
    owner = "JAX's" if library.package in _JAX_PACKAGES else f"{library.package}'s"
    return f"Inside `{expression}`, {owner} line {library.where} (`{library.source}`)"


def _probe_text(trials: Sequence[StaticTrial]) -> str:
    """What re-tracing with traced Python numbers static showed, when none got past here."""
    names = list(dict.fromkeys(name for trial in trials for name in trial.group))
    widest = max((trial.group for trial in trials), key=len)
    together = " (each alone and together)" if len(names) > 1 and len(widest) > 1 else ""
    if len(names) > 1 and len(widest) == 1:
        together = " (each alone)"
    return (
        f"jaxexplain re-traced with {_and(names)} static{together}, and it still fails here: "
        f"making {_it(names)} static does not help."
    )


def _expression_text(construct: Construct) -> str:
    if len(construct.needed) == 1:
        return ast.unparse(construct.needed[0])
    if isinstance(construct.node, ast.expr | ast.stmt):
        return ast.unparse(construct.node).split("\n")[0]
    return "?"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _and(items: Iterator[str] | Sequence[str]) -> str:
    words = [f"{w}" for w in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _it(names: Sequence[str]) -> str:
    return "it" if len(names) == 1 else "them"


def _describe_traced(param: BoundParam) -> str:
    value = param.value
    if _is_python_number(value):
        return f"a Python {type(value).__name__} passed traced, as {_aval(value)}"
    if _is_number_sequence(param):
        avals = ", ".join(_aval(leaf) for leaf in jax.tree_util.tree_leaves(value))
        return f"a {type(value).__name__} of Python numbers passed traced, as {avals}"
    leaves = jax.tree_util.tree_leaves(value)
    if len(leaves) == 1 and leaves[0] is value:
        return f"traced, {_aval(value)}"
    return f"a traced pytree of {len(leaves)} array{'s' if len(leaves) != 1 else ''}"


def _aval(value: Any) -> str:
    try:
        aval = jax.typeof(value)
    except TypeError:
        return type(value).__name__
    return format_aval(tuple(aval.shape), str(aval.dtype), bool(getattr(aval, "weak_type", False)))


def _concrete_scalar(param: BoundParam) -> Any:
    """The hashable Python value a traced parameter given with a value would take as a static
    argument (it could be static), else None: a number; a concrete 0-d numeric array
    (`jnp.array(5)` from a factory) as its Python number (arrays are unhashable statics); a
    short tuple or list of these (`sample_shape=(4, 5)`, traced as a pytree of 0-d ints) as a
    tuple, since a list is no hashable static either."""
    return _static_form(param.value)


# A sequence of numbers longer than this is data, not a shape or a handful of sizes.
MAX_STATIC_LEAVES = 8


def _static_form(value: Any) -> Any:
    if _is_python_number(value):
        return value
    numeric = isinstance(value, np.ndarray | jax.Array) and value.shape == ()
    if numeric and any(jax.dtypes.issubdtype(value.dtype, kind) for kind, _ in _PYTHON_SCALARS):
        return value.item()
    if not _is_plain_sequence(value) or len(jax.tree_util.tree_leaves(value)) > MAX_STATIC_LEAVES:
        return None
    items = [_static_form(item) for item in value]
    return tuple(items) if items and None not in items else None


def _is_plain_sequence(value: Any) -> bool:
    """A tuple or list, not a NamedTuple (its fields are a structure of their own)."""
    return isinstance(value, tuple | list) and not hasattr(value, "_fields")


def _is_number_sequence(param: BoundParam) -> bool:
    """A tuple or list of Python numbers (or 0-d arrays) that a static tuple could carry."""
    return _is_plain_sequence(param.value) and _concrete_scalar(param) is not None


def _is_python_number(value: Any) -> bool:
    return isinstance(value, bool | int | float | complex | np.generic)


def _static_values(names: Sequence[str], params: dict[str, BoundParam]) -> dict[str, Any]:
    """The values that make `names` static: a 0-d array becomes its Python number."""
    return {n: _concrete_scalar(params[n]) for n in names}


def _scalar_without_value(param: BoundParam) -> str | None:
    """The Python type ("int", "float", "bool", "complex") a traced 0-d parameter would take as
    a static argument, when it was given as an array (`--arg n=i32[]`) rather than a Python
    number, so jaxexplain has no Python value to re-trace it with; None for anything else.

    The rule for "a static choice may help": the value needed concretely reads a parameter that
    is one 0-d number, so the parameter itself can be the static choice. An array with elements
    (f32[8]) is data, never a static argument, and a PRNG key (an extended dtype) is no number.
    """
    if _concrete_scalar(param) is not None:
        return None
    leaves = jax.tree_util.tree_leaves(param.value)
    if len(leaves) != 1 or leaves[0] is not param.value:
        return None
    try:
        aval = jax.typeof(param.value)
    except TypeError:
        return None
    if aval.shape != ():
        return None
    for numpy_kind, python_type in _PYTHON_SCALARS:
        if jax.dtypes.issubdtype(aval.dtype, numpy_kind):
            return python_type
    return None


_PYTHON_SCALARS = (
    (np.bool_, "bool"),
    (np.integer, "int"),
    (np.floating, "float"),
    (np.complexfloating, "complex"),
)


def _could_be_static(param: BoundParam) -> bool:
    """A traced 0-d number, given as a Python number or as a 0-d array: static, it is concrete."""
    return _concrete_scalar(param) is not None or _scalar_without_value(param) is not None


def _array_value_params(plan: CallPlan, depends_on: Sequence[Dependency]) -> list[BoundParam]:
    """Traced parameters the value depends on through their array data: not 0-d numbers,
    which a static argument could carry instead."""
    params = {p.name: p for p in plan.params}
    return [
        params[d.name]
        for d in depends_on
        if d.via == "value" and d.name in params and not _could_be_static(params[d.name])
    ]


# ---------------------------------------------------------------------------------------------
# What the failing value depended on


def dependencies(
    exc: BaseException, target: Target, plan: CallPlan, sites: list[Site]
) -> list[Dependency]:
    """The target's parameters (and globals) the failing value came from, and through what.

    The source analysis (`dependencies_in_source`) gives every kind of dependency; JAX's own
    account of which traced arguments a tracer came from, when its message has one for the
    target, decides the "value" ones.
    """
    found = {(d.name, d.via): d for d in dependencies_in_source(plan, sites)}
    jax_says = provenance(exc, target)
    if jax_says is not None:
        found = {k: d for k, d in found.items() if d.via != "value"}
        for name in jax_says:
            found.setdefault((name, "value"), Dependency(name, "value"))
    return _in_signature_order(plan, found.values())


def dependencies_in_source(plan: CallPlan, sites: list[Site]) -> list[Dependency]:
    """What the failing expression reads, followed back through the user's source to the target.

    The failing expression's names are followed back through local assignments to the
    function's parameters; in a helper, each parameter is followed to the argument expression the
    caller passed for it, up to the target, whose parameters the plan classifies.
    """
    params = {p.name: p for p in plan.params}
    found: dict[tuple[str, str], Dependency] = {}
    for name, aspect in (_uses_at_target(sites) if sites else None) or []:
        if aspect == "global":
            found.setdefault((name, "global"), Dependency(name, "global"))
        elif name in params:
            via = "static" if params[name].static else aspect
            found.setdefault((name, via), Dependency(name, via))
    return _in_signature_order(plan, found.values())


def _in_signature_order(plan: CallPlan, found: Iterable[Dependency]) -> list[Dependency]:
    order = {p.name: i for i, p in enumerate(plan.params)}
    vias = ("value", "shape", "dtype", "static", "global")
    return sorted(
        found,
        key=lambda d: (d.via == "global", order.get(d.name, len(order)), vias.index(d.via)),
    )


def _uses_at_target(sites: list[Site]) -> list[tuple[str, str]] | None:
    """(name, aspect) pairs at the target's frame: its parameters, and data globals (aspect
    "global"); a bound method's `self` is a parameter the plan does not have, and drops out."""
    last = sites[-1]
    if last.function is None or last.construct is None or last.node is None:
        return None
    uses = rewrites.trace_back(last.function, last.construct.needed, last.node)
    free: list[tuple[str, str]] = []
    for caller, callee in zip(reversed(sites[:-1]), reversed(sites[1:]), strict=True):
        free += _data_globals(uses, callee)
        mapped = _map_to_caller(uses, caller, callee)
        if mapped is None:
            return None
        uses = mapped
    free += _data_globals(uses, sites[0])
    params = set(sites[0].function.parameters) if sites[0].function else set()
    return [(u.name, u.aspect) for u in uses if u.name in params] + free


def _data_globals(uses: list[rewrites.NameUse], site: Site) -> list[tuple[str, str]]:
    """Free names that are module-level data (modules, functions and classes are not)."""
    params = set(site.function.parameters) if site.function else set()
    found = []
    for use in uses:
        if use.name in params or use.name not in site.frame.frame.f_globals:
            continue
        value = site.frame.frame.f_globals[use.name]
        if not (isinstance(value, types.ModuleType | type) or callable(value)):
            found.append((use.name, "global"))
    return found


def _map_to_caller(
    uses: list[rewrites.NameUse], caller: Site, callee: Site
) -> list[rewrites.NameUse] | None:
    """The callee's parameters, followed to the caller's argument expressions and their names;
    a parameter the call does not pass by name or position (a call through `jax.vmap` or
    `lax.scan`, a `*args`) may come from any of the call's arguments. A callee that a library
    called back gets what the library computed (diffrax's step time `t`, not `y0`): not
    followed."""
    if caller.function is None or callee.function is None or caller.frame.position is None:
        return None
    if callee.frame.called_through:
        return None
    call = rewrites.call_at(caller.function, caller.frame.position)
    if call is None:
        return None
    bound, _ = sa.bind_call(callee.function.source, call, callee.function.node)
    direct = sa.callee_name(call) == callee.frame.code.co_name
    if not direct and not bound:
        return None
    every_argument = [*call.args, *(k.value for k in call.keywords)]
    mapped: list[rewrites.NameUse] = []
    for use in uses:
        if use.name not in callee.function.parameters:
            continue
        argument = bound.get(use.name) if direct else None
        arguments = [argument] if argument is not None else every_argument
        mapped += rewrites.trace_back(caller.function, arguments, call, use.via)
    return list(dict.fromkeys(mapped))


def provenance(exc: BaseException, target: Target) -> list[str] | None:
    """The target's traced arguments JAX says the tracer came from (None if it says nothing).

    An empty list means JAX says no argument: the tracer came from JAX operations on constants.
    JAX says this only when the tracer belongs to the trace of the target itself; a helper under
    its own `jax.jit` or a `lax.scan` body names that function's own arguments instead.
    """
    match = _PROVENANCE.search(str(exc))
    code = getattr(_function_object(target.function), "__code__", None)
    if match is None or code is None:
        return None
    if match["fn"] != code.co_name or int(match["line"]) != code.co_firstlineno:
        return None
    if match["constants"]:
        return []
    names = re.split(r", and |, | and ", match["names"])
    return list(dict.fromkeys(re.match(r"\w+", n)[0] for n in names if re.match(r"\w+", n)))  # type: ignore[index]


# ---------------------------------------------------------------------------------------------
# A value that reached the failing line through a loop carry

LOOPS = {"scan": "lax.scan", "fori_loop": "lax.fori_loop", "while_loop": "lax.while_loop"}


def explain_carried(
    exc: BaseException,
    target: Target,
    plan: CallPlan,
    sites: list[Site],
    recorder: DecisionRecorder | None,
) -> ErrorInfo | None:
    """A value a loop body read from its carry (`range(carry[1])` with init `(h, reps)`): the
    argument the slot was built from, that the carry is traced whatever it was, whether
    making it static alone helps (re-traced), and the rewrite that reads it from the
    enclosing function instead, verified. None where the value came through no carry (the
    source and JAX's own account explain it then)."""
    site = sites[-1] if sites else None
    if recorder is None or site is None or site.construct is None:
        return None
    code, needed = site.frame.code, site.construct.needed
    slots = [slot for e in needed for slot in recorder.carry_slots_of(code, e)]
    if not slots:
        return None
    params = {p.name: p for p in plan.params}
    carried = list(dict.fromkeys(d.name for s in slots for d in s.dependencies if d.name in params))
    found = [d for e in needed for d in recorder.dependencies_of(code, e, needs_value=True)]
    # A carry slot is traced, whatever the argument it was built from was.
    depends_on = _in_signature_order(
        plan, dict.fromkeys(Dependency(d.name, "value") if d.name in carried else d for d in found)
    )
    budget = Budget(MAX_RETRACES)
    static_alone = _static_alone(exc, target, plan, carried, budget)
    suggestions = []
    if static_alone is not None and static_alone.trial.result.ok:
        suggestions.append(
            _static_suggestion(
                list(static_alone.trial.group), params, site.construct, verified=True
            )
        )
    else:
        suggestions += _read_outside_carry(target, plan, site, sites, carried, slots, budget)
    advice = ADVICE.get(site.construct.kind)
    if advice and not any(s.verified for s in suggestions):
        suggestions.append(Suggestion("advice", (), advice))
    return dataclasses.replace(
        error_info(exc),
        file=site.frame.file,
        line=site.frame.line,
        depends_on=tuple(depends_on),
        suggestions=proven_first(suggestions),
        construct=site.construct.kind,
        explanation=_carried_text(site, _nearest_slot(slots, code), carried, static_alone),
        column=_columns(site)[0],
        end_column=_columns(site)[1],
    )


def _nearest_slot(slots: Sequence[CarrySlot], code: types.CodeType) -> CarrySlot:
    """The carry of the function that failed (not of a loop around its loop)."""
    return next((slot for slot in slots if slot.function == code.co_name), slots[0])


@dataclass(frozen=True)
class CarriedStatic:
    """What making the carried arguments static did: `already` where they were static in the
    failing trace itself (its failure is the proof), else the re-trace with them static."""

    already: bool
    trial: StaticTrial


def _static_alone(
    exc: BaseException, target: Target, plan: CallPlan, carried: Sequence[str], budget: Budget
) -> CarriedStatic | None:
    """The trace with the carried arguments static but still carried; None where one has no
    Python value to re-trace it static with."""
    params = {p.name: p for p in plan.params}
    if carried and all(params[name].static for name in carried):
        return CarriedStatic(True, StaticTrial(tuple(carried), Attempt(exc), past_it=False))
    if not carried or any(_static_value(params[n]) is None for n in carried):
        return None
    if not budget.take():
        return None
    static = {name: _static_value(params[name]) for name in carried}
    result = attempt(target, plan.with_values(static, static=set(carried)))
    past_it = result.ok or failure_place(result.error) != failure_place(exc)  # type: ignore[arg-type]
    return CarriedStatic(False, StaticTrial(tuple(carried), result, past_it))


def _static_value(param: BoundParam) -> Any:
    """The Python value the parameter would take as a static argument, or None."""
    return param.value if param.static else _concrete_scalar(param)


def _carried_text(
    site: Site, slot: CarrySlot, carried: Sequence[str], static: CarriedStatic | None
) -> str:
    """Which carry slot the value is, what it was built from, why it is traced, and what
    re-tracing with the argument static showed."""
    assert site.construct is not None
    loop = LOOPS.get(slot.loop, slot.loop)
    which = f"slot {slot.slot} of the `{loop}` carry" if slot.slot is not None else "the carry"
    needs = NEEDS.get(site.construct.kind, "a concrete value")
    parts = [
        f"{_capital(site.construct.label)} needs {needs}, but "
        f"`{_expression_text(site.construct)}` is a tracer: it is {which} that "
        f"`{slot.function}` receives as `{slot.parameter}`, built from `{slot.init}` "
        f"(line {slot.line}). JAX traces a loop's body once, with an abstract value in every "
        f"carry slot, so a carry is always traced, whatever the argument was."
    ]
    if static is None or static.trial.result.ok:
        return " ".join(parts)
    names = _and([f"`{n}`" for n in carried])
    one = len(carried) == 1
    if static.already:
        said = f"{names} {'is' if one else 'are'} static in this trace, and it fails here anyway"
    else:
        said = f"jaxexplain re-traced with {names} static, and it still fails here"
    if static.trial.past_it:
        said = (
            f"jaxexplain re-traced with {names} static: that gets past this line, but tracing "
            f"then fails at {where_it_fails(static.trial.result.error)}"
        )
        return " ".join([*parts, f"{said}."])
    return " ".join(
        [
            *parts,
            f"{said}: making {_it(carried)} static is not enough while "
            f"{_it(carried)} {'is' if one else 'are'} in the carry.",
        ]
    )


def _read_outside_carry(
    target: Target,
    plan: CallPlan,
    site: Site,
    sites: list[Site],
    carried: Sequence[str],
    slots: Sequence[CarrySlot],
    budget: Budget,
) -> list[Suggestion]:
    """The fix: the body reads the argument from the enclosing function, not from the carry,
    with it static. Generated as a rewrite of the target (where the body is nested in it),
    re-traced with the argument static and compared with the user's code; said precisely and
    marked unverified where it cannot be generated or checked."""
    if len(carried) != 1 or site.construct is None or len(site.construct.needed) != 1:
        return []
    name, needed = carried[0], site.construct.needed[0]
    body, outer = _nearest_slot(slots, site.frame.code).function, sites[0].frame.code.co_name
    param = next(p for p in plan.params if p.name == name)
    value = _static_value(param)
    flags = f"--static {name}=VALUE"
    how = _static_how([name], {name: value}, {name: param})
    if value is None:
        how = f" ({flags}, or jax.jit(..., static_argnames={_names_tuple([name])}))"
    static = f"mark it static{how}"
    cost = _static_cost([name], site.construct)
    owner = _function_object(target.function)
    rewrite, why_not = _closure_rewrite(sites, site, name, needed, owner)
    if rewrite is None:
        text = (
            f"Give `{name}` to `{body}` by closure or functools.partial instead of through the "
            f"carry, read it there instead of `{ast.unparse(needed)}`, and {static}. Not "
            f"verified: {why_not}, so jaxexplain cannot rewrite it."
        )
        return [Suggestion("rewrite", (name,), text, cost=cost)]
    subject = (
        f"Read `{name}` from `{outer}` instead of `{ast.unparse(needed)}` in `{body}`, and "
        f"{static}: replace line {rewrite.first_line} of {rewrites_short(site.frame.file)} with "
        f"the code below"
    )
    if value is None:
        text = (
            f"{subject}. Not verified: this call gives `{name}` as an array "
            f"({_aval(param.value)}), not a Python number jaxexplain could re-trace with as a "
            f"static argument; pass it with {flags}."
        )
        return [Suggestion("rewrite", (name,), text, code=rewrite.code, cost=cost)]
    if not budget.take():
        return []
    static_plan = plan.with_values({name: value}, static={name})
    aliases = module_aliases(owner.__globals__)
    check = verify_rewrite(target, static_plan, site, owner, rewrite, aliases, sites)
    if check.status == FAILS:
        text = f"{subject.split(': replace')[0]}: jaxexplain tried it, but {check.detail}."
        return [Suggestion("advice", (), text)]
    done = (
        f"jaxexplain traced it with `{name}` static and {_compared_text(check)}"
        if check.status == VERIFIED
        else f"it traces with `{name}` static, but {check.detail}, so check it yourself"
    )
    return [
        Suggestion(
            "rewrite",
            (name,),
            f"{subject}; {done}.",
            code=rewrite.code,
            cost=cost,
            verified=check.status == VERIFIED,
            checks=check.checks or (TRACED,),
        )
    ]


def _closure_rewrite(
    sites: list[Site], site: Site, name: str, needed: ast.expr, owner: Any
) -> tuple[Rewrite | None, str]:
    """The target with `needed` (a plain read of the carry slot) replaced by `name`, the
    target's own parameter, which the body nested in it then reads by closure; else None and
    why not."""
    outer, body = sites[0].function, site.function
    if outer is None or body is None or sites[0].frame.code is not owner.__code__:
        return None, "jaxexplain cannot read the traced function's source"
    if len(list(sa.reads(needed, None))) != 1:
        return None, f"`{ast.unparse(needed)}` reads more than the carry slot"
    functions = [body.node, *(a for a in outer.ancestors(body.node) if isinstance(a, sa.FUNCTIONS))]
    if functions[-1] is not outer.node:
        return None, f"`{body.node.name}` is not defined inside `{outer.node.name}`"
    for function in functions[:-1]:
        if name in sa.parameters(function) or name in outer.source.bindings(function):
            where = getattr(function, "name", "a lambda")
            return None, f"`{name}` is also a name of `{where}`, which hides the argument"
    return rewrites.read_name_instead(outer, needed, name, "read_static"), ""


# ---------------------------------------------------------------------------------------------
# Failures inside a library's code


@dataclass(frozen=True)
class LibrarySite:
    """The line inside a library (JAX's own included) that needed the value, below the user's
    call into it: the user's line alone reads as if the call's result were the tracer."""

    package: str
    path: str
    line: int
    source: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def library_site(exc: BaseException) -> LibrarySite | None:
    """Where library code below the user's last frame raised (None when the user's own line
    did, or jaxexplain): the innermost frame of a library other than JAX and the array
    libraries it calls into when there is one (equinox's `MLP` line, not the
    `jax.random.split` it calls; numpyro's `int(np.prod(...))`, not NumPy's `ufunc.reduce`),
    else NumPy's (the user called it), else JAX's innermost. Its path is shown from the
    package's directory on, as `flax/linen/attention.py`."""
    below: list[types.TracebackType] = []
    tb = exc.__traceback__
    while tb is not None:
        below = [] if is_user_file(tb.tb_frame.f_code.co_filename) else [*below, tb]
        tb = tb.tb_next
    if not below or _package(below[-1].tb_frame) in ("jaxexplain", ""):
        return None
    libraries = [t for t in below if _library_package(t.tb_frame) is not None]
    named = [t for t in libraries if _package(t.tb_frame) not in _ARRAY_INTERNALS]
    chosen = (named or libraries or below)[-1]
    file = chosen.tb_frame.f_code.co_filename
    package = _package(chosen.tb_frame)
    source = linecache.getline(file, chosen.tb_lineno).strip()
    return LibrarySite(package, _library_path(file, package), chosen.tb_lineno, source)


# Array libraries that a library's own line calls into (numpyro's `np.prod(batch_shape)` ends in
# NumPy's `ufunc.reduce`): their frames are plumbing, skipped like JAX's when a library of the
# user's own choice lies above them, and named only when the user called them directly.
_ARRAY_INTERNALS = ("numpy", "ml_dtypes", "opt_einsum")


def _library_path(file: str, package: str) -> str:
    parts = file.split(os.sep)
    if package in parts:
        start = len(parts) - 1 - parts[::-1].index(package)
        return "/".join(parts[start:])
    return os.path.basename(file)


def failure_place(exc: BaseException) -> tuple[tuple[str, int] | None, str | None]:
    """Where a trace failed: the user's innermost line and the library line below it (if any).
    A fix gets past a failure when its re-trace fails elsewhere, or not at all."""
    frames = user_frames(exc)
    user = (frames[-1].file, frames[-1].line) if frames else None
    library = library_site(exc)
    return user, library.where if library else None


@dataclass(frozen=True)
class StaticTrial:
    """One re-trace with `group` static, and whether it got past the failure explained."""

    group: tuple[str, ...]
    result: Attempt
    past_it: bool


def probe_statics(
    exc: BaseException | None,
    target: Target,
    plan: CallPlan,
    candidates: Sequence[str],
    budget: Budget,
) -> list[StaticTrial]:
    """Re-traces with traced Python numbers made static: each alone, then all together, then a
    group widened by the traced numbers its re-trace still needed (`while t < t_end`, `t`
    stepped by `dt`); stops at the first that traces.

    Perturbing is the truth where the source cannot be followed (a value needed inside a
    library): the group whose static re-trace gets past this failure is what reached it.
    """
    params = {p.name: p for p in plan.params}
    groups: list[tuple[str, ...]] = [(name,) for name in candidates]
    if len(candidates) > 1:
        groups.append(tuple(candidates))
    trials: list[StaticTrial] = []
    for group in groups:
        if not budget.take():
            return trials
        trials.append(_static_trial(exc, target, plan, group, params))
        if trials[-1].result.ok:
            return trials
    tried = {trial.group for trial in trials}
    for trial in list(trials):
        assert trial.result.error is not None
        more = _more_scalars_needed(trial.result.error, target, plan, list(trial.group))
        wider = tuple(dict.fromkeys((*trial.group, *more)))
        if not more or wider in tried or not budget.take():
            continue
        tried.add(wider)
        trials.append(_static_trial(exc, target, plan, wider, params))
        if trials[-1].result.ok:
            return trials
    return trials


def _static_trial(
    exc: BaseException | None,
    target: Target,
    plan: CallPlan,
    group: tuple[str, ...],
    params: dict[str, BoundParam],
) -> StaticTrial:
    result = attempt(target, plan.with_values(_static_values(group, params), static=set(group)))
    past_it = (
        result.ok or exc is None or failure_place(result.error) != failure_place(exc)  # type: ignore[arg-type]
    )
    return StaticTrial(group, result, past_it)


def responsible(trials: Sequence[StaticTrial]) -> StaticTrial | None:
    """The first re-trace that got past the failure: the smallest group tried first."""
    return next((trial for trial in trials if trial.past_it), None)


def _traced_scalars(plan: CallPlan) -> list[str]:
    """Every traced parameter with a Python number to re-trace it static with."""
    return [p.name for p in plan.params if not p.static and _concrete_scalar(p) is not None]


def probed_dependencies(
    depends_on: Sequence[Dependency], trials: Sequence[StaticTrial]
) -> list[Dependency]:
    """The value dependencies perturbing proved: the group whose static re-trace got past the
    failure (with it static the value was concrete, so nothing else traced reached it);
    none when no re-trace got past it; static and global dependencies stay."""
    kept = [d for d in depends_on if d.via != "value"]
    found = responsible(trials)
    if found is None:
        return kept
    return [*(Dependency(name, "value") for name in found.group), *kept]


# ---------------------------------------------------------------------------------------------
# Trying fixes


class Budget:
    """How many more re-traces this explanation may spend (each one is a real trace)."""

    def __init__(self, retraces: int) -> None:
        self.left = retraces

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


@dataclass(frozen=True)
class Attempt:
    """The result of re-tracing with a fix applied: None when tracing succeeded."""

    error: BaseException | None

    @property
    def ok(self) -> bool:
        return self.error is None


def attempt(target: Target, plan: CallPlan) -> Attempt:
    """Traces the plan; the exception, if any, is kept to say where the fix got to."""
    try:
        trace_plan(target, plan)
    except Exception as exc:
        return Attempt(exc)
    return Attempt(None)


def where_it_fails(exc: BaseException | None) -> str:
    """`file:line (`source`): Type` for a re-trace that still failed."""
    if exc is None:
        return "nowhere"
    info = error_info(exc)
    where = f"{info.file}:{info.line}" if info.file else "inside JAX"
    source = f" (`{info.source}`)" if info.source else ""
    message = info.message.splitlines()[0].rstrip(".") if info.message else ""
    return f"{where}{source}: {info.type}: {message}"


def make_static_suggestions(
    target: Target,
    plan: CallPlan,
    depends_on: Sequence[Dependency],
    construct: Construct | None,
    exc: BaseException | None,
    budget: Budget,
    trials: Sequence[StaticTrial] | None = None,
) -> list[Suggestion]:
    """Making traced Python scalars static, as far as re-tracing proved it (`probe_statics`):
    the first group that traced, verified; else the first that got past this failure, with
    where tracing then fails; groups that fail here again are not offered.

    A 0-d traced argument given without a Python value cannot be re-traced static; when the
    value comes from 0-d arguments, one of them such (and from no array data), making them all
    static is offered unverified, with how to let jaxexplain verify it; so are such arguments
    when `trials` (perturbing where the source could not tell) found nothing responsible.
    """
    params = {p.name: p for p in plan.params}
    scalars = [
        d.name
        for d in depends_on
        if d.via == "value" and d.name in params and _could_be_static(params[d.name])
    ]
    if any(_scalar_without_value(params[name]) for name in scalars):
        if _array_value_params(plan, depends_on):
            return []
        return [_unverifiable_static_suggestion(scalars, params, construct)]
    probed = trials is not None
    if trials is None:
        candidates = [
            d.name
            for d in depends_on
            if d.via == "value"
            and d.name in params
            and _concrete_scalar(params[d.name]) is not None
        ]
        trials = probe_statics(exc, target, plan, candidates, budget)
    passed = next((trial for trial in trials if trial.result.ok), None)
    if passed is not None:
        return [_static_suggestion(list(passed.group), params, construct, verified=True)]
    found = responsible(trials)
    unvalued = [p.name for p in plan.params if not p.static and _scalar_without_value(p)]
    if probed and found is None and unvalued and not _array_value_params(plan, depends_on):
        # The source could not tell, and perturbing could not try these (no Python value):
        # they may be what reached it.
        return [_unverifiable_static_suggestion(unvalued, params, construct)]
    if found is None:
        return []
    return [
        _static_suggestion(
            list(found.group), params, construct, verified=False, then=found.result.error
        )
    ]


def _more_scalars_needed(
    exc: BaseException, target: Target, plan: CallPlan, group: list[str]
) -> list[str]:
    """Traced Python numbers that a re-trace with `group` static still needed concretely:
    `while t < t_end` with `t` stepped by `dt` needs `t_end` first, then `dt` (the test is
    the same line both times), so `t_end` alone never gets past it, and both together do."""
    if not is_concretization(exc):
        return []
    static_plan = plan.with_values(
        _static_values(group, {p.name: p for p in plan.params}), static=set(group)
    )
    sites = read_sites(frames_below_target(user_frames(exc), target))
    params = {p.name: p for p in static_plan.params}
    return [
        d.name
        for d in dependencies(exc, target, static_plan, sites)
        if d.via == "value"
        and d.name not in group
        and d.name in params
        and _concrete_scalar(params[d.name]) is not None
    ]


def _static_suggestion(
    names: list[str],
    params: dict[str, BoundParam],
    construct: Construct | None,
    *,
    verified: bool,
    then: BaseException | None = None,
) -> Suggestion:
    subject = f"Mark {_and([f'`{n}`' for n in names])} static"
    how = _static_how(names, {n: _concrete_scalar(params[n]) for n in names}, params)
    if verified:
        text = f"{subject}{how}: jaxexplain re-traced with it, and tracing succeeds."
    else:
        text = (
            f"{subject}{how}: that gets past this line, but tracing then fails at "
            f"{where_it_fails(then) if then else 'another line'}."
        )
    cost = _static_cost(names, construct)
    checks = (TRACED,) if verified else ()
    return Suggestion(
        "make_static", tuple(names), text, cost=cost, verified=verified, checks=checks
    )


def _static_how(names: Sequence[str], values: dict[str, Any], params: dict[str, BoundParam]) -> str:
    """` (--static n=4, or jax.jit(..., static_argnames=('n',)))`: every way that works, as
    the user writes it; the command line only where it can give each value."""
    flags = [_static_flag(params[n], values[n]) for n in names]
    jit = f"jax.jit(..., static_argnames={_names_tuple(names)})"
    lists = [n for n in names if isinstance(params[n].value, list)]
    if lists:
        jit += f", passing {_and(lists)} as {'a tuple' if len(lists) == 1 else 'tuples'}"
    if None in flags:
        return f" ({jit})"
    return f" ({' '.join(f for f in flags if f)}, or {jit})"


def _static_flag(param: BoundParam, value: Any) -> str | None:
    """The command-line option that makes `param` static with `value`: `--static n=4` where a
    literal spells the value (quoted for the shell where it needs it: `'shape=(4, 5)'`);
    `--static NAME` alone for an object an --args-from factory gives, which that keeps as it
    is (`--static solver=...` would pass a string or Ellipsis); None where neither can (an
    object given through the Python API or a partial)."""
    if _spelled_by_literal(value):
        return "--static " + shlex.quote(f"{param.name}={value!r}")
    if param.source == "factory" and value is param.value:
        return f"--static {param.name} with no =VALUE, which keeps the --args-from factory's value"
    return None


def _spelled_by_literal(value: Any) -> bool:
    """`ast.literal_eval(repr(value))` gives the value back, as `--static` reads it."""
    try:
        read = ast.literal_eval(repr(value))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return type(read) is type(value) and bool(read == value)


def _names_tuple(names: Sequence[str]) -> str:
    """`('n',)` for one name, `('t_end', 'dt')` for several: the tuple as a user writes it."""
    return repr(tuple(names))


def _unverifiable_static_suggestion(
    names: list[str], params: dict[str, BoundParam], construct: Construct | None
) -> Suggestion:
    """Making 0-d traced arguments static, unverified: some were given as arrays (`i32[]`),
    with no Python value to re-trace with."""
    unvalued = [n for n in names if _scalar_without_value(params[n])]
    subject = f"Mark {_and([f'`{n}`' for n in names])} static"
    how = f" (jax.jit(..., static_argnames={_names_tuple(names)}))"
    flags = " ".join(
        f"--static {n}=VALUE"
        if n in unvalued
        else _static_flag(params[n], _concrete_scalar(params[n])) or ""
        for n in names
    )
    kinds = _and([f"{n} as a Python {_scalar_without_value(params[n])}" for n in unvalued])
    avals = _and([f"{n} as an array ({_aval(params[n].value)})" for n in unvalued])
    text = (
        f"{subject}{how}: not verified, because this call gives {avals}, not a Python number "
        f"jaxexplain could re-trace with as a static argument. Pass {kinds} with {flags} to let "
        f"jaxexplain re-trace and verify it."
    )
    return Suggestion("make_static", tuple(names), text, cost=_static_cost(names, construct))


def _static_cost(names: Sequence[str], construct: Construct | None) -> str:
    cost = "one compilation per distinct value of " + _and(names)
    if construct is not None and construct.kind == "for_range":
        cost += ", and the loop is unrolled into the jaxpr (one copy of its body per iteration)"
    return cost


# ---------------------------------------------------------------------------------------------
# Rewrites of the user's code: generated, re-traced, compared


def rewrite_suggestions(
    target: Target,
    plan: CallPlan,
    site: Site,
    sites: list[Site],
    budget: Budget,
    from_constants: bool = False,
) -> list[Suggestion]:
    """The first rewrite of the failing construct that traces and matches the original."""
    assert site.function is not None and site.construct is not None
    owner = _owner_function(site, sites, target)
    if owner is None:
        return []
    aliases = module_aliases(owner.__globals__)
    tried: list[str] = []
    unchecked: list[Suggestion] = []
    candidates = rewrites.rewrite_for(
        site.function, site.construct, aliases, from_constants=from_constants
    )
    for rewrite in candidates:
        if not budget.take():
            break
        check = verify_rewrite(target, plan, site, owner, rewrite, aliases, sites)
        if check.status == VERIFIED:
            return [_rewrite_suggestion(site, rewrite, aliases, owner, check)]
        if check.status == TRACES:
            unchecked.append(_rewrite_suggestion(site, rewrite, aliases, owner, check))
        else:
            tried.append(f"{REWRITE_TEXT[rewrite.kind].split(' with ')[-1]}: {check.detail}")
    if unchecked:
        return unchecked[:1]
    if tried:
        return [Suggestion("advice", (), TRIED + " (" + "; ".join(tried) + ").")]
    return []


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


def _rewrite_suggestion(
    site: Site, rewrite: Rewrite, aliases: Aliases, owner: Any, check: RewriteCheck
) -> Suggestion:
    lines = (
        f"line {rewrite.first_line}"
        if rewrite.first_line == rewrite.last_line
        else f"lines {rewrite.first_line}-{rewrite.last_line}"
    )
    missing = [
        statement
        for alias, statement in (
            (aliases.jnp, "import jax.numpy as jnp"),
            (aliases.lax.split(".")[0], "from jax import lax"),
            (aliases.np, "import numpy as np"),
            (aliases.jax, "import jax"),
        )
        if alias in rewrite.uses and alias not in owner.__globals__
    ]
    imports = f" (after `{'; '.join(missing)}`)" if missing else ""
    where = f"{rewrites_short(site.frame.file)}"
    text = f"{REWRITE_TEXT[rewrite.kind]}: replace {lines} of {where}{imports} with the code below"
    if check.status == VERIFIED:
        text += f"; jaxexplain traced it and {_compared_text(check)}."
    else:
        text += f"; it traces under jit, but {check.detail}, so check it yourself."
    return Suggestion(
        "rewrite",
        (),
        text,
        code=rewrite.code,
        cost=REWRITE_COST[rewrite.kind],
        verified=check.status == VERIFIED,
        checks=check.checks or (TRACED,),
    )


def _compared_text(check: RewriteCheck) -> str:
    """What the comparison with the user's code showed; gradients named only where compared."""
    compared = f"compared it with your code on {check.trials} random inputs"
    if GRADIENTS in check.checks:
        return f"{compared}: the same values and gradients"
    note = f" ({check.detail})" if check.detail else ""
    return f"{compared}: the same values{note}"


def rewrites_short(path: str) -> str:
    import os

    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def module_aliases(namespace: dict[str, Any]) -> Aliases:
    """The names the user's module gives `jax.numpy`, `jax.lax` and NumPy (`jnp`, `lax`, `np`)."""
    jnp_name = next((k for k, v in namespace.items() if v is jax.numpy), "jnp")
    np_name = next((k for k, v in namespace.items() if v is np), "np")
    lax_name = next((k for k, v in namespace.items() if v is jax.lax), None)
    if lax_name is None:
        jax_name = next((k for k, v in namespace.items() if v is jax), None)
        lax_name = f"{jax_name}.lax" if jax_name else "lax"
    jax_alias = next((k for k, v in namespace.items() if v is jax), "jax")
    return Aliases(jnp=jnp_name, lax=lax_name, np=np_name, jax=jax_alias)


def _owner_function(site: Site, sites: list[Site], target: Target) -> Any:
    """The live function object whose code the failing frame ran (the target or a helper)."""
    code = site.frame.code
    target_fn = _function_object(target.function)
    if getattr(target_fn, "__code__", None) is code:
        return target_fn
    for other in sites:
        for value in other.frame.frame.f_globals.values():
            fn = _function_object(value) if callable(value) else None
            if getattr(fn, "__code__", None) is code:
                return fn
    return None


def _clone(fn: Any, code: types.CodeType, extra: dict[str, Any]) -> types.FunctionType:
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


def _alias_values(aliases: Aliases, namespace: dict[str, Any]) -> dict[str, Any]:
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
    if owner is _function_object(target.function):
        bound = getattr(target.function, "__self__", None)
        fn = types.MethodType(replacement, bound) if bound is not None else replacement
        yield Target(fn, fn, None)
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
    extra = _alias_values(aliases, owner.__globals__)
    try:
        code = rewrites.compile_function(
            rewrite.function, site.frame.file, owner.__code__.co_freevars
        )
        replacement = _clone(owner, code, extra)
    except (SyntaxError, ValueError, TypeError) as exc:
        return RewriteCheck(FAILS, f"it does not compile ({exc})")
    with substituted(target, owner, replacement, sites) as new_target:
        result = attempt(new_target, plan)
    if result.error is not None:
        return RewriteCheck(FAILS, f"tracing it raises {_short_error(result.error)}")
    return compare_on_random_inputs(target, plan, site, owner, rewrite, sites, replacement)


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
            return RewriteCheck(FAILS, f"running it raises {_short_error(exc)}")
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
            not_compared = f"differentiating the rewrite raises {_short_error(exc)}"
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


def _short_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {first_paragraph(str(exc)).splitlines()[0].rstrip('.')}"


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
            output = target.function(*args, **kwargs)
    except Exception:
        if not rewrite.forced:
            return None
        return elementwise_reference(target, plan, site, owner, rewrite, sites, rng)
    check = gradient_check(plan, output, rng)
    if check is None:
        return Reference(plan, output)
    try:
        with jax.disable_jit():
            gradients = gradients_of(target.function, plan, check)
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
        clone = _clone(owner, code, {rewrites.BRANCH_HELPER: recorder})
        try:
            with jax.disable_jit(), substituted(target, owner, clone, sites) as forced_target:
                outputs.append(forced_target.function(*args, **kwargs))
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
        clone = _clone(owner, code, {rewrites.BRANCH_HELPER: _forced_test(taken)})
        try:
            with jax.disable_jit(), substituted(target, owner, clone, sites) as forced_target:
                jacobian = jax.jacfwd(
                    _of_floats(forced_target.function, plan, check), argnums=range(len(primals))
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


# ---------------------------------------------------------------------------------------------
# Static arguments that cannot be hashed, and the cache's identity hashes


def explain_unhashable_static(exc: BaseException, target: Target, plan: CallPlan) -> ErrorInfo:
    """A static argument JAX cannot hash: which one, and hashable forms re-traced to work."""
    culprits = [p for p in plan.params if p.static and p.passed and not is_hashable(p.value)]
    base = _at_definition(exc, target)
    if not culprits:
        return base
    param = culprits[0]
    budget = Budget(3)
    suggestions = proven_first(
        [s for s in hashable_suggestions(target, plan, param, budget) if s is not None]
    )
    kind = type(param.value).__name__
    explanation = (
        f"Static arguments key jit's cache, so JAX hashes them; `{param.name}` is a {kind}, "
        f"which cannot be hashed ({_unhash_reason(param.value)})."
    )
    return dataclasses.replace(
        base,
        depends_on=(Dependency(param.name, "static"),),
        suggestions=suggestions,
        construct="static_argument",
        explanation=explanation,
    )


def _unhash_reason(value: Any) -> str:
    try:
        hash(value)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "hashable"


def _at_definition(exc: BaseException, target: Target) -> ErrorInfo:
    """Errors about arguments happen before the function runs: point at its `def` line."""
    fn = _function_object(target.function)
    code = getattr(fn, "__code__", None)
    info = error_info(exc)
    if code is None:
        return info
    node = rewrites.user_function(code)
    line = node.node.lineno if node else code.co_firstlineno
    return dataclasses.replace(
        info,
        file=code.co_filename,
        line=line,
        source=linecache.getline(code.co_filename, line).strip() or None,
    )


def hashable_suggestions(
    target: Target, plan: CallPlan, param: BoundParam, budget: Budget
) -> list[Suggestion | None]:
    """Hashable stand-ins for the value (tuple, frozen dataclass, hashable mapping), or tracing it."""
    value = param.value
    out: list[Suggestion | None] = []
    if isinstance(value, np.ndarray | jax.Array):
        traced = _traced_suggestion(target, plan, param, budget)
        out.append(traced)
        if traced is not None and traced.verified:
            return out
    frozen = _frozen_form(value)
    for text, replacement, cost in [frozen] if frozen is not None else []:
        if not budget.take():
            break
        if param.source == "cli" and type(replacement) is tuple:
            text += f' (on the command line: --static {param.name}="{replacement!r}")'
        cost = f"{cost} of {param.name}"
        result = attempt(target, plan.with_values({param.name: replacement}))
        out.append(
            Suggestion(
                "hashable",
                (param.name,),
                text
                + (
                    ": jaxexplain re-traced with it, and tracing succeeds."
                    if result.ok
                    else f"; tracing with it still fails at {where_it_fails(result.error)}."
                ),
                cost=cost,
                verified=result.ok,
            )
        )
        if result.ok:
            return out
    if not isinstance(value, np.ndarray | jax.Array):
        out.append(_traced_suggestion(target, plan, param, budget))
    return out


def _traced_suggestion(
    target: Target, plan: CallPlan, param: BoundParam, budget: Budget
) -> Suggestion | None:
    """Passing the value traced, when all its leaves are arrays or numbers, re-traced to check."""
    if not _traceable(param.value) or not budget.take():
        return None
    result = attempt(target, _as_traced(plan, param.name))
    text = f"Pass `{param.name}` as a traced argument instead (it holds array data)"
    if result.ok:
        text += ": jaxexplain re-traced with it traced, and tracing succeeds."
    else:
        assert result.error is not None
        text += f"; tracing then fails at {where_it_fails(result.error)}."
    return Suggestion(
        "make_traced",
        (param.name,),
        text,
        cost="none: its values no longer key the cache (one compilation per shape and dtype)",
        verified=result.ok,
    )


def _frozen_form(value: Any) -> tuple[str, Any, str] | None:
    """A hashable equivalent of `value` and how to write it, for lists, dicts and dataclasses."""
    per_value = "one compilation per distinct value"
    list_fields = _list_fields(value)
    if list_fields:
        frozen = _tuples_for_lists(value)
        if is_hashable(frozen):
            names = ", ".join(f"`{name}`" for name in list_fields)
            return (
                f"Make {names} of {type(value).__name__} a tuple: {frozen!r}",
                frozen,
                per_value,
            )
    if isinstance(value, list | tuple) and not isinstance(value, np.ndarray):
        frozen = _tuples_for_lists(value)
        if is_hashable(frozen):
            return (f"Pass a tuple instead of a list: {frozen!r}", frozen, per_value)
    if isinstance(value, dict):
        frozen_dict = HashableDict(value)
        if is_hashable(frozen_dict):
            return (
                "Pass an immutable, hashable mapping instead of a dict (for example "
                "flax.core.FrozenDict, or a frozen dataclass); jaxexplain tried a hashable dict "
                "with the same items",
                frozen_dict,
                per_value,
            )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        stand_in = _hashable_dataclass(value)
        if stand_in is not None:
            name = type(value).__name__
            return (
                f"Declare {name} with @dataclass(frozen=True) so that it hashes by its fields "
                f"(jaxexplain tried a copy of {name} hashed by its fields)",
                stand_in,
                per_value,
            )
    if isinstance(value, np.ndarray) or _jax_compat_is_array(value):
        frozen = _deep_tuple(np.asarray(value).tolist())
        return (
            f"Pass the values as a (nested) tuple: tuple({_short_repr(value)}.tolist())",
            frozen,
            per_value,
        )
    return None


def _jax_compat_is_array(value: Any) -> bool:
    return isinstance(value, jax.Array)


def _short_repr(value: Any) -> str:
    return "x" if len(repr(value)) > 40 else repr(value)


def _deep_tuple(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_deep_tuple(v) for v in value)
    return value


def _fields_of(value: Any) -> dict[str, Any] | None:
    """A NamedTuple's or a dataclass instance's fields by name; None for other values."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return dict(zip(value._fields, value, strict=True))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
    return None


def _list_fields(value: Any) -> list[str]:
    """The fields of a config (NamedTuple, dataclass) that hold lists, which cannot hash."""
    fields = _fields_of(value) or {}
    return [name for name, item in fields.items() if isinstance(item, list)]


def _tuples_for_lists(value: Any) -> Any:
    """`value` with every list in it a tuple, NamedTuples and dataclasses kept as they are."""
    fields = _fields_of(value)
    if fields is not None:
        tupled = {name: _tuples_for_lists(item) for name, item in fields.items()}
        if isinstance(value, tuple):
            return type(value)(**tupled)
        return dataclasses.replace(value, **tupled)
    if isinstance(value, list | tuple):
        return tuple(_tuples_for_lists(v) for v in value)
    return value


class HashableDict(dict):  # type: ignore[type-arg]
    """A dict that hashes by its items, standing in for FrozenDict when a fix is tried."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: repr(kv[0]))))


def _hashable_dataclass(value: Any) -> Any:
    """A copy of a dataclass instance whose class hashes by its fields, if its fields hash."""
    cls = type(value)
    fields = tuple(getattr(value, f.name) for f in dataclasses.fields(value))
    if not is_hashable(fields):
        return None
    hashed = type(
        cls.__name__,
        (cls,),
        {
            "__hash__": lambda self: hash(
                tuple(getattr(self, f.name) for f in dataclasses.fields(self))
            )
        },
    )
    stand_in: Any = object.__new__(hashed)
    stand_in.__dict__.update(value.__dict__)
    return stand_in


def _traceable(value: Any) -> bool:
    """Every leaf is an array or a number: the value could be passed traced."""
    leaves = jax.tree_util.tree_leaves(value)
    return bool(leaves) and all(
        isinstance(leaf, np.ndarray | jax.Array | int | float | complex | np.generic)
        and not isinstance(leaf, bool)
        for leaf in leaves
    )


def _as_traced(plan: CallPlan, name: str) -> CallPlan:
    params = tuple(
        dataclasses.replace(p, static=False) if p.name == name else p for p in plan.params
    )
    return dataclasses.replace(plan, params=params)


# ---------------------------------------------------------------------------------------------
# Traced arguments that are not arrays


def explain_not_an_array(exc: BaseException, target: Target, plan: CallPlan) -> ErrorInfo:
    """A traced argument JAX cannot turn into an array: which one, and whether static works."""
    match = _NOT_AN_ARRAY.search(str(exc))
    path = match["path"] if match else ""
    root = re.match(r"\w+", path)
    params = {p.name: p for p in plan.params}
    name = root[0] if root and root[0] in params else _first_non_array(plan)
    base = _at_definition(exc, target)
    if name is None:
        return base
    param = params[name]
    leaf = _non_array_leaf(param.value)
    kind = type(leaf).__name__
    explanation = (
        f"`{name}` is passed traced, but jit can only trace arrays and numbers; "
        f"{'its leaf ' + path + ' is' if path and path != name else 'it is'} a {kind}. "
        f"Values like this belong in static arguments (hashed, one compilation per value)."
    )
    suggestions: list[Suggestion] = []
    if is_hashable(param.value):
        result = attempt(target, plan.with_values({}, static={name}))
        cost = f"one compilation per distinct value of {name}"
        if _uses_identity(param.value):
            cost += f"; a {type(param.value).__name__} hashes by identity, so every new object recompiles"
        suggestions.append(
            Suggestion(
                "make_static",
                (name,),
                f"Mark `{name}` static{_static_how([name], {name: param.value}, params)}"
                + (
                    ": jaxexplain re-traced with it static, and tracing succeeds."
                    if result.ok
                    else f"; tracing then fails at {where_it_fails(result.error)}."
                ),
                cost=cost,
                verified=result.ok,
            )
        )
    if dataclasses.is_dataclass(leaf):
        suggestions.append(
            Suggestion(
                "advice",
                (name,),
                f"If {kind} holds arrays, register it as a pytree "
                f"(jax.tree_util.register_dataclass) so that jit traces its array fields.",
            )
        )
    return dataclasses.replace(
        base,
        depends_on=(Dependency(name, "value"),),
        suggestions=tuple(suggestions),
        construct="argument",
        explanation=explanation,
    )


def _uses_identity(value: Any) -> bool:
    from jaxexplain.tracing.cache_key import uses_identity_hash

    return uses_identity_hash(value)


def _is_array_like(leaf: Any) -> bool:
    try:
        jax.typeof(leaf)
    except TypeError:
        return False
    return True


def _non_array_leaf(value: Any) -> Any:
    return next(
        (leaf for leaf in jax.tree_util.tree_leaves(value) if not _is_array_like(leaf)), value
    )


def _first_non_array(plan: CallPlan) -> str | None:
    for p in plan.params:
        if p.passed and not p.static and not _is_array_like(_non_array_leaf(p.value)):
            return p.name
    return None


# ---------------------------------------------------------------------------------------------
# Reverse-mode differentiation of a loop with traced bounds


def explain_loop_grad(exc: BaseException, target: Target, plan: CallPlan) -> ErrorInfo:
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
    suggestions = make_static_suggestions(target, plan, ints, None, None, Budget(MAX_RETRACES))
    fixed = [name for s in suggestions if s.verified for name in s.params]
    parts = [
        "jax.grad (reverse mode) cannot differentiate a lax.fori_loop whose start or stop is a "
        "tracer: JAX turns it into a lax.while_loop, whose number of iterations is unknown "
        "when the gradient is built."
    ]
    if fixed:
        parts.append(
            f"The bound comes from {_and(fixed)}, a Python int passed traced: as static it "
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


# ---------------------------------------------------------------------------------------------
# Leaked tracers


def explain_leak(exc: BaseException, target: Target) -> ErrorInfo:
    """A tracer from a finished transformation was used: where it escaped, where it was made."""
    sites = read_sites(frames_below_target(user_frames(exc), target))
    base = error_info(exc)
    site = sites[-1] if sites else None
    message = str(exc)
    created = _LEAK_CREATED.search(message)
    traced = _LEAK_TRACED.search(message)
    holder = _leak_holder(site) if site else None
    parts = [
        "A value traced inside a JAX transformation was kept after that transformation "
        "finished (stored in a list, a global or an attribute instead of returned)"
    ]
    if traced:
        parts[0] += f": it was made while tracing `{traced['fn']}` for {traced['transform']}"
    if created:
        parts.append(f"It was created at {rewrites_short(created['file'])}:{created['line']}.")
    if site:
        parts.append(
            f"It escaped into line {site.frame.line}"
            + (f" through `{holder}`" if holder else "")
            + ", which uses it outside the trace it belongs to."
        )
    advice = Suggestion(
        "advice",
        (),
        "Return the value from the transformed function instead of storing it: from a "
        "lax.scan body as part of the carry or the stacked outputs, from a vmapped function as "
        "an output; keep Python-side state out of traced functions.",
    )
    return dataclasses.replace(
        base,
        file=site.frame.file if site else base.file,
        line=site.frame.line if site else base.line,
        source=_line_text(site.frame).strip() or None if site else base.source,
        suggestions=(advice,),
        construct="leaked_tracer",
        explanation=". ".join(p.rstrip(".") for p in parts) + ".",
        created_at=f"{created['file']}:{created['line']}" if created else None,
    )


def _leak_holder(site: Site) -> str | None:
    """The name in the failing expression whose value holds a tracer."""
    if site.construct is None:
        return None
    names = [r.name for expr in site.construct.needed for r in sa.reads(expr)]
    scope = {**site.frame.frame.f_globals, **site.frame.frame.f_locals}
    for name in dict.fromkeys(names):
        if name in scope and _holds_tracer(scope[name]):
            return name
    return None


def _holds_tracer(value: Any) -> bool:
    return bool(_tracers_in(value))


def _tracers_in(value: Any) -> list[Any]:
    try:
        leaves = jax.tree_util.tree_leaves(value)
    except Exception:
        return []
    return [leaf for leaf in leaves if isinstance(leaf, jax.core.Tracer)]


def leaked_tracer_error(target: Target, stages: Stages) -> ErrorInfo | None:
    """A successful trace that closed over a leaked tracer: calling it would raise.

    JAX stages a tracer from an earlier, finished trace as a constant of the new one, and only
    raises `UnexpectedTracerError` when the compiled function is called; jaxexplain never calls
    it, so it asks for the error JAX would raise then.
    """
    leaked = _jax_compat.leaked_tracers(stages.traced)
    if not leaked:
        return None
    used_at = _jax_compat.leaked_tracer_use(stages.traced)
    exc = _jax_compat.escaped_tracer_error(leaked[0])
    info = explain_leak(exc, target)
    if used_at is None:
        return info
    file, _, line = used_at.rpartition(":")
    return dataclasses.replace(
        info,
        file=file,
        line=int(line),
        source=linecache.getline(file, int(line)).strip() or None,
        explanation=info.explanation
        + f" It is used at {rewrites_short(file)}:{line}; the trace succeeds, but calling the "
        f"compiled function raises UnexpectedTracerError.",
    )


def tracers_in_user_globals(target: Target) -> dict[int, tuple[types.ModuleType, str]]:
    """Every tracer held by a module global of the user's code, by id, with where it is held.

    Taken before a trace and after it: only a tracer that is new afterwards was stored by this
    trace (a test or a notebook may hold tracers that earlier traces leaked). The tracers held
    stay alive while held, so their ids cannot be reused in between."""
    modules = [m for m in list(sys.modules.values()) if _is_user_module(m)]
    owner = sys.modules.get(getattr(_function_object(target.function), "__module__", ""))
    if owner is not None and owner not in modules:
        modules.insert(0, owner)
    held: dict[int, tuple[types.ModuleType, str]] = {}
    for module in modules:
        for name, value in list(vars(module).items()):
            for tracer in _tracers_in(value if isinstance(value, list | tuple | dict) else [value]):
                held.setdefault(id(tracer), (module, name))
    return held


def tracer_in_user_globals(
    target: Target, before: dict[int, tuple[types.ModuleType, str]]
) -> tuple[types.ModuleType, str] | None:
    """A module global of the user's code that holds a tracer this trace stored there.

    JAX says nothing when `global cache; cache = x` keeps a tracer: the trace succeeds, and the
    error comes later, wherever the global is used. Only the user's own modules are searched.
    """
    after = tracers_in_user_globals(target)
    return next((where for key, where in after.items() if key not in before), None)


def _is_user_module(module: Any) -> bool:
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and file.endswith(".py") and is_user_file(file)


def global_leak_error(module: types.ModuleType, name: str) -> ErrorInfo:
    """The global that kept a tracer, at the line of the function that assigned it."""
    file = getattr(module, "__file__", "") or ""
    line = _global_assignment_line(file, name)
    where = f" at {rewrites_short(file)}:{line}" if line else ""
    return ErrorInfo(
        type="UnexpectedTracerError",
        message=f"the module global `{name}` holds a tracer after tracing",
        file=file or None,
        line=line,
        source=linecache.getline(file, line).strip() or None if line else None,
        suggestions=(
            Suggestion(
                "advice",
                (),
                f"Return the value from the traced function instead of storing it in `{name}`; "
                "keep Python-side state out of traced functions (jax.checking_leaks() shows "
                "every leak while tracing).",
            ),
        ),
        construct="leaked_tracer",
        explanation=(
            f"A value traced inside jit was stored in the global `{name}`{where}. The trace "
            f"succeeds, but `{name}` now holds a tracer of a finished trace: any later use of "
            "it raises UnexpectedTracerError, and it never holds the computed value."
        ),
        raised_by="jaxexplain",
    )


def _global_assignment_line(file: str, name: str) -> int | None:
    """The first line in a function that stores into the global `name`: an assignment under
    `global name`, or a store into it (`name["h"] = x`, `name.attr = x`, `name.append(x)`)."""
    try:
        tree = ast.parse("".join(linecache.getlines(file)))
    except SyntaxError:
        return None
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        declared = any(isinstance(n, ast.Global) and name in n.names for n in ast.walk(function))
        for node in ast.walk(function):
            if _stores_into(node, name, declared):
                return node.lineno  # type: ignore[attr-defined, no-any-return]
    return None


def _stores_into(node: ast.AST, name: str, declared: bool) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return _root_name(node.func.value) == name
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    else:
        return False
    for target in targets:
        if isinstance(target, ast.Name) and target.id == name and declared:
            return True
        if isinstance(target, ast.Subscript | ast.Attribute) and _root_name(target) == name:
            return True
    return False


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
