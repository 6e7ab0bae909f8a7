"""The one place that touches private or version-dependent JAX APIs.

Each use says why no public API gives the fact; tests/test_jax_compat.py fails loudly when a
JAX release changes one of them. Supported: jax 0.4.38 (the last 0.4) to 0.12.x; each difference
between those releases is here, with a comment naming the releases on each side.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import jax

from jaxexplain.versions import release_of

JAX_VERSION = jax.__version__
# (major, minor, patch) of the running JAX, which the version differences below are read from.
JAX_RELEASE = release_of(JAX_VERSION) or (0, 0, 0)

# jax.monitoring's names for the stages of one compilation, which `watch` credits to the jit
# call that caused them. The listeners are public, the names are JAX's own strings
# (jax/_src/dispatch.py, compiler.py) that a release may rename.
# Tracing a function to a jaxpr (a trace-cache hit records none).
TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"
# Lowering the jaxpr to a StableHLO module.
LOWER_EVENT = "/jax/core/compile/jaxpr_to_mlir_module_duration"
# XLA's compile of the module.
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
# An executable read from the persistent compilation cache instead of compiled.
PERSISTENT_HIT_EVENT = "/jax/compilation_cache/cache_hits"


def unregister_duration_listener(listener: Callable[..., None]) -> None:
    """Removes a `jax.monitoring` duration listener that was registered."""
    # jax 0.4.38 has no public unregister; its private one takes the callback the same way.
    if hasattr(jax.monitoring, "unregister_event_duration_listener"):
        jax.monitoring.unregister_event_duration_listener(listener)
    else:
        from jax._src import monitoring

        private: Any = monitoring  # the 0.4.38 name, unknown to the installed stubs
        private._unregister_event_duration_listener_by_callback(listener)


def unregister_event_listener(listener: Callable[..., None]) -> None:
    """Removes a `jax.monitoring` event listener that was registered."""
    # jax 0.4.38 has no public unregister; its private one takes the callback the same way.
    if hasattr(jax.monitoring, "unregister_event_listener"):
        jax.monitoring.unregister_event_listener(listener)
    else:
        from jax._src import monitoring

        private: Any = monitoring  # the 0.4.38 name, unknown to the installed stubs
        private._unregister_event_listener_by_callback(listener)


def typeof(value: Any) -> Any:
    """The abstract value (shape, dtype, weak type) JAX sees for `value`; raises TypeError for a
    value that is not an array."""
    # jax 0.6+: public `jax.typeof`. jax 0.4.38: `jax.core.get_aval`, public then, same result.
    if hasattr(jax, "typeof"):
        return jax.typeof(value)
    core: Any = jax.core  # `get_aval` left jax.core's public names after 0.4
    return core.get_aval(value)


def _trace_cache_context() -> Callable[[int], Any]:
    """A context factory whose value enters JAX's trace context.

    JAX caches the traces of inner functions (a nested jit, a scan body) by function and trace
    context, so a value of this context that no cache entry holds makes JAX run their Python
    again, where jaxexplain records its decisions.
    """
    # jax 0.7+: `jax.make_user_context`, public and made for this.
    if hasattr(jax, "make_user_context"):
        return jax.make_user_context(None)
    # jax 0.4.38 to 0.6: no user context. Private: `hlo_source_file_canonicalization_regex` is
    # part of `config.trace_context()`, and a regex that can match nothing (`(?!)`) leaves the
    # locations it canonicalizes as they are; it is set during the trace only, never a lowering.
    from jax._src import config

    return lambda trace_id: config.hlo_source_file_canonicalization_regex(f"(?!){trace_id}")


_TRACE_CACHE_CONTEXT = _trace_cache_context()


class _ContextPool:
    """The context values free to lend: a value comes back once every cache entry keyed on it
    is evicted, so traces one after another reuse one value and JAX's caches stay bounded,
    while traces at once (threads) each hold a value of their own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[int] = []
        self._made = 0

    def lend(self) -> int:
        with self._lock:
            if self._free:
                return self._free.pop()
            self._made += 1
            return self._made

    def give_back(self, value: int) -> None:
        with self._lock:
            self._free.append(value)


_CONTEXT_POOL = _ContextPool()


@contextlib.contextmanager
def uncached_inner_traces() -> Iterator[None]:
    """A context in which no inner trace is served from JAX's cache of an earlier trace.

    Each use lends a context value; on leaving, every cache entry keyed on it is evicted before
    the value is lent again, so nothing cached under it can be hit by a later trace.
    """
    from jax._src import config

    value = _CONTEXT_POOL.lend()
    outside = config.trace_context()
    inside = outside
    misses = _unlisted_cache_misses()
    try:
        with _TRACE_CACHE_CONTEXT(value):
            inside = config.trace_context()
            yield
    finally:
        _evict_entries_under(_own_part(outside, inside), misses)
        _CONTEXT_POOL.give_back(value)


def _own_part(outside: tuple[Any, ...], inside: tuple[Any, ...]) -> dict[int, Any]:
    """The positions and values of the trace context that jaxexplain's value changed."""
    return {i: v for i, (o, v) in enumerate(zip(outside, inside, strict=False)) if o != v}


def _registered_caches() -> list[Any]:
    """Every cache JAX keys on the trace context (and a few more).

    Private: `jax._src.util._caches` is where JAX registers its caches for `jax.clear_caches`.
    """
    from jax._src import util

    return list(util._caches)


def _lists_keys(cache: Any) -> bool:
    """Whether jaxexplain can find a cache's entries keyed on its own context value."""
    return hasattr(cache, "evict_function") or (
        hasattr(cache, "cache_keys") and hasattr(cache, "evict_weakref")
    )


def _unlisted_cache_misses() -> dict[Any, int]:
    """The misses so far of each cache whose keys cannot be listed (`util.cache`, a
    functools.lru_cache), to tell after a trace which ones it added entries to."""
    return {
        cache: cache.cache_info().misses
        for cache in _registered_caches()
        if not _lists_keys(cache) and hasattr(cache, "cache_info")
    }


def _evict_entries_under(own: dict[int, Any], misses_before: dict[Any, int]) -> None:
    """Evicts from JAX's caches every entry whose trace context carries `own`.

    Three kinds of cache hold traces of user functions. `weakref_lru_cache` (pjit's
    `_infer_params_cached`, `trace_to_jaxpr`, unbounded there) lists its keys (`cache_keys`) but
    evicts one function's entries at a time (`evict_weakref`), so a function traced under `own`
    loses its other entries too (its next trace runs its Python again; nothing compiles again).
    `linear_util.cache` keeps a dict per function, and its `cache_clear` is bound to the dict
    of them, so its entries are deleted one by one. `util.cache` (a functools.lru_cache: a
    `lax.reduce` computation, a `closure_convert`) cannot list its keys: one that missed during
    the trace is cleared whole, its entries being a few small values computed again.
    """
    if not own:
        return
    for cache in _registered_caches():
        if hasattr(cache, "evict_function"):
            _evict_function_entries(cache.cache_clear.__self__, own)
        elif _lists_keys(cache):
            _evict_weakref_entries(cache, own)
        elif cache in misses_before and cache.cache_info().misses > misses_before[cache]:
            cache.cache_clear()


def _carries(context: Any, own: dict[int, Any]) -> bool:
    """Whether a cache key's trace context is one jaxexplain's value was part of."""
    if not isinstance(context, tuple):
        return False
    return all(
        i < len(context) and type(context[i]) is type(v) and context[i] == v for i, v in own.items()
    )


def _evict_weakref_entries(cache: Any, own: dict[int, Any]) -> None:
    """Evicts the functions of a `weakref_lru_cache` with an entry keyed on `own`; a key is
    (weakref to the function, trace context, arguments...)."""
    functions = {
        id(target): target
        for key in cache.cache_keys()
        if len(key) > 1 and _carries(key[1], own) and (target := key[0]()) is not None
    }
    for function in functions.values():
        cache.evict_weakref(function)


def _evict_function_entries(per_function: Any, own: dict[int, Any]) -> None:
    """Deletes the entries of a `linear_util.cache` keyed on `own`; a key ends with the trace
    context."""
    for entries in list(per_function.values()):
        for key in [k for k in entries if _carries(k[-1], own)]:
            del entries[key]


def traced_in_tree(traced: Any) -> Any:
    """The pytree structure of a `Traced`'s arguments, statics left out: what jit keys on.

    `Traced.in_tree` (jax.stages) is undocumented; it is the structure JAX itself flattened.
    """
    return traced.in_tree


def is_committed(value: Any) -> bool:
    """True for an array placed explicitly (`jax.device_put(x, device)`): jit keys its cache
    on the sharding of a committed array only.

    `jax.Array.committed` is undocumented; a `ShapeDtypeStruct` or a numpy array has none.
    """
    return bool(getattr(value, "committed", False))


# jaxlib's `CompiledMemoryStats` field of each memory figure; a backend may leave one out.
MEMORY_FIELDS = {
    "argument_bytes": "argument_size_in_bytes",
    "output_bytes": "output_size_in_bytes",
    "temp_bytes": "temp_size_in_bytes",
    "generated_code_bytes": "generated_code_size_in_bytes",
    "alias_bytes": "alias_size_in_bytes",
}


def memory_sizes(compiled: Any) -> dict[str, int | None] | None:
    """XLA's memory analysis of a compiled executable in bytes, by figure; None where the
    backend gives no analysis at all."""
    stats = compiled.memory_analysis()
    if stats is None:
        return None
    return {figure: getattr(stats, field, None) for figure, field in MEMORY_FIELDS.items()}


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


@dataclass(frozen=True)
class JitOptions:
    """The options a `jax.jit` wrapper was created with, as far as the cache key cares."""

    static_argnums: tuple[int, ...]
    static_argnames: tuple[str, ...]
    donate_argnums: tuple[int, ...]
    donate_argnames: tuple[str, ...]
    device: str | None
    backend: str | None
    in_shardings: tuple[Any, ...] = ()
    out_shardings: tuple[Any, ...] = ()


def is_jitted(obj: Any) -> bool:
    """True for a `jax.jit` wrapper (what `@jax.jit` or `partial(jax.jit, ...)` returns)."""
    return hasattr(obj, "trace") and hasattr(obj, "lower") and _jit_info(obj) is not None


def _jit_info(obj: Any) -> Any:
    # Private: the decorator's static_argnums/static_argnames are not exposed publicly.
    info = getattr(obj, "_jit_info", None)
    if info is not None or not callable(getattr(obj, "trace", None)):
        return info
    # jax 0.4.38 keeps no `_jit_info` on the wrapper: its `PjitInfo` is a free variable of the
    # wrapper's own `trace` (pjit's `_make_jit_wrapper`), under `api_boundary`'s functools.wraps.
    from jax._src import pjit

    trace = getattr(obj.trace, "__wrapped__", obj.trace)
    cells = getattr(trace, "__closure__", None) or ()
    return next(
        (c.cell_contents for c in cells if isinstance(c.cell_contents, pjit.PjitInfo)), None
    )


def jit_options(jitted: Any) -> JitOptions:
    """The static and donated arguments a jit wrapper was created with."""
    return jit_info_options(_jit_info(jitted))


def cache_size(jitted: Any) -> int:
    """Number of entries in a jit wrapper's C++ dispatch cache.

    Private: JAX exposes no public count of compiled entries; this is the ground truth that
    tests and `diff --verify` check digests against.
    """
    return int(jitted._cache_size())


def filter_jit_cache(wrapper: Any) -> Any:
    """The `jax.jit` inside an `equinox.filter_jit` wrapper, whose dispatch cache holds every
    compile of it.

    Private (equinox's `_cached` field): equinox exposes no count of its compiles; this is the
    ground truth a filter_jit diff is verified against.
    """
    return wrapper._cached


def clear_cache(jitted: Any) -> None:
    """Empties a jit wrapper's caches so that a verification starts from nothing."""
    jitted.clear_cache()


def trace_context() -> dict[str, str]:
    """The JAX configuration that jit keys its caches on, by name, as stable strings.

    Private: `jax._src.config.trace_context()` is exactly the context JAX's cache keys include;
    there is no public API that lists which options those are.
    """
    from jax._src import config as jax_config

    values = jax_config.trace_context()
    names = _trace_context_names(jax_config, len(values))
    return {name: _stable_repr(value) for name, value in zip(names, values, strict=True)}


def _trace_context_names(jax_config: Any, count: int) -> list[str]:
    """The option name of each value of `trace_context()`."""
    if hasattr(jax_config, "trace_context_names"):
        return list(jax_config.trace_context_names())
    # jax 0.4.38 to 0.7 have no `trace_context_names`: their `trace_context()` returns a tuple
    # of `<state>.value` written out in its source, in order; each state's option name is its
    # `_name` (jax_enable_x64), the context managers' (mesh_context_manager) their own.
    states = re.findall(r"(\w+)\.value", inspect.getsource(jax_config.trace_context))
    names = [getattr(getattr(jax_config, state, None), "_name", state) for state in states]
    if len(names) > count:
        return [f"trace_context[{i}]" for i in range(count)]
    # jax 0.7 appends the values of the user contexts (`make_user_context`) after those.
    return names + [f"user_context[{i}]" for i in range(count - len(names))]


def _stable_repr(value: Any) -> str:
    """repr without memory addresses, so equal contexts read equal across processes."""
    return _ADDRESS.sub("", repr(value))


def inner_jaxpr(traced: Any) -> Any:
    """The open `Jaxpr` of a `Traced`: jax 0.10 gives a ClosedJaxpr, 0.12 a Jaxpr."""
    jaxpr = traced.jaxpr
    return getattr(jaxpr, "jaxpr", jaxpr)


def cost_analysis(compiled: Any) -> dict[str, float]:
    """XLA's cost analysis as one dict (older jaxlibs returned a list with one dict per device)."""
    costs = compiled.cost_analysis()
    if isinstance(costs, (list, tuple)):
        costs = costs[0] if costs else {}
    return dict(costs or {})


def equation_source(eqn: Any) -> str | None:
    """`file:line` of the user frame that created a jaxpr equation, or None if JAX kept none."""
    from jax.extend import source_info_util

    summary = source_info_util.summarize(eqn.source_info)
    match = re.match(r"(.+?):(\d+)(?::\d+)? \(", summary)
    return f"{match[1]}:{match[2]}" if match else None


def equation_user_lines(eqn: Any) -> list[tuple[str, int]]:
    """(file, line) of every user frame on the Python stack that created a jaxpr equation,
    innermost first: the loop an equation was created in may be several calls up."""
    # Private: jax.extend.source_info_util summarizes the innermost user frame only.
    from jax._src import source_info_util

    # jax 0.4.38 and 0.5: `user_frames(source_info)`; from 0.6 or 0.7 `user_frames(traceback)`.
    takes_source_info = "source_info" in inspect.signature(source_info_util.user_frames).parameters
    source = eqn.source_info if takes_source_info else eqn.source_info.traceback
    return [(frame.file_name, frame.start_line) for frame in source_info_util.user_frames(source)]


def pretty_print_with_tracebacks(jaxpr: Any) -> tuple[str, list[list[tuple[int, int, Any]]]]:
    """The jaxpr text with JAX's `# file:line:col (fn)` comment after each equation (never
    JAX's own ANSI colors, which it adds on a terminal: our lexer colors), and, per text line,
    the regions `(start column, end column, traceback)` that equations printed there.

    Private: the printer's `source_map` side output is the only link from a text line to the
    equation that printed it; its summary comment names one frame, where the whole stack is
    needed to find the user's line above a library's.
    """
    source_map: list[list[tuple[int, int, Any]]] = []
    with _source_map_of_tracebacks():
        text = jaxpr.pretty_print(
            source_info=True, name_stack=False, use_color=False, source_map=source_map
        )
    return text, source_map


@functools.cache
def _printer_maps_tracebacks() -> bool:
    """True where JAX's own jaxpr printer maps text to tracebacks (0.10 and later): seen by
    printing a one-equation jaxpr, since the release that changed it is not documented."""
    from jax._src import source_info_util

    source_map: list[list[tuple[int, int, Any]]] = []
    jax.make_jaxpr(lambda x: x + 1)(1.0).pretty_print(source_info=True, source_map=source_map)
    payloads = [region[2] for line in source_map for region in line]
    return not any(isinstance(p, source_info_util.Frame) for p in payloads)


@contextlib.contextmanager
def _source_map_of_tracebacks() -> Iterator[None]:
    """Has the jaxpr printer map each equation's text to the equation's whole traceback.

    jax 0.4.38 to 0.7 map it to the one user frame JAX picked (`pp_eqn`); 0.10 and later to
    the traceback. Private: for the older ones, `core.pp_eqn` is swapped for the later releases'
    body while one jaxpr prints (the module global the printer calls for each equation).
    """
    from jax._src import core, pretty_printer

    if _printer_maps_tracebacks():
        yield
        return

    def pp_eqn(eqn: Any, context: Any, settings: Any) -> Any:
        rule = (
            core._pp_eqn
            if not settings.custom_pp_eqn_rules
            else core.pp_eqn_rules.get(eqn.primitive, core._pp_eqn)
        )
        doc = rule(eqn, context, settings)
        traceback = eqn.source_info.traceback
        return doc if traceback is None else pretty_printer.source_map(doc, traceback)

    original = core.pp_eqn
    core.pp_eqn = pp_eqn
    try:
        yield
    finally:
        core.pp_eqn = original


def traceback_code_frames(traceback: Any) -> list[tuple[Any, int]]:
    """(code object, last instruction) of every Python frame of an equation's traceback,
    innermost first.

    Private: jaxlib's `Traceback.raw_frames`; the code objects let a caller classify files
    before paying for a line number (`frame_line`).
    """
    codes, lastis = traceback.raw_frames()
    return list(zip(codes, lastis, strict=True))


def frame_line(code: Any, lasti: int) -> int:
    """The first line of the expression a frame was running, as JAX's own summaries say it.

    Private: `Traceback.code_addr2location` is what `source_info_util.user_frames` uses.
    """
    from jax._src.lib import xla_client

    return int(xla_client.Traceback.code_addr2location(code, lasti)[0])


def sub_jaxprs(eqn: Any) -> list[Any]:
    """The jaxprs nested in an equation's params (cond branches, scan/while bodies, inner jits)."""
    found: list[Any] = []
    for value in eqn.params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            inner = getattr(item, "jaxpr", item)
            if hasattr(inner, "eqns"):
                found.append(inner)
    return found


def unwrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The Python function under a jit wrapper (`functools.wraps` sets `__wrapped__`)."""
    return getattr(fn, "__wrapped__", fn)


def patch_jit_cache_miss(
    wrap_infer: Callable[[Callable[..., Any]], Callable[..., Any]],
    wrap_run: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> Callable[[], None]:
    """Wraps the two steps that every jit dispatch-cache miss takes; returns the undo.

    Private: no public API observes a jit cache miss with the call's own arguments. `cache_miss`
    in jax/_src/pjit.py runs `_infer_params(fun, jit_info, args, kwargs)` (trace, or trace-cache
    hit) then `_run_python_pjit(params, args_flat, fun, args, kwargs)` (lower, compile, run), so
    wrapping them sees every miss of every jit wrapper, old or new. The wrapped steps are called
    with those arguments on every supported JAX.
    """
    from jax._src import pjit

    if hasattr(pjit, "_run_python_pjit"):
        return _patch_infer_and_run(pjit, wrap_infer, wrap_run)
    return _patch_python_pjit_helper(pjit, wrap_infer, wrap_run)


def _patch_infer_and_run(
    pjit: Any,
    wrap_infer: Callable[[Callable[..., Any]], Callable[..., Any]],
    wrap_run: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> Callable[[], None]:
    """jax 0.10+: `cache_miss` calls `_infer_params` and `_run_python_pjit` itself."""
    infer, run = pjit._infer_params, pjit._run_python_pjit
    pjit._infer_params = wrap_infer(infer)
    pjit._run_python_pjit = wrap_run(run)

    def restore() -> None:
        pjit._infer_params = infer
        pjit._run_python_pjit = run

    return restore


class _Inferred(threading.local):
    """The inference `_python_pjit_helper`'s adapter made, handed to the helper's own call."""

    def __init__(self) -> None:
        self.value: tuple[Any, Any] | None = None


def _patch_python_pjit_helper(
    pjit: Any,
    wrap_infer: Callable[[Callable[..., Any]], Callable[..., Any]],
    wrap_run: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> Callable[[], None]:
    """jax 0.4.38 and 0.7: `cache_miss` calls `_python_pjit_helper(fun, jit_info, *args,
    **kwargs)`, which runs `_infer_params` and then lowers, compiles and runs in one body.

    The helper is replaced by the two steps of later releases: the wrapped `_infer_params`, then
    the wrapped run, which calls the original helper with `_infer_params` answering from the
    inference just made (once, on this thread), so nothing is traced twice. Other callers of
    `_infer_params` (AOT `.trace()`) reach the wrapped one, as on later releases.
    """
    helper, infer = pjit._python_pjit_helper, pjit._infer_params
    inferred = _Inferred()
    wrapped_infer = wrap_infer(infer)

    def infer_params_once(fun: Any, jit_info: Any, args: Any, kwargs: Any) -> Any:
        if inferred.value is None:
            return wrapped_infer(fun, jit_info, args, kwargs)
        result, inferred.value = inferred.value, None
        return result

    def python_pjit_helper(fun: Any, jit_info: Any, *args: Any, **kwargs: Any) -> Any:
        def run(params: Any, args_flat: Any, fun: Any, args: Any, kwargs: Any) -> Any:
            inferred.value = (params, args_flat)
            try:
                return helper(fun, jit_info, *args, **kwargs)
            finally:
                inferred.value = None

        params, args_flat = wrapped_infer(fun, jit_info, args, kwargs)
        return wrap_run(run)(params, args_flat, fun, args, kwargs)

    pjit._infer_params = infer_params_once
    pjit._python_pjit_helper = python_pjit_helper
    unhide = hide_from_jax_tracebacks(__file__)

    def restore() -> None:
        pjit._infer_params = infer
        pjit._python_pjit_helper = helper
        unhide()

    return restore


def is_jit_cache_miss_frame(code: Any) -> bool:
    """True for the code of pjit's `cache_miss` closure (AOT `.trace()` calls `_infer_params` too).

    Private: the closure has no public name; its code object is identified by name and file.
    """
    from jax._src import pjit

    return bool(code.co_name == "cache_miss" and code.co_filename == pjit.__file__)


def called_by_jit_cache_miss(frame: FrameType | None) -> bool:
    """True where `frame`, the caller of a wrapped step, is pjit's `cache_miss`, this module's
    adapters between them skipped (jax 0.4.38 and 0.7 reach the steps through them)."""
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame is not None and is_jit_cache_miss_frame(frame.f_code)


def is_eager_primitive(fun: Any) -> bool:
    """True for the jit wrapper JAX makes around one primitive run eagerly (`jnp.ones` outside jit).

    Private: `dispatch.apply_primitive` marks those functions with `_apply_primitive` (jax 0.7+);
    jax 0.4.38 marks nothing: its functions are the `prim_fun` closures of
    `dispatch.xla_primitive_callable`, known by their code's name and file.
    """
    from jax._src import dispatch

    if getattr(fun, "_apply_primitive", False):
        return True
    code = getattr(fun, "__code__", None)
    return code is not None and (code.co_name, code.co_filename) == ("prim_fun", dispatch.__file__)


def trace_state_clean() -> bool:
    """False while a transformation (an outer jit's trace, vmap, grad) is active.

    Private: `core.trace_state_clean` is how jit itself decides whether a call compiles now or
    is staged into an enclosing computation.
    """
    from jax._src import core

    return bool(core.trace_state_clean())


def pjit_params_tree_and_avals(params: Any) -> tuple[Any, tuple[Any, ...]]:
    """The traced arguments' tree (statics removed) and flat abstract values of a jit call.

    Private: `PjitParams` is what `_infer_params` returns; these are exactly what JAX keyed on.
    """
    return params.in_tree, tuple(params.in_avals)


def jit_info_options(info: Any) -> JitOptions:
    """The static and donated arguments of the `PjitInfo` that `_infer_params` receives.

    Private: `PjitInfo` is the jit wrapper's `_jit_info`; same fields as `jit_options` reads.
    """
    return JitOptions(
        static_argnums=tuple(info.static_argnums),
        static_argnames=tuple(info.static_argnames),
        donate_argnums=tuple(info.donate_argnums),
        donate_argnames=tuple(info.donate_argnames),
        device=None if info.device is None else str(info.device),
        backend=info.backend,
        # Private too: the flattened in_shardings/out_shardings, `UnspecifiedValue` where unset.
        in_shardings=tuple(getattr(info, "in_shardings_leaves", None) or ()),
        out_shardings=tuple(getattr(info, "out_shardings_leaves", None) or ()),
    )


def hide_from_jax_tracebacks(path: str) -> Callable[[], None]:
    """Treats `path` as JAX's own code: out of filtered tracebacks and never a "user frame".

    Private: `traceback_util.register_exclusion` and `source_info_util.register_exclusion` have
    no public equivalent; without them a user's tracing error would show jaxexplain's hook
    frames, and JAX's own messages (jax_explain_cache_misses) would name a hook as the caller.

    Returns:
        The undo: both registrations removed, JAX's caches of the user-file test cleared.
    """
    from jax._src import source_info_util, traceback_util

    added = []
    for module in (traceback_util, source_info_util):
        if path not in module._exclude_paths:
            module.register_exclusion(path)
            added.append(module)

    def restore() -> None:
        for module in added:
            if path in module._exclude_paths:
                module._exclude_paths.remove(path)
        source_info_util._exclude_path_regex.cache_clear()
        source_info_util.is_user_filename.cache_clear()

    return restore


def jit_caller(frame: FrameType | None) -> FrameType | None:
    """The frame that called the jit wrapper whose cache miss `frame` is handling.

    Private: the wrapper is C++, so above pjit's `cache_miss` frame there is only JAX's
    `api_boundary` frame (traceback_util.py) and then the caller.
    """
    from jax._src import traceback_util

    while frame is not None and not is_jit_cache_miss_frame(frame.f_code):
        frame = frame.f_back
    frame = frame.f_back if frame is not None else None
    while frame is not None and frame.f_code.co_filename == traceback_util.__file__:
        frame = frame.f_back
    return frame


def leaked_tracers(traced: Any) -> list[Any]:
    """Tracers among the constants a `Traced` closed over: values leaked from a finished trace.

    Private: the `Traced`'s constants are kept nowhere public; JAX raises UnexpectedTracerError
    for a leaked one only when the compiled function is called.
    """
    return [c for c in _traced_consts(traced) if isinstance(c, jax.core.Tracer)]


def _traced_consts(traced: Any) -> list[Any]:
    """The constants a `Traced` passes to its jaxpr ahead of the arguments."""
    # jax 0.10+: `Traced._consts`. jax 0.4.38 and 0.7 keep no `_consts`: the constants are the
    # first `_num_consts` of `_args_flat`, the flat values the jaxpr is called with.
    if hasattr(traced, "_consts"):
        return list(traced._consts)
    return list(traced._args_flat[: traced._num_consts])


def leaked_tracer_use(traced: Any) -> str | None:
    """`file:line` of the first equation that reads a leaked tracer constant.

    Private: `Traced._num_consts` says how many leading jaxpr inputs are those constants.
    """
    jaxpr = inner_jaxpr(traced)
    consts = _traced_consts(traced)
    count = int(getattr(traced, "_num_consts", len(consts)))
    invars = list(jaxpr.constvars) or list(jaxpr.invars[:count])
    leaked = {id(v) for v, c in zip(invars, consts, strict=False) if isinstance(c, jax.core.Tracer)}
    for eqn in jaxpr.eqns:
        if any(id(v) in leaked for v in eqn.invars):
            return equation_source(eqn)
    return None


def escaped_tracer_error(tracer: Any) -> Exception:
    """The UnexpectedTracerError JAX raises when a leaked tracer is used, with its origin.

    Private: `core.escaped_tracer_error` builds the message (where the tracer was created and
    which function was being traced); no public API describes a tracer's origin.
    """
    from jax._src import core

    return core.escaped_tracer_error(tracer)


# ---------------------------------------------------------------------------------------------
# The jit cache layers: why a call is (not) kept on JAX's C++ fast path


@dataclass(frozen=True)
class FastPathCall:
    """One call of pjit's `_get_fastpath_data`, its arguments by JAX's parameter names.

    jax 0.4.38 takes (executable, out_tree, args_flat, out_flat, attrs_tracked, effects, consts,
    abstracted_axes, pgle_profiler); 0.7 drops `attrs_tracked` and adds `const_args`; 0.10 drops
    `abstracted_axes` too: names, unlike positions, mean the same on each.
    """

    arguments: dict[str, Any]
    # The names `_get_fastpath_data` reads (`co_names`), which say which conditions it checks.
    checks: frozenset[str]


def patch_fast_path_data(
    wrap: Callable[[Callable[[FastPathCall], Any]], Callable[[FastPathCall], Any]],
) -> Callable[[], None]:
    """Wraps pjit's `_get_fastpath_data`, JAX's own decision whether the C++ dispatch path may
    serve the next call of a jit cache entry (None: every call runs the Python path); returns
    the undo. The wrapper takes one `FastPathCall` and passes it on to the original.

    Private: no public API says whether a call left a fast-path entry. `cache_miss` calls the
    module global after lowering and running, with the executable, outputs and effects it judges.
    """
    from jax._src import pjit

    get = pjit._get_fastpath_data
    signature = inspect.signature(get)
    checks = frozenset(get.__code__.co_names)

    def get_call(call: FastPathCall) -> Any:
        return get(**call.arguments)

    wrapped = wrap(get_call)

    def get_fastpath_data(*args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(*args, **kwargs).arguments
        return wrapped(FastPathCall(dict(arguments), checks))

    pjit._get_fastpath_data = get_fastpath_data

    def restore() -> None:
        pjit._get_fastpath_data = get

    return restore


def fast_path_refusal(call: FastPathCall) -> str | None:
    """Which of `_get_fastpath_data`'s conditions kept a call off the C++ fast path, checked in
    jax 0.10's order on the call's own executable, outputs and effects; None when none holds.

    Private: the conditions are pjit's (`MeshExecutable`, `ExecuteReplicated`'s effect flags,
    `RefEffect`, PGLE, `jax_no_execution`, `reflatten_outputs_for_dispatch`); JAX names none.
    Those of one release only are checked where its `_get_fastpath_data` reads them.
    """
    from jax._src import config, pjit, state
    from jax._src.interpreters import pxla
    from jax._src.lib import xla_client

    arguments = call.arguments
    executable = arguments["executable"]
    run = getattr(executable, "unsafe_call", None)
    if not isinstance(executable, pxla.MeshExecutable) or not isinstance(
        run, pxla.ExecuteReplicated
    ):
        return "no_executable"
    if run.ordered_effects or run.has_unordered_effects:
        return "host_effects"
    # jax 0.4.38: any host callback, effect or not (jax.pure_callback), keeps the Python path.
    if "has_host_callbacks" in call.checks and run.has_host_callbacks:
        return "host_callbacks"
    # jax 0.4.38 and 0.7: jax.experimental's abstracted axes and attrs.
    if arguments.get("abstracted_axes") is not None:
        return "abstracted_axes"
    if arguments.get("attrs_tracked"):
        return "attrs"
    if any(isinstance(e, state.types.RefEffect) for e in arguments["effects"]):
        return "ref_effects"
    # jax 0.4.38 and 0.7 check PRNG keys for reuse (jax_debug_key_reuse) on the Python path.
    if "debug_key_reuse" in call.checks and _passes_prng_keys(arguments):
        return "key_reuse"
    if pjit._need_to_rebuild_with_fdo(arguments["pgle_profiler"]):
        return "pgle"
    # jax 0.7+: `jax_no_execution`, which jax 0.4.38 does not have.
    if "no_execution" in call.checks and config.no_execution.value:
        return "no_execution"
    outputs, _ = pxla.reflatten_outputs_for_dispatch(arguments["out_tree"], arguments["out_flat"])
    if not all(isinstance(x, xla_client.ArrayImpl) for x in outputs):
        return "outputs"
    return None


def _passes_prng_keys(arguments: dict[str, Any]) -> bool:
    """True under jax_debug_key_reuse where a PRNG key goes in or out (jax 0.4.38 and 0.7)."""
    from jax._src import config, dtypes

    if not config.debug_key_reuse.value:
        return False
    consts = arguments.get("consts", arguments.get("consts_for_constvars", ()))
    values = (*arguments["args_flat"], *arguments["out_flat"], *consts)
    return any(hasattr(v, "dtype") and dtypes.issubdtype(v.dtype, dtypes.prng_key) for v in values)


def pjit_params_jaxpr(params: Any) -> Any:
    """The closed jaxpr a jit call runs (`PjitParams.params["jaxpr"]`, what `_infer_params`
    returned). Private: the trace JAX cached is reachable only there."""
    return params.params["jaxpr"]


def effect_equations(jaxpr: Any) -> list[tuple[str, str | None]]:
    """(primitive, `file:line`) of every equation with a side effect (a host callback: jax.debug
    .print, io_callback), nested jaxprs included, in program order."""
    found: list[tuple[str, str | None]] = []
    for eqn in getattr(jaxpr, "jaxpr", jaxpr).eqns:
        inner = sub_jaxprs(eqn)
        if eqn.effects and not inner:
            found.append((eqn.primitive.name, equation_source(eqn)))
        for sub in inner:
            found += effect_equations(sub)
    return found


# ---------------------------------------------------------------------------------------------
# The persistent compilation cache (`jax_compilation_cache_dir`): what JAX did for each compile

# The parts of JAX's disk key, in the order and with the names of jax/_src/cache_key.py `get`.
_EVERY_DISK_KEY_PART = (
    "computation",
    "jax_lib version",
    "backend version",
    "XLA flags",
    "compile_options",
    "accelerator_config",
    "compression",
    "custom_hook",
)


def _disk_key_parts() -> tuple[str, ...]:
    """The parts the running JAX hashes: `get` names each as a string constant of its code."""
    from jax._src import cache_key

    # jax 0.4.38 hashes no "backend version"; 0.7 and later hash every part above.
    named = set(cache_key.get.__code__.co_consts)
    return tuple(part for part in _EVERY_DISK_KEY_PART if part in named)


DISK_KEY_PARTS = _disk_key_parts()
# jax.monitoring events JAX records inside `compile_or_get_cached` (jax/_src/compiler.py).
DISK_HIT_EVENT = "/jax/compilation_cache/cache_hits"
DISK_SAVED_EVENT = "/jax/compilation_cache/compile_time_saved_sec"
# Recorded only when JAX writes an entry (`put_executable_and_time`), not on every miss.
DISK_WRITE_EVENT = "/jax/compilation_cache/cache_misses"
MIN_COMPILE_TIME_SETTING = "jax_persistent_cache_min_compile_time_secs"
MIN_ENTRY_SIZE_SETTING = "jax_persistent_cache_min_entry_size_bytes"


@dataclass
class DiskCompile:
    """What JAX's persistent compilation cache did for one backend compile, as JAX computed it.

    `cache_dir` is the directory in effect (None: the cache is off and nothing else is
    collected); `parts` are JAX's own digest of each part of `key`; `readable` the same parts as
    text where JAX's inputs can be read back (flags, versions); `module_text` the StableHLO with
    its locations. The write facts (`reached_write`, `compile_seconds`, `entry_bytes`, ...) are
    the values JAX's `_cache_write` decided on.
    """

    module_name: str
    cache_dir: str | None
    key: str = ""
    parts: dict[str, str] = field(default_factory=dict)
    readable: dict[str, str] = field(default_factory=dict)
    module_text: str = ""
    hit: bool = False
    seconds_saved: float | None = None
    written: bool = False
    reached_write: bool = False
    reached_put: bool = False
    compile_seconds: float | None = None
    host_callbacks: int = 0
    process_id: int = 0
    entry_bytes: int | None = None
    cache_missing: bool = False
    read_error: str = ""
    write_error: str = ""
    min_compile_seconds: float = 0.0
    min_entry_bytes: int = 0
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    in_put: bool = False


def disk_cache_dir() -> str | None:
    """The persistent cache directory in effect: set and not disabled (`jax_compilation_cache_dir`,
    `JAX_COMPILATION_CACHE_DIR` or `set_cache_dir`), else None."""
    config: Any = jax.config  # its options are attributes that typeshed does not know
    if not config.jax_enable_compilation_cache:
        return None
    path = config.jax_compilation_cache_dir
    return str(path) if path else None


class _DiskState(threading.local):
    """The compiles in progress on this thread (a compile may start another: none do today)."""

    def __init__(self) -> None:
        self.stack: list[DiskCompile] = []
        self.parts: dict[str, str] | None = None


_DISK = _DiskState()


def _current_disk_compile() -> DiskCompile | None:
    return _DISK.stack[-1] if _DISK.stack else None


_DISK_LISTENERS: list[Callable[[DiskCompile], None]] = []
_DISK_LOCK = threading.Lock()
_DISK_RESTORE: list[Callable[[], None]] = []


def patch_persistent_cache(on_compile: Callable[[DiskCompile], None]) -> Callable[[], None]:
    """Has every backend compile that goes through JAX's persistent-cache path report a
    `DiskCompile` to `on_compile` (on the compiling thread, after the compile); returns the undo.

    With no cache directory in effect nothing is collected: JAX computes no disk key then, and
    one computed anyway would not be the key of any run, since a directory also enters the
    compile options (its XLA autotune cache path).
    The wrappers are installed once for all listeners (a watch and a trace may overlap, on
    several threads) and removed with the last. Private: no public API tells a disk hit from a
    miss per compile, why an entry was not written, or the key and its parts.
    """
    listener = on_compile
    with _DISK_LOCK:
        if not _DISK_LISTENERS:
            _DISK_RESTORE.append(_install_disk_wrappers())
        _DISK_LISTENERS.append(listener)

    def restore() -> None:
        with _DISK_LOCK:
            if listener in _DISK_LISTENERS:
                _DISK_LISTENERS.remove(listener)
            if not _DISK_LISTENERS and _DISK_RESTORE:
                _DISK_RESTORE.pop()()

    return restore


def _disk_report(record: DiskCompile) -> None:
    for listener in list(_DISK_LISTENERS):
        listener(record)


def _install_disk_wrappers() -> Callable[[], None]:
    from jax._src import cache_key, compilation_cache, compiler

    wrappers = {
        # pxla calls `compiler.compile_or_get_cached` for every backend compile, AOT included.
        (compiler, "compile_or_get_cached"): _wrap_compile(compiler.compile_or_get_cached),
        # `compiler._get_cache_key` calls it with the module, devices, options and backend.
        (compilation_cache, "get_cache_key"): _wrap_get_key(compilation_cache.get_cache_key),
        # `cache_key.get` calls it after each part with that part's hash function.
        (cache_key, "_log_cache_key_hash"): _wrap_log_part(cache_key._log_cache_key_hash),
        # `_cache_read` turns its exceptions into a warning: the read error is kept here.
        (compilation_cache, "get_executable_and_time"): _wrap_read(
            compilation_cache.get_executable_and_time
        ),
        # Decides whether to write: process id, host callbacks (jax 0.10), compile time.
        (compiler, "_cache_write"): _wrap_cache_write(compiler._cache_write),
        # Writes (or not: no cache, entry size); `_cache_write` turns its errors into a warning.
        (compilation_cache, "put_executable_and_time"): _wrap_put(
            compilation_cache.put_executable_and_time
        ),
        # The compressed entry whose size `put_executable_and_time` compares with the minimum.
        (compilation_cache, "compress_executable"): _wrap_compress(
            compilation_cache.compress_executable
        ),
    }
    # jax 0.10+: returns the key `compile_or_get_cached` reads and writes under (None: cache
    # unused). jax 0.4.38 has no such step: the key is the one `get_cache_key` returned.
    if hasattr(compiler, "_resolve_compilation_strategy"):
        wrappers[(compiler, "_resolve_compilation_strategy")] = _wrap_resolve(
            compiler._resolve_compilation_strategy
        )
    saved = {place: getattr(place[0], place[1]) for place in wrappers}
    for (module, name), wrapper in wrappers.items():
        setattr(module, name, wrapper)
    jax.monitoring.register_event_listener(_on_disk_event)
    jax.monitoring.register_event_duration_secs_listener(_on_disk_duration)

    def restore() -> None:
        for (module, name), original in saved.items():
            setattr(module, name, original)
        unregister_event_listener(_on_disk_event)
        unregister_duration_listener(_on_disk_duration)

    return restore


def _wrap_compile(original: Callable[..., Any]) -> Callable[..., Any]:
    def compile_or_get_cached(backend: Any, computation: Any, *args: Any, **kwargs: Any) -> Any:
        cache_dir = disk_cache_dir()
        if cache_dir is None:
            return original(backend, computation, *args, **kwargs)
        record = DiskCompile(_module_name(computation), cache_dir)
        record.module_text = computation.operation.get_asm(enable_debug_info=True)
        _DISK.stack.append(record)
        try:
            return original(backend, computation, *args, **kwargs)
        finally:
            _DISK.stack.remove(record)
            record.parts = record.keys.get(record.key, {})
            _disk_report(record)

    return compile_or_get_cached


def _module_name(computation: Any) -> str:
    from jax._src.lib.mlir import ir

    return str(ir.StringAttr(computation.operation.attributes["sym_name"]).value)


def _wrap_get_key(original: Callable[..., Any]) -> Callable[..., Any]:
    # jax 0.4.38 passes `ignore_callbacks` by keyword; later releases pass every argument by
    # position.
    def get_cache_key(
        module: Any, devices: Any, options: Any, backend: Any, *rest: Any, **keywords: Any
    ) -> Any:
        record = _current_disk_compile()
        if record is None:
            return original(module, devices, options, backend, *rest, **keywords)
        _DISK.parts = {}
        try:
            key = original(module, devices, options, backend, *rest, **keywords)
        finally:
            parts, _DISK.parts = _DISK.parts, None
        record.keys[key] = parts
        # The key in use until `_resolve_compilation_strategy` (jax 0.10+) says otherwise.
        record.key = key
        if not record.readable:
            record.readable = _readable_parts(devices, options, backend)
        return key

    return get_cache_key


def _wrap_log_part(original: Callable[..., Any]) -> Callable[..., Any]:
    def log_cache_key_hash(hash_obj: Any, name: str, hashfn: Callable[[Any], Any]) -> Any:
        if _DISK.parts is not None:
            fresh = hashlib.sha256()
            hashfn(fresh)
            _DISK.parts[name] = fresh.hexdigest()
        return original(hash_obj, name, hashfn)

    return log_cache_key_hash


def _wrap_resolve(original: Callable[..., Any]) -> Callable[..., Any]:
    def resolve_compilation_strategy(*args: Any, **kwargs: Any) -> Any:
        key, options = original(*args, **kwargs)
        record = _current_disk_compile()
        if record is not None:
            record.key = key or ""
        return key, options

    return resolve_compilation_strategy


def _wrap_read(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_executable_and_time(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        except Exception as exc:
            record = _current_disk_compile()
            if record is not None:
                record.read_error = f"{type(exc).__name__}: {exc}"
            raise

    return get_executable_and_time


# While above zero, no compile writes to the persistent cache: jaxexplain's own checks inside a
# watched program (a make_traced check, bucket edges) must not add entries to the user's
# directory, where an LRU limit could evict the program's own. The public setting of the least
# compile time worth writing is raised past any compile meanwhile, process-wide (a check may
# compile on another thread, and run after the watch removed its wrappers); reads still serve.
_DISK_WRITES_HELD: list[Any] = [0, None]
_HELD_LOCK = threading.Lock()
MIN_COMPILE_TIME_OPTION = "jax_persistent_cache_min_compile_time_secs"


@contextlib.contextmanager
def disk_writes_held() -> Iterator[None]:
    """No persistent-cache writes inside the block, on any thread."""
    with _HELD_LOCK:
        if _DISK_WRITES_HELD[0] == 0:
            config: Any = jax.config  # options read as attributes, unknown to typeshed
            _DISK_WRITES_HELD[1] = getattr(config, MIN_COMPILE_TIME_OPTION)
            jax.config.update(MIN_COMPILE_TIME_OPTION, float("inf"))
        _DISK_WRITES_HELD[0] += 1
    try:
        yield
    finally:
        with _HELD_LOCK:
            _DISK_WRITES_HELD[0] -= 1
            if _DISK_WRITES_HELD[0] == 0:
                jax.config.update(MIN_COMPILE_TIME_OPTION, _DISK_WRITES_HELD[1])


def _wrap_cache_write(original: Callable[..., Any]) -> Callable[..., Any]:
    from jax._src import config, distributed

    def cache_write(*args: Any, **kwargs: Any) -> Any:
        record = _current_disk_compile()
        if record is not None:
            record.reached_write = True
            record.compile_seconds = float(args[1])
            # jax 0.10 passes the host callbacks as a sixth argument and writes none with them.
            record.host_callbacks = len(args[5]) if len(args) > 5 else 0
            record.process_id = int(distributed.global_state.process_id)
            record.min_compile_seconds = float(config.persistent_cache_min_compile_time_secs.value)
        return original(*args, **kwargs)

    return cache_write


def _wrap_put(original: Callable[..., Any]) -> Callable[..., Any]:
    from jax._src import compilation_cache, config

    def put_executable_and_time(*args: Any, **kwargs: Any) -> Any:
        record = _current_disk_compile()
        if record is None:
            return original(*args, **kwargs)
        record.reached_put = True
        record.in_put = True
        try:
            return original(*args, **kwargs)
        except Exception as exc:
            record.write_error = f"{type(exc).__name__}: {exc}"
            # JAX records its write event before `cache.put`: a put that raised wrote nothing.
            record.written = False
            raise
        finally:
            record.in_put = False
            record.cache_missing = compilation_cache._cache is None
            record.min_entry_bytes = int(config.persistent_cache_min_entry_size_bytes.value)

    return put_executable_and_time


def _wrap_compress(original: Callable[..., Any]) -> Callable[..., Any]:
    def compress_executable(executable: bytes) -> bytes:
        compressed = original(executable)
        record = _current_disk_compile()
        if record is not None and record.in_put:
            record.entry_bytes = len(compressed)
        return compressed

    return compress_executable


def _on_disk_event(event: str, **_: Any) -> None:
    record = _current_disk_compile()
    if record is None:
        return
    if event == DISK_HIT_EVENT:
        record.hit = True
    elif event == DISK_WRITE_EVENT:
        record.written = True


def _on_disk_duration(event: str, duration_secs: float, **_: Any) -> None:
    record = _current_disk_compile()
    if record is not None and event == DISK_SAVED_EVENT:
        record.seconds_saved = float(duration_secs)


def not_written_reason(record: DiskCompile) -> tuple[str, str, str, str] | None:
    """Why JAX wrote no entry for a compile it did not serve from disk, in JAX's own order of
    checks: (why, setting, its value, the measured value); None when it wrote one.

    The checks are `_cache_write`'s and `put_executable_and_time`'s (jax/_src/compiler.py,
    compilation_cache.py), read from the values they were given.
    """
    if record.hit or record.written or not record.key:
        return None
    if not record.reached_write:
        return ("error", "", "", record.read_error)
    if not record.reached_put:
        if record.process_id != 0:
            return ("process", "process_id", "0", str(record.process_id))
        if record.host_callbacks:
            return ("host_callbacks", "", "", str(record.host_callbacks))
        return (
            "compile_time",
            MIN_COMPILE_TIME_SETTING,
            f"{record.min_compile_seconds:g}",
            f"{record.compile_seconds or 0.0:.2f}",
        )
    if record.write_error:
        return ("error", "", "", record.write_error)
    if record.cache_missing or record.entry_bytes is None:
        return ("no_cache", "jax_compilation_cache_dir", record.cache_dir or "", record.read_error)
    return (
        "entry_size",
        MIN_ENTRY_SIZE_SETTING,
        str(record.min_entry_bytes),
        str(record.entry_bytes),
    )


def _readable_parts(devices: Any, options: Any, backend: Any) -> dict[str, str]:
    """The inputs of the key's parts as text, where they can be read back: what a person compares.

    Private: `cache_key.xla_flags_to_exclude_from_cache_key`, `get_flag_prefixes` and
    `custom_hook` decide which flags and which hook text reach the key.
    """
    from jax._src import cache_key, compilation_cache

    compression = "zstandard" if compilation_cache.zstandard is not None else "zlib"
    if getattr(compilation_cache, "zstd", None) is not None:
        compression = "zstandard"
    return {
        "jax_lib version": _jaxlib_version(),
        "backend version": f"{backend.platform} {backend.platform_version}",
        "XLA flags": " ".join(_key_xla_flags(cache_key)),
        "compile_options": _options_summary(options),
        "accelerator_config": " ".join(sorted({d.device_kind for d in devices.flat})),
        "compression": compression,
        "custom_hook": str(cache_key.custom_hook()),
    }


def _jaxlib_version() -> str:
    import jaxlib

    return str(jaxlib.__version__)


def _key_xla_flags(cache_key: Any) -> list[str]:
    """The flags `_hash_xla_flags` hashes: XLA_FLAGS, LIBTPU_INIT_ARGS and `--xla` arguments."""
    flags = os.environ.get("XLA_FLAGS", "").split() + os.environ.get("LIBTPU_INIT_ARGS", "").split()
    prefixes = ("--xla", *cache_key.get_flag_prefixes())
    flags += [arg for arg in sys.argv if arg.startswith(prefixes)]
    excluded = set(cache_key.xla_flags_to_exclude_from_cache_key)
    return [flag for flag in sorted(flags) if flag.split("=")[0] not in excluded]


def _options_summary(options: Any) -> str:
    """The compile options a person sets, as text (the key hashes the serialized whole)."""
    build = options.executable_build_options
    overrides = " ".join(f"{name}={value}" for name, value in options.env_option_overrides)
    return (
        f"num_replicas={build.num_replicas} num_partitions={build.num_partitions} "
        f"spmd={build.use_spmd_partitioning} overrides=[{overrides}]"
    )


# ---------------------------------------------------------------------------------------------
# JAX's error messages: the text jaxexplain recognises a failure by


@dataclass(frozen=True)
class MessagePattern:
    """Text of one of JAX's error messages, with the JAX versions (major.minor) whose wording it
    was checked against: no exception class tells these failures apart, so a JAX release that
    rewords one makes its explanation silently vanish unless a test provokes it."""

    name: str
    regex: re.Pattern[str]
    seen_in: tuple[str, ...]

    def search(self, message: str) -> re.Match[str] | None:
        """Where the pattern occurs in `message`, with its named groups; None if it does not."""
        return self.regex.search(message)


def message_match(message: str, *patterns: MessagePattern) -> re.Match[str] | None:
    """The first of `patterns` (one fact's wordings across JAX versions) found in `message`."""
    return next((m for m in (p.search(message) for p in patterns) if m is not None), None)


NON_HASHABLE_STATIC = MessagePattern(
    "non_hashable_static",
    re.compile(re.escape("Non-hashable static arguments are not supported")),
    seen_in=("0.4", "0.7", "0.10", "0.12"),
)
NOT_AN_ARRAY = MessagePattern(
    "not_an_array",
    re.compile(r"as an abstract array.*?at path (?P<path>\S+?)\.?$", re.S | re.M),
    seen_in=("0.4", "0.7", "0.10", "0.12"),
)
AMBIGUOUS_TRUTH_VALUE = MessagePattern(
    "ambiguous_truth_value",
    re.compile(re.escape("truth value of an array with more than one element is ambiguous")),
    seen_in=("0.4", "0.7", "0.10", "0.12"),
)
LOOP_GRAD = MessagePattern(
    "loop_grad",
    re.compile(re.escape("Reverse-mode differentiation does not work for lax.while_loop")),
    seen_in=("0.4", "0.7", "0.10", "0.12"),
)
SLICE_NOT_STATIC = (
    MessagePattern(
        "slice_not_static",
        re.compile(re.escape("Slice entries must be static")),
        seen_in=("0.10",),
    ),
    MessagePattern(
        "slice_not_static",
        re.compile(re.escape("slice indices must have static")),
        seen_in=("0.4", "0.7", "0.12"),
    ),
)
SHAPE_NOT_CONCRETE = MessagePattern(
    "shape_not_concrete",
    re.compile(re.escape("Shapes must be 1D sequences of concrete values")),
    seen_in=("0.4", "0.7", "0.10", "0.12"),
)
# Which of the traced function's arguments a tracer came from, or that JAX operations on
# constants made it; said only for the function whose trace the tracer belongs to.
PROVENANCE = MessagePattern(
    "provenance",
    re.compile(
        r"tracing the function (?P<fn>\S+) at (?P<file>.+?):(?P<line>\d+) for \w+\. "
        r"(?:This concrete value was not available in Python because it depends on the values? "
        r"of the arguments? (?P<names>.+?)\.(?:\n|$)|(?P<constants>This value became a tracer "
        r"due to JAX operations))",
        re.S,
    ),
    seen_in=("0.4", "0.7", "0.10", "0.12"),
)
LEAK_CREATED = MessagePattern(
    "leak_created",
    re.compile(r"created on line (?P<file>.+?):(?P<line>\d+)(?::\d+)? \((?P<fn>[^)]*)\)"),
    seen_in=("0.4", "0.7", "0.10", "0.12"),
)
LEAK_TRACED = MessagePattern(
    "leak_traced",
    re.compile(
        r"function being traced when the value leaked was (?P<fn>\S+) at (?P<where>\S+) "
        r"traced for (?P<transform>\w+)"
    ),
    seen_in=("0.4", "0.7", "0.10", "0.12"),
)
# A tracer's repr (`JitTracer(~int32[])`) in a message a library raised: the library was given
# a traced value. jax 0.4.38 writes it `Traced<ShapedArray(int32[])>with<DynamicJaxprTrace>`.
TRACER_REPR = (
    MessagePattern("tracer_repr", re.compile("Tracer"), seen_in=("0.7", "0.10", "0.12")),
    MessagePattern("tracer_repr", re.compile(r"Traced<\w+\("), seen_in=("0.4",)),
)
# A tracer passed where a jitted function of JAX's own takes a static argument
# (`jnp.cumsum(x, axis=a)`, `jnp.triu(x, k)` with `a`, `k` traced): JAX hashes it to key the
# inner jit's cache, and a tracer cannot be hashed.
TRACER_AS_STATIC = MessagePattern(
    "tracer_as_static",
    re.compile(r"trying to hash an object of type <class '[\w.]*Tracer'>"),
    seen_in=("0.4", "0.7", "0.10", "0.12"),
)
# A tracer passed where a primitive takes a parameter fixed at trace time
# (`jax.random.split(key, n)` with `n` traced gives `random_split` the shape `(n,)`). jax 0.4.38
# raises no such error: it fails earlier, at the shape, as SHAPE_NOT_CONCRETE.
TRACER_AS_PRIMITIVE_PARAMETER = MessagePattern(
    "tracer_as_primitive_parameter",
    re.compile(
        r"In a call to primitive (?P<primitive>\w+), the value of parameter (?P<parameter>\w+) "
        r"was not hashable: (?P<value>.*Tracer.*)"
    ),
    seen_in=("0.7", "0.10", "0.12"),
)

MESSAGE_PATTERNS = (
    NON_HASHABLE_STATIC,
    NOT_AN_ARRAY,
    AMBIGUOUS_TRUTH_VALUE,
    LOOP_GRAD,
    *SLICE_NOT_STATIC,
    SHAPE_NOT_CONCRETE,
    PROVENANCE,
    LEAK_CREATED,
    LEAK_TRACED,
    *TRACER_REPR,
    TRACER_AS_STATIC,
    TRACER_AS_PRIMITIVE_PARAMETER,
)


def distributed_process() -> tuple[int, int] | None:
    """(process index, process count) of a `jax.distributed` run, None in a single process.

    `jax.process_index()` would start a backend in a program that never used one; JAX's
    distributed state holds what `jax.distributed.initialize` set, and keeps it after
    `jax.distributed.shutdown()`, when a watched program has ended."""
    # Private: the only record of initialize() that starts nothing (0.4.38 to 0.12 alike).
    from jax._src import distributed

    state = distributed.global_state
    count = int(getattr(state, "num_processes", 1) or 1)
    return (int(state.process_id), count) if count > 1 else None
