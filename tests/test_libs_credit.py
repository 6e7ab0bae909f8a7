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


def printed_equations(jaxpr: Any) -> list[Any]:
    """Every equation JAX prints: the top level's, then those of nested jaxprs (a jit's body,
    a custom_jvp's function), each jaxpr once however many equations call it."""
    seen: set[int] = set()
    pending, out = [jaxpr], []
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        out += current.eqns
        for eqn in current.eqns:
            for value in eqn.params.values():
                for item in value if isinstance(value, (tuple, list)) else (value,):
                    inner = getattr(item, "jaxpr", item)
                    pending += [inner] if hasattr(inner, "eqns") else []
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
    credits = [c for c in expected_credits(printed_equations(jaxpr)) if c is not None]
    assert all(expected_credits(jaxpr.eqns))  # every top-level equation has a user line
    per_line = Counter(line for line, _ in credits)
    made_by = Counter(line for line, frame in credits if frame and frame.startswith(library + "/"))
    calling = line_of(call)
    assert per_line[calling] and made_by[calling] == per_line[calling]
    rows = [
        row for listing in report.sources if listing.file == TARGET_FILE for row in listing.lines
    ]
    assert {row.number: row.equations for row in rows if row.equations} == dict(per_line)
    assert sum(row.equations for row in rows) == len(credits) >= report.jaxpr.equations
    row = {row.number: row for row in rows}[calling]
    assert row.libraries == {library: made_by[calling]}


@pytest.mark.parametrize("case", CASES)
def test_jaxpr_comments_name_the_users_line_then_the_library_frame(case: str) -> None:
    trace, make_jaxpr, _, _ = CASES[case]
    report = trace()
    eqns = printed_equations(make_jaxpr())
    credits = expected_credits(eqns)
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
    # Equations made with no user frame on the stack keep JAX's own library frame, and are
    # not split into a user line and a library.
    unowned = [jax_frames(e) for e, c in zip(eqns, credits, strict=True) if c is None]
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
