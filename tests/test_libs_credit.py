"""Equations that optax, flax.linen and equinox make inside a call are credited to the user's
line that made the call, in the annotated source, the jaxpr comments and the diff hunk headers.

What each equation should be credited to is read from JAX itself: the frames that
`jax.extend.source_info_util.summarize` lists for each equation of `jax.make_jaxpr`, innermost
last. The innermost of those outside site-packages is the user's line; the innermost of all is
the library frame when it lies in site-packages (JAX leaves out its own frames and the
standard library's)."""

from __future__ import annotations

import functools
import os
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest
from jax.extend import source_info_util

import jaxexplain
from jaxexplain.renderers import render
from jaxexplain.renderers.words import outcome_badge
from jaxexplain.report import SourceListing, TraceReport
from tests.targets.libs import credit as targets

TARGET_FILE = os.path.realpath(targets.__file__)
_FRAME = re.compile(r"(.+?):(\d+)(?::\d+)? \(")


def jax_frames(eqn: Any) -> list[tuple[str, int]]:
    """(file, line) of every frame JAX names for an equation outside JAX and the standard
    library, innermost first."""
    summary = source_info_util.summarize(eqn.source_info, num_frames=1000)
    frames = [_FRAME.match(line) for line in summary.split("\n")]
    return [(m[1], int(m[2])) for m in reversed(frames) if m]


def in_site_packages(file: str) -> bool:
    return bool({"site-packages", "dist-packages"} & set(Path(file).parts))


def library_path(file: str) -> str:
    """`.../site-packages/optax/_src/transform.py` -> `optax/_src/transform.py`."""
    parts = Path(file).parts
    marker = max(i for i, part in enumerate(parts) if part in ("site-packages", "dist-packages"))
    return "/".join(parts[marker + 1 :])


def nested_jaxprs(eqn: Any) -> list[Any]:
    """The jaxprs in an equation's params (a jit's body, a scan's, a custom_jvp's function)."""
    found = []
    for value in eqn.params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            inner = getattr(item, "jaxpr", item)
            found += [inner] if hasattr(inner, "eqns") else []
    return found


def printed_equations(jaxpr: Any) -> list[tuple[Any, Any, Any]]:
    """Every equation JAX prints as (equation, the equation that first calls its jaxpr or None
    at the top level, its jaxpr): the top level's, then those of nested jaxprs breadth first,
    each jaxpr once however many equations call it."""
    seen: set[int] = set()
    pending: list[tuple[Any, Any]] = [(jaxpr, None)]
    out: list[tuple[Any, Any, Any]] = []
    while pending:
        current, caller = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        out += [(eqn, caller, current) for eqn in current.eqns]
        pending += [(inner, eqn) for eqn in current.eqns for inner in nested_jaxprs(eqn)]
    return out


Credit = tuple[int, str | None] | None


def expected_credits(eqns: list[Any]) -> list[Credit]:
    """Per equation: the line of the target file it is credited to, and the library frame
    (`optax/_src/transform.py:294`) that made it where a library did; None for an equation
    made where no user frame was on the stack (inside a library's own jitted body)."""
    out: list[Credit] = []
    for eqn in eqns:
        frames = jax_frames(eqn)
        user = next((f for f in frames if not in_site_packages(f[0])), None)
        if user is None:
            out.append(None)
            continue
        assert os.path.realpath(user[0]) == TARGET_FILE, frames
        library = frames[0] if frames[0] != user else None
        out.append((user[1], f"{library_path(library[0])}:{library[1]}" if library else None))
    return out


def line_credits(jaxpr: Any) -> list[Credit]:
    """Per printed equation, the line it is credited to in the annotated source: its own, as
    `expected_credits` reads it; where JAX recorded no user frame for it (a nested jaxpr is
    traced below the user's frames), the line of the equation that first calls its jaxpr, with
    the library frame that made it (its own where JAX names one, else the caller's)."""
    printed = printed_equations(jaxpr)
    own = dict(
        zip(
            (id(e) for e, _, _ in printed),
            expected_credits([e for e, _, _ in printed]),
            strict=True,
        )
    )
    credits: dict[int, Credit] = {}
    for eqn, caller, _ in printed:
        credit = own[id(eqn)]
        if credit is None and caller is not None and credits[id(caller)] is not None:
            frames = jax_frames(eqn)
            library = frames[0] if frames and in_site_packages(frames[0][0]) else None
            line, caller_library = credits[id(caller)]  # type: ignore[misc]
            shown = f"{library_path(library[0])}:{library[1]}" if library else caller_library
            credit = (line, shown)
        credits[id(eqn)] = credit
    return [credits[id(e)] for e, _, _ in printed]


def comment_credits(jaxpr: Any) -> list[tuple[Any, Credit]]:
    """Per printed equation, the credit its `# file:line` comment names: `line_credits`', but an
    equation without a user frame of its own whose jaxpr several lines call names none (its
    library frame, as JAX does): naming one of those lines would be made up."""
    printed = printed_equations(jaxpr)
    credits = line_credits(jaxpr)
    callers: dict[int, set[int]] = {}
    for (eqn, _, _), credit in zip(printed, credits, strict=True):
        for inner in nested_jaxprs(eqn):
            callers.setdefault(id(inner), set()).add(credit[0] if credit else -1)
    own = expected_credits([e for e, _, _ in printed])
    return [
        (eqn, credit if mine is not None or len(callers.get(id(owner), ())) == 1 else None)
        for (eqn, _, owner), credit, mine in zip(printed, credits, own, strict=True)
    ]


def listing_of(report: TraceReport, line: int) -> SourceListing:
    (listing,) = [
        listing
        for listing in report.sources
        if listing.file == TARGET_FILE and any(row.number == line for row in listing.lines)
    ]
    return listing


def line_of(text: str) -> int:
    """The line of the target file holding `text` (the call a test is about)."""
    lines = Path(TARGET_FILE).read_text().splitlines()
    (number,) = [n for n, line in enumerate(lines, 1) if text in line]
    return number


CASES: dict[str, tuple[Callable[[], TraceReport], Callable[[], Any], str, str]] = {
    "optax": (
        lambda: jaxexplain.trace(targets.optax_step, **targets.optax_args()),
        lambda: jax.make_jaxpr(targets.optax_step)(**targets.optax_args()).jaxpr,
        "optimizer.update(",
        "optax",
    ),
    "flax.linen": (
        lambda: jaxexplain.trace(targets.flax_forward, **targets.flax_args()),
        lambda: jax.make_jaxpr(targets.flax_forward)(**targets.flax_args()).jaxpr,
        "h = nn.Dense(8)(x)",
        "flax",
    ),
    "equinox": (
        lambda: jaxexplain.trace(targets.equinox_forward, **targets.equinox_args()),
        lambda: (
            jax.make_jaxpr(
                functools.partial(
                    targets.equinox_forward.__wrapped__, targets.equinox_args()["model"]
                )
            )(targets.equinox_args()["x"]).jaxpr
        ),
        "y = model(x)",
        "equinox",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_calling_line_counts_the_equations_its_library_call_made(case: str) -> None:
    trace, make_jaxpr, call, library = CASES[case]
    report = trace()
    assert report.ok, report.error
    jaxpr = make_jaxpr()
    credits = line_credits(jaxpr)
    assert None not in credits  # every equation has a user line, its own or its caller's
    per_line = Counter(line for line, _ in credits)  # type: ignore[misc]
    made_by = Counter(
        line
        for line, frame in credits  # type: ignore[misc]
        if frame and frame.startswith(library + "/")
    )
    calling = line_of(call)
    assert per_line[calling] and made_by[calling] == per_line[calling]
    rows = [
        row for listing in report.sources if listing.file == TARGET_FILE for row in listing.lines
    ]
    assert {row.number: row.equations for row in rows if row.equations} == dict(per_line)
    assert sum(row.equations for row in rows) == len(credits) == report.jaxpr.equations_total
    row = {row.number: row for row in rows}[calling]
    assert row.libraries == {library: made_by[calling]}


@pytest.mark.parametrize("case", CASES)
def test_jaxpr_comments_name_the_users_line_then_the_library_frame(case: str) -> None:
    trace, make_jaxpr, _, _ = CASES[case]
    report = trace()
    expected = comment_credits(make_jaxpr())
    credits = [credit for _, credit in expected]
    jaxpr = report.jaxpr
    mine, elsewhere = [], []
    for source, library in zip(jaxpr.line_sources, jaxpr.line_libraries, strict=True):
        if source and os.path.realpath(source.rpartition(":")[0]) == TARGET_FILE:
            line = int(source.rpartition(":")[2])
            file, _, number = (library or "").rpartition(":")
            mine.append((line, f"{library_path(file)}:{number}" if library else None))
        elif source:
            elsewhere.append((source, library))
    assert Counter(mine) == Counter(c for c in credits if c is not None)
    # Equations made with no user frame on the stack, in a jaxpr that several lines call, keep
    # JAX's own library frame, and are not split into a user line and a library.
    unowned = [jax_frames(e) for e, credit in expected if credit is None]
    assert sorted(elsewhere) == sorted((f"{f[0][0]}:{f[0][1]}", None) for f in unowned if f)
    text = render(report, "text", color=False, width=400)
    target = os.path.relpath(TARGET_FILE)
    for credit in credits:
        if credit is not None:
            line, frame = credit
            assert f"# {target}:{line}" + (f" ({frame})" if frame else "") in text


def test_html_names_the_library_beside_the_calling_line_and_each_equation() -> None:
    report = jaxexplain.trace(targets.optax_step, **targets.optax_args())
    page = render(report, "html")
    credits = expected_credits(
        jax.make_jaxpr(targets.optax_step)(**targets.optax_args()).jaxpr.eqns
    )
    assert '<span class="badge lib"' in page
    for _, frame in credits:
        if frame:
            assert f'"{frame}"' in page


def test_diff_hunk_header_names_the_users_line_and_the_library_frame() -> None:
    x = jnp.zeros((4, 3))
    diff = jaxexplain.diff(
        targets.flax_width_forward, x, static_argnames="width", width=4, vs={"width": 5}
    )
    (hunk,) = diff.jaxpr_diff.hunks
    assert os.path.realpath(hunk.source.rpartition(":")[0]) == TARGET_FILE
    calls = {line_of("params = dense.init("), line_of("return dense.apply(")}
    assert int(hunk.source.rpartition(":")[2]) in calls
    assert hunk.library is not None and in_site_packages(hunk.library)
    assert library_path(hunk.library).startswith("flax/")
    header = next(line for line in diff.jaxpr_diff.unified.split("\n") if line.startswith("@@"))
    assert f"{os.path.relpath(TARGET_FILE)}:{hunk.source.rpartition(':')[2]}" in header
    assert f"({library_path(hunk.library.rpartition(':')[0])}:" in header


COUNTED: dict[str, tuple[Callable[[], TraceReport], Callable[[], Any]]] = {
    "numpyro potential": (
        lambda: jaxexplain.trace(targets.numpyro_potential, **targets.numpyro_args()),
        lambda: jax.make_jaxpr(targets.numpyro_potential)(**targets.numpyro_args()).jaxpr,
    ),
    "plain scan and shared jit": (
        lambda: jaxexplain.trace(targets.scan_and_shared, **targets.scan_args()),
        lambda: jax.make_jaxpr(targets.scan_and_shared)(**targets.scan_args()).jaxpr,
    ),
}


@pytest.mark.parametrize("case", COUNTED)
def test_every_line_counts_the_printed_equations_it_made_and_the_listings_sum_to_the_total(
    case: str,
) -> None:
    trace, make_jaxpr = COUNTED[case]
    report = trace()
    assert report.ok, report.error
    credits = line_credits(make_jaxpr())
    assert None not in credits
    per_line = Counter(line for line, _ in credits)  # type: ignore[misc]
    # Some equations have no user frame of their own: the count is not the simpler one.
    assert per_line != Counter(line for line, _ in filter(None, expected_credits_of(make_jaxpr())))
    rows = [row for listing in report.sources for row in listing.lines]
    assert all(listing.file == TARGET_FILE for listing in report.sources)
    assert {row.number: row.equations for row in rows if row.equations} == dict(per_line)
    assert sum(row.equations for row in rows) == len(credits) == report.jaxpr.equations_total
    text = render(report, "text", color=False, width=160)
    for listing in report.sources:
        own = sum(row.equations for row in listing.lines)
        assert f"{listing.function}  " in text
        assert f"{own:,} of {report.jaxpr.equations_total:,} equations" in text


def expected_credits_of(jaxpr: Any) -> list[Credit]:
    """`expected_credits` of every printed equation: each one's own user frame only."""
    return expected_credits([eqn for eqn, _, _ in printed_equations(jaxpr)])


@pytest.mark.parametrize("width", [80, 100, 160])
def test_the_listing_shows_every_source_line_whole_at_any_width(width: int) -> None:
    report = jaxexplain.trace(targets.numpyro_log_joint, **targets.log_joint_args())
    assert report.ok, report.error
    text = render(report, "text", color=False, width=width)
    listed = text[text.index("\nSource") : text.index("\nJaxpr")]
    assert all(len(line) <= width for line in listed.split("\n"))
    flat = " ".join(listed.split())
    lines = [row for listing in report.sources for row in listing.lines]
    assert any(len(row.text) > width // 2 for row in lines)
    for row in lines:
        assert f"{row.number} " in listed
        assert " ".join(row.text.split()) in flat, (width, row.text)
    notes = [d for d in report.decisions if d.file == TARGET_FILE]
    assert notes and all(" ".join(outcome_badge(d).split()) in flat for d in notes)


@pytest.mark.parametrize("width", [80, 100, 160])
def test_hunk_headers_name_the_users_line_and_source_before_the_library(width: int) -> None:
    args = targets.numpyro_args()
    diff = jaxexplain.diff(
        targets.numpyro_potential,
        compile=False,
        vs={"x": jnp.ones((9, 3)), "y": jnp.ones(9)},
        **args,
    )
    hunks = [hunk for hunk in diff.jaxpr_diff.hunks if hunk.source]
    # The changes inside numpyro's while_loop body have no user frame of their own.
    assert len(hunks) > 1 and all(hunk.library for hunk in hunks)
    assert all(os.path.realpath(hunk.source.rpartition(":")[0]) == TARGET_FILE for hunk in hunks)
    lines = render(diff, "text", color=False, width=width).split("\n")
    target = os.path.relpath(TARGET_FILE)
    for hunk in hunks:
        head = f"@@ -{hunk.a_start},{hunk.a_lines} +{hunk.b_start},{hunk.b_lines} @@ "
        (k,) = [k for k, line in enumerate(lines) if line.startswith(head)]
        where = f"{head}{target}:{hunk.source.rpartition(':')[2]}"
        shown = " ".join(lines[k : k + 2])
        assert lines[k].startswith(where) and hunk.source_text.strip() in shown
        file, _, number = hunk.library.rpartition(":")
        whole = f"{where}  {hunk.source_text.strip()}  ({library_path(file)}:{number})"
        assert (lines[k] == whole) == (len(whole) <= width)
        assert all(len(line) <= width for line in lines[k : k + 2])
