"""explain/hashability.py: a static argument JAX cannot hash is named, and hashable forms of it
(a tuple, a frozen dataclass, a hashable mapping) or passing it traced are re-traced to prove
them; the test traces each fix again, written as a user would. Statics that hash by identity
are noted on a successful trace."""

from __future__ import annotations

import copy
import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain import api
from jaxexplain.api import trace_target
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.report import Dependency
from jaxexplain.tracing import verify
from tests.failing_cases import USER, explain_as

FAILING = "tests.targets.failures.practitioners"


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
    by_config = hasattr(value, "scale")
    report = api.trace(
        arguments.scale_by_config if by_config else arguments.scale_by_sizes,
        "f32[4]",
        value,
        static_argnames="cfg" if by_config else "sizes",
        compile=False,
    )
    assert report.ok
    notes = [n for n in report.notes if "recompile on every call" in n]
    assert [problem in n for n in notes] == ([] if problem is None else [True])
    jitted = jax.jit(lambda x, v: x, static_argnums=1)
    jitted(jnp.ones(4), value)
    jitted(jnp.ones(4), copy.deepcopy(value))
    assert jitted._cache_size() == (1 if problem is None else 2)


def test_a_tuple_on_the_command_line_is_quoted_as_static_reads_it(arguments: Any) -> None:
    """Each caller reads the fix as it writes values: `--static sizes="(1, 2)"` on the command
    line; the API's caller passes the tuple itself."""
    traced = {"x": jax.ShapeDtypeStruct((4,), np.float32)}
    static = {"sizes": [1, 2]}
    (cli,) = explain_as("cli", arguments.scale_by_sizes, static, traced).suggestions
    (api_fix,) = explain_as("api", arguments.scale_by_sizes, static, traced).suggestions
    assert cli.text.startswith(
        'Pass a tuple instead of a list: (1, 2) (on the command line: --static sizes="(1, 2)")'
    )
    assert api_fix.text.startswith("Pass a tuple instead of a list: (1, 2): ")
    report = trace_target(
        f"{arguments.__file__}:scale_by_sizes",
        {"sizes": (1, 2)},
        {"x": ArraySpec((4,), "float32")},
        compile=False,
    )
    assert report.ok


@pytest.mark.parametrize(
    ("target", "factory"), [("mlp_with_sizes", "mlp_args"), ("momentum_step", "momentum_args")]
)
def test_an_unhashable_static_fails_and_is_not_said_to_recompile(target: str, factory: str) -> None:
    """jit refuses a list or a mutable dataclass as a static argument: no call can recompile."""
    report = trace_target(f"{FAILING}:{target}", args_from=f"{FAILING}:{factory}", compile=False)
    assert report.error is not None and report.error.type == "ValueError"
    assert not any("recompile" in note for note in report.notes), report.notes
    fn, plan = prepare_target(f"{FAILING}:{target}", {}, {}, f"{FAILING}:{factory}")
    args, kwargs = verify.zero_call(plan, as_user_gave=False)
    with pytest.raises(ValueError, match="Non-hashable static arguments"):
        fn.obj(*args, **kwargs)


@pytest.mark.parametrize(
    ("factory", "fixed"),
    [
        ("named_tuple_config_args", "MLPConfig(widths=(64, 32), activation='tanh')"),
        ("frozen_dataclass_config_args", "FrozenMLPConfig(widths=(64, 32), activation='tanh')"),
    ],
)
def test_a_config_with_a_list_field_gets_a_verified_fix_of_its_own_type(
    factory: str, fixed: str
) -> None:
    report = trace_target(
        f"{FAILING}:mlp_with_config", args_from=f"{FAILING}:{factory}", compile=False
    )
    assert report.error is not None and report.error.type == "ValueError"
    (fix,) = [s for s in report.error.suggestions if s.kind == "hashable"]
    assert fix.verified and "`widths`" in fix.text and fixed in fix.text
    from tests.targets.failures import practitioners as failing

    config = getattr(failing, factory)()["config"]
    repaired = type(config)(**{**vars_of(config), "widths": (64, 32)})
    out = failing.mlp_with_config(jax.numpy.zeros((4, 64)), config=repaired)
    assert out.shape == (4, 32)


def vars_of(config: object) -> dict[str, object]:
    return config._asdict() if hasattr(config, "_asdict") else dict(vars(config))
