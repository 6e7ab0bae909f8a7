"""explain/concretization.py: explanations of a tracer that reached Python control flow or a
conversion, on a corpus of failing functions (tests/failing_cases.py).

For each failure: the JAX error class, the user's file, line and source text, the construct, and
exactly which parameters the failing value came from. Every fix jaxexplain marks verified is
applied again here by the test itself (a static argument passed as static, a rewrite written
into a copy of the user's file) and traced; JAX, not jaxexplain, says whether it works.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from jaxexplain import api
from jaxexplain.api import trace_target
from jaxexplain.cli import app
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.renderers import render
from jaxexplain.report import Dependency, ErrorInfo, TraceReport
from tests.failing_cases import CASES, CFF, F0, F8, USER, Case, failing_line, line_of
from tests.targets.failures import configs, library_checks, sizes

FAILING = "tests.targets.failures.research"


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
    line = failing_line(case)
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


def test_an_array_needed_concretely_still_has_no_static_choice() -> None:
    """`if x > threshold` with x f32[8]: the 0-d threshold being traced too changes nothing."""
    report = trace_target(
        "samples/conditional.py:conditional_double",
        traced={"x": ArraySpec((8,), "float32"), "threshold": ArraySpec((), "float32")},
        compile=False,
    )
    assert report.error is not None
    assert "array data of x, so no static choice can help" in report.error.explanation
    assert not [s for s in report.error.suggestions if s.kind == "make_static"]


def test_a_mask_held_in_a_name_is_explained_as_boolean_mask_indexing() -> None:
    """`x[mask].mean()` with `mask` a traced bool array: JAX raises its boolean-index error,
    and the explanation speaks of a mask deciding the result's shape, not of indexing a
    Python sequence with an int."""
    from tests.targets.failures import research as failing

    x, mask = jnp.zeros(10), jnp.zeros(10, bool)
    with pytest.raises(jax.errors.NonConcreteBooleanIndexError):
        failing.masked_mean(x, mask)
    report = trace_target(
        f"{FAILING}:masked_mean",
        {},
        {"x": ArraySpec((10,), "float32"), "mask": ArraySpec((10,), "bool")},
        compile=False,
    )
    assert report.error is not None and report.error.line == 18
    assert report.error.construct == "bool_index"
    assert "Python sequence" not in report.error.explanation
    assert all("Python sequence" not in s.text for s in report.error.suggestions)
    assert any("jnp.where(mask, x, fill)" in s.text for s in report.error.suggestions)


@pytest.mark.parametrize(
    ("function", "line", "source"),
    [("count_classes", 12, "jnp.unique(labels)"), ("n_positive", 39, "jnp.nonzero(x > 0)")],
)
def test_a_data_sized_call_without_size_points_to_a_static_size(
    function: str, line: int, source: str
) -> None:
    """`jnp.unique(labels)` / `jnp.nonzero(x > 0)` under jit: JAX needs concrete values
    because the result's length depends on them; the fix offered is `size=K`, which JAX
    traces (no static choice of an argument can help)."""
    from tests.targets.failures import research as failing

    spec = ArraySpec((10,), "int32" if function == "count_classes" else "float32")
    name = "labels" if function == "count_classes" else "x"
    report = trace_target(f"{FAILING}:{function}", {}, {name: spec}, compile=False)
    assert report.error is not None and report.error.line == line
    assert report.error.construct == "sized" and source in report.error.source
    assert not any(s.kind == "make_static" for s in report.error.suggestions)
    assert any("size=K" in s.text for s in report.error.suggestions)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        getattr(failing, function)(jnp.zeros(10, spec.dtype))
    sized = jax.jit(lambda v: jnp.unique(v, size=10, fill_value=-1))
    assert sized.trace(jnp.zeros(10, jnp.int32)).jaxpr.eqns


KEY = jax.random.key(0)
# Errors other than tracer errors that a traced number raises where a Python int is needed:
# a primitive's parameter (`random_split`'s shape), a shape, a static argument of a function
# JAX jits itself (`jnp.cumsum`'s axis, `jnp.tril`'s k), a library's own `int` check.
NOT_TRACER_ERRORS = [
    (sizes.reset_envs, (KEY, 3), "num_envs"),
    (sizes.pad_batch, (jnp.ones((2, 3)), 4), "batch_size"),
    (sizes.time_grid, (5,), "num_steps"),
    (sizes.split_heads, (jnp.ones((2, 8)), 4), "num_heads"),
    (sizes.exploration_noise, (KEY, 3), "num_samples"),
    (sizes.cumulative_rewards, (jnp.ones((4, 3)), 0), "axis"),
    (sizes.causal_scores, (jnp.ones((4, 4)), 0), "offset"),
    (library_checks.sqrt_two, (1.0, 64), "max_steps"),
    (library_checks.decay, (jnp.ones(2), 64), "max_steps"),
]


def _raised_by_jit(fn: Any, args: tuple[Any, ...]) -> pytest.ExceptionInfo[BaseException]:
    with pytest.raises(Exception) as caught:
        fn(*args)
    return caught


def _library_line(entry: Any) -> str | None:
    """`jax/_src/random/prng.py:600`: an installed library's frame as a user reads it, from
    its package's directory on; None for a frame outside site-packages."""
    parts = Path(str(entry.path)).parts
    if "site-packages" not in parts:
        return None
    return "/".join(parts[parts.index("site-packages") + 1 :]) + f":{entry.lineno + 1}"


@pytest.mark.parametrize(
    ("fn", "args", "param"), NOT_TRACER_ERRORS, ids=[c[0].__name__ for c in NOT_TRACER_ERRORS]
)
def test_a_traced_number_where_a_python_int_is_needed_is_explained_like_a_tracer_error(
    fn: Any, args: tuple[Any, ...], param: str
) -> None:
    """At the user's line and the library's line where the real error is raised, from the
    parameter, with the static fix that JAX traces when the test applies it."""
    caught = _raised_by_jit(fn, args)
    assert not isinstance(caught.value, jax.errors.TracerBoolConversionError)
    target_file = Path(sys.modules[fn.__module__].__file__ or "")
    users = [e for e in caught.traceback if Path(e.path) == target_file]
    library = _library_line(caught.traceback[-1])

    error = api.trace(fn, *args, compile=False).error
    assert error is not None and error.type == type(caught.value).__name__
    assert (error.file, error.line) == (str(target_file), users[-1].lineno + 1)
    if library is not None:
        assert library in error.explanation
    assert [d for d in error.depends_on if d.via == "value"] == [Dependency(param, "value")]
    (fix,) = [s for s in error.suggestions if s.verified]
    assert fix.kind == "make_static" and fix.params == (param,)
    jax.jit(fn.__wrapped__, static_argnames=fix.params).trace(*args)


def test_a_tracer_for_a_static_of_a_jitted_jax_function_names_that_call() -> None:
    """`jnp.tril(..., offset)` raises JAX's non-hashable-static error at the user's call; it is a
    tracer where a Python int is needed, not a static argument of the user's to make hashable."""
    caught = _raised_by_jit(sizes.causal_scores, (jnp.ones((4, 4)), 0))
    assert "Non-hashable static arguments" in str(caught.value)
    error = api.trace(sizes.causal_scores, jnp.ones((4, 4)), 0, compile=False).error
    assert error is not None and error.construct == "jit_static"
    assert error.explanation.startswith(
        "`jnp.tril(jnp.ones_like(scores), offset)` calls a function JAX jits with static arguments"
    )


def test_a_count_given_as_an_array_to_a_primitive_gets_the_fix_unverified() -> None:
    """`--arg num_envs=i32[]`: no Python number to re-trace with, so the fix says how to let
    jaxexplain verify it, and JAX agrees that it works with a Python int."""
    error = api.trace(sizes.reset_envs, KEY, jax.ShapeDtypeStruct((), jnp.int32)).error
    assert error is not None and error.construct == "call"
    (fix,) = [s for s in error.suggestions if s.kind == "make_static"]
    assert fix.params == ("num_envs",) and not fix.verified
    assert "Pass num_envs as a Python int" in fix.text
    jax.jit(sizes.reset_envs.__wrapped__, static_argnames="num_envs").trace(KEY, 3)


@pytest.mark.parametrize(
    "fn", [configs.reset_envs, configs.learning_rate], ids=lambda f: f.__name__
)
def test_a_config_dict_passed_traced_is_made_static_as_a_hashable_mapping(fn: Any) -> None:
    """purejaxrl-style `config["NUM_ENVS"]` and `if config["ANNEAL_LR"]` with the config passed
    traced: the fix is the config static, as a hashable mapping, since JAX cannot hash a dict;
    the test applies it with flax's FrozenDict."""
    from flax.core import FrozenDict

    first = KEY if fn is configs.reset_envs else 3
    config = configs.config()
    caught = _raised_by_jit(fn, (first, config))
    target_file = Path(configs.__file__)
    users = [e for e in caught.traceback if Path(e.path) == target_file]

    error = api.trace(fn, first, config, compile=False).error
    assert error is not None
    assert (error.file, error.line) == (str(target_file), users[-1].lineno + 1)
    assert error.depends_on == (Dependency("config", "value"),)
    assert "config is a dict of Python numbers passed traced" in error.explanation
    assert "no static choice" not in error.explanation
    static = next(s for s in error.suggestions if s.kind == "make_static")
    assert static.verified and static.params == ("config",)
    assert "passing config as a hashable mapping (flax.core.FrozenDict" in static.text
    jitted = jax.jit(fn.__wrapped__, static_argnames="config")
    with pytest.raises(ValueError, match="Non-hashable static arguments"):
        jitted.trace(first, config)
    jitted.trace(first, FrozenDict(config))
