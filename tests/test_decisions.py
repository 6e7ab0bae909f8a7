"""The decision recorder on real JAX traces: outcomes, dependencies, listings, clean-up."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import jaxexplain.decisions.recorder as recording
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.report import Decision
from jaxexplain.userfiles import is_user_file

USER_MODULES = Path(__file__).resolve().parent / "user_modules"
X = jax.ShapeDtypeStruct((4, 8), jnp.float32)
W = jax.ShapeDtypeStruct((8, 8), jnp.float32)
PARAMS = {"layers": [W, W]}
HAS_MONITORING = sys.version_info >= (3, 12)


@pytest.fixture
def targets() -> Any:
    sys.path.insert(0, str(USER_MODULES))
    return importlib.import_module("decisions_targets")


@pytest.fixture
def transforms() -> Any:
    sys.path.insert(0, str(USER_MODULES))
    return importlib.import_module("decisions_transforms")


def markers() -> dict[tuple[str, int], str]:
    """(file name, line) -> marker name, from the `# D:name` comments of the target files."""
    found = {}
    for path in USER_MODULES.glob("decisions_*.py"):
        for number, text in enumerate(path.read_text().splitlines(), start=1):
            match = re.search(r"# D:(\w+)", text)
            if match:
                found[(path.name, number)] = match.group(1)
    return found


def marker_line(name: str) -> int:
    return next(line for (_, line), marker in markers().items() if marker == name)


def record(function: Callable[..., Any], *args: Any, **static: Any) -> DecisionRecorder:
    """Traces `function` with `static` as static keyword arguments, inside a recorder."""
    roles = {
        name: "static"
        if name in static
        else "default"
        if parameter.default is not parameter.empty
        else "traced"
        for name, parameter in inspect.signature(function).parameters.items()
    }
    jax.clear_caches()  # a cached trace would not run the function again
    with DecisionRecorder(function, roles) as recorder:
        jax.jit(function, static_argnames=tuple(static)).trace(*args, **static)
    return recorder


def summary(decisions: tuple[Decision, ...]) -> list[tuple[str, str, tuple[str | int, ...]]]:
    """(marker, kind, outcomes) per decision, in the recorder's order."""
    names = markers()
    return [(names[(Path(d.file).name, d.line)], d.kind, d.outcomes) for d in decisions]


def dependencies(decisions: tuple[Decision, ...]) -> dict[str, list[tuple[str, str]]]:
    names = markers()
    return {
        names[(Path(d.file).name, d.line)]: [(x.name, x.via) for x in d.depends_on]
        for d in decisions
    }


def test_elif_chain_decided_by_the_second_elif_and_two_ternaries_on_one_line(targets):
    decisions = record(targets.branches, X, n=2).decisions()
    assert summary(decisions) == [
        ("if", "if", ("false",)),
        ("elif1", "if", ("false",)),
        ("elif2", "if", ("true",)),
        ("ternaries", "ifexp", ("true",)),
        ("ternaries", "ifexp", ("false",)),
    ]
    first, second = decisions[3:]
    assert (first.source, second.source) == ("n > 1", "n > 5")
    assert first.column < second.column
    assert {d.function for d in decisions} == {"branches"}
    assert all(d.depends_on == decisions[0].depends_on for d in decisions)
    assert [(x.name, x.via) for x in decisions[0].depends_on] == [("n", "static")]


def test_loops_count_the_passes_into_their_body(targets):
    decisions = record(targets.loops, X, n=3).decisions()
    assert summary(decisions) == [
        ("empty", "for", (0,)),
        ("break", "for", (3,)),
        ("break_test", "if", ("false", "false", "true")),
        ("continue", "for", (4,)),
        ("alternating", "if", ("true", "false", "true", "false")),
        ("for_else", "for", (3,)),
        ("while", "while", ("true", "false")),
        ("while_true", "while", ("true", "true")),
        ("while_true_exit", "if", ("false", "true")),
        ("outer", "for", (3,)),
        ("inner", "for", (0, 1, 2)),
    ]
    assert [d.source for d in decisions[:2]] == ["_ in range(n - n)", "i in range(10)"]
    assert dependencies(decisions)["empty"] == [("n", "static")]
    assert dependencies(decisions)["break"] == [("<constant>", "constant")]
    assert dependencies(decisions)["alternating"] == [("<constant>", "constant")]
    assert dependencies(decisions)["while"] == [("n", "static")]


@pytest.mark.parametrize(
    ("mode", "limit", "case"),
    [("identity", 3, 0), (("scale", 5), 3, 1), (("scale", 5), 10, 2), ("other", 3, 3)],
)
def test_match_reports_the_case_taken_guards_included(targets, mode, limit, case):
    decisions = record(targets.matching, X, mode=mode, limit=limit).decisions()
    assert summary(decisions) == [("match", "match", (case,))]
    assert decisions[0].source == "mode"
    assert dependencies(decisions)["match"] == [("mode", "static"), ("limit", "static")]


def test_a_generator_expression_if_has_one_outcome_per_item_as_a_list_comprehension_does(targets):
    """Python 3.11 gives a generator's yield the range of its last `if`: read as the test, each
    kept item seemed to fail it once more. One outcome per site, and as many true ones as JAX
    sums sites (one reduce_sum each, both forms)."""
    decisions = [d for d in record(targets.site_sums, X).decisions() if d.kind == "if"]
    lazily, eagerly = (d.outcomes for d in decisions)
    assert summary(tuple(decisions))[0][0] == "genexp_if"
    assert lazily == eagerly == ("true", "false", "true")
    jaxpr = jax.make_jaxpr(targets.site_sums)(jnp.zeros(X.shape, X.dtype))
    sums = [e for e in jaxpr.eqns if e.primitive.name == "reduce_sum"]
    assert len(sums) == (lazily + eagerly).count("true")


def test_a_part_drawn_from_written_out_items_depends_on_that_part_alone(targets):
    """`kind` is the first item of each site written in the dict display: a constant of the
    code, not x's shape (JAX keeps the same sums for another shape of x); `v.sum()`'s items
    are x's, and the loop's length is the display's."""
    other = jax.ShapeDtypeStruct((3, 5), jnp.float32)
    runs = [record(targets.site_sums, shape).decisions() for shape in (X, other)]
    for decisions in runs:
        found = dependencies(decisions)
        assert found["genexp_if"] == found["listcomp_if"] == [("<constant>", "constant")]
    assert [d.outcomes for d in runs[0]] == [d.outcomes for d in runs[1]]
    sums = [
        [e.primitive.name for e in jax.make_jaxpr(targets.site_sums)(jnp.zeros(s.shape)).eqns]
        for s in (X, other)
    ]
    assert sums[0].count("reduce_sum") == sums[1].count("reduce_sum") == 4


def test_comprehensions_count_their_iterations(targets):
    decisions = record(targets.comprehensions, X, n=3).decisions()
    assert summary(decisions) == [
        ("listcomp", "comprehension", (3,)),
        ("filtered", "comprehension", (3,)),
        ("filtered", "if", ("true", "false", "true")),
        ("genexpr", "comprehension", (2,)),
    ]
    assert [d.source for d in decisions] == [
        "i in range(n)",
        "i, p in enumerate(parts)",
        "i % 2 == 0",
        "p in evens",
    ]
    # The generator expression's count comes from the lists' lengths, not their elements.
    assert dependencies(decisions)["genexpr"] == [("n", "static")]


def test_asserts_pass_once_per_evaluation(targets):
    decisions = record(targets.asserting, X, n=3).decisions()
    assert summary(decisions) == [
        ("assert", "assert", ("true",)),
        ("assert_loop", "for", (3,)),
        ("assert_in_loop", "assert", ("true", "true", "true")),
    ]
    assert decisions[0].source == "x.ndim == 2"
    assert dependencies(decisions)["assert"] == [("x", "ndim")]


def test_dependencies_through_locals_dtype_globals_defaults_and_literals(targets):
    decisions = record(targets.dependencies, X, n=3).decisions()
    assert summary(decisions) == [
        ("shape_local", "if", ("true",)),
        ("dtype", "if", ("true",)),
        ("global", "if", ("false",)),
        ("default", "if", ("true",)),
        ("static", "if", ("false",)),
        ("constant", "if", ("true",)),
    ]
    assert dependencies(decisions) == {
        "shape_local": [("x", "shape")],
        "dtype": [("x", "dtype")],
        "global": [("DEBUG", "global")],
        "default": [("scale", "static")],
        "static": [("n", "static")],
        "constant": [("<constant>", "constant")],
    }


def test_helpers_in_another_file_depend_on_the_root_parameters(targets):
    decisions = record(targets.with_helpers, X, n=2, kind="wide").decisions()
    assert summary(decisions) == [
        ("h_loop", "for", (2,)),
        ("h_rows", "if", ("true", "true")),
        ("h_wide", "if", ("true", "true")),
    ]
    assert [Path(d.file).name for d in decisions] == ["decisions_helpers.py"] * 3
    assert [d.function for d in decisions] == ["outer", "inner", "inner"]
    assert dependencies(decisions) == {
        "h_loop": [("n", "static")],
        "h_rows": [("x", "shape")],
        "h_wide": [("kind", "static")],
    }


def test_method_decisions_name_self_attributes(targets):
    decisions = record(targets.with_method, X, n=2).decisions()
    assert summary(decisions) == [("method_loop", "for", (2,)), ("method_attr", "if", ("true",))]
    assert [d.function for d in decisions] == ["Stack.apply", "Stack.apply"]
    # `self` is Stack(n) with n static.
    assert dependencies(decisions) == {
        "method_loop": [("self.n_layers", "static")],
        "method_attr": [("self.width", "static")],
    }


def test_a_function_called_by_jax_resolves_closure_variables(targets):
    decisions = record(targets.with_closure, X, n=3).decisions()
    assert summary(decisions) == [("closure", "ifexp", ("true",))]
    assert decisions[0].function == "with_closure.<locals>.body"
    assert dependencies(decisions) == {"closure": [("n", "static")]}


def test_generators_recursion_handled_exceptions_and_pass_bodies(targets):
    decisions = record(targets.unusual_flow, X, n=3).decisions()
    assert summary(decisions) == [
        ("gen_loop", "for", (3,)),
        ("gen_if", "if", ("false", "true", "false")),
        ("recursion", "if", ("false", "false", "true")),
        ("handler", "ifexp", ("true",)),
        ("gen_consumer", "comprehension", (3,)),
        ("pass_loop", "for", (3,)),
        ("pass_if", "if", ("false", "true", "false")),
    ]
    assert dependencies(decisions)["gen_if"] == [("n", "static")]
    assert dependencies(decisions)["recursion"] == [("<constant>", "constant")]


def test_a_helper_under_jax_checkpoint_depends_on_the_traced_root_parameter(transforms):
    """The loop over params["layers"] is decided by the traced params' structure (it was
    reported as `params (static)`: the helper's call site was not followed through
    `jax.checkpoint(forward)(params, x)`)."""
    decisions = record(transforms.checkpointed, PARAMS, X).decisions()
    assert summary(decisions) == [("t_forward", "for", (2,))]
    assert dependencies(decisions) == {"t_forward": [("params", "shape")]}


@pytest.mark.parametrize(
    ("function", "static"),
    [
        ("vmapped", {"n": 2}),
        ("remat_vmapped", {"n": 2, "remat": True}),
        ("remat_vmapped", {"n": 2, "remat": False}),
    ],
)
def test_vmap_partial_and_locals_map_a_helper_to_the_root_arguments(transforms, function, static):
    """`jax.vmap(partial(per_example, scale=n), ...)` bound to a local, and a local that holds
    either per_example or its `jax.checkpoint`: the traced params stay traced, the static n
    stays static and keeps the root's name (it was `params (static)`, `scale (static)`)."""
    decisions = record(getattr(transforms, function), PARAMS, X, **static).decisions()
    found = dependencies(decisions)
    assert found.pop("t_remat", [("remat", "static")]) == [("remat", "static")]
    assert found == {
        "t_forward": [("params", "shape")],
        "t_vmap_len": [("params", "shape")],
        "t_vmap_ndim": [("x", "ndim")],
        "t_vmap_scale": [("n", "static")],
    }


def test_scan_loop_and_cond_operands_reach_their_functions_parameters(transforms):
    """lax.scan's carry and rows, fori_loop's and while_loop's state and cond's operands come
    from the root's traced arguments (each was `carry`/`state`/`p (static)`)."""
    scanned = record(transforms.scanned, PARAMS, X).decisions()
    assert summary(scanned) == [
        ("t_scan_carry", "for", (2,)),
        ("t_scan_row", "if", ("true",)),
    ]
    assert dependencies(scanned) == {
        "t_scan_carry": [("params", "shape")],
        "t_scan_row": [("xs", "dtype")],
    }
    vector = jax.ShapeDtypeStruct((8,), jnp.float32)
    looped = record(transforms.looped, PARAMS, vector).decisions()
    assert summary(looped) == [
        ("t_fori", "comprehension", (2,)),
        ("t_while", "comprehension", (2,)),
        ("t_while_body", "comprehension", (2,)),
        ("t_cond_true", "comprehension", (2,)),
    ]
    assert set(map(tuple, dependencies(looped).values())) == {(("params", "shape"),)}


def test_a_helper_whose_call_cannot_be_followed_is_never_said_to_be_static(transforms):
    """Called through a dictionary lookup under vmap: each parameter keeps the helper's name
    and is classified by how it is read (all three were `static`)."""
    decisions = record(transforms.through_a_table, PARAMS, X).decisions()
    assert dependencies(decisions) == {
        "t_unknown_loop": [("params", "shape")],
        "t_unknown_dtype": [("x", "dtype")],
        "t_unknown_plain": [("train", "global")],
    }


def test_loops_over_literal_displays_depend_only_on_starred_elements(transforms):
    """`for t in (q, k, v)` runs as many times as the source lists items, whatever q, k and v
    were computed from (they were reported as `x (shape)`, `w (shape)`); zip counts its other
    argument, a starred element its iterable, and a loop over an item its elements."""
    decisions = record(transforms.displays, X, W, [X, X]).decisions()
    assert summary(decisions) == [
        ("d_genexpr", "comprehension", (3,)),
        ("d_list", "for", (2,)),
        ("d_enumerate", "for", (2,)),
        ("d_zip", "for", (2,)),
        ("d_starred", "for", (3,)),
        ("d_elements", "for", (2,)),
        ("d_rows", "for", (4, 8)),
    ]
    constant = [("<constant>", "constant")]
    assert dependencies(decisions) == {
        "d_genexpr": constant,
        "d_list": constant,
        "d_enumerate": constant,
        "d_zip": [("xs", "shape")],
        "d_starred": [("xs", "shape")],
        "d_elements": constant,
        "d_rows": [("x", "shape"), ("w", "shape")],
    }


def test_only_user_code_is_recorded(targets):
    recorder = record(targets.with_helpers, X, n=2, kind="wide")
    files = {d.file for d in recorder.decisions()} | set(recorder.executed_lines())
    assert {Path(f).parent for f in files} == {USER_MODULES}
    assert Path(targets.__file__).name in {Path(f).name for f in files}


def test_executed_lines_of_the_root_function(targets):
    recorder = record(targets.branches, X, n=2)
    ran = recorder.executed_lines()[targets.__file__]
    line = marker_line("if")
    assert {line, line + 2, line + 4, line + 5, line + 8} <= ran
    assert not {line + 1, line + 3, line + 7} & ran


def test_listings_mark_dead_lines_and_count_equations(targets):
    recorder = record(targets.branches, X, n=2)
    start = marker_line("if")
    equation_sources = [f"{targets.__file__}:{start + 8}"] * 3 + [None, "elsewhere.py:1"]
    (listing,) = recorder.listings(equation_sources)
    assert listing.function == "branches"
    assert listing.file == targets.__file__
    assert listing.lines[0].text == "def branches(x, n):"
    by_number = {line.number: line for line in listing.lines}
    dead = {n for n, line in by_number.items() if not line.ran}
    # y = x / y = x + 1 never ran, nor the else: branch and its body.
    assert dead == {start + 1, start + 3, start + 6, start + 7}
    assert {n: line.equations for n, line in by_number.items() if line.equations} == {start + 8: 3}


def test_listings_follow_with_the_helpers_that_made_decisions(targets):
    recorder = record(targets.with_helpers, X, n=2, kind="wide")
    listings = recorder.listings([])
    assert [(Path(x.file).name, x.function) for x in listings] == [
        ("decisions_targets.py", "with_helpers"),
        ("decisions_helpers.py", "outer"),
        ("decisions_helpers.py", "inner"),
    ]
    assert all(line.ran for listing in listings for line in listing.lines)


@pytest.fixture
def prior_tracer() -> Iterator[list[tuple[str, str]]]:
    """A user's own trace function (a debugger, coverage) installed around the test: it
    records the calls and lines of the target file."""
    calls: list[tuple[str, str]] = []

    def lines(frame: Any, event: str, arg: Any) -> Any:
        calls.append((frame.f_code.co_name, event))
        return lines

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename.endswith("decisions_targets.py"):
            calls.append((frame.f_code.co_name, event))
            return lines
        return None

    saved = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield calls
    finally:
        sys.settrace(saved)


def _tool_ids() -> list[str | None]:
    return [sys.monitoring.get_tool(i) for i in range(6)] if HAS_MONITORING else []


def test_a_failing_trace_removes_the_recorder_and_keeps_the_prior_tracer(targets, prior_tracer):
    installed, tools = sys.gettrace(), _tool_ids()
    roles = {"x": "traced", "n": "static"}
    jax.clear_caches()
    with (
        pytest.raises(jax.errors.TracerBoolConversionError),
        DecisionRecorder(targets.fails_on_value, roles) as recorder,
    ):
        jax.jit(targets.fails_on_value, static_argnames="n").trace(X, n=3)
    assert sys.gettrace() is installed
    assert _tool_ids() == tools
    # The prior tracer saw the user code run, line by line, and saw no opcode events.
    assert {("fails_on_value", "call"), ("fails_on_value", "line")} <= set(prior_tracer)
    assert ("fails_on_value", "opcode") not in prior_tracer
    # The loop was entered once; the test that failed has no outcome.
    assert summary(recorder.decisions()) == [("fail_loop", "for", (1,))]
    targets.branches(1, 2)
    assert prior_tracer[-1] == ("branches", "return")  # and it is still active


def test_the_recorder_leaves_no_hook_behind(targets):
    installed, tools = sys.gettrace(), _tool_ids()
    record(targets.branches, X, n=2)
    assert (sys.gettrace(), _tool_ids()) == (installed, tools)


@pytest.mark.skipif(not HAS_MONITORING, reason="sys.monitoring needs Python 3.12")
def test_the_settrace_backend_agrees_with_sys_monitoring(targets, transforms):
    """With every monitoring tool id taken, the recorder falls back to sys.settrace."""
    if sys.gettrace() is not None:
        pytest.skip(
            "another trace function (coverage.py, a debugger) holds sys.settrace, so the "
            "fallback cannot record beside it (the report then says so)"
        )
    cases = [
        (targets.branches, (X,), {"n": 2}),
        (targets.loops, (X,), {"n": 3}),
        (targets.matching, (X,), {"mode": ("scale", 5), "limit": 10}),
        (targets.comprehensions, (X,), {"n": 3}),
        (targets.asserting, (X,), {"n": 3}),
        (targets.dependencies, (X,), {"n": 3}),
        (targets.with_helpers, (X,), {"n": 2, "kind": "wide"}),
        (targets.with_method, (X,), {"n": 2}),
        (targets.with_closure, (X,), {"n": 3}),
        (targets.unusual_flow, (X,), {"n": 3}),
        (transforms.remat_vmapped, (PARAMS, X), {"n": 2, "remat": True}),
        (transforms.scanned, (PARAMS, X), {}),
        (transforms.through_a_table, (PARAMS, X), {}),
        (transforms.displays, (X, W, [X, X]), {}),
    ]
    monitored = [record(f, *args, **static).decisions() for f, args, static in cases]
    free = [i for i in range(6) if sys.monitoring.get_tool(i) is None]
    for tool in free:
        sys.monitoring.use_tool_id(tool, "test-occupied")
    try:
        traced = [record(f, *args, **static).decisions() for f, args, static in cases]
    finally:
        for tool in free:
            sys.monitoring.free_tool_id(tool)
    assert traced == monitored


def test_default_user_files():
    assert is_user_file(__file__)
    assert is_user_file(str(USER_MODULES / "decisions_targets.py"))
    assert not is_user_file(inspect.getfile(inspect))  # the standard library
    assert not is_user_file(jax.__file__)
    assert not is_user_file(pytest.__file__)  # site-packages
    assert not is_user_file(inspect.getfile(DecisionRecorder))  # jaxexplain itself
    assert not is_user_file("<string>")  # generated code, e.g. dataclass methods


WATCH_CASES = [
    ("branches", {"n": 2}),
    ("branches", {"n": 7}),
    ("loops", {"n": 5}),
    ("site_sums", {}),
    ("comprehensions", {"n": 3}),
    ("dependencies", {"n": 1}),
    ("with_helpers", {"n": 2, "kind": "wide"}),
    ("with_closure", {"n": 3}),
    ("unusual_flow", {"n": 3}),
]


def gated(events: list[int], last_on_line: dict[int, int]) -> list[int]:
    """The instructions a library frame records on Python 3.11, from a frame's whole stream
    of lines (negative) and instructions: opcode events on from a line holding watched ones
    to the last of them."""
    kept, last, on = [], sys.maxsize, True
    for event in events:
        if event < 0:
            last = last_on_line.get(-event, -1)
            on = last >= 0
        elif on:
            kept.append(event)
            on = event < last
    return kept


@pytest.mark.parametrize(("name", "static"), WATCH_CASES)
def test_the_instructions_watched_in_library_code_give_every_outcome(
    targets: Any, name: str, static: dict[str, Any]
) -> None:
    """Library frames record only the instructions that show a test ran and which way it
    went (on Python 3.11, the lines that hold them, up to the last); here, on user code
    recorded whole, every if/ifexp/while outcome found from those alone is the one found
    from all of them."""
    recorder = record(getattr(targets, name), X, **static)
    analysis = recorder._analyzed()
    compared = 0
    for activation in recorder._activations:
        facts = analysis.facts(activation.code)
        assert facts is not None
        watch = recording._watch_of(activation.code, {})
        constructs = [c for c in facts.constructs if c.kind in ("if", "ifexp", "while")]
        streams = {"watched": [e for e in activation.events if watch and e in watch.offsets]}
        if watch is not None and not recording._PER_CODE_OPCODES:
            streams["gated"] = gated(activation.events, watch.last_on_line)
        whole = [e for e in activation.events if e >= 0 and e not in facts.neutral]
        for construct in (c for c in constructs if c.literal is None):
            expected = recording._outcomes(construct, facts, activation, whole)
            for stream in streams.values():
                evidence = [e for e in stream if e not in facts.neutral]
                assert recording._outcomes(construct, facts, activation, evidence) == expected
            compared += bool(expected)
    assert compared
