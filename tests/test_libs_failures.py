"""Failures inside library code: the library line that needed the value, the user's argument
that reached it (found by re-tracing with it static), and a make-static fix that the test
itself re-traces with `jax.jit(..., static_argnames=...)`; and where no static choice helps,
that is said and nothing is blamed on arrays the value never saw."""

from __future__ import annotations

import importlib.util
import linecache
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import pytest

import jaxexplain
from jaxexplain.report import ErrorInfo
from tests.targets.libs import failures

LIBRARY_LINE = re.compile(r"line (?P<path>[\w/]+\.py):(?P<line>\d+) \(`")

# (target, factory, the argument that reaches the library, its package, a word of that line)
STATIC_FIXES = [
    (failures.solve, failures.solve_args, "max_steps", "equinox", "max_steps"),
    (failures.attend, failures.attend_args, "num_heads", "flax", "num_heads"),
    (failures.one_hot_labels, failures.one_hot_args, "num_classes", "jax", "num_classes"),
    (failures.split_keys, failures.split_args, "num", "jax", "shape"),
    (failures.group_norm, failures.group_norm_args, "num_groups", "flax", "num_groups"),
    (failures.mlp, failures.mlp_args, "depth", "equinox", "depth"),
]


def failure_of(fn: Callable[..., Any], factory: Callable[[], dict[str, Any]]) -> ErrorInfo:
    report = jaxexplain.trace(fn, compile=False, **factory())
    assert report.error is not None
    return report.error


def jax_error(fn: Callable[..., Any], kwargs: dict[str, Any], static: tuple[str, ...]) -> Any:
    """What JAX itself raises tracing `fn` with `static` static (None when it traces)."""
    try:
        jax.jit(fn, static_argnames=static).trace(**kwargs)
    except Exception as exc:
        return exc
    return None


def installed_line(path: str, line: int) -> str:
    """The text of `path` (from the package directory on) in the installed package."""
    package, _, rest = path.partition("/")
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return linecache.getline(str(Path(spec.submodule_search_locations[0]) / rest), line)


@pytest.mark.parametrize(("fn", "factory", "name", "package", "word"), STATIC_FIXES)
def test_the_argument_reaching_a_library_line_is_named_and_its_static_fix_works(
    fn: Callable[..., Any],
    factory: Callable[[], dict[str, Any]],
    name: str,
    package: str,
    word: str,
) -> None:
    kwargs = factory()
    assert jax_error(fn, kwargs, ()) is not None
    error = failure_of(fn, factory)
    assert [(d.name, d.via) for d in error.depends_on] == [(name, "value")]
    found = LIBRARY_LINE.search(error.explanation)
    assert found is not None, error.explanation
    assert found["path"].startswith(package + "/")
    assert word in installed_line(found["path"], int(found["line"]))
    assert error.explanation.startswith("Inside `")
    assert " is a tracer" not in error.explanation
    fix = error.suggestions[0]
    assert (fix.kind, fix.params, fix.verified) == ("make_static", (name,), True)
    jitted = jax.jit(fn, static_argnames=(name,))
    jax.block_until_ready(jitted(**kwargs))
    assert jitted._cache_size() == 1


def test_a_step_time_diffrax_computes_is_blamed_on_no_argument_and_no_static_choice() -> None:
    kwargs = failures.switching_solve_args()
    scalars = ("t0", "t1", "dt0")
    still = jax_error(failures.switching_solve, kwargs, scalars)
    assert isinstance(still, jax.errors.TracerBoolConversionError)
    error = failure_of(failures.switching_solve, failures.switching_solve_args)
    assert error.source == "if t < 0.5:"
    assert not [d for d in error.depends_on if d.via == "value"]
    assert "y0" not in error.explanation
    assert "diffrax" in error.explanation
    assert "t0, t1 and dt0 static" in error.explanation
    assert "does not help" in error.explanation
    assert not [s for s in error.suggestions if s.kind == "make_static"]


def test_a_library_value_computed_from_array_data_has_no_static_choice() -> None:
    kwargs = failures.counted_one_hot_args()
    assert jax_error(failures.counted_one_hot, kwargs, ()) is not None
    error = failure_of(failures.counted_one_hot, failures.counted_one_hot_args)
    assert [(d.name, d.via) for d in error.depends_on] == [("counts", "value")]
    assert "array data of counts, so no static choice can help" in error.explanation
    assert "jax/_src/nn/functions.py:" in error.explanation
    assert not [s for s in error.suggestions if s.kind == "make_static"]


def test_a_0d_argument_given_as_an_array_is_offered_static_unverified_where_probing_cannot() -> (
    None
):
    kwargs = failures.solve_args()
    report = jaxexplain.trace(failures.solve, compile=False, **{**kwargs, "max_steps": "i32[]"})
    assert report.error is not None
    assert "t1 static, and it still fails here" in report.error.explanation
    assert [(s.kind, s.params, s.verified) for s in report.error.suggestions] == [
        ("make_static", ("max_steps",), False)
    ]
    assert "static_argnames=('max_steps',) to jaxexplain.trace" in report.error.suggestions[0].text
    assert jax_error(failures.solve, kwargs, ("t1",)) is not None
    assert jax_error(failures.solve, kwargs, ("max_steps",)) is None
