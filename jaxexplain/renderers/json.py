"""JSON renderer: the report's versioned document, with the derived facts a reader needs.

The document is the model (`report.to_dict`), so it loads back with `from_dict`; a trace or
diff document adds a `views` key with what `jaxexplain.views` derives from it (the loops that
unrolled and their cost, the statics that decided most), which loading leaves aside. Timings
are rounded to the microsecond; a stable document (`--stable`) leaves them out.
"""

from __future__ import annotations

import json
from typing import Any

from jaxexplain.report import (
    DiffReport,
    ErrorReport,
    SweepReport,
    TraceReport,
    WatchMerge,
    WatchReport,
    to_dict,
)
from jaxexplain.timings import json_timings
from jaxexplain.views import diff_views, trace_views


def render_trace(
    report: TraceReport, *, color: bool = False, width: int = 100, stable: bool = False
) -> str:
    """A trace report as indented JSON, its views last (colors and width do not apply)."""
    return _document({**to_dict(report), "views": trace_views(report)}, stable)


def render_diff(
    report: DiffReport, *, color: bool = False, width: int = 100, stable: bool = False
) -> str:
    """A diff report as indented JSON, each side's views last (colors and width do not apply)."""
    return _document({**to_dict(report), "views": diff_views(report)}, stable)


def render_watch(
    report: WatchReport, *, color: bool = False, width: int = 100, stable: bool = False
) -> str:
    """A watch report as indented JSON (colors and width do not apply)."""
    return _document(to_dict(report), stable)


def render_sweep(
    report: SweepReport, *, color: bool = False, width: int = 100, stable: bool = False
) -> str:
    """A sweep report as indented JSON (colors and width do not apply)."""
    return _document(to_dict(report), stable)


def render_merge(
    report: WatchMerge, *, color: bool = False, width: int = 100, stable: bool = False
) -> str:
    """A watch merge as indented JSON (colors and width do not apply)."""
    return _document(to_dict(report), stable)


def render_error(
    report: ErrorReport, *, color: bool = False, width: int = 100, stable: bool = False
) -> str:
    """A run that ended before its report, as its command's document (colors and width do not
    apply)."""
    return _document(to_dict(report), stable)


def _document(data: dict[str, Any], stable: bool) -> str:
    return json.dumps(json_timings(data, stable=stable), indent=2)
