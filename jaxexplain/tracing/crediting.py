"""Which line of the user's code each jaxpr equation is credited to.

JAX names the innermost frame outside JAX and the standard library, so an equation that optax
makes inside `tx.update(...)` reads as `optax/_src/transform.py:294`: the user cannot find it
in their code, and the line that made the call counts nothing. jaxexplain credits it to the
innermost frame of the user's own code (userfiles.is_user_file) inside the trace, and keeps the
library frame that made it beside that line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

from jaxexplain import _jax_compat
from jaxexplain.userfiles import is_jaxexplain_file, is_user_file, library_path

# `watch` wraps JAX's jit entry points (`watching/hooks.py`); inside a watched program every
# nested `jax.jit` traced by an explanation passes through them, so their frames stand where
# JAX's own would, not where the explanation was called from.
_WATCH_HOOKS = str(Path(__file__).resolve().parent.parent / "watching" / "hooks.py")


@dataclass(frozen=True)
class Credit:
    """Where one equation came from, as "file:line" strings.

    `user` is the innermost frame of the user's code inside the trace (None where there is
    none: a library function traced on its own); `library` is the innermost installed-library
    frame below it, where a library made the equation.
    """

    user: str | None
    library: str | None = None


def credit_of(traceback: Any) -> Credit:
    """The user line and library frame behind an equation's traceback.

    Frames above jaxexplain's own are the caller of the explanation (a test, a notebook cell,
    a watched program's call site), never where an equation came from, so the walk stops there.
    """
    library = None
    for code, lasti in _jax_compat.traceback_code_frames(traceback):
        kind = _frame_kind(code)
        if kind == "caller":
            break
        if kind == "user":
            return Credit(_where(code, lasti), library)
        if kind == "library" and library is None:
            library = _where(code, lasti)
    return Credit(None, library)


def commented_traceback(line: str, regions: Sequence[tuple[int, int, Any]]) -> Any | None:
    """The traceback of the equation whose source comment ends a printed jaxpr line.

    JAX hangs the comment on an equation's ` = `; on a line that holds a one-line nested jaxpr
    (`{ lambda ; a. let b = sin a in (b,) }`) the outer equation's regions surround the inner
    one's, and the first ` = ` is the inner equation's, as is the comment. Equations inlined
    from one `jax.jit` call share one traceback, so regions are told apart by column.
    """
    column = line.find(" = ")
    for start, end, traceback in regions:
        if start <= column < end:
            return traceback
    return None


def uncommented_tracebacks(line: str, regions: Sequence[tuple[int, int, Any]]) -> list[Any]:
    """The tracebacks of the equations printed on a jaxpr line that JAX left uncommented (only
    JAX's frames were on their stack): each region holding an equation's ` = `, which the
    continuation lines of a long equation (`dimension_numbers=...`, `] a b`) do not."""
    return [traceback for start, end, traceback in regions if " = " in line[start:end]]


def _frame_kind(code: CodeType) -> str:
    """ "user", "library" (an installed package other than JAX), "caller" (jaxexplain's own
    frames: everything above them called the explanation), or "" (JAX, the standard library).
    """
    file = code.co_filename
    if file == _WATCH_HOOKS:
        return ""
    if is_jaxexplain_file(file):
        return "caller"
    if is_user_file(file):
        return "user"
    return "library" if library_path(file) is not None else ""


def _where(code: CodeType, lasti: int) -> str:
    return f"{code.co_filename}:{_jax_compat.frame_line(code, lasti)}"
