"""What a text report shows, as the reader asked: no rich or JAX here, the CLI builds it
before either is imported."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Display:
    """What the reader asked to see: the whole jaxpr or its telling parts (`--jaxpr`), only some
    sections (`--sections`, matched within section titles), each section at most so many lines
    (`--max-lines`). The JSON and HTML keep everything whatever this says."""

    jaxpr_full: bool = False
    sections: tuple[str, ...] = ()
    max_lines: int | None = None


# What a report shows unless the reader asks otherwise.
EVERYTHING = Display()
