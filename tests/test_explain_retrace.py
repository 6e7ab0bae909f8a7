"""explain/retrace.py: each fix is a real re-trace, spent from a small budget, and says where
it got to; verified fixes come first."""

from __future__ import annotations

from typing import Any

import jax
import pytest

from jaxexplain.api import trace_target
from jaxexplain.explain import retrace
from jaxexplain.explain.wording import TRIED
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.report import Suggestion
from tests.failing_cases import CF, F8, USER


def test_retraces_stay_few(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = retrace.trace_plan

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(retrace, "trace_plan", counting)
    trace_target(CF + "static_then_data", {}, {"x": F8, "n": 2}, compile=False)
    assert 1 <= len(calls) <= retrace.MAX_RETRACES


def test_a_budget_gives_as_many_retraces_as_it_holds() -> None:
    budget = retrace.Budget(2)
    assert [budget.take() for _ in range(3)] == [True, True, False]


def test_an_attempt_keeps_the_error_and_says_where_it_failed() -> None:
    target, plan = prepare_target(CF + "branch_on_scalar", {}, {"x": F8, "n": 3}, None)
    failed = retrace.attempt(target, plan)
    assert not failed.ok
    assert isinstance(failed.error, jax.errors.TracerBoolConversionError)
    line = (USER / "failing_control_flow.py").read_text().splitlines().index("    if n > 0:") + 1
    where = retrace.where_it_fails(failed.error)
    assert where.startswith(f"{USER / 'failing_control_flow.py'}:{line} (`if n > 0:`): ")
    assert "TracerBoolConversionError: Attempted boolean conversion" in where
    assert retrace.failure_place(failed.error) == (
        (str(USER / "failing_control_flow.py"), line),
        None,
    )
    fixed = retrace.attempt(target, plan.with_values({"n": 3}, static={"n"}))
    assert fixed.ok and retrace.where_it_fails(fixed.error) == "nowhere"


def test_verified_fixes_come_first_and_failed_tries_only_when_nothing_worked() -> None:
    verified = Suggestion("make_static", ("n",), "static", verified=True)
    advice = Suggestion("advice", (), "use lax.cond")
    tried = Suggestion("advice", (), TRIED + " (where: it returns other values).")
    unverified = Suggestion("rewrite", (), "a rewrite")
    assert retrace.proven_first([tried, advice, unverified, verified]) == (verified, advice)
    assert retrace.proven_first([tried, advice, unverified]) == (tried, advice, unverified)
