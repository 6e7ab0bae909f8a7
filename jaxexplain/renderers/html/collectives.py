"""The collectives of a compiled SPMD program in HTML: per source line, then each one."""

from __future__ import annotations

from jaxexplain.renderers.html.page import code, esc, table, tag
from jaxexplain.renderers.words import (
    collective_kinds_text,
    collective_where,
    collectives_heading_text,
    human_bytes,
)
from jaxexplain.report import CompileInfo


def collectives_html(info: CompileInfo) -> str:
    """Two tables inside the compile section; each row carries its source line (`data-src`,
    as the source listing's lines do), nothing for a program without collectives."""
    if not info.collectives:
        return ""
    per_line = table(
        ("source line", "bytes per device", "collectives"),
        (
            (
                code(collective_where(line.file, line.line)),
                esc(human_bytes(line.bytes)),
                esc(collective_kinds_text(line.kinds)),
            )
            for line in info.collective_lines
        ),
    )
    each = table(
        ("kind", "bytes per device", "replica groups", "equation", "source line"),
        (
            (
                esc(c.kind),
                esc(human_bytes(c.bytes)),
                code(c.replica_groups),
                code(c.op_name),
                tag("span", esc(collective_where(c.file, c.line)), data_src=f"{c.file}:{c.line}"),
            )
            for c in info.collectives
        ),
    )
    heading = tag("h3", esc("Collectives") + " " + esc(collectives_heading_text(info.collectives)))
    return tag("div", heading + per_line + each, class_="collectives")
