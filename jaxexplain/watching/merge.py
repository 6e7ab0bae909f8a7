"""The watch reports of the processes of one `jax.distributed` run, lined up per function.

In SPMD every process must compile and run the same programs in the same order: a collective
that one process runs and another never does waits forever. The n-th compilation of each
function is compared across processes by its cache-key digest; a process that compiled one the
others did not (a smaller last batch on one host, a host-local flag), or compiled another key
there, is a divergence, with the key components behind it. Nothing here imports JAX: saved
reports are merged anywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from jaxexplain.errors import UsageError
from jaxexplain.renderers.words import (
    duplicate_process_note,
    process_count_note,
    unreadable_watch_text,
)
from jaxexplain.report import (
    Divergence,
    MergedFunction,
    MergedProcess,
    WatchEvent,
    WatchMerge,
    WatchReason,
    WatchReport,
)
from jaxexplain.tracing.key_compare import compare_keys
from jaxexplain.views import reasons_by_entry

# A process that has no n-th compilation of a function: its place in the line-up.
ABSENT = None


def load_watch(path: str) -> WatchReport:
    """One watch document from a file; anything else is a usage error that names the file."""
    import json

    try:
        with open(path, encoding="utf-8") as stream:
            return WatchReport.from_dict(json.load(stream))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise UsageError(unreadable_watch_text(path, exc)) from None


def merge_files(paths: Sequence[str]) -> WatchMerge:
    """The merge of the watch documents at `paths` (one per process)."""
    return merge_reports([(path, load_watch(path)) for path in paths])


def merge_reports(reports: Sequence[tuple[str, WatchReport]]) -> WatchMerge:
    """Lines up the processes' jit compilations per function and flags every divergence.

    A report's process is the index its document carries, else its place in `reports`."""
    indexed = [
        (report.process.index if report.process else place, file, report)
        for place, (file, report) in enumerate(reports)
    ]
    indexed.sort(key=lambda item: item[0])
    compiles = {index: _jit_events(report) for index, _, report in indexed}
    names = list(dict.fromkeys(e.function for events in compiles.values() for e in events))
    per_function = {
        name: {
            index: [e for e in events if e.function == name] for index, events in compiles.items()
        }
        for name in names
    }
    return WatchMerge(
        processes=tuple(_merged_process(index, file, report) for index, file, report in indexed),
        functions=tuple(
            MergedFunction(name, {str(i): len(events) for i, events in lined.items()})
            for name, lined in per_function.items()
        ),
        divergences=tuple(
            divergence
            for name, lined in per_function.items()
            for divergence in function_divergences(name, lined)
        ),
        notes=_notes(indexed),
    )


def _jit_events(report: WatchReport) -> list[WatchEvent]:
    """The compilations that make SPMD programs: jit's, not eager primitives or transforms."""
    return [e for e in report.events if e.kind == "jit"]


def _merged_process(index: int, file: str, report: WatchReport) -> MergedProcess:
    return MergedProcess(
        process=index,
        file=file,
        compiles=len(_jit_events(report)),
        count=report.process.count if report.process else None,
        program=report.program,
        exit_code=report.exit_code,
    )


def _notes(indexed: list[tuple[int, str, WatchReport]]) -> tuple[str, ...]:
    """Reports that cannot be one run's processes: a process twice, or counts that disagree
    with the number of reports given."""
    notes = []
    seen = Counter(index for index, _, _ in indexed)
    notes += [duplicate_process_note(index) for index, times in seen.items() if times > 1]
    counts = {r.process.count for _, _, r in indexed if r.process}
    if counts and counts != {len(indexed)}:
        notes.append(process_count_note(sorted(counts), len(indexed)))
    return tuple(notes)


def function_divergences(function: str, lined: dict[int, list[WatchEvent]]) -> list[Divergence]:
    """Every place where the processes' n-th compilations of `function` are not all one key."""
    found: list[Divergence] = []
    for number in range(max(len(events) for events in lined.values())):
        at = {i: events[number] if number < len(events) else ABSENT for i, events in lined.items()}
        found += _divergences_at(function, number + 1, at, lined)
    return found


def _digest(event: WatchEvent | None) -> str | None:
    if event is None:
        return None
    return event.key.digest if event.key is not None else f"event {event.index}"


def _divergences_at(
    function: str,
    number: int,
    at: dict[int, WatchEvent | None],
    lined: dict[int, list[WatchEvent]],
) -> list[Divergence]:
    """The processes outside the most common outcome at one place (ties: the lowest process's)."""
    groups: dict[str | None, list[int]] = {}
    for index, event in at.items():
        groups.setdefault(_digest(event), []).append(index)
    if len(groups) == 1:
        return []
    reference = max(groups, key=lambda digest: (len(groups[digest]), -min(groups[digest])))
    agreeing = groups[reference]
    found = []
    for digest, members in groups.items():
        if digest == reference:
            continue
        others = tuple(i for i in at if i not in members)
        for index in members:
            event = at[index]
            if event is None:
                found.append(Divergence(function, index, number, "missing", others=tuple(agreeing)))
            elif reference is None:
                found.append(_extra(function, number, index, event, others, lined[index]))
            else:
                reference_event = at[agreeing[0]]
                found.append(
                    _different(
                        function, number, index, event, reference_event, others, lined[index]
                    )
                )
    return found


def _extra(
    function: str,
    number: int,
    index: int,
    event: WatchEvent,
    others: tuple[int, ...],
    own: list[WatchEvent],
) -> Divergence:
    """A compilation the others never made: its reasons against this process's earlier ones."""
    return Divergence(
        function,
        index,
        number,
        "extra",
        reasons=nearest_reasons(event.reasons),
        others=others,
        call_site=event.call_site,
        last=event is own[-1],
    )


def nearest_reasons(reasons: Sequence[WatchReason]) -> tuple[WatchReason, ...]:
    """The differences from the earlier entry that differs least (a watch event lists them
    against each earlier entry of the function)."""
    groups = reasons_by_entry(reasons)
    return min((tuple(group) for _, group in groups), key=len) if groups else ()


def _different(
    function: str,
    number: int,
    index: int,
    event: WatchEvent,
    reference: WatchEvent | None,
    others: tuple[int, ...],
    own: list[WatchEvent],
) -> Divergence:
    """A compilation of another key than the others' at the same place: what differs from theirs."""
    reasons = nearest_reasons(event.reasons)
    if reference is not None and reference.key is not None and event.key is not None:
        reasons = tuple(
            WatchReason(c.component, c.path, c.a, c.b)
            for c in compare_keys(reference.key, event.key)
        )
    return Divergence(
        function,
        index,
        number,
        "different",
        reasons=reasons,
        others=others,
        call_site=event.call_site,
        last=event is own[-1],
    )
