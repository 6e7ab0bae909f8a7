"""User code written the way the docs of blackjax, numpyro, distrax, optimistix and jraph write
it, checked against JAX itself: what jaxexplain says about it must be what JAX does."""

from __future__ import annotations

import jax

import jaxexplain
from tests.targets.libs import optimistix_tour


def test_a_none_static_is_one_cache_entry_and_gets_no_identity_warning() -> None:
    kwargs = optimistix_tour.unbounded_root_args()
    jitted = jax.jit(optimistix_tour.find_root, static_argnames="max_steps")
    jax.block_until_ready(jitted(**kwargs))
    jax.block_until_ready(jitted(**optimistix_tour.unbounded_root_args()))
    assert jitted._cache_size() == 1
    report = jaxexplain.trace(
        optimistix_tour.find_root, static_argnames="max_steps", compile=False, **kwargs
    )
    (static,) = report.cache_key.static
    assert (static.name, static.value, static.compared_by) == ("max_steps", "None", "value")
    assert static.warnings == ()
    assert not [note for note in report.notes if "max_steps" in note]
