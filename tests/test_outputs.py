"""Where reports go: -o safety (inputs refused, unwritable paths refused before any work, links
and devices written through), colors on a real terminal, and the exit codes of each ending."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jaxexplain import explaining
from jaxexplain.cli import app
from jaxexplain.errors import UsageError
from jaxexplain.outputs import check_output, module_file, run_inputs, spec_file, write_output
from jaxexplain.report import ErrorReport

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A copy of the unrolled sample: a user's file that an -o must never overwrite."""
    path = tmp_path / "victim.py"
    shutil.copy(ROOT / "samples" / "unrolled.py", path)
    return path


def trace_args(target: Path, *more: str) -> list[str]:
    return ["trace", f"{target}:unrolled_power", "--arg", "x=f32[3]", "--static", "n=3", *more]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_output_that_is_the_target_file_is_refused_and_the_file_kept(
    victim: Path, fmt: str
) -> None:
    before = victim.read_text()
    result = runner.invoke(app, trace_args(victim, "-o", str(victim), "--format", fmt))
    assert result.exit_code == 2
    assert victim.read_text() == before
    assert "an input of this run" in result.stderr
    if fmt == "json":
        assert json.loads(result.stdout)["error"]["type"] == "UsageError"


def test_an_output_that_is_the_factory_file_is_refused(victim: Path, tmp_path: Path) -> None:
    factory = tmp_path / "factory.py"
    factory.write_text("def args():\n    return {'n': 3}\n")
    before = factory.read_text()
    argv = [
        "trace", f"{victim}:unrolled_power", "--arg", "x=f32[3]",
        "--args-from", f"{factory}:args", "-o", str(factory),
    ]  # fmt: skip
    result = runner.invoke(app, argv)
    assert result.exit_code == 2 and factory.read_text() == before


def test_a_link_to_the_target_file_is_refused_too(victim: Path, tmp_path: Path) -> None:
    link = tmp_path / "report.txt"
    link.symlink_to(victim)
    before = victim.read_text()
    assert runner.invoke(app, trace_args(victim, "-o", str(link))).exit_code == 2
    assert victim.read_text() == before and link.is_symlink()


def test_an_unwritable_output_is_refused_before_any_work(
    victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    traced = []
    monkeypatch.setattr(explaining, "explain_target", lambda *a, **k: traced.append(a))
    result = runner.invoke(app, trace_args(victim, "-o", "/nonexistent/dir/r.json"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert traced == [], "the target was traced before the output was checked"
    assert json.loads(result.stdout)["error"]["message"].startswith("cannot write -o")


def test_a_symlink_is_written_through_and_stays_a_link(victim: Path, tmp_path: Path) -> None:
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    real.write_text("old")
    link.symlink_to(real)
    assert runner.invoke(app, trace_args(victim, "--no-compile", "-o", str(link))).exit_code == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())["schema"] == "jaxexplain.trace/1"


def test_a_pipe_or_device_is_written_as_it_is(victim: Path, tmp_path: Path) -> None:
    """A named pipe stands for `/dev/stdout` and the like (a test must never risk replacing a
    real device: as root a wrong rename would turn `/dev/null` into a regular file)."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a reader before the writer
    try:
        result = runner.invoke(app, trace_args(victim, "--no-compile", "-o", str(pipe)))
        try:
            received = [os.read(reader, 1 << 20)]
        except BlockingIOError:
            received = []
    finally:
        os.close(reader)
    assert result.exit_code == 0
    assert stat.S_ISFIFO(pipe.stat().st_mode), "the pipe was replaced by a file"
    assert received and received[0].startswith(b"jaxexplain trace")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "victim.py"]


def test_an_existing_report_keeps_its_permissions(victim: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    out.write_text("old")
    out.chmod(0o640)
    assert runner.invoke(app, trace_args(victim, "--no-compile", "-o", str(out))).exit_code == 0
    assert out.stat().st_mode & 0o777 == 0o640 and "jaxexplain trace" in out.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_bug_in_jaxexplain_exits_3_with_a_valid_json_document(
    victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a jaxexplain bug")

    monkeypatch.setattr(explaining, "explain_target", broken)
    result = runner.invoke(app, [*trace_args(victim), "--format", "json"])
    assert result.exit_code == 3
    document = json.loads(result.stdout)
    assert document["schema"] == "jaxexplain.trace/1"
    assert "jaxexplain itself failed" in document["error"]["message"]
    assert "Traceback" not in result.stderr
    report = ErrorReport.from_dict(document)
    assert (report.exit_code, report.error.type, report.error.raised_by) == (
        3,
        "RuntimeError",
        "jaxexplain",
    )


def run_on_terminal(argv: list[str], env: dict[str, str]) -> str:
    """Runs the real console script with its stdout on a pseudo-terminal; returns what it printed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "jaxexplain", *argv],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=300)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


TERMINAL_CASES = {
    "auto on a terminal": ([], {}, True),
    "NO_COLOR on a terminal": ([], {"NO_COLOR": "1"}, False),
    "never on a terminal": (["--color", "never"], {}, False),
    "always with NO_COLOR": (["--color", "always"], {"NO_COLOR": "1"}, True),
}


@pytest.mark.parametrize("case", TERMINAL_CASES)
def test_colors_on_a_real_terminal(case: str) -> None:
    flags, extra_env, colored = TERMINAL_CASES[case]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | extra_env
    argv = [
        "trace", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]", "--static", "n=3",
        "--no-compile", *flags,
    ]  # fmt: skip
    printed = run_on_terminal(argv, env)
    assert "unrolled_power" in printed
    assert ("\x1b[" in printed) == colored


def test_a_pipe_gets_no_colors() -> None:
    argv = ["trace", "samples/unrolled.py:unrolled_power", "--arg", "x=f32[3]", "--static", "n=3"]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    result = subprocess.run(
        [sys.executable, "-m", "jaxexplain", *argv, "--no-compile"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0 and "unrolled_power" in result.stdout
    assert "\x1b[" not in result.stdout


@pytest.mark.parametrize(("text", "written"), [("report", "report\n"), ("report\n", "report\n")])
def test_a_report_ends_with_exactly_one_newline(text: str, written: str, tmp_path: Path) -> None:
    stream = io.StringIO()
    write_output(text, "-", stream)
    assert stream.getvalue() == written
    out = tmp_path / "r.txt"
    write_output(text, str(out), None)
    assert out.read_bytes() == written.encode()


def test_a_new_report_file_appears_whole_through_a_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report is written beside its path and renamed over it, never written in place."""
    renamed: list[tuple[str, str]] = []
    original = Path.replace

    def spy(self: Path, target: Any) -> Any:
        renamed.append((self.name, Path(target).name))
        return original(self, target)

    monkeypatch.setattr(Path, "replace", spy)
    out = tmp_path / "new.json"
    write_output("{}", str(out), None)
    assert len(renamed) == 1 and renamed[0][1] == "new.json" and renamed[0][0] != "new.json"
    assert out.read_text() == "{}\n"


def test_a_failed_write_leaves_nothing_behind_and_says_why(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    with pytest.raises(UsageError) as raised:
        write_output("x", str(folder / "r.txt"), None)
    assert str(raised.value) == f"cannot write {folder / 'r.txt'}: No such file or directory"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, None),
        ("", None),
        (":fn", None),
        ("samples/unrolled.py:unrolled_power", "samples/unrolled.py"),
        ("samples/unrolled.py", "samples/unrolled.py"),
        ("local_script.py:main", "local_script.py"),
        ("odd:dir/f.py:fn", "odd:dir/f.py"),
        ("samples.unrolled:unrolled_power", "samples/unrolled.py"),
        ("samples.unrolled", "samples/unrolled.py"),
        ("samples:anything", "samples/__init__.py"),
        ("tests.targets.libs:x", "tests/targets/libs/__init__.py"),
        ("no_such_package.module:fn", None),
    ],
)
def test_the_file_of_a_spec_is_found_without_importing_it(
    spec: str | None, expected: str | None
) -> None:
    found = spec_file(spec)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.resolve() == (ROOT / expected).resolve()


def test_a_dotted_module_is_found_on_the_import_path_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere_pkg").mkdir()
    (tmp_path / "elsewhere_pkg" / "__init__.py").write_text("")
    (tmp_path / "elsewhere_pkg" / "train.py").write_text("")
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])
    assert module_file("elsewhere_pkg.train") == tmp_path / "elsewhere_pkg" / "train.py"
    assert module_file("elsewhere_pkg") == tmp_path / "elsewhere_pkg" / "__init__.py"
    assert module_file("elsewhere_pkg.missing") is None


def test_run_inputs_are_the_files_that_exist() -> None:
    found = run_inputs("samples/unrolled.py:f", "samples.decorated:dense", "gone.py:f", None)
    assert [p.resolve() for p in found] == [
        (ROOT / "samples" / "unrolled.py").resolve(),
        (ROOT / "samples" / "decorated.py").resolve(),
    ]


def test_a_folder_is_no_output(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="it is a folder"):
        check_output(str(tmp_path), [])


def test_a_new_file_in_an_existing_folder_and_the_stream_are_fine(tmp_path: Path) -> None:
    check_output(str(tmp_path / "new.json"), [tmp_path / "other.py"])
    check_output("-", [])
    check_output(None, [])


def test_an_existing_report_that_is_no_input_may_be_replaced(tmp_path: Path) -> None:
    report, source = tmp_path / "r.json", tmp_path / "source.py"
    report.write_text("{}")
    source.write_text("")
    check_output(str(report), [source])


_WRITER = """
import sys
from jaxexplain.outputs import write_output
path, mark = sys.argv[1], sys.argv[2]
text = '{"writer": "%s", "pad": "%s"}' % (mark, mark * 400_000)
for _ in range(25):
    write_output(text, path, None)
"""


def test_two_processes_writing_one_output_leave_one_whole_document(tmp_path: Path) -> None:
    """Each write is a whole file renamed into place: whichever lands last, the file is one of
    the two documents, never an interleaving or a truncated one."""
    out = tmp_path / "shared.json"
    root = Path(__file__).parent.parent
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(out), mark], cwd=root)
        for mark in ("a", "b")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    document = json.loads(out.read_text())
    assert document["pad"] == document["writer"] * 400_000
    assert [p.name for p in tmp_path.iterdir()] == ["shared.json"]
