"""jaxexplain's own record of each entry of JAX's persistent compilation cache.

JAX's LRU cache owns its directory (it counts, evicts and locks the files there), so the records
live elsewhere: under `$JAXEXPLAIN_RECORD_DIR`, else `$XDG_CACHE_HOME/jaxexplain/disk-keys` (or
`~/.cache/...`), in a folder per cache directory (a digest of its absolute path). One JSON file
per key holds the parts' digests and readable values; the StableHLO of a computation is kept
once per computation digest, compressed. Every file is written to a temporary name and renamed,
so several processes can write at once and a reader never sees half a record.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jaxexplain.caching.stablehlo import Program

RECORD_DIR_ENV = "JAXEXPLAIN_RECORD_DIR"


@dataclass(frozen=True)
class DiskRecord:
    """What jaxexplain knew about one disk entry when it was written (or first served)."""

    module: str
    key: str
    parts: dict[str, str]
    readable: dict[str, str]
    written_ns: int


def records_root() -> Path:
    """The folder that holds the records of every cache directory."""
    override = os.environ.get(RECORD_DIR_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jaxexplain" / "disk-keys"


def records_dir(cache_dir: str) -> Path:
    """The records of one cache directory: apart from it, named by its absolute path's digest."""
    digest = hashlib.sha256(os.path.abspath(cache_dir).encode()).hexdigest()[:24]
    return records_root() / digest


def save(folder: Path, record: DiskRecord, program: Program) -> None:
    """Writes a record, and the StableHLO of its computation unless already kept (raises OSError)."""
    (folder / "keys").mkdir(parents=True, exist_ok=True)
    (folder / "programs").mkdir(parents=True, exist_ok=True)
    program_path = _program_path(folder, record.parts.get("computation", ""))
    if not program_path.exists():
        payload = json.dumps({"lines": program.lines, "where": program.where}).encode()
        _write_atomic(program_path, zlib.compress(payload))
    document = {
        "module": record.module,
        "key": record.key,
        "parts": record.parts,
        "readable": record.readable,
        "written_ns": record.written_ns,
    }
    _write_atomic(folder / "keys" / f"{record.key}.json", json.dumps(document).encode())


def new_record(
    module: str, key: str, parts: dict[str, str], readable: dict[str, str]
) -> DiskRecord:
    """A record stamped now (records of one module are ordered by this time)."""
    return DiskRecord(module, key, dict(parts), dict(readable), time.time_ns())


def has_record(folder: Path, key: str) -> bool:
    """True when a record of `key` exists."""
    return (folder / "keys" / f"{key}.json").exists()


def records_of(folder: Path, module: str) -> list[DiskRecord]:
    """Every readable record of a module name (unreadable or foreign files are skipped)."""
    keys = folder / "keys"
    if not keys.is_dir():
        return []
    found = []
    for path in keys.glob(f"{module}-*.json"):
        record = _read_record(path)
        if record is not None and record.module == module:
            found.append(record)
    return found


def _read_record(path: Path) -> DiskRecord | None:
    try:
        document: dict[str, Any] = json.loads(path.read_bytes())
        return DiskRecord(
            str(document["module"]),
            str(document["key"]),
            dict(document["parts"]),
            dict(document["readable"]),
            int(document["written_ns"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def program_of_record(folder: Path, record: DiskRecord) -> Program | None:
    """The StableHLO kept for a record's computation, None if it is gone or unreadable."""
    try:
        payload = json.loads(
            zlib.decompress(_program_path(folder, record.parts["computation"]).read_bytes())
        )
        return Program(tuple(payload["lines"]), tuple(payload["where"]))
    except (OSError, ValueError, KeyError, TypeError, zlib.error):
        return None


def _program_path(folder: Path, computation: str) -> Path:
    return folder / "programs" / f"{computation or 'unknown'}.json.z"


def _write_atomic(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        _remove_temporary(temporary)
        raise


def _remove_temporary(path: str) -> None:
    """Removes a temporary file left by a failed write, if it is still there."""
    try:
        os.unlink(path)
    except OSError:
        return
