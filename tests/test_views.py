"""The facts derived from reports, which every renderer shows: checked on reports of real
traces, diffs and watches, against the counts JAX gives in the test."""

from __future__ import annotations

from collections import Counter
from functools import partial

import jax
import jax.numpy as jnp

import jaxexplain
from jaxexplain import api
from jaxexplain.jaxpr_lexer import JaxprLexer
from jaxexplain.renderers.html.page import tokenize_lines
from jaxexplain.report import FigureChange
from jaxexplain.views import (
    CONTEXT_SHOWN,
    GROUP_LEAVES_OVER,
    UNROLL_WARNING,
    argument_pairs,
    compile_figures,
    context_split,
    deciding_statics,
    decisions_by_line,
    deltas_by_size,
    equation_counts,
    figure_delta,
    fold_ranges,
    grouped_leaves,
    inherited_sources,
    leaf_count,
    longest_run,
    parameter_tree,
    primitives_by_count,
    reasons_by_entry,
    repeated_block,
    trace_views,
    unrolled_iterations,
    unrolled_loops,
    watch_totals,
)
from tests.targets.rendering import layered, loop_and_branch, masked


def primitive_counts(closed: jax.extend.core.ClosedJaxpr) -> Counter[str]:
    return Counter(eqn.primitive.name for eqn in closed.jaxpr.eqns)


# ---------------------------------------------------------------- decisions


def test_the_loop_that_unrolls_is_flagged_not_the_helper_loop_it_calls() -> None:
    """A 3-pass loop in a helper that a 20-layer loop calls runs 60 passes in all; it is the
    layer loop that unrolls, once per layer."""
    layers = UNROLL_WARNING + 4
    report = api.trace(layered, "f32[3]", layers, static_argnames="layers", compile=False)
    outer, inner = sorted(report.decisions, key=lambda d: d.line)
    assert longest_run(outer) == layers and unrolled_iterations(inner) == 3 * layers
    assert longest_run(inner) < UNROLL_WARNING
    (loop,) = unrolled_loops(report.decisions)
    assert loop.decision == outer and loop.passes == layers
    multiplies = primitive_counts(jax.make_jaxpr(lambda x: layered(x, layers))(jnp.ones(3)))["mul"]
    assert loop.equations == multiplies == 3 * layers
    assert loop.per_pass == multiplies // layers


def test_a_loop_that_puts_nothing_into_the_jaxpr_is_not_flagged() -> None:
    n = UNROLL_WARNING + 4
    report = api.trace(masked, f"f32[{n}]", n, static_argnames="n", compile=False)
    (loop,) = report.decisions
    assert longest_run(loop) == n and loop.equations == 0
    assert unrolled_loops(report.decisions) == ()


def test_the_static_that_decided_most_is_counted_by_its_decisions() -> None:
    report = api.trace(loop_and_branch, "f32[4]", 3, static_argnames="n", compile=False)
    on_n = [
        d for d in report.decisions if ("n", "static") in [(e.name, e.via) for e in d.depends_on]
    ]
    ((name, count),) = [(s.name, s.decisions) for s in deciding_statics(report.decisions)]
    assert (name, count) == ("n", len(on_n)) and count >= 2
    by_line = decisions_by_line(report.decisions)
    assert sum(len(here) for here in by_line.values()) == len(report.decisions)
    assert all((d.file, d.line) == place for place, here in by_line.items() for d in here)


def test_trace_views_are_what_the_json_document_adds() -> None:
    report = api.trace(layered, "f32[3]", 20, static_argnames="layers", compile=False)
    views = trace_views(report)
    (loop,) = unrolled_loops(report.decisions)
    assert views["unrolled_loops"] == [
        {
            "file": loop.decision.file,
            "line": loop.decision.line,
            "kind": "for",
            "source": loop.decision.source,
            "passes": loop.passes,
            "longest_run": 20,
            "equations": loop.equations,
            "equations_per_pass": loop.per_pass,
        }
    ]
    assert views["deciding_statics"] == [
        {"name": s.name, "decisions": s.decisions} for s in deciding_statics(report.decisions)
    ]


# ---------------------------------------------------------------- the jaxpr and the key


def test_primitives_are_ordered_by_how_often_jax_made_them() -> None:
    report = api.trace(loop_and_branch, "f32[4]", 5, static_argnames="n", compile=False)
    assert report.jaxpr is not None
    counts = primitive_counts(jax.make_jaxpr(lambda x: loop_and_branch(x, 5))(jnp.ones(4)))
    ordered = primitives_by_count(report.jaxpr.primitives)
    assert dict(ordered) == dict(counts)
    assert [c for _, c in ordered] == sorted(counts.values(), reverse=True)
    assert deltas_by_size({"mul": 2, "add": -3, "sin": 2}) == [("add", -3), ("mul", 2), ("sin", 2)]


def test_a_cond_folds_between_its_first_and_last_lines_and_its_params_inherit_its_source() -> None:
    report = api.trace(loop_and_branch, "f32[4]", 3, static_argnames="n", compile=False)
    assert report.jaxpr is not None
    rows = tokenize_lines(report.jaxpr.text, JaxprLexer())
    folds = fold_ranges(rows.brackets)
    cond = next(i for i, line in enumerate(rows.lines) if "= cond[" in line)
    start, end, depth = next(f for f in folds if f[0] == cond)
    assert rows.lines[end].lstrip().startswith("]")
    assert depth == 1
    branches = next(i for i, line in enumerate(rows.lines) if "branches=(" in line)
    assert any(f[0] == branches and start < f[1] < end and f[2] == 2 for f in folds)
    assert folds[0] == (0, len(rows.lines) - 1, 0)
    sources = inherited_sources(len(rows.lines), report.jaxpr.line_sources, folds)
    assert report.jaxpr.line_sources[branches] is None
    assert sources[branches] == sources[cond] == report.jaxpr.line_sources[cond] is not None


def test_the_context_options_that_matter_come_first_and_the_rest_sorted() -> None:
    report = api.trace(loop_and_branch, "f32[4]", 3, static_argnames="n", compile=False)
    key = report.cache_key
    assert key is not None
    shown, rest = context_split(key)
    assert shown == [name for name in CONTEXT_SHOWN if name in key.context]
    assert rest == sorted(set(key.context) - set(shown))


def test_many_leaves_that_differ_only_by_list_index_are_counted_as_one_row() -> None:
    blocks = [jnp.ones((2, 3)) for _ in range(GROUP_LEAVES_OVER + 1)]
    report = api.trace(lambda blocks: sum(b.sum() for b in blocks), blocks, compile=False)
    assert report.cache_key is not None and report.arguments[0].aval is not None
    leaves = len(jax.tree_util.tree_leaves(blocks))
    assert leaf_count(report.arguments[0].aval) == len(report.cache_key.traced) == leaves
    ((row, count),) = grouped_leaves(report.cache_key.traced).items()
    assert row[0].endswith("[*]") and count == leaves
    few = report.cache_key.traced[:GROUP_LEAVES_OVER]
    assert set(grouped_leaves(few).values()) == {1}


def test_compile_figures_are_the_compile_infos_in_reading_order() -> None:
    report = api.trace(loop_and_branch, "f32[4]", 3, static_argnames="n")
    info = report.compile
    assert info is not None and info.memory is not None
    figures = {f.label: (f.value, f.unit) for f in compile_figures(info)}
    assert list(figures)[:2] == ["lower", "compile"]
    assert figures["flops"] == (info.flops, "")
    assert figures["temp memory"] == (info.memory.temp_bytes, "bytes")


# ---------------------------------------------------------------- diffs


def test_a_diff_counts_the_equations_of_both_sides_as_the_traces_do() -> None:
    report = api.diff(loop_and_branch, "f32[4]", 3, static_argnames="n", vs={"n": 5})
    counts = equation_counts(report)
    assert counts is not None
    pairs = argument_pairs(report)
    assert [name for name, _, _ in pairs] == [arg.name for arg in report.a.arguments]
    assert [(a.value, b.value) for name, a, b in pairs if name == "n" and a and b] == [("3", "5")]
    jaxprs = [jax.make_jaxpr(lambda x, n=n: loop_and_branch(x, n))(jnp.ones(4)) for n in (3, 5)]
    assert counts.top == tuple(len(j.jaxpr.eqns) for j in jaxprs)
    flops = next(c for c in report.compile_changes if c.name == "flops")
    moved = figure_delta(flops)
    assert moved is not None and flops.a and flops.b is not None
    assert moved.delta == flops.b - flops.a and moved.relative == moved.delta / flops.a
    from_zero = figure_delta(FigureChange("temp memory", 0.0, 8.0, "bytes"))
    assert from_zero is not None and from_zero.relative is None
    assert figure_delta(FigureChange("flops", None, 8.0)) is None


# ---------------------------------------------------------------- watches


def test_watch_totals_and_reasons_by_entry_agree_with_jaxs_cache() -> None:
    @partial(jax.jit, static_argnums=(1,))
    def power(x: jax.Array, n: int) -> jax.Array:
        return x**n

    with jaxexplain.watch() as watcher:
        for n in (2, 3, 4):
            power(jnp.ones(2), n)
    report = watcher.report()
    totals = watch_totals(report)
    assert totals.compilations == power._cache_size() == 3
    assert totals.recompilations == power._cache_size() - 1
    assert totals.seconds == sum(e.seconds for e in report.events)
    groups = reasons_by_entry(report.events[-1].reasons)
    assert sorted(entry for entry, _ in groups) == [1, 2]
    assert all(r.entry == entry for entry, reasons in groups for r in reasons)


def test_the_parameter_tree_collapses_runs_of_identical_layers() -> None:
    params = {"blocks": [{"attn": 1.0, "mlp": 1.0} for _ in range(48)], "embed": 1.0}
    paths = [
        "params" + jax.tree_util.keystr(path)
        for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]
    ]
    assert parameter_tree(paths) == ["params.blocks[0..47].{attn,mlp}", "params.embed"]


def test_an_unrolled_loop_is_found_as_one_block_repeated_once_per_pass() -> None:
    def layers(x: jax.Array) -> jax.Array:
        for _ in range(12):
            x = jnp.tanh(x @ x.T) * 2.0 + 1.0
        return x

    closed = jax.make_jaxpr(layers)(jnp.ones((4, 4)))
    lines = str(closed).split("\n")
    block = repeated_block(lines, [None] * len(lines))
    assert block is not None and block.count >= 11
    copy = lines[block.start : block.start + block.length]
    assert sum(" tanh " in line for line in copy) == 1
