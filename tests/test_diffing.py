"""diff(a, b): exact cache-key reasons checked against JAX's cache, flipped decisions, jaxpr alignment."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain import api
from jaxexplain.diffing import reports as diffing
from jaxexplain.diffing.align import Budget, align
from jaxexplain.diffing.jaxpr_diff import canonical_name, jaxpr_diff
from jaxexplain.diffing.jaxpr_parse import parse_jaxpr
from jaxexplain.report import (
    Decision,
    DiffReport,
    FunctionInfo,
    JaxprInfo,
    TraceReport,
)

ROOT = Path(__file__).resolve().parent.parent


def scaled(x: Any, n: Any) -> Any:
    return x * n


def power(x: Any, n: Any) -> Any:
    y = jnp.ones_like(x)
    for _ in range(n):
        y = y * x
    return y


def maybe_cos(x: Any, flag: Any) -> Any:
    y = jnp.sin(x)
    if flag:
        y = jnp.cos(y)
    return jnp.exp(y)


def summed(x: Any, axis: Any) -> Any:
    return jnp.sum(x, axis=axis) * 2.0


class Loose:
    """Equal to every other Loose and hashed alike, yet each has its own repr."""

    def __init__(self, tag: int) -> None:
        self.tag = tag

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Loose)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"Loose({self.tag})"


def with_config(x: Any, config: Any) -> Any:
    return x + 1


@pytest.fixture
def jax_explanations() -> Iterator[list[str]]:
    """What `jax_explain_cache_misses` logs (through the `jax` logger) while the test runs."""
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("jax")
    logger.addHandler(handler)
    jax.config.update("jax_explain_cache_misses", True)
    try:
        yield messages
    finally:
        jax.config.update("jax_explain_cache_misses", False)
        logger.removeHandler(handler)


def misses_for(messages: list[str], name: str) -> list[str]:
    return [m for m in messages if "TRACING CACHE MISS" in m and f"for {name} " in m]


def components(report: DiffReport) -> list[tuple[str, str]]:
    return [(c.component, c.path) for c in report.cache_key_changes]


# --- the verdict, checked against JAX ------------------------------------------------------


def test_static_change_recompiles_and_jax_confirms() -> None:
    report = api.diff(power, x="f32[3]", n=3, static_argnames="n", vs={"n": 4}, compile=False)
    assert report.recompiles is report.predicted is True
    assert report.verified
    assert report.verification is not None
    assert (report.verification.cache_size_a, report.verification.cache_size_b) == (1, 2)
    assert components(report) == [("static", "n")]
    assert [(c.a, c.b) for c in report.cache_key_changes] == [("3", "4")]


def test_nothing_changed_is_no_recompile_and_an_empty_jaxpr_diff() -> None:
    report = api.diff(power, x="f32[3]", n=3, static_argnames="n", vs={"n": 3}, compile=False)
    assert report.recompiles is False and report.verified
    assert report.cache_key_changes == () and report.decision_changes == ()
    assert report.jaxpr_diff is not None
    diff = report.jaxpr_diff
    assert (diff.added, diff.removed, diff.changed, diff.unified) == (0, 0, 0, "")


def test_shape_only_flags_the_shape_not_the_statics() -> None:
    report = api.diff(power, x="f32[3]", n=3, static_argnames="n", vs={"x": "f32[5]"})
    assert components(report) == [("shape", "x")]
    assert report.verified and report.recompiles
    assert report.jaxpr_diff is not None and report.jaxpr_diff.changed == 4
    assert report.jaxpr_diff.added == report.jaxpr_diff.removed == 0


def test_shape_and_static_together_where_jax_names_only_one(
    jax_explanations: list[str],
) -> None:
    """JAX's explainer names the static (0.10) or the shape (0.12); the diff names both."""
    jitted = jax.jit(scaled, static_argnames="n")
    jitted(x=jnp.zeros(3), n=1)
    jitted(x=jnp.zeros(4), n=2)
    (explained,) = misses_for(jax_explanations, "scaled")
    assert ("f32[4]" in explained) != ("'n'" in explained), explained

    report = api.diff(
        scaled, x="f32[3]", n=1, static_argnames="n", vs={"x": "f32[4]", "n": 2}, compile=False
    )
    assert components(report) == [("static", "n"), ("shape", "x")]
    assert report.verified and report.recompiles


def test_int_vs_float_static_where_jax_names_no_type(jax_explanations: list[str]) -> None:
    """2 == 2.0 and hash(2) == hash(2.0), yet JAX compiles again: the type is in its key.
    JAX's explainer shows two equal-looking values (0.10) or nothing (0.12)."""
    jitted = jax.jit(scaled, static_argnames="n")
    jitted(x=jnp.zeros(3), n=2)
    jitted(x=jnp.zeros(3), n=2.0)
    (explained,) = misses_for(jax_explanations, "scaled")
    assert not re.search(r"\b(int|float)\b", explained), explained

    report = api.diff(scaled, x="f32[3]", n=2, static_argnames="n", vs={"n": 2.0}, compile=False)
    ((component, path, a, b),) = [(c.component, c.path, c.a, c.b) for c in report.cache_key_changes]
    assert (component, path) == ("static_type", "n")
    assert "int" in a and "float" in b
    assert report.verified and report.recompiles


def test_input_committed_to_another_device_where_jax_says_nothing(tmp_path: Path) -> None:
    """Only the lowering cache misses, so jax_explain_cache_misses is silent; the diff is exact.

    Runs in a subprocess: two CPU devices need XLA_FLAGS set before JAX starts."""
    script = tmp_path / "devices_diff.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, logging
            import jax, jax.numpy as jnp
            from jaxexplain import _jax_compat, api

            def scale(x):
                return x * 2

            messages = []
            handler = logging.Handler()
            handler.emit = lambda record: messages.append(record.getMessage())
            logging.getLogger("jax").addHandler(handler)
            jitted = jax.jit(scale)
            x0 = jnp.zeros(3)
            x1 = jax.device_put(jnp.zeros(3), jax.devices()[1])
            jax.config.update("jax_explain_cache_misses", True)
            jitted(x0)
            jitted(x1)
            jax.config.update("jax_explain_cache_misses", False)
            jax_size = jitted._cache_size()
            report = api.diff(scale, x0, vs={"x": x1}, compile=False)
            print(json.dumps({
                "devices": len(jax.devices()),
                "jax_size": jax_size,
                "misses": [m for m in messages if "TRACING CACHE MISS" in m],
                "report": report.to_dict(),
            }))
            """
        )
    )
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["devices"] == 2 and out["jax_size"] == 2
    assert len(out["misses"]) == 1, "JAX explains the first call only, not the device change"
    report = DiffReport.from_dict(out["report"])
    ((change),) = report.cache_key_changes
    assert (change.component, change.path) == ("sharding", "x")
    assert "id=1" in change.b and change.a == "uncommitted"
    assert report.verified and report.recompiles


def test_weak_typed_scalar_is_called_as_a_python_scalar() -> None:
    weak_to_strong = api.diff(scaled, x="f32[3]", n=1.0, vs={"n": "f32[]"}, compile=False)
    assert components(weak_to_strong) == [("weak_type", "n")]
    assert weak_to_strong.verified and weak_to_strong.recompiles
    weak_to_weak = api.diff(scaled, x="f32[3]", n=1.0, vs={"n": 5.0}, compile=False)
    assert weak_to_weak.cache_key_changes == ()
    assert weak_to_weak.verified and weak_to_weak.recompiles is False


def test_a_disagreement_with_jax_is_loud_and_jax_wins() -> None:
    """Loose(1) == Loose(2) for JAX's cache, but their reprs differ: the keys predict a
    recompile, JAX reuses its entry. The report says so and takes JAX's word."""
    report = api.diff(
        with_config,
        x="f32[3]",
        config=Loose(1),
        static_argnames="config",
        vs={"config": Loose(2)},
        compile=False,
    )
    assert report.predicted is True
    assert report.recompiles is False
    assert report.disagrees and not report.verified
    text = str(report)
    assert "JAXEXPLAIN AND JAX DISAGREE" in text
    assert "cache size 1 after A, 1 after B" in text


def test_verification_skipped_over_the_limit_or_when_off() -> None:
    over = api.diff(power, x="f32[1024]", n=2, static_argnames="n", vs={"n": 3}, verify_limit=100)
    assert over.verification is not None and not over.verification.checked
    assert "4.0 KiB" in over.verification.note and "--verify-limit" in over.verification.note
    assert over.recompiles is True and not over.verified
    off = api.diff(power, x="f32[3]", n=2, static_argnames="n", vs={"n": 3}, verify_limit=None)
    assert off.verification is not None and "turned off" in off.verification.note


def test_a_failing_side_gives_no_verdict() -> None:
    report = api.diff(power, x="f32[3]", n=2, static_argnames="n", vs={"n": 2.5}, compile=False)
    assert not report.ok and report.recompiles is None and not report.verified
    assert report.b.error is not None and report.b.error.type == "TypeError"


def test_decorated_default_static_is_described_by_its_default() -> None:
    @partial(jax.jit, static_argnames=("activation",))
    def act(x: Any, activation: str = "relu") -> Any:
        return jax.nn.relu(x) if activation == "relu" else jnp.tanh(x)

    report = api.diff(act, x="f32[3]", vs={"activation": "tanh"}, compile=False)
    ((change),) = report.cache_key_changes
    assert (change.component, change.path) == ("static", "activation")
    assert change.a == "not passed (default 'relu')" and change.b == "'tanh'"
    assert report.verified and report.recompiles


def test_compile_figures_side_by_side() -> None:
    report = api.diff(power, x="f32[8]", n=2, static_argnames="n", vs={"n": 6})
    figures = {f.name: (f.a, f.b) for f in report.compile_changes}
    flops_a, flops_b = figures["flops"]
    assert flops_a is not None and flops_b is not None and flops_b > flops_a
    assert figures["argument memory"] == (32, 32)


def test_report_round_trips_through_json() -> None:
    report = api.diff(power, x="f32[3]", n=3, static_argnames="n", vs={"n": 4}, compile=False)
    document = json.loads(report.to_json())
    assert document["schema"] == "jaxexplain.diff/1"
    assert document["a"]["schema"] == document["b"]["schema"] == "jaxexplain.trace/1"
    assert set(document["jaxpr_diff"]) >= {
        "equations_a",
        "equations_b",
        "added",
        "removed",
        "changed",
        "unified",
    }
    assert DiffReport.from_dict(document) == report
    assert jaxexplain.render(DiffReport.from_dict(document), "text") == str(report)


# --- decisions ------------------------------------------------------------------------------


def decision(line: int, kind: str, outcomes: tuple[str | int, ...], column: int = 4) -> Decision:
    return Decision(
        file="/src/model.py",
        line=line,
        kind=kind,  # type: ignore[arg-type]
        source=f"{kind} ...",
        outcomes=outcomes,
        column=column,
    )


def report_with(*decisions: Decision) -> TraceReport:
    return TraceReport("model.py:f", FunctionInfo("f", "/src/model.py", 1), (), decisions=decisions)


def test_flipped_branches_and_changed_loop_counts() -> None:
    a = report_with(
        decision(3, "for", (3,)),
        decision(5, "if", ("true", "true", "true")),
        decision(7, "ifexp", ("false",)),
        decision(9, "while", ("true", "false")),
        decision(11, "match", (0,)),
    )
    b = report_with(
        decision(3, "for", (4,)),
        decision(5, "if", ("true", "true", "true", "true")),
        decision(7, "ifexp", ("true",)),
        decision(9, "while", ("true", "true", "false")),
        decision(11, "match", (0,)),
        decision(12, "if", ("false",)),
    )
    changes = diffing.decision_changes(a, b)
    assert [(c.line, c.kind, c.change, c.a, c.b) for c in changes] == [
        (3, "for", "iterations", (3,), (4,)),
        (5, "if", "flipped", ("true",) * 3, ("true",) * 4),
        (7, "ifexp", "flipped", ("false",), ("true",)),
        (9, "while", "iterations", ("true", "false"), ("true", "true", "false")),
        (12, "if", "only_b", (), ("false",)),
    ]


def test_decision_changes_read_as_the_user_wrote_them() -> None:
    a = report_with(decision(3, "for", (3,)), decision(7, "ifexp", ("false",)))
    b = report_with(decision(3, "for", (4,)), decision(7, "ifexp", ("true",)))
    text = str(diffing.diff(a, b))
    assert "no verdict: the reports hold no cache keys" in text
    assert "model.py:3  for for ..." in text and "3 iterations  ->  4 iterations" in text
    assert "model.py:7  ... if ifexp ... else ..." in text and "false  ->  true" in text


def test_decisions_are_keyed_by_column_too() -> None:
    a = report_with(decision(3, "ifexp", ("true",), column=4), decision(3, "ifexp", ("true",), 20))
    b = report_with(decision(3, "ifexp", ("true",), column=4), decision(3, "ifexp", ("false",), 20))
    (change,) = diffing.decision_changes(a, b)
    assert (change.column, change.a, change.b) == (20, ("true",), ("false",))


def test_real_decisions_flip_when_the_recorder_records_them() -> None:
    report = api.diff(maybe_cos, x="f32[3]", flag=False, static_argnames="flag", vs={"flag": True})
    assert report.a.decisions, "the recorder recorded nothing"
    flipped = [c for c in report.decision_changes if c.kind == "if"]
    assert [(c.source, c.a, c.b) for c in flipped] == [("flag", ("false",), ("true",))]


# --- the jaxpr diff -------------------------------------------------------------------------


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


def test_hunks_name_the_user_source_line() -> None:
    a = traced_jaxpr(power, "f32[3]", n=3)
    b = traced_jaxpr(power, "f32[3]", n=4)
    lookup = diffing.source_lookup(
        *(TraceReport("t", FunctionInfo("f", "", 0), (), jaxpr=info) for info in (a, b))
    )
    diff = jaxpr_diff(a, b, lookup)
    (hunk,) = diff.hunks
    assert (
        hunk.source is not None and hunk.source == f"{__file__}:{power.__code__.co_firstlineno + 3}"
    )
    assert hunk.source_text == "y = y * x"
    assert diff.unified.split("\n")[2].startswith("@@ -3,4 +3,5 @@ ")


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


def test_shared_let_jaxprs_wrapped_binders_and_one_line_jaxprs_parse() -> None:
    @jax.jit
    def inner(x: Any) -> Any:
        for _ in range(11):
            x = x + 1
        return x

    def shared(x: Any) -> Any:
        return jax.nn.relu(x) + jax.nn.relu(x * 2) + inner(x) + inner(x * 3)

    def many_carries(xs: Any) -> Any:
        def body(c: Any, x: Any) -> Any:
            return tuple(ci * x for ci in c), x

        return jax.lax.scan(body, tuple(jnp.ones(3) for _ in range(14)), xs)

    for fn, spec in ((shared, "f32[4]"), (many_carries, "f32[5]"), (jnp.sin, "f32[4]")):
        info = traced_jaxpr(fn, spec)
        items = parse_jaxpr(info.text)
        kinds = [item.kind for item in items]
        blocks = 1 + len(re.findall(r"^let \w+ = ", info.text, re.MULTILINE))
        assert kinds.count("open") == kinds.count("close") == blocks
        if blocks == 1:
            assert kinds.count("eqn") == info.equations
        diff = jaxpr_diff(info, info)
        assert diff.unified == "" and diff.equations_a == info.equations
    assert "let inner = " in traced_jaxpr(shared, "f32[4]").text
    assert re.search(r"\n      \w+:f32\[3\] ", traced_jaxpr(many_carries, "f32[5]").text)


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


# --- alignment ------------------------------------------------------------------------------


def lcs_length(a: list[int], b: list[int]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def matched(a: list[int], b: list[int], opcodes: list[tuple[str, int, int, int, int]]) -> int:
    """Checks that opcodes tile both sequences and that equal runs are equal; returns matches."""
    i = j = total = 0
    for tag, i1, i2, j1, j2 in opcodes:
        assert (i1, j1) == (i, j)
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
            total += i2 - i1
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))
    return total


def test_alignment_is_minimal_without_unique_anchors() -> None:
    rng = random.Random(0)
    for _ in range(400):
        a = [rng.randrange(2) for _ in range(rng.randrange(30))] * 2
        b = [rng.randrange(2) for _ in range(rng.randrange(30))] * 2
        assert matched(a, b, align(a, b)) == lcs_length(a, b)


def test_alignment_is_valid_with_anchors() -> None:
    rng = random.Random(1)
    for _ in range(400):
        a = [rng.randrange(8) for _ in range(rng.randrange(40))]
        b = [rng.randrange(8) for _ in range(rng.randrange(40))]
        assert matched(a, b, align(a, b)) <= lcs_length(a, b)


def test_alignment_past_its_budget_stays_valid_and_says_so() -> None:
    rng = random.Random(2)
    a = [rng.randrange(3) for _ in range(3000)]
    b = [rng.randrange(3) for _ in range(3000)]
    budget = Budget(left=1000)
    matched(a, b, align(a, b, budget))
    assert budget.approximate >= 1


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
