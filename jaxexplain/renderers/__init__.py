"""Renderers turn report objects into text, JSON or HTML; one small explicit registry."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from jaxexplain.errors import UsageError

FORMATS = {
    "text": "jaxexplain.renderers.console",
    "json": "jaxexplain.renderers.json",
    "html": "jaxexplain.renderers.html",
}
_SUFFIXES = {".json": "json", ".html": "html", ".htm": "html", ".txt": "text"}


def guess_format(output: str | None, explicit: str | None) -> str:
    """The explicit `--format`, else the output file's suffix, else text."""
    if explicit:
        return explicit
    if output and output != "-":
        return _SUFFIXES.get(Path(output).suffix.lower(), "text")
    return "text"


def render(report: Any, fmt: str = "text", *, color: bool = False, width: int = 100) -> str:
    """Renders any report (trace, diff, watch) in one of the registered formats.

    Args:
        report: a report object from `jaxexplain.report` (or a diff/watch report).
        fmt: "text", "json" or "html".
        color: ANSI colors in text output.
        width: text width in columns.

    Returns:
        The rendered document.
    """
    return renderer(fmt).render(report, color=color, width=width)


def renderer(fmt: str) -> ModuleType:
    """The module that renders `fmt`, imported on first use (the CLI imports it while XLA
    compiles, when the process would otherwise wait)."""
    module_name = FORMATS.get(fmt)
    if module_name is None:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return importlib.import_module(module_name)
