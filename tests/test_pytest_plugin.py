"""pytest_plugin.py through pytest's own pytester: the marker and the fixture fail a test with the
reasons of each recompilation, and --jaxexplain-compiles prints every test's compilations."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from jaxexplain import pytest_plugin

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ("-p", "jaxexplain.pytest_plugin", "-p", "no:cacheprovider")

STEP = """
import jax, jax.numpy as jnp, pytest

@jax.jit
def train_step(x):
    return jnp.sin(x) * 2
"""


@pytest.fixture(autouse=True)
def _plugin_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs below load the plugin by `-p`; where jaxexplain is installed, its entry point
    would load it a second time under another name, so entry points stay unloaded."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def shapes_compiled(sizes: list[int]) -> int:
    """How many entries JAX's own jit cache holds after calling a function on these sizes."""

    @jax.jit
    def step(x: jax.Array) -> jax.Array:
        return jnp.sin(x) * 2

    for size in sizes:
        step(jnp.zeros(size))
    return step._cache_size()


def test_the_entry_point_names_the_plugin() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    module = project["project"]["entry-points"]["pytest11"]["jaxexplain"]
    assert importlib.import_module(module) is pytest_plugin


def test_the_marker_fails_a_test_with_the_reasons(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        STEP
        + """
@pytest.mark.max_compiles(train_step=1)
def test_shapes():
    for n in (3, 4):
        train_step(jnp.zeros(n))

@pytest.mark.max_compiles(train_step=1)
def test_one_shape():
    for _ in range(3):
        train_step(jnp.zeros(3))

@pytest.mark.max_compiles(train_step=1)
def test_own_failure():
    assert train_step(jnp.zeros(1))[0] == 1, "the test's own message"
"""
    )
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*AssertionError: the test's own message*"])
    compiled = shapes_compiled([3, 4])
    result.stdout.fnmatch_lines(
        [
            f"*train_step compiled {compiled} times; at most 1 allowed:*",
            "*compile #2 at test_the_marker_fails*:*",
            "*vs #1: shape x [[]3[]] -> [[]4[]]",
        ]
    )
    assert "def assert_max_compiles" not in result.stdout.str()
    assert "During handling of the above exception" not in result.stdout.str()
    assert "test_one_shape FAILED" not in result.stdout.str()


def test_the_fixture_watches_the_test_and_checks_limits(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        STEP
        + """
def test_check(jaxexplain_compiles):
    for n in (3, 4, 5):
        train_step(jnp.zeros(n))
    assert len(jaxexplain_compiles.of("train_step")) == 3
    jaxexplain_compiles.check(train_step=2)
"""
    )
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*train_step compiled {shapes_compiled([3, 4, 5])} times*"])


def test_the_summary_lists_each_tests_compilations(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        STEP
        + """
def test_two():
    for n in (6, 7):
        train_step(jnp.zeros(n))

def test_none():
    pass
"""
    )
    result = pytester.runpytest(*PLUGIN, "--jaxexplain-compiles")
    result.assert_outcomes(passed=2)
    compiled = shapes_compiled([6, 7])
    result.stdout.fnmatch_lines(
        [
            "*= jaxexplain: jit compilations per test =*",
            f"*{compiled} compiles *s  test_the_summary_lists*.py::test_two  (train_step {compiled})",
        ]
    )
    assert "::test_none" not in result.stdout.str()


def test_without_the_option_there_is_no_summary(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(STEP + "\ndef test_one():\n    train_step(jnp.zeros(2))\n")
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1)
    assert "jit compilations per test" not in result.stdout.str()


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*PLUGIN, "--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.max_compiles(**limits)*"])
