"""Each private or version-dependent JAX API that jaxexplain uses, checked so a JAX release that
changes one fails here, loudly, rather than somewhere in a report."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import pytest

from jaxexplain import _jax_compat


@contextlib.contextmanager
def _no_op() -> Iterator[None]:
    yield


def double(x, n=2):
    return x * n


def test_jit_info_gives_the_decorator_statics() -> None:
    jitted = jax.jit(double, static_argnames=("n",), donate_argnums=(0,))
    assert _jax_compat.is_jitted(jitted)
    assert not _jax_compat.is_jitted(double)
    options = _jax_compat.jit_options(jitted)
    assert options.static_argnames == ("n",)
    assert options.static_argnums == (1,)
    assert options.donate_argnums == (0,)


def test_cache_size_counts_dispatch_entries_and_clears() -> None:
    jitted = jax.jit(double)
    _jax_compat.clear_cache(jitted)
    assert _jax_compat.cache_size(jitted) == 0
    jitted(jnp.zeros(2))
    jitted(jnp.zeros(3))
    assert _jax_compat.cache_size(jitted) == 2
    jitted.trace(jnp.zeros(4)).lower().compile()
    assert _jax_compat.cache_size(jitted) == 2, "AOT compilation must not touch the dispatch cache"


def test_trace_context_is_named_and_follows_config() -> None:
    context = _jax_compat.trace_context()
    assert context["jax_enable_x64"] == "False"
    assert "jax_default_matmul_precision" in context and "jax_default_device" in context
    with jax.enable_x64(True) if hasattr(jax, "enable_x64") else jax.experimental.enable_x64():
        assert _jax_compat.trace_context()["jax_enable_x64"] == "True"


def test_inner_jaxpr_and_equation_sources() -> None:
    traced = jax.jit(double).trace(jnp.zeros(3))
    jaxpr = _jax_compat.inner_jaxpr(traced)
    assert len(jaxpr.eqns) == len(jax.make_jaxpr(double)(jnp.zeros(3)).jaxpr.eqns)
    source = _jax_compat.equation_source(jaxpr.eqns[0])
    assert source == f"{__file__}:{double.__code__.co_firstlineno + 1}"
    text = _jax_compat.pretty_print_with_sources(jaxpr)
    assert f"{__file__}:{double.__code__.co_firstlineno + 1}" in text
    with jax.config.pprint_use_color(True) if hasattr(jax.config, "pprint_use_color") else _no_op():
        assert "\x1b[" not in _jax_compat.pretty_print_with_sources(jaxpr)


def test_sub_jaxprs_are_found() -> None:
    def f(x):
        return jax.lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x)

    jaxpr = _jax_compat.inner_jaxpr(jax.jit(f).trace(jnp.zeros(3)))
    (cond,) = [e for e in jaxpr.eqns if e.primitive.name == "cond"]
    assert len(_jax_compat.sub_jaxprs(cond)) == 2


def test_cost_analysis_is_one_dict() -> None:
    compiled = jax.jit(double).trace(jnp.zeros(3)).lower().compile()
    costs = _jax_compat.cost_analysis(compiled)
    assert isinstance(costs, dict) and costs["flops"] >= 3


@pytest.mark.parametrize("version", [_jax_compat.JAX_VERSION])
def test_supported_jax_version(version: str) -> None:
    major, minor = (int(p) for p in version.split(".")[:2])
    assert (major, minor) >= (0, 10), f"jaxexplain is tested with jax >= 0.10, found {version}"
