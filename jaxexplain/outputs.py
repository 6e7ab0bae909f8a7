"""The files jaxexplain writes: checked before any work, written whole or not at all.

An `-o` that names an input of the run (the target's file, a factory's file, the watched
script) would destroy the user's code, and one that cannot be written would be found out only
after minutes of compiling; both are refused before anything runs. A regular file is replaced
atomically (a temporary file in the same folder, then a rename), through symbolic links; a
device or a pipe (`/dev/stdout`, `/dev/null`) is written as it is. Nothing here imports JAX.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jaxexplain.errors import UsageError


def is_stream(output: str | None) -> bool:
    """No file: the report goes to the standard stream."""
    return not output or output == "-"


def check_output(output: str | None, inputs: Iterable[Path]) -> None:
    """Refuses, before any work, an output that is one of the run's inputs or cannot be written.

    Args:
        output: the `-o` value as given.
        inputs: the files the run reads (target, factories, watched script), as found.

    Raises:
        UsageError: naming the path and why.
    """
    if is_stream(output):
        return
    assert output is not None
    real = Path(os.path.realpath(output))
    for source in inputs:
        if real.exists() and source.exists() and os.path.samefile(real, source):
            raise UsageError(
                f"-o {output} is {source}, an input of this run; jaxexplain will not write its "
                f"report over your code. Name another output file."
            )
    if real.exists():
        if real.is_dir():
            raise UsageError(f"cannot write -o {output}: it is a folder")
        if not os.access(real, os.W_OK):
            raise UsageError(f"cannot write -o {output}: permission denied")
        if not real.is_file():
            return
    folder = real.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write -o {output}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write -o {output}: the folder {folder} is not writable")


def write_output(text: str, output: str | None, stream: Any) -> None:
    """Writes to `stream` for "-"/None, else to the file; a half-written file never stays behind.

    Raises:
        UsageError: the file could not be written (a full disk, say), with the path and why.
    """
    text = text if text.endswith("\n") else text + "\n"
    if is_stream(output):
        stream.write(text)
        stream.flush()
        return
    assert output is not None
    real = Path(os.path.realpath(output))
    try:
        if real.exists() and not real.is_file():
            with open(real, "w", encoding="utf-8") as device:
                device.write(text)
            return
        _replace_atomically(real, text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc


def _replace_atomically(path: Path, text: str) -> None:
    """A temporary file beside `path`, renamed over it: readers see the old or the new file,
    never half of one; an existing file keeps its permissions."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def module_file(module: str) -> Path | None:
    """The file a dotted module name would import, found without importing anything (an input
    of the run that an `-o` must not overwrite)."""
    parts = module.split(".")
    for entry in [os.getcwd(), *sys.path]:
        base = Path(entry or ".").joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def spec_file(spec: str | None) -> Path | None:
    """The file of a `path.py:name` or `pkg.mod:name` spec (TARGET, `--args-from`, ...)."""
    if not spec:
        return None
    module = spec.rpartition(":")[0] if ":" in spec else spec
    if module.endswith(".py") or os.sep in module:
        return Path(module)
    return module_file(module) if module else None


def run_inputs(*specs: str | None) -> list[Path]:
    """The files named by a run's target and factory specs that exist."""
    found = (spec_file(spec) for spec in specs)
    return [path for path in found if path is not None and path.exists()]
