"""exits.py and the commands around it: user code that calls sys.exit or os._exit while
jaxexplain runs it gets a report and exit 1 (a watched program keeps its own status), and a forked
child or another thread still leaves at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jaxexplain.cli import app
from jaxexplain.exits import UserExit, os_exit_raises
from jaxexplain.report import ErrorReport, WatchReport

runner = CliRunner()
MODULE = "tests/user_modules/exiting.py"
PROGRAM = Path(__file__).parent / "watch_programs" / "exits.py"


def error_of(*args: str) -> tuple[int, ErrorReport]:
    result = runner.invoke(app, [*args, "--format", "json"])
    return result.exit_code, ErrorReport.from_dict(json.loads(result.stdout))


def test_sys_exit_while_traced_is_exit_1_with_the_users_line() -> None:
    code, report = error_of("trace", f"{MODULE}:exits_while_traced", "--arg", "x=f32[3]")
    assert code == 1 and report.exit_code == 1
    assert report.error.raised_by == "user" and report.error.line == 10
    assert report.error.file is not None and report.error.file.endswith("exiting.py")
    assert "called sys.exit(4)" in report.error.message


def test_os_exit_while_traced_is_a_report_not_a_silent_success() -> None:
    code, report = error_of("trace", f"{MODULE}:os_exits_while_traced", "--arg", "x=f32[3]")
    assert code == 1
    assert "called os._exit(0)" in report.error.message and report.error.line == 14


def test_sys_exit_in_a_factory_is_exit_1_with_its_message() -> None:
    code, report = error_of(
        "diff", f"{MODULE}:scaled", "--args-from", f"{MODULE}:exits_in_factory", "--vs", "x=f32[4]"
    )
    assert code == 1
    assert "called sys.exit('no data found') while calling the factory" in report.error.message


def test_a_watched_program_that_calls_os_exit_keeps_its_status_and_gets_its_report(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["watch", "-o", str(out), "--", str(PROGRAM), "os_exit", "6"])
    assert result.exit_code == 6
    report = WatchReport.from_dict(json.loads(out.read_text()))
    assert report.exit_code == 6 and [e.function for e in report.events] == ["double"]


def test_os_exit_raises_only_in_the_block_and_is_restored() -> None:
    real = os._exit
    with pytest.raises(UserExit) as raised, os_exit_raises():
        os._exit(9)
    assert raised.value.status == 9 and os._exit is real


def exit_status_of(script: str) -> int:
    """The exit status of `script` run in a fresh interpreter without JAX (forking a process
    that holds JAX's threads may deadlock)."""
    root = Path(__file__).parent.parent
    done = subprocess.run([sys.executable, "-c", script], cwd=root, timeout=60, check=False)
    return done.returncode


def test_another_thread_still_leaves_at_once() -> None:
    script = """
import os, threading
from jaxexplain.exits import os_exit_raises
with os_exit_raises():
    worker = threading.Thread(target=os._exit, args=(12,))
    worker.start()
    worker.join()
os._exit(0)
"""
    assert exit_status_of(script) == 12


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_leaves_at_once_and_never_unwinds_into_the_parent() -> None:
    script = """
import os, sys
from jaxexplain.exits import os_exit_raises
with os_exit_raises():
    pid = os.fork()
    if pid == 0:
        os._exit(5)
    _, status = os.waitpid(pid, 0)
sys.exit(40 + os.waitstatus_to_exitcode(status))
"""
    assert exit_status_of(script) == 45


def test_a_child_the_watched_program_forks_never_writes_a_report(tmp_path: Path) -> None:
    program = Path(__file__).parent / "watch_programs" / "forking.py"
    done = subprocess.run(
        [sys.executable, "-m", "jaxexplain", "watch", "--format", "json", "--", str(program)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(Path(__file__).parent.parent)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = WatchReport.from_dict(json.loads(done.stdout))
    assert [e.function for e in report.events] == ["double"]
    assert "parent saw child exit 0" in done.stderr and "child done" in done.stderr


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_watch_writes_the_compilations_so_far_and_exits_as_shells_expect(
    tmp_path: Path, signum: int, status: int
) -> None:
    out = tmp_path / "run.json"
    program = Path(__file__).parent / "watch_programs" / "waits.py"
    process = subprocess.Popen(
        [sys.executable, "-m", "jaxexplain", "watch", "-o", str(out), "--", str(program)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == status
    assert "Traceback" not in stderr and "the program was" in stderr
    report = WatchReport.from_dict(json.loads(out.read_text()))
    assert report.exit_code == status and [e.function for e in report.events] == ["step"]


def test_sigterm_while_tracing_is_exit_143_with_a_valid_json_document() -> None:
    root = Path(__file__).parent.parent
    command = ["trace", f"{MODULE}:slow_to_trace", "--arg", "x=f32[2]", "--format", "json"]
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "jaxexplain", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(root)},
    )
    try:
        assert process.stderr is not None
        while process.stderr.readline().strip() != "tracing":
            pass
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 143
    assert "terminated (SIGTERM)" in stderr and "Traceback" not in stderr
    assert ErrorReport.from_dict(json.loads(stdout)).exit_code == 143
