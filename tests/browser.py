"""Headless Chromium for the HTML report tests: find or install it, load pages, read the DOM."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = ROOT / "scripts" / "install-browser.sh"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags for a quiet, offline, rootless-or-root headless run that leaves nothing behind.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)


class BrowserUnavailable(Exception):
    """No Chromium here and none could be installed; the message says why."""


def find_chromium() -> str | None:
    """`$JAXEXPLAIN_CHROMIUM`, else the first Chromium or Chrome on PATH."""
    explicit = os.environ.get("JAXEXPLAIN_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_chromium() -> str:
    """Chromium's path, installing Debian's package first when we may (root with apt-get).

    Raises:
        BrowserUnavailable: with the reason, for the tests' skip message.
    """
    found = find_chromium()
    if found:
        return found
    explicit = os.environ.get("JAXEXPLAIN_CHROMIUM")
    if explicit:
        raise BrowserUnavailable(f"JAXEXPLAIN_CHROMIUM={explicit} does not exist")
    if not INSTALL_SCRIPT.exists():
        raise BrowserUnavailable(f"Chromium not found and {INSTALL_SCRIPT} is missing")
    result = subprocess.run(
        ["sh", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900, check=False
    )
    found = find_chromium()
    if found:
        return found
    tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
    raise BrowserUnavailable(
        "headless Chromium is not installed and could not be installed "
        f"(scripts/install-browser.sh exited {result.returncode}: {' '.join(tail) or 'no output'});"
        " install Debian's 'chromium' package or set JAXEXPLAIN_CHROMIUM"
    )


@dataclass
class Browser:
    """One Chromium binary, run once per page load (`--dump-dom`, `--screenshot`)."""

    binary: str
    timeout: float = 120.0

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="jx-chromium-") as profile:
            command = [self.binary, *FLAGS, f"--user-data-dir={profile}", *args]
            return subprocess.run(
                command, capture_output=True, text=True, timeout=self.timeout, check=False
            )

    def dump_dom(self, page: Path, hash: str = "", budget_ms: int | None = None) -> str:
        """The DOM after the page's scripts ran on load, serialized.

        Args:
            page: the HTML file.
            hash: a URL fragment such as "test:hover-src=..." (without "#").
            budget_ms: let timers run this much virtual time before dumping.

        Returns:
            The serialized DOM.
        """
        args = ["--dump-dom"]
        if budget_ms is not None:
            args.append(f"--virtual-time-budget={budget_ms}")
        result = self._run([*args, url_of(page, hash)])
        if result.returncode != 0 or "<html" not in result.stdout:
            raise RuntimeError(
                f"chromium --dump-dom failed ({result.returncode}): {result.stderr[-800:]}"
            )
        return result.stdout

    def timed_dump(self, page: Path, hash: str = "") -> tuple[str, float]:
        """`dump_dom` and its wall-clock seconds, browser start-up included."""
        start = time.perf_counter()
        dom = self.dump_dom(page, hash)
        return dom, time.perf_counter() - start

    def screenshot(
        self, page: Path, png: Path, hash: str = "", size: tuple[int, int] = (1400, 1000)
    ) -> Path:
        """A PNG of the page as loaded (after any test-hook interactions)."""
        result = self._run(
            [f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", url_of(page, hash)]
        )
        if not png.exists():
            raise RuntimeError(
                f"chromium --screenshot failed ({result.returncode}): {result.stderr[-800:]}"
            )
        return png


def url_of(page: Path, hash: str = "") -> str:
    """The file URL of a page, with a fragment."""
    return page.resolve().as_uri() + (f"#{hash}" if hash else "")


def hook_results(dom: str) -> list[dict[str, Any]]:
    """What the page's test hooks wrote into `<pre id="jx-test">`, one entry per action."""
    match = re.search(r'<pre id="jx-test" hidden="">(.*?)</pre>', dom, re.S)
    if match is None:
        raise AssertionError("the page wrote no test results (did its script run?)")
    return json.loads(html.unescape(match[1]))


@dataclass
class Element:
    """An element of a parsed DOM: tag, attributes, children and text."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        """The element's class names."""
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        """All text inside, as a browser's `textContent`."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self) -> Any:
        """This element and every element below it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def select(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Element]:
        """Elements below (and including) this one with the tag, class and attribute values."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag)
            and (cls is None or cls in e.classes)
            and all(e.attrs.get(k) == v for k, v in wanted.items())
        ]


_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_dom(text: str) -> Element:
    """Parses serialized HTML (a `--dump-dom` result) into `Element`s."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root
