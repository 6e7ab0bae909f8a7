"""What grows a jit cache without a recompile reason: a function, or an identity-compared static,
built anew per step; named with the line that builds it and checked before it is recommended.

Each compile of a function object JAX had not seen (`jax.jit(lambda ...)` in a loop) or of a new
identity-compared static (an optimizer, a module made per call) is a new cache entry. When the
new entry's cache key equals an earlier one apart from that object, and JAX traced the same
program for both, one jitted function (or one object built once) would have served every call:
that is the check behind `verified`.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from jaxexplain import _jax_compat
from jaxexplain._source_ast import load_source
from jaxexplain.renderers.words import build_once_text, jit_once_text
from jaxexplain.report import Recommendation, WatchEvent, WatchWarning
from jaxexplain.userfiles import is_user_file


@dataclass(frozen=True)
class BuildSite:
    """Where an object was built: `how` is "definition" (a lambda's or closure's own code line),
    "assignment" (the line that assigned the local the call passed), or "call" (the call site:
    the line itself is known, not the expression that built the object)."""

    file: str
    line: int
    how: str
    detail: str = ""


def program_digest(observation_params: Any) -> str:
    """A digest of the jaxpr JAX traced for the call: equal programs, equal digests."""
    text = str(_jax_compat.pjit_params_jaxpr(observation_params))
    return hashlib.sha1(text.encode()).hexdigest()


def function_build_site(fun: Any, call_site: str) -> BuildSite:
    """Where a jitted function object is made: a lambda's or closure's code line (evaluated anew
    each time the enclosing code runs), else the call site (a partial keeps no line)."""
    code = getattr(fun, "__code__", None)
    if not isinstance(fun, functools.partial) and code is not None:
        nested = "<locals>" in getattr(fun, "__qualname__", "") or code.co_name == "<lambda>"
        if nested:
            kind = "lambda" if code.co_name == "<lambda>" else "closure"
            return BuildSite(code.co_filename, code.co_firstlineno, "definition", kind)
    file, _, line = call_site.rpartition(":")
    kind = "partial" if isinstance(fun, functools.partial) else "function"
    return BuildSite(file, int(line) if line.isdigit() else 0, "call", kind)


def static_build_site(frame: FrameType | None, value: Any, call_site: str) -> BuildSite:
    """The line that assigned the user's local variable holding `value` (the very object, by
    identity) in the calling frame, else the call site."""
    while frame is not None and not is_user_file(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is not None:
        for name, held in frame.f_locals.items():
            if held is value:
                line = _assignment_line(frame, name)
                if line:
                    return BuildSite(frame.f_code.co_filename, line, "assignment", name)
    file, _, number = call_site.rpartition(":")
    return BuildSite(file, int(number) if number.isdigit() else 0, "call")


def _assignment_line(frame: FrameType, name: str) -> int:
    """The last line before the frame's current line, inside its function, that assigns `name`."""
    source = load_source(frame.f_code.co_filename, frame.f_globals)
    if source is None:
        return 0
    first, now = frame.f_code.co_firstlineno, frame.f_lineno
    lines = [
        node.lineno
        for node in ast.walk(source.tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign))
        and first <= node.lineno <= now
        and name in _assigned_names(node)
    ]
    return max(lines, default=0)


def _assigned_names(node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


@dataclass
class Growth:
    """Per compile event (by index): its program digest and where its new object was built."""

    digests: dict[int, str]
    functions: dict[int, BuildSite]
    statics: dict[tuple[int, str], BuildSite]

    def recommendations(self, events: Sequence[WatchEvent]) -> tuple[Recommendation, ...]:
        """jit_once per function renewed more than once, build_once per identity static."""
        return tuple(self._jit_once(events)) + tuple(self._build_once(events))

    def _jit_once(self, events: Sequence[WatchEvent]) -> list[Recommendation]:
        out = []
        for name, group in _by_function(events).items():
            renewed = [e for e in group if _has_reason(e, "function", "object")]
            sites = [self.functions[e.index] for e in renewed if e.index in self.functions]
            if not renewed or not sites:
                continue
            verified = all(
                _only_changes(e, {("function", "object")}) and self._same_program(e, group)
                for e in renewed
            )
            site = sites[-1]
            out.append(
                Recommendation(
                    function=name,
                    kind="jit_once",
                    text=jit_once_text(name, len(renewed) + 1, site, verified),
                    verified=verified,
                    checks=("same_key", "same_program") if verified else (),
                    file=site.file,
                    line=site.line,
                )
            )
        return out

    def _build_once(self, events: Sequence[WatchEvent]) -> list[Recommendation]:
        out = []
        for name, group in _by_function(events).items():
            for root in dict.fromkeys(r for (i, r) in self.statics if _index_in(i, group)):
                renewed = [e for e in group if (e.index, root) in self.statics]
                verified = all(self._only_static_renewed(e, root, group) for e in renewed)
                site = self.statics[(renewed[-1].index, root)]
                out.append(
                    Recommendation(
                        function=name,
                        kind="build_once",
                        text=build_once_text(name, root, len(renewed) + 1, site, verified),
                        verified=verified,
                        checks=("same_key", "same_program") if verified else (),
                        params=(root,),
                        file=site.file,
                        line=site.line,
                    )
                )
        return out

    def _only_static_renewed(
        self, event: WatchEvent, root: str, group: Sequence[WatchEvent]
    ) -> bool:
        """Some earlier entry differs from the event only in the static `root` (or its parts)
        and JAX traced the same program for both."""
        entries = {e.compile_number: e for e in group}
        digest = self.digests.get(event.index)
        for number in dict.fromkeys(r.entry for r in event.reasons):
            changes = [r for r in event.reasons if r.entry == number]
            if (
                all(r.component == "static" and _under(r.path, root) for r in changes)
                and number in entries
                and digest is not None
                and self.digests.get(entries[number].index) == digest
            ):
                return True
        return False

    def _same_program(self, event: WatchEvent, group: Sequence[WatchEvent]) -> bool:
        """The event traced the same program as the earlier entry its reasons compare with."""
        entries = {e.compile_number: e for e in group}
        against = {r.entry for r in event.reasons}
        digest = self.digests.get(event.index)
        return bool(against) and all(
            digest is not None and n in entries and self.digests.get(entries[n].index) == digest
            for n in against
        )


def deduplicated(
    warnings: Sequence[WatchWarning], recommendations: Sequence[Recommendation]
) -> tuple[WatchWarning, ...]:
    """Warnings less those a recommendation says: a new function object (jit_once), an
    identity-compared static (build_once)."""
    said = {(r.function, "new_function", "") for r in recommendations if r.kind == "jit_once"}
    said |= {
        (r.function, "identity", p)
        for r in recommendations
        if r.kind == "build_once"
        for p in r.params
    }
    return tuple(w for w in warnings if (w.function, w.kind, w.path) not in said)


def _by_function(events: Sequence[WatchEvent]) -> dict[str, list[WatchEvent]]:
    grouped: dict[str, list[WatchEvent]] = {}
    for event in events:
        if event.kind == "jit":
            grouped.setdefault(event.function, []).append(event)
    return grouped


def _index_in(index: int, group: Sequence[WatchEvent]) -> bool:
    return any(e.index == index for e in group)


def _has_reason(event: WatchEvent, component: str, path: str) -> bool:
    return any((r.component, r.path) == (component, path) for r in event.reasons)


def _only_changes(event: WatchEvent, allowed: set[tuple[str, str]]) -> bool:
    return all((r.component, r.path) in allowed for r in event.reasons)


def _under(path: str, root: str) -> bool:
    """`path` is the static `root` itself or a part of it (`tx.init`, `shape[1]`)."""
    return path == root or path.startswith((f"{root}.", f"{root}["))
