"""HTML renderer: one self-contained page per report, the source linked to the jaxpr it produced.

The page is static HTML for everything small (header, tables, the annotated source) plus one
JSON block for the jaxpr, which the page's script draws: only the rows in view are in the DOM,
so a 100,000-equation jaxpr opens as fast as a small one. Colors come from the jaxpr lexer and
`JaxprStyle`, the same definitions the terminal uses. Nothing is fetched from the network.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers.python import PythonLexer
from pygments.token import STANDARD_TYPES, Punctuation, _TokenType

from jaxexplain.errors import UsageError
from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers.console import (
    CONTEXT_SHOWN,
    format_aval_tree,
    human_bytes,
    human_number,
)
from jaxexplain.renderers.words import (
    as_written,
    decision_outcome,
    dependencies_text,
    equations_text,
    library_decision_text,
    outcome_badge,
    raised_by_text,
)
from jaxexplain.report import (
    DIFF_SCHEMA,
    TRACE_SCHEMA,
    CacheKey,
    CompileInfo,
    Decision,
    ErrorInfo,
    JaxprInfo,
    LibraryDecision,
    SourceLine,
    SourceListing,
    TraceReport,
)
from jaxexplain.style import JaxprStyle
from jaxexplain.userfiles import library_label, short_identity, short_path

#: The CSS scope of Pygments' token classes; both the jaxpr and the Python source use it.
CODE_SCOPE = ".code"
_SLOT = re.compile(r"\{\{(\w+)\}\}")
_OPENERS = "([{"
_CLOSERS = ")]}"
_PLAIN_CLASSES = {"", "w"}


def render(report: Any, *, color: bool = False, width: int = 100) -> str:
    """Renders a report as one self-contained HTML page (colors and width do not apply).

    Args:
        report: a `TraceReport` or a `DiffReport`.
        color: ignored; the page always has its colors.
        width: ignored; the page reflows.

    Returns:
        The page, starting with `<!DOCTYPE html>`.
    """
    schema = getattr(report, "schema", None)
    if schema == TRACE_SCHEMA:
        return trace_page(report).html()
    if schema == DIFF_SCHEMA:
        # The diff page builds on this module's pieces, so it is imported when needed.
        from jaxexplain.renderers.html_diff import diff_page

        return diff_page(report).html()
    raise UsageError(f"--format html is for trace and diff reports, not {schema!r}")


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


def template(name: str) -> str:
    """A file from `renderers/templates/`, packaged with jaxexplain."""
    return resources.files("jaxexplain.renderers").joinpath("templates", name).read_text("utf-8")


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
    """The token colors of `JaxprStyle`, scoped to code blocks, as Pygments writes them."""
    formatter = HtmlFormatter(style=JaxprStyle)
    rules = formatter.get_token_style_defs(CODE_SCOPE)
    return "\n".join(rules if isinstance(rules, list) else [rules])


def token_class(ttype: _TokenType) -> str:
    """Pygments' short CSS class for a token type, from its nearest standard ancestor."""
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


# ---------------------------------------------------------------- the jaxpr, as data for the script


@dataclass
class JaxprRows:
    """The jaxpr as the page's script draws it: per text line its tokens, source and fold."""

    lines: list[str]
    tokens: list[list[int]]
    classes: list[str]
    brackets: list[str]

    def to_data(
        self, line_sources: Sequence[str | None], line_libraries: Sequence[str | None] = ()
    ) -> dict[str, Any]:
        """The JSON the script reads: text, token runs, source ids, folds, colors, and the
        library frame that made each line's equation where a library did."""
        folds = fold_ranges(self.brackets)
        sources = inherited_sources(self.lines, line_sources, folds)
        src_ids: dict[str, int] = {}
        ids = [-1 if s is None else src_ids.setdefault(s, len(src_ids)) for s in sources]
        names = list(src_ids)
        lib_ids: dict[str, int] = {}
        libs = [-1 if not lib else lib_ids.setdefault(lib, len(lib_ids)) for lib in line_libraries]
        lib_labels = [library_label(lib) for lib in lib_ids]
        # A library frame is drawn after its line as `  # optax/...:294`: the row is that wide.
        widths = [
            len(line) + (len(lib_labels[libs[i]]) + 4 if i < len(libs) and libs[i] >= 0 else 0)
            for i, line in enumerate(self.lines)
        ]
        return {
            "lib": libs,
            "libs": lib_labels,
            "lines": self.lines,
            "tok": self.tokens,
            "cls": self.classes,
            "src": ids,
            "srcs": names,
            "labels": [source_label(s) for s in names],
            "hue": [hue(i) for i in range(len(names))],
            "folds": [n for fold in folds for n in fold],
            "width": max(widths, default=0),
        }


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


def fold_ranges(brackets: Sequence[str]) -> list[tuple[int, int, int]]:
    """Foldable blocks `(first line, last line, nesting)`: a line whose brackets stay open.

    The first and last lines stay visible when folded (`cond[` ... `] a b`), so only blocks
    with something between them count.
    """
    folds: list[tuple[int, int, int]] = []
    stack: list[tuple[int, int]] = []
    depth = 0
    for i, chars in enumerate(brackets):
        low = depth
        for c in chars:
            depth += 1 if c in _OPENERS else -1
            low = min(low, depth)
        while stack and stack[-1][1] >= low:
            start, _ = stack.pop()
            if i > start + 1:
                folds.append((start, i, len(stack)))
        if depth > low:
            stack.append((i, low))
    return sorted(folds)


def inherited_sources(
    lines: Sequence[str], line_sources: Sequence[str | None], folds: Iterable[tuple[int, int, int]]
) -> list[str | None]:
    """Each line's source; lines JAX left without one take their enclosing equation's.

    The params and sub-jaxprs of `cond[...]` or `jit[...]` were produced by the same user line
    as the equation that holds them, so they light up with it.
    """
    ends = {start: end for start, end, _ in folds}
    out: list[str | None] = []
    stack: list[tuple[int, str | None]] = []
    for i in range(len(lines)):
        while stack and stack[-1][0] < i:
            stack.pop()
        own = line_sources[i] if i < len(line_sources) else None
        source = own or (stack[-1][1] if stack else None)
        out.append(source)
        if i in ends:
            stack.append((ends[i], source))
    return out


def hue(index: int) -> int:
    """Well-separated hues for successive source lines (the golden angle)."""
    return round(index * 137.508) % 360


def source_label(source: str) -> str:
    """`/long/path/model.py:12` -> `model.py:12`."""
    path, _, line = source.rpartition(":")
    return f"{os.path.basename(path)}:{line}"


def split_source(source: str) -> tuple[str, int]:
    """`file:line` -> (file, line)."""
    path, _, line = source.rpartition(":")
    return path, int(line) if line.isdigit() else 0


# ---------------------------------------------------------------- static HTML pieces


def tag(name: str, content: str = "", **attrs: object) -> str:
    """One element; attribute names use `_` for `-` and a trailing `_` for reserved words."""
    rendered = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for key, value in attrs.items()
        if value is not None and value is not False
    )
    return f"<{name}{rendered}>{content}</{name}>"


def section(anchor: str, title: str, content: str, detail: str = "") -> str:
    """A titled section with an anchor for the navigation bar."""
    heading = esc(title) + (tag("span", esc(detail), class_="detail") if detail else "")
    return tag("section", tag("h2", heading) + content, id=anchor)


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


# ---------------------------------------------------------------- the trace page


def trace_page(report: TraceReport) -> Page:
    """The trace report: failure first, then source beside jaxpr, decisions, key, compile."""
    jaxpr_data = None
    if report.jaxpr is not None:
        rows = tokenize_lines(report.jaxpr.text, JaxprLexer())
        jaxpr_data = rows.to_data(report.jaxpr.line_sources, report.jaxpr.line_libraries)
    hues = dict(zip(jaxpr_data["srcs"], jaxpr_data["hue"], strict=True)) if jaxpr_data else {}
    parts = [
        trace_header(report),
        error_section(report.error) if report.error is not None else "",
        summary_figures(report),
        code_section(report, hues),
        decisions_section(report.decisions, report.decisions_unavailable),
        library_decisions_section(report.library_decisions),
        arguments_section(report),
        cache_key_section(report.cache_key) if report.cache_key is not None else "",
        compile_section(report.compile) if report.compile is not None else "",
        primitives_section(report.jaxpr) if report.jaxpr is not None else "",
    ]
    return Page(
        title=f"jaxexplain trace {report.target}",
        kind="trace",
        body=tag("main", "".join(parts)),
        data={"kind": "trace", "jaxpr": jaxpr_data},
    )


def trace_header(report: TraceReport) -> str:
    """Target, where the function lives, whether it traced, and links to the sections."""
    fn = report.function
    if report.ok:
        status = "traced" + (
            f" in {report.trace_seconds:.3f} s" if report.trace_seconds is not None else ""
        )
        badge = tag("span", esc(status), class_="status ok")
    else:
        badge = tag("span", "failed", class_="status bad")
    title = tag(
        "h1",
        tag("span", "jaxexplain trace", class_="tool") + " " + code(report.target) + " " + badge,
    )
    where = f"{fn.qualname or fn.name} defined at {short_path(fn.file)}:{fn.line}"
    sub = tag(
        "div",
        esc(where) + (f" · JAX {esc(report.jax_version)}" if report.jax_version else ""),
        class_="sub",
    )
    links = [
        ("error", "Failure", report.error is not None),
        ("code", "Source & jaxpr", bool(report.sources) or report.jaxpr is not None),
        ("decisions", "Decisions", bool(report.decisions)),
        ("arguments", "Arguments", True),
        ("cache-key", "Cache key", report.cache_key is not None),
        ("compile", "Compilation", report.compile is not None),
        ("primitives", "Primitives", report.jaxpr is not None),
    ]
    nav = tag(
        "nav",
        "".join(tag("a", esc(text), href=f"#{anchor}") for anchor, text, shown in links if shown),
    )
    return tag("header", title + sub + nav)


def error_section(error: ErrorInfo, title: str = "Tracing failed", anchor: str = "error") -> str:
    """The failure at the user's line, what it depended on, and the fixes (verified or not)."""
    where = ""
    if error.file:
        where = tag(
            "div",
            code(f"{short_path(error.file)}:{error.line}")
            + (" " + tag("code", esc(error.source), class_="culprit") if error.source else ""),
            class_="where",
        )
    origin = raised_by_text(error)
    said = (
        error.message
        if error.raised_by == "jax"
        else f"{origin[:1].upper()}{origin[1:]}: {error.message}"
    )
    text = tag("p", esc(error.explanation or said), class_="explanation")
    message = ""
    if error.explanation and error.message:
        summary = "JAX's message" if error.raised_by == "jax" else f"The message ({origin})"
        message = tag("details", tag("summary", summary) + tag("pre", esc(error.message)))
    depends = ""
    if error.depends_on:
        depends = tag(
            "p",
            "Depends on " + ", ".join(f"{code(d.name)} ({esc(d.via)})" for d in error.depends_on),
            class_="depends",
        )
    fixes = "".join(suggestion_html(s) for s in error.suggestions)
    body = where + text + depends + (tag("div", fixes, class_="fixes") if fixes else "") + message
    return tag(
        "section",
        tag("h2", esc(title) + tag("span", esc(error.type), class_="detail")) + body,
        id=anchor,
        class_="failure",
    )


def suggestion_html(s: Any) -> str:
    """One suggested fix, marked verified only when jaxexplain re-traced with it."""
    mark = (
        tag(
            "span",
            "verified",
            class_="tag good",
            title="jaxexplain re-traced with this fix and it worked",
        )
        if s.verified
        else tag("span", "not verified", class_="tag", title="advice, not re-traced")
    )
    body = tag("span", esc(s.kind), class_="tag kind") + mark + " " + esc(s.text)
    if s.cost:
        body += tag("div", "cost: " + esc(s.cost), class_="cost")
    if s.verified and s.checks:
        body += tag("div", "checks passed: " + esc(", ".join(s.checks)), class_="cost")
    if s.code:
        body += tag(
            "pre",
            "".join(f"{line}\n" for line in highlight_lines(s.code, PythonLexer())),
            class_="code",
        )
    return tag("div", body, class_="fix")


def summary_figures(report: TraceReport) -> str:
    """The few numbers a user looks for first; none for a trace that failed before a jaxpr."""
    if report.jaxpr is None and not report.decisions:
        return ""
    items: list[tuple[str, str]] = []
    if report.jaxpr is not None:
        items.append(("equations", f"{report.jaxpr.equations:,}"))
        if report.jaxpr.equations_total != report.jaxpr.equations:
            items.append(("with nested jaxprs", f"{report.jaxpr.equations_total:,}"))
    items.append(("baked-in decisions", str(len(report.decisions))))
    if report.trace_seconds is not None:
        items.append(("trace", f"{report.trace_seconds:.3f} s"))
    if report.compile is not None:
        items.append(
            (
                "lower + compile",
                f"{report.compile.lower_seconds + report.compile.compile_seconds:.3f} s",
            )
        )
        items.append(("flops", human_number(report.compile.flops)))
    if report.cache_key is not None:
        items.append(("cache key digest", report.cache_key.digest))
    return figures(items)


def code_section(report: TraceReport, hues: dict[str, int]) -> str:
    """The annotated source beside the jaxpr; either may be missing (no listing, failed trace)."""
    if not report.sources and report.jaxpr is None:
        return ""
    decisions_at: dict[str, list[Decision]] = {}
    for d in report.decisions:
        decisions_at.setdefault(f"{d.file}:{d.line}", []).append(d)
    error_at = (
        f"{report.error.file}:{report.error.line}"
        if report.error is not None and report.error.file
        else None
    )
    source_pane = ""
    if report.sources:
        listings = "".join(
            listing_html(listing, hues, decisions_at, error_at) for listing in report.sources
        )
        source_pane = tag(
            "div",
            tag("div", "Source", class_="pane-title")
            + tag("div", listings, class_="scroll", id="src-scroll"),
            class_="pane src-pane",
        )
    jaxpr_pane = ""
    if report.jaxpr is not None:
        jaxpr_pane = tag("div", template("jaxpr_pane.html"), class_="pane jaxpr-pane")
    detail = "hover or click a line to see its counterpart" if source_pane and jaxpr_pane else ""
    split = tag(
        "div",
        source_pane + jaxpr_pane,
        class_="split" + (" single" if not (source_pane and jaxpr_pane) else ""),
    )
    return section("code", "Source and jaxpr", split, detail)


def listing_html(
    listing: SourceListing,
    hues: dict[str, int],
    decisions_at: dict[str, list[Decision]],
    error_at: str | None,
) -> str:
    """One function's source: line numbers, equation counts, decisions inline, dead lines grey."""
    highlighted = highlight_lines("\n".join(line.text for line in listing.lines), PythonLexer())
    rows = []
    for line, html_text in zip(listing.lines, highlighted, strict=False):
        key = f"{listing.file}:{line.number}"
        classes = ["sl"]
        if not line.ran:
            classes.append("dead")
        if key in hues:
            classes.append("linked")
        if key == error_at:
            classes.append("fails")
        count = tag(
            "span",
            str(line.equations) if line.equations else "",
            class_="eqs",
            title=equations_text(line.equations, line.libraries) or None,
        )
        notes = library_badge(line) + "".join(decision_badge(d) for d in decisions_at.get(key, ()))
        if key == error_at:
            notes += tag("span", "fails here", class_="badge bad")
        rows.append(
            tag(
                "div",
                tag("span", str(line.number), class_="ln")
                + count
                + tag("span", html_text or " ", class_="text")
                + notes,
                class_=" ".join(classes),
                data_src=key,
                style=f"--c:hsl({hues[key]} 65% 62%)" if key in hues else None,
                title=None if line.ran else "never ran while tracing",
            )
        )
    head = tag(
        "div",
        code(listing.function) + " " + tag("span", esc(short_path(listing.file)), class_="file"),
        class_="listing-head",
    )
    return tag("div", head + tag("div", "".join(rows), class_="code"), class_="listing")


def library_badge(line: SourceLine) -> str:
    """Which libraries made the equations of a line that calls into them (`optax`)."""
    if not line.libraries:
        return ""
    words = equations_text(line.equations, line.libraries)
    names = ", ".join(line.libraries)
    return tag("span", esc(names), class_="badge lib", title=f"{words}: made inside {names}")


def decision_badge(d: Decision) -> str:
    """A decision inline on its source line: the branch taken or the loop count."""
    depends = dependencies_text(d)
    title = as_written(d.kind, d.source) + (f" — depends on {depends}" if depends else "")
    return tag("span", esc(outcome_badge(d)), class_=f"badge decision {d.kind}", title=title)


def decisions_section(decisions: Sequence[Decision], unavailable: str | None = None) -> str:
    """Every Python decision frozen into the trace, with what it depended on; where none
    could be recorded, why."""
    if not decisions and unavailable:
        return section(
            "decisions", "Baked-in decisions", tag("p", esc(unavailable)), "not recorded"
        )
    if not decisions:
        return ""
    rows = [
        (
            code(f"{short_path(d.file)}:{d.line}"),
            code(as_written(d.kind, d.source)),
            esc(decision_outcome(d)),
            ", ".join(
                f"{code(dep.name)} {tag('span', esc(dep.via), class_='via')}"
                for dep in d.depends_on
            ),
        )
        for d in decisions
    ]
    return section(
        "decisions",
        "Baked-in decisions",
        table(("where", "decision", "outcome", "depends on"), rows),
        f"{len(decisions)} decisions",
    )


def library_decisions_section(decisions: Sequence[LibraryDecision]) -> str:
    """Tests inside installed libraries on the target's statics, one line each."""
    if not decisions:
        return ""
    items = "".join(tag("li", esc(library_decision_text(d))) for d in decisions)
    return section(
        "library-decisions", "Decided in libraries", tag("ul", items), f"{len(decisions)} tests"
    )


def arguments_section(report: TraceReport) -> str:
    """Every parameter: its role, where it came from, its value or abstract value."""
    rows = [
        (
            code(a.name),
            tag("span", esc(a.role), class_=f"role {a.role}"),
            esc(a.source),
            code(a.value if a.role == "static" else format_aval_tree(a.aval)),
        )
        for a in report.arguments
    ]
    notes = "".join(tag("p", "note: " + esc(n), class_="note") for n in report.notes)
    return section(
        "arguments",
        "Arguments",
        table(("parameter", "role", "from", "value / abstract value"), rows) + notes,
    )


def cache_key_section(key: CacheKey) -> str:
    """The cache key's components, the context options that matter first, the rest folded."""
    grid = table(
        ("component", "value"),
        [("function", code(short_identity(key.function))), ("pytree", code(key.treedef))],
        cls="kv",
    )
    statics = ""
    if key.static:
        statics = table(
            ("static", "value", "type", "hash"),
            [(code(s.name), code(s.value), code(s.type), esc(static_hash(s))) for s in key.static],
        )
    traced = ""
    if key.traced:
        traced = table(
            ("traced leaf", "shape", "dtype", "weak", "sharding"),
            [
                (
                    code(leaf.path),
                    code(
                        "("
                        + ", ".join(map(str, leaf.shape))
                        + ("," if len(leaf.shape) == 1 else "")
                        + ")"
                    ),
                    code(leaf.dtype),
                    "weak" if leaf.weak_type else "",
                    esc(leaf.sharding or "uncommitted"),
                )
                for leaf in key.traced
            ],
        )
    shown = [name for name in CONTEXT_SHOWN if name in key.context]
    rest = sorted(name for name in key.context if name not in shown)
    context = table(
        ("context", "value"), [(code(n), code(key.context[n])) for n in shown], cls="kv"
    )
    if rest:
        context += tag(
            "details",
            tag("summary", f"{len(rest)} more context options")
            + table(
                ("context", "value"), [(code(n), code(key.context[n])) for n in rest], cls="kv"
            ),
        )
    return section(
        "cache-key", "Cache key", grid + statics + traced + context, f"digest {key.digest}"
    )


def static_hash(s: Any) -> str:
    """The hash JAX looks a static value up by, and the identity-hash trap."""
    hashed = "unhashable" if s.hash is None else str(s.hash)
    return hashed + (
        " (compared by identity: every new object recompiles)"
        if s.compared_by == "identity"
        else ""
    )


def compile_section(info: CompileInfo) -> str:
    """Lowering and compile times, XLA's cost and memory analyses, and the IR texts asked for."""
    items = [
        ("lower", f"{info.lower_seconds:.3f} s"),
        ("compile", f"{info.compile_seconds:.3f} s"),
        ("flops", human_number(info.flops)),
        ("transcendentals", human_number(info.transcendentals)),
        ("bytes accessed", human_bytes(info.bytes_accessed)),
    ]
    if info.memory is not None:
        items += [
            ("argument memory", human_bytes(info.memory.argument_bytes)),
            ("output memory", human_bytes(info.memory.output_bytes)),
            ("temp memory", human_bytes(info.memory.temp_bytes)),
            ("generated code", human_bytes(info.memory.generated_code_bytes)),
        ]
    texts = ""
    for title, text in (("StableHLO", info.stablehlo), ("Optimized HLO", info.hlo)):
        if text is not None:
            texts += tag("details", tag("summary", esc(title)) + tag("pre", esc(text), class_="ir"))
    detail = f"backend {info.backend}" + (f" · {', '.join(info.devices)}" if info.devices else "")
    return section("compile", "Compilation", figures(items) + texts, detail)


def primitives_section(jaxpr: JaxprInfo) -> str:
    """Equations per primitive, most frequent first, with a bar to compare them."""
    items = sorted(Counter(jaxpr.primitives).items(), key=lambda kv: (-kv[1], kv[0]))
    top = items[0][1] if items else 1
    rows = [
        (
            code(name),
            tag("span", f"{count:,}", class_="num"),
            tag("span", "", class_="bar", style=f"width:{max(1, round(100 * count / top))}%"),
        )
        for name, count in items
    ]
    return section(
        "primitives",
        "Primitives",
        table(("primitive", "equations", ""), rows, cls="prims"),
        f"{len(items)} primitives, top-level equations",
    )
