"""Two cache keys compared without JAX: every component that differs changes the digest and is
named by compare_keys, exactly once and by its path; what JAX does not key on changes neither.

The facts that JAX itself keys on each component are in test_tracing_cache_key.py (live calls
and cache sizes); these tests pin the comparison's own logic, one variation at a time.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from jaxexplain.report import CacheKey, IdentityPart, KeyChange, StaticKey, TracedLeaf
from jaxexplain.tracing.key_compare import (
    UNSET_CONTEXT_VALUES,
    compare_keys,
    digest_of,
    significant_context,
)

N = StaticKey("n", "3", "int", hash(3))
TX = StaticKey(
    "tx",
    "Opt(init=<function f at 0x1>)",
    "optax.Opt",
    11,
    compared_by="identity",
    identity_parts=(IdentityPart("tx.init", "a function made by optax.chain", "0x1"),),
)
X = TracedLeaf("x", (3,), "float32", False)
W = TracedLeaf("params['w']", (3, 4), "float32", False)
BASE = CacheKey(
    digest="",
    function="m.f @ m.py:1",
    static=(N, TX),
    traced=(X, W),
    treedef="PyTreeDef(((*,), {'params': {'w': *}}))",
    context={"jax_enable_x64": "False", "jax_default_matmul_precision": "None"},
    jit_placement={},
)


def with_digest(key: CacheKey) -> CacheKey:
    return replace(key, digest=digest_of(key))


def leaf(key: CacheKey, index: int, **changes: object) -> CacheKey:
    traced = list(key.traced)
    traced[index] = replace(traced[index], **changes)
    return replace(key, traced=tuple(traced))


def static(key: CacheKey, index: int, **changes: object) -> CacheKey:
    statics = list(key.static)
    statics[index] = replace(statics[index], **changes)
    return replace(key, static=tuple(statics))


DIFFERENT = {
    "function": (
        replace(BASE, function="m.g @ m.py:9"),
        [("function", "", "m.f @ m.py:1", "m.g @ m.py:9")],
    ),
    "static value": (static(BASE, 0, value="4"), [("static", "n", "3", "4")]),
    "static type": (
        static(BASE, 0, type="float", value="3.0"),
        [("static_type", "n", "3 (int)", "3.0 (float)")],
    ),
    "static only on one side": (
        replace(BASE, static=(TX,)),
        [("static", "n", "3", "<traced or unset>")],
    ),
    "static added": (
        replace(BASE, static=(N, TX, StaticKey("k", "1", "int", 1))),
        [("static", "k", "<traced or unset>", "1")],
    ),
    "identity part": (
        static(
            BASE,
            1,
            identity_parts=(IdentityPart("tx.init", "a function made by optax.chain", "0x2"),),
        ),
        [
            (
                "static",
                "tx.init",
                "a function made by optax.chain, object 0x1",
                "a function made by optax.chain, object 0x2",
            )
        ],
    ),
    "identity part gone": (
        static(BASE, 1, identity_parts=()),
        [("static", "tx.init", "a function made by optax.chain, object 0x1", "<absent>")],
    ),
    "shape": (leaf(BASE, 0, shape=(4,)), [("shape", "x", "[3]", "[4]")]),
    "dtype": (leaf(BASE, 0, dtype="int32"), [("dtype", "x", "float32", "int32")]),
    "weak type": (leaf(BASE, 0, weak_type=True), [("weak_type", "x", "False", "True")]),
    "sharding": (
        leaf(BASE, 0, sharding="SingleDeviceSharding(CpuDevice(id=1))", committed=True),
        [("sharding", "x", "uncommitted", "SingleDeviceSharding(CpuDevice(id=1))")],
    ),
    "host value": (
        leaf(BASE, 0, on_device=False),
        [("sharding", "x", "uncommitted", "host value (Python scalar or NumPy)")],
    ),
    "static differing past the shown part": (
        static(BASE, 0, value_digest="0123456789abcdef"),
        [
            (
                "static",
                "n",
                "3 (differs past the part shown; see the values in your code)",
                "3 (differs past the part shown; see the values in your code)",
            )
        ],
    ),
    "committed on the same device": (
        leaf(BASE, 0, committed=True),
        [("sharding", "x", "uncommitted", "uncommitted")],
    ),
    "leaf removed": (
        replace(BASE, traced=(X,), treedef="PyTreeDef(((*,), {}))"),
        [("treedef", "params['w']", "f32[3,4]", "<absent>")],
    ),
    "treedef only": (
        replace(BASE, treedef="PyTreeDef(((*,), {'p': {'w': *}}))"),
        [("treedef", "", BASE.treedef, "PyTreeDef(((*,), {'p': {'w': *}}))")],
    ),
    "context value": (
        replace(BASE, context={**BASE.context, "jax_enable_x64": "True"}),
        [("context", "jax_enable_x64", "False", "True")],
    ),
    "context set where it was unset": (
        replace(BASE, context={**BASE.context, "jax_default_matmul_precision": "'highest'"}),
        [("context", "jax_default_matmul_precision", "None", "'highest'")],
    ),
    "context option registered later, set": (
        replace(BASE, context={**BASE.context, "jax_pallas_thing": "'on'"}),
        [("context", "jax_pallas_thing", "<unset>", "'on'")],
    ),
}


@pytest.mark.parametrize("case", DIFFERENT)
def test_a_changed_component_changes_the_digest_and_is_named(case: str) -> None:
    other, expected = DIFFERENT[case]
    assert digest_of(other) != digest_of(BASE)
    assert compare_keys(BASE, other) == tuple(KeyChange(*change) for change in expected)


SAME = {
    "identical": BASE,
    "another hash of a value-compared static (str hashes are salted per process)": static(
        BASE, 0, hash=99
    ),
    "another hash time": static(BASE, 0, hash_seconds=0.5),
    "warnings": static(BASE, 0, warnings=("slow",)),
    "an option registered later at its unset value": replace(
        BASE, context={**BASE.context, **{f"opt{i}": v for i, v in enumerate(UNSET_CONTEXT_VALUES)}}
    ),
    "the digest field itself": replace(BASE, digest="abc"),
}


def test_a_value_compared_static_reads_equal_at_another_address() -> None:
    a = static(BASE, 0, value="<C at 0x1>")
    b = static(BASE, 0, value="<C at 0x2>")
    assert compare_keys(a, b) == ()
    assert compare_keys(b, a) == ()


@pytest.mark.parametrize("case", SAME)
def test_what_jax_does_not_key_on_changes_nothing(case: str) -> None:
    other = SAME[case]
    assert compare_keys(BASE, other) == ()
    assert digest_of(other) == digest_of(BASE)


def test_the_digest_is_sixteen_hex_digits_and_stable() -> None:
    digest = digest_of(BASE)
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert digest_of(with_digest(BASE)) == digest


def test_the_digest_leaves_the_key_it_reads_unchanged() -> None:
    before = repr(BASE)
    digest_of(BASE)
    assert repr(BASE) == before


def test_changes_come_in_the_order_function_statics_leaves_tree_context() -> None:
    other = replace(
        leaf(static(BASE, 0, value="4"), 0, shape=(5,)),
        function="m.g @ m.py:2",
        treedef="PyTreeDef(other)",
        context={**BASE.context, "jax_enable_x64": "True"},
    )
    assert [c.component for c in compare_keys(BASE, other)] == [
        "function",
        "static",
        "shape",
        "treedef",
        "context",
    ]


def test_several_changes_of_one_leaf_are_each_named() -> None:
    other = leaf(BASE, 0, shape=(4,), dtype="int32", weak_type=True)
    assert [c.component for c in compare_keys(BASE, other)] == ["shape", "dtype", "weak_type"]


def test_a_leaf_on_one_side_is_the_treedef_change_and_not_repeated() -> None:
    other = replace(BASE, traced=(X,), treedef="PyTreeDef(((*,), {}))")
    assert [c.component for c in compare_keys(BASE, other)] == ["treedef"]
    assert [c.path for c in compare_keys(other, BASE)] == ["params['w']"]
    assert compare_keys(other, BASE)[0].a == "<absent>"


def test_a_weak_typed_leaf_reads_as_such_when_absent_on_the_other_side() -> None:
    weak = TracedLeaf("t", (), "float32", True)
    other = replace(BASE, traced=(X, W, weak))
    (change,) = compare_keys(BASE, other)
    assert (change.component, change.path, change.a, change.b) == (
        "treedef",
        "t",
        "<absent>",
        "~f32[]",
    )


def test_a_whole_static_compared_by_identity_shows_both_values() -> None:
    a = StaticKey(
        "cfg",
        "<C at 0x1>",
        "m.C",
        1,
        "identity",
        (IdentityPart("cfg", "a m.C object without __eq__", "0x1"),),
    )
    b = replace(
        a,
        value="<C at 0x2>",
        identity_parts=(IdentityPart("cfg", "a m.C object without __eq__", "0x2"),),
    )
    changes = compare_keys(replace(BASE, static=(a,)), replace(BASE, static=(b,)))
    assert changes == (KeyChange("static", "cfg", "<C at 0x1>", "<C at 0x2>"),)


def test_a_whole_static_compared_by_identity_that_also_reads_otherwise_is_named_once() -> None:
    a = StaticKey(
        "loss",
        "<function squared at 0x1>",
        "function",
        1,
        "identity",
        (IdentityPart("loss", "a function", "0x1"),),
    )
    b = replace(
        a,
        value="<function <lambda> at 0x2>",
        identity_parts=(IdentityPart("loss", "a function", "0x2"),),
    )
    changes = compare_keys(replace(BASE, static=(a,)), replace(BASE, static=(b,)))
    assert changes == (
        KeyChange("static", "loss", "<function squared at 0x1>", "<function <lambda> at 0x2>"),
    )


def test_significant_context_keeps_only_options_set_to_something() -> None:
    context = {"a": "None", "b": "False", "c": "()", "d": "True", "e": "'x'", "f": "0"}
    assert significant_context(context) == {"d": "True", "e": "'x'", "f": "0"}


def test_every_identity_part_that_changed_is_named_after_one_that_did_not() -> None:
    parts = (
        IdentityPart("tx.init", "a function made by optax.chain", "0x1"),
        IdentityPart("tx.update", "a function made by optax.chain", "0x2"),
    )
    a = static(BASE, 1, identity_parts=parts)
    b = static(BASE, 1, identity_parts=(parts[0], replace(parts[1], object_id="0x3")))
    assert [c.path for c in compare_keys(a, b)] == ["tx.update"]


def test_the_digest_does_not_depend_on_the_order_options_were_registered_in() -> None:
    options = {"jax_enable_x64": "True", "jax_default_matmul_precision": "'highest'"}
    key = replace(BASE, context=options)
    reordered = replace(BASE, context=dict(reversed(list(options.items()))))
    assert list(reordered.context) != list(key.context)
    assert digest_of(reordered) == digest_of(key)


def test_an_option_set_only_on_the_earlier_side_reads_unset_on_the_later() -> None:
    earlier = replace(BASE, context={**BASE.context, "jax_pallas_thing": "'on'"})
    assert compare_keys(earlier, BASE) == (
        KeyChange("context", "jax_pallas_thing", "'on'", "<unset>"),
    )


def test_leaves_after_one_that_is_absent_are_still_compared() -> None:
    other = replace(BASE, traced=(replace(W, shape=(3, 5)),))
    assert [(c.component, c.path) for c in compare_keys(BASE, other)] == [
        ("treedef", "x"),
        ("shape", "params['w']"),
    ]


def test_a_long_pytree_structure_change_is_shown_where_it_differs() -> None:
    """A TrainState-like structure whose static `tx` field is another object: the change reads
    as the part that differs, not as two whole structures."""
    fields = ", ".join(f"'field_{i}'" for i in range(40))
    before = f"PyTreeDef(CustomNode(State[({fields}), (tx=<function f at 0x1>)], [*, *]))"
    after = before.replace("0x1", "0x2")
    (change,) = compare_keys(replace(BASE, treedef=before), replace(BASE, treedef=after))
    assert change.component == "treedef"
    assert "0x1" in change.a and "0x2" in change.b
    assert len(change.a) < len(before) / 2 and change.a.startswith("…")
    short = "PyTreeDef(((*,), {}))"
    (whole,) = compare_keys(BASE, replace(BASE, treedef=short))
    assert (whole.a, whole.b) == (BASE.treedef, short), "short structures stay whole"
