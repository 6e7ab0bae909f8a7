"""explain/type_checks.py: a runtime type checker (jaxtyping, beartype) rejecting the tracer jit
passes for a parameter annotated `int`, on code written as their documentation writes it
(tests/targets/failures/typechecked.py).

Each real error is provoked here: its traceback says where it is raised, its class says which
checker raised it, and `jax.jit(..., static_argnames=...)` says whether the offered fix works.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from jaxexplain import api
from jaxexplain.explain.type_checks import type_check_rejection
from jaxexplain.report import Dependency, ErrorInfo
from tests.targets.failures import typechecked

TARGETS = Path(typechecked.__file__)
KEY = jax.random.key(0)


def raised(call: Callable[[], Any]) -> pytest.ExceptionInfo[BaseException]:
    with pytest.raises(Exception) as caught:
        call()
    return caught


def users_last_line(caught: pytest.ExceptionInfo[BaseException]) -> int | None:
    """The innermost line of the target file in the real error's traceback."""
    lines = [e.lineno + 1 for e in caught.traceback if Path(e.path) == TARGETS]
    return lines[-1] if lines else None


def annotation_line(text: str) -> int:
    """The line of typechecked.py that writes `text` (`num_envs: int`)."""
    lines = TARGETS.read_text().splitlines()
    (found,) = [i + 1 for i, line in enumerate(lines) if text in line]
    return found


def explained(fn: Callable[..., Any], *args: Any) -> ErrorInfo:
    error = api.trace(fn, *args, compile=False).error
    assert error is not None
    return error


@pytest.mark.parametrize(
    ("fn", "args", "param", "annotated", "checker"),
    [
        (typechecked.rollout, (KEY, 8), "num_envs", "num_envs: int", "jaxtyping"),
        (typechecked.scale_twice, (jnp.ones(3), 3), "factor", "times: int", "beartype"),
    ],
    ids=["jaxtyping", "beartype"],
)
def test_a_checked_helper_given_a_tracer_is_explained_at_the_users_call(
    fn: Callable[..., Any], args: tuple[Any, ...], param: str, annotated: str, checker: str
) -> None:
    caught = raised(lambda: fn(*args))
    assert type(caught.value).__module__.split(".")[0] == checker

    error = explained(fn, *args)
    assert (error.file, error.line) == (str(TARGETS), users_last_line(caught))
    assert error.construct == "type_check" and error.raised_by == checker
    assert error.depends_on == (Dependency(param, "value"),)
    assert f"`{annotated}` (line {annotation_line(annotated)})" in error.explanation
    (fix,) = [s for s in error.suggestions if s.verified]
    assert fix.kind == "make_static" and fix.params == (param,)
    jax.jit(fn.__wrapped__, static_argnames=fix.params).trace(*args)


def test_a_checked_method_maps_its_parameter_to_the_callers_argument() -> None:
    """`policy.sample(key, obs, num_actions)` on an equinox Module: `self` is the receiver, so
    `count: int` is the third argument written, `num_actions`."""
    kwargs = typechecked.act_args()
    caught = raised(lambda: typechecked.act(**kwargs))
    assert type_check_rejection(caught.value) is not None

    error = api.trace(typechecked.act, compile=False, **kwargs).error
    assert error is not None
    assert (error.file, error.line) == (str(TARGETS), users_last_line(caught))
    assert error.depends_on == (Dependency("num_actions", "value"),)
    assert f"`count: int` (line {annotation_line('count: int')})" in error.explanation
    (fix,) = [s for s in error.suggestions if s.verified]
    assert fix.params == ("num_actions",)
    jax.jit(typechecked.act.__wrapped__, static_argnames=fix.params).trace(**kwargs)


def test_a_checked_target_is_explained_at_its_annotation() -> None:
    """jit calls the checked function itself with its tracers: no line of the user's ran, and
    the annotation is where the value was needed."""
    fn, args = typechecked.horizon_mean, (jnp.ones(5), 3)
    caught = raised(lambda: fn(*args))
    assert type(caught.value).__module__ == "jaxtyping" and users_last_line(caught) is None

    error = explained(fn, *args)
    assert (error.file, error.line) == (str(TARGETS), annotation_line("horizon: int"))
    assert error.source == "horizon: int" and error.raised_by == "jaxtyping"
    assert f"`horizon: int` (line {error.line})" in error.explanation
    assert error.depends_on == (Dependency("horizon", "value"),)
    (fix,) = [s for s in error.suggestions if s.verified]
    assert fix.params == ("horizon",)
    jax.jit(fn.__wrapped__, static_argnames=fix.params).trace(*args)


def test_a_call_the_source_cannot_match_is_settled_by_re_tracing() -> None:
    """`partial(sample_envs, num_envs=num_envs)` is called as `sample`: the source does not say
    which of the traced numbers reached `num_envs: int`; re-tracing each static does (`horizon`
    static alone fails here again, `num_envs` alone gets past it to the slice `[:horizon]`, and
    both together trace)."""
    fn, args = typechecked.rollout_bound, (KEY, 8, 2)
    caught = raised(lambda: fn(*args))
    with pytest.raises(IndexError):
        jax.jit(fn.__wrapped__, static_argnames="num_envs").trace(*args)

    error = explained(fn, *args)
    assert (error.file, error.line) == (str(TARGETS), users_last_line(caught))
    assert error.depends_on == (Dependency("num_envs", "value"),)
    (fix,) = [s for s in error.suggestions if s.verified]
    assert fix.params == ("num_envs", "horizon")
    jax.jit(fn.__wrapped__, static_argnames=fix.params).trace(*args)


def test_a_count_given_as_an_array_gets_the_fix_unverified() -> None:
    error = explained(typechecked.rollout, KEY, jax.ShapeDtypeStruct((), jnp.int32))
    assert error.depends_on == (Dependency("num_envs", "value"),)
    (fix,) = error.suggestions
    assert fix.kind == "make_static" and not fix.verified
    assert "Pass num_envs as a Python int" in fix.text


def test_a_count_computed_from_array_data_gets_no_static_fix() -> None:
    fn, args = typechecked.rollout_total, (KEY, jnp.array([3, 5]))
    caught = raised(lambda: fn(*args))

    error = explained(fn, *args)
    assert (error.file, error.line) == (str(TARGETS), users_last_line(caught))
    assert error.depends_on == (Dependency("num_envs", "value"),)
    assert "depends on the array data of num_envs, so no static choice can help" in (
        error.explanation
    )
    assert not [s for s in error.suggestions if s.kind == "make_static"]


def test_an_array_hint_rejection_is_shown_as_the_checker_raised_it() -> None:
    """A raw uint32 key where `Key[Array, ""]` is wanted: no static choice gives an array, so it
    is no tracer's rejection, and the checker (not the user's line) raised it."""
    raw_key = jnp.zeros(2, jnp.uint32)
    caught = raised(lambda: typechecked.rollout(raw_key, 8))
    assert "parameter 'key'" in str(caught.value)
    assert type_check_rejection(caught.value) is None

    error = explained(typechecked.rollout, raw_key, 8)
    assert error.raised_by == "jaxtyping"
    assert error.construct is None and error.suggestions == () and error.depends_on == ()


@pytest.mark.parametrize(
    ("call", "checker", "function", "parameter"),
    [
        (lambda: typechecked.rollout(KEY, 8), "jaxtyping", "sample_envs", "num_envs"),
        (lambda: typechecked.scale_twice(jnp.ones(3), 3), "beartype", "scaled", "times"),
    ],
    ids=["jaxtyping", "beartype"],
)
def test_each_checkers_words_give_the_function_and_the_parameter(
    call: Callable[[], Any], checker: str, function: str, parameter: str
) -> None:
    rejection = type_check_rejection(raised(call).value)
    assert rejection is not None
    assert rejection.checker == checker and rejection.parameter == parameter
    assert rejection.function == f"{typechecked.__name__}.{function}"
    assert rejection.numbers == ("int",)
