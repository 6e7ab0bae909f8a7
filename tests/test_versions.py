"""versions.py: the supported JAX range, stated once in pyproject.toml and checked before any
work; an unsupported or broken JAX is one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import jax
import pytest

from jaxexplain.versions import (
    OLDEST_JAX,
    check_jax,
    newest_bound,
    oldest_requirement,
    release_of,
    supported_range,
)

ROOT = Path(__file__).parent.parent


def test_pyproject_states_the_range_that_is_checked() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    low = f">={oldest_requirement()}"
    high = f"<{newest_bound()}"
    for package in ("jax", "jaxlib"):
        (stated,) = [d for d in dependencies if d.split(">")[0].split("<")[0] == package]
        assert low in stated and high in stated, stated


def test_the_installed_jax_is_accepted() -> None:
    assert check_jax() == jax.__version__
    assert release_of(jax.__version__) is not None


@pytest.mark.parametrize(
    ("version", "release"),
    [
        ("0.10.2", (0, 10, 2)),
        ("0.4.38", (0, 4, 38)),
        ("0.12.1.dev20261101", (0, 12, 1)),
        ("1.0", (1, 0, 0)),
        ("nightly", None),
    ],
)
def test_release_of_reads_major_minor_and_patch(
    version: str, release: tuple[int, int, int] | None
) -> None:
    assert release_of(version) == release


def _fake_jax(tmp_path: Path, version: str, body: str) -> dict[str, str]:
    """A site directory holding a package named jax of `version`, first on the path."""
    package = tmp_path / "jax"
    package.mkdir()
    (package / "__init__.py").write_text(body)
    info = tmp_path / f"jax-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: jax\nVersion: {version}\n")
    return {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}


def _trace_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "jaxexplain", "trace", "samples/unrolled.py:unrolled_power"]
    return subprocess.run(
        [*command, "--arg", "x=f32[3]", "--static", "n=2", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("version", ["0.3.25", "0.4.37", "0.13.0"])
def test_a_jax_outside_the_range_is_one_line_and_exit_2(tmp_path: Path, version: str) -> None:
    env = _fake_jax(tmp_path, version, "raise AssertionError('must not be imported')\n")
    done = _trace_with(env)
    assert done.returncode == 2
    assert f"jaxexplain needs jax {supported_range()}, found jax {version}" in done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["exit_code"] == 2


def test_a_jax_that_fails_to_import_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = _fake_jax(
        tmp_path,
        oldest_requirement(),
        "raise RuntimeError('jaxlib is version 0.1, jax needs 0.4.38')\n",
    )
    done = _trace_with(env)
    assert done.returncode == 2
    assert "cannot be imported (RuntimeError: jaxlib is version 0.1" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_range_starts_at_the_last_0_4_release() -> None:
    assert OLDEST_JAX == (0, 4, 38)
    assert supported_range() == "0.4.38 to 0.12.x"


def test_a_test_all_matrix_that_ran_no_cell_fails(tmp_path: Path) -> None:
    """`make test-all` over cells that were all skipped (no such Python) tested nothing: it says
    so and exits 1, never "passed"."""
    done = subprocess.run(
        ["sh", str(ROOT / "scripts" / "test-all.sh")],
        cwd=tmp_path,
        env={**os.environ, "TEST_ALL_MATRIX": "3.99:0.4.38 3.98:0.10.2"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout
    assert "Python 3.99, jax 0.4.38: skipped (no Python 3.99 here)" in done.stdout
    assert done.stdout.splitlines()[-1] == "test-all: 0 of 2 cells passed, 2 skipped"
    assert list(tmp_path.iterdir()) == [], "no environment made for a skipped cell"
