"""The watch reports of a jax.distributed run merged: real processes (gloo collectives on
loopback, started and stopped here) watched by `jaxexplain watch`, and in-process watches whose
compile sequences differ, each claim checked against JAX (its compile log, its cache sizes)."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain import _jax_compat
from jaxexplain.report import ProcessInfo, WatchReport
from jaxexplain.watching.merge import load_watch, merge_files, merge_reports
from jaxexplain.watching.processes import per_process_output

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "data_parallel.py"
PROCESSES = 2
RUN_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_processes(out: Path, port: int) -> list[subprocess.Popen[str]]:
    """Each process of the run under its own `jaxexplain watch`, one CPU device each."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JAX_PLATFORMS": "cpu",
        "JAX_LOG_COMPILES": "1",
        "XLA_FLAGS": "",
    }
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jaxexplain",
                "watch",
                "-o",
                str(out / "w.json"),
                "--",
                str(SAMPLE),
                "--processes",
                str(PROCESSES),
                "--process-id",
                str(i),
                "--port",
                str(port),
                "--diverge",
            ],
            cwd=out,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]


@pytest.fixture(scope="module")
def distributed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Runs the sample as 2 processes with --diverge; returns the folder and each stderr."""
    out = tmp_path_factory.mktemp("distributed")
    processes = start_processes(out, free_port())
    logs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
            assert process.returncode == 0, stderr[-3000:]
            logs.append(stdout + stderr)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return out, logs


def xla_compiles(log: str, function: str) -> list[str]:
    """JAX's own compile log: one `Compiling jit(f) with global shapes ...` line per XLA compile."""
    return re.findall(rf"Compiling jit\({function}\) with global shapes and types (.*)", log)


def test_each_process_writes_its_own_report_with_its_process_index(distributed_run) -> None:
    out, logs = distributed_run
    for index, log in enumerate(logs):
        report = load_watch(str(out / f"w.p{index}.json"))
        assert report.process is not None
        assert (report.process.index, report.process.count) == (index, PROCESSES)
        assert f"wrote w.p{index}.json" in log
        assert f"process {index} step 0 loss" in log  # the sample prints jax.process_index()
    assert not (out / "w.json").exists()


def test_merge_flags_the_process_that_compiled_its_last_batch_alone(distributed_run) -> None:
    out, logs = distributed_run
    merged = merge_files([str(out / f"w.p{i}.json") for i in range(PROCESSES)])
    compiled = [xla_compiles(log, "train_step") for log in logs]
    assert len(compiled[1]) == len(compiled[0]) + 1  # JAX: process 1 compiled once more
    assert "float32[17,784]" in compiled[1][-1] and "17" not in " ".join(compiled[0])
    (divergence,) = merged.divergences
    counts = merged.functions[0].compiles
    assert (divergence.function, divergence.kind, divergence.process) == ("train_step", "extra", 1)
    assert divergence.others == (0,) and divergence.last
    assert divergence.compile == counts["1"] == counts["0"] + 1
    shapes = {r.path: (r.before, r.after) for r in divergence.reasons if r.component == "shape"}
    assert shapes["x"] == ("[64, 784]", "[17, 784]")
    assert "process 1 compiled train_step a 3rd time" in str(merged).replace("\n", " ")


def square_sum(x: jax.Array) -> jax.Array:
    return jnp.sum(x * x)


def watched(*sizes: int) -> tuple[WatchReport, int]:
    """A watch of a fresh jit of `square_sum` called with arrays of `sizes`, and JAX's cache size;
    JAX's caches are cleared first, as if each watch ran in a process of its own."""
    jax.clear_caches()
    jitted = jax.jit(square_sum)
    with jaxexplain.watch() as watcher:
        for size in sizes:
            jitted(jnp.ones(size))
    return watcher.report(), _jax_compat.cache_size(jitted)


def test_same_compilations_in_every_process_do_not_diverge() -> None:
    (a, size_a), (b, size_b) = watched(8, 4), watched(8, 4)
    merged = merge_reports([("a.json", a), ("b.json", b)])
    assert merged.ok and not merged.divergences
    assert merged.functions[0].compiles == {"0": size_a, "1": size_b}


def test_another_key_at_the_same_place_is_different_with_what_differs() -> None:
    (a, size_a), (b, size_b) = watched(8, 4), watched(8, 5)
    merged = merge_reports([("a.json", a), ("b.json", b)])
    (divergence,) = merged.divergences
    assert size_a == size_b == divergence.compile == 2
    assert (divergence.kind, divergence.process, divergence.others) == ("different", 1, (0,))
    assert [(r.component, r.path, r.before, r.after) for r in divergence.reasons] == [
        ("shape", "x", "[4]", "[5]")
    ]


def test_a_process_that_did_not_compile_what_the_majority_did_is_missing() -> None:
    (a, size_a), (b, _), (c, size_c) = watched(8, 4), watched(8, 4), watched(8)
    merged = merge_reports([("a", a), ("b", b), ("c", c)])
    (divergence,) = merged.divergences
    assert (divergence.kind, divergence.process, divergence.others) == ("missing", 2, (0, 1))
    assert divergence.compile == size_a == size_c + 1
    assert "their collectives will wait forever for process 2" in str(merged).replace("\n", " ")


def test_reports_that_name_one_process_twice_get_a_note() -> None:
    (a, _) = watched(8)
    zero = dataclasses.replace(a, process=ProcessInfo(0, 3))
    merged = merge_reports([("a", zero), ("b", zero)])
    assert merged.notes == (
        "two reports are process 0: they cannot come from one run",
        "the reports say the run had 3 processes, and 2 were merged",
    )


def test_only_a_distributed_process_renames_its_output() -> None:
    assert per_process_output("out/w.json", None) == "out/w.json"
    assert per_process_output("out/w.json", ProcessInfo(3, 4)) == os.path.join("out", "w.p3.json")
    assert per_process_output("-", ProcessInfo(3, 4)) == "-"
