"""The cache key's digest agrees with JAX's real dispatch cache: equal digests hit, others miss."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxexplain
from jaxexplain.renderers import render
from jaxexplain.renderers.words import hash_time_text
from jaxexplain.tracing.cache_key import SLOW_HASH_SECONDS, static_key
from jaxexplain.tracing.key_compare import compare_keys


def scaled(x: Any, n: Any = 1) -> Any:
    return x * n


def ignores_n(x: Any, n: Any) -> Any:
    return x


def tree_sum(params: Any) -> Any:
    return sum(jnp.sum(leaf) for leaf in jax.tree_util.tree_leaves(params))


Call = tuple[tuple[Any, ...], dict[str, Any]]


def cache_verdict(jitted: Any, a: Call, b: Call) -> bool:
    """Calls the jitted function with A then B; True when B added a new cache entry (JAX's
    own cache size, read here, not through jaxexplain's compatibility module)."""
    jax.clear_caches()
    jitted(*a[0], **a[1])
    before = jitted._cache_size()
    jitted(*b[0], **b[1])
    return jitted._cache_size() > before


def digest(jitted: Any, call: Call) -> Any:
    return jaxexplain.trace(jitted, *call[0], compile=False, **call[1]).cache_key


X3 = np.zeros(3, np.float32)

CASES = {
    "same call": (scaled, ((X3,), {"n": 2}), ((X3,), {"n": 2}), set()),
    "static value": (scaled, ((X3,), {"n": 2}), ((X3,), {"n": 3}), {"static"}),
    "static type 2 vs 2.0": (scaled, ((X3,), {"n": 2}), ((X3,), {"n": 2.0}), {"static_type"}),
    "shape": (scaled, ((X3,), {"n": 2}), ((np.zeros(4, np.float32),), {"n": 2}), {"shape"}),
    "dtype": (scaled, ((X3,), {"n": 2}), ((np.zeros(3, np.int32),), {"n": 2}), {"dtype"}),
    "keyword vs positional": (scaled, ((X3,), {"n": 2}), ((), {"x": X3, "n": 2}), {"treedef"}),
    "pytree structure": (
        tree_sum,
        (({"w": X3},), {}),
        (({"w": X3, "b": X3},), {}),
        {"treedef"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_digest_equality_matches_jax_cache(case: str) -> None:
    fn, a, b, components = CASES[case]
    jitted = jax.jit(fn, static_argnames=("n",) if fn is scaled else ())
    key_a, key_b = digest(jitted, a), digest(jitted, b)
    recompiles = cache_verdict(jitted, a, b)
    assert (key_a.digest != key_b.digest) == recompiles == bool(components)
    assert {c.component for c in compare_keys(key_a, key_b)} == components


def shifted(x: Any, i: Any) -> Any:
    return x + i


@pytest.mark.parametrize(
    "host",
    [0, np.int32(1), np.asarray(2, np.int32)],
    ids=["python int", "numpy scalar", "numpy 0-d array"],
)
def test_a_host_value_and_a_jax_array_of_one_type_are_two_entries(host: Any) -> None:
    """JAX keys a jax.Array apart from a Python scalar or NumPy value of the same shape, dtype
    and weak type (the trace is the same, the dispatch signature is not): the digests differ,
    and the change is named as the leaf's placement."""
    jitted = jax.jit(shifted)
    device = jnp.asarray(host)
    assert jax.typeof(device) == jax.typeof(host), "the same abstract value on both sides"
    a: Call = ((X3, host), {})
    b: Call = ((X3, device), {})
    key_a, key_b = digest(jitted, a), digest(jitted, b)
    assert cache_verdict(jitted, a, b)
    assert key_a.digest != key_b.digest
    assert (key_a.traced[1].on_device, key_b.traced[1].on_device) == (False, True)
    changes = [(c.component, c.path, c.b) for c in compare_keys(key_a, key_b)]
    assert changes == [("sharding", "i", "uncommitted")]


def test_a_python_scalar_and_numpy_values_of_one_type_share_an_entry() -> None:
    jitted = jax.jit(shifted)
    a: Call = ((X3, np.int32(1)), {})
    b: Call = ((X3, np.asarray(2, np.int32)), {})
    key_a, key_b = digest(jitted, a), digest(jitted, b)
    assert not cache_verdict(jitted, a, b)
    assert key_a.digest == key_b.digest


def test_a_long_static_that_differs_past_the_shown_part_gets_another_digest() -> None:
    """A config of 100 numbers changed in its last one: the repr shown is cut at its start,
    JAX compares the whole tuple."""
    jitted = jax.jit(ignores_n, static_argnames="n")
    long_a, long_b = tuple(range(100)), (*range(99), -1)
    a: Call = ((X3,), {"n": long_a})
    b: Call = ((X3,), {"n": long_b})
    key_a, key_b = digest(jitted, a), digest(jitted, b)
    assert key_a.static[0].value == key_b.static[0].value, "both cut before the change"
    assert cache_verdict(jitted, a, b)
    assert key_a.digest != key_b.digest
    assert [(c.component, c.path) for c in compare_keys(key_a, key_b)] == [("static", "n")]


def test_weak_type_scalar_vs_array() -> None:
    jitted = jax.jit(scaled)
    a: Call = ((1.0,), {})
    b: Call = ((np.zeros((), np.float32),), {})
    key_a, key_b = digest(jitted, a), digest(jitted, b)
    assert key_a.traced[0].weak_type and not key_b.traced[0].weak_type
    assert cache_verdict(jitted, a, b)
    assert [c.component for c in compare_keys(key_a, key_b)] == ["weak_type"]


def test_x64_toggle_changes_context() -> None:
    jitted = jax.jit(scaled)
    call: Call = ((X3,), {})
    key_a = digest(jitted, call)
    jax.clear_caches()
    jitted(*call[0])
    before = jitted._cache_size()
    jax.config.update("jax_enable_x64", True)
    key_b = digest(jitted, call)
    jitted(*call[0])
    assert jitted._cache_size() > before
    changes = compare_keys(key_a, key_b)
    assert [(c.component, c.path) for c in changes] == [("context", "jax_enable_x64")]


def test_input_committed_to_another_device() -> None:
    devices = jax.devices()
    if len(devices) < 2:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=2 before JAX starts")
    jitted = jax.jit(scaled)
    a: Call = ((jnp.zeros(3),), {})
    b: Call = ((jax.device_put(jnp.zeros(3), devices[1]),), {})
    key_a, key_b = digest(jitted, a), digest(jitted, b)
    assert cache_verdict(jitted, a, b)
    assert key_a.digest != key_b.digest
    assert [c.component for c in compare_keys(key_a, key_b)] == ["sharding"]
    assert "id=1" in (key_b.traced[0].sharding or "")


def test_static_hash_and_type_are_reported() -> None:
    key = digest(jax.jit(scaled, static_argnames="n"), ((X3,), {"n": 2.5}))
    (static,) = key.static
    assert (static.name, static.value, static.type, static.hash) == ("n", "2.5", "float", hash(2.5))


def test_identity_hashed_static_is_flagged() -> None:
    class Config:
        pass

    key = digest(jax.jit(ignores_n, static_argnames="n"), ((X3,), {"n": Config()}))
    assert key.static[0].compared_by == "identity"


CONTEXT_FLIPS = {
    "jax_enable_x64": lambda devices: True,
    "jax_default_matmul_precision": lambda devices: "highest",
    "jax_numpy_rank_promotion": lambda devices: "warn",
    "jax_numpy_dtype_promotion": lambda devices: "strict",
    "jax_default_device": lambda devices: devices[-1],
    "jax_threefry_partitionable": lambda devices: False,
}


@pytest.mark.parametrize("flag", CONTEXT_FLIPS)
def test_each_context_flag_flipped_changes_the_digest_where_jax_recompiles(flag: str) -> None:
    """The digest itself (not only the component list) covers the JAX context."""
    jitted = jax.jit(scaled)
    jax.clear_caches()
    key_a = digest(jitted, ((X3,), {}))
    jitted(X3)
    before = jitted._cache_size()
    saved = getattr(jax.config, flag)
    jax.config.update(flag, CONTEXT_FLIPS[flag](jax.devices()))
    try:
        key_b = digest(jitted, ((X3,), {}))
        jitted(X3)
        recompiled = jitted._cache_size() > before
    finally:
        jax.config.update(flag, saved)
    assert recompiled, f"JAX itself no longer recompiles when {flag} changes"
    assert key_a.digest != key_b.digest
    assert [c.path for c in compare_keys(key_a, key_b)] == [flag]


def test_the_same_context_gives_the_same_digest_and_jax_reuses_its_entry() -> None:
    jitted = jax.jit(scaled)
    jax.clear_caches()
    key_a = digest(jitted, ((X3,), {}))
    jitted(X3)
    jitted(X3)
    assert jitted._cache_size() == 1
    assert digest(jitted, ((X3,), {})).digest == key_a.digest


@pytest.mark.parametrize(("lr", "recompiles"), [(1e-2, False), (5e-3, True)])
def test_a_static_optimizer_object_is_compared_as_jax_compares_it(
    lr: float, recompiles: bool
) -> None:
    """An equal copy of an object with the default repr is no change; other values are."""
    from tests.targets.training import optim

    kwargs = optim.momentum_args()
    report = jaxexplain.diff(
        optim.Momentum.update,
        kwargs.pop("self"),
        vs={"self": optim.Momentum(lr=lr)},
        compile=False,
        **kwargs,
    )
    assert report.verification.checked and report.verification.agrees
    assert report.recompiles is recompiles
    assert [c.component for c in report.cache_key_changes] == (["static"] if recompiles else [])
    assert "0x" not in report.a.arguments[0].value


class _ReprRaises:
    """A static JAX hashes and compares fine, whose repr raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr here")

    def __hash__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ReprRaises)


def _doubled(x: Any, n: Any) -> Any:
    return x * 2


def test_a_static_whose_repr_raises_is_reported_by_type_and_never_shares_a_digest() -> None:
    x = jax.ShapeDtypeStruct((3,), jnp.float32)
    # Both alive at once, as two statics in JAX's cache are: neither object's address is reused.
    one, other = _ReprRaises(), _ReprRaises()
    first = jaxexplain.trace(_doubled, x, one, static_argnames="n", compile=False)
    second = jaxexplain.trace(_doubled, x, other, static_argnames="n", compile=False)
    assert first.ok and first.cache_key is not None and second.cache_key is not None
    (static,) = first.cache_key.static
    assert "_ReprRaises object" in static.value and "RuntimeError" in static.value
    assert first.cache_key.digest != second.cache_key.digest


# --- statics that will bite: each trap found on a real object, and shown true by JAX ---------


@dataclasses.dataclass(unsafe_hash=True)
class _Unfrozen:
    lr: float = 0.1


class _NamedRate:
    """Hashed and compared by name only: `lr` is outside the key."""

    def __init__(self, name: str, lr: float) -> None:
        self.name, self.lr = name, lr

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _NamedRate) and other.name == self.name


@dataclasses.dataclass(frozen=True)
class _Frozen:
    lr: float = 0.1


def _scaled(x: jax.Array, rate: Any) -> jax.Array:
    return x * rate.lr


def test_a_mutable_static_with_a_field_outside_its_hash_names_the_field_and_jax_serves_stale() -> (
    None
):
    key = static_key("rate", _NamedRate("adam", 0.1))
    assert key.compared_by == "value"
    (warning,) = key.warnings
    assert "`lr`" in warning and "stale" in warning
    jitted = jax.jit(_scaled, static_argnums=1)
    first = jitted(jnp.ones(2), _NamedRate("adam", 0.1))
    changed = jitted(jnp.ones(2), _NamedRate("adam", 0.5))
    assert jitted._cache_size() == 1
    np.testing.assert_array_equal(changed, first)  # the stale program: lr=0.5 was never compiled


def test_an_unfrozen_dataclass_static_is_named_and_a_frozen_one_is_not() -> None:
    (warning,) = static_key("cfg", _Unfrozen()).warnings
    assert "frozen=True" in warning and "_Unfrozen" in warning
    assert static_key("cfg", _Frozen()).warnings == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        _Frozen().lr = 0.2  # type: ignore[misc]


def test_a_large_tuple_static_says_its_measured_hash_cost_and_the_threshold() -> None:
    big = tuple(range(100_000))
    key = static_key("table", big)
    assert key.hash_seconds > SLOW_HASH_SECONDS
    (warning,) = key.warnings
    assert "100000 elements" in warning
    assert f"{SLOW_HASH_SECONDS * 1e3:.2f} ms" in warning
    assert static_key("table", big[:10]).warnings == ()


def test_trace_reports_show_how_statics_compare_their_hash_time_and_traps() -> None:
    report = jaxexplain.trace(_scaled, jnp.ones(2), rate=_Unfrozen(), static_argnames="rate")
    (static,) = report.cache_key.static
    text = render(report, "text", width=200)
    assert "by value" in text and hash_time_text(static) in text
    assert "Statics that will bite" in text and "frozen=True" in text
    page = render(report, "html")
    assert 'id="static-traps"' in page and "by value" in page
