"""Explains a failed trace at the user's own line rather than in JAX's frames."""

from __future__ import annotations

import linecache
import traceback

from jaxexplain.report import ErrorInfo
from jaxexplain.userfiles import is_user_file


def first_paragraph(message: str) -> str:
    """JAX error messages run long; the first paragraph carries the fact."""
    return message.strip().split("\n\n")[0].strip()


def user_error_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The deepest traceback frame in user code: where the user's line asked for the value."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
    return frames[-1] if frames else None


def error_info(exc: BaseException) -> ErrorInfo:
    """The JAX error class, its first paragraph, and the user's file, line and source text."""
    frame = user_error_frame(exc)
    source = (
        linecache.getline(frame.filename, frame.lineno).strip() if frame and frame.lineno else None
    )
    return ErrorInfo(
        type=type(exc).__name__,
        message=first_paragraph(str(exc)),
        file=frame.filename if frame else None,
        line=frame.lineno if frame else None,
        source=source or None,
    )
