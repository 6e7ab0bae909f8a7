"""What the run is doing, on stderr while it works: rich's status line on a terminal, nothing
otherwise (a log or a pipe gets no spinner frames). rich is imported only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Progress:
    """A status line the run updates stage by stage (`importing JAX`, `tracing`, ...)."""

    def __init__(self, status: Any = None) -> None:
        self._status = status

    def stage(self, text: str) -> None:
        """Shows `text` as what the run does now."""
        if self._status is not None:
            self._status.update(f"jaxexplain: {text}")


@contextmanager
def progress(stream: Any = None) -> Iterator[Progress]:
    """A `Progress` on `stream` (stderr) while the block runs; silent unless a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield Progress()
        return
    from rich.console import Console

    with Console(file=stream, stderr=stream is sys.stderr).status("jaxexplain") as status:
        yield Progress(status)
