"""The HTML page and its pieces: the self-contained document, escaping, tags, sections, tables
and figures, and the jaxpr lexed into the token runs the page's script draws.

The page is static HTML for everything small plus one JSON block that the page's script reads:
only the rows in view are in the DOM, so a 100,000-equation jaxpr opens as fast as a small one.
Colors come from the jaxpr lexer and `JaxprStyle`'s token types, in a dark and a light theme
(`themes`).
Nothing is fetched from the network. A page holds one report, or several (a watch page embeds
a trace and a diff report per explained compilation), each under its own `Scope`.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pygments.lexer import Lexer
from pygments.token import STANDARD_TYPES, Punctuation, _TokenType

from jaxexplain.renderers.html.themes import token_css

#: The CSS scope of Pygments' token classes; both the jaxpr and the Python source use it.
CODE_SCOPE = ".code"
_SLOT = re.compile(r"\{\{(\w+)\}\}")
_OPENERS = "([{"
_CLOSERS = ")]}"
_PLAIN_CLASSES = {"", "w"}


@dataclass(frozen=True)
class Page:
    """The parts of a page: its title, body HTML, the data its script reads, and its kind."""

    title: str
    kind: str
    body: str
    data: dict[str, Any]

    def html(self) -> str:
        """The whole document, stylesheet and script inlined."""
        return fill(
            template("page.html"),
            title=esc(self.title),
            kind=self.kind,
            css=template("report.css") + "\n" + pygments_css(),
            body=self.body,
            data=script_json(self.data),
            js=template("report.js"),
        )


@dataclass(frozen=True)
class Scope:
    """Where one report's elements sit on its page.

    Several reports on one page each have an "Arguments" section and a jaxpr pane: `prefix`
    keeps their element ids, links and panes apart (the page's script finds a report's panes
    by it), and `level` puts their section headings under the page's own.
    """

    prefix: str = ""
    level: int = 2

    def id(self, name: str) -> str:
        """The element id of `name` in this report."""
        return self.prefix + name

    def href(self, name: str) -> str:
        """A link to `name` in this report."""
        return "#" + self.id(name)

    def heading(self, content: str, **attrs: object) -> str:
        """A section heading at this report's level, from already-escaped content."""
        return tag(f"h{self.level}", content, **attrs)

    def pane(self, name: str) -> str:
        """A pane's template (`jaxpr_pane.html`), its element ids in this report."""
        return fill(template(name), scope=self.prefix)


#: A report alone on its page: ids as written, sections under the page's title.
PAGE = Scope()


@dataclass(frozen=True)
class Embedded:
    """One report's part of a page: its sections, and the data its panes draw.

    `panes` is `{"scope", "jaxpr", "diff"}`: the page's script draws the jaxpr pane or the
    side-by-side diff whose element ids start with `scope`, inside the element `html()` makes.
    """

    body: str
    panes: dict[str, Any]
    scope: Scope

    def html(self) -> str:
        """The report's sections in the element that its source and jaxpr links stay inside."""
        return tag("div", self.body, class_="report", id=self.scope.id("report"))


def template(name: str) -> str:
    """A file from `renderers/html/templates/`, packaged with jaxexplain."""
    return resources.files(__package__).joinpath("templates", name).read_text("utf-8")


def fill(text: str, **slots: str) -> str:
    """Replaces each `{{name}}` in one pass, so inserted text is never scanned for slots."""
    return _SLOT.sub(lambda m: slots[m[1]], text)


def esc(value: object) -> str:
    """Escapes any value for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def script_json(data: Any) -> str:
    """JSON that is safe inside a `<script>` element: no `<`, `>` or `&` can close it."""
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def pygments_css() -> str:
    """The token colors of both themes, scoped to code blocks, as Pygments writes them."""
    return token_css(CODE_SCOPE)


def token_class(ttype: _TokenType) -> str:
    """Pygments' short CSS class for a token type, from its nearest standard ancestor."""
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


# ---------------------------------------------------------------- the jaxpr, as data for the script


@dataclass
class JaxprRows:
    """A jaxpr (or code) text as the page's script draws it: per text line its token runs, and
    the bracket characters that `views.fold_ranges` reads its folds from."""

    lines: list[str]
    tokens: list[list[int]]
    classes: list[str]
    brackets: list[str]


def tokenize_lines(text: str, lexer: Lexer) -> JaxprRows:
    """Lexes the whole text once and splits the tokens into per-line runs.

    A run is `[length, class index]`, flattened; adjacent runs of one class are merged, and
    whitespace has class 0 (no span). The bracket characters of each line are kept for folds.
    Raw lexing (`get_tokens_unprocessed`) covers every character, so runs add up to the lines.
    """
    classes: dict[str, int] = {"": 0}
    kinds: dict[_TokenType, tuple[int, bool]] = {}
    runs: list[list[int]] = []
    brackets: list[str] = []
    line_runs: list[int] = []
    line_brackets: list[str] = []
    for _, ttype, value in lexer.get_tokens_unprocessed(text):
        kind = kinds.get(ttype)
        if kind is None:
            cls = token_class(ttype)
            index = classes.setdefault("" if cls in _PLAIN_CLASSES else cls, len(classes))
            kind = kinds[ttype] = (index, ttype in Punctuation)
        index, is_punct = kind
        for k, part in enumerate(value.split("\n") if "\n" in value else (value,)):
            if k:
                runs.append(line_runs)
                brackets.append("".join(line_brackets))
                line_runs, line_brackets = [], []
            if not part:
                continue
            if line_runs and line_runs[-1] == index:
                line_runs[-2] += len(part)
            else:
                line_runs += (len(part), index)
            if is_punct:
                line_brackets += [c for c in part if c in _OPENERS or c in _CLOSERS]
    runs.append(line_runs)
    brackets.append("".join(line_brackets))
    return JaxprRows(lines=text.split("\n"), tokens=runs, classes=list(classes), brackets=brackets)


def source_label(source: str) -> str:
    """`/long/path/model.py:12` -> `model.py:12`: a label short enough for a badge."""
    path, _, line = source.rpartition(":")
    return f"{os.path.basename(path)}:{line}"


# ---------------------------------------------------------------- static HTML pieces


def tag(name: str, content: str = "", **attrs: object) -> str:
    """One element; attribute names use `_` for `-` and a trailing `_` for reserved words."""
    rendered = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for key, value in attrs.items()
        if value is not None and value is not False
    )
    return f"<{name}{rendered}>{content}</{name}>"


def section(anchor: str, title: str, content: str, detail: str = "", scope: Scope = PAGE) -> str:
    """A titled section with an anchor for the navigation bar."""
    heading = esc(title) + (tag("span", esc(detail), class_="detail") if detail else "")
    return tag("section", scope.heading(heading) + content, id=scope.id(anchor))


def nav(links: Iterable[tuple[str, str, bool]], scope: Scope = PAGE) -> str:
    """The navigation bar: `(anchor, text, shown)` for each section a report may have."""
    return tag(
        "nav",
        "".join(
            tag("a", esc(text), href=scope.href(anchor)) for anchor, text, shown in links if shown
        ),
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table from already-escaped cells."""
    head = "".join(tag("th", esc(h)) for h in headers)
    body = "".join("<tr>" + "".join(tag("td", c) for c in row) + "</tr>" for row in rows)
    return tag("table", f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>", class_=cls or None)


def code(text: object) -> str:
    """Inline code."""
    return tag("code", esc(text))


def figures(items: Iterable[tuple[str, str]]) -> str:
    """A row of labelled figures (cards)."""
    return tag(
        "div",
        "".join(
            tag(
                "div", tag("div", esc(value), class_="value") + tag("div", esc(label)), class_="fig"
            )
            for label, value in items
        ),
        class_="figures",
    )


def highlight_lines(text: str, lexer: Lexer) -> list[str]:
    """Highlighted HTML per text line, spans carrying Pygments' token classes."""
    rows = tokenize_lines(text, lexer)
    return [
        "".join(_spans(line, runs, rows.classes))
        for line, runs in zip(rows.lines, rows.tokens, strict=True)
    ]


def _spans(line: str, runs: Sequence[int], classes: Sequence[str]) -> Iterator[str]:
    pos = 0
    for k in range(0, len(runs), 2):
        length, cls = runs[k], classes[runs[k + 1]]
        piece = esc(line[pos : pos + length])
        yield f'<span class="{cls}">{piece}</span>' if cls else piece
        pos += length
