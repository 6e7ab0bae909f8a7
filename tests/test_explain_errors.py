"""Failure explanations on a corpus of failing functions (tests/user_modules/failing_*.py).

For each failure: the JAX error class, the user's file, line and source text, the construct, and
exactly which parameters the failing value came from. Every fix jaxexplain marks verified is
applied again here by the test itself (a static argument passed as static, a rewrite written
into a copy of the user's file) and traced; JAX, not jaxexplain, says whether it works.
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from jaxexplain import api
from jaxexplain.api import prepare_target, trace_target
from jaxexplain.cli import app
from jaxexplain.explain import retrace
from jaxexplain.explain.dependencies import dependencies_in_source, provenance
from jaxexplain.explain.frames import frames_below_target, read_sites, user_frames
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.renderers import render
from jaxexplain.report import Dependency, ErrorInfo, TraceReport
from jaxexplain.tracing.stages import trace_plan

USER = Path(__file__).resolve().parent / "user_modules"
ROOT = USER.parent.parent
F8 = ArraySpec((8,), "float32")
F0 = ArraySpec((), "float32")


@dataclass(frozen=True)
class Case:
    """A failing target and what its explanation must say, exactly."""

    target: str
    static: dict[str, Any]
    traced: dict[str, Any]
    error: str
    file: str
    line_text: str
    construct: str
    depends_on: tuple[tuple[str, str], ...]
    verified: tuple[str, ...] = ()
    unverified: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.target.rpartition(":")[2].replace(".", "_")


def line_of(file: str, text: str) -> int:
    """The line number of the one line of `file` that contains `text`."""
    lines = (USER / file).read_text().splitlines()
    found = [i + 1 for i, line in enumerate(lines) if text in line]
    assert len(found) == 1, f"{text!r} occurs {len(found)} times in {file}"
    return found[0]


CF = "tests/user_modules/failing_control_flow.py:"
HP = "tests/user_modules/failing_helpers.py:"
CFF = "failing_control_flow.py"
LIB = "failing_helpers_lib.py"

CASES = [
    Case(
        CF + "branch_on_array",
        {"threshold": 0.5},
        {"x": F8},
        "ValueError",
        CFF,
        "    if x > threshold:",
        "if",
        (("x", "value"), ("threshold", "static")),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_scalar",
        {},
        {"x": F8, "n": 3},
        "TracerBoolConversionError",
        CFF,
        "if n > 0:\n        return x * n",
        "if",
        (("n", "value"),),
        ("make_static", "rewrite"),
    ),
    Case(
        CF + "branch_on_flag",
        {},
        {"x": F8, "flag": ArraySpec((), "bool")},
        "TracerBoolConversionError",
        CFF,
        "if flag:",
        "if",
        (("flag", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "branch_assigns",
        {},
        {"x": F8, "y": F0},
        "TracerBoolConversionError",
        CFF,
        "if scaled.sum() > y:",
        "if",
        (("x", "value"), ("y", "value")),
        ("rewrite",),
    ),
    Case(
        CF + "branch_with_statements",
        {},
        {"x": F8, "limit": 1.0},
        "TracerBoolConversionError",
        CFF,
        "if total > limit:",
        "if",
        (("x", "value"), ("limit", "value")),
        ("rewrite",),
    ),
    Case(
        CF + "conditional_expression",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "return x * 2 if x.mean() > 0 else -x",
        "ifexp",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "halve_while_large",
        {},
        {"x": F0},
        "TracerBoolConversionError",
        CFF,
        "while x > 1.0:",
        "while",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "loop_over_traced_count",
        {},
        {"x": F8, "n": 3},
        "TracerIntegerConversionError",
        CFF,
        "for i in range(n):",
        "for_range",
        (("n", "value"),),
        ("make_static", "rewrite"),
    ),
    Case(
        CF + "int_of_traced",
        {},
        {"x": F8, "n": 3},
        "ConcretizationTypeError",
        CFF,
        "jnp.zeros(int(n))",
        "int",
        (("n", "value"),),
        ("make_static",),
    ),
    Case(
        CF + "float_of_traced",
        {},
        {"x": F8},
        "ConcretizationTypeError",
        CFF,
        "float(x.sum())",
        "float",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "item_of_traced",
        {},
        {"x": F8},
        "ConcretizationTypeError",
        CFF,
        "x.mean().item()",
        "item",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "numpy_on_traced",
        {},
        {"x": F8},
        "TracerArrayConversionError",
        CFF,
        "return np.sin(x) + 1",
        "numpy",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "boolean_mask",
        {},
        {"x": F8},
        "NonConcreteBooleanIndexError",
        CFF,
        "x[x > 0].sum()",
        "bool_index",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "branch_in_loop",
        {"steps": 3},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() > i:",
        "if",
        (("x", "value"), ("steps", "static")),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_global",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() > LIMIT:",
        "if",
        (("x", "value"), ("LIMIT", "global")),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_shape_and_data",
        {"scale": 2.0},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() * scale > size:",
        "if",
        (("x", "value"), ("x", "shape"), ("scale", "static")),
        ("rewrite",),
    ),
    Case(
        CF + "static_then_data",
        {},
        {"x": F8, "n": 2},
        "TracerBoolConversionError",
        CFF,
        "    if n > 0:\n        x = x * 2",
        "if",
        (("n", "value"),),
        (),
        ("make_static",),
    ),
    Case(
        CF + "carry_changes_shape",
        {},
        {"x": F8, "n": 2},
        "TracerIntegerConversionError",
        CFF,
        "for _ in range(n):\n        total = total + x",
        "for_range",
        (("n", "value"),),
        ("make_static",),
    ),
    Case(
        CF + "array_branch_in_loop",
        {"steps": 2},
        {"x": F8},
        "ValueError",
        CFF,
        "if x > i:",
        "if",
        (("x", "value"), ("steps", "static")),
        (),
        ("rewrite",),
    ),
    Case(
        CF + "elif_chain",
        {},
        {"x": F8},
        "ValueError",
        CFF,
        "if x > 1:",
        "if",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "assert_on_data",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        'assert x.sum() > 0, "positive"',
        "assert",
        (("x", "value"),),
    ),
    Case(
        CF + "filter_in_comprehension",
        {},
        {"x": ArraySpec((3,), "float32")},
        "TracerBoolConversionError",
        CFF,
        "if x[i] > 0])",
        "comprehension",
        (("x", "value"),),
    ),
    Case(
        CF + "branch_in_vmapped_lambda",
        {},
        {"x": ArraySpec((4, 3), "float32")},
        "TracerBoolConversionError",
        CFF,
        "lambda r: r if r.sum() > 0 else -r",
        "ifexp",
        (("x", "value"),),
        (),
        ("rewrite",),
    ),
    Case(
        CF + "branch_in_scan_body",
        {},
        {"x": ArraySpec((4, 3), "float32")},
        "TracerBoolConversionError",
        CFF,
        "if row.sum() > 0:",
        "if",
        (("x", "value"),),
    ),
    Case(
        CF + "Scaler.apply",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() > self.scale:",
        "if",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_constant",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if jnp.ones(3).sum() > 2:",
        "if",
        (),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_dtype_limit",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() > tiny:",
        "if",
        (("x", "value"), ("x", "dtype")),
        ("rewrite",),
    ),
    Case(
        HP + "calls_helper",
        {"limit": 1.0},
        {"x": F8, "unused": F0},
        "TracerBoolConversionError",
        LIB,
        "if v.sum() > limit:",
        "if",
        (("x", "value"), ("limit", "static")),
        ("rewrite",),
    ),
    Case(
        HP + "helper_in_loop",
        {"steps": 2},
        {"x": F8},
        "TracerBoolConversionError",
        LIB,
        "if v.sum() > limit:",
        "if",
        (("x", "value"), ("steps", "static")),
        ("rewrite",),
    ),
    Case(
        HP + "helper_with_count",
        {},
        {"x": F8, "k": 2},
        "TracerIntegerConversionError",
        LIB,
        "for _ in range(n):",
        "for_range",
        (("k", "value"),),
        ("make_static", "rewrite"),
    ),
]


def _line(case: Case) -> int:
    """The failing line: the first line of the (possibly multi-line) marker text."""
    text = (USER / case.file).read_text()
    assert text.count(case.line_text) == 1, case.line_text
    return text[: text.index(case.line_text)].count("\n") + 1


@pytest.fixture(scope="module")
def reports() -> dict[str, TraceReport]:
    """Each case explained once (each explanation re-traces a few times)."""
    return {}


def explained(case: Case, cache: dict[str, TraceReport]) -> TraceReport:
    if case.id not in cache:
        cache[case.id] = trace_target(case.target, case.static, case.traced, compile=False)
    return cache[case.id]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_failure_is_explained_at_the_users_line(
    case: Case, reports: dict[str, TraceReport]
) -> None:
    report = explained(case, reports)
    error = report.error
    assert error is not None
    assert error.type == case.error
    assert error.file == str(USER / case.file)
    line = _line(case)
    assert error.line == line
    assert error.source == (USER / case.file).read_text().splitlines()[line - 1].strip()
    assert error.construct == case.construct
    assert tuple((d.name, d.via) for d in error.depends_on) == case.depends_on
    assert tuple(s.kind for s in error.suggestions if s.verified) == case.verified
    for kind in case.unverified:
        assert any(s.kind == kind and not s.verified for s in error.suggestions), kind
    assert error.explanation
    assert "could not analyse" not in error.explanation


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_verified_fix_traces_when_the_test_applies_it(
    case: Case, reports: dict[str, TraceReport], tmp_path: Path
) -> None:
    error = explained(case, reports).error
    assert error is not None
    for suggestion in error.suggestions:
        if not suggestion.verified:
            continue
        if suggestion.kind == "make_static":
            static = {**case.static, **{p: case.traced[p] for p in suggestion.params}}
            traced = {k: v for k, v in case.traced.items() if k not in suggestion.params}
            fixed = trace_target(case.target, static, traced, compile=False)
        else:
            assert suggestion.kind == "rewrite" and suggestion.code
            fixed = _trace_rewritten(case, error, suggestion.code, suggestion.text, tmp_path)
        assert fixed.ok, (suggestion, fixed.error)


def _trace_rewritten(
    case: Case, error: ErrorInfo, code: str, text: str, tmp_path: Path
) -> TraceReport:
    """Writes the rewrite into copies of the user's files, as the user would, and traces them."""
    for source in USER.glob("failing_*.py"):
        (tmp_path / source.name).write_text(source.read_text())
    assert error.file is not None
    path = tmp_path / Path(error.file).name
    lines = path.read_text().splitlines()
    first, last = _replaced_lines(text)
    lines[first - 1 : last] = code.splitlines()
    header = ["import jax.numpy as jnp", "import numpy as np", "from jax import lax"]
    path.write_text("\n".join(header + lines) + "\n")
    module_file, _, function = case.target.rpartition(":")
    rewritten = f"{tmp_path / Path(module_file).name}:{function}"
    with _fresh_modules(tmp_path):
        report = trace_target(rewritten, case.static, case.traced, compile=False)
        if report.ok:
            _check_values_where_python_can(case, rewritten)
        return report


def _check_values_where_python_can(case: Case, rewritten: str) -> None:
    """The rewrite under jit returns what the original returns eagerly, where the original can
    run eagerly (a Python `if` on a multi-element array cannot)."""
    original, plan = prepare_target(case.target, case.static, case.traced, None)
    fixed, fixed_plan = prepare_target(rewritten, case.static, case.traced, None)
    rng = np.random.default_rng(7)
    values = {
        name: jnp.asarray(rng.normal(size=spec.shape), spec.dtype)
        if isinstance(spec, ArraySpec)
        else spec
        for name, spec in case.traced.items()
    }
    args, kwargs = plan.with_values(values).call_args()
    try:
        expected = original.function(*args, **kwargs)
    except ValueError:
        expected = _per_element(original.function, plan, values)
    concrete = fixed_plan.with_values(values)
    fixed_args, fixed_kwargs = concrete.call_args()
    actual = fixed.jitted_for(concrete)(*fixed_args, **fixed_kwargs)
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=1e-5, atol=1e-6)


def _per_element(function: Any, plan: Any, values: dict[str, Any]) -> np.ndarray:
    """The original run on each element of its one array argument: what a Python `if` on a
    whole array (which cannot run) means element by element, the reading a `jnp.where` takes."""
    (name,) = [n for n, v in values.items() if np.ndim(v) > 0]
    array = values[name]
    outputs = []
    for element in array.reshape(-1):
        args, kwargs = plan.with_values({**values, name: element}).call_args()
        outputs.append(np.asarray(function(*args, **kwargs)))
    return np.stack(outputs).reshape(array.shape)


def _replaced_lines(text: str) -> tuple[int, int]:
    import re

    match = re.search(r"replace lines? (\d+)(?:-(\d+))?", text)
    assert match, text
    return int(match[1]), int(match[2] or match[1])


class _fresh_modules:
    """Imports from `folder` see its copies, not modules cached from tests/user_modules."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> None:
        for name in [n for n in sys.modules if n.startswith("failing_")]:
            del sys.modules[name]
        sys.path.insert(0, str(self.folder))

    def __exit__(self, *exc: object) -> None:
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", "") or "").startswith(str(self.folder)):
                del sys.modules[name]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_source_dependencies_agree_with_jax(case: Case) -> None:
    """Where JAX names the traced arguments a tracer came from, the AST analysis names the same."""
    target, plan = prepare_target(case.target, case.static, case.traced, None)
    with pytest.raises(Exception) as caught:
        trace_plan(target, plan)
    jax_says = provenance(caught.value, target)
    if jax_says is None:
        pytest.skip("JAX names no arguments for this failure")
    sites = read_sites(frames_below_target(user_frames(caught.value), target))
    from_source = dependencies_in_source(plan, sites)
    assert sorted(d.name for d in from_source if d.via == "value") == sorted(jax_says)


def test_seed_case_on_the_command_line() -> None:
    args = [
        "trace",
        "samples/conditional.py:conditional_double",
        "--arg",
        "x=f32[8]",
        "--static",
        "threshold=0.5",
    ]
    text = CliRunner().invoke(app, [*args, "--color", "never"])
    assert text.exit_code == 1
    out = text.stdout
    lines = [line.rstrip() for line in out.splitlines()]
    at = lines.index("  samples/conditional.py:12   if x > threshold:")
    assert lines[at + 1] == " " * 33 + "^" * 13
    out = " ".join(out.split())
    assert "x (traced, f32[8])" in out
    assert "threshold is already static; making it static does not help" in out
    assert "no static choice can help" in out
    assert "✓ verified" in out
    assert "return jnp.where(x > threshold, x * 2, x)" in out
    document = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)
    error = document["error"]
    assert error["depends_on"] == [
        {"name": "x", "via": "value"},
        {"name": "threshold", "via": "static"},
    ]
    (fix,) = error["suggestions"]
    assert fix["kind"] == "rewrite" and fix["verified"] is True
    assert fix["code"].strip() == "return jnp.where(x > threshold, x * 2, x)"


def test_seed_rewrite_is_the_working_sample() -> None:
    """The verified rewrite is what samples/conditional.py:where_double already does."""
    report = trace_target(
        "samples/conditional.py:where_double", {"threshold": 0.5}, {"x": F8}, compile=False
    )
    assert report.ok


def test_report_with_error_round_trips_through_json(reports: dict[str, TraceReport]) -> None:
    report = explained(CASES[0], reports)
    assert TraceReport.from_dict(json.loads(report.to_json())) == report


def test_text_report_puts_the_explanation_and_fixes_first(
    reports: dict[str, TraceReport],
) -> None:
    case = next(c for c in CASES if c.id == "loop_over_traced_count")
    text = render(explained(case, reports), "text", color=False)
    assert text.index("Tracing failed") < text.index("Fixes") < text.index("Arguments")
    assert "lax.fori_loop(0, n, lambda i, total: total + x * i, total)" in text
    assert "cost: one compilation per distinct value of n" in text


def test_unverified_fixes_say_where_tracing_then_fails(reports: dict[str, TraceReport]) -> None:
    case = next(c for c in CASES if c.id == "static_then_data")
    error = explained(case, reports).error
    assert error is not None
    (static,) = [s for s in error.suggestions if s.kind == "make_static"]
    assert not static.verified
    assert f"failing_control_flow.py:{line_of(CFF, 'if x.sum() > 0:')}" in static.text


def test_retraces_stay_few(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = retrace.trace_plan

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(retrace, "trace_plan", counting)
    trace_target(CF + "static_then_data", {}, {"x": F8, "n": 2}, compile=False)
    assert 1 <= len(calls) <= retrace.MAX_RETRACES


def test_checking_a_helper_rewrite_leaves_the_users_code_and_caches_alone() -> None:
    sys.path.insert(0, str(USER))
    import failing_helpers
    import failing_helpers_lib

    original = failing_helpers_lib.clip_above
    code = original.__code__
    report = api.trace(failing_helpers.calls_helper, F8, 1.0, F0, static_argnames="limit")
    assert report.error is not None and report.error.suggestions[0].verified
    assert failing_helpers.clip_above is original is failing_helpers_lib.clip_above
    assert original.__code__ is code
    jitted = jax.jit(failing_helpers.calls_helper, static_argnames="limit")
    with pytest.raises(jax.errors.TracerBoolConversionError):
        jitted(jnp.ones(8), 1.0, jnp.float32(0))


# ---------------------------------------------------------------------------------------------
# Static arguments that cannot be hashed, and ones that hash by identity


@pytest.fixture
def arguments() -> Any:
    sys.path.insert(0, str(USER))
    import failing_arguments

    return failing_arguments


@pytest.mark.parametrize(
    ("function", "value", "kind"),
    [
        ("scale_by_sizes", [1, 2], "hashable"),
        ("scale_by_options", {"scale": 2.0}, "hashable"),
        ("scale_by_config", "Config", "hashable"),
        ("scale_by_table", np.ones(4, np.float32), "make_traced"),
    ],
)
def test_unhashable_static_argument(arguments: Any, function: str, value: Any, kind: str) -> None:
    fn = getattr(arguments, function)
    value = arguments.Config() if isinstance(value, str) else value
    name = list(__import__("inspect").signature(fn).parameters)[1]
    report = api.trace(fn, "f32[4]", value, static_argnames=name, compile=False)
    error = report.error
    assert error is not None
    assert error.type == "ValueError"
    assert error.construct == "static_argument"
    assert error.file == arguments.__file__
    assert error.line == fn.__code__.co_firstlineno
    assert error.source == f"def {function}(x, {name}):"
    assert error.depends_on == (Dependency(name, "static"),)
    assert [s.kind for s in error.suggestions if s.verified] == [kind]
    assert api.trace(
        fn,
        "f32[4]",
        _fixed(arguments, value, kind),
        static_argnames=() if kind == "make_traced" else name,
        compile=False,
    ).ok


def _fixed(arguments: Any, value: Any, kind: str) -> Any:
    """The fix as a user would write it, independently of jaxexplain's stand-ins."""
    import dataclasses

    if kind == "make_traced":
        return value
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):

        class FrozenDict(dict):
            def __hash__(self) -> int:  # type: ignore[override]
                return hash(tuple(sorted(self.items())))

        return FrozenDict(value)
    frozen = dataclasses.make_dataclass("Config", [("scale", float, 2.0)], frozen=True)
    return frozen(value.scale)


def test_identity_hash_static_is_a_note_on_a_successful_trace(arguments: Any) -> None:
    report = api.trace(
        arguments.scale_by_config,
        "f32[4]",
        arguments.Settings(2.0),
        static_argnames="cfg",
        compile=False,
    )
    assert report.ok
    (note,) = [n for n in report.notes if "compared by identity" in n]
    assert "static argument cfg (a Settings)" in note
    assert "recompile on every call" in note


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda m: m.Settings(2.0), "compared by identity"),
        (lambda m: m.HashedNotEqual(2.0), "compared by identity"),
        (lambda m: m.FrozenConfig(2.0), None),
        (lambda m: (1, 2), None),
    ],
)
def test_static_whose_equal_copy_misses_the_cache(arguments: Any, make: Any, problem: Any) -> None:
    value = make(arguments)
    report = api.trace(
        arguments.scale_by_config if hasattr(value, "scale") else arguments.scale_by_sizes,
        "f32[4]",
        value,
        static_argnames=("cfg", "sizes"),
        compile=False,
    )
    assert report.ok
    notes = [n for n in report.notes if "recompile on every call" in n]
    assert [problem in n for n in notes] == ([] if problem is None else [True])
    jitted = jax.jit(lambda x, v: x, static_argnums=1)
    jitted(jnp.ones(4), value)
    jitted(jnp.ones(4), copy.deepcopy(value))
    assert jitted._cache_size() == (1 if problem is None else 2)


def test_traced_argument_that_is_not_an_array(arguments: Any) -> None:
    fn = arguments.activation_by_name
    report = api.trace(fn, "f32[4]", "relu", compile=False)
    error = report.error
    assert error is not None
    assert error.type == "TypeError"
    assert error.construct == "argument"
    assert error.line == fn.__code__.co_firstlineno
    assert error.depends_on == (Dependency("name", "value"),)
    (fix,) = error.suggestions
    assert fix.kind == "make_static" and fix.verified
    assert api.trace(fn, "f32[4]", "relu", static_argnames="name", compile=False).ok


def test_object_passed_traced_warns_that_static_would_recompile(arguments: Any) -> None:
    report = api.trace(arguments.scale_by_config, "f32[4]", arguments.Settings(2.0))
    error = report.error
    assert error is not None
    (fix,) = [s for s in error.suggestions if s.kind == "make_static"]
    assert fix.verified
    assert fix.cost is not None and "hashes by identity" in fix.cost


# ---------------------------------------------------------------------------------------------
# Leaked tracers


@pytest.fixture
def leaks() -> Any:
    sys.path.insert(0, str(USER))
    import failing_leaks

    return failing_leaks


def _leak_line(text: str) -> int:
    return line_of("failing_leaks.py", text)


def test_tracer_leaked_from_vmap_is_explained_where_it_escapes(leaks: Any) -> None:
    error = api.trace(leaks.leak_from_vmap, "f32[3]", compile=False).error
    assert error is not None
    assert error.type == "UnexpectedTracerError"
    assert error.construct == "leaked_tracer"
    assert error.line == _leak_line("return saved[0] + 1")
    assert error.depends_on == ()
    assert "through `saved`" in error.explanation
    assert error.suggestions[0].kind == "advice"


def test_tracer_leaked_from_scan_is_caught_before_it_is_called(leaks: Any) -> None:
    error = api.trace(leaks.leak_from_scan, "f32[]", compile=False).error
    assert error is not None
    assert error.type == "UnexpectedTracerError"
    assert error.line == _leak_line("return final + saved[0]")
    assert error.created_at == f"{leaks.__file__}:{_leak_line('saved.append(carry * 2)')}"
    assert "`body` for scan" in error.explanation
    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.jit(leaks.leak_from_scan)(jnp.ones(()))


def test_tracer_stored_by_another_jit_is_caught(leaks: Any) -> None:
    stored = api.trace(leaks.store_tracer, "f32[]", compile=False).error
    assert stored is not None and stored.construct == "leaked_tracer"
    assert stored.line == _leak_line('STORE["h"] = x * 3')
    report = api.trace(leaks.use_stored, "f32[]")
    error = report.error
    assert error is not None and report.compile is None
    assert error.type == "UnexpectedTracerError"
    assert error.line == _leak_line('return y * STORE["h"]')
    created = _leak_line('STORE["h"] = x * 3')
    assert error.created_at == f"{leaks.__file__}:{created}"
    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.jit(leaks.use_stored)(jnp.ones(()))


def test_the_caret_of_a_bare_name_test_is_under_the_name(reports: dict[str, TraceReport]) -> None:
    """Python 3.11 gives the jump of `if flag:` the span of the whole statement."""
    error = explained(next(c for c in CASES if c.id == "branch_on_flag"), reports).error
    assert error is not None and error.source == "if flag:"
    assert (error.column, error.end_column) == (3, 7)
