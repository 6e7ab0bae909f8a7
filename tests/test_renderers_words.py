"""The shared wording: numbers and sizes as people write them, decisions as the user wrote them,
and watch's reasons in the same words in the live lines, the assertion and the report."""

from __future__ import annotations

import io
from functools import partial

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain import api
from jaxexplain.inputs.loader import load_target
from jaxexplain.renderers import render
from jaxexplain.renderers.words import (
    MAX_LEAVES_SHOWN,
    as_written,
    capitalized,
    compress,
    figure_change_text,
    format_aval_tree,
    human_bytes,
    human_number,
    live_line,
    no_verdict_text,
    outcomes_text,
    reason_text,
    reasons_text,
    sentence,
    shape_text,
    static_hash_text,
    too_many_compiles_text,
)
from jaxexplain.report import FigureChange, WatchReason
from jaxexplain.views import reasons_by_entry


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (2**20 - 1, "1024.0 KiB"),
        (2**20, "1.0 MiB"),
        (2**30, "1.0 GiB"),
        (3 * 2**30 + 2**29, "3.5 GiB"),
        (None, "n/a"),
    ],
)
def test_byte_sizes_read_as_people_write_them(count: int | None, text: str) -> None:
    assert human_bytes(count) == text


def test_numbers_and_changes_read_the_same_everywhere() -> None:
    assert [human_number(v) for v in (None, 6, 1234, 1_234_567, 2.5e9)] == [
        "n/a",
        "6",
        "1.23 k",
        "1.23 M",
        "2.50 G",
    ]
    assert figure_change_text(FigureChange("flops", 6, 9)) == "+3 (+50%)"
    assert figure_change_text(FigureChange("temp memory", 2048, 1024, "bytes")) == (
        "-1.0 KiB (-50%)"
    )
    assert figure_change_text(FigureChange("temp memory", 0, 8, "bytes")) == "+8 B"
    assert figure_change_text(FigureChange("compile seconds", 0.5, 0.5, "s")) == "="
    assert figure_change_text(FigureChange("flops", None, 9)) == ""


def test_shapes_read_as_python_writes_the_tuple() -> None:
    for array in (jnp.ones(()), jnp.ones(8), jnp.ones((3, 4))):
        assert shape_text(array.shape) == str(tuple(array.shape))


def test_a_static_compared_by_identity_says_what_it_costs() -> None:
    def scaled(x: jax.Array, fn: object) -> jax.Array:
        return x * 2

    report = api.trace(scaled, "f32[3]", lambda v: v, static_argnames="fn", compile=False)
    assert report.cache_key is not None
    (static,) = report.cache_key.static
    assert static.compared_by == "identity"
    assert (
        static_hash_text(static)
        == f"{static.hash} (compared by identity: every new object recompiles)"
    )


def test_a_large_pytree_is_summarized_and_a_small_one_written_out() -> None:
    small = {"b": "f32[4]", "w": "f32[3,4]"}
    assert format_aval_tree(small) == "{'b': f32[4], 'w': f32[3,4]}"
    assert (
        format_aval_tree(["f32[2]"] * 2, "Batch (NamedTuple)")
        == "Batch (NamedTuple) [f32[2], f32[2]]"
    )
    large = ["f32[2]"] * (MAX_LEAVES_SHOWN + 1)
    assert (
        format_aval_tree(large) == f"pytree (list) of {len(large)} arrays, listed under Cache key"
    )


def test_decisions_read_as_the_user_wrote_them() -> None:
    assert as_written("if", "n > 2") == "if n > 2"
    assert as_written("comprehension", "i in range(n)") == "for i in range(n)"
    assert as_written("ifexp", "c") == "... if c else ..."
    assert compress(["true", "true", "false"]) == "true ×2, false"
    assert outcomes_text("for", [1]) == "1 iteration"
    assert outcomes_text("for", [3, 3]) == "3 ×2 iterations"
    assert outcomes_text("match", [1]) == "case 1"
    assert outcomes_text("if", []) == "did not run"


def test_phrases_become_sentences() -> None:
    assert capitalized("side B failed") == "Side B failed"
    assert sentence("predicted from the keys") == "Predicted from the keys."
    assert sentence("done.") == "Done."


def test_a_diff_without_verdict_names_the_side_that_failed() -> None:
    power = load_target("samples/unrolled.py:unrolled_power").obj
    report = api.diff(power, "f32[3]", 2, static_argnames="n", vs={"n": 2.5}, compile=False)
    assert report.a.ok and not report.b.ok
    assert no_verdict_text(report) == "no verdict: side B failed to trace"


def test_the_reasons_read_the_same_in_live_lines_the_assertion_and_the_report() -> None:
    stream = io.StringIO()

    @partial(jax.jit, static_argnums=(1,))
    def power(x: jax.Array, n: int) -> jax.Array:
        return x**n

    with jaxexplain.watch(live=stream) as watcher:
        power(jnp.ones(2), 2)
        power(jnp.ones(2), 3)
    report = watcher.report()
    first, second = report.events
    ((entry, reasons),) = reasons_by_entry(second.reasons)
    worded = reasons_text(reasons)
    assert stream.getvalue().splitlines() == [live_line(first), live_line(second)]
    assert live_line(second).endswith(f"vs #{entry}: {worded}")
    assert f"vs compile #{entry}: {worded}" in render(report, "text", width=200)
    message = too_many_compiles_text("power", 1, report.events)
    assert (
        message.splitlines()[0] == f"power compiled {power._cache_size()} times; at most 1 allowed:"
    )
    assert f"vs #{entry}: {worded}" in message


def test_a_new_function_object_and_an_eviction_are_said_in_words() -> None:
    renewed = WatchReason("function", "object", "", "", 1)
    assert reason_text(renewed) == "a new function object (its jit cache starts empty)"
    evicted = WatchReason("evicted", "", "", "the cache was cleared", 1)
    assert reason_text(evicted) == "no key component differs: the cache was cleared"
