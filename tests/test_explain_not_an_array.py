"""explain/not_an_array.py: a traced argument JAX cannot make an array of is named, and making
it static is re-traced; its fix names the command-line flag or the API parameter."""

from __future__ import annotations

import sys
from typing import Any

import jax
import numpy as np
import pytest

from jaxexplain import api
from jaxexplain.report import Dependency
from tests.failing_cases import USER, explain_as


@pytest.fixture
def arguments() -> Any:
    sys.path.insert(0, str(USER))
    import failing_arguments

    return failing_arguments


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


def test_the_static_fix_names_the_flag_or_the_parameter_of_its_caller(arguments: Any) -> None:
    traced = {"x": jax.ShapeDtypeStruct((4,), np.float32), "name": "relu"}
    (cli,) = explain_as("cli", arguments.activation_by_name, traced=traced).suggestions
    (api_fix,) = explain_as("api", arguments.activation_by_name, traced=traced).suggestions
    assert cli.text.startswith(
        "Mark `name` static (--static 'name='\"'\"'relu'\"'\"'', or jax.jit("
    )
    assert api_fix.text.startswith(
        "Mark `name` static (static_argnames=('name',) to jaxexplain.trace, or "
        "jax.jit(..., static_argnames=('name',)))"
    )
    assert cli.verified and api_fix.verified
