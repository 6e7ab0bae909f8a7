"""jaxexplain in pytest: a test fails when a function compiles more often than it may, with the
reasons of every recompilation, and `--jaxexplain-compiles` prints the compiles of each test at the
end of the run, the way `--durations` prints their times.

    @pytest.mark.max_compiles(train_step=1)
    def test_training(): ...

    def test_eval(jaxexplain_compiles):
        ...
        jaxexplain_compiles.check(eval_step=2)

Installed as a pytest11 entry point; JAX is imported only by a test that uses the plugin.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from jaxexplain.report import WatchEvent, WatchReport
    from jaxexplain.watching.watcher import Watcher

OPTION = "--jaxexplain-compiles"
MARKER = "max_compiles"
_SUMMARY = pytest.StashKey[list["CompileSummary"]]()


@dataclass(frozen=True)
class CompileSummary:
    """The jit compilations of one test's call: how many, their seconds, and per function."""

    nodeid: str
    compiles: int
    seconds: float
    functions: tuple[tuple[str, int], ...]


class Compiles:
    """The `jaxexplain_compiles` fixture: the compilations of the test so far, and a check that
    fails the test with the reasons of each one over the limit."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def report(self) -> WatchReport:
        """The watch report of the test so far (`print` it for the text report)."""
        return self.watcher.report()

    def of(self, function: str) -> tuple[WatchEvent, ...]:
        """The jit compilations of one function, by qualified or bare name."""
        return tuple(e for e in self.report().compiles_of(function) if e.kind == "jit")

    def check(self, **limits: int) -> None:
        """Fails when a function compiled more often than its limit (`check(train_step=1)`).

        Raises:
            AssertionError: every function over its limit, each compilation with its reasons.
        """
        from jaxexplain.renderers.words import too_many_compiles_text

        failures = [
            too_many_compiles_text(name, allowed, events)
            for name, allowed in limits.items()
            if len(events := self.of(name)) > allowed
        ]
        if failures:
            raise AssertionError("\n".join(failures))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jaxexplain")
    group.addoption(
        OPTION,
        action="store_true",
        help="Print the jit compilations of every test that compiled, most first.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**limits): fail the test when a function compiles more often than its limit, "
        f"with the reasons of each compilation: @pytest.mark.{MARKER}(train_step=1)",
    )
    config.stash[_SUMMARY] = []


@pytest.fixture
def jaxexplain_compiles() -> Iterator[Compiles]:
    """The jit compilations of the test, watched from here to its end."""
    from jaxexplain.watching.watcher import watch

    with watch() as watcher:
        yield Compiles(watcher)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Watches the test's call where its marker or the summary asks; a limit exceeded by a test
    that passed fails its call with the reasons alone (the test's own failure stays its own)."""
    limits = {k: v for mark in item.iter_markers(MARKER) for k, v in mark.kwargs.items()}
    summary = item.config.getoption(OPTION)
    if not limits and not summary:
        return (yield)
    from jaxexplain.watching.watcher import assert_max_compiles, watch

    passed, over_limit = False, ""
    with watch() as watcher:
        try:
            with contextlib.ExitStack() as limited:
                for name, allowed in limits.items():
                    limited.enter_context(assert_max_compiles(name, allowed))
                result = yield
                passed = True
        except AssertionError as exc:
            if not passed:
                raise
            over_limit = str(exc)
        finally:
            if summary:
                item.config.stash[_SUMMARY].append(summary_of(item.nodeid, watcher.report()))
    if over_limit:
        pytest.fail(over_limit, pytrace=False)
    return result


def summary_of(nodeid: str, report: WatchReport) -> CompileSummary:
    """One test's line of the summary, from its watch report."""
    functions = tuple((f.function, f.compiles) for f in report.functions if f.compiles)
    return CompileSummary(
        nodeid=nodeid,
        compiles=sum(count for _, count in functions),
        seconds=sum(f.seconds for f in report.functions),
        functions=functions,
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """`--jaxexplain-compiles`: the tests that compiled, most compilations first."""
    config = terminalreporter.config
    if not config.getoption(OPTION):
        return
    from jaxexplain.renderers.words import COMPILES_SUMMARY, NO_TEST_COMPILED, compiles_line

    compiled = [t for t in config.stash[_SUMMARY] if t.compiles]
    terminalreporter.write_sep("=", COMPILES_SUMMARY)
    for each in sorted(compiled, key=lambda t: (-t.compiles, -t.seconds, t.nodeid)):
        terminalreporter.write_line(
            compiles_line(each.nodeid, each.compiles, each.seconds, each.functions)
        )
    if not compiled:
        terminalreporter.write_line(NO_TEST_COMPILED)
