"""schema.py: the JSON Schema of every document, generated from the report model; every document
the gold files hold and the command line writes (reports, failures, usage errors) validates."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from jaxexplain import report, schema
from jaxexplain.cli import app
from jaxexplain.timings import is_timing

ROOT = Path(__file__).resolve().parent.parent
GOLD = sorted((ROOT / "tests" / "gold").glob("*.json"))
UNROLLED = ["samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]", "--static", "n=3"]
runner = CliRunner()


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema.schema_for(name))


def schema_name(document: dict[str, Any]) -> str:
    return document["schema"].removeprefix("jaxexplain.").partition("/")[0]


def check(document: dict[str, Any]) -> None:
    """Fails with every violation of the document's own schema."""
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(schema_name(document)).iter_errors(document)
    ]
    assert not errors, errors


@pytest.mark.parametrize("name", schema.document_names())
def test_every_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema.schema_for(name))
    assert schema.schema_for(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_documents_are_the_models_report_classes() -> None:
    assert schema.commands() == {
        "diff": report.DiffReport,
        "trace": report.TraceReport,
        "watch": report.WatchReport,
    } | {n: c for n, c in schema.commands().items() if n not in ("diff", "trace", "watch")}
    assert schema.document_names()[-1] == "error"


def test_a_report_class_added_to_the_model_gets_its_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    @dataclasses.dataclass(frozen=True)
    class SweepLike:
        target: str
        figures: dict[str, float]
        schema: str = "jaxexplain.sweep-like/1"

    monkeypatch.setattr(report, "SweepLike", SweepLike, raising=False)
    assert schema.commands()["sweep-like"] is SweepLike
    check({"schema": "jaxexplain.sweep-like/1", "target": "t", "figures": {"flops": 2.0}})


def test_the_model_maps_to_json_schema_types() -> None:
    defs = schema.schema_for("diff")["$defs"]
    decision_kind = typing.get_type_hints(report.Decision)["kind"]
    assert defs["Decision"]["properties"]["kind"] == {"enum": list(typing.get_args(decision_kind))}
    assert defs["ErrorInfo"]["properties"]["file"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}]
    }
    assert defs["TraceReport"]["properties"]["arguments"] == {
        "type": "array",
        "items": {"$ref": "#/$defs/Argument"},
    }
    assert defs["JaxprInfo"]["properties"]["primitives"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    fields = dataclasses.fields(report.CacheKey)
    assert defs["CacheKey"]["required"] == [f.name for f in fields]
    assert defs["CacheKey"]["additionalProperties"] is False


def test_timings_are_not_required() -> None:
    compile_info = schema.schema_for("trace")["$defs"]["CompileInfo"]
    assert "lower_seconds" in compile_info["properties"]
    assert "lower_seconds" not in compile_info["required"] and "backend" in compile_info["required"]


@pytest.mark.parametrize("gold", GOLD, ids=[g.stem for g in GOLD])
def test_every_gold_document_validates(gold: Path) -> None:
    check(json.loads(gold.read_text()))


@pytest.mark.parametrize("gold", GOLD[:1], ids=[g.stem for g in GOLD[:1]])
def test_a_document_with_a_field_missing_or_unknown_does_not_validate(gold: Path) -> None:
    document = json.loads(gold.read_text())
    whole = schema.schema_for(schema_name(document))
    as_report = jsonschema.Draft202012Validator({**whole["anyOf"][0], "$defs": whole["$defs"]})
    assert as_report.is_valid(document)
    missing = {k: v for k, v in document.items() if k != "target"}
    assert "'target' is a required property" in str(list(as_report.iter_errors(missing)))
    unknown = {**document, "function": {**document["function"], "surprise": 1}}
    assert "'surprise' was unexpected" in str(list(as_report.iter_errors(unknown)))
    assert not validator(schema_name(document)).is_valid(unknown)


SWEPT = ["samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]"]
CLI_RUNS = [
    (["trace", *UNROLLED], 0),
    (["trace", *UNROLLED, "--no-compile", "--stable"], 0),
    (
        [
            "trace",
            "samples/conditional.py:conditional_double",
            "--arg",
            "x=f32[8]",
            "--arg",
            "threshold=0.5",
        ],
        1,
    ),
    (["trace", "samples/unrolled.py:nope"], 2),
    (["trace", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3"], 2),
    (["trace", "tests/user_modules/broken_import.py:f", "--arg", "x=f32[3]"], 2),
    (["diff", *UNROLLED, "--vs", "n=4"], 0),
    (["diff", *UNROLLED, "--vs", "n=4", "--stable"], 0),
    (["diff", *UNROLLED, "--vs", "m=4"], 2),
    (["diff", *UNROLLED], 2),
    (["watch", "--", "tests/watch_programs/weak_type.py"], 0),
    (["watch", "--stable", "--", "tests/watch_programs/weak_type.py"], 0),
    (["watch", "--explain", "all", "--", "tests/watch_programs/batch_shapes.py"], 0),
    (["watch", "--", "no_such_program.py"], 2),
    (["sweep", *SWEPT, "--over", "n=1,2,4"], 0),
    (["sweep", *SWEPT, "--over", "n=1,2,4", "--no-compile", "--budget", "equations=2"], 1),
    (["sweep", *SWEPT, "--over", "n=1..x"], 2),
]


@pytest.mark.parametrize(("args", "code"), CLI_RUNS, ids=[" ".join(a) for a, _ in CLI_RUNS])
def test_every_document_the_command_line_writes_validates(args: list[str], code: int) -> None:
    result = runner.invoke(app, [args[0], "--format", "json", *args[1:]])
    assert result.exit_code == code, result.stderr
    document = json.loads(result.stdout)
    check(document)
    if "--stable" in args:
        assert not any(is_timing(key) for key in keys_of(document))


def keys_of(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [*data, *(k for v in data.values() for k in keys_of(v))]
    if isinstance(data, list):
        return [k for v in data for k in keys_of(v)]
    return []


def test_the_schema_command_prints_the_schema_without_importing_jax() -> None:
    code = (
        "import sys; from jaxexplain.cli import main; sys.argv = ['jaxexplain', 'schema', 'trace']\n"
        "try:\n    main()\nfinally:\n    print('jax' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stderr.strip() == "False"
    assert json.loads(result.stdout) == schema.schema_for("trace")


def test_an_unknown_schema_name_is_a_usage_error() -> None:
    result = runner.invoke(app, ["schema", "nope"])
    names = ", ".join(schema.commands())
    assert result.exit_code == 2 and f"use one of {names}" in result.stderr
