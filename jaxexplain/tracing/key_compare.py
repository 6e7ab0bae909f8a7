"""Two cache keys compared as JAX's jit cache compares them: pure functions over report data.

`digest_of` hashes every component into one short digest (equal digests: JAX reuses its
compiled entry); `compare_keys` lists every component that differs, and nothing that does not.
Nothing here imports JAX, so saved reports can be compared anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re

from jaxexplain.renderers.words import (
    devices_text,
    mesh_text,
    placement_summary,
    placement_text,
)
from jaxexplain.report import CacheKey, IdentityPart, KeyChange, StaticKey, TracedLeaf, to_dict

# A memory address in a repr: a static compared by identity reads by it; one compared by value
# must read the same without it.
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


UNSET_CONTEXT_VALUES = frozenset({"None", "False", "()"})


def significant_context(context: dict[str, str]) -> dict[str, str]:
    """Context options that are set to something; JAX registers some options lazily (when
    a module such as Pallas is first imported), and an option that appears later at its unset
    value cannot have changed an earlier call's compilation."""
    return {k: v for k, v in context.items() if v not in UNSET_CONTEXT_VALUES}


def digest_of(key: CacheKey) -> str:
    """A short hash of every component. Static hashes are left out since Python salts `str`
    hashes per process, while type and repr say the same across processes; a static compared by
    identity enters through the addresses of its identity-compared parts."""
    data = to_dict(key)
    data.pop("digest")
    data["context"] = significant_context(key.context)
    for static in data["static"]:
        for varying in ("hash", "hash_seconds", "warnings"):
            static.pop(varying)
    blob = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def compare_keys(a: CacheKey, b: CacheKey) -> tuple[KeyChange, ...]:
    """Every component that differs between two cache keys, and nothing that does not.

    Args:
        a: the earlier call's key.
        b: the later call's key.

    Returns:
        The changes, in the order function, statics, jit placement options, traced leaves,
        tree structure, context.
    """
    changes: list[KeyChange] = []
    if a.function != b.function:
        changes.append(KeyChange("function", "", a.function, b.function))
    changes += _static_changes(a.static, b.static)
    changes += _jit_placement_changes(a.jit_placement, b.jit_placement)
    changes += _leaf_changes(a.traced, b.traced)
    if a.treedef != b.treedef and not any(c.component == "treedef" for c in changes):
        changes.append(KeyChange("treedef", "", *differing_part(a.treedef, b.treedef)))
    context_a, context_b = significant_context(a.context), significant_context(b.context)
    for name in sorted(set(context_a) | set(context_b)):
        before = a.context.get(name, "<unset>")
        after = b.context.get(name, "<unset>")
        if before != after:
            changes.append(_context_change(name, before, after))
    return tuple(changes)


def _static_changes(a: tuple[StaticKey, ...], b: tuple[StaticKey, ...]) -> list[KeyChange]:
    """Static values compared as JAX does: by type first, then by value (and identity where hashed so)."""
    before, after = {s.name: s for s in a}, {s.name: s for s in b}
    changes = []
    for name in [*before, *(n for n in after if n not in before)]:
        x, y = before.get(name), after.get(name)
        if x is None or y is None:
            changes.append(
                KeyChange(
                    "static",
                    name,
                    x.value if x else "<traced or unset>",
                    y.value if y else "<traced or unset>",
                )
            )
        elif x.type != y.type:
            changes.append(
                KeyChange("static_type", name, f"{x.value} ({x.type})", f"{y.value} ({y.type})")
            )
        else:
            # A whole value compared by identity that also reads otherwise (a lambda in place
            # of a named function) is one change, not the value's and then its identity's.
            read = ADDRESS.sub("", x.value) != ADDRESS.sub("", y.value)
            identity = _identity_changes(x, y)
            beyond = not (read or identity) and x.value_digest != y.value_digest
            found = (
                [KeyChange("static", name, x.value, y.value)]
                if read
                else [KeyChange("static", name, *differs_beyond(x.value, y.value))]
                if beyond
                else []
            )
            changes += found + [c for c in identity if c not in found]
    return changes


TREEDEF_CONTEXT = 60


def differing_part(a: str, b: str) -> tuple[str, str]:
    """The part of two pytree structures where they differ, with some context: a change in the
    static fields of a large state (a TrainState's rebuilt `tx`) reads as that field, not as
    two whole structures of a hundred lines. Short ones stay whole."""
    if len(a) <= 2 * TREEDEF_CONTEXT and len(b) <= 2 * TREEDEF_CONTEXT:
        return a, b
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    start = max(0, prefix - TREEDEF_CONTEXT)

    def excerpt(text: str) -> str:
        end = min(len(text), len(text) - suffix + TREEDEF_CONTEXT // 3)
        return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")

    return excerpt(a), excerpt(b)


def differs_beyond(a: str, b: str) -> tuple[str, str]:
    """Two bounded static reprs that read alike though the values differ past the shown part."""
    note = " (differs past the part shown; see the values in your code)"
    return a + note, b + note


def _identity_changes(a: StaticKey, b: StaticKey) -> list[KeyChange]:
    """Parts compared by identity that are other objects on the two sides, by path: the
    reason a rebuilt value that reads the same is another cache entry."""
    if a.identity_parts == b.identity_parts:
        return []
    before = {p.path: p for p in a.identity_parts}
    after = {p.path: p for p in b.identity_parts}
    changes = []
    for path in [*before, *(p for p in after if p not in before)]:
        x, y = before.get(path), after.get(path)
        if x == y:
            continue
        if path == a.name:
            changes.append(KeyChange("static", path, a.value, b.value))
        else:
            changes.append(KeyChange("static", path, _part_text(x), _part_text(y)))
    return changes


def _part_text(part: IdentityPart | None) -> str:
    return "<absent>" if part is None else f"{part.what}, object {part.object_id}"


def _leaf_changes(a: tuple[TracedLeaf, ...], b: tuple[TracedLeaf, ...]) -> list[KeyChange]:
    """Leaves matched by key path; a leaf on one side only is a change of pytree structure."""
    before, after = {leaf.path: leaf for leaf in a}, {leaf.path: leaf for leaf in b}
    changes = []
    for path in [*before, *(p for p in after if p not in before)]:
        x, y = before.get(path), after.get(path)
        if x is None or y is None:
            changes.append(KeyChange("treedef", path, _leaf_text(x), _leaf_text(y)))
            continue
        if x.shape != y.shape:
            changes.append(KeyChange("shape", path, str(list(x.shape)), str(list(y.shape))))
        if x.dtype != y.dtype:
            changes.append(KeyChange("dtype", path, x.dtype, y.dtype))
        if x.weak_type != y.weak_type:
            changes.append(KeyChange("weak_type", path, str(x.weak_type), str(y.weak_type)))
        placed_x = (x.sharding, x.committed, x.on_device, x.placement)
        if placed_x != (y.sharding, y.committed, y.on_device, y.placement):
            changes += _placement_changes(x, y)
    return changes


def _placement_changes(x: TracedLeaf, y: TracedLeaf) -> list[KeyChange]:
    """A leaf placed differently on the two sides, by the parts that differ: its spec, its
    mesh's axes, its memory kind, its devices; whole where the kinds of placement differ."""
    path = x.path
    a, b = x.placement, y.placement
    if a is None or b is None or a.kind != b.kind:
        return [KeyChange("sharding", path, _placed_text(x), _placed_text(y))]
    parts = [
        KeyChange("sharding", path, a.spec or "", b.spec or "") if a.spec != b.spec else None,
        KeyChange("mesh", path, mesh_text(a.mesh), mesh_text(b.mesh)) if a.mesh != b.mesh else None,
        KeyChange("mesh", path, f"axis types {a.axis_types}", f"axis types {b.axis_types}")
        if a.axis_types != b.axis_types
        else None,
        KeyChange("memory_kind", path, str(a.memory_kind), str(b.memory_kind))
        if a.memory_kind != b.memory_kind
        else None,
        KeyChange("device", path, devices_text(a.devices), devices_text(b.devices))
        if a.devices != b.devices and len(a.devices) == len(b.devices)
        else None,
    ]
    found = [part for part in parts if part is not None]
    return found or [KeyChange("sharding", path, a.text, b.text)]


def _placed_text(leaf: TracedLeaf) -> str:
    """A leaf's placement in brief: its spec on its mesh, its devices, or how it is unplaced."""
    if leaf.placement is None:
        return placement_text(leaf.sharding, leaf.on_device)
    return placement_summary(leaf.placement)


# The context options that hold the ambient mesh: `jax.set_mesh`/`use_mesh` set the abstract
# one, `with mesh:` the concrete one.
MESH_CONTEXTS = {
    "abstract_mesh_context_manager": "ambient mesh (jax.set_mesh)",
    "mesh_context_manager": "ambient mesh (with mesh:)",
}
# Axes as the two reprs print them: `'data': 2` (AbstractMesh, Mesh), or a Mesh's
# `axis_sizes=(2,), axis_names=('data',)`.
MESH_AXIS = re.compile(r"'(\w+)': (\d+)")
MESH_SIZES = re.compile(r"axis_sizes=\(([\d, ]*)\), axis_names=\(([^)]*)\)")


def _context_change(name: str, before: str, after: str) -> KeyChange:
    """A context option that differs; the ambient mesh by its axes where they tell it apart."""
    where = MESH_CONTEXTS.get(name)
    if where is None:
        return KeyChange("context", name, before, after)
    axes_a, axes_b = ambient_axes(before), ambient_axes(after)
    if axes_a == axes_b:
        return KeyChange("mesh", where, before, after)
    return KeyChange("mesh", where, axes_a, axes_b)


def ambient_axes(text: str) -> str:
    """`data=2, model=2` from the repr of an ambient mesh context, `none` where it is unset."""
    sizes = MESH_SIZES.search(text)
    if sizes:
        names = [n.strip().strip("'") for n in sizes[2].split(",") if n.strip()]
        sizes_of = [d.strip() for d in sizes[1].split(",") if d.strip()]
        pairs: list[tuple[str, str]] = list(zip(names, sizes_of, strict=False))
    else:
        pairs = MESH_AXIS.findall(text)
    return ", ".join(f"{n}={d}" for n, d in pairs) or "none"


def _jit_placement_changes(a: dict[str, str], b: dict[str, str]) -> list[KeyChange]:
    """The jit wrapper's in_shardings, out_shardings and donated arguments that differ."""
    changes = []
    for name in [*a, *(n for n in b if n not in a)]:
        before, after = a.get(name, "<unset>"), b.get(name, "<unset>")
        if before != after:
            component = "donation" if name == "donated" else name.partition("[")[0]
            changes.append(KeyChange(component, name, before, after))
    return changes


def _leaf_text(leaf: TracedLeaf | None) -> str:
    if leaf is None:
        return "<absent>"
    from jaxexplain.inputs.specs import format_aval

    return format_aval(leaf.shape, leaf.dtype, leaf.weak_type)
