"""The persistent compilation cache explained, over real runs of a program in subprocesses
sharing a temporary cache directory: JAX's entries in that directory are the truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from disk_runs import disk_compiles

from jaxexplain import _jax_compat
from jaxexplain.caching import disk_records
from jaxexplain.caching.persistent import persistent_of
from jaxexplain.caching.stablehlo import program_of
from jaxexplain.renderers.words import DISK_NO_EARLIER_RECORD

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "tests" / "watch_programs" / "disk_cache.py"


def _env(cache: Path, records: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(
        JAX_PLATFORMS="cpu",
        PYTHONPATH=str(ROOT),
        JAX_COMPILATION_CACHE_DIR=str(cache),
        JAXEXPLAIN_RECORD_DIR=str(records),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
    )
    env.update(extra)
    return env


def _watch(
    tmp: Path, cache: Path, **extra: str
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    out = tmp / f"watch-{len(list(tmp.glob('watch-*.json')))}.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jaxexplain",
            "watch",
            "--format",
            "json",
            "-o",
            str(out),
            "--",
            str(PROGRAM),
        ],
        env=_env(cache, tmp / "records", **extra),
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    assert done.returncode == 0, done.stderr
    event = next(e for e in json.loads(out.read_text())["events"] if e["function"] == "scaled_sine")
    return event["persistent"], done


def _entries(cache: Path) -> set[str]:
    return {name for name in os.listdir(cache) if name.startswith("jit_scaled_sine-")}


def _trace(tmp: Path, cache: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jaxexplain",
            "trace",
            f"{PROGRAM}:scaled_sine",
            "--arg",
            "x=f32[3]",
            "--format",
            "json",
        ],
        env=_env(cache, tmp / "records"),
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout)["persistent"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("disk")
    cache = tmp / "cache"
    found: dict[str, Any] = {"trace_before": _trace(tmp, tmp / "fresh")}
    found["first"], _ = _watch(tmp, cache)
    found["entries_first"] = _entries(cache)
    found["trace_after"] = _trace(tmp, cache)
    found["flags"], _ = _watch(tmp, cache, XLA_FLAGS="--xla_cpu_enable_fast_math=true")
    entries = _entries(cache)
    found["again"], _ = _watch(tmp, cache)
    found["entries_again"] = (entries, _entries(cache))
    found["constant"], _ = _watch(tmp, cache, SCALE="3.0")
    return found


def test_a_first_run_writes_an_entry_and_has_no_earlier_record(runs: dict[str, Any]) -> None:
    first = runs["first"]
    assert (
        first["status"] == "miss" and first["note"] == "no earlier record" and not first["differs"]
    )
    assert runs["entries_first"] == {f"{first['key']}-cache"}


def test_a_run_with_another_xla_flag_misses_and_names_the_flag(runs: dict[str, Any]) -> None:
    flags = runs["flags"]
    assert flags["status"] == "miss" and flags["against"] == runs["first"]["key"]
    differ = next(d for d in flags["differs"] if d["part"] == "XLA flags")
    assert (differ["a"], differ["b"]) == ("absent", "--xla_cpu_enable_fast_math=true")
    assert flags["parts"]["computation"] == runs["first"]["parts"]["computation"]


def test_a_run_identical_to_the_first_is_served_from_disk(runs: dict[str, Any]) -> None:
    again = runs["again"]
    before, after = runs["entries_again"]
    assert again["status"] == "hit" and again["key"] == runs["first"]["key"]
    assert before == after and again["seconds_saved"] is not None


def test_a_changed_constant_names_the_stablehlo_line_and_the_users_line(
    runs: dict[str, Any],
) -> None:
    constant = runs["constant"]
    differ = next(d for d in constant["differs"] if d["part"] == "computation")
    assert "dense<3.0" in differ["b"] and "dense<2.0" in differ["a"]
    assert "disk_cache.py:" in differ["b"]
    assert [d["part"] for d in constant["differs"]] == ["computation"]


def test_trace_says_whether_the_directory_holds_the_key(runs: dict[str, Any]) -> None:
    assert runs["trace_before"]["would_hit"] is False
    assert runs["trace_after"]["would_hit"] is True
    assert runs["trace_after"]["key"] == runs["first"]["key"]


def test_the_default_threshold_writes_nothing_and_names_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    persistent, _ = _watch(tmp_path, cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="1")
    why = persistent["not_written"]
    assert persistent["status"] == "not_written" and why["why"] == "compile_time"
    assert (
        why["setting"] == "jax_persistent_cache_min_compile_time_secs" and float(why["value"]) == 1
    )
    assert float(why["measured"]) < 1 and not _entries(cache)


def test_a_cache_directory_that_is_a_file_is_reported_and_the_program_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    persistent, done = _watch(tmp_path, blocker)
    bare = subprocess.run(
        [sys.executable, str(PROGRAM)],
        env=_env(blocker, tmp_path / "r"),
        capture_output=True,
        text=True,
    )
    assert persistent["status"] == "not_written" and persistent["not_written"]["why"] == "no_cache"
    assert "is a file" in persistent["not_written"]["text"]
    assert done.stdout == bare.stdout and done.returncode == bare.returncode == 0


def test_a_record_folder_that_cannot_be_written_adds_a_note(tmp_path: Path) -> None:
    (tmp_path / "records").write_text("")
    persistent, done = _watch(tmp_path, tmp_path / "cache")
    assert persistent["status"] == "miss" and "could not keep its record" in persistent["note"]
    assert done.returncode == 0


# ------------------------------------------------- the nearest earlier record, chosen in-process


@pytest.fixture(scope="module")
def compiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """`sin(x) * scale` compiled over one cache directory: scales 2, 3, 4 in one process, and
    2, 5 in another with an XLA flag set (JAX's facts of each compile, as it computed them)."""
    folder = tmp_path_factory.mktemp("nearest")
    return {
        "plain": disk_compiles(folder, [2.0, 3.0, 4.0]),
        "flag": disk_compiles(folder, [2.0, 5.0], XLA_FLAGS="--xla_cpu_enable_fast_math=true"),
    }


def _seed(compiles: list[dict[str, Any]]) -> None:
    """jaxexplain's records of these compiles, written in this order (the last is the newest)."""
    for compile in compiles:
        folder = disk_records.records_dir(compile["cache_dir"])
        record = disk_records.new_record(
            compile["module_name"], compile["key"], compile["parts"], compile["readable"]
        )
        disk_records.save(folder, record, program_of(compile["module_text"]))


def _nearest(compile: dict[str, Any]) -> tuple[str, list[str], str]:
    found = persistent_of(_jax_compat.DiskCompile(**compile))
    return found.against, [d.part for d in found.differs], found.note


def test_a_function_with_no_record_has_no_earlier_record_never_a_guess(
    compiles: dict[str, list[dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(disk_records.RECORD_DIR_ENV, str(tmp_path))
    assert _nearest(compiles["plain"][1]) == ("", [], DISK_NO_EARLIER_RECORD)


def test_the_nearest_record_has_the_fewest_differing_parts(
    compiles: dict[str, list[dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(disk_records.RECORD_DIR_ENV, str(tmp_path))
    flagged_two, flagged_five = compiles["flag"]
    plain_two = compiles["plain"][0]
    _seed([flagged_two, plain_two])
    assert _nearest(flagged_five) == (flagged_two["key"], ["computation"], "")


def test_of_records_as_near_the_newest_is_chosen(
    compiles: dict[str, list[dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two, three, four = compiles["plain"]
    for order, newest in (([two, three], three), ([three, two], two)):
        monkeypatch.setenv(disk_records.RECORD_DIR_ENV, str(tmp_path / newest["key"]))
        _seed(order)
        assert _nearest(four) == (newest["key"], ["computation"], "")


def test_an_entry_jax_cannot_write_is_not_written_with_the_error(tmp_path: Path) -> None:
    """The entry's name taken by a link into a missing folder: JAX counts the write, then its
    put fails (as on a full disk); the report says so and the program runs as it does alone."""
    cache = tmp_path / "cache"
    first, _ = _watch(tmp_path, cache)
    entry = cache / f"{first['key']}-cache"
    entry.unlink()
    entry.symlink_to(tmp_path / "missing" / "entry")
    persistent, done = _watch(tmp_path, cache)
    bare = subprocess.run(
        [sys.executable, str(PROGRAM)],
        env=_env(cache, tmp_path / "r"),
        capture_output=True,
        text=True,
    )
    assert persistent["key"] == first["key"] and persistent["status"] == "not_written"
    assert persistent["not_written"]["why"] == "error"
    assert "FileNotFoundError" in persistent["not_written"]["text"]
    assert done.stdout == bare.stdout and done.returncode == bare.returncode == 0
    assert "Error writing persistent compilation cache entry" in bare.stderr


def test_an_entry_jax_cannot_read_is_named_and_never_replaced(tmp_path: Path) -> None:
    """The entry's name taken by a folder (as a full disk leaves a truncated file): JAX warns,
    compiles, counts a write and keeps the entry; every later run compiles again."""
    cache = tmp_path / "cache"
    first, _ = _watch(tmp_path, cache)
    entry = cache / f"{first['key']}-cache"
    entry.unlink()
    entry.mkdir()
    runs = [_watch(tmp_path, cache) for _ in range(2)]
    bare = subprocess.run(
        [sys.executable, str(PROGRAM)],
        env=_env(cache, tmp_path / "r"),
        capture_output=True,
        text=True,
    )
    for persistent, done in runs:
        assert persistent["key"] == first["key"] and persistent["status"] == "not_written"
        assert persistent["not_written"]["why"] == "unreadable"
        assert "IsADirectoryError" in persistent["not_written"]["text"]
        assert done.stdout == bare.stdout and done.returncode == bare.returncode == 0
    assert entry.is_dir() and "Error reading persistent compilation cache entry" in bare.stderr


def test_jaxexplains_own_checks_write_nothing_into_the_users_cache(tmp_path: Path) -> None:
    """closure_temperature gets a make_traced check that compiles twice: under watch the cache
    directory holds the entries of the program alone, none of the check's."""
    program = ROOT / "tests" / "watch_programs" / "closure_temperature.py"

    def entries_after(command: list[str], folder: Path) -> list[str]:
        cache = folder / "cache"
        done = subprocess.run(
            [sys.executable, *command, str(program)],
            env=_env(cache, folder / "records"),
            capture_output=True,
            text=True,
            cwd=folder,
        )
        assert done.returncode == 0, done.stderr
        # Counted by module name: a key holds the directory's path (its XLA autotune cache).
        return sorted(name.split("-")[0] for name in os.listdir(cache) if name.endswith("-cache"))

    (tmp_path / "alone").mkdir()
    (tmp_path / "watched").mkdir()
    alone = entries_after([], tmp_path / "alone")
    watched = entries_after(
        ["-m", "jaxexplain", "watch", "-o", "run.json", "--"], tmp_path / "watched"
    )
    assert watched == alone
    report = json.loads((tmp_path / "watched" / "run.json").read_text())
    assert [r["kind"] for r in report["recommendations"]] == ["make_traced"]
