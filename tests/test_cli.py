"""The command line (trace, diff, usage errors, exit codes) through typer's CliRunner, plus real
subprocesses for start-up behaviour."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jax
import pytest
from typer.testing import CliRunner

from jaxexplain import __version__ as jaxexplain_version
from jaxexplain.cli import ColorMode, app, parse_size, use_color
from jaxexplain.errors import UsageError
from jaxexplain.report import ErrorReport, WatchReport

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

UNROLLED = ["trace", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]", "--static", "n=3"]


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def unrolled_jaxpr() -> Any:
    """JAX's own jaxpr of the UNROLLED call, to compare the report's counts with."""
    import jax
    import jax.numpy as jnp

    from samples.unrolled import unrolled_power

    return jax.make_jaxpr(unrolled_power, static_argnums=1)(jnp.zeros(3, jnp.float32), 3)


def primitive_counts(closed: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for eqn in closed.jaxpr.eqns:
        counts[eqn.primitive.name] = counts.get(eqn.primitive.name, 0) + 1
    return counts


def test_trace_text_report() -> None:
    result = invoke(*UNROLLED, "--color", "never")
    assert result.exit_code == 0, result.output
    for section in ("Arguments", "Cache key", "Jaxpr", "Compilation"):
        assert section in result.stdout
    assert "\x1b[" not in result.stdout
    assert "mul 3" in result.stdout


def test_trace_json_report_is_valid() -> None:
    result = invoke(*UNROLLED, "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["schema"] == "jaxexplain.trace/1"
    assert document["jaxpr"]["equations"] == len(unrolled_jaxpr().jaxpr.eqns)
    assert document["jaxpr"]["primitives"] == primitive_counts(unrolled_jaxpr())
    assert document["compile"]["backend"] == "cpu"
    assert set(document["cache_key"]) >= {
        "digest",
        "function",
        "static",
        "traced",
        "treedef",
        "context",
    }


def test_color_always_has_ansi_and_no_color_env_wins_over_auto() -> None:
    assert "\x1b[" in invoke(*UNROLLED, "--no-compile", "--color", "always").stdout
    assert "\x1b[" not in invoke(*UNROLLED, "--no-compile", env={"NO_COLOR": "1"}).stdout


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = invoke(*UNROLLED, "--no-compile", "-o", str(out))
    assert result.exit_code == 0
    assert json.loads(out.read_text())["compile"] is None


def test_hlo_and_stablehlo_texts() -> None:
    result = invoke(*UNROLLED, "--hlo", "--stablehlo", "--color", "never")
    assert "HloModule" in result.stdout and "stablehlo" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trace", "no_such_mod:f", "--arg", "x=f32[3]"], "cannot find module"),
        (["trace", "samples/unrolled.py:nope"], "has no attribute 'nope'"),
        (
            ["trace", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3"],
            "expected an array spec",
        ),
        (["trace", "samples/unrolled.py:unrolled_power", "--static", "n"], "NAME=VALUE"),
        (["trace", "samples/unrolled.py:unrolled_power"], "needs a value for x, n"),
        (
            ["trace", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]", "--static", "m=2"],
            "unknown parameter 'm'",
        ),
        (
            ["trace", "tests/user_modules/broken_import.py:f", "--arg", "x=f32[3]"],
            "broken_import.py:5",
        ),
        (["trace", "tests/user_modules/syntax_error.py:f", "--arg", "x=f32[3]"], "SyntaxError"),
    ],
)
def test_bad_input_exits_2_with_one_message_and_valid_json(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    as_json = invoke(*args, "--format", "json")
    assert as_json.exit_code == 2
    document = json.loads(as_json.stdout)
    assert document["schema"] == "jaxexplain.trace/1" and message in document["error"]["message"]
    report = ErrorReport.from_dict(document)
    assert report.exit_code == 2 and report.to_dict() == document


REALRUN = "tests/targets/realrun"


def test_a_closure_a_factory_returns_is_traced_with_target_from() -> None:
    import jax

    from tests.targets.realrun import ppo

    factory = f"{REALRUN}/ppo.py:train_from_config"
    result = invoke("trace", "--target-from", factory, "--arg", "rng=u32[2]", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["target"] == f"{factory}() -> train"
    jaxpr = jax.make_jaxpr(ppo.make_train(ppo.CONFIG))(jax.random.PRNGKey(0))
    assert document["jaxpr"]["equations"] == len(jaxpr.eqns)
    assert document["jaxpr"]["primitives"] == primitive_counts(jaxpr)
    (anneal,) = [d for d in document["decisions"] if d["source"] == 'config["ANNEAL_LR"]']
    assert anneal["depends_on"] == [{"name": "config['ANNEAL_LR']", "via": "constant"}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["trace", "samples/unrolled.py:unrolled_power", "--target-from", "ppo.py:make"],
            "give TARGET or --target-from ppo.py:make, not both",
        ),
        (["trace", "--arg", "x=f32[3]"], "name the function to explain: TARGET"),
        (
            ["trace", "--target-from", f"{REALRUN}/factories.py:not_a_function"],
            "returned a int; it must return the function to explain",
        ),
        (
            ["diff", "--target-from", f"{REALRUN}/factories.py:needs_config", "--vs", "n=2"],
            "needs_config needs config, and a factory is called with no arguments",
        ),
    ],
)
def test_target_from_given_wrongly_exits_2_with_a_valid_document(
    args: list[str], message: str
) -> None:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    report = ErrorReport.from_dict(json.loads(result.stdout))
    assert report.exit_code == 2 and message in report.error.message


@pytest.mark.parametrize(
    "args",
    [
        ["trace", "--target-from", f"{REALRUN}/factories.py:step_with_kwargs"],
        [
            "diff",
            f"{REALRUN}/optimizers.py:train_step",
            "--args-from",
            f"{REALRUN}/optimizers.py:step_args",
            "--vs-from",
            f"{REALRUN}/factories.py:step_with_kwargs",
        ],
    ],
)
def test_an_output_naming_a_factorys_file_is_refused(args: list[str]) -> None:
    factory_file = ROOT / REALRUN / "factories.py"
    before = factory_file.read_text()
    result = invoke(*args, "-o", str(factory_file))
    assert result.exit_code == 2
    assert "an input of this run" in result.stderr
    assert factory_file.read_text() == before


def test_diff_with_vs_from_says_what_made_side_b() -> None:
    optimizers = f"{REALRUN}/optimizers.py"
    result = invoke(
        "diff",
        f"{optimizers}:train_step",
        "--args-from",
        f"{optimizers}:step_args",
        "--vs-from",
        f"{optimizers}:rebuilt_optimizer",
        "--no-compile",
        "--color",
        "never",
    )
    assert result.exit_code == 0, result.output
    assert f"side B is side A with tx={optimizers}:rebuilt_optimizer()" in result.stdout
    assert "JAX RECOMPILES" in result.stdout and "cache size 1 after A, 2 after B" in result.stdout


def test_a_missing_parameter_is_shown_with_the_flags_that_pass_it() -> None:
    result = invoke("trace", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]")
    assert result.exit_code == 2
    assert "unrolled_power needs a value for n;" in result.stderr
    assert "--arg n=f32[8,128]  (or --static n=3)" in result.stderr


def test_the_users_module_raising_is_an_error_document_at_their_line() -> None:
    args = ["trace", "tests/user_modules/broken_import.py:f", "--arg", "x=f32[3]"]
    report = ErrorReport.from_dict(json.loads(invoke(*args, "--format", "json").stdout))
    assert (report.error.type, report.error.raised_by) == ("UserCodeError", "user")
    assert report.error.file is not None
    assert report.error.file.endswith("tests/user_modules/broken_import.py")
    assert report.error.line == 5


def test_an_interrupt_exits_130_with_an_error_document(tmp_path: Path) -> None:
    module = tmp_path / "interrupted.py"
    module.write_text("def f(x):\n    raise KeyboardInterrupt\n")
    args = ["trace", f"{module}:f", "--arg", "x=f32[3]"]
    result = invoke(*args)
    assert result.exit_code == 130
    assert "jaxexplain: error: interrupted before the report was complete" in result.stderr
    as_json = invoke(*args, "--format", "json")
    report = ErrorReport.from_dict(json.loads(as_json.stdout))
    assert (as_json.exit_code, report.exit_code, report.error.type) == (
        130,
        130,
        "KeyboardInterrupt",
    )


def test_a_watch_usage_error_is_a_watch_document_with_nothing_run(tmp_path: Path) -> None:
    result = invoke("watch", "--format", "json", "--", str(tmp_path / "missing.py"))
    assert result.exit_code == 2
    report = WatchReport.from_dict(json.loads(result.stdout))
    assert report.error is not None and report.error.startswith("no such program")
    assert (report.events, report.functions, report.exit_code) == ((), (), None)


def test_failed_trace_exits_1_and_keeps_json_valid() -> None:
    args = [
        "trace",
        "samples/conditional.py:conditional_double",
        "--arg",
        "x=f32[]",
        "--static",
        "threshold=0.5",
    ]
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["error"]["type"] == "TracerBoolConversionError"
    assert document["error"]["line"] == 12
    assert (
        "failed to trace: TracerBoolConversionError at samples/conditional.py:12" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_user_prints_do_not_corrupt_json() -> None:
    result = invoke(
        "trace", "tests/user_modules/noisy.py:noisy", "--arg", "x=f32[2]", "--format", "json"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["schema"] == "jaxexplain.trace/1"
    assert "hello from the user's module" in result.stderr


def test_debug_shows_the_traceback() -> None:
    result = invoke(
        "trace", "tests/user_modules/broken_import.py:f", "--arg", "x=f32[3]", "--debug"
    )
    assert result.exit_code == 2 and "Traceback" in result.stderr


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


@pytest.mark.parametrize(
    ("argv", "exit_code"),
    [
        (["--help"], 0),
        (["trace", "--help"], 0),
        (["trace", "x:y", "--static", "bad"], 2),
        (["trace", "x:y", "--arg", "x=f33[2]"], 2),
        (["trace", "x:y", "--target-from", "x:z"], 2),
        (["diff", "--vs", "n=4"], 2),
    ],
)
def test_help_and_usage_errors_do_not_import_jax(argv: list[str], exit_code: int) -> None:
    code = (
        "import sys\nfrom jaxexplain.cli import main\n"
        f"sys.argv = ['jaxexplain', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('JAX_IMPORTED' if 'jax' in sys.modules else 'NO_JAX', code, file=sys.stderr)\n"
    )
    result = _python(code)
    assert f"NO_JAX {exit_code}" in result.stderr, result.stderr


def test_console_script_end_to_end() -> None:
    exe = Path(sys.executable).parent / "jaxexplain"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "jaxexplain"]
    result = subprocess.run(
        [*command, *UNROLLED, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["jaxpr"]["primitives"] == primitive_counts(unrolled_jaxpr())


@pytest.mark.parametrize(("function", "code"), [("double", 0), ("branchy", 1), ("missing", 2)])
def test_trace_ends_without_teardown_but_with_atexit_handlers(function: str, code: int) -> None:
    target = f"tests/user_modules/exit_hooks.py:{function}"
    argv = ["trace", target, "--arg", "x=f32[3]", "--format", "json"]
    result = subprocess.run(
        [sys.executable, "-m", "jaxexplain", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == code, result.stderr
    assert json.loads(result.stdout)["schema"] == "jaxexplain.trace/1"
    assert "user atexit handler ran" in result.stderr


UNROLLED_DIFF = [
    "diff",
    "samples/unrolled.py:unrolled_power",
    "--arg",
    "x=f32[3]",
    "--static",
    "n=3",
]
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
    result = runner.invoke(app, [*UNROLLED_DIFF, "--vs", "n=4", "--color", "never"])
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
    result = runner.invoke(
        app, [*UNROLLED_DIFF, "--vs", "n=4", "--no-compile", "--color", "always"]
    )
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
    document = diff_json(*UNROLLED_DIFF, "--vs", "n=3", "--no-compile")
    assert document["recompiles"] is False and document["verified"] is True
    assert document["cache_key_changes"] == [] and document["decision_changes"] == []
    jaxpr = document["jaxpr_diff"]
    assert (jaxpr["added"], jaxpr["removed"], jaxpr["changed"], jaxpr["unified"]) == (0, 0, 0, "")
    text = runner.invoke(app, [*UNROLLED_DIFF, "--vs", "n=3", "--no-compile"]).stdout
    assert "no recompile" in text and "identical up to variable names" in text


def test_changing_only_a_shape_flags_the_shape() -> None:
    document = diff_json(*UNROLLED_DIFF, "--vs", "x=f32[7]", "--no-compile")
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
    off = diff_json(*UNROLLED_DIFF, "--vs", "n=4", "--no-compile", "--no-verify")
    assert off["verified"] is False and off["recompiles"] is True
    assert "turned off" in off["verification"]["note"]
    small = runner.invoke(
        app,
        [*UNROLLED_DIFF, "--vs", "n=4", "--no-compile", "--verify-limit", "4B", "--color", "never"],
    )
    assert "not verified: one side's inputs need 12 B, over the --verify-limit of 4 B" in (
        small.stdout
    )


def test_a_failing_side_exits_1_with_valid_json() -> None:
    result = runner.invoke(app, [*UNROLLED_DIFF, "--vs", "n=2.5", "--format", "json"])
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
    result = runner.invoke(app, [*UNROLLED_DIFF, *extra])
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
    as_json = runner.invoke(app, [*UNROLLED_DIFF, *extra, "--format", "json"])
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
    result = runner.invoke(app, [*UNROLLED_DIFF, "--vs", "n=4", "--no-compile", "-o", str(out)])
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


def test_watch_of_a_module_that_does_not_exist_is_a_usage_error() -> None:
    result = invoke("watch", "--", "-m", "no_such_module_for_jaxexplain")
    assert result.exit_code == 2
    assert "no module named 'no_such_module_for_jaxexplain'" in result.stderr


def test_watch_of_a_missing_submodule_prints_one_line_like_python(tmp_path: Path) -> None:
    package = tmp_path / "pkg_for_watch"
    package.mkdir()
    (package / "__init__.py").write_text("")
    command = [sys.executable, "-m", "jaxexplain", "watch", "--", "-m", "pkg_for_watch.nope"]
    done = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(Path.cwd())},
    )
    python = subprocess.run(
        [sys.executable, "-m", "pkg_for_watch.nope"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == python.returncode == 1
    assert "No module named pkg_for_watch.nope" in done.stderr
    assert "Traceback" not in done.stderr and "runpy" not in done.stderr


@pytest.mark.parametrize("command", ["trace", "diff"])
def test_output_below_sys_stdout_never_reaches_the_json(command: str) -> None:
    """A real process: fd-level writes need a real fd 1 (CliRunner replaces only sys.stdout)."""
    target = ["tests/user_modules/noisy_fd.py:noisy", "--arg", "x=f32[2]", "--format", "json"]
    extra = ["--vs", "x=f32[3]"] if command == "diff" else []
    done = subprocess.run(
        [sys.executable, "-m", "jaxexplain", command, *target, *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema"] == f"jaxexplain.{command}/1"
    for line in ("raw fd write on import", "dunder stdout on import", "subprocess echo on import"):
        assert line in done.stderr
    assert "raw fd write while tracing" in done.stderr
    assert "C printf while tracing" in done.stderr


def test_version_names_jaxexplain_and_the_installed_jax() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"jaxexplain {jaxexplain_version} (jax {jax.__version__}, ")


@pytest.mark.parametrize("command", ["trace", "diff", "watch", "schema"])
def test_short_help_shows_one_example_per_command(command: str) -> None:
    result = invoke(command, "-h")
    assert result.exit_code == 0
    assert f"Example:\n    jaxexplain {command} " in result.stdout


def test_the_help_offers_shell_completion() -> None:
    result = invoke("-h")
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


def test_a_written_output_file_is_named_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = invoke(*UNROLLED, "--no-compile", "-o", str(out))
    assert result.exit_code == 0 and f"jaxexplain: wrote {out}" in result.stderr
    assert json.loads(out.read_text())["schema"] == "jaxexplain.trace/1"


def test_stable_applies_to_json_only() -> None:
    result = invoke(*UNROLLED, "--no-compile", "--stable")
    assert result.exit_code == 2 and "--stable leaves timings out of JSON" in result.stderr


@pytest.mark.parametrize(
    ("env", "tty", "colored"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"TERM": "dumb"}, True, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
    ],
)
def test_auto_color_follows_the_terminal_and_the_environment(
    env: dict[str, str], tty: bool, colored: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FORCE_COLOR", "NO_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    primary, secondary = os.openpty()
    with open(secondary, "w") as terminal, open(primary, "rb"):
        stream = terminal if tty else io.StringIO()
        assert use_color(ColorMode.auto, None, stream) is colored
