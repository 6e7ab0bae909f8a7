"""What the watch tests share: the programs they run, and running one under `watch`."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import jaxexplain
from jaxexplain.report import WatchReport

PROGRAMS = Path(__file__).resolve().parent / "watch_programs"


def run_watched(name: str) -> tuple[WatchReport, dict[str, Any]]:
    """Runs a program as `__main__` under watch; returns the report and the program's globals."""
    with jaxexplain.watch() as watcher:
        program_globals = runpy.run_path(str(PROGRAMS / name), run_name="__main__")
    return watcher.report(), program_globals
