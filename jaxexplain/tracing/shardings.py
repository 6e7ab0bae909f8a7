"""Shardings, meshes and a jit wrapper's placement options split into the parts JAX keys on.

JAX's jit cache compares a committed array's whole sharding: its class, the mesh (axis names,
sizes, types and the devices in it), the PartitionSpec and the memory kind. Kept whole, a change
reads as two long `NamedSharding(...)` strings; split here, it names the part that changed: the
spec of `x`, the size of the mesh axis `data`, the device order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jaxexplain.renderers.words import placement_summary
from jaxexplain.report import MeshAxis, Placement

if TYPE_CHECKING:
    from jaxexplain._jax_compat import JitOptions

# A jit option that was not given, as JAX marks it (`UnspecifiedValue`) or leaves it (None).
UNSET_OPTIONS = ("UnspecifiedValue", "NoneType")


def placement_of(sharding: Any) -> Placement:
    """A sharding split into kind, spec, mesh axes, axis types, memory kind and devices."""
    mesh = getattr(sharding, "mesh", None)
    spec = getattr(sharding, "spec", None)
    return Placement(
        kind=type(sharding).__name__,
        text=str(sharding),
        spec=None if spec is None else str(spec),
        mesh=mesh_axes(mesh),
        axis_types=_axis_types(mesh),
        memory_kind=getattr(sharding, "memory_kind", None),
        devices=device_ids(sharding),
    )


def mesh_axes(mesh: Any) -> tuple[MeshAxis, ...]:
    """The axes of a mesh (concrete or abstract) in order, with their sizes; none for None."""
    if mesh is None:
        return ()
    return tuple(MeshAxis(str(name), int(size)) for name, size in dict(mesh.shape).items())


def _axis_types(mesh: Any) -> str:
    types = getattr(mesh, "axis_types", None) or ()
    return ",".join(getattr(t, "name", str(t)) for t in types)


def device_ids(sharding: Any) -> tuple[int, ...]:
    """The devices a sharding places on, in the mesh's order where it has a mesh (the order is
    part of the key: the same devices in another order lay the shards out differently)."""
    devices = getattr(getattr(sharding, "mesh", None), "devices", None)
    if devices is not None and hasattr(devices, "flat"):
        return tuple(int(d.id) for d in devices.flat)
    return tuple(sorted(int(d.id) for d in sharding.device_set))


def placement_options(options: JitOptions | None) -> dict[str, str]:
    """A jit wrapper's in_shardings, out_shardings and donated arguments, by option and
    position, each sharding as its PartitionSpec on its mesh (or whole, where it has none)."""
    placement: dict[str, str] = {}
    if options is None:
        return placement
    for option, leaves in (
        ("in_shardings", options.in_shardings),
        ("out_shardings", options.out_shardings),
    ):
        for i, leaf in enumerate(leaves):
            if type(leaf).__name__ not in UNSET_OPTIONS:
                name = option if len(leaves) == 1 else f"{option}[{i}]"
                placement[name] = sharding_text(leaf)
    # JAX resolves donate_argnums and donate_argnames into each other: one entry, by name
    # where the names are known.
    donated = options.donate_argnames or options.donate_argnums
    if donated:
        placement["donated"] = str(tuple(donated))
    return placement


def sharding_text(sharding: Any) -> str:
    """A jit option's sharding in brief (`P('data', None) on data=2`); whole where it is
    neither a NamedSharding nor one on listed devices (a bare PartitionSpec)."""
    if not hasattr(sharding, "device_set"):
        return str(sharding)
    return placement_summary(placement_of(sharding))


def spans_devices(compiled: Any) -> bool:
    """True for a compiled program whose inputs or outputs lie on several devices: only such a
    program can communicate, and only its HLO text is worth reading for collectives."""
    shardings = [*_flat(compiled.input_shardings), *_flat(compiled.output_shardings)]
    return any(len(getattr(s, "device_set", ())) > 1 for s in shardings)


def _flat(tree: Any) -> list[Any]:
    """The shardings in JAX's nested tuples, lists and dicts of them."""
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _flat(item)]
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in _flat(item)]
    return [tree]
