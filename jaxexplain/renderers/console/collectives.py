"""The collectives section of a trace report: the SPMD program's communication, per source line."""

from __future__ import annotations

from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from jaxexplain.renderers.console.common import heading
from jaxexplain.renderers.words import (
    collective_changes_text,
    collective_kinds_text,
    collective_text,
    collective_where,
    collectives_heading_text,
    human_bytes,
)
from jaxexplain.report import CompileInfo, DiffReport
from jaxexplain.tracing.collectives import collective_changes


def collective_sections(info: CompileInfo) -> list[RenderableType]:
    """Per user line: how many collectives, of which kinds, how many bytes; then each one with
    its replica groups and the jaxpr equation it came from. Nothing for a program without any."""
    if not info.collectives:
        return []
    lines = Table.grid(padding=(0, 2))
    for column in ("bold", None, None):
        lines.add_column(style=column)
    for line in info.collective_lines:
        lines.add_row(
            collective_where(line.file, line.line),
            human_bytes(line.bytes),
            collective_kinds_text(line.kinds),
        )
    each = Table.grid(padding=(0, 2))
    for _ in range(5):
        each.add_column()
    for c in info.collectives:
        each.add_row(
            c.kind,
            human_bytes(c.bytes),
            c.replica_groups,
            c.op_name,
            collective_where(c.file, c.line),
        )
    return [
        heading("Collectives", collectives_heading_text(info.collectives)),
        Padding(lines, (0, 0, 0, 2)),
        Padding(each, (1, 0, 0, 2)),
    ]


def collective_diff_sections(report: DiffReport) -> list[RenderableType]:
    """The collectives one side's compiled program does and the other's does not."""
    a, b = report.a.compile, report.b.compile
    if a is None or b is None:
        return []
    added, removed = collective_changes(a.collectives, b.collectives)
    if not (added or removed):
        return []
    lines = collective_changes_text(
        [collective_text(c) for c in added], [collective_text(c) for c in removed]
    )
    out: list[RenderableType] = [
        heading("Collectives", f"{len(added)} added, {len(removed)} removed")
    ]
    return out + [Text(f"  {line}") for line in lines]
