"""inputs/loader.py: a TARGET resolved to the object it names; what the user's module raises
while it is imported points at the user's own line."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import pytest
from typer.testing import CliRunner

from jaxexplain.cli import app
from jaxexplain.errors import TargetNotFound, UsageError, UserCodeError
from jaxexplain.inputs.loader import call_user, load_factory, load_target
from tests.targets.shapes.package import model
from tests.user_modules import basic


@pytest.mark.parametrize(
    ("target", "error", "match"),
    [
        ("no_such_module_xyz:f", TargetNotFound, "cannot find module 'no_such_module_xyz'"),
        ("tests/user_modules/basic.py:nope", TargetNotFound, "has no attribute 'nope'"),
        ("tests/user_modules/basic.py:NOT_CALLABLE", UsageError, "not a function"),
        ("tests/user_modules/nope.py:f", TargetNotFound, "no such file"),
        (
            "tests/user_modules/broken_import.py:f",
            UserCodeError,
            r"broken_import.py:5 \(CONFIG = json.loads",
        ),
        ("tests/user_modules/missing_dependency.py:f", UserCodeError, "not_a_real_package_xyz"),
        ("tests/user_modules/syntax_error.py:f", UserCodeError, "syntax_error.py:3"),
        (
            "tests/user_modules/basic.py:NeedsArgs.apply",
            UsageError,
            "cannot be created without arguments",
        ),
        ("just_a_module", UsageError, "must look like"),
        (
            "tests/user_modules/basic.py:Model",
            UsageError,
            r"is a class, not a function: name one of its methods \(tests/user_modules/basic.py:"
            r"Model.apply, tests/user_modules/basic.py:Model.pure\)",
        ),
    ],
)
def test_bad_targets(target: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        load_target(target)


def test_a_user_code_error_keeps_the_users_frame() -> None:
    with pytest.raises(UserCodeError) as raised:
        load_target("tests/user_modules/broken_import.py:f")
    assert raised.value.user_frame is not None
    assert raised.value.user_frame.endswith("tests/user_modules/broken_import.py:5")


def test_a_file_and_its_dotted_name_are_one_module() -> None:
    by_file = load_target("tests/user_modules/basic.py:affine")
    by_name = load_target("tests.user_modules.basic:affine")
    assert by_file.module is by_name.module is basic
    assert by_file.obj is basic.affine


def test_a_method_of_a_class_is_bound_to_an_instance() -> None:
    loaded = load_target("tests/user_modules/basic.py:Model.apply")
    assert isinstance(loaded.obj.__self__, basic.Model)
    assert load_target("tests/user_modules/basic.py:Model.pure").obj is basic.Model.pure


def test_a_factory_that_raises_is_the_users_error() -> None:
    factory = load_factory("tests/user_modules/basic.py:failing_factory")
    with pytest.raises(UserCodeError, match=r"while calling it.*factory exploded"):
        call_user(factory, "calling it")


def test_a_file_path_target_inside_a_package_keeps_its_relative_imports() -> None:
    result = CliRunner().invoke(
        app,
        [
            *("trace", "tests/targets/shapes/package/model.py:fn", "--arg", "w=f32[4,4]"),
            *("--arg", "x=f32[2,4]", "--no-compile", "--format", "json"),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    w, x = jnp.ones((4, 4)), jnp.ones((2, 4))
    assert report["jaxpr"]["equations"] == len(jax.make_jaxpr(model.fn)(w, x).eqns)


def test_an_argument_for_a_target_without_parameters_says_it_takes_none() -> None:
    result = CliRunner().invoke(
        app, ["trace", "tests/user_modules/basic.py:tree_args", "--arg", "x=f32[2]"]
    )
    assert result.exit_code == 2
    assert "unknown parameter 'x'; the target takes no parameters" in result.stderr
