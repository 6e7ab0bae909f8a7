"""Targets for the verification tests: a function with two possible statics, and one whose
trace can be made to fail after the reports were made."""

from __future__ import annotations

from typing import Any

REFUSE_TO_TRACE = {"now": False}


def scale_or_shift(x: Any, scale: int = 1, shift: int = 0) -> Any:
    return x * scale + shift


def traces_until_refused(x: Any) -> Any:
    if REFUSE_TO_TRACE["now"]:
        raise RuntimeError("refusing to trace again")
    return x + 1


def weighted(scale: int, x: Any, y: Any) -> Any:
    return scale * x + y
