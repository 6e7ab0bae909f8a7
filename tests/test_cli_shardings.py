"""`--arg`/`--vs` with a placed leaf (`f32[8,128]@P('data',None)`): parsed without JAX, usage
errors with exit 2, and diffs whose verdict JAX's cache size confirms, on 2 devices in-process
and 4 in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jaxexplain.cli import app
from jaxexplain.errors import UsageError
from jaxexplain.inputs.specs import ShardingSpec, parse_array_spec

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

TARGET = textwrap.dedent(
    """
    import jax.numpy as jnp


    def step(x, w):
        return jnp.tanh(x @ w).sum()
    """
)


def test_a_placed_spec_reads_its_partition_and_mesh() -> None:
    spec = parse_array_spec("f32[8,128]@P('data',None)")
    assert spec.shape == (8, 128) and spec.dtype == "float32"
    assert spec.sharding == ShardingSpec(("data", None), (("data", None),))
    two = parse_array_spec("f32[8,8]@P(('data','model'))@data=2,model")
    assert two.sharding == ShardingSpec((("data", "model"),), (("data", 2), ("model", None)))
    assert str(parse_array_spec("f32[8]@P(None)@data")) == "f32[8]@P(None)@data"


@pytest.mark.parametrize(
    "text",
    [
        "f32[8]@Q",
        "f32[8]@P(3)",
        "f32[8,8]@P('data','model')",
        "f32[8]@P(None)",
        "f32[8]@P('data')@model=2",
        "f32[8]@P('data')@data=x",
        "f32[8,8]@P('data','data')",
    ],
)
def test_a_placement_that_cannot_be_read_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_array_spec(text)


def diff_json(tmp_path: Path, *args: str) -> tuple[int, dict]:
    (tmp_path / "placed.py").write_text(TARGET)
    result = runner.invoke(
        app,
        [
            "diff",
            str(tmp_path / "placed.py") + ":step",
            "--arg",
            "w=f32[128,16]",
            *args,
            "--no-compile",
            "--format",
            "json",
        ],
    )
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_vs_changes_one_leafs_sharding_and_jax_confirms(tmp_path: Path) -> None:
    code, report = diff_json(
        tmp_path, "--arg", "x=f32[8,128]@P(None,None)@data", "--vs", "x=f32[8,128]@P('data',None)"
    )
    assert code == 0
    changes = [(c["component"], c["path"], c["a"], c["b"]) for c in report["cache_key_changes"]]
    assert changes == [("sharding", "x", "P(None, None)", "P('data', None)")]
    check = report["verification"]
    assert report["recompiles"] is True
    assert (check["cache_size_a"], check["cache_size_b"]) == (1, 2) and check["agrees"]


def test_the_same_placement_on_both_sides_is_no_recompile(tmp_path: Path) -> None:
    placed = "x=f32[8,128]@P('data',None)"
    code, report = diff_json(tmp_path, "--arg", placed, "--vs", placed)
    assert code == 0 and report["recompiles"] is False
    check = report["verification"]
    assert (check["cache_size_a"], check["cache_size_b"]) == (1, 1)


def test_a_mesh_larger_than_the_devices_exits_2(tmp_path: Path) -> None:
    code, _report = diff_json(
        tmp_path, "--arg", "x=f32[8,128]", "--vs", "x=f32[8,128]@P('data')@data=64"
    )
    assert code == 2


def test_four_devices_in_a_subprocess(tmp_path: Path) -> None:
    (tmp_path / "placed.py").write_text(TARGET)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jaxexplain",
            "diff",
            "placed.py:step",
            "--arg",
            "w=f32[128,16]",
            "--arg",
            "x=f32[8,128]@P('data',None)",
            "--vs",
            "x=f32[8,128]@P('data',None)@data=2",
            "--format",
            "json",
            "--no-compile",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    changes = [(c["component"], c["a"], c["b"]) for c in report["cache_key_changes"]]
    assert changes == [("mesh", "data=4", "data=2")]
    check = report["verification"]
    assert (check["cache_size_a"], check["cache_size_b"]) == (1, 2) and check["agrees"]
