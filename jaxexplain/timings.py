"""Which facts of a JSON document are timings: rounded to the microsecond, and left out by
`--stable`, so that two runs of the same code give the same document for CI to diff.

A timing is a field named `seconds`, `time`, or with `seconds` among its words
(`compile_seconds`, `seconds_saved`, `compile_seconds_now`), and a compile figure measured in
seconds (a diff's `compile_changes` row with unit "s"). The schema leaves timings unrequired.
"""

from __future__ import annotations

from typing import Any

MICROSECOND_DIGITS = 6
SECONDS_UNIT = "s"


def is_timing(field: str) -> bool:
    """True for a field that holds measured seconds."""
    return field == "time" or "seconds" in field.split("_")


def is_timing_figure(item: Any) -> bool:
    """True for a compared figure (`FigureChange`) measured in seconds."""
    return isinstance(item, dict) and item.get("unit") == SECONDS_UNIT and "a" in item


def json_timings(data: Any, *, stable: bool = False) -> Any:
    """`data` (plain JSON values) with every timing rounded to the microsecond, or left out
    where `stable`."""
    if isinstance(data, dict):
        if is_timing_figure(data):
            return {k: _rounded(v) if k in ("a", "b") else v for k, v in data.items()}
        return {
            key: _rounded(value) if is_timing(key) else json_timings(value, stable=stable)
            for key, value in data.items()
            if not (stable and is_timing(key))
        }
    if isinstance(data, list):
        return [
            json_timings(item, stable=stable)
            for item in data
            if not (stable and is_timing_figure(item))
        ]
    return data


def _rounded(value: Any) -> Any:
    return round(value, MICROSECOND_DIGITS) if isinstance(value, float) else value
