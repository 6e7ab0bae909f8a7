"""Which process of a `jax.distributed` run is being watched, and the report file it writes.

Each process of a multi-host run runs its own `jaxexplain watch`; the reports must not overwrite
one another, and `jaxexplain merge` must know which process each came from.
"""

from __future__ import annotations

from pathlib import Path

from jaxexplain import _jax_compat
from jaxexplain.report import ProcessInfo


def process_info() -> ProcessInfo | None:
    """The watched program's process in its `jax.distributed` run; None for a single process."""
    found = _jax_compat.distributed_process()
    return ProcessInfo(index=found[0], count=found[1]) if found else None


def per_process_output(output: str, process: ProcessInfo | None) -> str:
    """`watch.json` as process 1 of a distributed run writes it: `watch.p1.json`, so that each
    process's report has its own file (a single process keeps the name it was given)."""
    if process is None or output == "-":
        return output
    path = Path(output)
    return str(path.with_name(f"{path.stem}.p{process.index}{path.suffix}"))
