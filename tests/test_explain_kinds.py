"""explain/kinds.py: each kind of failure told from the class and the message of the error
JAX really raises (and a user's own error is no kind jaxexplain explains)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from jaxexplain.explain.kinds import failure_kind, is_concretization
from tests.targets.explain import failing as user
from tests.targets.failures import sizes


def raised(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def _branch(x: Any) -> Any:
    return x if x > 0 else -x


def _leak() -> Any:
    kept: list[Any] = []
    jax.jit(lambda x: kept.append(x) or x)(jnp.ones(()))
    return jax.jit(lambda x: x + kept[0])(jnp.ones(()))


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda: jax.jit(lambda x, s: x, static_argnums=1)(1.0, [1]), "unhashable_static"),
        (lambda: jax.jit(lambda x, s: x)(1.0, "relu"), "not_an_array"),
        (_leak, "leaked_tracer"),
        (lambda: jax.jit(user.grad_of_loop)(1.0, 3), "loop_grad"),
        (lambda: jax.jit(_branch)(1.0), "concretization"),
        (lambda: jax.jit(_branch)(jnp.ones(3)), "concretization"),
        (lambda: jax.jit(user.loops_over)(1.0, 3), "concretization"),
        (lambda: jax.jit(user.zeros_of)(1.0, 3), "concretization"),
        (lambda: jax.jit(lambda x, n: x[:n])(jnp.ones(3), 2), "concretization"),
        (lambda: jax.jit(lambda x: x[x > 0])(jnp.ones(3)), "concretization"),
        (lambda: jax.jit(lambda x: float(x))(1.0), "concretization"),
        (lambda: jax.jit(lambda x: __import__("numpy").asarray(x))(1.0), "concretization"),
        (lambda: jax.jit(user.raises_its_own_error)(1.0), None),
        (lambda: jax.jit(sizes.reset_envs)(jax.random.key(0), 3), "concretization"),
        (lambda: jax.jit(sizes.causal_scores)(jnp.ones((2, 2)), 0), "concretization"),
        (lambda: jax.jit(lambda x, s: x, static_argnums=1)(1.0, {}), "unhashable_static"),
    ],
)
def test_each_failure_is_told_by_its_kind(call: Callable[[], Any], kind: str | None) -> None:
    exc = raised(call)
    assert failure_kind(exc) == kind
    assert is_concretization(exc) == (kind == "concretization")
