"""The HTML section of a failed trace: the user's line, why it fails, what it came from, and the
fixes tried; a trace page and either side of a diff page show it the same way."""

from __future__ import annotations

from pygments.lexers.python import PythonLexer

from jaxexplain.renderers.html.page import PAGE, Scope, code, esc, highlight_lines, tag
from jaxexplain.renderers.words import (
    LEAKED_AT,
    NOT_VERIFIED,
    VERIFIED,
    capitalized,
    checks_text,
    cost_text,
    location,
    raised_by_text,
    source_location,
    via_text,
)
from jaxexplain.report import ErrorInfo, Suggestion


def error_section(
    error: ErrorInfo, title: str = "Tracing failed", anchor: str = "error", scope: Scope = PAGE
) -> str:
    """The failure at the user's line, what it depended on, and the fixes (verified or not)."""
    where = ""
    if error.file:
        where = tag(
            "div",
            code(location(error.file, error.line))
            + (" " + tag("code", esc(error.source), class_="culprit") if error.source else ""),
            class_="where",
        )
    origin = raised_by_text(error)
    said = error.message if error.raised_by == "jax" else f"{capitalized(origin)}: {error.message}"
    text = tag("p", esc(error.explanation or said), class_="explanation")
    message = ""
    if error.explanation and error.message:
        summary = "JAX's message" if error.raised_by == "jax" else f"The message ({origin})"
        message = tag("details", tag("summary", summary) + tag("pre", esc(error.message)))
    fixes = "".join(suggestion_html(s) for s in error.suggestions)
    body = (
        where
        + text
        + _created_at(error)
        + _depends(error)
        + (tag("div", fixes, class_="fixes") if fixes else "")
        + message
    )
    return tag(
        "section",
        scope.heading(esc(title) + tag("span", esc(error.type), class_="detail")) + body,
        id=scope.id(anchor),
        class_="failure",
    )


def _created_at(error: ErrorInfo) -> str:
    """Where a leaked tracer was made, which is where the fix goes."""
    if not error.created_at:
        return ""
    return tag("p", esc(capitalized(LEAKED_AT)) + " " + code(source_location(error.created_at)))


def _depends(error: ErrorInfo) -> str:
    if not error.depends_on:
        return ""
    names = ", ".join(f"{code(d.name)} ({esc(via_text(d.via))})" for d in error.depends_on)
    return tag("p", "Depends on " + names, class_="depends")


def suggestion_html(s: Suggestion) -> str:
    """One suggested fix, marked verified only when jaxexplain re-traced with it."""
    mark = (
        tag(
            "span",
            VERIFIED,
            class_="tag good",
            title="jaxexplain re-traced with this fix and it worked",
        )
        if s.verified
        else tag("span", NOT_VERIFIED, class_="tag", title="advice, not re-traced")
    )
    body = tag("span", esc(s.kind), class_="tag kind") + mark + " " + esc(s.text)
    if s.cost:
        body += tag("div", esc(cost_text(s)), class_="cost")
    if s.verified and s.checks:
        body += tag("div", esc(checks_text(s)), class_="cost")
    if s.code:
        body += tag(
            "pre",
            "".join(f"{line}\n" for line in highlight_lines(s.code, PythonLexer())),
            class_="code",
        )
    return tag("div", body, class_="fix")
