"""The HTML page of a trace report: the failure first, then the annotated source beside the
jaxpr it produced (linked line to line), decisions, arguments, cache key, compilation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pygments.lexers.python import PythonLexer

from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers.html.collectives import collectives_html
from jaxexplain.renderers.html.failure import error_section
from jaxexplain.renderers.html.page import (
    PAGE,
    Embedded,
    Page,
    Scope,
    code,
    esc,
    figures,
    highlight_lines,
    nav,
    section,
    source_label,
    table,
    tag,
    tokenize_lines,
)
from jaxexplain.renderers.html.summary import summary_section, trace_summary_lines
from jaxexplain.renderers.words import (
    DECIDED_MOST,
    NEVER_RAN,
    STATIC_TRAPS,
    STATIC_TRAPS_DETAIL,
    as_written,
    capitalized,
    compared_by_text,
    deciding_statics_text,
    decision_outcome,
    decisions_detail,
    defined_at,
    dependencies_text,
    disk_key_line,
    equations_text,
    figure_text,
    format_aval_tree,
    hash_time_text,
    human_number,
    library_decision_text,
    location,
    outcome_badge,
    placement_text,
    seconds_text,
    shape_text,
    static_hash_text,
    static_trap_texts,
    unrolled_text,
)
from jaxexplain.report import (
    CacheKey,
    CompileInfo,
    Decision,
    JaxprInfo,
    LibraryDecision,
    PersistentKey,
    SourceLine,
    SourceListing,
    TraceReport,
)
from jaxexplain.userfiles import library_label, short_identity, short_path
from jaxexplain.views import (
    compile_figures,
    context_split,
    deciding_statics,
    decisions_by_line,
    fold_ranges,
    inherited_sources,
    primitives_by_count,
    unrolled_loops,
)


def render(report: TraceReport, *, color: bool = False, width: int = 100) -> str:
    """The trace report as one self-contained HTML page, starting with `<!DOCTYPE html>`
    (colors and width do not apply: the page has its colors and reflows)."""
    return trace_page(report).html()


def trace_page(report: TraceReport) -> Page:
    """The trace report: failure first, then source beside jaxpr, decisions, key, compile."""
    part = trace_report(report, PAGE)
    return Page(
        title=f"jaxexplain trace {report.target}",
        kind="trace",
        body=tag("main", trace_header(report) + part.body),
        data={"kind": "trace", "jaxpr": part.panes["jaxpr"]},
    )


def trace_report(report: TraceReport, scope: Scope) -> Embedded:
    """The trace report's sections, on a page of their own or embedded under `scope`."""
    jaxpr_data = jaxpr_pane_data(report.jaxpr) if report.jaxpr is not None else None
    hues = dict(zip(jaxpr_data["srcs"], jaxpr_data["hue"], strict=True)) if jaxpr_data else {}
    parts = [
        summary_section(trace_summary_lines(report), scope),
        error_section(report.error, scope=scope) if report.error is not None else "",
        summary_figures(report),
        code_section(report, hues, scope),
        decisions_section(report.decisions, report.decisions_unavailable, scope),
        library_decisions_section(report.library_decisions, scope),
        arguments_section(report, scope),
        cache_key_section(report.cache_key, scope) if report.cache_key is not None else "",
        static_traps_section(report, scope),
        compile_section(report.compile, scope) if report.compile is not None else "",
        persistent_section(report.persistent, scope) if report.persistent is not None else "",
        primitives_section(report.jaxpr, scope) if report.jaxpr is not None else "",
    ]
    return Embedded("".join(parts), {"scope": scope.prefix, "jaxpr": jaxpr_data}, scope)


def trace_header(report: TraceReport) -> str:
    """Target, where the function lives, whether it traced, and links to the sections."""
    title = tag(
        "h1",
        tag("span", "jaxexplain trace", class_="tool")
        + " "
        + code(report.target)
        + " "
        + trace_status(report),
    )
    sub = tag(
        "div",
        esc(defined_at(report.function))
        + (f" · JAX {esc(report.jax_version)}" if report.jax_version else ""),
        class_="sub",
    )
    return tag("header", title + sub + trace_nav(report))


def trace_status(report: TraceReport) -> str:
    """`traced in 0.125 s` on green, or `failed` on red."""
    if not report.ok:
        return tag("span", "failed", class_="status bad")
    status = "traced" + (
        f" in {seconds_text(report.trace_seconds)}" if report.trace_seconds is not None else ""
    )
    return tag("span", esc(status), class_="status ok")


def trace_nav(report: TraceReport, scope: Scope = PAGE) -> str:
    """Links to the sections this trace report has."""
    return nav(
        [
            ("summary", "Summary", True),
            ("error", "Failure", report.error is not None),
            ("code", "Source & jaxpr", bool(report.sources) or report.jaxpr is not None),
            ("decisions", "Decisions", bool(report.decisions)),
            ("arguments", "Arguments", True),
            ("cache-key", "Cache key", report.cache_key is not None),
            ("compile", "Compilation", report.compile is not None),
            ("persistent", "Persistent cache key", report.persistent is not None),
            ("primitives", "Primitives", report.jaxpr is not None),
        ],
        scope,
    )


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
        items.append(("trace", seconds_text(report.trace_seconds)))
    if report.compile is not None:
        lower_and_compile = report.compile.lower_seconds + report.compile.compile_seconds
        items.append(("lower + compile", seconds_text(lower_and_compile)))
        items.append(("flops", human_number(report.compile.flops)))
    if report.cache_key is not None:
        items.append(("cache key digest", report.cache_key.digest))
    return figures(items)


def code_section(report: TraceReport, hues: dict[str, int], scope: Scope = PAGE) -> str:
    """The annotated source beside the jaxpr; either may be missing (no listing, failed trace)."""
    if not report.sources and report.jaxpr is None:
        return ""
    decisions_at = decisions_by_line(report.decisions)
    error_at = (
        (report.error.file, report.error.line)
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
            + tag("div", listings, class_="scroll", id=scope.id("src-scroll")),
            class_="pane src-pane",
        )
    jaxpr_pane = ""
    if report.jaxpr is not None:
        jaxpr_pane = tag("div", scope.pane("jaxpr_pane.html"), class_="pane jaxpr-pane")
    detail = "hover or click a line to see its counterpart" if source_pane and jaxpr_pane else ""
    split = tag(
        "div",
        source_pane + jaxpr_pane,
        class_="split" + (" single" if not (source_pane and jaxpr_pane) else ""),
    )
    return section("code", "Source and jaxpr", split, detail, scope)


def listing_html(
    listing: SourceListing,
    hues: dict[str, int],
    decisions_at: dict[tuple[str, int], list[Decision]],
    error_at: tuple[str, int | None] | None,
) -> str:
    """One function's source: line numbers, equation counts, decisions inline, dead lines grey."""
    highlighted = highlight_lines("\n".join(line.text for line in listing.lines), PythonLexer())
    rows = []
    for line, html_text in zip(listing.lines, highlighted, strict=False):
        key = f"{listing.file}:{line.number}"
        here = (listing.file, line.number)
        classes = ["sl"]
        if not line.ran:
            classes.append("dead")
        if key in hues:
            classes.append("linked")
        if here == error_at:
            classes.append("fails")
        count = tag(
            "span",
            str(line.equations) if line.equations else "",
            class_="eqs",
            title=equations_text(line.equations, line.libraries) or None,
        )
        notes = library_badge(line) + "".join(decision_badge(d) for d in decisions_at.get(here, ()))
        if here == error_at:
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
                title=None if line.ran else f"{NEVER_RAN} while tracing",
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


def decisions_section(
    decisions: Sequence[Decision], unavailable: str | None = None, scope: Scope = PAGE
) -> str:
    """Every Python decision frozen into the trace, with what it depended on; where none
    could be recorded, why."""
    if not decisions and unavailable:
        return section(
            "decisions", "Baked-in decisions", tag("p", esc(unavailable)), "not recorded", scope
        )
    if not decisions:
        return ""
    rows = [
        (
            code(location(d.file, d.line)),
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
        decision_summary(decisions) + table(("where", "decision", "outcome", "depends on"), rows),
        decisions_detail(len(decisions)),
        scope,
    )


def decision_summary(decisions: Sequence[Decision]) -> str:
    """What most deserves attention: big unrolled loops, and the statics that decided most."""
    warnings = "".join(
        tag(
            "p",
            code(as_written(loop.decision.kind, loop.decision.source))
            + esc(f" at {location(loop.decision.file, loop.decision.line)} {unrolled_text(loop)}"),
            class_="warning",
        )
        for loop in unrolled_loops(decisions)
    )
    deciders = deciding_statics(decisions)
    if deciders:
        warnings += tag("p", esc(f"{capitalized(DECIDED_MOST)}: {deciding_statics_text(deciders)}"))
    return warnings


def library_decisions_section(decisions: Sequence[LibraryDecision], scope: Scope = PAGE) -> str:
    """Tests inside installed libraries on the target's statics, one line each."""
    if not decisions:
        return ""
    items = "".join(tag("li", esc(library_decision_text(d))) for d in decisions)
    return section(
        "library-decisions",
        "Decided in libraries",
        tag("ul", items),
        f"{len(decisions)} tests",
        scope,
    )


def arguments_section(report: TraceReport, scope: Scope = PAGE) -> str:
    """Every parameter: its role, where it came from, its value or abstract value."""
    rows = [
        (
            code(a.name),
            tag("span", esc(a.role), class_=f"role {a.role}"),
            esc(a.source),
            code(a.value if a.role == "static" else format_aval_tree(a.aval, a.pytree)),
        )
        for a in report.arguments
    ]
    notes = "".join(tag("p", "note: " + esc(n), class_="note") for n in report.notes)
    return section(
        "arguments",
        "Arguments",
        table(("parameter", "role", "from", "value / abstract value"), rows) + notes,
        scope=scope,
    )


def static_traps_section(report: TraceReport, scope: Scope = PAGE) -> str:
    """The traps the statics set (a stale entry, an unfrozen dataclass, a slow hash)."""
    traps = static_trap_texts(report.cache_key, report.notes) if report.cache_key else []
    if not traps:
        return ""
    items = "".join(tag("li", esc(trap), class_="warning") for trap in traps)
    return section("static-traps", STATIC_TRAPS, tag("ul", items), STATIC_TRAPS_DETAIL, scope)


def cache_key_section(key: CacheKey, scope: Scope = PAGE) -> str:
    """The cache key's components, the context options that matter first, the rest folded."""
    grid = table(
        ("component", "value"),
        [("function", code(short_identity(key.function))), ("pytree", code(key.treedef))],
        cls="kv",
    )
    statics = ""
    if key.static:
        statics = table(
            ("static", "value", "type", "hash", "compared", "hash time"),
            [
                (
                    code(s.name),
                    code(s.value),
                    code(s.type),
                    esc(static_hash_text(s)),
                    esc(compared_by_text(s)),
                    esc(hash_time_text(s)),
                )
                for s in key.static
            ],
        )
    traced = ""
    if key.traced:
        traced = table(
            ("traced leaf", "shape", "dtype", "weak", "sharding"),
            [
                (
                    code(leaf.path),
                    code(shape_text(leaf.shape)),
                    code(leaf.dtype),
                    "weak" if leaf.weak_type else "",
                    esc(placement_text(leaf.sharding, leaf.on_device)),
                )
                for leaf in key.traced
            ],
        )
    shown, rest = context_split(key)
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
        "cache-key", "Cache key", grid + statics + traced + context, f"digest {key.digest}", scope
    )


def compile_section(info: CompileInfo, scope: Scope = PAGE) -> str:
    """Lowering and compile times, XLA's cost and memory analyses, and the IR texts asked for."""
    items = [(f.label, figure_text(f.value, f.unit)) for f in compile_figures(info)]
    texts = ""
    for title, text in (("StableHLO", info.stablehlo), ("Optimized HLO", info.hlo)):
        if text is not None:
            texts += tag("details", tag("summary", esc(title)) + tag("pre", esc(text), class_="ir"))
    detail = f"backend {info.backend}" + (f" · {', '.join(info.devices)}" if info.devices else "")
    content = figures(items) + collectives_html(info) + texts
    return section("compile", "Compilation", content, detail, scope)


def persistent_section(persistent: PersistentKey, scope: Scope = PAGE) -> str:
    """The call's key in JAX's persistent compilation cache, whether the cache directory in effect
    holds it, and the digest of each part the key is made of (cut as in text; whole on hover)."""
    rows = [
        (code(part), tag("code", esc(digest[:16]), title=digest))
        for part, digest in persistent.parts.items()
    ]
    status = "hit" if persistent.would_hit else "miss"
    line = tag("p", esc(disk_key_line(persistent)), class_=f"disk {status}")
    return section(
        "persistent",
        "Persistent cache key",
        line + table(("part", "digest"), rows, cls="kv"),
        f"{len(rows)} parts",
        scope,
    )


def primitives_section(jaxpr: JaxprInfo, scope: Scope = PAGE) -> str:
    """Equations per primitive, most frequent first, with a bar to compare them."""
    items = primitives_by_count(jaxpr.primitives)
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
        scope,
    )


def jaxpr_pane_data(jaxpr: JaxprInfo) -> dict[str, Any]:
    """The JSON the jaxpr pane's script reads: text, token runs, source ids (each line's own
    or inherited source), folds, colors, and the library frame that made each line's equation
    where a library did."""
    rows = tokenize_lines(jaxpr.text, JaxprLexer())
    folds = fold_ranges(rows.brackets)
    sources = inherited_sources(len(rows.lines), jaxpr.line_sources, folds)
    src_ids: dict[str, int] = {}
    ids = [-1 if s is None else src_ids.setdefault(s, len(src_ids)) for s in sources]
    names = list(src_ids)
    lib_ids: dict[str, int] = {}
    libs = [
        -1 if not lib else lib_ids.setdefault(lib, len(lib_ids)) for lib in jaxpr.line_libraries
    ]
    lib_labels = [library_label(lib) for lib in lib_ids]
    # A library frame is drawn after its line as `  # optax/...:294`: the row is that wide.
    widths = [
        len(line) + (len(lib_labels[libs[i]]) + 4 if i < len(libs) and libs[i] >= 0 else 0)
        for i, line in enumerate(rows.lines)
    ]
    return {
        "lib": libs,
        "libs": lib_labels,
        "lines": rows.lines,
        "tok": rows.tokens,
        "cls": rows.classes,
        "src": ids,
        "srcs": names,
        "labels": [source_label(s) for s in names],
        "hue": [hue(i) for i in range(len(names))],
        "folds": [n for fold in folds for n in fold],
        "width": max(widths, default=0),
    }


def hue(index: int) -> int:
    """Well-separated hues for successive source lines (the golden angle)."""
    return round(index * 137.508) % 360
