"""`watch --explain`: full reports built from the program's real calls, checked against JAX."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain.diffing import make_traced
from jaxexplain.report import WatchReport
from jaxexplain.watching.real_calls import Selector

PROGRAMS = Path(__file__).resolve().parent / "watch_programs"


def watch_explained(tmp_path: Path, program: str, *names: str) -> tuple[WatchReport, Any]:
    """Runs `jaxexplain watch --explain NAME... -o report.json -- PROGRAM` in a subprocess."""
    out = tmp_path / "report.json"
    explain = [arg for name in names for arg in ("--explain", name)]
    result = subprocess.run(
        [sys.executable, "-m", "jaxexplain", "watch", *explain, "-o", str(out), "--", program],
        cwd=PROGRAMS,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return WatchReport.from_dict(json.loads(out.read_text())), result


def program_globals(name: str) -> dict[str, Any]:
    return runpy.run_path(str(PROGRAMS / name), run_name="not_main")


def test_every_compile_of_a_closure_gets_its_report_and_each_recompile_its_diff(
    tmp_path: Path,
) -> None:
    report, result = watch_explained(tmp_path, "closure_configs.py", "train")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "2 1", "JAX's own cache sizes: annealed 2, constant 1"
    assert len(report.events) == 3
    assert [(e.compile, e.against) for e in report.explained] == [(1, None), (2, 1), (3, 1)]

    make_train = program_globals("closure_configs.py")["make_train"]
    x = jnp.ones(4)
    jitted = {
        1: (make_train({"ANNEAL_LR": True}), 2),
        2: (make_train({"ANNEAL_LR": False}), 2),
        3: (make_train({"ANNEAL_LR": True}), 3),
    }
    for explained in report.explained:
        fn, steps = jitted[explained.compile]
        assert explained.trace.ok, explained.trace.error
        assert explained.trace.jaxpr is not None
        assert explained.trace.jaxpr.equations == len(fn.trace(x, num_steps=steps).jaxpr.eqns)

    rebuilt = report.explained[1]
    assert rebuilt.diff is not None and rebuilt.note, "another closure of the same code, said so"
    assert rebuilt.diff.recompiles and rebuilt.diff.verified
    assert rebuilt.diff.cache_key_changes[0].component == "function", "JAX caches per object"
    flipped = [(c.source, c.a, c.b) for c in rebuilt.diff.decision_changes]
    assert ('config["ANNEAL_LR"]', ("true",), ("false",)) in flipped

    more_steps = report.explained[2]
    assert more_steps.diff is not None and not more_steps.note
    assert [(c.component, c.path, c.a, c.b) for c in more_steps.diff.cache_key_changes] == [
        ("static", "num_steps", "2", "3")
    ]
    assert more_steps.diff.verified and more_steps.diff.recompiles
    loops = [(c.a, c.b) for c in more_steps.diff.decision_changes if c.kind == "for"]
    assert loops == [((2,), (3,))]


def test_a_program_that_dies_in_a_trace_gets_the_failure_explained_and_keeps_its_exit_code(
    tmp_path: Path,
) -> None:
    report, result = watch_explained(tmp_path, "traced_count.py", "rollout")
    assert result.returncode == 1, "the program's own exit status"
    assert "TracerBoolConversionError" in result.stderr, "the program's traceback, as before"
    (explained,) = report.explained
    assert explained.compile == 0, "it compiled nothing"
    error = explained.trace.error
    assert error is not None and error.type == "TracerBoolConversionError"
    assert error.source == "if num_steps > 2:"
    (static,) = [s for s in error.suggestions if s.kind == "make_static"]
    assert static.verified and static.params == ("num_steps",)
    assert "jax.jit(..., static_argnames=('num_steps',))" in static.text
    assert "--static" not in static.text, "the program made the call: no command-line flag"
    rollout = program_globals("traced_count.py")["rollout"]
    assert jax.jit(rollout.__wrapped__, static_argnames="num_steps").trace(jnp.ones(3), 4).jaxpr


def test_explaining_adds_no_compilation_to_what_watch_reports() -> None:
    """jaxexplain's own trace, lowering and compile of each explained call are unseen: the
    events and the compilations outside jit calls are those of a watch without --explain."""

    def run(explain: tuple[str, ...]) -> WatchReport:
        @jax.jit
        def scale(x):
            return x * 3.0

        with jaxexplain.watch(explain=explain) as watcher:
            scale(jnp.ones(2))
            scale(jnp.ones(3))
        assert scale._cache_size() == 2
        return watcher.report()

    plain, explained = run(()), run(("all",))
    assert len(explained.explained) == 2 and not plain.explained
    assert len(explained.events) == len(plain.events) == 2
    assert explained.other_compiles == plain.other_compiles
    assert [e.cache_size for e in explained.events] == [1, 2]


def test_a_function_is_selected_by_name_by_its_definition_line_or_by_all() -> None:
    definition = ("make_train.<locals>.train", "/work/app/train.py", 11)
    assert Selector(("train",)).matches(definition)
    assert Selector(("make_train.<locals>.train",)).matches(definition)
    assert Selector(("all",)).matches(definition)
    assert Selector(("app/train.py:11",)).matches(definition)
    assert not Selector(("train.py:12",)).matches(definition)
    assert not Selector(("step",)).matches(definition)


def test_equations_are_credited_to_the_users_lines_as_trace_credits_them() -> None:
    """Nested jits inside optax pass through watch's hooks while the explanation traces; the
    equations they make still count on the user's line that called optax."""
    program = program_globals("optax_step.py")
    step, tx = program["step"], program["tx"]
    x = jnp.ones(3)
    with jaxexplain.watch(explain=["step"]) as watcher:
        step(x, tx.init(x))
    (explained,) = watcher.report().explained
    alone = jaxexplain.trace(step, x, tx.init(x), compile=False)

    def per_line(report: Any) -> dict[tuple[str, int], int]:
        return {
            (listing.file, line.number): line.equations
            for listing in report.sources
            for line in listing.lines
            if line.equations
        }

    assert per_line(explained.trace) == per_line(alone)
    source = Path(alone.function.file).read_text().splitlines()
    update = next(i for i, text in enumerate(source, 1) if "tx.update(" in text)
    assert per_line(alone)[(alone.function.file, update)] > 20, "optax's equations, on its call"


def test_the_def_line_or_a_decorator_line_selects_and_a_name_that_selects_nothing_is_said(
    tmp_path: Path,
) -> None:
    program = tmp_path / "prog.py"
    program.write_text(
        "import jax\n"
        "import jax.numpy as jnp\n"
        "\n"
        "@jax.jit\n"
        "def double(x):\n"
        "    return x * 2\n"
        "\n"
        "double(jnp.ones(2))\n"
    )
    definition = ("double", str(program), 4)
    assert Selector((f"{program}:4",)).matches(definition), "the decorator line"
    assert Selector((f"{program}:5",)).matches(definition), "the def line"
    assert not Selector((f"{program}:6",)).matches(definition)
    with jaxexplain.watch(explain=["doubel", f"{program}:5"]) as watcher:
        runpy.run_path(str(program))
    report = watcher.report()
    assert len(report.explained) == 1
    assert [(w.kind, w.path) for w in report.warnings] == [("explain_unmatched", "doubel")]


def test_a_new_entry_made_without_a_compile_is_explained_without_claiming_one() -> None:
    @jax.jit
    def step(x, i):
        return x + i

    x = jnp.ones(3)
    with jaxexplain.watch(explain=["step"]) as watcher:
        step(x, 0)
        step(x, jnp.asarray(1))
    assert step._cache_size() == 2
    first, entry = watcher.report().explained
    assert first.trace.compile is not None, "the first call compiled"
    assert entry.trace.compile is None, "no XLA compile to report: JAX reused the executable"
    assert entry.diff is not None and entry.diff.verification is not None
    assert "without an XLA compile" in entry.diff.verification.note
    assert [(c.component, c.path) for c in entry.diff.cache_key_changes] == [("sharding", "i")]


def test_a_filter_jit_call_is_explained_as_the_users_call() -> None:
    """equinox.filter_jit jits its own `fun_wrapped` over split arguments; the explanation is
    of the user's function and arguments, and the recompile names the user's static float."""
    from tests.targets.libs import filter_jit_branch as lib

    x = jnp.ones(3)
    with jaxexplain.watch(explain=["eval_loss"]) as watcher:
        lib.eval_loss(x, 10.0)
        lib.eval_loss(x, 5.0)
    assert lib.eval_loss._cached._cache_size() == 2
    first, second = watcher.report().explained
    assert [a.name for a in first.trace.arguments] == ["x", "t1"]
    assert first.trace.function.name == "eval_loss"
    assert first.trace.jaxpr is not None
    unwrapped = lib.eval_loss.__wrapped__
    assert first.trace.jaxpr.equations == len(jax.make_jaxpr(lambda v: unwrapped(v, 10.0))(x).eqns)
    assert second.diff is not None and second.diff.verified
    assert [(c.component, c.path, c.a, c.b) for c in second.diff.cache_key_changes] == [
        ("static", "t1", "10.0", "5.0")
    ]


def test_a_parameter_the_real_call_left_to_its_default_is_listed_as_in_trace() -> None:
    @partial(jax.jit, static_argnames="deterministic")
    def eval_step(x, step, deterministic=True):
        return x * step if deterministic else x

    with jaxexplain.watch(explain=["eval_step"]) as watcher:
        eval_step(jnp.ones(2), 1)
    (explained,) = watcher.report().explained
    roles = [(a.name, a.role, a.source) for a in explained.trace.arguments]
    assert roles == [
        ("x", "traced", "program"),
        ("step", "traced", "program"),
        ("deterministic", "static", "default"),
    ]
    alone = jaxexplain.trace(eval_step, jnp.ones(2), 1, compile=False)
    assert alone.cache_key is not None and explained.trace.cache_key is not None
    assert explained.trace.cache_key.static == alone.cache_key.static, (
        "defaults stay out of the key"
    )


def test_an_explained_recompile_of_a_static_number_gets_the_diffs_suggestion_checked_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--explain` gives a recompilation's diff the make_traced suggestion `diff` gives, and
    the watch's recommendation reuses the check of the same pair instead of running it again."""
    runs: list[make_traced.Candidate] = []
    check = make_traced.check

    def counted(candidate: make_traced.Candidate) -> make_traced.Outcome:
        runs.append(candidate)
        return check(candidate)

    monkeypatch.setattr(make_traced, "check", counted)

    @partial(jax.jit, static_argnames="lr")
    def sgd(w, lr):
        return w - lr * jnp.tanh(w)

    @partial(jax.jit, static_argnames="n")
    def unrolled(x, n):
        for _ in range(n):
            x = jnp.sin(x)
        return x

    x = jnp.ones(3)
    with jaxexplain.watch(explain=["sgd", "unrolled"]) as watcher:
        for lr, n in ((0.1, 2), (0.2, 3)):
            sgd(x, lr=lr)
            unrolled(x, n=n)
    assert sgd._cache_size() == unrolled._cache_size() == 2
    report = watcher.report()
    diffs = {e.function.rpartition(".")[2]: e.diff for e in report.explained if e.diff}
    (fix,) = diffs["sgd"].suggestions
    assert fix.kind == "make_traced" and fix.verified
    assert fix.checks == ("traced", "one_entry", "values")
    (recommendation,) = report.recommendations
    assert recommendation.params == ("lr",) and recommendation.text.endswith(fix.text)
    (advice,) = diffs["unrolled"].suggestions
    counts = [
        len(jax.make_jaxpr(unrolled.__wrapped__, static_argnums=1)(x, n).eqns) for n in (2, 3)
    ]
    assert advice.kind == "advice" and f"equations: {counts[0]} vs {counts[1]}" in advice.text
    assert sorted(c.name for c in runs) == ["lr", "n"], "one check per pair, shared by watch"
    assert [w.kind for w in report.warnings] == ["stay_static"]
