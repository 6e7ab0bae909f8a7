"""`watch` on real programs: the exact compilations and reasons, checked against JAX's caches."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import re
import runpy
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import jaxexplain
from jaxexplain import _jax_compat
from jaxexplain.cli import app
from jaxexplain.report import WatchEvent, WatchReport
from jaxexplain.watching import hooks as _watch_hooks
from tests.watching_support import PROGRAMS, run_watched


def reasons(event: WatchEvent) -> list[tuple[str, str, str, str, int]]:
    return [(r.component, r.path, r.before, r.after, r.entry) for r in event.reasons]


def jit_events(report: WatchReport, function: str) -> list[WatchEvent]:
    return [e for e in report.compiles_of(function) if e.kind == "jit"]


def warning_kinds(report: WatchReport) -> list[tuple[str, str, str]]:
    return [(w.kind, w.function, w.path) for w in report.warnings]


def test_static_float_recompiles_once_per_value_and_is_named() -> None:
    report, program = run_watched("static_float.py")
    events = jit_events(report, "step")
    assert [reasons(e) for e in events] == [
        [],
        [("static", "lr", "0.1", "0.05", 1)],
        [
            ("static", "lr", "0.1", "0.03333333333333333", 1),
            ("static", "lr", "0.05", "0.03333333333333333", 2),
        ],
    ]
    assert [e.cache_size for e in events] == [1, 2, 3]
    assert program["step"]._cache_size() == 3
    assert {e.call_source for e in events} == {"w = step(w, x, y, lr=0.1 / (i + 1))"}
    assert all(e.call_site.startswith(str(PROGRAMS / "static_float.py") + ":") for e in events)
    assert (events[0].file, events[0].line) == (
        str(PROGRAMS / "static_float.py"),
        program["step"].__wrapped__.__code__.co_firstlineno,
    )
    # The verified recommendation says what the static_float warning would, once.
    assert warning_kinds(report) == []
    (recommendation,) = report.recommendations
    assert (recommendation.kind, recommendation.function, recommendation.params) == (
        "make_traced",
        "step",
        ("lr",),
    )
    assert recommendation.checks == ("traced", "one_entry", "values")
    (summary,) = [f for f in report.functions if f.function == "step"]
    assert (summary.compiles, summary.distinct_reasons) == (3, 1)


def test_python_scalar_then_array_is_a_weak_type_flip() -> None:
    report, program = run_watched("weak_type.py")
    events = jit_events(report, "step")
    host_to_array = (
        "sharding",
        "momentum",
        "host value (Python scalar or NumPy)",
        "uncommitted",
        1,
    )
    assert [reasons(e) for e in events] == [
        [],
        [("weak_type", "momentum", "True", "False", 1), host_to_array],
    ]
    assert events[-1].cache_size == program["step"]._cache_size() == 2
    assert warning_kinds(report) == [("weak_type", "step", "momentum")]


def test_partial_last_batch_changes_every_batch_leaf_shape() -> None:
    report, program = run_watched("batch_shapes.py")
    events = jit_events(report, "step")
    assert [reasons(e) for e in events] == [
        [],
        [("shape", "batch['x']", "[8, 3]", "[5, 3]", 1), ("shape", "batch['y']", "[8]", "[5]", 1)],
    ]
    assert events[-1].cache_size == program["step"]._cache_size() == 2
    assert warning_kinds(report) == [
        ("varying_shape", "step", "batch['x']"),
        ("varying_shape", "step", "batch['y']"),
    ]
    assert "axis 0 took 2 sizes (8, 5)" in report.warnings[0].message


def test_jit_of_a_lambda_inside_a_loop_is_a_new_function_every_step() -> None:
    report, _ = run_watched("jit_in_loop.py")
    events = jit_events(report, "<lambda>")
    assert len(events) == 3
    assert [e.cache_size for e in events] == [1, 1, 1], "each lambda has its own, fresh cache"
    assert reasons(events[0]) == []
    for number, event in enumerate(events[1:], start=1):
        assert [(r.component, r.path, r.entry) for r in event.reasons] == [
            ("function", "object", number)
        ]
    assert warning_kinds(report) == [], "said once, by the jit_once recommendation"
    assert [(r.kind, r.function) for r in report.recommendations] == [("jit_once", "<lambda>")]
    assert "3 new function objects" in report.recommendations[0].text


def test_static_object_hashed_by_identity_recompiles_for_each_instance() -> None:
    report, program = run_watched("identity_static.py")
    events = jit_events(report, "step")
    assert len(events) == 3
    assert [(r.component, r.path, r.entry) for r in events[2].reasons] == [
        ("static", "config", 1),
        ("static", "config", 2),
    ]
    assert all("Config object at 0x" in r.after for r in events[2].reasons), (
        "statics are shown as the user's objects, not as JAX's wrappers"
    )
    assert events[-1].cache_size == program["step"]._cache_size() == 3
    assert warning_kinds(report) == [], "said once, by the build_once recommendation"
    assert [(r.kind, r.params) for r in report.recommendations] == [("build_once", ("config",))]


def test_nested_jits_compile_only_with_their_outer_function() -> None:
    report, program = run_watched("nested.py")
    outer = jit_events(report, "outer")
    assert len(outer) == 1 and program["outer"]._cache_size() == 1
    assert jit_events(report, "inner") == [], "inner is traced into outer (and its scan body)"
    assert program["inner"]._cache_size() == 0
    (vmapped,) = report.compiles_of("inner")
    assert vmapped.kind == "transformed" and vmapped.call_source.startswith("batched = ")
    assert report.internal_errors == ()


def test_eager_operations_are_grouped_not_listed() -> None:
    def make() -> Any:
        return jnp.full((3, 7, 5), 2.0) + jnp.arange(5.0)

    with jaxexplain.watch() as watcher:
        make()
    report = watcher.report()
    assert report.events == ()
    assert sum(e.compiles for e in report.eager) >= 1
    assert {"broadcast_in_dim", "add"} & {e.primitive for e in report.eager}


def test_each_earlier_entry_is_compared_fewest_differences_first() -> None:
    @partial(jax.jit, static_argnames=("n", "m"))
    def f(x, n, m):
        return x * n + m

    with jaxexplain.watch() as watcher:
        f(jnp.ones(3), n=1, m=1)
        f(jnp.ones(4), n=2, m=2)
        f(jnp.ones(4), n=1, m=1)
    last = watcher.report().events[-1]
    assert reasons(last) == [
        ("shape", "x", "[3]", "[4]", 1),
        ("static", "n", "2", "1", 2),
        ("static", "m", "2", "1", 2),
    ]
    assert last.cache_size == f._cache_size() == 3


def test_watch_names_every_change_where_jax_explain_cache_misses_names_one() -> None:
    """Shape and static change together: JAX's explainer reports one of the two (which one
    depends on the JAX version); watch reports both."""

    @partial(jax.jit, static_argnames=("n",))
    def g(x, n):
        return x * n

    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    jax_logger = logging.getLogger("jax")
    jax_logger.addHandler(handler)
    jax.config.update("jax_explain_cache_misses", True)
    try:
        with jaxexplain.watch() as watcher:
            g(jnp.ones(3), n=1)
            g(jnp.ones(4), n=2)
    finally:
        jax.config.update("jax_explain_cache_misses", False)
        jax_logger.removeHandler(handler)
    # jax 0.4.38 names the function by its qualified name ("for test_....<locals>.g").
    (explained,) = [
        m for m in messages if "TRACING CACHE MISS" in m and re.search(r"for (\S*\.)?g\b", m)
    ]
    jax_names_shape = "f32[4]" in explained
    jax_names_static = "['n']" in explained
    assert jax_names_shape != jax_names_static, explained
    assert reasons(watcher.report().events[-1]) == [
        ("static", "n", "1", "2", 1),
        ("shape", "x", "[3]", "[4]", 1),
    ]


def test_lowering_only_misses_on_other_devices_and_shardings(tmp_path: Path) -> None:
    """Same shapes committed to another device, then sharded: JAX's tracing cache hits, so
    jax_explain_cache_misses says nothing after the first call; watch explains both."""
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
        "JAX_EXPLAIN_CACHE_MISSES": "true",
    }
    out = tmp_path / "devices.json"
    result = subprocess.run(
        [sys.executable, "-m", "jaxexplain", "watch", "-o", str(out), "--", "devices.py"],
        cwd=PROGRAMS,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "3\n", "the program's own stdout, untouched"
    report = WatchReport.from_dict(json.loads(out.read_text()))
    events = jit_events(report, "scale")
    assert [e.cache_size for e in events] == [1, 2, 3]
    # The same single-device sharding on another device: the device is what changed.
    assert [(r.component, r.path, r.entry) for r in events[1].reasons] == [("device", "x", 1)]
    devices = [d.id for d in jax.devices()[:2]]
    assert events[1].reasons[0].before == f"devices {devices[0]}"
    assert events[1].reasons[0].after == f"devices {devices[1]}"
    assert [(r.component, r.entry) for r in events[2].reasons] == [("sharding", 1), ("sharding", 2)]
    assert all(r.after == "P('data',) on data=2" for r in events[2].reasons)
    assert events[1].trace_seconds == 0.0, "the tracing cache hit: only lowering missed"
    # jax 0.4.38 also explains its own eager operations' misses (iota on line 17): scale's only.
    explained = [
        re.match(r"(\S+?):(\d+):", message).groups()  # type: ignore[union-attr]
        for message in re.findall(r"TRACING CACHE MISS at (.*\n(?:[ \t]+.*\n)*)", result.stderr)
        if "scale" in message
    ]
    # jax 0.4.38 keys no trace on the sharding: its tracing cache hits for line 21's call too.
    sharded = [] if _jax_compat.JAX_RELEASE < (0, 7, 0) else [("devices.py", "21")]
    assert [(Path(file).name, line) for file, line in explained] == [
        ("devices.py", "18"),
        *sharded,
    ], "JAX is silent on line 19's call from device 1 (and names the user's lines, not a hook)"


def test_assert_max_compiles_passes_and_fails_with_the_reasons() -> None:
    @partial(jax.jit, static_argnames=("lr",))
    def update(w, lr):
        return w - lr

    with jaxexplain.assert_max_compiles(update, 1):
        update(jnp.ones(2), lr=0.5)
        update(jnp.ones(2), lr=0.5)
    with pytest.raises(AssertionError) as failure, jaxexplain.assert_max_compiles("update", 1):
        update(jnp.ones(2), lr=0.25)
        update(jnp.ones(2), lr=0.125)
    message = str(failure.value)
    assert "update compiled 2 times; at most 1 allowed" in message
    assert "vs #1: static lr 0.25 -> 0.125" in message
    assert f"{Path(__file__).name}:" in message


def test_watching_leaves_results_unchanged_and_everything_restored() -> None:
    from jax._src import monitoring, pjit, source_info_util  # noqa: TID251 - checked restored

    # The functions watch wraps: `_run_python_pjit` from jax 0.10, `_python_pjit_helper` before.
    wrapped = ("_infer_params", "_run_python_pjit", "_python_pjit_helper", "_get_fastpath_data")
    before = {name: getattr(pjit, name, None) for name in wrapped}
    listeners = list(monitoring.get_event_duration_listeners())
    _, watched = run_watched("batch_shapes.py")
    plain = runpy.run_path(str(PROGRAMS / "batch_shapes.py"), run_name="__main__")
    assert {name: getattr(pjit, name, None) for name in wrapped} == before
    assert list(monitoring.get_event_duration_listeners()) == listeners
    assert source_info_util.is_user_filename(_watch_hooks.__file__)
    assert jnp.array_equal(watched["w"], plain["w"])


def test_watches_nest_and_jaxexplain_watch_stays_callable() -> None:
    import jaxexplain.watching.watcher  # importing the module must not hide the function `watch`

    @jax.jit
    def h(x):
        return x + 1

    with jaxexplain.watch() as outer:
        with jaxexplain.watch() as inner:
            h(jnp.ones(2))
        h(jnp.ones(3))
    assert len(inner.report().events) == 1
    assert len(outer.report().events) == 2
    assert not _watch_hooks.hooks_installed()


def test_live_lines_and_text_report() -> None:
    stream = io.StringIO()

    @partial(jax.jit, static_argnums=(1,))
    def power(x, n):
        return x**n

    with jaxexplain.watch(live=stream) as watcher:
        power(jnp.ones(2), 2)
        power(jnp.ones(2), 3)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].endswith("vs #1: static n 2 -> 3")
    text = str(watcher.report())
    assert "vs compile #1: static n 2 -> 3" in text
    assert "Per function" in text and "power" in text


def test_report_json_round_trip() -> None:
    report, _ = run_watched("weak_type.py")
    data = json.loads(report.to_json())
    assert data["schema"] == "jaxexplain.watch/1"
    event = data["events"][-1]
    assert {"function", "file", "line", "call_site", "seconds", "cache_size", "reasons"} <= set(
        event
    )
    assert {"component", "path", "before", "after"} <= set(event["reasons"][0])
    assert {"function", "compiles", "seconds"} <= set(data["functions"][0])
    assert WatchReport.from_dict(data) == report


def test_call_site_through_equinox_filter_jit() -> None:
    eqx = pytest.importorskip("equinox")

    @eqx.filter_jit
    def loss(x, n):
        return jnp.sum(x**n)

    with jaxexplain.watch() as watcher:
        loss(jnp.ones(3), 2)
        loss(jnp.ones(3), 3)
    events = jit_events(watcher.report(), "loss")
    assert len(events) == 2
    assert (events[0].file, events[0].line) == (__file__, loss.__wrapped__.__code__.co_firstlineno)
    assert [e.call_source for e in events] == ["loss(jnp.ones(3), 2)", "loss(jnp.ones(3), 3)"]
    assert reasons(events[1]) == [("static", "n", "2", "3", 1)], (
        "the user's argument that equinox holds static, not its hidden static partition"
    )


runner = CliRunner()


def test_cli_passes_argv_stdout_and_exit_status_through(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = runner.invoke(
        app, ["watch", "-o", str(out), "--", str(PROGRAMS / "exits.py"), "3", "--flag"]
    )
    assert result.exit_code == 3
    assert "argv ['3', '--flag'] name __main__" in result.stdout
    report = json.loads(out.read_text())
    assert report["exit_code"] == 3
    assert [e["function"] for e in report["events"]] == ["double"]


def test_cli_writes_the_report_when_the_program_raises(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = runner.invoke(
        app, ["watch", "-o", str(out), "--", str(PROGRAMS / "exits.py"), "raise"]
    )
    assert result.exit_code == 1
    assert "ValueError: the program failed" in result.stderr
    document = json.loads(out.read_text())
    assert (document["exit_code"], document["error"]) == (1, "ValueError: the program failed")


def test_cli_runs_a_module_and_prints_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PROGRAMS))
    monkeypatch.chdir(PROGRAMS)
    result = runner.invoke(app, ["watch", "--format", "json", "--", "-m", "exits", "0"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "jaxexplain.watch/1"
    assert "argv ['0'] name __main__" in result.stderr, "the program's stdout moved off the JSON"


def test_cli_usage_errors() -> None:
    missing = runner.invoke(app, ["watch", "--format", "json", "--", "no_such_program.py"])
    assert missing.exit_code == 2
    assert json.loads(missing.stdout)["error"].startswith("no such program")
    assert runner.invoke(app, ["watch"]).exit_code == 2


def test_training_loop_with_three_bugs_names_each_recompilation() -> None:
    report, program = run_watched("training_loop.py")
    events = jit_events(report, "train_step")
    assert len(events) == 6 and program["train_step"]._cache_size() == 6
    shapes_8_to_4 = [
        ("shape", "batch['x']", "[8, 3]", "[4, 3]"),
        ("shape", "batch['y']", "[8]", "[4]"),
    ]
    float_to_array = [
        ("weak_type", "total", "True", "False", 1),
        ("sharding", "total", "host value (Python scalar or NumPy)", "uncommitted", 1),
    ]
    assert reasons(events[1]) == float_to_array
    assert reasons(events[2]) == [
        *[(*r, 2) for r in shapes_8_to_4],
        *[(*r, 1) for r in shapes_8_to_4],
        *float_to_array,
    ]
    closest = [(r.component, r.path, r.entry) for e in events[3:] for r in e.reasons[:1]]
    assert closest == [("static", "lr", 1), ("static", "lr", 2), ("static", "lr", 3)]
    assert {w.kind for w in report.warnings} == {"static_float", "weak_type", "varying_shape"}


def test_cli_text_report_goes_to_stderr_and_stdout_stays_the_programs() -> None:
    result = runner.invoke(app, ["watch", "--", str(PROGRAMS / "training_loop.py")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["epoch 0: loss 5.9388", "epoch 1: loss 0.6057"]
    assert result.stderr.count("jaxexplain: compiled train_step") == 6
    assert "vs compile #1: weak_type total True -> False" in result.stderr
    assert "Per function" in result.stderr and "warning: train_step" in result.stderr


class EqualConfig:
    """Equal and hashed by value, but its default repr shows its address."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EqualConfig) and other.depth == self.depth

    def __hash__(self) -> int:
        return hash(self.depth)


def test_equal_statics_with_different_reprs_are_no_reason() -> None:
    @partial(jax.jit, static_argnums=(1,))
    def run(x, config):
        return x * config.depth

    with jaxexplain.watch() as watcher:
        run(jnp.ones(2), EqualConfig(2))
        run(jnp.ones(2), EqualConfig(2))
        run(jnp.ones(3), EqualConfig(2))
    events = watcher.report().events
    assert len(events) == 2 == run._cache_size()
    assert reasons(events[1]) == [("shape", "x", "[2]", "[3]", 1)]


def test_star_args_with_a_negative_static_argnum() -> None:
    @partial(jax.jit, static_argnums=(-1,))
    def total(*xs):
        return sum(x.sum() for x in xs[:-1]) * xs[-1]

    with jaxexplain.watch() as watcher:
        total(jnp.ones(2), jnp.ones(3), 2)
        total(jnp.ones(2), jnp.ones(4), 3)
    report = watcher.report()
    assert report.internal_errors == ()
    assert reasons(report.events[1]) == [
        ("static", "xs[2]", "2", "3", 1),
        ("shape", "xs[1]", "[3]", "[4]", 1),
    ]


class Settings(NamedTuple):
    depth: int
    act: str


@dataclasses.dataclass(frozen=True)
class Model:
    settings: Settings
    width: int


def test_structured_statics_name_the_field_that_changed() -> None:
    @partial(jax.jit, static_argnames=("model",))
    def apply(x, model):
        return x * model.width * model.settings.depth

    with jaxexplain.watch() as watcher:
        apply(jnp.ones(2), model=Model(Settings(2, "relu"), 8))
        apply(jnp.ones(2), model=Model(Settings(3, "relu"), 8))
    assert reasons(watcher.report().events[1]) == [("static", "model.settings.depth", "2", "3", 1)]
    assert watcher.report().warnings == ()


def test_a_float_field_of_a_static_config_that_changes_is_warned_about() -> None:
    @partial(jax.jit, static_argnums=(1,))
    def step(w, hyper):
        return w * hyper.depth

    with jaxexplain.watch() as watcher:
        for lr in (0.1, 0.05, 0.025):
            step(jnp.ones(2), Settings(lr, "sgd"))  # type: ignore[arg-type]
    report = watcher.report()
    assert [r.path for r in report.events[1].reasons] == ["hyper.depth"]
    assert [(w.kind, w.path) for w in report.warnings] == [("static_float", "hyper.depth")]
    assert "3 values: 0.1, 0.05, 0.025" in report.warnings[0].message


TRAINING_DIR = Path(__file__).resolve().parent / "targets" / "training"


def test_watch_of_a_training_script_counts_what_jax_compiled() -> None:
    """Adam with a donated state, a frozen config whose lr decays, and a partial last batch."""
    with jaxexplain.watch() as watcher:
        program = runpy.run_path(str(TRAINING_DIR / "train_script.py"), run_name="not_main")
        program["main"]()
    report = watcher.report()
    steps = [e for e in report.compiles_of("step") if e.kind == "jit"]
    assert len(steps) == program["step"]._cache_size() == 6
    assert {(r.component, r.path) for e in steps for r in e.reasons} == {
        ("static", "config.lr"),
        ("shape", "x"),
        ("shape", "y"),
    }
    (warning,) = [w for w in report.warnings if w.kind == "static_float"]
    assert warning.path == "config.lr"
    assert (
        "static_argnames" not in warning.message and "out of the static `config`" in warning.message
    )


def test_a_new_entry_without_a_compile_is_reported_with_what_changed() -> None:
    """A step counter that goes from a Python int to an array: JAX makes a second cache entry
    but reuses the trace and executable, so nothing is lowered or compiled."""

    @jax.jit
    def step(x, i):
        return x + i

    x = jnp.ones(3)
    with jaxexplain.watch() as watcher:
        step(x, 0)
        step(x, jnp.asarray(1))
        step(x, jnp.asarray(2))
    assert step._cache_size() == 2
    report = watcher.report()
    first, second = report.compiles_of("step")
    assert first.compiled and not second.compiled
    assert second.cache_size == 2 and second.compile_seconds == 0.0
    assert [(r.component, r.path) for r in second.reasons] == [("sharding", "i")]
    (totals,) = report.functions
    assert totals.compiles == 1, "one XLA compilation, two cache entries"


def test_jaxs_own_jitted_operations_called_from_user_code_are_eager_operations() -> None:
    """`jnp.sqrt(x)` and `jnp.tril(m)` compile JAX's own jitted functions: operations, not
    functions the user jitted."""

    @jax.jit
    def shifted(a):
        return jnp.sqrt(a) + 1

    x = jnp.ones(3)
    with jaxexplain.watch() as watcher:
        jnp.sqrt(x)
        jnp.tril(jnp.ones((3, 3)))
        shifted(x)
    report = watcher.report()
    assert [e.function.rpartition(".")[2] for e in report.events] == ["shifted"]
    eager = {e.primitive for e in report.eager}
    assert {"sqrt", "tril"} <= eager


def test_the_weak_type_advice_keeps_the_leafs_own_dtype() -> None:
    """An integer step counter that is first a Python int, then an int32 array: the advice
    makes an int32 array of it, not a float."""

    @jax.jit
    def evaluate(x, step):
        return x * step

    x = jnp.ones(3)
    with jaxexplain.watch() as watcher:
        evaluate(x, 1)
        evaluate(x, jnp.int32(2))
    (warning,) = [w for w in watcher.report().warnings if w.kind == "weak_type"]
    assert "jnp.asarray(step, dtype=jnp.int32)" in warning.message
    assert str(_jax_compat.typeof(jnp.int32(2)).dtype) == "int32"


def test_a_closure_over_a_temperature_made_per_value_gets_a_verified_make_traced(
    tmp_path: Path,
) -> None:
    program = PROGRAMS / "closure_temperature.py"
    out = tmp_path / "closure.json"
    result = subprocess.run(
        [sys.executable, "-m", "jaxexplain", "watch", "-o", str(out), "--", str(program)],
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("max probability") == 3, "the program's own output, untouched"
    report = WatchReport.from_dict(json.loads(out.read_text()))
    (recommendation,) = report.recommendations
    assert recommendation.kind == "make_traced" and recommendation.verified
    assert recommendation.params == ("temperature",)
    assert recommendation.checks == ("traced", "one_entry", "values")
    assert "make_sampler" in recommendation.text
    assert len(report.events) == 3  # the check's own compiles are not the program's
    namespace = runpy.run_path(str(program))
    sampler = jax.jit(lambda logits, t: jax.nn.softmax(logits / t))
    logits = jnp.linspace(-1.0, 1.0, 8)
    for t in (0.5, 1.0):
        expected = namespace["make_sampler"](t)(logits)
        np.testing.assert_allclose(sampler(logits, t), expected, rtol=1e-6)
    assert sampler._cache_size() == 1


def test_a_static_float_that_changes_the_structure_must_stay_static() -> None:
    """A loop count and a size read from floats: each value is its own program, so the advice
    is to keep them static, never to pass them traced."""

    @partial(jax.jit, static_argnames="n")
    def unrolled(x, n):
        for _ in range(int(n)):
            x = jnp.sin(x)
        return x

    @partial(jax.jit, static_argnames="size")
    def padded(x, size):
        return jnp.concatenate([x, jnp.zeros(int(size))])

    x = jnp.ones(3)
    with jaxexplain.watch() as watcher:
        for value in (1.0, 2.0, 3.0):
            unrolled(x, n=value)
            padded(x, size=value)
    assert unrolled._cache_size() == padded._cache_size() == 3
    report = watcher.report()
    assert report.recommendations == ()
    warnings = {w.function.rpartition(".")[2]: w for w in report.warnings}
    assert {(f, w.kind, w.path) for f, w in warnings.items()} == {
        ("unrolled", "stay_static", "n"),
        ("padded", "stay_static", "size"),
    }
    counts = [
        len(jax.make_jaxpr(unrolled.__wrapped__, static_argnums=1)(x, n).eqns) for n in (1.0, 2.0)
    ]
    assert f"equations: {counts[0]} vs {counts[1]}" in warnings["unrolled"].message
    shapes = [jax.eval_shape(partial(padded, size=s), x).shape for s in (1.0, 2.0)]
    assert shapes[0] != shapes[1]
    for warning in warnings.values():
        assert "must stay static" in warning.message and "traced" not in warning.message


def test_a_verified_closure_fix_leaves_the_new_function_warning_counting_only() -> None:
    def make_sampler(temperature):
        def probabilities(logits):
            return jax.nn.softmax(logits / temperature)

        return jax.jit(probabilities)

    logits = jnp.linspace(-1.0, 1.0, 8)
    samplers = [make_sampler(t) for t in (0.5, 1.0, 2.0)]
    with jaxexplain.watch() as watcher:
        for sampler in samplers:
            sampler(logits)
    assert [s._cache_size() for s in samplers] == [1, 1, 1]
    report = watcher.report()
    (recommendation,) = report.recommendations
    assert (
        recommendation.verified
        and "as an argument instead of closing over it" in recommendation.text
    )
    (warning,) = report.warnings
    assert warning.kind == "new_function"
    assert f"a new function object {len(samplers)} times" in warning.message
    assert "functools.partial" not in warning.message and "outside the loop" not in warning.message


def test_a_static_float_that_fails_traced_is_not_advised_traced() -> None:
    """A rate tested with `if` (as flax's Dropout tests `rate == 0.0`) only changes constants,
    yet traced it raises: the warning says so instead of advising to pass it traced."""

    @partial(jax.jit, static_argnames="rate")
    def scaled(x, rate):
        if rate == 0.0:
            return x
        return x * (1.0 - rate)

    x = jnp.ones(3)
    with jaxexplain.watch() as watcher:
        for rate in (0.1, 0.2, 0.3):
            scaled(x, rate=rate)
    assert scaled._cache_size() == 3
    with pytest.raises(jax.errors.TracerBoolConversionError):
        jax.jit(scaled.__wrapped__)(x, 0.1)
    report = watcher.report()
    assert report.recommendations == ()
    (warning,) = report.warnings
    assert (warning.kind, warning.path) == ("static_float", "rate")
    assert "cannot simply be passed traced" in warning.message
    assert "TracerBoolConversionError" in warning.message
    assert "Pass it as a traced argument" not in warning.message
