"""inputs/specs.py: parsing of --static, --arg and --vs values (literals, array specs, pytrees of
specs) and of spec strings in Python API values."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import jax
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from jaxexplain.api import diff_target, trace_target
from jaxexplain.cli import app, parse_assignments, parse_vs
from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI, TARGET_API
from jaxexplain.inputs.loader import split_target
from jaxexplain.inputs.specs import (
    ArraySpec,
    abstract_spec_strings,
    format_aval,
    parse_array_spec,
    parse_static_value,
    parse_traced_value,
    split_assignment,
    to_abstract,
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


# Property tests: any text a user can type gives a value or the tool's own usage error, never
# another exception and never code execution.

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_SPEC_WORDS = ["f32", "i32", "bf16", "bool", "~f32", "key<fry>", "float64", "f99", "x"]
_LITERAL_PARTS = st.sampled_from(
    [
        "[",
        "]",
        "{",
        "}",
        "(",
        ")",
        ",",
        ":",
        "'",
        '"',
        "1",
        "-2.5e3",
        "None",
        "True",
        "f32[2]",
        "__import__('os')",
        "lambda: 0",
        "{[1]: 2}",
        "9" * 40,
        "...",
        " ",
        "=",
        "~",
        "\\",
        "\x00",
    ]
)


def _usage_or_value(parse: Any, *args: Any) -> None:
    try:
        parse(*args)
    except UsageError as exc:
        assert str(exc)


@PROPERTY
@given(st.text(max_size=200))
def test_any_text_is_a_value_or_a_usage_error(text: str) -> None:
    _usage_or_value(parse_traced_value, "x", text, CLI)
    _usage_or_value(parse_static_value, text, CLI)
    _usage_or_value(parse_array_spec, text)
    _usage_or_value(split_assignment, text, "--arg")
    _usage_or_value(split_target, text)
    _usage_or_value(parse_vs, [text])
    _usage_or_value(parse_assignments, [text], [text])


@PROPERTY
@given(st.lists(_LITERAL_PARTS, max_size=60).map("".join))
def test_literal_like_text_is_a_value_or_a_usage_error(text: str) -> None:
    _usage_or_value(parse_traced_value, "x", text, CLI)
    _usage_or_value(parse_static_value, text, CLI)


@PROPERTY
@given(
    st.sampled_from(_SPEC_WORDS),
    st.lists(st.one_of(st.integers(0, 2**70), st.just("")), max_size=6).map(
        lambda dims: ",".join(map(str, dims))
    ),
)
def test_spec_strings_with_any_dimensions_parse_or_say_why(word: str, dims: str) -> None:
    _usage_or_value(parse_array_spec, f"{word}[{dims}]")


@PROPERTY
@given(
    st.sampled_from(["f32", "i8", "bf16", "bool", "c64"]),
    st.lists(st.integers(0, 10**6), max_size=5),
)
def test_a_written_spec_reads_back_as_itself(word: str, dims: list[int]) -> None:
    spec = parse_array_spec(f"{word}[{','.join(map(str, dims))}]")
    assert spec is not None and spec.shape == tuple(dims)
    assert parse_array_spec(str(spec)) == spec


@pytest.mark.parametrize("depth", [10, 100, 1_000, 100_000])
@pytest.mark.parametrize("bracket", ["[]", "()", "{}"])
def test_deep_nesting_is_a_value_or_a_usage_error(depth: int, bracket: str) -> None:
    inner = "1" if bracket != "{}" else "1: 1"
    opening = bracket[0] + ("1: " if bracket == "{}" else "")
    text = opening * depth + inner + bracket[1] * (depth + 1)
    _usage_or_value(parse_traced_value, "x", text, CLI)
    _usage_or_value(parse_static_value, text, CLI)


@pytest.mark.parametrize("digits", [30, 4_300, 100_000])
def test_huge_numbers_are_a_value_or_a_usage_error(digits: int) -> None:
    _usage_or_value(parse_traced_value, "x", "9" * digits, CLI)
    _usage_or_value(parse_static_value, "9" * digits, CLI)
    with pytest.raises(UsageError, match="larger than XLA allows"):
        parse_array_spec(f"f32[{'9' * digits}]")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{[1]: 2}", "cannot read"),
        ("f32[1,,2]", "single commas"),
        ("[[1, 2], [3]]", "ragged"),
        ("[[1, 2], 3]", "ragged"),
    ],
)
def test_malformed_arguments_are_usage_errors_that_say_why(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_traced_value("x", text, CLI)


def test_a_nested_list_of_specs_is_a_pytree_and_a_list_of_numbers_an_array() -> None:
    tree = to_abstract(parse_traced_value("x", '[["f32[2]"], ["i32[]"]]', CLI))
    assert jax.tree.map(lambda a: (a.shape, str(a.dtype)), tree) == [
        [((2,), "float32")],
        [((), "int32")],
    ]
    array = to_abstract(parse_traced_value("x", "[[1, 2], [3, 4]]", CLI))
    assert array.shape == jax.numpy.asarray([[1, 2], [3, 4]]).shape


def test_code_in_a_value_is_never_run(tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    for parse in (parse_static_value, lambda t, v: parse_traced_value("x", t, v)):
        _usage_or_value(parse, code, CLI)
    assert not marker.exists()
