"""Progress while a run works: the stages an explanation tells its caller, which side of a diff
and which point of a sweep, and the CLI's status line on a terminal and nothing on a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from jaxexplain import api
from jaxexplain._py_compat import RECORDING_SLOWS_TRACING
from jaxexplain.cli import parse_assignments
from jaxexplain.explaining import Options, diff_target_texts, explain_target
from jaxexplain.inputs.caller import CLI
from jaxexplain.renderers import words
from jaxexplain.sweeping import grid
from jaxexplain.sweeping.running import sweep_target_texts

ROOT = Path(__file__).resolve().parent.parent
UNROLLED = "samples/unrolled.py:unrolled_power"
TRACE_ARGS = ["trace", UNROLLED, "--arg", "x=f32[3]", "--static", "n=3"]


STATIC, TRACED = parse_assignments(["n=3"], ["x=f32[3]"])


def _told(stages: list[str], compile: bool = True) -> Options:
    return Options(CLI, compile=compile, on_stage=stages.append)


def test_a_trace_tells_each_stage_in_order() -> None:
    stages: list[str] = []
    report = explain_target(UNROLLED, STATIC, TRACED, None, _told(stages))
    assert report.ok and report.compile is not None
    expected = [words.IMPORTING_TARGET, words.TRACING_ONLY, words.LOWERING, words.COMPILING]
    if RECORDING_SLOWS_TRACING:
        expected.append(words.RECORDING)  # recorded again while XLA compiles
    assert stages == expected


def test_without_compiling_the_trace_is_the_last_stage() -> None:
    stages: list[str] = []
    explain_target(UNROLLED, STATIC, TRACED, None, _told(stages, compile=False))
    assert stages == [words.IMPORTING_TARGET, words.TRACING_ONLY]


def test_a_diff_says_which_side_it_is_on_then_that_it_verifies() -> None:
    stages: list[str] = []
    report = diff_target_texts(
        UNROLLED, STATIC, TRACED, {"n": "4"}, None, _told(stages), verify_limit=10**9
    )
    assert report.verified
    a = [s for s in stages if s.startswith("side A: ")]
    b = [s for s in stages if s.startswith("side B: ")]
    assert a and [s.removeprefix("side A: ") for s in a] == [s.removeprefix("side B: ") for s in b]
    assert stages.index(a[-1]) < stages.index(b[0])
    assert stages[-1] == words.VERIFYING


def test_a_sweep_says_which_point_of_how_many_with_its_values() -> None:
    stages: list[str] = []
    axes = grid.parse_over(["n=2,4,8"])
    report = sweep_target_texts(UNROLLED, {}, TRACED, None, axes, _told(stages, False))
    assert len(report.points) == 3
    tracing = [s for s in stages if s.endswith(f": {words.TRACING_ONLY}")]
    assert tracing == [
        words.warming_up_text(words.TRACING_ONLY),
        "point 1/3, n=2: tracing",
        "point 2/3, n=4: tracing",
        "point 3/3, n=8: tracing",
    ]


def test_the_library_says_nothing_by_default(capfd: pytest.CaptureFixture[str]) -> None:
    report = api.trace(lambda x: x * 2, "f32[3]")
    assert report.ok
    assert capfd.readouterr().err == ""


def _cli(stderr: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    return subprocess.Popen(
        [sys.executable, "-m", "jaxexplain", *TRACE_ARGS, "--format", "json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
    )


def _read_all(fd: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal closed when the run ended
            return out
        if not chunk:
            return out
        out += chunk


def test_a_terminal_sees_the_stages_as_they_happen() -> None:
    leader, follower = pty.openpty()
    run = _cli(follower)
    os.close(follower)
    shown = _read_all(leader).decode(errors="replace")
    run.communicate(timeout=120)
    os.close(leader)
    assert run.returncode == 0
    assert f"jaxexplain: {words.IMPORTING_JAX}" in shown


def test_a_pipe_gets_no_progress_at_all() -> None:
    run = _cli(subprocess.PIPE)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0 and out.startswith(b"{")
    assert err == b""
