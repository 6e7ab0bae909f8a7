"""`jaxexplain diff` on the samples: verdict, reasons, jaxpr hunks and numbers, text and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jaxexplain.cli import app, parse_size
from jaxexplain.errors import UsageError
from jaxexplain.report import ErrorReport

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

UNROLLED = ["diff", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]", "--static", "n=3"]
DENSE = [
    "diff",
    "samples/decorated.py:dense",
    "--arg",
    "x=f32[4,8]",
    "--arg",
    "w=f32[8,16]",
    "--arg",
    "b=f32[16]",
]


def diff_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_loop_count_text_report() -> None:
    result = runner.invoke(app, [*UNROLLED, "--vs", "n=4", "--color", "never"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("Verdict") < out.index("Why") < out.index("Jaxpr diff") < out.index("flops")
    assert "JAX RECOMPILES" in out and "verified against JAX" in out
    assert "cache size 1 after A, 2 after B" in out
    assert "static       n" in out
    assert "4 -> 5 equations: 1 added, 0 removed, 0 changed" in out
    assert "@@ -3,4 +3,5 @@ samples/unrolled.py:13  y = y * x" in out
    assert "+    f:f32[3] = mul e a" in out
    assert "\x1b[" not in out


def test_loop_count_colors_the_hunks() -> None:
    result = runner.invoke(app, [*UNROLLED, "--vs", "n=4", "--no-compile", "--color", "always"])
    assert result.exit_code == 0
    assert "\x1b[" in result.stdout and "mul e a" in result.stdout


def test_activation_json_report() -> None:
    document = diff_json(*DENSE, "--vs", "activation=gelu")
    assert document["schema"] == "jaxexplain.diff/1"
    assert document["a"]["schema"] == document["b"]["schema"] == "jaxexplain.trace/1"
    assert document["recompiles"] is True and document["verified"] is True
    assert document["cache_key_changes"] == [
        {
            "component": "static",
            "path": "activation",
            "a": "not passed (default 'relu')",
            "b": "'gelu'",
        }
    ]
    jaxpr = document["jaxpr_diff"]
    relu, gelu = dense_equations("relu"), dense_equations("gelu")
    assert (jaxpr["equations_a"], jaxpr["equations_b"]) == (relu, gelu)
    assert jaxpr["added"] - jaxpr["removed"] == gelu - relu
    assert jaxpr["primitive_deltas"]["custom_jvp_call"] == -1
    assert "= tanh " in jaxpr["unified"]
    flipped = {(d["line"], tuple(d["a"]), tuple(d["b"])) for d in document["decision_changes"]}
    assert (line_of('if activation == "relu":'), ("true",), ("false",)) in flipped
    assert (line_of('elif activation == "gelu":'), (), ("true",)) in flipped


def dense_equations(activation: str) -> int:
    """JAX's own count of the top-level equations of `dense` traced with `activation`."""
    import jax
    import jax.numpy as jnp

    from samples.decorated import dense

    specs = [jax.ShapeDtypeStruct(shape, jnp.float32) for shape in ((4, 8), (8, 16), (16,))]
    return len(dense.trace(*specs, activation=activation).jaxpr.eqns)


def line_of(text: str) -> int:
    """The line of samples/decorated.py that holds `text`."""
    lines = (ROOT / "samples" / "decorated.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def test_threshold_change_of_the_where_sample() -> None:
    args = ["diff", "samples/conditional.py:where_double", "--arg", "x=f32[8]"]
    document = diff_json(*args, "--static", "threshold=0.5", "--vs", "threshold=0.75")
    assert [(c["component"], c["path"], c["a"], c["b"]) for c in document["cache_key_changes"]] == [
        ("static", "threshold", "0.5", "0.75")
    ]
    assert document["verified"] and document["recompiles"]
    assert document["jaxpr_diff"]["changed"] == 1
    assert document["jaxpr_diff"]["added"] == document["jaxpr_diff"]["removed"] == 0


def test_changing_nothing_is_no_recompile_and_an_empty_diff() -> None:
    document = diff_json(*UNROLLED, "--vs", "n=3", "--no-compile")
    assert document["recompiles"] is False and document["verified"] is True
    assert document["cache_key_changes"] == [] and document["decision_changes"] == []
    jaxpr = document["jaxpr_diff"]
    assert (jaxpr["added"], jaxpr["removed"], jaxpr["changed"], jaxpr["unified"]) == (0, 0, 0, "")
    text = runner.invoke(app, [*UNROLLED, "--vs", "n=3", "--no-compile"]).stdout
    assert "no recompile" in text and "identical up to variable names" in text


def test_changing_only_a_shape_flags_the_shape() -> None:
    document = diff_json(*UNROLLED, "--vs", "x=f32[7]", "--no-compile")
    assert [(c["component"], c["path"]) for c in document["cache_key_changes"]] == [("shape", "x")]
    assert document["verified"] and document["recompiles"]


def test_several_vs_at_once() -> None:
    document = diff_json(*DENSE, "--vs", "activation=gelu", "--vs", "x=bf16[4,8]", "--no-compile")
    assert [(c["component"], c["path"]) for c in document["cache_key_changes"]] == [
        ("static", "activation"),
        ("dtype", "x"),
    ]
    assert document["vs"] == {"activation": "gelu", "x": "bf16[4,8]"}
    assert document["verified"]


def test_verification_can_be_skipped() -> None:
    off = diff_json(*UNROLLED, "--vs", "n=4", "--no-compile", "--no-verify")
    assert off["verified"] is False and off["recompiles"] is True
    assert "turned off" in off["verification"]["note"]
    small = runner.invoke(
        app, [*UNROLLED, "--vs", "n=4", "--no-compile", "--verify-limit", "4B", "--color", "never"]
    )
    assert "not verified: one side's inputs need 12 B, over the --verify-limit of 4 B" in (
        small.stdout
    )


def test_a_failing_side_exits_1_with_valid_json() -> None:
    result = runner.invoke(app, [*UNROLLED, "--vs", "n=2.5", "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["recompiles"] is None and document["verified"] is False
    assert document["b"]["error"]["type"] == "TypeError"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "at least one --vs"),
        (["--vs", "m=4"], "no parameter 'm'"),
        (["--vs", "n=4", "--vs", "n=5"], "given more than once"),
        (["--vs", "n=4", "--verify-limit", "lots"], "--verify-limit expects a size"),
        (["--vs", "x=f33[3]"], "unknown dtype"),
    ],
)
def test_bad_input_exits_2_with_a_diff_json_document(extra: list[str], message: str) -> None:
    result = runner.invoke(app, [*UNROLLED, *extra])
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
    as_json = runner.invoke(app, [*UNROLLED, *extra, "--format", "json"])
    document = json.loads(as_json.stdout)
    assert document["schema"] == "jaxexplain.diff/1" and message in document["error"]["message"]
    report = ErrorReport.from_dict(document)
    assert (report.schema, report.exit_code) == ("jaxexplain.diff/1", 2)


def test_sizes() -> None:
    assert parse_size("256MiB", "--verify-limit") == 256 * 2**20
    assert parse_size("2G", "--verify-limit") == 2 * 2**30
    assert parse_size("1.5kib", "--verify-limit") == 1536
    assert parse_size("1000", "--verify-limit") == 1000
    with pytest.raises(UsageError):
        parse_size("-3MB", "--verify-limit")


def test_output_file_gets_json_from_its_suffix(tmp_path: Path) -> None:
    out = tmp_path / "diff.json"
    result = runner.invoke(app, [*UNROLLED, "--vs", "n=4", "--no-compile", "-o", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text())["schema"] == "jaxexplain.diff/1"


def test_usage_errors_do_not_import_jax() -> None:
    code = (
        "import sys\nfrom jaxexplain.cli import main\n"
        "sys.argv = ['jaxexplain', 'diff', 'x:y', '--vs', 'bad']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('JAX_IMPORTED' if 'jax' in sys.modules else 'NO_JAX', code, file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert "NO_JAX 2" in result.stderr, result.stderr
