"""jaxpr_diff: canonical names, aligned equations, unified hunks headed by the user's line, and
each hunk's lines side by side."""

from __future__ import annotations

import re
from collections import Counter
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain.api import diff_target
from jaxexplain.diffing.jaxpr_diff import canonical_name, hunk_header, hunk_span, jaxpr_diff
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.renderers import render
from jaxexplain.report import JaxprDiff, JaxprInfo
from tests.targets.diffing import many_carries, maybe_cos, power, scaled, shared, summed

TRAINING = "tests.targets.training.mlp_step"


def traced_jaxpr(fn: Any, *args: Any, **static: Any) -> JaxprInfo:
    report = jaxexplain.trace(fn, *args, static_argnames=tuple(static), compile=False, **static)
    assert report.jaxpr is not None
    return report.jaxpr


def test_renaming_is_no_change() -> None:
    info = traced_jaxpr(power, "f32[3]", n=5)
    mirror = {chr(97 + k): chr(122 - k) for k in range(26)}
    renamed = re.sub(r"(?<![\w.])([a-z])(?![\w\[])", lambda m: mirror[m[1]], info.text)
    assert renamed != info.text
    diff = jaxpr_diff(info, JaxprInfo(renamed, info.equations, info.primitives))
    assert (diff.added, diff.removed, diff.changed, diff.unified) == (0, 0, 0, "")


def test_a_changed_literal_is_one_changed_equation() -> None:
    a = traced_jaxpr(scaled, "f32[3]", n=2.0)
    b = traced_jaxpr(scaled, "f32[3]", n=3.0)
    diff = jaxpr_diff(a, b)
    assert (diff.added, diff.removed, diff.changed) == (0, 0, 1)
    assert "-    b:f32[3] = mul a 2.0:f32[]" in diff.unified
    assert "+    b:f32[3] = mul a 3.0:f32[]" in diff.unified


def test_an_inserted_equation_rewires_its_reader() -> None:
    a = traced_jaxpr(maybe_cos, "f32[3]", flag=False)
    b = traced_jaxpr(maybe_cos, "f32[3]", flag=True)
    diff = jaxpr_diff(a, b)
    assert (diff.added, diff.removed, diff.changed) == (1, 0, 1)
    assert diff.primitive_deltas == {"cos": 1}
    lines = [
        line for line in diff.unified.split("\n") if line[:1] in "+-" and line[:3] not in "---+++"
    ]
    assert lines == [
        "+    c:f32[3] = cos b",
        "-    d:f32[3] = exp b",
        "+    d:f32[3] = exp c",
    ], "one canonical name for both sides' exp: its output line is no change"


def test_hunks_name_the_user_source_line_in_a_header_built_from_their_fields() -> None:
    a = traced_jaxpr(power, "f32[3]", n=3)
    b = traced_jaxpr(power, "f32[3]", n=4)
    line = power.__code__.co_firstlineno + 3
    loop_body = f"{power.__code__.co_filename}:{line}"
    diff = jaxpr_diff(a, b, {loop_body: "y = y * x"}.get)
    (hunk,) = diff.hunks
    assert (hunk.source, hunk.source_text, hunk.library) == (loop_body, "y = y * x", None)
    header = diff.unified.split("\n")[2]
    assert (
        header == hunk_header(hunk) == f"@@ -3,4 +3,5 @@ tests/targets/diffing.py:{line}  y = y * x"
    )
    assert hunk_span(hunk) == "-3,4 +3,5"


def test_multiline_parameters_change_as_one_equation() -> None:
    a = traced_jaxpr(summed, "f32[3,4]", axis=0)
    b = traced_jaxpr(summed, "f32[3,4]", axis=1)
    diff = jaxpr_diff(a, b)
    assert (diff.added, diff.removed, diff.changed) == (0, 0, 2)
    assert "axes=(0,)" in diff.unified and "axes=(1,)" in diff.unified


def test_nested_jaxprs_compare_by_structure_not_names() -> None:
    def nested(x: Any, k: Any) -> Any:
        y = jnp.sin(x) * k
        return jax.lax.cond(y.sum() > 0, lambda v: v * 2, lambda v: v - 1, y), jax.nn.relu(y)

    a = traced_jaxpr(nested, "f32[3]", k=2.0)
    b = traced_jaxpr(nested, "f32[3]", k=3.0)
    diff = jaxpr_diff(a, b)
    assert (diff.added, diff.removed, diff.changed) == (0, 0, 1)


@pytest.mark.parametrize(
    ("fn", "spec"),
    [(shared, "f32[4]"), (many_carries, "f32[5]"), (jnp.sin, "f32[4]")],
    ids=["shared", "many_carries", "one_line"],
)
def test_a_jaxpr_is_no_change_from_itself(fn: Any, spec: str) -> None:
    info = traced_jaxpr(fn, spec)
    diff = jaxpr_diff(info, info)
    assert (diff.unified, diff.hunks, diff.equations_a) == ("", (), info.equations)


def test_one_line_jaxprs_diff_per_equation() -> None:
    a = JaxprInfo("{ lambda ; a:f32[4]. let b:f32[4] = sin a in (b,) }", 1, {"sin": 1})
    b = JaxprInfo("{ lambda ; a:f32[4]. let b:f32[4] = cos a in (b,) }", 1, {"cos": 1})
    diff = jaxpr_diff(a, b)
    assert (diff.added, diff.removed, diff.changed) == (1, 1, 0)
    assert diff.primitive_deltas == {"cos": 1, "sin": -1}


def test_unparsable_text_falls_back_to_lines_on_both_sides() -> None:
    diff = jaxpr_diff(JaxprInfo("alpha\nbeta", 2, {}), JaxprInfo("alpha\ngamma", 2, {}))
    assert "-beta" in diff.unified and "+gamma" in diff.unified
    jaxpr = "{ lambda ; a:f32[3]. let\n    b:f32[3] = sin a\n  in (b,) }"
    diff = jaxpr_diff(JaxprInfo(jaxpr, 1, {}), JaxprInfo(jaxpr + "\nnot a jaxpr", 1, {}))
    assert diff.unified.endswith("+not a jaxpr\n") and diff.added == 1


def test_canonical_names_follow_jax() -> None:
    assert [canonical_name(k) for k in (0, 25, 26, 27, 675, 676)] == [
        "a",
        "z",
        "ba",
        "bb",
        "zz",
        "baa",
    ]


def test_large_unrolled_loops_align_exactly() -> None:
    """20,000 equations, one literal changed and one unread equation added far apart: exactly
    one changed and one added, everything else equal (its readers included)."""
    lines = ["{ lambda ; a:f32[3]. let"]
    for k in range(20_000):
        previous = canonical_name(k) if k else "a"
        lines.append(f"    {canonical_name(k + 1)}:f32[3] = mul {previous} a")
    close = f"  in ({canonical_name(20_000)},) }}"
    b_lines = list(lines)
    b_lines[5001] = b_lines[5001].replace(" a", " 2.0:f32[]")
    b_lines.insert(12_000, "    zzzz:f32[3] = cos a")
    a_info = JaxprInfo("\n".join([*lines, close]), 20_000, {"mul": 20_000})
    b_info = JaxprInfo("\n".join([*b_lines, close]), 20_001, {"mul": 20_000, "cos": 1})
    diff = jaxpr_diff(a_info, b_info)
    assert (diff.added, diff.removed, diff.changed, diff.approximate) == (1, 0, 1, 0)
    assert diff.primitive_deltas == {"cos": 1}


# --- each hunk's lines side by side ----------------------------------------------------------


def made_jaxpr(fn: Any, *args: Any) -> JaxprInfo:
    """What `jax.make_jaxpr` prints, with its equation and primitive counts."""
    jaxpr = jax.make_jaxpr(fn)(*args)
    primitives = Counter(eqn.primitive.name for eqn in jaxpr.eqns)
    return JaxprInfo(str(jaxpr), len(jaxpr.eqns), dict(primitives))


def row_kinds(diff: JaxprDiff) -> Counter[str]:
    return Counter(row.kind for hunk in diff.hunks for row in hunk.rows)


@pytest.mark.parametrize(("n_a", "n_b"), [(3, 6), (6, 3)], ids=["longer", "shorter"])
def test_rows_count_the_added_and_removed_equations(n_a: int, n_b: int) -> None:
    x = jnp.ones(3)
    a = made_jaxpr(partial(power, n=n_a), x)
    b = made_jaxpr(partial(power, n=n_b), x)
    diff = jaxpr_diff(a, b)
    assert (diff.added, diff.removed) == (
        max(b.equations - a.equations, 0),
        max(a.equations - b.equations, 0),
    )
    kinds = row_kinds(diff)
    assert (kinds["added"], kinds["removed"]) == (diff.added, diff.removed)


def test_a_changed_equation_is_one_row_with_both_sides() -> None:
    """Summing a square over the other axis changes one parameter of one equation."""
    x = jnp.ones((3, 3))
    a = made_jaxpr(partial(summed, axis=0), x)
    b = made_jaxpr(partial(summed, axis=1), x)
    diff = jaxpr_diff(a, b)
    assert diff.changed == 1
    (changed,) = [row for hunk in diff.hunks for row in hunk.rows if row.kind == "changed"]
    (line_a,) = [k for k, line in enumerate(a.text.split("\n"), 1) if " = reduce_sum" in line]
    (line_b,) = [k for k, line in enumerate(b.text.split("\n"), 1) if " = reduce_sum" in line]
    assert (changed.a_line, changed.b_line) == (line_a, line_b)
    assert changed.a is not None and changed.a.strip() == a.text.split("\n")[line_a - 1].strip()
    assert changed.b is not None and changed.b.strip() == b.text.split("\n")[line_b - 1].strip()


def test_a_removed_equation_stays_apart_from_the_changed_one_after_it() -> None:
    """Removing `cos` rewires `exp`: the rows are `cos` removed, then `exp` beside `exp`, not
    `cos` beside `exp` by position."""
    x = jnp.ones(3)
    diff = jaxpr_diff(
        made_jaxpr(partial(maybe_cos, flag=True), x), made_jaxpr(partial(maybe_cos, flag=False), x)
    )
    removed, changed = [row for row in diff.hunks[0].rows if row.kind != "context"]
    assert (removed.kind, changed.kind) == ("removed", "changed")
    assert " = cos " in (removed.a or "") and removed.b is None
    assert " = exp " in (changed.a or "") and " = exp " in (changed.b or "")


def test_rows_hold_the_unified_lines_with_their_numbers() -> None:
    """Each side's rows, in order, are that side's lines of the unified hunk (context lines on
    both), numbered on from the hunk header's starts."""
    a = traced_jaxpr(summed, "f32[3,4]", axis=0)
    b = traced_jaxpr(summed, "f32[3,4]", axis=1)
    diff = jaxpr_diff(a, b)
    bodies = re.split(r"^@@.*\n", diff.unified, flags=re.MULTILINE)[1:]
    assert len(bodies) == len(diff.hunks)
    for hunk, body in zip(diff.hunks, bodies, strict=True):
        lines = body.rstrip("\n").split("\n")
        a_side = [line[1:] for line in lines if line[:1] in " -"]
        b_side = [line[1:] for line in lines if line[:1] in " +"]
        assert [row.a for row in hunk.rows if row.a is not None] == a_side
        assert [row.b for row in hunk.rows if row.b is not None] == b_side
        a_numbers = [row.a_line for row in hunk.rows if row.a is not None]
        b_numbers = [row.b_line for row in hunk.rows if row.b is not None]
        assert a_numbers == list(range(hunk.a_start, hunk.a_start + len(a_side)))
        assert b_numbers == list(range(hunk.b_start, hunk.b_start + len(b_side)))


def test_diff_heading_counts_equations_as_the_trace_reports_and_jax_do() -> None:
    """The jaxpr diff counts top-level equations, as each side's trace and jax.make_jaxpr do
    (a change inside a nested jaxpr counts once, on the equation that calls it)."""
    vs = '[{"w": "f32[32,128]", "b": "f32[128]"}, {"w": "f32[128,10]", "b": "f32[10]"}]'
    report = diff_target(
        f"{TRAINING}:train_step",
        vs={"params": vs},
        args_from=f"{TRAINING}:train_args",
        compile=False,
        verify_limit=None,
    )
    assert report.ok and report.jaxpr_diff is not None
    target, plan = prepare_target(f"{TRAINING}:train_step", {}, {}, f"{TRAINING}:train_args")
    args, kwargs = plan.call_args()
    jax_count = len(
        jax.jit(target.function, static_argnames="config").trace(*args, **kwargs).jaxpr.eqns
    )
    assert report.a.jaxpr is not None and report.a.jaxpr.equations == jax_count
    assert report.jaxpr_diff.equations_a == jax_count
    assert report.b.jaxpr is not None
    assert report.jaxpr_diff.equations_b == report.b.jaxpr.equations
    text = render(report, "text", width=100)
    heading = next(line for line in text.splitlines() if line.startswith("Jaxpr diff"))
    assert f"  {jax_count} -> {report.b.jaxpr.equations} equations" in heading
    html = render(report, "html")
    assert f"{jax_count} → {report.b.jaxpr.equations}</div><div>equations A → B" in html
