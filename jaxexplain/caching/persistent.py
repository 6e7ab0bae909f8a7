"""What JAX's persistent compilation cache did for one compile, and why: a `PersistentCache`.

The facts are JAX's own (`_jax_compat.DiskCompile`: its key, its digest of each part, its hit
and write events, the values its write checks used). A miss is compared with the nearest
earlier record of the same module name in jaxexplain's records of that cache directory: the
record with the fewest differing parts, the newest on ties. Records are written for entries
JAX wrote (or served without a record); a record folder that cannot be written adds a note. An
entry JAX found but could not read (truncated by a full disk, not a file) is never replaced by
JAX, whatever its write event says: that compile is "not written", the entry named as the cause.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from jaxexplain import _jax_compat
from jaxexplain.caching import disk_records
from jaxexplain.caching.stablehlo import Program, changed_lines, program_of
from jaxexplain.renderers.words import (
    DISK_ABSENT,
    DISK_NO_EARLIER_RECORD,
    cache_dir_problem,
    disk_record_unwritable,
    not_written_text,
    short_digest,
)
from jaxexplain.report import NotWritten, PersistentCache, PersistentDiffer, PersistentKey


def persistent_of(disk: _jax_compat.DiskCompile) -> PersistentCache:
    """The report of one compile that went through JAX's persistent-cache path."""
    if disk.cache_dir is None or not disk.key:
        return PersistentCache("off", key=disk.key, parts=dict(disk.parts))
    folder = disk_records.records_dir(disk.cache_dir)
    program = program_of(disk.module_text)
    if disk.hit:
        note = _keep_record(folder, disk, program, only_if_new=True)
        return PersistentCache(
            "hit", disk.key, dict(disk.parts), seconds_saved=disk.seconds_saved, note=note
        )
    if disk.read_error and os.path.isdir(disk.cache_dir):
        why = NotWritten(
            "unreadable",
            not_written_text("unreadable", "", "", disk.read_error),
            measured=disk.read_error,
        )
        return PersistentCache("not_written", disk.key, dict(disk.parts), not_written=why)
    differs, against, note = _nearest_differs(folder, disk, program)
    if disk.written:
        note = _keep_record(folder, disk, program, only_if_new=False) or note
        return PersistentCache("miss", disk.key, dict(disk.parts), differs, against, note=note)
    return PersistentCache(
        "not_written",
        disk.key,
        dict(disk.parts),
        differs,
        against,
        not_written=_not_written(disk),
        note=note,
    )


def off() -> PersistentCache:
    """A compile with no cache directory in effect."""
    return PersistentCache("off")


@contextlib.contextmanager
def disk_compiles_here() -> Iterator[list[_jax_compat.DiskCompile]]:
    """The disk-cache facts of the compiles this thread runs inside `with` (none with no cache
    directory in effect: then there is no disk key)."""
    thread = threading.get_ident()
    seen: list[_jax_compat.DiskCompile] = []

    def on_compile(disk: _jax_compat.DiskCompile) -> None:
        if threading.get_ident() == thread:
            seen.append(disk)

    undo = _jax_compat.patch_persistent_cache(on_compile)
    try:
        yield seen
    finally:
        undo()


def persistent_key(disk: _jax_compat.DiskCompile) -> PersistentKey | None:
    """`trace`'s view of its compile's disk key: the key, its parts, and with a cache directory
    in effect whether JAX served it from there, i.e. held it before this compile could write it
    (an entry JAX writes now gets jaxexplain's record too)."""
    if not disk.key or disk.cache_dir is None:
        return None
    if disk.written or disk.hit:
        folder = disk_records.records_dir(disk.cache_dir)
        _keep_record(folder, disk, program_of(disk.module_text), only_if_new=disk.hit)
    return PersistentKey(disk.key, dict(disk.parts), disk.hit, disk.cache_dir)


def _keep_record(
    folder: Path, disk: _jax_compat.DiskCompile, program: Program, only_if_new: bool
) -> str:
    """Saves the record of an entry now on disk; the note to add when the folder refuses."""
    try:
        if only_if_new and disk_records.has_record(folder, disk.key):
            return ""
        record = disk_records.new_record(disk.module_name, disk.key, disk.parts, disk.readable)
        disk_records.save(folder, record, program)
    except OSError as exc:
        return disk_record_unwritable(str(folder), f"{type(exc).__name__}: {exc}")
    return ""


def _nearest_differs(
    folder: Path, disk: _jax_compat.DiskCompile, program: Program
) -> tuple[tuple[PersistentDiffer, ...], str, str]:
    """The parts that differ from the nearest earlier record, that record's key, and a note."""
    try:
        earlier = [
            r for r in disk_records.records_of(folder, disk.module_name) if r.key != disk.key
        ]
    except OSError as exc:
        return (), "", disk_record_unwritable(str(folder), f"{type(exc).__name__}: {exc}")
    if not earlier:
        return (), "", DISK_NO_EARLIER_RECORD
    nearest = min(earlier, key=lambda r: (len(_differing(r.parts, disk.parts)), -r.written_ns))
    differs = tuple(
        _differ(part, nearest, disk, program, folder)
        for part in _differing(nearest.parts, disk.parts)
    )
    return differs, nearest.key, ""


def _differing(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The parts whose digests differ, in the order of JAX's key."""
    names = [*_jax_compat.DISK_KEY_PARTS, *sorted(set(before) | set(after))]
    seen = dict.fromkeys(names)
    return [n for n in seen if before.get(n) != after.get(n)]


def _differ(
    part: str,
    earlier: disk_records.DiskRecord,
    disk: _jax_compat.DiskCompile,
    program: Program,
    folder: Path,
) -> PersistentDiffer:
    """One differing part in readable form; digests where its inputs cannot be read back."""
    if part == "computation":
        before = disk_records.program_of_record(folder, earlier)
        if before is not None:
            removed, added = changed_lines(before, program)
            if removed or added:
                return PersistentDiffer(part, "\n".join(removed), "\n".join(added))
    elif part == "XLA flags":
        a, b = _flag_changes(earlier.readable.get(part, ""), disk.readable.get(part, ""))
        if a != b:
            return PersistentDiffer(part, a, b)
    else:
        a, b = earlier.readable.get(part, ""), disk.readable.get(part, "")
        if a != b:
            return PersistentDiffer(part, a, b)
    return PersistentDiffer(
        part, short_digest(earlier.parts.get(part, "")), short_digest(disk.parts.get(part, ""))
    )


def _flag_changes(before: str, after: str) -> tuple[str, str]:
    """The flags only in the earlier key and only in this one ("absent" for none)."""
    a, b = set(before.split()), set(after.split())
    return " ".join(sorted(a - b)) or DISK_ABSENT, " ".join(sorted(b - a)) or DISK_ABSENT


def _not_written(disk: _jax_compat.DiskCompile) -> NotWritten:
    """Why JAX wrote no entry, with the setting, its value and what this compile measured."""
    reason = _jax_compat.not_written_reason(disk)
    why, setting, value, measured = reason or ("error", "", "", "")
    if why == "no_cache":
        measured = cache_dir_problem(disk.cache_dir or "", _dir_state(disk.cache_dir or ""))
    return NotWritten(
        why, not_written_text(why, setting, value, measured), setting, value, measured
    )


def _dir_state(path: str) -> str:
    """What is wrong with a cache directory JAX could not use: "file", "unwritable", "missing"."""
    if os.path.exists(path) and not os.path.isdir(path):
        return "file"
    if not os.path.exists(path):
        return "missing"
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        return "unwritable"
    return ""
