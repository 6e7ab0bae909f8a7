"""Helpers for the HTML page tests: marked lines of the targets, the page's data block, and the
states that the page's test hooks report in headless Chromium."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from browser import Browser, hook_results


def line_of(fn: Callable[..., Any], marker: str) -> int:
    """The line number of `# marker: ...` in fn's source."""
    lines, first = inspect.getsourcelines(fn)
    return next(first + i for i, text in enumerate(lines) if f"# marker: {marker}" in text)


def src(fn: Callable[..., Any], marker: str) -> str:
    """The `file:line` key the report uses for a marked line."""
    return f"{inspect.getsourcefile(fn)}:{line_of(fn, marker)}"


def page_data(page: str) -> dict[str, Any]:
    """The JSON block the page's script reads."""
    match = re.search(r'<script type="application/json" id="jx-data">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match[1])


def write(tmp_path: Path, name: str, page: str) -> Path:
    """The page as a file for the browser."""
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    return path


def states(chromium: Browser, page: Path, hash: str) -> list[dict[str, Any]]:
    """Loads the page with test actions in its URL hash and returns the state after each."""
    results = hook_results(chromium.dump_dom(page, hash))
    for result in results:
        assert "error" not in result, result
    return [r["state"] for r in results]
