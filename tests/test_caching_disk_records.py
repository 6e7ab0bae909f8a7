"""jaxexplain's own records of the persistent cache's entries: written atomically apart from
JAX's directory, read back as written, and what a folder that cannot be written does. The
parts and StableHLO come from real compiles (in a subprocess: JAX reads its cache settings once
per process)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from disk_runs import disk_compiles

from jaxexplain.caching import disk_records
from jaxexplain.caching.stablehlo import program_of


@pytest.fixture(scope="module")
def compiles(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Three compiles of `sin(x) * scale`: scales 2 and 3, then 2 again (served from disk)."""
    return disk_compiles(tmp_path_factory.mktemp("compiles"), [2.0, 3.0, 2.0])


def record_of(compile: dict[str, Any]) -> disk_records.DiskRecord:
    return disk_records.new_record(
        compile["module_name"], compile["key"], compile["parts"], compile["readable"]
    )


def test_the_records_live_apart_from_jaxs_directory_one_folder_per_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(disk_records.RECORD_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert disk_records.records_root() == tmp_path / "xdg" / "jaxexplain" / "disk-keys"
    monkeypatch.setenv(disk_records.RECORD_DIR_ENV, str(tmp_path / "records"))
    monkeypatch.chdir(tmp_path)
    one = disk_records.records_dir("cache")
    assert one == disk_records.records_dir(str(tmp_path / "cache"))
    assert one.parent == tmp_path / "records"
    assert one != disk_records.records_dir(str(tmp_path / "other"))


def test_a_record_reads_back_as_written_with_its_program(
    tmp_path: Path, compiles: list[dict[str, Any]]
) -> None:
    first = compiles[0]
    record = record_of(first)
    program = program_of(first["module_text"])
    disk_records.save(tmp_path, record, program)
    assert disk_records.has_record(tmp_path, first["key"])
    assert disk_records.records_of(tmp_path, first["module_name"]) == [record]
    assert disk_records.program_of_record(tmp_path, record) == program
    assert record.parts == first["parts"] and "computation" in record.parts


def test_writes_leave_no_temporary_file_and_a_computation_is_kept_once(
    tmp_path: Path, compiles: list[dict[str, Any]]
) -> None:
    two, three, two_again = compiles
    assert two_again["hit"] and two_again["key"] == two["key"]
    for compile in (two, three, two_again):
        disk_records.save(tmp_path, record_of(compile), program_of(compile["module_text"]))
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == sorted(
        {f"{two['key']}.json", f"{three['key']}.json"}
    )
    programs = sorted(p.name for p in (tmp_path / "programs").iterdir())
    computations = {two["parts"]["computation"], three["parts"]["computation"]}
    assert programs == sorted(f"{c}.json.z" for c in computations)


def test_unreadable_and_foreign_files_are_skipped(
    tmp_path: Path, compiles: list[dict[str, Any]]
) -> None:
    first = compiles[0]
    record = record_of(first)
    disk_records.save(tmp_path, record, program_of(first["module_text"]))
    (tmp_path / "keys" / f"{first['module_name']}-broken.json").write_text("{not json")
    (tmp_path / "keys" / f"{first['module_name']}-other.json").write_text('{"module": "x"}')
    assert disk_records.records_of(tmp_path, first["module_name"]) == [record]
    assert disk_records.records_of(tmp_path / "absent", first["module_name"]) == []


def test_a_lost_program_reads_as_none(tmp_path: Path, compiles: list[dict[str, Any]]) -> None:
    first = compiles[0]
    record = record_of(first)
    disk_records.save(tmp_path, record, program_of(first["module_text"]))
    for kept in (tmp_path / "programs").iterdir():
        kept.write_bytes(b"not zlib")
    assert disk_records.program_of_record(tmp_path, record) is None


def test_a_folder_that_cannot_be_written_raises_oserror(
    tmp_path: Path, compiles: list[dict[str, Any]]
) -> None:
    first = compiles[0]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OSError):
        disk_records.save(blocker, record_of(first), program_of(first["module_text"]))


def test_a_failed_write_removes_its_temporary_file(
    tmp_path: Path, compiles: list[dict[str, Any]]
) -> None:
    """The record's own name taken by a folder: the rename fails, nothing half-written stays."""
    first = compiles[0]
    (tmp_path / "keys" / f"{first['key']}.json").mkdir(parents=True)
    with pytest.raises(OSError):
        disk_records.save(tmp_path, record_of(first), program_of(first["module_text"]))
    assert [p.name for p in (tmp_path / "keys").iterdir()] == [f"{first['key']}.json"]
    assert not [name for name in os.listdir(tmp_path / "programs") if name.startswith(".tmp-")]
