"""Renderers turn reports into text, JSON or HTML: one small explicit registry of which function
renders which report kind in which format, each module imported on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from jaxexplain.errors import UsageError
from jaxexplain.renderers.display import Display
from jaxexplain.report import (
    DiffReport,
    ErrorReport,
    Report,
    SweepReport,
    TraceReport,
    WatchMerge,
    WatchReport,
)

# (format, report type) -> "module:function"; each function takes its report type, and the
# keyword arguments `color` and `width`.
RENDERERS: dict[tuple[str, type], str] = {
    ("text", TraceReport): "jaxexplain.renderers.console.trace:render",
    ("text", DiffReport): "jaxexplain.renderers.console.diff:render",
    ("text", WatchReport): "jaxexplain.renderers.console.watch:render",
    ("json", TraceReport): "jaxexplain.renderers.json:render_trace",
    ("json", DiffReport): "jaxexplain.renderers.json:render_diff",
    ("json", WatchReport): "jaxexplain.renderers.json:render_watch",
    ("json", ErrorReport): "jaxexplain.renderers.json:render_error",
    ("html", TraceReport): "jaxexplain.renderers.html.trace:render",
    ("html", DiffReport): "jaxexplain.renderers.html.diff:render",
    ("html", WatchReport): "jaxexplain.renderers.html.watch:render",
    ("text", SweepReport): "jaxexplain.renderers.console.sweep:render",
    ("json", SweepReport): "jaxexplain.renderers.json:render_sweep",
    ("html", SweepReport): "jaxexplain.renderers.html.sweep:render",
    ("text", WatchMerge): "jaxexplain.renderers.console.merge:render",
    ("json", WatchMerge): "jaxexplain.renderers.json:render_merge",
    ("html", WatchMerge): "jaxexplain.renderers.html.merge:render",
}
FORMATS = tuple(dict.fromkeys(fmt for fmt, _ in RENDERERS))
_KINDS = {
    TraceReport: "trace",
    DiffReport: "diff",
    WatchReport: "watch",
    ErrorReport: "error",
    SweepReport: "sweep",
    WatchMerge: "watch-merge",
}
_SUFFIXES = {".json": "json", ".html": "html", ".htm": "html", ".txt": "text"}


def guess_format(output: str | None, explicit: str | None) -> str:
    """The explicit `--format`, else the output file's suffix, else text."""
    if explicit:
        return explicit
    if output and output != "-":
        return _SUFFIXES.get(Path(output).suffix.lower(), "text")
    return "text"


def render(
    report: Report,
    fmt: str = "text",
    *,
    color: bool = False,
    width: int = 100,
    display: Display | None = None,
) -> str:
    """Renders a report (trace, diff, watch) in one of the registered formats.

    Args:
        report: a `TraceReport`, `DiffReport` or `WatchReport` from `jaxexplain.report`.
        fmt: "text", "json" or "html".
        color: ANSI colors in text output.
        width: text width in columns.
        display: what text shows (`--jaxpr full`, `--sections`, `--max-lines`); JSON and HTML
            keep everything.

    Returns:
        The rendered document.

    Raises:
        UsageError: for an unknown format, or a format that does not render this report kind.
    """
    shown = {"display": display} if display is not None and fmt == "text" else {}
    return renderer_for(fmt, type(report))(report, color=color, width=width, **shown)


def renderer_for(fmt: str, kind: type) -> Callable[..., str]:
    """The function that renders reports of type `kind` in `fmt`, its module imported now."""
    _check_format(fmt)
    where = RENDERERS.get((fmt, kind))
    if where is None:
        rendered = ", ".join(_KINDS[k] for f, k in RENDERERS if f == fmt)
        raise UsageError(
            f"--format {fmt} renders {rendered} reports, not {_KINDS.get(kind, kind.__name__)} reports"
        )
    module, _, function = where.partition(":")
    renderer: Callable[..., str] = getattr(importlib.import_module(module), function)
    return renderer


def load_format(fmt: str) -> None:
    """Imports every renderer of `fmt` ahead of use (the CLI does it while XLA compiles, when
    the process would otherwise wait)."""
    _check_format(fmt)
    for (each, _), where in RENDERERS.items():
        if each == fmt:
            importlib.import_module(where.partition(":")[0])


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
