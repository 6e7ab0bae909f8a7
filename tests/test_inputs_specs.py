"""inputs/specs.py: parsing of --static, --arg and --vs values (literals, array specs, pytrees of
specs) and of spec strings in Python API values."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import jax
import pytest
from typer.testing import CliRunner

from jaxexplain.api import diff_target, trace_target
from jaxexplain.cli import app, parse_assignments
from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI, TARGET_API
from jaxexplain.inputs.specs import (
    ArraySpec,
    abstract_spec_strings,
    format_aval,
    parse_array_spec,
    parse_static_value,
    parse_traced_value,
    split_assignment,
)

ATTENTION = "tests.targets.models.attention"
TRAINING = "tests.targets.training.mlp_step"
FAILING = "tests.targets.failures.practitioners"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f32[8,128]", ArraySpec((8, 128), "float32")),
        ("int32[]", ArraySpec((), "int32")),
        ("bf16[2, 3]", ArraySpec((2, 3), "bfloat16")),
        ("bool[4]", ArraySpec((4,), "bool")),
        ("~f32[]", ArraySpec((), "float32", weak_type=True)),
        ("i8[1,2,3]", ArraySpec((1, 2, 3), "int8")),
    ],
)
def test_array_specs(text: str, expected: ArraySpec) -> None:
    assert parse_array_spec(text) == expected


def test_format_round_trips() -> None:
    for text in ("f32[8,128]", "i32[]", "bf16[2,3]", "bool[4]", "~f32[]"):
        spec = parse_array_spec(text)
        assert spec is not None
        assert format_aval(spec.shape, spec.dtype, spec.weak_type) == text


def test_unknown_dtype_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown dtype 'f33'"):
        parse_array_spec("f33[3]")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("2.0", 2.0),
        ("(1, 2)", (1, 2)),
        ("'gelu'", "gelu"),
        ("gelu", "gelu"),
        ("True", True),
        ("None", None),
    ],
)
def test_static_values(text: str, value: object) -> None:
    parsed = parse_static_value(text, CLI)
    assert parsed == value and type(parsed) is type(value)


def test_static_value_never_evaluates_code() -> None:
    with pytest.raises(UsageError, match="cannot read"):
        parse_static_value("__import__('os').system('true')", CLI)


def test_traced_pytree_of_specs() -> None:
    value = parse_traced_value("params", '{"w": "f32[3,4]", "b": "f32[4]"}', CLI)
    assert value == {"w": ArraySpec((3, 4), "float32"), "b": ArraySpec((4,), "float32")}


def test_traced_literals() -> None:
    assert parse_traced_value("x", "1.5", CLI) == 1.5
    assert parse_traced_value("x", "[1, 2, 3]", CLI) == [1, 2, 3]


def test_traced_string_leaf_is_refused_with_advice_in_the_callers_words() -> None:
    with pytest.raises(UsageError, match=r"^--arg mode=\.\.\.: the leaf 'fast'.*--static mode="):
        parse_traced_value("mode", "['fast']", CLI)
    with pytest.raises(UsageError, match=r"^--vs mode=\.\.\.: the leaf 'fast'"):
        parse_traced_value("mode", "['fast']", CLI, side_b=True)
    with pytest.raises(UsageError, match=r'^vs=\{"mode": \.\.\.\}: .*static=\{"mode": \.\.\.\}'):
        parse_traced_value("mode", "['fast']", TARGET_API, side_b=True)


def test_unparsable_traced_value() -> None:
    with pytest.raises(UsageError, match="expected an array spec"):
        parse_traced_value("x", "f32[3", CLI)


@pytest.mark.parametrize("text", ["n", "=3", "3n=2"])
def test_bad_assignment(text: str) -> None:
    with pytest.raises(UsageError, match="NAME=VALUE"):
        split_assignment(text, "--static")


class _Pair(NamedTuple):
    a: Any
    b: Any


def test_spec_strings_in_python_values_become_abstract_arrays() -> None:
    import jax
    import numpy as np

    value = abstract_spec_strings({"w": "f32[3,4]", "t": ("~f32[]", 2.0, "relu")})
    assert value == {
        "w": jax.ShapeDtypeStruct((3, 4), np.float32),
        "t": (jax.ShapeDtypeStruct((), np.float32, weak_type=True), 2.0, "relu"),
    }
    pair = _Pair("f32[2]", 1)
    assert abstract_spec_strings(pair) is pair


def test_cli_accepts_a_dotted_vs_and_refuses_a_dotted_static() -> None:
    runner = CliRunner()
    args = ["diff", f"{ATTENTION}:mha", "--args-from", f"{ATTENTION}:mha_args"]
    result = runner.invoke(
        app, [*args, "--vs", "config.rotary=False", "--no-compile", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["recompiles"] is True and document["verified"] is True
    result = runner.invoke(app, [*args, "--vs", "n=1", "--static", "config.rotary=False"])
    assert result.exit_code == 2


def test_a_new_style_key_is_spelled_as_the_report_prints_it() -> None:
    """`key<fry>[]` (what reports show for `jax.random.key(0)`) is accepted back by --arg."""
    statics, traced = parse_assignments(["rate=0.5"], ["x=f32[4,8]", "key=key<fry>[]"])
    report = trace_target(f"{FAILING}:dropout", statics, traced, compile=False)
    assert report.ok, report.error
    key = next(a for a in report.arguments if a.name == "key")
    assert key.aval == "key<fry>[]" == f"{jax.typeof(jax.random.key(0)).dtype}[]"
    report = diff_target(
        f"{FAILING}:dropout", statics, traced, {"key": "key<rbg>[]"}, compile=False
    )
    assert report.ok, (report.a.error, report.b.error)
    assert [(c.component, c.a, c.b) for c in report.cache_key_changes] == [
        ("dtype", "key<fry>", "key<rbg>")
    ]
    assert report.verification.checked and report.verification.agrees


def test_a_config_object_on_the_command_line_points_to_a_factory() -> None:
    result = CliRunner().invoke(
        app, ["trace", f"{TRAINING}:train_step", "--static", "config=TrainConfig(remat=False)"]
    )
    assert result.exit_code == 2
    assert "--args-from MOD:FACTORY" in result.output and "Traceback" not in result.output
