"""Failures found on a tour of real libraries (distrax, numpyro, optimistix, jraph): a tuple of
Python ints passed traced is a static choice, and its quoted `--static` really traces; the line
named is numpyro's, not NumPy's below it; a solver a factory gives is made static by the
`--static solver` the fix quotes, end to end; and a failure inside a call depends only on what
JAX says reached the value. Every fact is JAX's own: the tests re-trace with `jax.jit`."""

from __future__ import annotations

import importlib.util
import json
import linecache
import re
import shlex
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import pytest
from typer.testing import CliRunner

import jaxexplain
from jaxexplain.cli import app
from jaxexplain.report import ErrorInfo
from tests.targets.libs import tour_failures as tour

TARGETS = "tests/targets/libs/tour_failures.py"
LIBRARY_LINE = re.compile(r"line (?P<path>[\w/]+\.py):(?P<line>\d+) \(`")
runner = CliRunner()


def jax_error(fn: Callable[..., Any], kwargs: dict[str, Any], static: tuple[str, ...]) -> Any:
    """What JAX itself raises tracing `fn` with `static` static (None when it traces)."""
    try:
        jax.jit(fn, static_argnames=static).trace(**kwargs)
    except Exception as exc:
        return exc
    return None


def failure_of(fn: Callable[..., Any], kwargs: dict[str, Any]) -> ErrorInfo:
    report = jaxexplain.trace(fn, compile=False, **kwargs)
    assert report.error is not None
    return report.error


def cli(*args: str) -> Any:
    return runner.invoke(app, [*args, "--no-compile", "--format", "json"])


def static_flag(text: str, name: str) -> list[str]:
    """The `--static ...` option a fix's text quotes for `name`, split as a shell would."""
    found = re.search(rf"--static (?:'{name}=[^']*'|{name}=\S+?(?=[,)])|{name}\b)", text)
    assert found is not None, text
    return shlex.split(found[0])


def installed_line(path: str, line: int) -> str:
    """The text of `path` (from the package directory on) in the installed package."""
    package, _, rest = path.partition("/")
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return linecache.getline(str(Path(spec.submodule_search_locations[0]) / rest), line)


@pytest.mark.parametrize("factory", [tour.mixture_args, tour.mixture_list_args])
def test_a_sample_shape_of_python_ints_passed_traced_is_made_static_as_a_tuple(
    factory: Callable[[], dict[str, Any]],
) -> None:
    kwargs = factory()
    assert jax_error(tour.mixture_sample, kwargs, ()) is not None
    as_tuple = {**kwargs, "sample_shape": tuple(kwargs["sample_shape"])}
    assert jax_error(tour.mixture_sample, as_tuple, ("sample_shape",)) is None
    error = failure_of(tour.mixture_sample, kwargs)
    assert [(d.name, d.via) for d in error.depends_on] == [("sample_shape", "value")]
    assert "no static choice can help" not in error.explanation
    assert "pytree of" not in error.explanation
    fix = error.suggestions[0]
    assert (fix.kind, fix.params, fix.verified) == ("make_static", ("sample_shape",), True)
    assert "static_argnames=('sample_shape',) to jaxexplain.trace" in fix.text
    target = (f"{TARGETS}:mixture_sample", f"--args-from={TARGETS}:{factory.__name__}")
    failed = cli("trace", *target)
    assert failed.exit_code == 1, failed.output
    cli_fix = json.loads(failed.stdout)["error"]["suggestions"][0]["text"]
    flag = static_flag(cli_fix, "sample_shape")
    assert flag == ["--static", f"sample_shape={as_tuple['sample_shape']!r}"]
    result = cli("trace", *target, *flag)
    assert result.exit_code == 0, result.output
    if isinstance(kwargs["sample_shape"], list):
        assert "passing sample_shape as a tuple" in fix.text


def test_the_library_line_named_is_numpyros_not_numpys_below_it() -> None:
    kwargs = tour.predictive_args()
    raised = jax_error(tour.prior_predictive, kwargs, ())
    modules = [f.f_globals.get("__name__", "") for f, _ in traceback.walk_tb(raised.__traceback__)]
    assert any(m.startswith("numpy.") for m in modules)
    assert modules.index(next(m for m in modules if m.startswith("numpy."))) > max(
        i for i, m in enumerate(modules) if m.startswith("numpyro.")
    )
    assert jax_error(tour.prior_predictive, kwargs, ("num_samples",)) is None
    error = failure_of(tour.prior_predictive, kwargs)
    found = LIBRARY_LINE.search(error.explanation)
    assert found is not None, error.explanation
    assert found["path"].startswith("numpyro/")
    assert "np.prod" in installed_line(found["path"], int(found["line"]))
    fix = error.suggestions[0]
    assert (fix.kind, fix.params, fix.verified) == ("make_static", ("num_samples",), True)


def test_a_solver_a_factory_gives_is_made_static_by_the_quoted_option_end_to_end() -> None:
    kwargs = tour.minimise_args()
    assert jax_error(tour.minimise, kwargs, ()) is not None
    assert jax_error(tour.minimise, kwargs, ("solver",)) is None
    target, factory = f"{TARGETS}:minimise", f"--args-from={TARGETS}:minimise_args"
    failed = cli("trace", target, factory)
    assert failed.exit_code == 1, failed.output
    fix = json.loads(failed.stdout)["error"]["suggestions"][0]
    assert (fix["kind"], fix["verified"]) == ("make_static", True)
    assert "--static solver=" not in fix["text"]
    flag = static_flag(fix["text"], "solver")
    assert flag == ["--static", "solver"]
    traced = cli("trace", target, factory, *flag)
    assert traced.exit_code == 0, traced.output
    roles = {a["name"]: (a["role"], a["source"]) for a in json.loads(traced.stdout)["arguments"]}
    assert roles["solver"] == ("static", "factory")


def test_static_alone_with_no_factory_value_is_a_usage_error() -> None:
    target = f"{TARGETS}:minimise"
    no_factory = cli("trace", target, "--arg", "y0=f32[4]", "--static", "solver")
    assert no_factory.exit_code == 2
    assert "--static expects NAME=VALUE" in no_factory.output
    not_given = cli(
        "trace", target, f"--args-from={TARGETS}:minimise_args", "--static", "max_steps"
    )
    assert not_given.exit_code == 2
    assert "the factory gives no max_steps" in not_given.output


def test_a_solver_given_through_the_api_is_offered_static_in_code_not_on_the_command_line() -> None:
    error = failure_of(tour.minimise, tour.minimise_args())
    fix = error.suggestions[0]
    assert (fix.kind, fix.verified) == ("make_static", True)
    assert "--static" not in fix.text
    assert "static_argnames=('solver',)" in fix.text


def test_a_failure_inside_a_call_depends_only_on_what_reaches_the_value() -> None:
    pytest.importorskip("jraph")
    kwargs, wider = tour.node_mean_args(), tour.node_mean_args(width=16)
    first, again = jax_error(tour.node_mean, kwargs, ()), jax_error(tour.node_mean, wider, ())
    assert (type(first), str(first)) == (type(again), str(again))
    for given in (kwargs, wider):
        error = failure_of(tour.node_mean, given)
        assert [(d.name, d.via) for d in error.depends_on] == [("graph", "value")]
