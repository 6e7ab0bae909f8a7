"""explain/constructs.py on real source: the node a failing instruction belongs to, the construct
around it and what it needed concretely, the call a frame runs, and the parameters and globals
a value reads, followed back through local assignments."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.explain import constructs
from tests.failing_cases import failing_construct, failing_position
from tests.targets.explain import rewritable as user


def test_trace_back_follows_locals_to_parameters_and_globals() -> None:
    function, node, construct = failing_construct(user.branch_on_local, jnp.ones(3), 1.0)
    assert construct.kind == "if" and ast.unparse(construct.needed[0]) == "total > limit"
    uses = constructs.trace_back(function, construct.needed, node)
    assert [(u.name, u.aspect) for u in uses] == [
        ("limit", "value"),
        ("x", "value"),
        ("SCALE", "value"),
    ]


@pytest.mark.parametrize(
    ("fn", "args", "kind", "needed"),
    [
        (user.clipped_sqrt, (1.0,), "if", "x > 0"),
        (user.sign_flip, (np.ones(3),), "ifexp", "x.mean() > 0"),
        (user.weighted_sum, (np.ones(3), 2), "for_range", "n"),
        (user.halve_while_large, (4.0,), "while", "x > 1.0"),
        (user.scaled_by_mean, (np.ones(3),), "float", "x.mean()"),
        (user.positive_sum, (np.ones(3),), "bool_index", "x > 0"),
        (user.numpy_sin, (np.ones(3),), "numpy", "x"),
    ],
)
def test_the_construct_and_what_it_needed_are_named(
    fn: Callable[..., Any], args: tuple[Any, ...], kind: str, needed: str
) -> None:
    _, _, construct = failing_construct(fn, *args)
    assert construct.kind == kind
    assert [ast.unparse(e) for e in construct.needed] == [needed]
    assert construct.label == constructs.CONSTRUCT_LABELS[kind]


def test_call_at_finds_the_call_a_frame_runs_and_nothing_outside_a_call() -> None:
    function = constructs.user_function(user.weighted_sum.__code__)
    assert function is not None
    call = constructs.call_at(function, failing_position(user.weighted_sum, jnp.ones(3), 2))
    assert call is not None and ast.unparse(call) == "range(n)"
    branch = constructs.user_function(user.clipped_sqrt.__code__)
    assert branch is not None
    assert constructs.call_at(branch, failing_position(user.clipped_sqrt, 1.0)) is None
