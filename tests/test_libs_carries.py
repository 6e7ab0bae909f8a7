"""A value a loop body reads from its `lax.scan`/`fori_loop`/`while_loop` carry is blamed on
the argument the carry slot was built from (`reps`), never on the loop's other inputs; the
explanation says the carry is traced whatever the argument was, which JAX confirms (with `reps`
static the trace fails at the same line); and the fix offered, reading `reps` from the
enclosing function instead, is applied to the source by the test, re-traced with `reps`
static and compared with the original run outside jit."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import traceback
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxexplain
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.renderers import render
from jaxexplain.report import Dependency, ErrorInfo, Suggestion
from tests.targets.libs import carries as lib

XS = jax.ShapeDtypeStruct((4, 3), jnp.float32)
X = jax.ShapeDtypeStruct((3,), jnp.float32)
REPLACED_LINE = re.compile(r"replace line (?P<line>\d+) of")

# (target, its data argument, the loop that carries `reps`)
CARRIED = [
    (lib.repeat_in_scan, XS, "lax.scan"),
    (lib.repeat_in_fori, X, "lax.fori_loop"),
    (lib.repeat_in_while, X, "lax.while_loop"),
]


def failure(fn: Callable[..., Any], data: Any, **kwargs: Any) -> ErrorInfo:
    report = jaxexplain.trace(fn, data, compile=False, **kwargs)
    assert report.error is not None
    return report.error


def failing_line(fn: Callable[..., Any], data: Any, static: bool) -> int:
    """The line of `fn`'s file where JAX's own trace fails, `reps` static or traced."""
    jitted = jax.jit(fn, static_argnames="reps" if static else ())
    with pytest.raises(jax.errors.TracerIntegerConversionError) as caught:
        jitted.trace(data, reps=3)
    here = inspect.getsourcefile(fn)
    frames = traceback.extract_tb(caught.value.__traceback__)
    return next(f.lineno for f in reversed(frames) if f.filename == here and f.lineno)


def apply_suggestion(fn: Callable[..., Any], suggestion: Suggestion) -> Callable[..., Any]:
    """`fn` with the line the suggestion names replaced by its code, compiled from the source."""
    match = REPLACED_LINE.search(suggestion.text)
    assert match is not None and suggestion.code is not None
    lines, first = inspect.getsourcelines(fn)
    lines[int(match["line"]) - first] = suggestion.code + "\n"
    namespace = dict(fn.__globals__)
    exec(compile(textwrap.dedent("".join(lines)), "<rewritten>", "exec"), namespace)
    return namespace[fn.__name__]


def eager_outputs(fn: Callable[..., Any], data: Any, jitted: bool) -> list[np.ndarray]:
    """`fn` on random data: outside jit, or under jit with `reps` static."""
    rng = np.random.default_rng(1)
    call = jax.jit(fn, static_argnames="reps") if jitted else fn
    outputs = []
    for _ in range(3):
        value = jnp.asarray(rng.normal(size=data.shape), data.dtype)
        with jax.disable_jit(not jitted):
            outputs.append(np.asarray(call(value, reps=3)))
    return outputs


def verified(error: ErrorInfo) -> Suggestion:
    (found,) = [s for s in error.suggestions if s.verified]
    return found


@pytest.mark.parametrize(("fn", "data", "loop"), CARRIED)
def test_a_carried_count_is_blamed_on_reps_through_its_slot(
    fn: Callable[..., Any], data: Any, loop: str
) -> None:
    error = failure(fn, data, reps=3)
    assert error.depends_on == (Dependency("reps", "value"),)
    text = " ".join(error.explanation.split())
    assert f"slot 1 of the `{loop}` carry" in text
    assert "built from `reps`" in text
    assert "a carry is always traced" in text
    # JAX: static, reps still fails at the very same line while it is in the carry.
    assert failing_line(fn, data, static=True) == failing_line(fn, data, static=False)
    assert error.line == failing_line(fn, data, static=True)
    assert "it still fails here" in text


def test_reps_static_in_the_carry_is_said_to_fail_anyway() -> None:
    error = failure(lib.repeat_in_scan, XS, static_argnames="reps", reps=3)
    assert error.depends_on == (Dependency("reps", "value"),)
    assert "`reps` is static in this trace, and it fails here anyway" in " ".join(
        error.explanation.split()
    )
    rendered = " ".join(render(jaxexplain.trace(lib.repeat_in_scan, XS, reps=3)).split())
    assert "depends on: reps (traced value)" in rendered
    assert "xs (" not in rendered.split("depends on:")[1].split("JAX:")[0]


@pytest.mark.parametrize(("fn", "data", "loop"), CARRIED)
def test_reading_reps_outside_the_carry_is_verified_and_jax_agrees(
    fn: Callable[..., Any], data: Any, loop: str
) -> None:
    suggestion = verified(failure(fn, data, reps=3))
    assert suggestion.kind == "rewrite" and suggestion.params == ("reps",)
    assert suggestion.code is not None and "range(reps)" in suggestion.code
    fixed = apply_suggestion(fn, suggestion)
    assert jax.jit(fixed, static_argnames="reps").trace(data, reps=3).jaxpr is not None
    original, rewritten = eager_outputs(fn, data, False), eager_outputs(fixed, data, True)
    assert all(np.allclose(a, b) for a, b in zip(original, rewritten, strict=True))


def test_a_count_the_body_changes_gets_no_verified_rewrite() -> None:
    """The carried count goes down each step: reading `reps` instead gives other values."""
    error = failure(lib.countdown_in_scan, XS, reps=3)
    assert not any(s.verified for s in error.suggestions)
    (tried,) = [s for s in error.suggestions if "reps" in s.text and "tried it" in s.text]
    assert "other values" in tried.text
    rewritten = inspect.getsource(lib.countdown_in_scan).replace("range(carry[1])", "range(reps)")
    namespace = dict(lib.__dict__)
    exec(compile(rewritten, "<rewritten>", "exec"), namespace)
    original = eager_outputs(lib.countdown_in_scan, XS, False)
    changed = eager_outputs(namespace["countdown_in_scan"], XS, True)
    assert not all(np.allclose(a, b) for a, b in zip(original, changed, strict=True))


def test_a_body_outside_the_target_gets_the_change_said_unverified() -> None:
    error = failure(lib.repeat_with_module_body, XS, reps=3)
    assert error.depends_on == (Dependency("reps", "value"),)
    (fix,) = [s for s in error.suggestions if s.params == ("reps",)]
    assert not fix.verified
    assert "`_module_body` is not defined inside `repeat_with_module_body`" in fix.text
    assert failing_line(lib.repeat_with_module_body, XS, static=True) == error.line


def test_reps_given_as_an_array_is_offered_unverified_with_how_to_verify() -> None:
    error = failure(lib.repeat_in_scan, XS, reps=jax.ShapeDtypeStruct((), jnp.int32))
    (fix,) = [s for s in error.suggestions if s.params == ("reps",)]
    assert not fix.verified
    assert "static_argnames=('reps',) to jaxexplain.trace" in fix.text and fix.code is not None


def test_the_recorder_reads_a_plain_carried_value_as_its_value_for_failures() -> None:
    recorder = DecisionRecorder(lib.repeat_in_scan, {"xs": "traced", "reps": "traced"})
    with pytest.raises(jax.errors.TracerIntegerConversionError), recorder:
        jax.jit(lib.repeat_in_scan).trace(XS, 3)
    (body,) = [
        c for c in lib.repeat_in_scan.__code__.co_consts if getattr(c, "co_name", 0) == "body"
    ]
    needed = ast.parse("carry[1]", mode="eval").body
    assert recorder.dependencies_of(body, needed) == (Dependency("reps", "shape"),)
    assert recorder.dependencies_of(body, needed, needs_value=True) == (
        Dependency("reps", "value"),
    )
    (slot,) = recorder.carry_slots_of(body, needed)
    assert (slot.loop, slot.slot, slot.parameter, slot.init) == ("scan", 1, "carry", "reps")
