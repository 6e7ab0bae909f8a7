"""Text rendering of a watch merge: the processes, each function's compilations per process,
and every divergence in a sentence."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from jaxexplain.renderers.console.common import (
    Section,
    heading,
    note_text,
    title_text,
    write_sections,
)
from jaxexplain.renderers.words import (
    MERGE_AGREE,
    MERGE_DIVERGENCES_HEADING,
    MERGE_FUNCTION_COLUMN,
    MERGE_FUNCTIONS_HEADING,
    MERGE_PROCESS_COLUMNS,
    MERGE_PROCESSES_HEADING,
    called_at,
    divergence_text,
    merge_summary_text,
)
from jaxexplain.report import WatchMerge
from jaxexplain.userfiles import short_path


def render(report: WatchMerge, *, color: bool = False, width: int = 100) -> str:
    """The merge as text, ANSI-colored when asked, `width` columns wide."""
    return write_sections(merge_sections(report), color=color, width=width)


def merge_sections(report: WatchMerge) -> list[Section]:
    """Title, processes, the per-function line-up, divergences, notes."""
    summary = merge_summary_text(len(report.processes), len(report.divergences))
    program = report.processes[0].program if report.processes else ""
    sections: list[Section] = [title_text("merge", summary, program)]
    sections += [heading(MERGE_PROCESSES_HEADING), processes_table(report)]
    sections += [heading(MERGE_FUNCTIONS_HEADING), functions_table(report)]
    sections.append(heading(MERGE_DIVERGENCES_HEADING, str(len(report.divergences))))
    if not report.divergences:
        sections.append(Text(MERGE_AGREE, style="green"))
    for divergence in report.divergences:
        line = Text("✗ ", style="bold red")
        line.append(divergence_text(divergence))
        if divergence.call_site:
            line.append(f"\n  {called_at(divergence.call_site)}", style="dim")
        sections.append(line)
    sections += [note_text(note) for note in report.notes]
    return sections


def processes_table(report: WatchMerge) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in MERGE_PROCESS_COLUMNS:
        table.add_column(column, justify="left" if column == MERGE_PROCESS_COLUMNS[-1] else "right")
    for p in report.processes:
        exit_code = "" if p.exit_code is None else str(p.exit_code)
        table.add_row(str(p.process), str(p.compiles), exit_code, short_path(p.file))
    return table


def functions_table(report: WatchMerge) -> Table:
    """One row per function, one column per process: the compilations each made."""
    table = Table(box=None, pad_edge=False)
    table.add_column(MERGE_FUNCTION_COLUMN)
    indices = [str(p.process) for p in report.processes]
    for index in indices:
        table.add_column(f"p{index}", justify="right")
    diverged = {d.function for d in report.divergences}
    for fn in report.functions:
        counts = [str(fn.compiles.get(index, 0)) for index in indices]
        style = "red" if fn.function in diverged else ""
        table.add_row(Text(fn.function, style=style), *counts)
    return table
