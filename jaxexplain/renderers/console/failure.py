"""Text rendering of a failed trace: the user's line, why it fails, and the fixes tried; a
trace report and either side of a diff show it the same way."""

from __future__ import annotations

from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from jaxexplain.renderers.console.common import CodeBlock, Section, heading
from jaxexplain.renderers.words import (
    FIXES_DETAIL,
    LEAKED_AT,
    NOT_VERIFIED,
    VERIFIED,
    checks_text,
    cost_text,
    error_dependencies_text,
    location,
    raised_by_text,
    source_location,
)
from jaxexplain.report import ErrorInfo, Suggestion


def error_sections(error: ErrorInfo) -> list[Section]:
    """The failure first: the user's line, why it fails, what it came from, and the fixes tried."""
    out: list[Section] = [heading("Tracing failed", error.type)]
    body = Text()
    if error.file:
        where = location(error.file, error.line)
        body.append(where, style="bold")
        if error.source:
            body.append("   ")
            body.append(error.source, style="yellow")
            if error.column is not None and error.end_column is not None:
                width = max(1, error.end_column - error.column)
                body.append("\n" + " " * (len(where) + 3 + error.column))
                body.append("^" * width, style="bold red")
        body.append("\n")
    if error.explanation:
        body.append(error.explanation + "\n")
    if error.created_at:
        body.append(f"{LEAKED_AT} ", style="dim")
        body.append(f"{source_location(error.created_at)}\n", style="bold")
    if error.depends_on:
        body.append("depends on: ", style="dim")
        body.append(error_dependencies_text(error))
        body.append("\n")
    body.append(f"{raised_by_text(error)}: ", style="dim")
    body.append(error.message.splitlines()[0] if error.message else "", style="dim")
    out.append(Padding(body, (0, 0, 0, 2)))
    if error.suggestions:
        out.append(heading("Fixes", FIXES_DETAIL))
        for suggestion in error.suggestions:
            out += suggestion_rows(suggestion)
    return out


def suggestion_rows(suggestion: Suggestion) -> list[Section]:
    """One fix: verified, tried and not verified, or advice; its code and what it costs."""
    if suggestion.verified:
        marker = Text(f"✓ {VERIFIED}", style="bold green")
    elif suggestion.kind == "advice":
        marker = Text("•", style="bold")
    else:
        marker = Text(f"✗ {NOT_VERIFIED}", style="bold red")
    row = Table.grid(padding=(0, 2))
    row.add_column(no_wrap=True)
    row.add_column(overflow="fold")
    row.add_row(marker, Text(suggestion.text))
    out: list[Section] = [Padding(row, (0, 0, 0, 2))]
    if suggestion.code:
        out.append(CodeBlock(suggestion.code, indent=6))
    if suggestion.cost:
        out.append(Padding(Text(cost_text(suggestion), style="dim"), (0, 0, 0, 6)))
    if suggestion.verified and suggestion.checks:
        out.append(Padding(Text(checks_text(suggestion), style="dim"), (0, 0, 0, 6)))
    return out
