"""explain/dispatch.py: the explainer is picked by the kind of failure, the caller's wording is
passed down, an error jaxexplain does not recognise is shown as it is, and an explainer's own
failure is said to be jaxexplain's bug, never raised at the user."""

from __future__ import annotations

from typing import Any

import jax
import pytest

from jaxexplain.explain import dispatch
from jaxexplain.explain.frames import error_info
from jaxexplain.inputs.caller import CLI
from jaxexplain.inputs.calling import plan_call
from jaxexplain.tracing.stages import Target, trace_plan
from tests.failing_cases import explain_as
from tests.targets.explain import failing as user


def failure(fn: Any, **traced: Any) -> tuple[BaseException, Target, Any]:
    target = Target.of(fn)
    plan = plan_call(fn, {}, traced, source="cli")
    with pytest.raises(Exception) as caught:
        trace_plan(target, plan)
    return caught.value, target, plan


def test_an_error_jaxexplain_does_not_recognise_is_shown_as_it_is() -> None:
    exc, target, plan = failure(user.raises_its_own_error, x=1.0)
    assert dispatch.explain_failure(exc, target, plan) == error_info(exc)


def test_an_explainers_own_failure_is_said_to_be_a_bug_in_jaxexplain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("the explainer broke")

    monkeypatch.setattr(dispatch, "explain_loop_grad", broken)
    exc, target, plan = failure(user.grad_of_loop, x=2.0, n=3)
    info = dispatch.explain_failure(exc, target, plan)
    assert info.type == "ValueError" and info.suggestions == ()
    assert info.explanation == (
        "(jaxexplain could not analyse this failure further: RuntimeError: the explainer broke; "
        "this is a bug in jaxexplain.)"
    )


def test_the_caller_reaches_the_words_of_every_kind_of_fix() -> None:
    """The default caller is the command line; the API's caller reads its own parameter."""
    exc, target, plan = failure(user.loops_over, x=1.0, n=3)
    default = dispatch.explain_failure(exc, target, plan)
    assert default == dispatch.explain_failure(exc, target, plan, None, CLI)
    assert "--static n=3" in default.suggestions[0].text
    api = explain_as("api", user.loops_over, traced={"x": 1.0, "n": 3})
    assert "--static" not in " ".join(s.text for s in api.suggestions)
    assert "static_argnames=('n',) to jaxexplain.trace" in api.suggestions[0].text
    jax.jit(user.loops_over, static_argnames="n").trace(1.0, 3)
