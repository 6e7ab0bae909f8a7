"""Test set-up: two CPU devices, and fixtures that restore what user code and tests change."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, BrowserUnavailable, ensure_chromium

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

ROOT = Path(__file__).resolve().parent.parent
USER_MODULES = Path(__file__).resolve().parent / "user_modules"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-gold",
        action="store_true",
        help="Re-create tests/gold/: the saved reports from live traces, and their renderings.",
    )


@pytest.fixture
def update_gold(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to re-create the gold files instead of comparing with them."""
    return bool(request.config.getoption("--update-gold"))


@pytest.fixture(autouse=True)
def _restore_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """User modules are imported fresh for each test; sys.path, cwd and JAX config come back."""
    import jax

    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    saved_x64 = jax.config.read("jax_enable_x64")
    monkeypatch.chdir(ROOT)
    yield
    jax.config.update("jax_enable_x64", saved_x64)
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        module = sys.modules[name]
        if str(getattr(module, "__file__", "") or "").startswith(
            (str(USER_MODULES), str(ROOT / "samples"))
        ):
            del sys.modules[name]


@pytest.fixture(scope="session")
def chromium() -> Browser:
    """Headless Chromium for the HTML page tests; they are skipped without one, except on CI."""
    try:
        return Browser(ensure_chromium())
    except BrowserUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(autouse=True)
def _no_watch_hooks_left() -> Iterator[None]:
    """Every watch, in every test, removes the hooks it installed on JAX."""
    yield
    from jaxexplain.watching import hooks

    assert not hooks.hooks_installed(), "a watch left its hooks installed"
