"""diff(a, b): exact cache-key reasons checked against JAX's cache, flipped decisions, compile
figures, and where hunk headers take their source lines from."""

from __future__ import annotations

import json
import logging
import os
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
from jaxexplain.api import diff_target
from jaxexplain.diffing import reports as diffing
from jaxexplain.report import (
    Decision,
    DiffReport,
    FunctionInfo,
    JaxprRow,
    SourceLine,
    SourceListing,
    TraceReport,
)
from tests.conftest import ROOT
from tests.targets.diffing import maybe_cos, power, scaled

TRAINING = "tests.targets.training.mlp_step"


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
    assert change.b == "SingleDeviceSharding on devices 1" and change.a == "uncommitted"
    assert report.verified and report.recompiles


def test_weak_typed_scalar_is_called_as_a_python_scalar() -> None:
    weak_to_strong = api.diff(scaled, x="f32[3]", n=1.0, vs={"n": "f32[]"}, compile=False)
    # A Python float is a host value, an f32[] spec an array: JAX keys both differences.
    assert components(weak_to_strong) == [("weak_type", "n"), ("sharding", "n")]
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
    loaded = DiffReport.from_dict(document)
    assert loaded == report
    assert loaded.jaxpr_diff is not None and loaded.jaxpr_diff.hunks[0].rows
    assert all(isinstance(row, JaxprRow) for row in loaded.jaxpr_diff.hunks[0].rows)
    assert jaxexplain.render(loaded, "text") == str(report)


# --- where hunk headers take their source lines from ----------------------------------------

LOOP_BODY = power.__code__.co_firstlineno + 3  # `y = y * x`, which the unrolled loop repeats


def listed(file: str, line: int, text: str) -> TraceReport:
    """A report whose only source listing holds one line."""
    listing = SourceListing(file, "power", (SourceLine(line, text, ran=True),))
    return TraceReport("t", FunctionInfo("power", file, 1), (), sources=(listing,))


def test_hunk_headers_name_the_changed_line_with_its_listed_text() -> None:
    report = api.diff(power, x="f32[3]", n=3, static_argnames="n", vs={"n": 4}, compile=False)
    assert report.jaxpr_diff is not None
    (hunk,) = report.jaxpr_diff.hunks
    assert hunk.source == f"{power.__code__.co_filename}:{LOOP_BODY}"
    texts = {(s.file, line.number): line.text for s in report.b.sources for line in s.lines}
    assert hunk.source_text == texts[(power.__code__.co_filename, LOOP_BODY)].strip()


def test_source_lines_come_from_the_listings_before_the_file() -> None:
    """A saved report's listing shows the line as it ran; the file may have changed since."""
    file = power.__code__.co_filename
    lookup = diffing.source_lookup(listed(file, LOOP_BODY, "    y = y * 2"), listed(file, 1, ""))
    assert lookup(f"{file}:{LOOP_BODY}") == "y = y * 2"


def test_a_line_outside_the_listings_is_read_from_its_file_at_diff_time() -> None:
    file = power.__code__.co_filename
    lookup = diffing.source_lookup(listed(file, 1, ""), listed(file, 1, ""))
    assert (
        lookup(f"{file}:{LOOP_BODY}") == Path(file).read_text().splitlines()[LOOP_BODY - 1].strip()
    )
    assert lookup("no line number") is None


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


def test_diff_of_an_unchanged_inner_helper_reports_no_decision_change() -> None:
    report = diff_target(
        f"{TRAINING}:train_step",
        vs={"batch": '{"x": "f32[8,32]", "y": "i32[8]"}'},
        args_from=f"{TRAINING}:train_args",
        compile=False,
        verify_limit=None,
    )
    assert report.ok
    assert report.decision_changes == ()
