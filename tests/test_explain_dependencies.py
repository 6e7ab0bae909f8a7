"""explain/dependencies.py: what the failing value depended on. The source analysis names the
traced arguments JAX itself names, and JAX's account is read for the target's own trace only."""

from __future__ import annotations

from typing import Any

import jax
import pytest

from jaxexplain import _jax_compat
from jaxexplain.explain.dependencies import dependencies, dependencies_in_source, provenance
from jaxexplain.explain.frames import frames_below_target, read_sites, user_frames
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.report import Dependency
from jaxexplain.tracing.stages import Target, trace_plan
from tests.failing_cases import CASES, CF, F8, Case


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_source_dependencies_agree_with_jax(case: Case) -> None:
    """Where JAX names the traced arguments a tracer came from, the AST analysis names the same."""
    target, plan = prepare_target(case.target, case.static, case.traced, None)
    with pytest.raises(Exception) as caught:
        trace_plan(target, plan)
    jax_says = provenance(caught.value, target)
    if jax_says is None:
        pytest.skip("JAX names no arguments for this failure")
    sites = read_sites(frames_below_target(user_frames(caught.value), target))
    from_source = dependencies_in_source(plan, sites)
    assert sorted(d.name for d in from_source if d.via == "value") == sorted(jax_says)


def _failure(
    target_spec: str, static: dict[str, Any], traced: dict[str, Any]
) -> tuple[BaseException, Target, CallPlan]:
    target, plan = prepare_target(target_spec, static, traced, None)
    with pytest.raises(Exception) as caught:
        trace_plan(target, plan)
    return caught.value, target, plan


def test_jax_names_the_arguments_or_the_constants_a_tracer_came_from() -> None:
    scalar, target, _ = _failure(CF + "branch_on_scalar", {}, {"x": F8, "n": 3})
    assert provenance(scalar, target) == ["n"]
    constant, target, plan = _failure(CF + "branch_on_constant", {}, {"x": F8})
    assert provenance(constant, target) == []
    sites = read_sites(frames_below_target(user_frames(constant), target))
    assert dependencies(constant, target, plan, sites) == []


def test_jaxs_account_of_another_functions_trace_is_not_the_targets() -> None:
    """In a `lax.scan` body JAX names the body's own arguments: not the target's."""
    exc, target, plan = _failure(
        CF + "branch_in_scan_body", {}, {"x": jax.ShapeDtypeStruct((4, 3), "float32")}
    )
    said = _jax_compat.PROVENANCE.search(str(exc))
    assert said is None or said["fn"] != "branch_in_scan_body"
    assert provenance(exc, target) is None
    sites = read_sites(frames_below_target(user_frames(exc), target))
    assert dependencies(exc, target, plan, sites) == [Dependency("x", "value")]


def test_a_global_the_value_reads_is_a_dependency_and_a_module_is_not() -> None:
    exc, target, plan = _failure(CF + "branch_on_global", {}, {"x": F8})
    sites = read_sites(frames_below_target(user_frames(exc), target))
    assert dependencies_in_source(plan, sites) == [
        Dependency("x", "value"),
        Dependency("LIMIT", "global"),
    ]
