"""Trying fixes: each is a real re-trace, spent from a small budget, and says where it got to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jaxexplain.explain.frames import error_info, first_paragraph, library_site, user_frames
from jaxexplain.explain.wording import TRIED
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import Suggestion
from jaxexplain.tracing.stages import Target, trace_plan

MAX_RETRACES = 6
# The check every verified fix passed: its re-trace traced.
TRACED = "traced"


class Budget:
    """How many more re-traces this explanation may spend (each one is a real trace)."""

    def __init__(self, retraces: int) -> None:
        self.left = retraces

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


@dataclass(frozen=True)
class Attempt:
    """The result of re-tracing with a fix applied: None when tracing succeeded."""

    error: BaseException | None

    @property
    def ok(self) -> bool:
        return self.error is None


def attempt(target: Target, plan: CallPlan) -> Attempt:
    """Traces the plan; the exception, if any, is kept to say where the fix got to."""
    try:
        trace_plan(target, plan)
    except Exception as exc:
        return Attempt(exc)
    return Attempt(None)


def failure_place(exc: BaseException) -> tuple[tuple[str, int] | None, str | None]:
    """Where a trace failed: the user's innermost line and the library line below it (if any).
    A fix gets past a failure when its re-trace fails elsewhere, or not at all."""
    frames = user_frames(exc)
    user = (frames[-1].file, frames[-1].line) if frames else None
    library = library_site(exc)
    return user, library.where if library else None


def where_it_fails(exc: BaseException | None) -> str:
    """`file:line (`source`): Type` for a re-trace that still failed."""
    if exc is None:
        return "nowhere"
    info = error_info(exc)
    where = f"{info.file}:{info.line}" if info.file else "inside JAX"
    source = f" (`{info.source}`)" if info.source else ""
    message = info.message.splitlines()[0].rstrip(".") if info.message else ""
    return f"{where}{source}: {info.type}: {message}"


def short_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {first_paragraph(str(exc)).splitlines()[0].rstrip('.')}"


def proven_first(suggestions: Sequence[Suggestion]) -> tuple[Suggestion, ...]:
    """Verified fixes first; fixes that were tried and failed only when nothing worked."""
    verified = [s for s in suggestions if s.verified]
    advice = [s for s in suggestions if s.kind == "advice" and not s.text.startswith(TRIED)]
    if verified:
        return (*verified, *advice)
    return tuple(suggestions)
