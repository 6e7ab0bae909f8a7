"""Each private or version-dependent JAX API that jaxexplain uses, checked so a JAX release that
changes one fails here, loudly, rather than somewhere in a report."""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from jaxexplain import _jax_compat


def test_the_compile_event_names_are_jaxs_own() -> None:
    from jax._src import compiler, dispatch

    assert _jax_compat.TRACE_EVENT == dispatch.JAXPR_TRACE_EVENT
    assert _jax_compat.LOWER_EVENT == dispatch.JAXPR_TO_MLIR_MODULE_EVENT
    assert _jax_compat.COMPILE_EVENT == dispatch.BACKEND_COMPILE_EVENT
    assert f"record_event('{_jax_compat.PERSISTENT_HIT_EVENT}')" in inspect.getsource(compiler)


def test_a_first_call_reports_its_trace_lower_and_compile_durations() -> None:
    seen: list[str] = []

    def listen(event: str, seconds: float, **_: Any) -> None:
        seen.append(event)

    x = jnp.zeros(5)
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        jax.jit(lambda x: x * 3 + 1)(x)
    finally:
        _jax_compat.unregister_duration_listener(listen)
    stages = [_jax_compat.TRACE_EVENT, _jax_compat.LOWER_EVENT, _jax_compat.COMPILE_EVENT]
    events = [event for event in seen if event in stages]
    # jax 0.4.38 and 0.7 also trace the jitted `jnp` functions inside it, one event each.
    assert [e for i, e in enumerate(events) if i == 0 or events[i - 1] != e] == stages


def test_each_uncached_context_runs_the_python_of_inner_traces_again_under_one_reused_value() -> (
    None
):
    runs: list[str] = []

    @jax.jit
    def inner(x: Any) -> Any:
        runs.append("nested jit")
        return x + 1

    def body(carry: Any, x: Any) -> tuple[Any, Any]:
        runs.append("scan body")
        return carry + x, carry

    def largest(a: Any, b: Any) -> Any:
        runs.append("reduce computation")
        return jax.lax.max(a, b)

    def outer(x: Any) -> Any:
        carry, _ = jax.lax.scan(body, 0.0, inner(x))
        return carry + jax.lax.reduce(x, -jnp.inf, largest, (0,))

    contexts = []
    for _ in range(3):
        with _jax_compat.uncached_inner_traces():
            contexts.append(_jax_compat.trace_context())
            jax.jit(lambda x: outer(x)).trace(jnp.zeros(3))
    assert contexts[0] == contexts[1] == contexts[2]
    assert contexts[0] != _jax_compat.trace_context()
    for kind in ("nested jit", "scan body", "reduce computation"):
        assert runs.count(kind) == 3, kind


def test_leaving_an_uncached_context_keeps_the_entries_of_other_functions() -> None:
    runs: list[int] = []

    @jax.jit
    def unrelated(x: Any) -> Any:
        runs.append(1)
        return x * 2

    unrelated.trace(jnp.zeros(3))
    with _jax_compat.uncached_inner_traces():
        jax.jit(lambda x: jnp.sin(x)).trace(jnp.zeros(3))
    unrelated.trace(jnp.zeros(3))
    assert len(runs) == 1


def test_traced_in_tree_is_the_structure_jit_flattened_statics_left_out() -> None:
    traced = jax.jit(double, static_argnames="n").trace(jnp.zeros(3), n=4)
    in_tree = _jax_compat.traced_in_tree(traced)
    assert in_tree == jax.tree_util.tree_structure(((jnp.zeros(3),), {}))
    assert in_tree.num_leaves == len(_jax_compat.inner_jaxpr(traced).invars)


def test_only_an_array_placed_on_a_device_is_committed() -> None:
    x = jnp.zeros(3)
    assert not _jax_compat.is_committed(x)
    assert _jax_compat.is_committed(jax.device_put(x, jax.devices()[0]))
    assert not _jax_compat.is_committed(jax.ShapeDtypeStruct((3,), jnp.float32))


def test_memory_sizes_name_every_figure_of_xlas_analysis() -> None:
    compiled = jax.jit(double).trace(jnp.zeros((4, 8), jnp.float32)).lower().compile()
    stats = compiled.memory_analysis()
    sizes = _jax_compat.memory_sizes(compiled)
    assert sizes is not None and set(sizes) == set(_jax_compat.MEMORY_FIELDS)
    for figure, field in _jax_compat.MEMORY_FIELDS.items():
        assert hasattr(stats, field), field
        assert sizes[figure] == getattr(stats, field)
    assert sizes["argument_bytes"] == 4 * 8 * jnp.dtype(jnp.float32).itemsize


@contextlib.contextmanager
def _no_op() -> Iterator[None]:
    yield


def double(x, n=2):
    return x * n


def test_jit_info_gives_the_decorator_statics() -> None:
    jitted = jax.jit(double, static_argnames=("n",), donate_argnums=(0,))
    assert _jax_compat.is_jitted(jitted)
    assert not _jax_compat.is_jitted(double)
    options = _jax_compat.jit_options(jitted)
    assert options.static_argnames == ("n",)
    assert options.static_argnums == (1,)
    assert options.donate_argnums == (0,)


def test_cache_size_counts_dispatch_entries_and_clears() -> None:
    jitted = jax.jit(double)
    _jax_compat.clear_cache(jitted)
    assert _jax_compat.cache_size(jitted) == 0
    jitted(jnp.zeros(2))
    jitted(jnp.zeros(3))
    assert _jax_compat.cache_size(jitted) == 2
    jitted.trace(jnp.zeros(4)).lower().compile()
    assert _jax_compat.cache_size(jitted) == 2, "AOT compilation must not touch the dispatch cache"


def test_trace_context_is_named_and_follows_config() -> None:
    context = _jax_compat.trace_context()
    assert context["jax_enable_x64"] == "False"
    assert "jax_default_matmul_precision" in context and "jax_default_device" in context
    with jax.enable_x64(True) if hasattr(jax, "enable_x64") else jax.experimental.enable_x64():
        assert _jax_compat.trace_context()["jax_enable_x64"] == "True"


def test_inner_jaxpr_and_equation_sources() -> None:
    traced = jax.jit(double).trace(jnp.zeros(3))
    jaxpr = _jax_compat.inner_jaxpr(traced)
    assert len(jaxpr.eqns) == len(jax.make_jaxpr(double)(jnp.zeros(3)).jaxpr.eqns)
    source = _jax_compat.equation_source(jaxpr.eqns[0])
    assert source == f"{__file__}:{double.__code__.co_firstlineno + 1}"
    text, _ = _jax_compat.pretty_print_with_tracebacks(jaxpr)
    assert f"{__file__}:{double.__code__.co_firstlineno + 1}" in text
    with jax.config.pprint_use_color(True) if hasattr(jax.config, "pprint_use_color") else _no_op():
        assert "\x1b[" not in _jax_compat.pretty_print_with_tracebacks(jaxpr)[0]


def test_printed_lines_carry_the_tracebacks_of_their_equations() -> None:
    def branches(x):
        return jax.lax.cond(x.sum() > 0, lambda a: jnp.cos(a) + 1, lambda a: a * 2, x)

    jaxpr = _jax_compat.inner_jaxpr(jax.jit(branches).trace(jnp.zeros(3)))
    text, tracebacks = _jax_compat.pretty_print_with_tracebacks(jaxpr)
    assert len(tracebacks) == len(text.split("\n"))
    printed = {id(t) for line in tracebacks for _, _, t in line}
    nested = [e for eqn in jaxpr.eqns for sub in _jax_compat.sub_jaxprs(eqn) for e in sub.eqns]
    assert printed == {id(e.source_info.traceback) for e in [*jaxpr.eqns, *nested]}


def test_traceback_code_frames_name_each_frame_innermost_first() -> None:
    def triple(x):
        return double(x, 3)

    (eqn,) = _jax_compat.inner_jaxpr(jax.jit(triple).trace(jnp.zeros(3))).eqns
    frames = _jax_compat.traceback_code_frames(eqn.source_info.traceback)
    codes = [code for code, _ in frames]
    inner, outer = codes.index(double.__code__), codes.index(triple.__code__)
    assert inner < outer
    assert _jax_compat.frame_line(*frames[inner]) == double.__code__.co_firstlineno + 1
    assert _jax_compat.frame_line(*frames[outer]) == triple.__code__.co_firstlineno + 1


def test_equation_user_lines_hold_every_user_frame_innermost_first() -> None:
    def outer(x):
        return double(x)  # the caller's line, below double's own

    (eqn,) = _jax_compat.inner_jaxpr(jax.jit(outer).trace(jnp.zeros(3))).eqns
    lines = _jax_compat.equation_user_lines(eqn)
    assert lines[:2] == [
        (__file__, double.__code__.co_firstlineno + 1),
        (__file__, outer.__code__.co_firstlineno + 1),
    ]


def test_sub_jaxprs_are_found() -> None:
    def f(x):
        return jax.lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x)

    jaxpr = _jax_compat.inner_jaxpr(jax.jit(f).trace(jnp.zeros(3)))
    (cond,) = [e for e in jaxpr.eqns if e.primitive.name == "cond"]
    assert len(_jax_compat.sub_jaxprs(cond)) == 2


def test_cost_analysis_is_one_dict() -> None:
    compiled = jax.jit(double).trace(jnp.zeros(3)).lower().compile()
    costs = _jax_compat.cost_analysis(compiled)
    assert isinstance(costs, dict) and costs["flops"] >= 3


@pytest.mark.parametrize("version", [_jax_compat.JAX_VERSION])
def test_supported_jax_version(version: str) -> None:
    from jaxexplain.versions import OLDEST_JAX, PAST_NEWEST_JAX

    assert OLDEST_JAX <= _jax_compat.JAX_RELEASE < PAST_NEWEST_JAX, version


def test_jit_cache_miss_hooks_see_misses_only_and_are_undone() -> None:
    """watch's hooks: pjit's `cache_miss` runs `_infer_params` then the run (`_run_python_pjit`
    from jax 0.10; 0.4.38 and 0.7 reach both through `_python_pjit_helper`, adapted), each once."""
    from jax._src import pjit

    seen: list[tuple[str, bool, bool, bool]] = []

    def wrap_infer(infer: Any) -> Any:
        def hook(fun: Any, info: Any, args: Any, kwargs: Any) -> Any:
            caller = sys._getframe(1)
            seen.append(
                (
                    "infer",
                    _jax_compat.called_by_jit_cache_miss(caller),
                    _jax_compat.is_eager_primitive(fun),
                    _jax_compat.trace_state_clean(),
                )
            )
            params, flat = infer(fun, info, args, kwargs)
            if getattr(fun, "__name__", "") == "double":
                tree, avals = _jax_compat.pjit_params_tree_and_avals(params)
                assert tree.num_leaves == 1 and avals[0].shape == (3,)
                assert _jax_compat.jit_info_options(info).static_argnames == ("n",)
            return params, flat

        return hook

    def wrap_run(run: Any) -> Any:
        def hook(params: Any, args_flat: Any, fun: Any, args: Any, kwargs: Any) -> Any:
            caller = _jax_compat.jit_caller(sys._getframe())
            seen.append(
                ("run", caller is not None and caller.f_code.co_filename == __file__, False, False)
            )
            return run(params, args_flat, fun, args, kwargs)

        return hook

    before = dict(vars(pjit))
    jitted = jax.jit(double, static_argnames=("n",))
    x = jnp.zeros(3)
    restore = _jax_compat.patch_jit_cache_miss(wrap_infer, wrap_run)
    try:
        jitted(x, n=2)
        jitted(x, n=2)
        jitted.trace(x, n=2)
    finally:
        restore()
    assert dict(vars(pjit)) == before
    assert seen[0] == ("infer", True, False, True), "one miss, at top level, not eager"
    assert seen[-2] == ("run", True, False, False), "jit_caller found this test's frame"
    assert seen[-1] == ("infer", False, False, True), "AOT .trace() is no cache miss"
    assert [s for s in seen if s[0] == "run" and s[1]] == [("run", True, False, False)], (
        "the second call hit the C++ cache"
    )


def test_eager_primitives_are_marked() -> None:
    eager: list[bool] = []

    def wrap_infer(infer: Any) -> Any:
        def hook(fun: Any, info: Any, args: Any, kwargs: Any) -> Any:
            eager.append(_jax_compat.is_eager_primitive(fun))
            return infer(fun, info, args, kwargs)

        return hook

    restore = _jax_compat.patch_jit_cache_miss(wrap_infer, lambda run: run)
    try:
        jnp.full((3, 11, 2), 1.5)
    finally:
        restore()
    assert eager and all(eager)


def test_hidden_files_are_no_user_frames_until_restored() -> None:
    from jax._src import source_info_util, traceback_util

    restore = _jax_compat.hide_from_jax_tracebacks(__file__)
    try:
        assert not source_info_util.is_user_filename(__file__)
        assert __file__ in traceback_util._exclude_paths
    finally:
        restore()
    assert source_info_util.is_user_filename(__file__)
    assert __file__ not in traceback_util._exclude_paths


_LEAKED: list[Any] = []


def _store_tracer(x: Any) -> Any:
    _LEAKED.append(x * 3)
    return x


def _use_stored(x: Any) -> Any:
    y = x + 1
    return y * _LEAKED[-1]


def test_a_leaked_tracer_is_a_constant_of_the_trace_and_raises_only_when_called() -> None:
    jax.jit(_store_tracer).trace(jnp.ones(()))
    traced = jax.jit(_use_stored).trace(jnp.ones(()))
    leaked = _jax_compat.leaked_tracers(traced)
    assert len(leaked) == 1 and leaked[0] is _LEAKED[-1]
    assert (
        _jax_compat.leaked_tracer_use(traced)
        == f"{__file__}:{_use_stored.__code__.co_firstlineno + 2}"
    )
    error = _jax_compat.escaped_tracer_error(leaked[0])
    assert isinstance(error, jax.errors.UnexpectedTracerError)
    assert f"created on line {__file__}:{_store_tracer.__code__.co_firstlineno + 1}" in str(error)
    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.jit(_use_stored)(jnp.ones(()))
    assert _jax_compat.leaked_tracers(jax.jit(double).trace(jnp.ones(()))) == []


# ---------------------------------------------------------------------------------------------
# JAX's error messages that jaxexplain recognises a failure by: each provoked from real JAX


def _raised(call: Callable[[], Any]) -> str:
    """The message of what `call` raises."""
    with pytest.raises(Exception) as caught:
        call()
    return str(caught.value)


def _branch_on_data(x: Any) -> Any:
    if x > 0:
        return x
    return -x


def _branch_on_count(x: Any, n: Any) -> Any:
    if n > 0:
        return x
    return -x


def _branch_on_constant(x: Any) -> Any:
    if jnp.ones(3).sum() > 2:
        return x
    return -x


def _loop_by_count(x: Any, n: Any) -> Any:
    return jax.lax.fori_loop(0, n, lambda i, carry: carry * 2.0, x)


def _library_check(x: Any, n: Any) -> Any:
    if not isinstance(n, int):
        raise TypeError(f"num_heads must be an int, got {n!r}")
    return x


def _provenance_messages() -> list[str]:
    return [
        _raised(lambda: jax.jit(_branch_on_count)(jnp.ones(3), 2)),
        _raised(lambda: jax.jit(_branch_on_constant)(jnp.ones(3))),
    ]


def _leak_message() -> str:
    jax.jit(_store_tracer).trace(jnp.ones(()))
    return _raised(lambda: jax.jit(_use_stored)(jnp.ones(())))


PROVOKED: dict[str, Callable[[], list[str]]] = {
    "non_hashable_static": lambda: [
        _raised(lambda: jax.jit(double, static_argnums=1)(jnp.ones(2), [1]))
    ],
    "not_an_array": lambda: [_raised(lambda: jax.jit(double)(jnp.ones(2), "relu"))],
    "ambiguous_truth_value": lambda: [_raised(lambda: jax.jit(_branch_on_data)(jnp.ones(3)))],
    "loop_grad": lambda: [_raised(lambda: jax.grad(jax.jit(_loop_by_count))(1.0, 3))],
    "slice_not_static": lambda: [_raised(lambda: jax.jit(lambda x, n: x[:n])(jnp.ones(3), 2))],
    "shape_not_concrete": lambda: [
        _raised(lambda: jax.jit(lambda x, n: jnp.zeros((n,)))(jnp.ones(3), 2))
    ],
    "provenance": _provenance_messages,
    "leak_created": lambda: [_leak_message()],
    "leak_traced": lambda: [_leak_message()],
    "tracer_repr": lambda: [_raised(lambda: jax.jit(_library_check)(jnp.ones(3), 2))],
    "tracer_as_static": lambda: [
        _raised(lambda: jax.jit(lambda x, k: jnp.triu(x, k))(jnp.ones((3, 3)), 1))
    ],
    "tracer_as_primitive_parameter": lambda: [
        _raised(lambda: jax.jit(jax.random.split)(jax.random.key(0), 3))
    ],
}


def _jax_minor() -> str:
    return ".".join(_jax_compat.JAX_VERSION.split(".")[:2])


@pytest.mark.parametrize(
    "pattern",
    _jax_compat.MESSAGE_PATTERNS,
    ids=lambda p: f"{p.name}-{'-'.join(p.seen_in)}",
)
def test_each_message_pattern_matches_the_error_jax_raises(
    pattern: _jax_compat.MessagePattern,
) -> None:
    """A pattern matches exactly in the JAX versions it is tagged with, and some wording of its
    fact is tagged with this JAX: a release that rewords a message fails here, not silently."""
    minor = _jax_minor()
    wordings = [p for p in _jax_compat.MESSAGE_PATTERNS if p.name == pattern.name]
    raised_as = RAISED_AS_ANOTHER.get((pattern.name, minor))
    assert raised_as or any(minor in p.seen_in for p in wordings), (
        f"no wording of {pattern.name} was checked against JAX {minor}: see what it raises now"
    )
    for message in PROVOKED[pattern.name]():
        found = pattern.search(message) is not None
        assert found == (minor in pattern.seen_in), (pattern, message)
        if raised_as:
            others = [p for p in _jax_compat.MESSAGE_PATTERNS if p.name == raised_as]
            assert _jax_compat.message_match(message, *others) is not None, message


# Failures that a JAX release reports as another fact, earlier in the trace: (pattern, release)
# to the pattern that matches instead. jax 0.4.38's `random.split(key, n)` with `n` traced fails
# at the shape `(n,)`, before any primitive parameter is hashed.
RAISED_AS_ANOTHER = {("tracer_as_primitive_parameter", "0.4"): "shape_not_concrete"}


def test_the_message_patterns_read_the_facts_jaxexplain_uses() -> None:
    """The named groups: the path of the argument, the function JAX traced, the arguments the
    tracer came from, where a leaked tracer was created and what traced it."""
    not_an_array = _jax_compat.NOT_AN_ARRAY.search(PROVOKED["not_an_array"]()[0])
    assert not_an_array is not None and not_an_array["path"] == "n"
    from_arguments, from_constants = (
        _jax_compat.PROVENANCE.search(m) for m in PROVOKED["provenance"]()
    )
    assert from_arguments is not None and from_constants is not None
    assert from_arguments["fn"] == "_branch_on_count" and from_arguments["names"] == "n"
    assert int(from_arguments["line"]) == _branch_on_count.__code__.co_firstlineno
    assert from_arguments["constants"] is None and from_constants["constants"]
    message = _leak_message()
    created = _jax_compat.LEAK_CREATED.search(message)
    traced = _jax_compat.LEAK_TRACED.search(message)
    assert created is not None and traced is not None
    assert (created["file"], int(created["line"])) == (
        __file__,
        _store_tracer.__code__.co_firstlineno + 1,
    )
    assert (traced["fn"], traced["transform"]) == ("_store_tracer", "jit")
    slices = PROVOKED["slice_not_static"]()[0]
    assert _jax_compat.message_match(slices, *_jax_compat.SLICE_NOT_STATIC) is not None
    if _jax_minor() in _jax_compat.TRACER_AS_PRIMITIVE_PARAMETER.seen_in:
        primitive = _jax_compat.TRACER_AS_PRIMITIVE_PARAMETER.search(
            PROVOKED["tracer_as_primitive_parameter"]()[0]
        )
        assert primitive is not None
        assert (primitive["primitive"], primitive["parameter"]) == ("random_split", "shape")


# The persistent compilation cache: each run in its own process with its own cache directory,
# since JAX initializes its cache once per process.
_DISK_SCRIPT = """
import json, os
import jax, jax.numpy as jnp
from jaxexplain import _jax_compat
seen = []
undo = _jax_compat.patch_persistent_cache(seen.append)
jax.jit(lambda x: jnp.sin(x) * 3.0)(jnp.ones(4))
undo()
# The lambda's module is "jit__lambda" (jax 0.7+) or "jit__lambda_" (0.4.38).
record = [r for r in seen if r.module_name.startswith("jit__lambda")][-1]
print(json.dumps({"key": record.key, "parts": record.parts, "hit": record.hit,
                  "written": record.written, "saved": record.seconds_saved,
                  "seconds": record.compile_seconds, "bytes": record.entry_bytes,
                  "why": _jax_compat.not_written_reason(record), "readable": record.readable}))
"""


def _disk_run(cache_dir: str, **env: str) -> dict[str, Any]:
    import json
    import os
    import subprocess

    environment = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_COMPILATION_CACHE_DIR": cache_dir}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", _DISK_SCRIPT], env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_disk_key_parts_are_named_as_jax_names_them() -> None:
    from jax._src import cache_key

    source = inspect.getsource(cache_key.get)
    assert all(f'"{part}"' in source for part in _jax_compat.DISK_KEY_PARTS)
    assert "_log_cache_key_hash(hash_obj, name, hashfn)" in source


def test_the_disk_events_are_recorded_by_jax() -> None:
    from jax._src import compilation_cache, compiler

    assert f"'{_jax_compat.DISK_HIT_EVENT}'" in inspect.getsource(compiler.compile_or_get_cached)
    assert f"'{_jax_compat.DISK_SAVED_EVENT}'" in inspect.getsource(compiler.compile_or_get_cached)
    put = inspect.getsource(compilation_cache.put_executable_and_time)
    assert f"'{_jax_compat.DISK_WRITE_EVENT}'" in put
    assert "compress_executable(" in put and "persistent_cache_min_entry_size_bytes" in put
    write = inspect.getsource(compiler._cache_write)
    assert "persistent_cache_min_compile_time_secs" in write and "process_id != 0" in write


def test_a_written_entry_is_the_file_jax_wrote_and_a_second_run_hits_it(tmp_path: Any) -> None:
    import hashlib
    import os

    cache = str(tmp_path / "cache")
    first = _disk_run(cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    assert first["written"] and not first["hit"] and first["why"] is None
    assert f"{first['key']}-cache" in os.listdir(cache)
    assert tuple(first["parts"]) == _jax_compat.DISK_KEY_PARTS
    # With no flags and no hook, JAX hashes nothing into these two parts.
    assert first["parts"]["XLA flags"] == hashlib.sha256(b"").hexdigest()
    assert first["parts"]["custom_hook"] == hashlib.sha256(b"").hexdigest()
    assert first["readable"]["jax_lib version"] == __import__("jaxlib").__version__
    second = _disk_run(cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    assert second["hit"] and second["key"] == first["key"] and second["saved"] is not None


def test_the_default_threshold_writes_nothing_and_says_so(tmp_path: Any) -> None:
    import os

    cache = tmp_path / "cache"
    run = _disk_run(str(cache), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="1")
    why, setting, value, measured = run["why"]
    assert (why, setting, float(value)) == ("compile_time", _jax_compat.MIN_COMPILE_TIME_SETTING, 1)
    assert float(measured) < 1 and not run["written"]
    assert not any(name.startswith("jit__lambda") for name in os.listdir(cache))


def test_an_entry_under_the_minimum_size_is_measured(tmp_path: Any) -> None:
    run = _disk_run(
        str(tmp_path / "cache"),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="1000000000",
    )
    assert run["why"] == [
        "entry_size",
        _jax_compat.MIN_ENTRY_SIZE_SETTING,
        "1000000000",
        str(run["bytes"]),
    ]


def test_a_cache_directory_that_is_a_file_is_no_cache(tmp_path: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    run = _disk_run(str(blocker), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    assert run["why"][0] == "no_cache" and not run["written"]


def test_the_disk_wrappers_are_removed_with_the_last_listener() -> None:
    from jax._src import cache_key, compiler

    before = (compiler.compile_or_get_cached, cache_key._log_cache_key_hash)
    first = _jax_compat.patch_persistent_cache(lambda _: None)
    second = _jax_compat.patch_persistent_cache(print)
    assert compiler.compile_or_get_cached is not before[0]
    first()
    assert compiler.compile_or_get_cached is not before[0]
    second()
    assert (compiler.compile_or_get_cached, cache_key._log_cache_key_hash) == before


def test_fast_path_data_is_refused_for_a_host_callback_and_the_condition_named() -> None:
    """`_get_fastpath_data` returns None for a program with a debug print (every call then runs
    the Python path); `fast_path_refusal` names the condition, and none for a plain program."""
    seen: list[tuple[bool, str | None]] = []

    def wrap(get: Any) -> Any:
        def recording(call: _jax_compat.FastPathCall) -> Any:
            data = get(call)
            top_level = _jax_compat.trace_state_clean()
            if top_level and _jax_compat.called_by_jit_cache_miss(sys._getframe(1)):
                seen.append((data is not None, _jax_compat.fast_path_refusal(call)))
            return data

        return recording

    @jax.jit
    def printed(x):
        jax.debug.print("{}", x)
        return x + 1

    @jax.jit
    def plain(x):
        return x + 1

    restore = _jax_compat.patch_fast_path_data(wrap)
    try:
        printed(jnp.ones(2))
        printed(jnp.ones(2))
        plain(jnp.ones(2))
        plain(jnp.ones(2))
    finally:
        restore()
    assert seen == [(False, "host_effects"), (False, "host_effects"), (True, None)]
    printed(jnp.ones(2))
    assert len(seen) == 3, "restored"


def test_a_pure_callback_is_refused_the_fast_path_where_this_jax_checks_host_callbacks() -> None:
    """jax 0.4.38 keeps any program with a host callback off the fast path, effect or not; later
    releases serve `jax.pure_callback` there. The refusal says so exactly where JAX refused."""
    seen: list[tuple[bool, str | None, frozenset[str]]] = []

    def wrap(get: Any) -> Any:
        def recording(call: _jax_compat.FastPathCall) -> Any:
            data = get(call)
            if _jax_compat.called_by_jit_cache_miss(sys._getframe(1)):
                seen.append((data is None, _jax_compat.fast_path_refusal(call), call.checks))
            return data

        return recording

    shape = jax.ShapeDtypeStruct((2,), jnp.float32)
    called_back = jax.jit(lambda x: jax.pure_callback(lambda v: v, shape, x))
    x = jnp.ones(2)
    restore = _jax_compat.patch_fast_path_data(wrap)
    try:
        called_back(x)
    finally:
        restore()
    ((refused, refusal, checks),) = seen
    assert refused == ("has_host_callbacks" in checks)
    assert refusal == ("host_callbacks" if refused else None)


def test_effect_equations_name_the_callback_and_its_line() -> None:
    def logged(x):
        jax.debug.print("{}", x)
        return x * 2

    jaxpr = jax.make_jaxpr(jax.jit(logged))(jnp.ones(2))
    ((primitive, where),) = _jax_compat.effect_equations(jaxpr)
    assert primitive in {e.primitive.name for e in _every_equation(jaxpr.jaxpr)}
    assert where == f"{__file__}:{logged.__code__.co_firstlineno + 1}"


def _every_equation(jaxpr: Any) -> list[Any]:
    return [
        eqn
        for top in jaxpr.eqns
        for eqn in [top, *(e for sub in _jax_compat.sub_jaxprs(top) for e in _every_equation(sub))]
    ]


def test_pjit_params_hold_the_traced_jaxpr() -> None:
    captured = []

    def wrap_infer(infer: Any) -> Any:
        def recording(*args: Any) -> Any:
            result = infer(*args)
            captured.append(result[0])
            return result

        return recording

    @jax.jit
    def double(x):
        return x * 2

    restore = _jax_compat.patch_jit_cache_miss(wrap_infer, lambda run: run)
    try:
        double(jnp.ones(2))
    finally:
        restore()
    jaxpr = _jax_compat.pjit_params_jaxpr(captured[-1])
    assert str(jaxpr) == str(jax.make_jaxpr(lambda x: x * 2)(jnp.ones(2)))


def test_typeof_is_the_abstract_value_jit_keys_on() -> None:
    x = jnp.zeros((2, 3), jnp.float32)
    (aval,) = jax.make_jaxpr(lambda x: x)(x).in_avals
    assert _jax_compat.typeof(x) == aval
    assert _jax_compat.typeof(1.0).weak_type
    with pytest.raises(TypeError):
        _jax_compat.typeof("relu")


def test_unregistered_monitoring_listeners_hear_nothing() -> None:
    durations: list[str] = []
    events: list[str] = []

    def on_duration(event: str, seconds: float, **_: Any) -> None:
        durations.append(event)

    def on_event(event: str, **_: Any) -> None:
        events.append(event)

    jax.monitoring.register_event_duration_secs_listener(on_duration)
    jax.monitoring.register_event_listener(on_event)
    _jax_compat.unregister_duration_listener(on_duration)
    _jax_compat.unregister_event_listener(on_event)
    jax.jit(lambda x: x * 7 - 2)(jnp.zeros(6))
    assert durations == [] and events == []


def test_the_trace_context_names_every_value_by_its_option() -> None:
    context = _jax_compat.trace_context()
    assert not any(name.startswith("trace_context[") for name in context)
    assert {"jax_enable_x64", "jax_default_matmul_precision"} <= set(context)


def test_distributed_process_is_none_outside_a_distributed_run() -> None:
    # The watched multi-process run (tests/test_watching_merge.py) checks the index it reads
    # against the process's own jax.process_index().
    assert jax.process_count() == 1
    assert _jax_compat.distributed_process() is None


def test_disk_writes_held_raises_the_public_threshold_and_restores_it() -> None:
    config: Any = jax.config
    before = getattr(config, _jax_compat.MIN_COMPILE_TIME_OPTION)
    with _jax_compat.disk_writes_held(), _jax_compat.disk_writes_held():
        assert getattr(config, _jax_compat.MIN_COMPILE_TIME_OPTION) == float("inf")
    assert getattr(config, _jax_compat.MIN_COMPILE_TIME_OPTION) == before
