"""The command line: parse, call the library, render, exit. The only module that imports typer.

Nothing here imports JAX at module level: `--help` and usage errors stay fast.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from jaxexplain.errors import JaxExplainError, UsageError, UserCodeError
from jaxexplain.exits import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    interrupt_status,
    os_exit_raises,
    terminate_like_interrupt,
)
from jaxexplain.inputs.caller import CLI
from jaxexplain.inputs.loader import one_target, user_code_error
from jaxexplain.inputs.specs import parse_traced_value, split_assignment, split_static
from jaxexplain.outputs import check_output, run_inputs, write_output
from jaxexplain.renderers import guess_format
from jaxexplain.renderers.progress import progress
from jaxexplain.report import (
    DIFF_SCHEMA,
    SWEEP_SCHEMA,
    TRACE_SCHEMA,
    ErrorInfo,
    ErrorReport,
    WatchReport,
)
from jaxexplain.userfiles import short_path
from jaxexplain.versions import check_jax

EXIT_FAILED = 1
EXIT_INTERNAL = 3

app = typer.Typer(
    name="jaxexplain",
    help="Explains what jax.jit does with a function: jaxpr, cache key, baked-in decisions, "
    "XLA figures, and why it recompiles.",
    epilog="Exit codes: 0 done; 1 the target failed to trace or compile, or your code raised or "
    "exited (sys.exit, os._exit) while jaxexplain ran it; 2 bad input (unknown target, "
    "unparsable value, your module failing to import, an -o that cannot be written or names an "
    "input); 3 a bug in jaxexplain; 130 interrupted (143 SIGTERM). watch exits with your "
    "program's code.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def show_version(asked: bool) -> None:
    """`--version`: jaxexplain's version and the installed JAX's, read without importing JAX."""
    if not asked:
        return
    from importlib.metadata import PackageNotFoundError, version

    from jaxexplain import __version__

    try:
        jax = f"jax {version('jax')}"
    except PackageNotFoundError:
        jax = "no jax installed"
    python = ".".join(map(str, sys.version_info[:3]))
    print(f"jaxexplain {__version__} ({jax}, Python {python})")
    raise typer.Exit(0)


@app.callback()
def _commands(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=show_version, help="Show the versions and exit."
        ),
    ] = False,
) -> None:
    """Explains what jax.jit does with a function."""


class Format(StrEnum):
    text = "text"
    json = "json"
    html = "html"


class ColorMode(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


TargetArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[TARGET]",
        help="package.module:function, package.module:Class.method or path/file.py:function "
        "(omitted with --target-from)",
        show_default=False,
    ),
]
TargetFromOpt = Annotated[
    str | None,
    typer.Option(
        "--target-from",
        metavar="MOD:FACTORY",
        help="Instead of TARGET: MOD:FACTORY returning the function to explain (a closure, a "
        "partial, a function jitted inside it), or (function, kwargs), or (function, args, "
        "kwargs).",
    ),
]
StaticOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--static",
        metavar="NAME[=VALUE]",
        help="NAME=VALUE: make NAME static with a Python literal value (a bare word is a "
        "string); NAME alone: make static the value --args-from gives NAME (any object).",
    ),
]
ArgOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--arg",
        metavar="NAME=SPEC",
        help="NAME=SPEC: a traced argument: f32[8,128], i32[], a number, or a dict/list of specs.",
    ),
]
ArgsFromOpt = Annotated[
    str | None,
    typer.Option(
        "--args-from",
        metavar="MOD:FACTORY",
        help="MOD:FACTORY returning keyword arguments or (args, kwargs); arrays may be jax.ShapeDtypeStruct.",
    ),
]
NoCompileOpt = Annotated[
    bool, typer.Option("--no-compile", help="Trace only; skip lowering and XLA compilation.")
]
HloOpt = Annotated[bool, typer.Option("--hlo", help="Show the optimized HLO text.")]
StableHloOpt = Annotated[bool, typer.Option("--stablehlo", help="Show the StableHLO text.")]
FormatOpt = Annotated[
    Format | None,
    typer.Option("--format", help="text, json or html (default: from -o's suffix, else text)."),
]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "-o", "--output", metavar="FILE", help="Write the report to FILE ('-' is stdout)."
    ),
]
ColorOpt = Annotated[
    ColorMode,
    typer.Option(
        "--color", help="Colors in text output: auto (terminal and no NO_COLOR), always, never."
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")]
StableOpt = Annotated[
    bool,
    typer.Option(
        "--stable",
        help="Leave timings out of the JSON document, so that reports of two runs can be diffed.",
    ),
]


class JaxprMode(StrEnum):
    folded = "folded"
    full = "full"


JaxprOpt = Annotated[
    JaxprMode,
    typer.Option(
        "--jaxpr",
        help="Text output: folded (its counts, top sources and the repeated block once) or full.",
    ),
]
SectionsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--sections",
        metavar="NAME,...",
        help="Text output: only these sections (matched within titles: jaxpr, cache-key, "
        "decisions, source, compilation, ...); the summary always shows. Repeatable.",
    ),
]
MaxLinesOpt = Annotated[
    int | None,
    typer.Option("--max-lines", min=1, help="Text output: at most this many lines per section."),
]


def display_of(jaxpr: JaxprMode, sections: list[str] | None, max_lines: int | None) -> Any:
    """The text display the options ask for (JSON and HTML keep everything)."""
    from jaxexplain.renderers.display import Display

    names = tuple(
        n.strip().lower() for text in sections or [] for n in text.split(",") if n.strip()
    )
    return Display(jaxpr is JaxprMode.full, names, max_lines)


EXAMPLES = {
    "trace": "jaxexplain trace samples/unrolled.py:unrolled_power --arg x=f32[3] --static n=3",
    "diff": "jaxexplain diff samples/unrolled.py:unrolled_power --arg x=f32[3] --static n=3 "
    "--vs n=4",
    "watch": "jaxexplain watch --explain train_step -o compiles.html -- train.py --steps 10",
    "schema": "jaxexplain schema trace > trace.schema.json",
    "merge": "jaxexplain merge watch.p0.json watch.p1.json",
}


def example(command: str) -> str:
    """A command's help epilog: one command line to start from, kept on one line (`\\b`)."""
    return f"\b\nExample:\n  {EXAMPLES[command]}"


@app.command(epilog=example("trace"))
def trace(
    target: TargetArg = None,
    static: StaticOpt = None,
    arg: ArgOpt = None,
    args_from: ArgsFromOpt = None,
    target_from: TargetFromOpt = None,
    no_compile: NoCompileOpt = False,
    hlo: HloOpt = False,
    stablehlo: StableHloOpt = False,
    format: FormatOpt = None,
    output: OutputOpt = None,
    color: ColorOpt = ColorMode.auto,
    debug: DebugOpt = False,
    stable: StableOpt = False,
    jaxpr: JaxprOpt = JaxprMode.folded,
    sections: SectionsOpt = None,
    max_lines: MaxLinesOpt = None,
) -> None:
    """Trace TARGET (or the function --target-from returns) with jax.jit for one call
    signature and explain the result."""
    fmt = guess_format(output, format.value if format else None)
    name = refuse_bad_target(target, target_from, fmt, debug)

    def run() -> Any:
        check_stable(stable, fmt)
        statics, traced = parse_assignments(
            static or [], arg or [], factory=bool(args_from or target_from)
        )
        from jaxexplain.renderers import words

        with progress() as shown, user_stdout_to_stderr():
            shown.stage(words.IMPORTING_JAX)
            check_jax()
            from jaxexplain.explaining import Options, explain_target

            return explain_target(
                target,
                statics,
                traced,
                args_from,
                Options(
                    CLI,
                    compile=not no_compile,
                    hlo=hlo,
                    stablehlo=stablehlo,
                    on_stage=shown.stage,
                ),
                target_from=target_from,
                while_compiling=lambda: compiling(shown, fmt),
            )

    refuse_unsafe_output(output, run_inputs(target, args_from, target_from), fmt, debug, name)
    report = guarded(run, fmt=fmt, output=output, debug=debug, target=name)
    display = display_of(jaxpr, sections, max_lines)
    guarded(
        lambda: emit(report, fmt, output, color, stable, display),
        fmt=fmt,
        output=output,
        debug=debug,
        target=name,
    )
    raise typer.Exit(finish(report, fmt, output))


def compiling(shown: Any, fmt: str) -> None:
    """While XLA compiles: say so, and import the renderers the report will need."""
    from jaxexplain.renderers import load_format, words

    shown.stage(words.COMPILING)
    load_format(fmt)


def refuse_bad_target(
    target: str | None, target_from: str | None, fmt: str, debug: bool, schema: str = TRACE_SCHEMA
) -> str:
    """Before any import: TARGET and --target-from, both or neither, end the run with exit 2.

    Returns:
        The run's name for an error document: TARGET, or the factory.
    """
    name = target or f"{target_from}()"
    try:
        one_target(target, target_from, CLI)
    except UsageError as exc:
        fail(exc, exc.exit_code, fmt=fmt, output=None, debug=debug, target=name, schema=schema)
    return name


VsFromOpt = Annotated[
    str | None,
    typer.Option(
        "--vs-from",
        metavar="MOD:FACTORY",
        help="MOD:FACTORY returning side B's values (keyword arguments, or (args, kwargs)): "
        "objects no literal spells, such as a rebuilt optimizer or a new lambda; each keeps "
        "its parameter's role, and --vs applies after it.",
    ),
]
VsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--vs",
        metavar="NAME=VALUE",
        help="NAME=VALUE for side B (repeatable): a static literal for a static parameter, a "
        "spec for a traced one; NAME.FIELD=VALUE changes one field of a NamedTuple, dataclass "
        "or dict.",
    ),
]


@app.command(epilog=example("diff"))
def diff(
    target: TargetArg = None,
    vs: VsOpt = None,
    vs_from: VsFromOpt = None,
    static: StaticOpt = None,
    arg: ArgOpt = None,
    args_from: ArgsFromOpt = None,
    target_from: TargetFromOpt = None,
    no_compile: NoCompileOpt = False,
    hlo: HloOpt = False,
    stablehlo: StableHloOpt = False,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Do not check the verdict by calling JAX.")
    ] = False,
    verify_limit: Annotated[
        str,
        typer.Option(
            "--verify-limit",
            metavar="SIZE",
            help="Check the verdict by calling the jitted function on zeros only if one side's "
            "inputs fit in this size (e.g. 256MiB, 2GiB).",
        ),
    ] = "256MiB",
    format: FormatOpt = None,
    output: OutputOpt = None,
    color: ColorOpt = ColorMode.auto,
    debug: DebugOpt = False,
    stable: StableOpt = False,
    jaxpr: JaxprOpt = JaxprMode.folded,
    sections: SectionsOpt = None,
    max_lines: MaxLinesOpt = None,
) -> None:
    """Trace TARGET (or the function --target-from returns) twice, as given (side A) and with
    the --vs-from factory's values and every --vs applied (side B): does JAX recompile,
    exactly which cache-key components differ, which decisions flipped, and what changed in
    the jaxpr and the compiled code. The verdict is checked against JAX itself."""
    fmt = guess_format(output, format.value if format else None)
    name = refuse_bad_target(target, target_from, fmt, debug, DIFF_SCHEMA)

    def run() -> Any:
        check_stable(stable, fmt)
        statics, traced = parse_assignments(
            static or [], arg or [], factory=bool(args_from or target_from)
        )
        changes = parse_vs(vs or [], vs_from)
        limit = None if no_verify else parse_size(verify_limit, "--verify-limit")
        from jaxexplain.renderers import words

        with progress() as shown, user_stdout_to_stderr():
            shown.stage(words.IMPORTING_JAX)
            check_jax()
            from jaxexplain.explaining import Options, diff_target_texts

            return diff_target_texts(
                target,
                statics,
                traced,
                changes,
                args_from,
                Options(
                    CLI,
                    compile=not no_compile,
                    hlo=hlo,
                    stablehlo=stablehlo,
                    on_stage=shown.stage,
                ),
                target_from=target_from,
                vs_from=vs_from,
                verify_limit=limit,
            )

    inputs = run_inputs(target, args_from, target_from, vs_from)
    refuse_unsafe_output(output, inputs, fmt, debug, name, schema=DIFF_SCHEMA)
    report = guarded(run, fmt=fmt, output=output, debug=debug, target=name, schema=DIFF_SCHEMA)
    display = display_of(jaxpr, sections, max_lines)
    guarded(
        lambda: emit(report, fmt, output, color, stable, display),
        fmt=fmt,
        output=output,
        debug=debug,
        target=name,
        schema=DIFF_SCHEMA,
    )
    raise typer.Exit(finish(report, fmt, output))


def parse_vs(texts: list[str], vs_from: str | None = None) -> dict[str, str]:
    """`--vs NAME=VALUE` texts by name (read later, by each parameter's role on side A); none
    is needed where a `--vs-from` factory gives side B's values."""
    if not texts and not vs_from:
        raise UsageError(
            "diff needs at least one --vs NAME=VALUE or a --vs-from MOD:FACTORY: the change "
            "that makes side B (for example --vs n=4 or --vs x=f32[16])"
        )
    changes: dict[str, str] = {}
    for text in texts:
        name, value = split_assignment(text, "--vs", dotted=True)
        _refuse_twice(name, changes)
        changes[name] = value
    return changes


_SIZE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str, option: str) -> int:
    """`256MiB`, `2G`, `1.5GiB`, `1000000` -> bytes (K, M, G, T are powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if match is None:
        raise UsageError(f"{option} expects a size such as 256MiB or 2GiB, got {text!r}")
    return int(float(match[1]) * _SIZE_UNITS[match[2]])


def finish(report: Any, fmt: str, output: str | None) -> int:
    """The exit code; a failed trace also gets one paragraph on stderr when the explanation
    itself went to a file or into JSON/HTML, so the terminal never shows a bare exit 1."""
    if report.ok:
        return 0
    if fmt != "text" or (output and output != "-"):
        sides = (
            [("", report)]
            if not hasattr(report, "a")
            else [("side A: ", report.a), ("side B: ", report.b)]
        )
        for label, side in sides:
            if side.error is not None:
                print(f"jaxexplain: {label}{failure_summary(side)}", file=sys.stderr)
    return 1


def failure_summary(report: Any) -> str:
    """`target failed to trace: TracerBoolConversionError at file.py:12 (if x > t:): ...`."""
    error = report.error
    where = f" at {short_path(error.file)}:{error.line}" if error.file else ""
    source = f" ({error.source})" if error.source else ""
    reason = (error.explanation or error.message).split("\n")[0]
    return f"{report.target} failed to trace: {error.type}{where}{source}: {reason}"


def parse_assignments(
    static: list[str], arg: list[str], *, factory: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`--static` and `--arg` values by name (`--static NAME` alone, with an --args-from
    `factory`, keeps the value it gives); a name given twice is a usage error."""
    statics: dict[str, Any] = {}
    traced: dict[str, Any] = {}
    for text in static:
        name, value = split_static(text, factory=factory)
        _refuse_twice(name, statics, traced)
        statics[name] = value
    for text in arg:
        name, value = split_assignment(text, "--arg")
        _refuse_twice(name, statics, traced)
        traced[name] = parse_traced_value(name, value, CLI)
    return statics, traced


def _refuse_twice(name: str, *seen: dict[str, Any]) -> None:
    if any(name in s for s in seen):
        raise UsageError(f"parameter {name!r} is given more than once")


@contextlib.contextmanager
def user_stdout_to_stderr() -> Iterator[None]:
    """The user's code may print: its output goes to stderr so that stdout stays the report.

    At the file-descriptor level, as pytest captures: while user code runs, fd 1 is stderr, so
    `os.write(1, ...)`, `sys.__stdout__`, a subprocess's echo, a C extension's printf and a forked
    child all land on stderr; Python's `sys.stdout` follows. Where fd 1 cannot be duplicated (an
    embedding without file descriptors), only `sys.stdout` is redirected."""
    saved = _duplicate_stdout()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            _flush_user_output()
            os.dup2(saved, 1)
            os.close(saved)


def _duplicate_stdout() -> int | None:
    """A copy of fd 1 to restore later, with fd 1 then pointing at stderr; None where stdout
    has no descriptor to redirect."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        return None
    os.dup2(2, 1)
    return saved


def _flush_user_output() -> None:
    """What the user's code left in buffers bound for fd 1 (Python's `sys.__stdout__`, C's
    stdio) goes out while fd 1 is still stderr, not onto the report."""
    for stream in (sys.__stdout__, sys.stdout):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()  # type: ignore[union-attr]
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).fflush(None)


def use_color(mode: ColorMode, output: str | None, stream: Any = None) -> bool:
    """Colors as asked; with auto, only on a terminal (stdout, or `stream`), never with
    NO_COLOR or TERM=dumb, and always with FORCE_COLOR (a CI log that shows colors)."""
    if mode is ColorMode.always:
        return True
    if mode is ColorMode.never or os.environ.get("NO_COLOR") or (output and output != "-"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return os.environ.get("TERM") != "dumb" and (stream or sys.stdout).isatty()


def check_stable(stable: bool, fmt: str) -> None:
    """`--stable` shapes the JSON document: with another format it is a usage error."""
    if stable and fmt != "json":
        raise UsageError(f"--stable leaves timings out of JSON documents; this run writes {fmt}")


def emit(
    report: Any,
    fmt: str,
    output: str | None,
    color: ColorMode,
    stable: bool = False,
    display: Any = None,
) -> None:
    """Renders and writes the report; a file written gets its path on stderr."""
    from jaxexplain.renderers import render, renderer_for

    width = text_width(sys.stdout) if not output or output == "-" else FILE_WIDTH
    if stable:
        text = renderer_for(fmt, type(report))(report, stable=True)
    else:
        colored = use_color(color, output) and fmt == "text"
        text = render(report, fmt, color=colored, width=width, display=display)
    write_output(text, output, sys.stdout)
    if output and output != "-":
        print(f"jaxexplain: wrote {short_path(output)}", file=sys.stderr)


# Text written to a file or a pipe, with no COLUMNS to say otherwise, is this wide.
FILE_WIDTH = 100


def text_width(stream: Any) -> int:
    """The width text is laid out for: COLUMNS where set, else the terminal's (rich's
    detection, any width), else `FILE_WIDTH` for a file or a pipe."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if not stream.isatty():
        return FILE_WIDTH
    from rich.console import Console

    return Console(file=stream).size.width


def refuse_unsafe_output(
    output: str | None,
    inputs: list[Path],
    fmt: str,
    debug: bool,
    target: str,
    schema: str = TRACE_SCHEMA,
) -> None:
    """Before any work: an -o that is an input of the run, or that cannot be written, ends the
    run with exit 2; its JSON error document then goes to stdout, never to that -o."""
    try:
        check_output(output, inputs)
    except UsageError as exc:
        fail(exc, exc.exit_code, fmt=fmt, output=None, debug=debug, target=target, schema=schema)


def guarded(
    run: Callable[[], Any],
    *,
    fmt: str,
    output: str | None,
    debug: bool,
    target: str,
    schema: str = TRACE_SCHEMA,
) -> Any:
    """Runs a command body; turns jaxexplain's errors, the user's code exiting (`sys.exit`,
    `os._exit`), a bug of its own and an interrupt into one paragraph and the right exit code."""
    try:
        with os_exit_raises():
            return run()
    except JaxExplainError as exc:
        fail(exc, exc.exit_code, fmt=fmt, output=output, debug=debug, target=target, schema=schema)
    except typer.Exit:
        raise
    except SystemExit as exc:  # only the user's code exits inside a command body
        error = user_code_error(exc, "jaxexplain ran the target", exit_code=EXIT_FAILED)
        fail(error, EXIT_FAILED, fmt=fmt, output=output, debug=debug, target=target, schema=schema)
    except KeyboardInterrupt as exc:
        code = interrupt_status(exc)
        fail(exc, code, fmt=fmt, output=output, debug=debug, target=target, schema=schema)
    except Exception as exc:
        fail(exc, EXIT_INTERNAL, fmt=fmt, output=output, debug=debug, target=target, schema=schema)


def fail(
    exc: BaseException,
    code: int,
    *,
    fmt: str,
    output: str | None,
    debug: bool,
    target: str,
    schema: str = TRACE_SCHEMA,
) -> NoReturn:
    """Prints the message (and, with --debug, the traceback); JSON output stays a valid document."""
    message = failure_message(exc, code)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"jaxexplain: error: {message}", file=sys.stderr)
    if fmt == "json":
        write_error_document(error_report(exc, message, code, target, schema), output)
    raise typer.Exit(code)


def failure_message(exc: BaseException, code: int) -> str:
    """The paragraph for the user: jaxexplain's own message, or what a bug or an interrupt is."""
    if code == EXIT_INTERRUPTED:
        return "interrupted before the report was complete"
    if code == EXIT_TERMINATED:
        return "terminated (SIGTERM) before the report was complete"
    if code == EXIT_INTERNAL:
        return (
            f"jaxexplain itself failed ({type(exc).__name__}: {exc}); this is a bug in "
            f"jaxexplain, not in your code. Run with --debug for the traceback and report it."
        )
    return str(exc)


def error_report(
    exc: BaseException, message: str, code: int, target: str, schema: str
) -> ErrorReport:
    """The error document of a run that ended before its report; the user's own line where
    their module or factory raised."""
    where = exc.user_frame if isinstance(exc, UserCodeError) else None
    file, _, line = (where or "").rpartition(":")
    return ErrorReport(
        target=target,
        error=ErrorInfo(
            type=type(exc).__name__,
            message=message,
            file=file or None,
            line=int(line) if file else None,
            source=None,
            raised_by="user" if isinstance(exc, UserCodeError) else "jaxexplain",
        ),
        exit_code=code,
        schema=schema,
    )


def write_error_document(report: ErrorReport | WatchReport, output: str | None) -> None:
    """Writes the JSON document of a failed run; where even that cannot be written (an -o
    that fails), says so and exits 2."""
    from jaxexplain.renderers import render

    try:
        write_output(render(report, "json"), output, sys.stdout)
    except UsageError as write_error:
        print(f"jaxexplain: error: {write_error}", file=sys.stderr)
        raise typer.Exit(write_error.exit_code) from None


OverOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--over",
        metavar="NAME=VALUES",
        help="NAME=V1,V2,... (repeatable: several make a grid); ranges 1..64x2 (1,2,4,...,64) "
        "and 8..64+8; a traced argument's dimension as x=f32[{8,16,32},128].",
    ),
]
BudgetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--budget",
        metavar="FIGURE=LIMIT",
        help="Exit 1 at the first point over LIMIT (repeatable): equations, equations_nested, "
        "trace_seconds, lower_seconds, compile_seconds, flops, bytes_accessed, argument_bytes, "
        "output_bytes, temp_bytes, generated_code_bytes.",
    ),
]
PredictOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--predict",
        metavar="NAME=VALUE",
        help="Extrapolate every fitted figure to this swept value (repeatable).",
    ),
]


@app.command()
def sweep(
    target: TargetArg = None,
    over: OverOpt = None,
    budget: BudgetOpt = None,
    predict: PredictOpt = None,
    static: StaticOpt = None,
    arg: ArgOpt = None,
    args_from: ArgsFromOpt = None,
    target_from: TargetFromOpt = None,
    no_compile: NoCompileOpt = False,
    format: FormatOpt = None,
    output: OutputOpt = None,
    color: ColorOpt = ColorMode.auto,
    debug: DebugOpt = False,
    jaxpr: JaxprOpt = JaxprMode.folded,
    sections: SectionsOpt = None,
    max_lines: MaxLinesOpt = None,
) -> None:
    """Trace (and compile) TARGET at every --over value, in one process, JAX's caches cleared
    before each point: equations, seconds, flops and memory per point, the decisions that
    changed, a growth law per figure, the loops that unroll with the value (with a verified
    lax.fori_loop rewrite), and --budget checks for CI (exit 1 over budget)."""
    fmt = guess_format(output, format.value if format else None)
    name = refuse_bad_target(target, target_from, fmt, debug, SWEEP_SCHEMA)

    def run() -> Any:
        from jaxexplain.sweeping import grid

        statics, traced = parse_assignments(
            static or [], arg or [], factory=bool(args_from or target_from)
        )
        axes = grid.parse_over(over or [])
        budgets = grid.parse_budgets(budget or [])
        predictions = grid.parse_predictions(predict or [], axes)
        from jaxexplain.renderers import words

        with progress() as shown, user_stdout_to_stderr():
            shown.stage(words.IMPORTING_JAX)
            check_jax()
            from jaxexplain.explaining import Options
            from jaxexplain.sweeping.running import sweep_target_texts

            return sweep_target_texts(
                target,
                statics,
                traced,
                args_from,
                axes,
                Options(CLI, compile=not no_compile, on_stage=shown.stage),
                target_from=target_from,
                budgets=budgets,
                predictions=predictions,
            )

    inputs = run_inputs(target, args_from, target_from)
    refuse_unsafe_output(output, inputs, fmt, debug, name, schema=SWEEP_SCHEMA)
    report = guarded(run, fmt=fmt, output=output, debug=debug, target=name, schema=SWEEP_SCHEMA)
    display = display_of(jaxpr, sections, max_lines)
    guarded(
        lambda: emit(report, fmt, output, color, display=display),
        fmt=fmt,
        output=output,
        debug=debug,
        target=name,
        schema=SWEEP_SCHEMA,
    )
    raise typer.Exit(finish_sweep(report))


def finish_sweep(report: Any) -> int:
    """0; 130 for a sweep Ctrl-C ended, 143 for one SIGTERM ended (its report of the points so
    far written); or 1 with one paragraph on stderr: a point over budget, or a point that
    failed."""
    if report.ok:
        return 0
    if report.interrupted:
        return report.interrupt_status or EXIT_INTERRUPTED
    from jaxexplain.renderers.words import sweep_exit_text

    print(f"jaxexplain: {sweep_exit_text(report)}", file=sys.stderr)
    return EXIT_FAILED


class WatchFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


@app.command(
    context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
    epilog=example("watch"),
)
def watch(
    program: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="-- SCRIPT.py [ARGS...] | -- -m MODULE [ARGS...]",
            help="The program to run, as you would run it with python.",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        WatchFormat | None,
        typer.Option("--format", help="text, json or html (default: from -o's suffix, else text)."),
    ] = None,
    output: OutputOpt = None,
    color: ColorOpt = ColorMode.auto,
    debug: DebugOpt = False,
    explain: Annotated[
        list[str] | None,
        typer.Option(
            "--explain",
            metavar="NAME",
            help="A function (its name, the file.py:line of its def, or all) whose every "
            "compilation gets its full trace report from the real call, and every "
            "recompilation its diff against the nearest earlier one. Repeatable.",
        ),
    ] = None,
    stable: StableOpt = False,
    jaxpr: JaxprOpt = JaxprMode.folded,
    sections: SectionsOpt = None,
    max_lines: MaxLinesOpt = None,
) -> None:
    """Run a Python program unchanged and report every jit compilation in it, with the exact
    cache-key components behind each recompilation. One line per compilation goes to stderr as
    it happens; the report goes to -o FILE, else text to stderr (the program's stdout stays
    its own) and JSON or HTML to stdout (the program's stdout then goes to stderr). With
    --explain NAME, every compilation of NAME also gets its full trace report, built from the
    real call, and every recompilation its diff. Exits with the program's exit status."""
    argv = list(program or [])
    fmt = guess_format(output, format.value if format else None)
    try:
        check_program(argv)
        check_stable(stable, fmt)
    except UsageError as exc:
        fail_watch(exc, fmt, output, argv)
    try:
        check_output(output, watched_inputs(argv))
    except UsageError as exc:
        fail_watch(exc, fmt, None, argv)
    try:
        check_jax()
    except UsageError as exc:
        fail_watch(exc, fmt, output, argv)
    if output and output != "-":
        output = os.path.abspath(output)  # the program may change the working directory
    from jaxexplain.watching.watcher import Watcher, run_program

    watcher = Watcher(live=sys.stderr, program=" ".join(argv), explain=explain or ())
    redirect = user_stdout_to_stderr() if fmt != "text" and not output else contextlib.nullcontext()
    code, parent = 1, os.getpid()
    try:
        with redirect, os_exit_raises():
            code = run_program(argv, watcher)
    except BaseException as exc:
        watcher.error = f"jaxexplain itself failed: {type(exc).__name__}: {exc}"
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        code = EXIT_INTERNAL
    finally:
        leave_if_forked_child(parent, code)
        emit_watch(
            watcher.report(), fmt, output, color, stable, display_of(jaxpr, sections, max_lines)
        )
    raise typer.Exit(code)


def leave_if_forked_child(parent: int, code: int) -> None:
    """A child the program forked (`os.fork()`) that ran on to the program's end leaves here with
    its status: the report is the parent's alone, never written twice."""
    if os.getpid() != parent:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def check_program(argv: list[str]) -> None:
    """The program to watch must be named, and a script must exist."""
    if not argv:
        raise UsageError(
            "name the program to watch after --, for example: jaxexplain watch -- train.py "
            "--steps 10, or: jaxexplain watch -- -m mypackage.train"
        )
    if argv[0] == "-m":
        if len(argv) < 2:
            raise UsageError("-m needs a module name: jaxexplain watch -- -m mypackage.train")
        if not top_level_module_exists(argv[1]):
            raise UsageError(
                f"no module named {argv[1].split('.')[0]!r} (from the current directory or "
                f"the installed packages), so -m {argv[1]} cannot run"
            )
    elif not os.path.isfile(argv[0]):
        raise UsageError(f"no such program: {argv[0]} (give a Python file, or -m MODULE)")


def top_level_module_exists(dotted: str) -> bool:
    """Whether `python -m dotted` can find its top-level package, as Python would look for it
    (the current directory first), without importing anything: a parent package's own code must
    run under the watch, not before it."""
    import importlib.machinery
    import importlib.util

    top = dotted.split(".")[0]
    if importlib.machinery.PathFinder.find_spec(top, [os.getcwd(), *sys.path]) is not None:
        return True
    return top in sys.builtin_module_names or importlib.util.find_spec(top) is not None


def watched_inputs(argv: list[str]) -> list[Path]:
    """The watched script, or the module's file."""
    return run_inputs(argv[1] if argv[0] == "-m" else argv[0])


def fail_watch(exc: UsageError, fmt: str, output: str | None, argv: list[str]) -> NoReturn:
    """A usage error before the program ran: one paragraph, exit 2, and a valid JSON document
    (a watch report with no compilations, since nothing ran)."""
    print(f"jaxexplain: error: {exc}", file=sys.stderr)
    if fmt == "json":
        report = WatchReport(events=(), functions=(), program=" ".join(argv), error=str(exc))
        write_error_document(report, output)
    raise typer.Exit(exc.exit_code)


def emit_watch(
    report: Any,
    fmt: str,
    output: str | None,
    color: ColorMode,
    stable: bool = False,
    display: Any = None,
) -> None:
    """The report to -o FILE; else text to stderr and JSON to stdout."""
    from jaxexplain.renderers import render

    if output or fmt != "text":
        from jaxexplain.watching.processes import per_process_output

        written = output and per_process_output(output, report.process)
        emit(report, fmt, written, color, stable, display)
        return
    colored = use_color(color, None, sys.stderr)
    text = render(report, "text", color=colored, width=text_width(sys.stderr), display=display)
    write_output(text, None, sys.stderr)


@app.command(epilog=example("merge"))
def merge(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="WATCH.json...",
            help="The JSON watch reports of a jax.distributed run, one per process.",
            show_default=False,
        ),
    ] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    color: ColorOpt = ColorMode.auto,
    debug: DebugOpt = False,
    stable: StableOpt = False,
) -> None:
    """Line up the watch reports of the processes of one jax.distributed run (each process ran
    `jaxexplain watch -o watch.json`, writing watch.p0.json, watch.p1.json, ...) and flag every
    compilation one process made and the others did not: its collectives wait forever. Exits 1
    when the processes diverge."""
    from jaxexplain.report import WATCH_MERGE_SCHEMA

    paths = list(files or [])
    fmt = guess_format(output, format.value if format else None)
    refuse_unsafe_output(
        output, [Path(p) for p in paths], fmt, debug, "merge", schema=WATCH_MERGE_SCHEMA
    )

    def run() -> Any:
        from jaxexplain.renderers.words import merge_needs_files_text
        from jaxexplain.watching.merge import merge_files

        if not paths:
            raise UsageError(merge_needs_files_text())
        check_stable(stable, fmt)
        report = merge_files(paths)
        emit(report, fmt, output, color, stable)
        return report

    report = guarded(
        run, fmt=fmt, output=output, debug=debug, target="merge", schema=WATCH_MERGE_SCHEMA
    )
    raise typer.Exit(0 if report.ok else 1)


@app.command(epilog=example("schema"))
def schema(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="The document: trace, diff, watch, error, or another command's."
        ),
    ],
) -> None:
    """Print the JSON Schema (draft 2020-12) of a jaxexplain document: every --format json
    document of that command validates against it, errors included."""
    from jaxexplain.schema import document_names, schema_text

    if name not in document_names():
        print(
            f"jaxexplain: error: no document named {name!r}; use one of "
            f"{', '.join(document_names())}",
            file=sys.stderr,
        )
        raise typer.Exit(UsageError.exit_code)
    print(schema_text(name))


# Commands that only import and trace the user's code, so nothing of theirs runs at teardown.
QUICK_EXIT_COMMANDS = ("trace", "diff", "sweep")


def main() -> None:
    """Console-script entry point."""
    terminate_like_interrupt()
    try:
        app()
    except SystemExit as done:
        if sys.argv[1:2] and sys.argv[1] in QUICK_EXIT_COMMANDS and "jax" in sys.modules:
            exit_without_teardown(done.code)
        raise


def exit_without_teardown(code: object) -> NoReturn:
    """Ends the process once the report is out, without tearing the interpreter down.

    Freeing JAX's client, compiled executables and every module object by object takes 0.1 to
    0.3 s after a trace, time a user only waits through (mypy ends the same way). atexit
    handlers still run and both streams are flushed; `watch` exits normally, since the user's
    program may leave threads or unflushed files that Python's own shutdown takes care of."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
