"""Shape buckets from a real loop over 20+ batch sizes: the sizes and calls watch kept equal
what JAX compiled, every edge recommended compiles, and padding to the edges makes exactly one
cache entry per edge; jax.export's symbolic dimension works for one function and names the
line that stops it for two others."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import runpy
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxexplain
from jaxexplain import _jax_compat
from jaxexplain.renderers.console.watch import render as render_text
from jaxexplain.renderers.html.watch import render as render_html
from jaxexplain.renderers.words import export_text
from jaxexplain.report import Recommendation, WatchReport
from jaxexplain.watching.buckets import best_edges

PROGRAMS = Path(__file__).resolve().parent / "watch_programs"
PROGRAM = PROGRAMS / "batch_sizes.py"
COMPILING = re.compile(r"Compiling jit\((\w+)\) with global shapes and types \((.*)\)\. Argument")


class Run:
    """The watched run: its report, the program's globals and JAX's own compile log."""

    def __init__(self, report: WatchReport, program: dict[str, Any], log: list[str]) -> None:
        self.report, self.program, self.log = report, program, log

    def recommendation(self, function: str) -> Recommendation:
        (found,) = [r for r in self.report.recommendations if r.function == function]
        return found

    def compiled_sizes(self, function: str, argument: int) -> Counter[int]:
        """Per size of axis 0 of one argument, the compiles JAX logged for the function."""
        sizes: Counter[int] = Counter()
        for message in self.log:
            match = COMPILING.match(message)
            if match and match[1] == function:
                shapes = re.findall(r"\[([\d,]*)\]", match[2])
                sizes[int(shapes[argument].split(",")[0])] += 1
        return sizes


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    log: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: log.append(record.getMessage())  # type: ignore[method-assign]
    jax_logger = logging.getLogger("jax")
    jax_logger.addHandler(handler)
    jax.config.update("jax_log_compiles", True)
    try:
        with jaxexplain.watch() as watcher:
            program = runpy.run_path(str(PROGRAM), run_name="__main__")
    finally:
        jax.config.update("jax_log_compiles", False)
        jax_logger.removeHandler(handler)
    yield Run(watcher.report(), program, log)


def test_sizes_and_calls_are_what_reached_jax_python_dispatch(run: Run) -> None:
    buckets = run.recommendation("predict").buckets
    assert buckets is not None
    assert (buckets.path, buckets.also) == ("batch['x'].shape[0]", ("batch['y'].shape[0]",))
    sizes = {int(s): calls for s, calls in buckets.sizes.items()}
    program_calls = Counter(run.program["SIZES"])
    assert len(program_calls) >= 20
    assert set(sizes) == set(program_calls)
    assert sizes == run.compiled_sizes("predict", 1), "one call per size reached Python: JAX's"
    assert all(sizes[n] <= program_calls[n] for n in sizes), "repeats ran on the fast path"
    assert buckets.calls_counted == "python_path"
    assert buckets.compiles_now == len(program_calls) == run.program["predict"]._cache_size()


def test_edges_cover_every_size_and_each_compiles(run: Run) -> None:
    recommendation = run.recommendation("predict")
    buckets = recommendation.buckets
    assert buckets is not None
    assert recommendation.verified and recommendation.checks == ("compiled_at_edges",)
    assert buckets.compiles_with == len(buckets.edges) < buckets.compiles_now
    assert all(any(int(s) <= e for e in buckets.edges) for s in buckets.sizes)
    assert max(buckets.edges) == max(run.program["SIZES"])
    assert buckets.compile_seconds_with > 0 and buckets.padding_flops_ratio > 0
    w = jnp.ones((6, 3))
    padded = jax.jit(lambda w, batch: run.program["predict"](w, batch))
    for n in run.program["SIZES"]:
        edge = min(e for e in buckets.edges if e >= n)
        padded(w, {"x": jnp.zeros((edge, 6)), "y": jnp.zeros(edge)})
    assert padded._cache_size() == len(buckets.edges)
    for edge in buckets.edges:
        spec = {
            "x": jax.ShapeDtypeStruct((edge, 6), jnp.float32),
            "y": jax.ShapeDtypeStruct((edge,), jnp.float32),
        }
        compiled = jax.jit(run.program["predict"].__wrapped__).lower(w, spec).compile()
        assert _jax_compat.cost_analysis(compiled)["flops"] > 0


def test_padding_ratio_is_the_flops_jax_counts(run: Run) -> None:
    """The ratio from XLA's cost analysis of each size and each edge, weighed per call seen."""
    buckets = run.recommendation("predict").buckets
    assert buckets is not None
    fun = run.program["predict"].__wrapped__
    w = jax.ShapeDtypeStruct((6, 3), jnp.float32)

    def flops(n: int) -> float:
        spec = {
            "x": jax.ShapeDtypeStruct((n, 6), jnp.float32),
            "y": jax.ShapeDtypeStruct((n,), jnp.float32),
        }
        return float(_jax_compat.cost_analysis(jax.jit(fun).lower(w, spec))["flops"])

    sizes = {int(s): c for s, c in buckets.sizes.items()}
    now = sum(c * flops(n) for n, c in sizes.items())
    padded = sum(c * flops(min(e for e in buckets.edges if e >= n)) for n, c in sizes.items())
    assert buckets.padding_flops_ratio == pytest.approx(padded / now - 1, rel=0.02)


def test_export_works_for_a_batch_mean(run: Run) -> None:
    buckets = run.recommendation("predict").buckets
    assert buckets is not None and buckets.export is not None
    assert buckets.export.works
    (b,) = jax.export.symbolic_shape("b")
    spec = {
        "x": jax.ShapeDtypeStruct((b, 6), jnp.float32),
        "y": jax.ShapeDtypeStruct((b,), jnp.float32),
    }
    exported = jax.export.export(jax.jit(run.program["predict"].__wrapped__))(
        jnp.ones((6, 3)), spec
    )
    assert str(exported.in_avals[1].shape[0]) == "b"


@pytest.mark.parametrize(
    ("function", "line_text"),
    [("branchy", "if x.shape[0] > 10:"), ("regroup", "return jnp.reshape(x, (4, -1))")],
)
def test_export_names_the_line_that_stops_it(run: Run, function: str, line_text: str) -> None:
    buckets = run.recommendation(function).buckets
    assert buckets is not None and buckets.export is not None
    (b,) = jax.export.symbolic_shape("b")
    with pytest.raises(Exception) as raised:
        jax.export.export(jax.jit(run.program[function].__wrapped__))(
            jax.ShapeDtypeStruct((b, 3), jnp.float32)
        )
    lines = PROGRAM.read_text().splitlines()
    assert not buckets.export.works
    assert buckets.export.file == str(PROGRAM)
    assert lines[buckets.export.line - 1].strip().startswith(line_text)
    assert str(raised.value).splitlines()[0] in buckets.export.blocker
    assert "does not work at " in export_text(buckets.path, buckets.export)


def test_the_recommendation_replaces_the_varying_shape_warning(run: Run) -> None:
    bucketed = {r.function for r in run.report.recommendations}
    assert bucketed == {"predict", "branchy", "regroup"}
    assert not [w for w in run.report.warnings if w.kind == "varying_shape"]


def test_both_pages_show_the_recommendation(run: Run) -> None:
    text = render_text(run.report, width=100)
    page = render_html(run.report)
    for recommendation in run.report.recommendations:
        assert recommendation.text.split(" → ")[0] in text
        assert recommendation.text.split(" → ")[0].replace("'", "&#x27;") in page
    assert "Recommendations" in text and 'id="recommendations"' in page
    assert "reached JAX's Python dispatch" in text
    assert "jax.export with a symbolic batch[&#x27;x&#x27;].shape[0] works" in page


def test_no_shape_recompile_keeps_no_arguments_and_recommends_no_buckets() -> None:
    @partial(jax.jit, static_argnames=("n",))
    def f(x, n):
        return x * n

    with jaxexplain.watch() as watcher:
        for n in range(4):
            f(jnp.ones(3), n=n)
    assert [r.kind for r in watcher.report().recommendations] == ["make_traced"]
    assert all(h.call is None for h in watcher.shapes.histories.values())


def test_two_sizes_keep_the_warning_alone() -> None:
    @jax.jit
    def g(x):
        return x.sum()

    with jaxexplain.watch() as watcher:
        g(jnp.ones(8))
        g(jnp.ones(5))
    report = watcher.report()
    assert report.recommendations == ()
    assert [w.kind for w in report.warnings] == ["varying_shape"]


def test_edges_are_the_best_of_every_choice() -> None:
    """Against every subset of sizes holding the largest, scored as best_edges scores them."""
    rng = np.random.default_rng(0)
    sizes = sorted(rng.choice(np.arange(1, 200), size=9, replace=False).tolist())
    calls = rng.integers(1, 4, size=9).tolist()
    flops = [3.0 * s + 10 for s in sizes]
    total = sum(c * f for c, f in zip(calls, flops, strict=True))

    def score(edges: tuple[int, ...]) -> float:
        padded = sum(
            c * flops[sizes.index(min(e for e in edges if e >= s))]
            for s, c in zip(sizes, calls, strict=True)
        )
        return len(edges) / len(sizes) + (padded - total) / total

    choices = [
        (*rest, sizes[-1])
        for k in range(len(sizes))
        for rest in itertools.combinations(sizes[:-1], k)
    ]
    assert score(tuple(best_edges(sizes, calls, flops))) == pytest.approx(min(map(score, choices)))


def test_cli_watch_writes_the_recommendations(tmp_path: Path) -> None:
    out = tmp_path / "batch_sizes.json"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-m", "jaxexplain", "watch", "-o", str(out), "--", "batch_sizes.py"],
        cwd=PROGRAMS,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("total "), "the program's own stdout, untouched"
    document = json.loads(out.read_text())
    report = WatchReport.from_dict(document)
    assert [r.kind for r in report.recommendations] == ["buckets"] * 3
    assert document["recommendations"][0]["buckets"]["calls_counted"] == "python_path"


def test_axes_that_move_together_are_one_dimension_padded_together() -> None:
    """`x.shape[0]` and `m.shape[1]` always equal: bucketing one alone would not trace."""

    @jax.jit
    def gram(x, m):
        return (x @ m).sum()

    sizes = [2, 3, 5, 7, 11, 13]
    with jaxexplain.watch() as watcher:
        for n in sizes:
            gram(jnp.ones((n, 4)), jnp.ones((4, n)))
    (recommendation,) = watcher.report().recommendations
    buckets = recommendation.buckets
    assert buckets is not None
    assert (buckets.path, buckets.also) == ("x.shape[0]", ("m.shape[1]",))
    assert {int(s) for s in buckets.sizes} == set(sizes) and gram._cache_size() == len(sizes)
    padded = jax.jit(lambda x, m: gram(x, m))
    for n in sizes:
        edge = min(e for e in buckets.edges if e >= n)
        padded(jnp.zeros((edge, 4)), jnp.zeros((4, edge)))
    assert padded._cache_size() == buckets.compiles_with == len(buckets.edges)
